// Every collection's operations against its in-heap counterpart (issue 14, item 1), in-process with
// package-benchmark: wall clock, throughput, mallocs and peak resident memory per operation, in
// samples of 1,000. The writes of a default store go through its write buffer; each write benchmark
// ends its sample with `flush()`, so the commit to LMDB is counted. The map's lookups run against a
// warm cache (its steady state for a 100,000-entry map); the Cache suite measures cold and skewed reads.
// Run from Benchmarks/: `swift package benchmark --target CollectionOperations` (docs/benchmarks.md,
// "Suites"). Each store is a default `Store(at:)` in a temporary directory; the tree behind the
// lookups holds 100,000 entries.
import Benchmark
import BenchmarkSupport
import DequeModule
import DiskCollections
import Foundation

let entries = 100_000

/// A key of entry `i`, spread over the key space as a hash would.
@inline(__always) func key(_ i: Int) -> UInt64 { UInt64(i) &* 0x9E37_79B9_7F4A_7C15 }

/// A default store in a new temporary directory, removed by `close()`.
final class Fixture {
    let path = temporaryStorePath("collections")
    lazy var store: Store = try! Store(at: path)
    var next = 0  // a cursor through the entries, so successive samples use different keys
    var rng = XorShift()

    /// 1,000 entry numbers (of `entries`) at random (the peers' xorshift64): every sample meets the
    /// cache in the same mixture of hits and misses.
    func randomBatch() -> [Int] {
        (0..<1_000).map { _ in Int(rng.next() % UInt64(entries)) }
    }

    /// The next 1,000 entry numbers (of `entries`), wrapping around.
    func batch() -> Range<Int> {
        if next + 1_000 > entries { next = 0 }
        defer { next += 1_000 }
        return next..<(next + 1_000)
    }

    func close() {
        store.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

let benchmarks: @Sendable () -> Void = {
    let configuration = suiteConfiguration()

    // MARK: DiskMap<UInt64, UInt64> and Dictionary<UInt64, UInt64>

    let maps = Fixture()
    var map: DiskMap<UInt64, UInt64>!
    var dictionary: [UInt64: UInt64] = [:]
    let loadMaps: Benchmark.BenchmarkSetupHook = {
        map = try maps.store.map("m", key: UInt64.self, value: UInt64.self)
        if try map.count == 0 {
            try map.setValues((0..<entries).map { (key($0), UInt64($0)) }.sorted { $0.0 < $1.0 })
            try maps.store.checkpoint()
        }
        if dictionary.isEmpty { for i in 0..<entries { dictionary[key(i)] = UInt64(i) } }
        // Twice through every key, present and absent, so that the samples meet the cache in its
        // steady state, not a cold one that warms as they run.
        for _ in 0..<2 { for i in 0..<(2 * entries) { blackHole(try map[key(i)]) } }
    }

    Benchmark("DiskMap-lookup-hit", configuration: configuration, closure: { benchmark in
        for i in maps.randomBatch() { blackHole(try map[key(i)]) }
    }, setup: loadMaps)
    Benchmark("Dictionary-lookup-hit", configuration: configuration, closure: { benchmark in
        for i in maps.randomBatch() { blackHole(dictionary[key(i)]) }
    }, setup: loadMaps)
    Benchmark("DiskMap-lookup-miss", configuration: configuration, closure: { benchmark in
        for i in maps.randomBatch() { blackHole(try map[key(i + entries)]) }
    }, setup: loadMaps)
    Benchmark("Dictionary-lookup-miss", configuration: configuration, closure: { benchmark in
        for i in maps.randomBatch() { blackHole(dictionary[key(i + entries)]) }
    }, setup: loadMaps)
    Benchmark("DiskMap-update-flushed", configuration: configuration, closure: { benchmark in
        for i in maps.batch() { try map.setValue(UInt64(i), forKey: key(i)) }
        try maps.store.flush()
    }, setup: loadMaps)
    Benchmark("Dictionary-update", configuration: configuration, closure: { benchmark in
        for i in maps.batch() { dictionary[key(i)] = UInt64(i) }
    }, setup: loadMaps)
    Benchmark("DiskMap-delete-flushed", configuration: configuration, closure: { benchmark in
        let batch = maps.batch()
        for i in batch { blackHole(try map.removeValue(forKey: key(i))) }
        try maps.store.flush()
        benchmark.stopMeasurement()
        for i in batch { try map.setValue(UInt64(i), forKey: key(i)) }  // put back, unmeasured
        try maps.store.flush()
    }, setup: loadMaps)
    Benchmark("Dictionary-delete", configuration: configuration, closure: { benchmark in
        let batch = maps.batch()
        for i in batch { blackHole(dictionary.removeValue(forKey: key(i))) }
        benchmark.stopMeasurement()
        for i in batch { dictionary[key(i)] = UInt64(i) }
    }, setup: loadMaps)
    // A range scan: 1,000 consecutive entries in key order.
    Benchmark("DiskMap-range-scan", configuration: configuration, closure: { benchmark in
        let from = key(maps.batch().lowerBound)
        var n = 0
        try map.forEachWhile(in: DiskKeyBounds(from...)) { k, v in blackHole((k, v)); n += 1; return n < 1_000 }
    }, setup: loadMaps)
    let sortedKeys = (0..<entries).map(key).sorted()
    Benchmark("Dictionary-range-scan-over-sorted-keys", configuration: configuration, closure: { benchmark in
        let start = maps.batch().lowerBound
        for k in sortedKeys[start..<(start + 1_000)] { blackHole(dictionary[k]) }
    }, setup: loadMaps)
    // Inserts into a fresh collection: each sample ends by removing it and making the next one empty,
    // after its measurement stops.
    var fresh: DiskMap<UInt64, UInt64>!
    let makeFresh: Benchmark.BenchmarkSetupHook = {
        try await loadMaps()
        _ = try maps.store.removeCollection("fresh")
        fresh = try maps.store.map("fresh", key: UInt64.self, value: UInt64.self)
    }
    func renew(_ benchmark: Benchmark) throws {
        benchmark.stopMeasurement()
        _ = try maps.store.removeCollection("fresh")
        fresh = try maps.store.map("fresh", key: UInt64.self, value: UInt64.self)
    }
    // Buffered by the cache, then committed (flush): the whole cost of getting them into LMDB.
    Benchmark("DiskMap-insert-random-keys-flushed", configuration: configuration, closure: { benchmark in
        for i in 0..<1_000 { try fresh.setValue(UInt64(i), forKey: key(i)) }
        try maps.store.flush()
        try renew(benchmark)
    }, setup: makeFresh)
    Benchmark("Dictionary-insert-random-keys", configuration: configuration) { benchmark in
        var fresh: [UInt64: UInt64] = [:]
        for i in 0..<1_000 { fresh[key(i)] = UInt64(i) }
        blackHole(fresh)
    }
    let sortedBatch = (0..<1_000).map { (UInt64($0), UInt64($0)) }
    Benchmark("DiskMap-bulk-load-setValues-sorted", configuration: configuration, closure: { benchmark in
        try fresh.setValues(sortedBatch)
        try renew(benchmark)
    }, setup: makeFresh)
    Benchmark("Dictionary-bulk-load-uniqueKeysWithValues", configuration: configuration) { benchmark in
        blackHole([UInt64: UInt64](uniqueKeysWithValues: (0..<1_000).map { (UInt64($0), UInt64($0)) }))
    }

    // MARK: DiskSet<UInt64> and Set<UInt64>

    let sets = Fixture()
    var diskSet: DiskSet<UInt64>!
    var set: Set<UInt64> = []
    let loadSets: Benchmark.BenchmarkSetupHook = {
        diskSet = try sets.store.set("s", of: UInt64.self)
        if try diskSet.count == 0 {
            _ = try diskSet.insert(contentsOf: (0..<entries).map(key).sorted())
            try sets.store.checkpoint()
        }
        if set.isEmpty { for i in 0..<entries { set.insert(key(i)) } }
    }
    Benchmark("DiskSet-contains-hit", configuration: configuration, closure: { benchmark in
        for i in sets.randomBatch() { blackHole(try diskSet.contains(key(i))) }
    }, setup: loadSets)
    Benchmark("Set-contains-hit", configuration: configuration, closure: { benchmark in
        for i in sets.randomBatch() { blackHole(set.contains(key(i))) }
    }, setup: loadSets)
    Benchmark("DiskSet-contains-miss", configuration: configuration, closure: { benchmark in
        for i in sets.randomBatch() { blackHole(try diskSet.contains(key(i + entries))) }
    }, setup: loadSets)
    Benchmark("Set-contains-miss", configuration: configuration, closure: { benchmark in
        for i in sets.randomBatch() { blackHole(set.contains(key(i + entries))) }
    }, setup: loadSets)
    Benchmark("DiskSet-insert-new-flushed", configuration: configuration, closure: { benchmark in
        let batch = sets.batch()
        for i in batch { blackHole(try diskSet.insert(key(i + entries))) }
        try sets.store.flush()
        benchmark.stopMeasurement()
        for i in batch { _ = try diskSet.remove(key(i + entries)) }
        try sets.store.flush()
    }, setup: loadSets)
    Benchmark("Set-insert-new", configuration: configuration, closure: { benchmark in
        let batch = sets.batch()
        for i in batch { blackHole(set.insert(key(i + entries))) }
        benchmark.stopMeasurement()
        for i in batch { set.remove(key(i + entries)) }
    }, setup: loadSets)
    Benchmark("DiskSet-remove-flushed", configuration: configuration, closure: { benchmark in
        let batch = sets.batch()
        for i in batch { blackHole(try diskSet.remove(key(i))) }
        try sets.store.flush()
        benchmark.stopMeasurement()
        for i in batch { _ = try diskSet.insert(key(i)) }
        try sets.store.flush()
    }, setup: loadSets)
    Benchmark("Set-remove", configuration: configuration, closure: { benchmark in
        let batch = sets.batch()
        for i in batch { blackHole(set.remove(key(i))) }
        benchmark.stopMeasurement()
        for i in batch { set.insert(key(i)) }
    }, setup: loadSets)

    // MARK: DiskArray<UInt64> and Array<UInt64>

    let arrays = Fixture()
    var diskArray: DiskArray<UInt64>!
    var array: [UInt64] = []
    let loadArrays: Benchmark.BenchmarkSetupHook = {
        diskArray = try arrays.store.array("a", of: UInt64.self)
        if try diskArray.count == 0 {
            try diskArray.append(contentsOf: (0..<entries).map(UInt64.init))
            try arrays.store.checkpoint()
        }
        if array.isEmpty { array = (0..<entries).map(UInt64.init) }
    }
    Benchmark("DiskArray-random-read", configuration: configuration, closure: { benchmark in
        for i in arrays.randomBatch() { blackHole(try diskArray[i]) }
    }, setup: loadArrays)
    Benchmark("Array-random-read", configuration: configuration, closure: { benchmark in
        for i in arrays.randomBatch() { blackHole(array[i]) }
    }, setup: loadArrays)
    Benchmark("DiskArray-iterate", configuration: configuration, closure: { benchmark in
        let start = arrays.batch().lowerBound
        try diskArray.forEach(in: start..<(start + 1_000)) { i, v in blackHole(v) }
    }, setup: loadArrays)
    Benchmark("Array-iterate", configuration: configuration, closure: { benchmark in
        let start = arrays.batch().lowerBound
        for v in array[start..<(start + 1_000)] { blackHole(v) }
    }, setup: loadArrays)
    Benchmark("DiskArray-append-and-popLast", configuration: configuration, closure: { benchmark in
        for i in 0..<1_000 { try diskArray.append(UInt64(i)) }
        for _ in 0..<1_000 { blackHole(try diskArray.popLast()) }
    }, setup: loadArrays)
    Benchmark("Array-append-and-popLast", configuration: configuration, closure: { benchmark in
        for i in 0..<1_000 { array.append(UInt64(i)) }
        for _ in 0..<1_000 { blackHole(array.popLast()) }
    }, setup: loadArrays)

    // MARK: DiskQueue<UInt64> and Deque<UInt64>

    let queues = Fixture()
    var diskQueue: DiskQueue<UInt64>!
    var deque: Deque<UInt64> = []
    let loadQueues: Benchmark.BenchmarkSetupHook = {
        diskQueue = try queues.store.queue("q", of: UInt64.self)
        if try diskQueue.count == 0 { try diskQueue.append(contentsOf: (0..<UInt64(entries))) }
        if deque.isEmpty { deque.append(contentsOf: 0..<UInt64(entries)) }
    }
    // A frontier's steady state: one append and one popFirst per operation, 100,000 queued; the
    // queue's buffer is flushed at the end of each 1,000.
    Benchmark("DiskQueue-append-and-popFirst-flushed", configuration: configuration, closure: { benchmark in
        for i in 0..<1_000 { try diskQueue.append(UInt64(i)); blackHole(try diskQueue.popFirst()) }
        try queues.store.flush()
    }, setup: loadQueues)
    Benchmark("Deque-append-and-popFirst", configuration: configuration, closure: { benchmark in
        for i in 0..<1_000 { deque.append(UInt64(i)); blackHole(deque.popFirst()) }
    }, setup: loadQueues)

    Benchmark.teardown = {
        for fixture in [maps, sets, arrays, queues] { fixture.close() }
    }
}
