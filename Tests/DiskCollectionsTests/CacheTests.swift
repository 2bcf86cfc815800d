import DiskCollections
import Foundation
import Testing
import TestSupport

/// The cache in front of the collections: point operations outside explicit transactions.
@Suite struct CacheTests {
    struct Oops: Error {}

    /// Auto-commit operations through a tiny cache (constant eviction and flushing), mixed with
    /// operations that must see the buffer, explicit transactions, and reopening.
    @Test func cachedOperationsMatchTheModel() throws {
        let dir = TemporaryDirectory()
        var store = try Store(at: dir.path, cacheBudget: .bytes(64 << 10))
        var map = try store.map("m", key: UInt32.self, value: String.self)
        var set = try store.set("s", of: Int64.self)
        var mapModel: [UInt32: String] = [:]
        var setModel = Set<Int64>()
        var rng = SplitMix64(seed: 70)
        for step in 0..<55_000 {  // reopens at 20k and 40k; the last 15k steps fill the statistics
            let k = UInt32.random(in: 0..<3_000, using: &rng)
            let e = Int64.random(in: -2_000..<2_000, using: &rng)
            switch Int.random(in: 0..<12, using: &rng) {
            case 0..<3:
                let v = "v\(k)-\(step % 7)"
                try map.setValue(v, forKey: k); mapModel[k] = v
            case 3:
                let old = mapModel.removeValue(forKey: k)
                #expect(try map.removeValue(forKey: k) == old)
            case 4:
                let old = mapModel.updateValue("u\(k)", forKey: k)
                #expect(try map.updateValue("u\(k)", forKey: k) == old)
            case 5..<7:
                #expect(try map[k] == mapModel[k])
                #expect(try map.contains(k) == (mapModel[k] != nil))
            case 7..<9:
                let inserted = setModel.insert(e).inserted
                #expect(try set.insert(e) == inserted)
            case 9:
                let removed = setModel.remove(e) != nil
                #expect(try set.remove(e) == removed)
            case 10:
                #expect(try set.contains(e) == setModel.contains(e))
            default:
                // Operations that read the whole collection must see buffered writes.
                if step % 50 == 0 {
                    #expect(try map.count == mapModel.count)
                    #expect(try set.count == setModel.count)
                }
            }
            if step % 20_000 == 19_999 {
                #expect(try map.keys() == mapModel.keys.sorted())
                #expect(try set.elements() == setModel.sorted())
                store.close()  // flushes the buffer
                store = try Store(at: dir.path, cacheBudget: .bytes(64 << 10))
                map = try store.map("m", key: UInt32.self, value: String.self)
                set = try store.set("s", of: Int64.self)
            }
        }
        let s = store.statistics
        #expect(s.hits > 0 && s.misses > 0 && s.flushes > 0 && s.evictions > 0)
        #expect(s.cacheBytes <= s.budget + (1 << 20))
        #expect(try map.entries().map(\.value) == mapModel.sorted { $0.key < $1.key }.map(\.value))
    }

    /// Keys and values on both sides of the 16 bytes the cache keeps inline, changing length on
    /// update, through a cache small enough to evict and flush all the time.
    @Test func longAndShortKeysAndValuesMatchTheModel() throws {
        let dir = TemporaryDirectory()
        var store = try Store(at: dir.path, cacheBudget: .bytes(48 << 10))
        var map = try store.map("m", key: String.self, value: [UInt8].self)
        var model: [String: [UInt8]] = [:]
        var rng = SplitMix64(seed: 71)
        func key(_ i: Int) -> String { String(repeating: "k", count: i % 40) + "\(i)" }  // 1 to 43 bytes
        for step in 0..<30_000 {
            let k = key(Int.random(in: 0..<1_500, using: &rng))
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<4:
                let v = [UInt8](repeating: UInt8(step & 0xFF), count: Int.random(in: 0..<40, using: &rng))
                try map.setValue(v, forKey: k); model[k] = v
            case 4:
                #expect(try map.removeValue(forKey: k) == model.removeValue(forKey: k))
            default:
                #expect(try map[k] == model[k])
            }
            if step == 15_000 {
                store.close()
                store = try Store(at: dir.path, cacheBudget: .bytes(48 << 10))
                map = try store.map("m", key: String.self, value: [UInt8].self)
            }
        }
        let s = store.statistics
        #expect(s.hits > 0 && s.evictions > 0)  // the buffer flushes at close and when reopened
        #expect(try map.entries().map { $0.key } == model.keys.sorted())
        for (k, v) in model { #expect(try map[k] == v) }
    }

    /// A value over 1 MiB skips the buffer (written at once, after what is buffered); the order of
    /// writes to one key still holds.
    @Test func aLargeValueIsWrittenInOrderWithBufferedOnes() throws {
        let f = try StoreFixture()
        let map = try f.store.map("m", key: Int.self, value: [UInt8].self)
        let large = [UInt8](repeating: 9, count: (1 << 20) + 1)
        try map.setValue([1], forKey: 1)        // buffered
        try map.setValue([2], forKey: 2)
        try map.setValue(large, forKey: 1)      // flushes the buffer, then writes
        #expect(try map[1] == large)
        try map.setValue([3], forKey: 1)        // buffered again, over the large one
        #expect(try map[1] == [3])
        try f.reopen()
        let again = try f.store.map("m", key: Int.self, value: [UInt8].self)
        #expect(try again[1] == [3] && again[2] == [2])
        try again.setValue(large, forKey: 2)
        try f.reopen()
        #expect(try f.store.map("m", key: Int.self, value: [UInt8].self)[2] == large)
    }

    @Test func everyCollectionReadsItsOwnWrites() throws {
        let f = try StoreFixture()
        let map = try f.store.map("m", key: String.self, value: Int.self)
        let set = try f.store.set("s", of: String.self)
        let array = try f.store.array("a", of: Int.self)
        let queue = try f.store.queue("q", of: Int.self)
        let multi = try f.store.multimap("mm", key: Int.self, value: Int.self)
        try map.setValue(1, forKey: "a")
        #expect(try map["a"] == 1)                              // from the buffer
        #expect(try map.entries().map(\.key) == ["a"])          // a scan flushes first
        try map.setValue(2, forKey: "b")
        #expect(try map.withEntries { Array($0.map(\.value)) } == [1, 2])
        try map.removeValue(forKey: "a")
        #expect(try map["a"] == nil)
        #expect(try map.count == 1)
        try set.insert("x")
        #expect(try set.contains("x"))
        #expect(try set.insert("x") == false)
        #expect(try set.elements() == ["x"])
        try array.append(5); #expect(try array[0] == 5)
        try queue.append(6); #expect(try queue.first == 6)
        try multi.insert(7, forKey: 1); #expect(try multi.values(forKey: 1) == [7])
        try f.store.read { () throws in #expect(try map["b"] == 2 && set.contains("x")) }
        try map.removeAll()
        #expect(try map["b"] == nil)
        try f.reopen()
        #expect(try f.store.set("s", of: String.self).elements() == ["x"])
    }

    @Test func aThrowingWriteLeavesNeitherBufferNorFileChanged() throws {
        let f = try StoreFixture()
        let map = try f.store.map("m", key: Int.self, value: Int.self)
        let set = try f.store.set("s", of: Int.self)
        try map.setValue(1, forKey: 1)     // buffered
        #expect(try map[1] == 1)           // and cached
        try set.insert(1)
        #expect(throws: Oops.self) {
            try f.store.write {
                try map.setValue(99, forKey: 1)
                try map.setValue(99, forKey: 2)
                try set.insert(2)
                try set.remove(1)
                throw Oops()
            }
        }
        #expect(try map[1] == 1)           // not a stale 99 from the cache
        #expect(try map[2] == nil)
        #expect(try set.contains(1) && !set.contains(2))
        try f.reopen()
        let again = try f.store.map("m", key: Int.self, value: Int.self)
        #expect(try again.entries().map(\.value) == [1])
    }

    @Test func aDisabledCacheStillWorksAndReportsMemory() throws {
        let dir = TemporaryDirectory()
        let store = try Store(at: dir.path, cacheBudget: .disabled)
        let map = try store.map("m", key: Int.self, value: Int.self)
        try map.setValue(3, forKey: 3)
        #expect(try map[3] == 3)
        #expect(store.statistics.hits == 0)
        #expect((store.statistics.residentAnonymous ?? 0) > 0)
    }

    @Test func aReadOnlyStoreRefusesBufferedWrites() throws {
        let dir = TemporaryDirectory()
        do { let s = try Store(at: dir.path); _ = try s.map("m", key: Int.self, value: Int.self); s.close() }
        let store = try Store(at: dir.path, readOnly: true)
        let map = try store.map("m", key: Int.self, value: Int.self)
        #expect(throws: DiskCollectionsError.readOnlyStore(path: dir.path)) { try map.setValue(1, forKey: 1) }
    }

    // MARK: Memory, measured in a process of its own

    struct ProbeOutput: Decodable {
        var baseline: Int, peak: Int, final: Int, afterBurst: Int, afterTick: Int
        var budget: Int, flushes: Int, evictions: Int, trims: Int, bytesTrimmed: Int, checked: Int, mismatches: Int
    }

    /// Runs `MemoryProbe` with `args` and decodes the JSON object it prints.
    func probe<Output: Decodable>(_ args: [String], as output: Output.Type = ProbeOutput.self) throws -> Output {
        let result = try run(builtExecutable("MemoryProbe"), args)
        #expect(result.status == 0, "\(result.standardError)")
        return try JSONDecoder().decode(Output.self, from: Data(result.standardOutput.utf8))
    }

    /// The issue's bound at a tenth of its scale, to keep CI quick: 1M random entries written through a
    /// 16 MiB budget keep RssAnon within budget + 16 MiB of fixed slack (LMDB's per-transaction lists
    /// of about 3 MiB, the dirty pages of a flush transaction, at most budget/2 and at most 16 MiB, kept
    /// by LMDB for reuse; allocator fragmentation from churn; the runtime). It measured 16.3 MB above
    /// the baseline, within the budget itself. Every value reads back after the store is closed and
    /// reopened. The full 10M-entry run is in the benchmarks (docs/benchmarks.md: 16.5 MB).
    @Test(.disabled(if: runsUnderASanitizer, "measures glibc's allocator and RssAnon, which a sanitizer replaces"))
    func theBudgetHoldsWhileWritingRandomEntries() throws {
        let dir = TemporaryDirectory()
        let budget = 16 << 20
        let out = try probe(["budget", dir.path, "1000000", "16"])
        #expect(out.mismatches == 0 && out.checked == 1_000_000)
        #expect(out.flushes >= 5 && out.evictions > 0)
        #expect(out.peak - out.baseline < budget + (16 << 20), "grew \(out.peak - out.baseline) bytes")
    }

    /// A small budget: 250k entries through 4 MiB, the same slack.
    @Test(.disabled(if: runsUnderASanitizer, "measures glibc's allocator and RssAnon, which a sanitizer replaces"))
    func aSmallBudgetHoldsToo() throws {
        let dir = TemporaryDirectory()
        let out = try probe(["budget", dir.path, "250000", "4"])
        #expect(out.mismatches == 0 && out.checked == 250_000)
        #expect(out.flushes >= 5 && out.evictions > 0)
        #expect(out.peak - out.baseline < (4 << 20) + (16 << 20), "grew \(out.peak - out.baseline) bytes")
    }

    /// A process killed with writes in its buffer: what was flushed or written in a transaction is
    /// there and the store opens cleanly; what was only buffered is lost, as docs/collections.md says.
    @Test func aKilledProcessKeepsWhatWasFlushed() throws {
        let dir = TemporaryDirectory()
        let result = try run(builtExecutable("MemoryProbe"), ["crash", dir.path])
        #expect(result.signalled, "the probe must die by SIGKILL: \(result.standardError)")
        let store = try Store(at: dir.path)
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        #expect(try map.count == 10_000)
        #expect(try map.entries().allSatisfy { $0.value == $0.key &* 3 })
        #expect(try map[10_000] == nil)
        #expect(try store.set("s", of: UInt64.self).contains(7))
        let queue = try store.queue("q", of: UInt64.self)
        #expect(try queue.count == 4_000)
        #expect(try queue.elements() == Array(1_000..<5_000))
    }

    struct DiskFullOutput: Decodable {
        var failure: String; var committedBeforeFailure: Int; var readableAfterFailure: Int
        var afterRetryAndReopen: Int; var count: Int; var checkpointFailure: String
    }

    /// A flush whose writes fail part-way (the file may not grow past 12 MiB, as a full disk would stop
    /// it): its first transaction commits, a later one fails, and the error is thrown and says what to
    /// do; every one of the 1M buffered values still reads right (from the committed transactions, or
    /// from the buffer, which kept the rest); a checkpoint() then fails the same way; once writes work
    /// again a checkpoint writes the rest and, after reopening, all 1M entries are there.
    /// A flush on a full disk: a real one (a 64 MiB tmpfs, filled but for 12 MiB) where this test may
    /// mount one, else a file size limit, the same failed write (issue 13, item 8).
    @Test(arguments: ["map", "set"]) func aFlushThatFailsPartWayLosesNothing(kind: String) throws {
        // "set": the 1M keys are a DiskSet's, buffered as dirty keys of its presence table.
        let dir = TemporaryDirectory()
        let small = dir.appending("small")
        try FileManager.default.createDirectory(atPath: small, withIntermediateDirectories: true)
        let mountStatus = getuid() == 0 ? try run("/bin/mount", ["-t", "tmpfs", "-o", "size=64m", "tmpfs", small]).status : -1
        let mounted = mountStatus == 0
        defer { if mounted { _ = try? run("/bin/umount", [small]) } }
        let store = mounted ? small + "/store" : dir.path
        let out = try probe(["diskfull", store, kind] + (mounted ? [small + "/ballast"] : []), as: DiskFullOutput.self)
        let codes = mounted ? [LMDBError.Code.noSpace, .ioError] : [.ioError]
        #expect(codes.contains { out.failure.hasPrefix("\($0.rawValue) ") }, "\(mounted ? "tmpfs" : "file size limit"): \(out.failure)")
        #expect(out.failure.contains("nothing of the failed transaction was committed"))
        #expect(out.committedBeforeFailure > 0 && out.committedBeforeFailure < 1_000_000)
        #expect(out.readableAfterFailure == 1_000_000)
        #expect(out.afterRetryAndReopen == 1_000_000 && out.count == 1_000_000)
        // checkpoint() while the disk is still full is the same typed error; once it has room, the
        // checkpoint writes everything (the retry above is a checkpoint).
        #expect(codes.contains { out.checkpointFailure.hasPrefix("\($0.rawValue) ") }, "\(out.checkpointFailure)")
    }

    /// glibc keeps memory freed by a burst of small objects; one idle governor tick gives it back.
    @Test(.disabled(if: runsUnderASanitizer, "measures glibc's allocator and RssAnon, which a sanitizer replaces"))
    func anIdleTickGivesFreedMemoryBack() throws {
        let dir = TemporaryDirectory()
        let out = try probe(["trim", dir.path])
        #expect(out.afterBurst - out.baseline > 64 << 20, "the burst must leave freed memory behind")
        #expect(out.trims == 1)
        #expect(out.afterTick - out.baseline < (out.afterBurst - out.baseline) / 4,
                "RssAnon \(out.baseline) -> \(out.afterBurst) -> \(out.afterTick)")
    }
}
