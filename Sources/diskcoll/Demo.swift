import ArgumentParser
import Foundation
import LMDB

/// `diskcoll demo`: writes and reads back entries, and says what it did.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write COUNT entries to a store, read them all back, and report.")

    @Option(help: "How many entries.")
    var count = 1_000_000

    @Option(help: "The store directory (default: a new temporary directory, removed afterwards).")
    var path: String?

    func run() throws {
        let dir = path ?? NSTemporaryDirectory() + "diskcoll-demo-\(getpid())"
        defer { if path == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let env = try Environment(path: dir, options: .init(mapSize: 1 << 20, durability: .noSync))
        defer { env.close() }
        let clock = ContinuousClock()
        let n = UInt64(count)

        let writeTime = try clock.measure {
            try env.write { txn in
                let db = try txn.openDatabase("demo")!
                for i in 0..<n {
                    try withUnsafeBytes(of: i.bigEndian) { k in
                        try withUnsafeBytes(of: i &* 2654435761) { v in
                            _ = try txn.put(db, key: k, value: v, flags: .append)
                        }
                    }
                }
            }
        }
        try env.sync()
        var sum: UInt64 = 0
        var found = 0
        let readTime = try clock.measure {
            try env.read { txn in
                let db = try txn.openDatabase("demo", create: false)!
                for i in 0..<n {
                    let v = try withUnsafeBytes(of: i.bigEndian) { k in
                        try txn.get(db, key: k) { $0.loadUnaligned(as: UInt64.self) }
                    }
                    if let v { sum &+= v; found += 1 }
                }
            }
        }
        var expected: UInt64 = 0
        for i in 0..<n { expected &+= i &* 2654435761 }
        let info = try env.info()
        print("wrote \(count) entries in \(format(writeTime)) (map grew to \(info.mapSize >> 20) MiB on its own)")
        print("read  \(found) entries back in \(format(readTime)); checksum \(sum == expected ? "matches" : "DIFFERS")")
        print("store \(dir)\(path == nil ? " (temporary, removed)" : "")")
        guard sum == expected && found == count else { throw ExitCode.failure }
    }

    private func format(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return String(format: "%.2f s (%.2f M/s)", s, Double(count) / s / 1e6)
    }
}
