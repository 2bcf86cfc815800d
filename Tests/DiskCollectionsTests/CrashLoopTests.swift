import DiskCollections
import Foundation
import Testing
import TestSupport

/// Processes killed (SIGKILL) at random moments while they load a map: after each kill the store
/// opens cleanly and holds exactly a prefix of what was written (whole batches, for transactions),
/// every value checks against its key, and what `checkpoint()` covered is always there. The load
/// resumes in the same store after each kill, so later kills land in a store of up to a few hundred
/// thousand entries. (SQLite's crash tests and py-lmdb's are the model; issue 13, item 1.)
@Suite struct CrashLoopTests {
    /// Starts the loader, kills it after `delay` seconds, and waits for it.
    private func killLoader(_ dir: String, _ mode: String, after delay: Double) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtExecutable("MemoryProbe"))
        process.arguments = ["load", dir, mode]
        if runsUnderASanitizer { process.environment = ProcessInfo.processInfo.environment.merging(["SWIFT_BACKTRACE": "enable=no"]) { $1 } }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        Thread.sleep(forTimeInterval: delay * sanitizerTimeScale)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    @Test(arguments: ["txn", "buffered"])
    func killedLoadsLeaveAPrefix(mode: String) throws {
        let dir = TemporaryDirectory()
        var rng = SplitMix64(seed: mode == "txn" ? 1 : 2)
        var previous = 0
        var kills = 0
        for _ in 0..<50 {
            try killLoader(dir.path, mode, after: mode == "txn" ? Double.random(in: 0.01...0.08, using: &rng) : Double.random(in: 0.05...0.4, using: &rng))
            kills += 1
            let store = try Store(at: dir.path)
            let map = try store.map("m", key: UInt64.self, value: UInt64.self)
            let count = try map.count
            // Nothing committed is lost: a process crash keeps every commit.
            #expect(count >= previous, "after kill \(kills): \(count) entries, \(previous) before")
            if mode == "txn" { #expect(count % 1_000 == 0, "after kill \(kills): \(count) entries, not whole batches") }
            // Exactly the keys 0..<count, each with its value: the ones new since the last kill in full,
            // 200 older ones at random (all of them once more at the end).
            var expected = UInt64(previous)
            var wrong = 0
            try map.forEach(in: UInt64(previous)...) { (key: UInt64, value: UInt64) -> Void in
                if key != expected || value != key &* 0x9E37_79B9_7F4A_7C15 { wrong += 1 }
                expected += 1
            }
            for _ in 0..<(previous > 0 ? 200 : 0) {
                let key = UInt64.random(in: 0..<UInt64(previous), using: &rng)
                if try map[key] != key &* 0x9E37_79B9_7F4A_7C15 { wrong += 1 }
            }
            #expect(wrong == 0 && expected == UInt64(count), "after kill \(kills)")
            let checkpointed = try store.map("meta", key: UInt64.self, value: UInt64.self)[0] ?? 0
            #expect(checkpointed <= UInt64(count), "after kill \(kills): checkpoint said \(checkpointed)")
            previous = count
            store.close()
        }
        #expect(previous > 0, "the loader never committed anything in \(kills) runs")
        let store = try Store(at: dir.path)
        var expected: UInt64 = 0
        try store.map("m", key: UInt64.self, value: UInt64.self).forEach { (key: UInt64, value: UInt64) -> Void in
            #expect(key == expected && value == key &* 0x9E37_79B9_7F4A_7C15)
            expected += 1
        }
        #expect(expected == UInt64(previous))
    }
}
