import DiskCollections
import DiskCollectionsTools
import Foundation
import LMDB
import Testing
import TestSupport

/// The world's failures during an import, through the command as a user runs it: each is a clear
/// error with its exit status, and the store is left exactly as it was.
@Suite(.serialized) struct ImportFailureTests {
    let diskcoll = builtExecutable("diskcoll")

    /// JSON Lines of `count` map entries, keys in order.
    static func lines(_ count: Int, from start: Int = 0) -> String {
        var s = ""
        s.reserveCapacity(count * 48)
        for i in start..<(start + count) { s += "{\"key\": \(i), \"value\": \"value of entry number \(i)\"}\n" }
        return s
    }

    /// A store with one map of 1,000 entries.
    static func makeStore(_ path: String) throws {
        let store = try Store(at: path)
        try store.write {
            let m = try store.map("m", key: UInt64.self, value: String.self)
            for i in 0..<1_000 as Range<UInt64> { try m.setValue("kept \(i)", forKey: i) }
        }
        store.close()
    }

    @Test func aStorePathThatIsAFile() throws {
        let dir = TemporaryDirectory()
        let file = dir.appending("file")
        _ = FileManager.default.createFile(atPath: file, contents: Data("not a store".utf8))
        let r = try run(diskcoll, ["import", file, "m", "-", "--format", "jsonl", "--key-type", "uint64", "--value-type", "string"],
                        input: Self.lines(3))
        #expect(r.status == 66, "\(r.standardError)")
        #expect(r.standardError.contains("a store is a directory"), "\(r.standardError)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "not a store")
    }

    /// A directory the user may not write: as root, the import runs as `nobody` (root writes anywhere).
    @Test func aReadOnlyDirectory() throws {
        let dir = TemporaryDirectory()
        let store = dir.appending("store")
        try Self.makeStore(store)
        let before = try StoreSnapshot(store)
        chmod(dir.path, 0o755)
        chmod(store, 0o555)
        defer { chmod(store, 0o755) }
        let input = dir.appending("in.jsonl")
        _ = FileManager.default.createFile(atPath: input, contents: Data(Self.lines(10, from: 5_000).utf8))
        chmod(input, 0o644)
        let args = ["import", store, "m", input]
        let r = getuid() == 0
            ? try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", diskcoll] + args)
            : try run(diskcoll, args)
        #expect(r.status == 77, "\(r.status): \(r.standardError)")
        #expect(r.standardError.contains("Permission denied") && r.standardError.contains("check the directory's permissions"), "\(r.standardError)")
        chmod(store, 0o755)
        #expect(try StoreSnapshot(store) == before)
    }

    /// A full disk in the middle of an import: a 2 MiB tmpfs where this test may mount one (root),
    /// else a file size limit (RLIMIT_FSIZE, the same failed write): a typed error, exit 74, nothing of
    /// the import committed, earlier data intact, and the store opens.
    @Test func aFullDisk() throws {
        let dir = TemporaryDirectory()
        let mountPoint = dir.appending("small")
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let mountStatus = getuid() == 0 ? try run("/bin/mount", ["-t", "tmpfs", "-o", "size=2m", "tmpfs", mountPoint]).status : -1
        let mounted = mountStatus == 0
        defer { if mounted { _ = try? run("/bin/umount", [mountPoint]) } }
        let store = mountPoint + "/store"
        try Self.makeStore(store)
        let before = try StoreSnapshot(store)
        let input = dir.appending("big.jsonl")
        _ = FileManager.default.createFile(atPath: input, contents: Data(Self.lines(100_000, from: 10_000).utf8))
        let command = "\(diskcoll) import \(store) m \(input)"
        let r = mounted
            ? try run("/bin/sh", ["-c", command])
            : try run("/bin/sh", ["-c", "trap '' XFSZ; exec /usr/bin/prlimit --fsize=2097152 \(command)"])
        #expect(r.status == 74, "\(mounted ? "tmpfs" : "prlimit"): \(r.status) \(r.standardError)")
        #expect(r.standardError.contains(mounted ? "No space left on device" : "File too large") || r.standardError.contains("Input/output error"), "\(r.standardError)")
        #expect(r.standardError.contains("nothing of the failed transaction was committed"), "\(r.standardError)")
        #expect(try StoreSnapshot(store) == before)
        let reopened = try Store(at: store)
        #expect(try reopened.map("m", key: UInt64.self, value: String.self).count == 1_000)
        reopened.close()
    }

    /// Killed (SIGKILL) at random moments during an import: the store opens and holds all of the
    /// import or nothing of it.
    @Test func killedImportsLeaveAllOrNothing() throws {
        let dir = TemporaryDirectory()
        let input = dir.appending("in.jsonl")
        let count = 400_000
        _ = FileManager.default.createFile(atPath: input, contents: Data(Self.lines(count, from: 10_000).utf8))
        let args = ["import", "", "m", input, "--quiet"]
        // How long a whole import takes here.
        let timing = dir.appending("timing")
        try Self.makeStore(timing)
        let clock = ContinuousClock()
        let start = clock.now
        let whole = try run(diskcoll, args.enumerated().map { $0.0 == 1 ? timing : $0.1 })
        let elapsed = clock.now - start
        #expect(whole.status == 0, "\(whole.standardError)")
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        var rng = SplitMix64(seed: 13)
        var outcomes: [Int: Int] = [:]
        for attempt in 0..<8 {
            let store = dir.appending("store\(attempt)")
            try Self.makeStore(store)
            let before = try StoreSnapshot(store)
            let (process, _, _) = try launch(diskcoll, args.enumerated().map { $0.0 == 1 ? store : $0.1 })
            Thread.sleep(forTimeInterval: Double(rng.next() % 1000) / 1000 * seconds * 1.1)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            let s = try Store(at: store)
            let entries = try s.map("m", key: UInt64.self, value: String.self).count
            s.close()
            #expect(entries == 1_000 || entries == 1_000 + count, "attempt \(attempt): \(entries) entries")
            if entries == 1_000 { #expect(try StoreSnapshot(store).databases == before.databases) }
            outcomes[entries, default: 0] += 1
        }
        #expect(outcomes.values.reduce(0, +) == 8)
        #expect(outcomes[1_000, default: 0] >= 1, "no kill landed before the commit: \(outcomes)")
    }
}
