// The cache in front of the collections (issue 14, item 1): uniform and Zipf(0.99) reads and random
// puts through a default store's cache, and the same with the cache disabled, over a 1M-entry map;
// wall clock, throughput, mallocs and peak resident memory per 1,000 operations.
// Run from Benchmarks/: `swift package benchmark --target Cache`.
import Benchmark
import BenchmarkSupport
import DiskCollections
import Foundation

let entries: UInt64 = 1_000_000

/// `count` keys of `n` drawn by Zipf(`s`) over ranks (rank 0 the most frequent) by inverting the
/// exact CDF, each rank spread over the key space: the same law and seed as PeerComparison's cache-zipf.
func zipfKeys(n: UInt64, count: Int, s: Double = 0.99) -> [UInt64] {
    var cdf = [Double](repeating: 0, count: Int(n))
    var total = 0.0
    for i in 0..<Int(n) { total += 1 / pow(Double(i + 1), s); cdf[i] = total }
    var rng = XorShift()
    return (0..<count).map { _ in
        let u = Double(rng.next() >> 11) / Double(1 << 53) * total
        var lo = 0, hi = Int(n) - 1
        while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < u { lo = mid + 1 } else { hi = mid } }
        return key(UInt64(lo))
    }
}

@inline(__always) func key(_ rank: UInt64) -> UInt64 { rank &* 0x9E37_79B9_7F4A_7C15 }

final class Fixture {
    let path = temporaryStorePath("cache")
    var cached: Store!
    var uncached: Store!
    var cachedMap: DiskMap<UInt64, UInt64>!
    var uncachedMap: DiskMap<UInt64, UInt64>!
    var rng = XorShift()
    lazy var hot = zipfKeys(n: entries, count: 1 << 20)
    var next = 0

    func open() throws {
        guard cached == nil else { return }
        do {  // load once, then reopen: once with the default cache, once without
            let store = try Store(at: path)
            try store.map("m", key: UInt64.self, value: UInt64.self).setValues((0..<entries).map { (key($0), $0) }.sorted { $0.0 < $1.0 })
            store.close()
        }
        _ = hot
        cached = try Store(at: path)
        cachedMap = try cached.map("m", key: UInt64.self, value: UInt64.self)
    }

    /// The same directory without a cache: opened when the cached store is closed (one open per
    /// directory per process).
    func withoutCache() throws -> DiskMap<UInt64, UInt64> {
        if uncachedMap == nil {
            cached.close()
            cached = nil
            cachedMap = nil
            uncached = try Store(at: path, cacheBudget: .disabled)
            uncachedMap = try uncached.map("m", key: UInt64.self, value: UInt64.self)
        }
        return uncachedMap
    }

    func uniform() -> UInt64 { key(rng.next() % entries) }
    func skewed() -> UInt64 { next = (next + 1) & (hot.count - 1); return hot[next] }

    func close() {
        cached?.close()
        uncached?.close()
        try? FileManager.default.removeItem(atPath: path)
    }
}

let benchmarks: @Sendable () -> Void = {
    let configuration = suiteConfiguration()
    let f = Fixture()
    let open: Benchmark.BenchmarkSetupHook = { try f.open() }
    // The cached store's benchmarks first: the uncached ones close it.
    Benchmark("DiskMap-uniform-reads-default-cache", configuration: configuration, closure: { benchmark in
        for _ in 0..<1_000 { blackHole(try f.cachedMap[f.uniform()]) }
    }, setup: open)
    Benchmark("DiskMap-Zipf-reads-default-cache", configuration: configuration, closure: { benchmark in
        for _ in 0..<1_000 { blackHole(try f.cachedMap[f.skewed()]) }
    }, setup: open)
    Benchmark("DiskMap-random-puts-default-cache-buffered", configuration: configuration, closure: { benchmark in
        for _ in 0..<1_000 { let k = f.uniform(); try f.cachedMap.setValue(k, forKey: k) }
    }, setup: open)
    Benchmark("DiskMap-uniform-reads-cache-disabled", configuration: configuration, closure: { benchmark in
        let map = try f.withoutCache()
        for _ in 0..<1_000 { blackHole(try map[f.uniform()]) }
    }, setup: open)
    Benchmark("DiskMap-Zipf-reads-cache-disabled", configuration: configuration, closure: { benchmark in
        let map = try f.withoutCache()
        for _ in 0..<1_000 { blackHole(try map[f.skewed()]) }
    }, setup: open)
    Benchmark("DiskMap-random-puts-cache-disabled", configuration: configuration, closure: { benchmark in
        let map = try f.withoutCache()
        for _ in 0..<1_000 { let k = f.uniform(); try map.setValue(k, forKey: k) }
    }, setup: open)
    Benchmark.teardown = { f.close() }
}
