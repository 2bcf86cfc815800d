import ArgumentParser
import DiskCollections
import Foundation

/// `diskcoll demo`: writes entries to a DiskMap, reads them all back, and says what it did.
struct Demo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write COUNT entries to a DiskMap in a new store, read them all back, and report.")

    @Option(help: "How many entries.")
    var count = 1_000_000

    @Option(help: "The store directory (default: a new temporary directory, removed afterwards).")
    var path: String?

    func run() throws {
        let dir = path ?? NSTemporaryDirectory() + "diskcoll-demo-\(getpid())"
        defer { if path == nil { try? FileManager.default.removeItem(atPath: dir) } }
        let store = try Store(at: dir)
        defer { store.close() }
        let squares = try store.map("squares", key: UInt64.self, value: UInt64.self)
        let clock = ContinuousClock()
        let n = UInt64(count)

        let writeTime = try clock.measure {
            try store.write {
                for i in 0..<n { try squares.setValue(i &* i, forKey: i) }
            }
            try store.checkpoint()
        }
        var sum: UInt64 = 0, found = 0
        let readTime = try clock.measure {
            try store.read {
                for i in 0..<n {
                    if let v = try squares[i] { sum &+= v; found += 1 }
                }
            }
        }
        var expected: UInt64 = 0
        for i in 0..<n { expected &+= i &* i }
        print("wrote \(count) entries to DiskMap<UInt64, UInt64> 'squares' in \(format(writeTime)), one transaction, then fsync")
        print("read  \(found) entries back in \(format(readTime)); checksum \(sum == expected ? "matches" : "DIFFERS")")
        print("store \(dir)\(path == nil ? " (temporary, removed)" : "; inspect it with: diskcoll stat \(dir)")")
        print("rss   \(Memory.report())")
        guard sum == expected && found == count else { throw ExitCode.failure }
    }

    private func format(_ d: Duration) -> String {
        let s = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        return String(format: "%.2f s (%.2f M/s)", s, Double(count) / s / 1e6)
    }
}

/// The process's resident memory from /proc/self/status: heap (RssAnon) and mapped files (RssFile).
enum Memory {
    static func report() -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return "unknown" }
        let fields = status.split(separator: "\n").filter { $0.hasPrefix("RssAnon") || $0.hasPrefix("RssFile") }
        return fields.map { $0.split(whereSeparator: \.isWhitespace).joined(separator: " ") }
            .joined(separator: ", ")
    }
}
