import DiskCollections
import Foundation
import Synchronization
import Testing
import TestSupport

/// A `Store` and its collections used from many threads and tasks at once (issue 12): every read sees
/// a committed state, with the cache on and off, through transactions and through point operations.
@Suite struct StoreConcurrencyTests {
    static let keys: [UInt64] = Array(0..<64)

    /// One writer thread commits rounds in which every key of a map takes the round's number (explicit
    /// transactions), while a second writer buffers increasing values into another map outside any
    /// transaction. Eight threads read meanwhile: in `store.read` (all keys must show one round: a
    /// committed snapshot, never a torn write, and never an older round than before) and by point
    /// operations outside transactions (each key's value never goes back, on this thread).
    @Test(arguments: [true, false])
    func eightReadersSeeCommittedStatesWhileTwoWrite(cache: Bool) throws {
        let dir = TemporaryDirectory("store")
        let store = try Store(at: dir.path, durability: .noSync, cacheBudget: cache ? .automatic : .disabled)
        defer { store.close() }
        let rounds = try store.map("rounds", key: UInt64.self, value: UInt64.self)
        let counters = try store.map("counters", key: UInt64.self, value: UInt64.self)
        try store.write { for k in Self.keys { try rounds.setValue(0, forKey: k) } }
        let done = Atomic<Bool>(false)
        let failures = Locked<[String]>([])
        let snapshotsSeen = Atomic<Int>(0)
        @Sendable func fail(_ message: String) { failures.withLock { if $0.count < 10 { $0.append(message) } } }

        onThreads(10) { thread in
            do {
                switch thread {
                case 0:  // rounds, in explicit transactions
                    for round in 1...150 as ClosedRange<UInt64> {
                        try store.write { for k in Self.keys { try rounds.setValue(round, forKey: k) } }
                    }
                    done.store(true, ordering: .releasing)
                case 1:  // buffered writes outside transactions
                    var value: UInt64 = 0
                    while !done.load(ordering: .acquiring) {
                        value += 1
                        for k in Self.keys { try counters.setValue(value, forKey: k) }
                    }
                default:
                    var lastRound: UInt64 = 0
                    var lastCounter = [UInt64](repeating: 0, count: Self.keys.count)
                    var lastPoint = [UInt64](repeating: 0, count: Self.keys.count)
                    while !done.load(ordering: .acquiring) {
                        if thread % 2 == 0 {
                            let seen = try store.read { try Self.keys.map { try rounds[$0] ?? .max } }
                            guard Set(seen).count == 1, let round = seen.first else {
                                return fail("thread \(thread): a torn snapshot \(Set(seen).sorted())")
                            }
                            if round < lastRound { return fail("thread \(thread): round \(round) after \(lastRound)") }
                            lastRound = round
                            snapshotsSeen.add(1, ordering: .relaxed)
                        } else {
                            for (i, k) in Self.keys.enumerated() {
                                let round = try rounds[k] ?? .max
                                let counter = try counters[k] ?? 0
                                if round < lastPoint[i] || round == .max {
                                    return fail("thread \(thread): key \(k) went from round \(lastPoint[i]) to \(round)")
                                }
                                if counter < lastCounter[i] {
                                    return fail("thread \(thread): counter \(k) went from \(lastCounter[i]) to \(counter)")
                                }
                                lastPoint[i] = round
                                lastCounter[i] = counter
                            }
                        }
                    }
                }
            } catch {
                fail("thread \(thread): \(error)")
                done.store(true, ordering: .releasing)
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(snapshotsSeen.load(ordering: .relaxed) > 0)
        #expect(try store.read { try Self.keys.allSatisfy { try rounds[$0] == 150 } })
        let last = try counters[0]
        #expect(try Self.keys.allSatisfy { try counters[$0] == last }, "the buffered writer's last pass is whole")
    }

    /// Point reads of a map through the cache skip the store's lock while nothing is buffered or being
    /// written (the read cache's shards). Six threads read a map in a loop while one commits rounds,
    /// in turn by explicit transactions and by buffered writes it then flushes, pausing between
    /// rounds so that the lock-free reads and their misses run. No key goes back on a reader's
    /// thread; the writer reads each round back through the cache after its commit (a miss that read
    /// LMDB during the change must not have left the old value behind); every key reads the last
    /// round at the end.
    @Test func lockFreeCacheReadsNeverKeepAnOldValue() throws {
        let dir = TemporaryDirectory("store")
        let store = try Store(at: dir.path, durability: .noSync)
        defer { store.close() }
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        let keys = Array(0..<256 as Range<UInt64>)
        try store.write { for k in keys { try map.setValue(0, forKey: k) } }
        let done = Atomic<Bool>(false)
        let failures = Locked<[String]>([])
        @Sendable func fail(_ message: String) { failures.withLock { if $0.count < 10 { $0.append(message) } } }
        onThreads(7) { thread in
            do {
                if thread == 0 {
                    defer { done.store(true, ordering: .releasing) }
                    for round in 1...200 as ClosedRange<UInt64> {
                        if round % 2 == 0 {
                            try store.write { for k in keys { try map.setValue(round, forKey: k) } }
                        } else {
                            for k in keys { try map.setValue(round, forKey: k) }
                            try store.flush()
                        }
                        for k in keys where try map[k] != round {
                            return fail("round \(round): key \(k) reads \(String(describing: try map[k])) after the commit")
                        }
                        usleep(200)
                    }
                    return
                }
                var last = [UInt64](repeating: 0, count: keys.count)
                while !done.load(ordering: .acquiring) {
                    for (i, k) in keys.enumerated() {
                        guard let v = try map[k] else { return fail("thread \(thread): key \(k) absent") }
                        if v < last[i] { return fail("thread \(thread): key \(k) went from \(last[i]) to \(v)") }
                        last[i] = v
                    }
                }
            } catch {
                fail("thread \(thread): \(error)")
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try keys.allSatisfy { try map[$0] == 200 })
        #expect(store.statistics.hits > 0)
    }

    /// Threads that insert into one set and append to one queue outside transactions (the buffered
    /// path, under the store's lock) lose nothing and duplicate nothing.
    @Test func concurrentInsertsAndAppendsLoseNothing() throws {
        let dir = TemporaryDirectory("store")
        let store = try Store(at: dir.path, durability: .noSync)
        defer { store.close() }
        let set = try store.set("s", of: UInt64.self)
        let queue = try store.queue("q", of: UInt64.self)
        let inserted = Atomic<Int>(0)
        onThreads(4) { thread in
            for i in 0..<20_000 as Range<UInt64> {
                // Every thread tries every other key of a shared range: each key goes in once.
                let key = i * 2 + UInt64(thread % 2)
                if (try? set.insert(key)) == true { inserted.add(1, ordering: .relaxed) }
                if i % 4 == 0 { try? queue.append(UInt64(thread) << 32 | i) }
            }
        }
        #expect(inserted.load(ordering: .relaxed) == 40_000)
        #expect(try set.count == 40_000)
        #expect(try queue.count == 4 * 5_000)
        // Each thread's appends come out in its own order.
        var last = [UInt64: UInt64]()
        while let item = try queue.popFirst() {
            let (thread, i) = (item >> 32, item & 0xFFFF_FFFF)
            if let previous = last[thread] { #expect(i > previous) }
            last[thread] = i
        }
    }

    /// The async API from a `TaskGroup`: 8 tasks read (`await store.read`) while one writes rounds
    /// (`await store.write`); every read is one round, whole; with the cache on and off.
    @Test(arguments: [true, false])
    func aTaskGroupReadsWhileOneTaskWrites(cache: Bool) async throws {
        let dir = TemporaryDirectory("store")
        let store = try Store(at: dir.path, durability: .noSync, cacheBudget: cache ? .automatic : .disabled)
        defer { store.close() }
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        try await store.write { for k in Self.keys { try map.setValue(0, forKey: k) } }
        let rounds: UInt64 = 100
        let seen = try await withThrowingTaskGroup(of: [UInt64].self) { group in
            group.addTask {
                for round in 1...rounds { try await store.write { for k in Self.keys { try map.setValue(round, forKey: k) } } }
                return []
            }
            for _ in 0..<8 {
                group.addTask {
                    var rounds: [UInt64] = []
                    while rounds.last != 100 {
                        let values = try await store.read { try Self.keys.map { try map[$0] ?? .max } }
                        #expect(Set(values).count == 1, "a torn snapshot")
                        rounds.append(values[0])
                    }
                    return rounds
                }
            }
            var all: [[UInt64]] = []
            for try await r in group { all.append(r) }
            return all
        }
        for rounds in seen where !rounds.isEmpty {
            #expect(rounds == rounds.sorted(), "rounds never go back within a task")
        }
        #expect(try map[0] == rounds)
    }

    /// A cancelled `async` write: cancelled before it starts, its body never runs; cancelled while it
    /// runs, the next collection operation throws `CancellationError` and nothing of it is written.
    @Test func cancellingAnAsyncWriteLeavesNothingHalfWritten() async throws {
        let dir = TemporaryDirectory("store")
        let store = try Store(at: dir.path, durability: .noSync)
        defer { store.close() }
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        try map.setValue(7, forKey: 0)

        let started = Atomic<Bool>(false)
        let task = Task {
            try await store.write {
                started.store(true, ordering: .releasing)
                for k in 1... as PartialRangeFrom<UInt64> {  // until cancelled
                    try map.setValue(k, forKey: k)
                    if k % 1000 == 0 { usleep(1000) }
                }
            }
        }
        while !started.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }
        try await Task.sleep(for: .milliseconds(20))
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(try map.count == 1, "the cancelled transaction wrote nothing")
        #expect(try map[0] == 7)

        // Cancelled before it starts: the body does not run.
        let ran = Atomic<Bool>(false)
        let early = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await store.write { ran.store(true, ordering: .relaxed); try map.setValue(1, forKey: 1) }
        }
        await #expect(throws: CancellationError.self) { try await early.value }
        let bodyRan = ran.load(ordering: .relaxed)
        #expect(!bodyRan)
        #expect(try map[1] == nil)

        // A read's body sees cancellation through checkCancellation().
        let reading = Task {
            try await store.read {
                while true { try store.checkCancellation(); usleep(100) }
            }
        }
        try await Task.sleep(for: .milliseconds(10))
        reading.cancel()
        await #expect(throws: CancellationError.self) { try await reading.value }
    }

    /// A scan as an `AsyncSequence` reads one snapshot in batches while another task overwrites every
    /// value, and ends its snapshot when the loop stops early.
    @Test func aStreamReadsOneSnapshotInBatches() async throws {
        let dir = TemporaryDirectory("store")
        let store = try Store(at: dir.path, durability: .noSync)
        defer { store.close() }
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        try map.setValues((0..<5_000 as Range<UInt64>).map { ($0, 1) })
        var keys: [UInt64] = []
        var generations = Set<UInt64>()
        var batches = 0
        for try await (key, value) in map.stream(batchSize: 100) {
            if key % 100 == 0 {
                batches += 1
                // Between batches, another task commits a new generation of every value.
                let generation = UInt64(batches + 1)
                try await store.write { for k in 0..<5_000 as Range<UInt64> { try map.setValue(generation, forKey: k) } }
            }
            keys.append(key)
            generations.insert(value)
        }
        #expect(keys == Array(0..<5_000))
        #expect(generations == [1], "one snapshot throughout")
        #expect(batches == 50)

        // Ranges, reverse, and a set.
        let reversed = try await Array(map.stream(in: 10..<20, reverse: true, batchSize: 3).map(\.key))
        #expect(reversed == Array((10..<20).reversed()))
        let set = try store.set("s", of: UInt64.self)
        for k in 0..<1000 as Range<UInt64> { try set.insert(k * 3) }
        let elements = try await Array(set.stream(in: 30...60, batchSize: 4))
        #expect(elements == Array(stride(from: 30, through: 60, by: 3)))

        // Stopping early ends the snapshot: no reader is left holding one.
        let before = try #require(store.statistics.file).readers
        var stream = map.stream(batchSize: 10).makeAsyncIterator()
        _ = try await stream.next()
        #expect(try #require(store.statistics.file).readers == before + 1, "the iteration holds its snapshot")
        stream = map.stream(batchSize: 10).makeAsyncIterator()  // the first iterator is dropped
        #expect(try #require(store.statistics.file).readers == before, "the dropped iteration's snapshot ended")
        _ = stream
    }
}

extension AsyncSequence {
    /// Every element, in order.
    func collect() async throws -> [Element] {
        var out: [Element] = []
        for try await e in self { out.append(e) }
        return out
    }
}

extension Array {
    init<S: AsyncSequence>(_ sequence: S) async throws where S.Element == Element {
        self = try await sequence.collect()
    }
}

/// Another process commits while this one reads through its cache (issue 12, item 4): the next read
/// outside a transaction sees the other's commit, a read transaction keeps its snapshot, and the
/// cache's sets and queues let go of what the other process changed.
@Suite struct MultiProcessCacheTests {
    let diskcoll = builtExecutable("diskcoll")

    /// `diskcoll import` in a process of its own: `lines` of JSON added to (or replacing) `collection`.
    func importInAnotherProcess(_ store: String, _ collection: String, _ lines: String, kind: String, replace: Bool = false) throws {
        var arguments = ["import", store, collection, "-", "--format", "jsonl", "--kind", kind, "--key-type", "uint64", "--quiet"]
        if kind == "map" { arguments += ["--value-type", "uint64"] }
        if replace { arguments.append("--replace") }
        let result = try run(diskcoll, arguments, input: lines)
        #expect(result.status == 0, "\(result.standardError)")
    }

    @Test func theNextReadSeesAnotherProcessesCommit() throws {
        let dir = TemporaryDirectory("store")
        let store = try Store(at: dir.path)  // the default cache
        defer { store.close() }
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        try map.setValue(1, forKey: 1)
        try store.flush()
        #expect(try map[1] == 1)
        #expect(try map[1] == 1)  // from the cache now
        #expect(try map[2] == nil)  // absent, remembered

        try importInAnotherProcess(dir.path, "m", "{\"key\": 1, \"value\": 2}\n{\"key\": 2, \"value\": 20}\n", kind: "map")
        #expect(try map[1] == 2, "the cached value was dropped")
        #expect(try map[2] == 20, "the cached absence was dropped")
        #expect(store.statistics.revalidations >= 1)

        try store.read {
            #expect(try map[1] == 2)
            try importInAnotherProcess(dir.path, "m", "{\"key\": 1, \"value\": 3}\n", kind: "map")
            #expect(try map[1] == 2, "inside a read the snapshot holds")
        }
        #expect(try map[1] == 3)

        // A set whose presence table holds its keys: the other process replaces its contents.
        let set = try store.set("s", of: UInt64.self)
        for k in 0..<100 as Range<UInt64> { try set.insert(k) }
        try store.flush()
        #expect(try set.contains(5))
        #expect(try set.count == 100)
        try importInAnotherProcess(dir.path, "s", "{\"key\": 500}\n", kind: "set", replace: true)
        #expect(try !set.contains(5))
        #expect(try set.contains(500))
        #expect(try set.count == 1)
        #expect(try set.insert(5), "an insert after the other's commit sees the set as it is now")

        // A queue read ahead in this process: the other appends; the count and the items follow.
        let queue = try store.queue("q", of: UInt64.self)
        try queue.append(contentsOf: [1, 2, 3])
        try store.flush()
        #expect(try queue.first == 1)
        #expect(try queue.count == 3)
        let appended = try run(diskcoll, ["import", dir.path, "q", "-", "--format", "jsonl", "--kind", "queue",
                                          "--value-type", "uint64", "--quiet"], input: "{\"value\": 4}\n")
        #expect(appended.status == 0, "\(appended.standardError)")
        #expect(try queue.count == 4)
        #expect(try queue.popFirst(10) == [1, 2, 3, 4])
    }
}
