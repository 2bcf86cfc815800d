import DiskCollections
import Foundation
import LMDB

/// Zipf(s) ranks over 0..<n by inverse CDF; rank r maps to a scattered key so hot keys sit all over the tree.
func zipfKeys(n: UInt64, count: Int, s: Double = 0.99, seed: UInt64 = 88_172_645_463_325_252) -> [UInt64] {
    var cdf = [Double](repeating: 0, count: Int(n))
    var total = 0.0
    for i in 0..<Int(n) { total += 1 / pow(Double(i + 1), s); cdf[i] = total }
    var rng = XorShift(state: seed)
    var keys = [UInt64]()
    keys.reserveCapacity(count)
    for _ in 0..<count {
        let u = Double(rng.next() >> 11) / Double(1 << 53) * total
        var lo = 0, hi = Int(n) - 1
        while lo < hi { let mid = (lo + hi) / 2; if cdf[mid] < u { lo = mid + 1 } else { hi = mid } }
        keys.append(UInt64(lo) &* 0x9E37_79B9_7F4A_7C15 % n)
    }
    return keys
}

struct CacheResult: Encodable {
    var workload: String
    var n: UInt64
    var lmdb_per_s: Double
    var diskmap_cached_per_s: Double
    var ratio: Double
    var hits: Int
    var misses: Int
    var budget_mb: Double
    var peak_rss_anon_mb: Double
}

struct ZipfResult: Encodable {
    var workload = "zipf-0.99-get"
    var n: UInt64
    var lmdb_cold_per_s: Double
    var lmdb_warm_per_s: Double
    var diskmap_cold_per_s: Double
    var diskmap_second_per_s: Double
    var diskmap_warm_per_s: Double
    var warm_ratio: Double
    var warm_hit_rate: Double
    var budget_mb: Double
    var cache_mb: Double
}

/// Zipf(0.99) reads over N keys, N per pass, each pass a different sample of the same distribution:
/// a cold pass, a second pass (the cache still growing: its table doubles, a one-time cost), and a
/// warm pass, the steady state a long search sees. The LMDB module reads the cold and the warm keys in
/// one read transaction a pass (its rate is raw C's, see docs/benchmarks.md); then DiskMap through the
/// cache reads all three.
func runZipf() throws -> ZipfResult {
    let store = try Store(at: directory)
    let map = try store.map("bench", key: UInt64.self, value: UInt64.self)
    try map.setValues((0..<n).lazy.map { ($0, $0 &* 2) })
    let cold = zipfKeys(n: n, count: Int(n))
    let second = zipfKeys(n: n, count: Int(n), seed: 0x2545_F491_4F6C_DD1D)
    let warm = zipfKeys(n: n, count: Int(n), seed: 0x5DEE_CE66_D1CE_4E5B)
    store.close()

    let env = try Environment(path: directory, options: .init(durability: .noSync))
    var lmdbSum: UInt64 = 0, diskSum: UInt64 = 0
    func lmdbPass(_ keys: [UInt64]) throws -> Double {
        let t0 = now()
        try env.read { txn in
            let db = try txn.openExistingDatabase("bench")!
            for k in keys {
                var key = k.bigEndian
                if let v = try withUnsafeBytes(of: &key, { try txn.get(db, key: $0) { $0.loadUnaligned(as: UInt64.self) } }) { lmdbSum &+= v }
            }
        }
        return Double(keys.count) / (now() - t0)
    }
    let lmdbCold = try lmdbPass(cold), lmdbWarm = try lmdbPass(warm)
    env.close()

    // ZIPF_BUDGET_MB fixes the cache budget; ZIPF_LARGE=1 uses the earlier, larger law
    // (.governed(.largeCache), up to 1 GiB); by default the governor's default law decides.
    let environment = ProcessInfo.processInfo.environment
    let budget = environment["ZIPF_BUDGET_MB"].flatMap(Int.init).map { CacheBudget.bytes($0 << 20) }
        ?? (environment["ZIPF_LARGE"] == "1" ? .governed(.largeCache) : .automatic)
    let cached = try Store(at: directory, cacheBudget: budget)
    let m = try cached.map("bench", key: UInt64.self, value: UInt64.self)
    func cachedPass(_ keys: [UInt64]) throws -> Double {
        let t0 = now()
        for k in keys { if let v = try m[k] { diskSum &+= v } }
        return Double(keys.count) / (now() - t0)
    }
    let diskCold = try cachedPass(cold)
    let diskSecond = try cachedPass(second)
    let before = cached.statistics
    let diskWarm = try cachedPass(warm)
    let s = cached.statistics
    // Both read the cold and warm keys; DiskMap also the second pass's, which LMDB reads here.
    cached.close()
    let checkEnv = try Environment(path: directory, options: .init(durability: .noSync))
    try checkEnv.read { txn in
        let db = try txn.openExistingDatabase("bench")!
        for k in second {
            var key = k.bigEndian
            if let v = try withUnsafeBytes(of: &key, { try txn.get(db, key: $0) { $0.loadUnaligned(as: UInt64.self) } }) { lmdbSum &+= v }
        }
    }
    checkEnv.close()
    precondition(lmdbSum == diskSum, "the two implementations read different values")
    let hits = s.hits - before.hits, misses = s.misses - before.misses
    return ZipfResult(n: n, lmdb_cold_per_s: lmdbCold, lmdb_warm_per_s: lmdbWarm, diskmap_cold_per_s: diskCold,
                      diskmap_second_per_s: diskSecond, diskmap_warm_per_s: diskWarm, warm_ratio: diskWarm / lmdbWarm,
                      warm_hit_rate: Double(hits) / Double(max(1, hits + misses)),
                      budget_mb: Double(s.budget) / 1_048_576, cache_mb: Double(s.cacheBytes) / 1_048_576)
}

/// The peers' random puts (N/10 keys, xorshift mod 2N) on an N-entry map: LMDB in one write
/// transaction, then DiskMap.setValue through the write buffer, its final flush included.
func runBufferedPuts() throws -> CacheResult {
    let store = try Store(at: directory)
    let map = try store.map("bench", key: UInt64.self, value: UInt64.self)
    try map.setValues((0..<n).lazy.map { ($0, $0 &* 2) })
    store.close()
    let m = n / 10
    var rng = XorShift()
    let env = try Environment(path: directory, options: .init(durability: .noSync))
    var t0 = now()
    try env.write { txn in
        let db = try txn.openExistingDatabase("bench")!
        for i in 0..<m {
            var key = (rng.next() % (n * 2)).bigEndian, value = i
            try withUnsafeBytes(of: &key) { k in try withUnsafeBytes(of: &value) { v in _ = try txn.put(db, key: k, value: v) } }
        }
    }
    let lmdb = Double(m) / (now() - t0)
    env.close()

    rng = XorShift()
    let buffered = try Store(at: directory)
    let dm = try buffered.map("bench", key: UInt64.self, value: UInt64.self)
    t0 = now()
    for i in 0..<m { try dm.setValue(i, forKey: rng.next() % (n * 2)) }
    try buffered.flush()
    let disk = Double(m) / (now() - t0)
    let s = buffered.statistics
    buffered.close()
    return CacheResult(workload: "random-put", n: n, lmdb_per_s: lmdb, diskmap_cached_per_s: disk, ratio: disk / lmdb,
                       hits: s.hits, misses: s.misses, budget_mb: Double(s.budget) / 1_048_576,
                       peak_rss_anon_mb: Double(residentMemory().anonymous) / 1_048_576)
}

struct SeedResult: Encodable {
    var impl: String
    var n: UInt64
    var peak_rss_anon_mb: Double
    var final_rss_anon_mb: Double
    var peak_rss_file_mb: Double
    var seconds: Double
}

/// The seed scenario: build N entries, look them all up, drop them, idle 2 s; peak and final RssAnon.
func runSeed(_ mode: String) throws -> SeedResult {
    var peakAnon = 0, peakFile = 0
    func sample() { let r = residentMemory(); peakAnon = max(peakAnon, r.anonymous); peakFile = max(peakFile, r.file) }
    let t0 = now()
    var sum: UInt64 = 0
    switch mode {
    case "dictionary", "dictionary-trim":
        var d: [UInt64: UInt64]? = [:]
        for i in 0..<n { d![i &* 0x9E37_79B9_7F4A_7C15] = i; if i % 1_000_000 == 0 { sample() } }
        sample()
        for i in 0..<n { sum &+= d![i &* 0x9E37_79B9_7F4A_7C15] ?? 0 }
        sample()
        d = nil
        if mode == "dictionary-trim" { _ = AllocatorStatistics.giveFreeMemoryBack() }
        sleep(2)
    default:
        // "diskmap" under the automatic governor, "diskmap-limit" under a 512 MB memory limit.
        let store = try Store(at: directory, cacheBudget: mode == "diskmap-limit" ? .memoryLimit(512 << 20) : .automatic)
        let map = try store.map("seed", key: UInt64.self, value: UInt64.self)
        for i in 0..<n { try map.setValue(i, forKey: i &* 0x9E37_79B9_7F4A_7C15); if i % 1_000_000 == 0 { sample() } }
        sample()
        for i in 0..<n { sum &+= try map[i &* 0x9E37_79B9_7F4A_7C15] ?? 0; if i % 1_000_000 == 0 { sample() } }
        sample()
        try store.removeCollection("seed")
        try store.tickMemoryGovernor()   // an idle tick, as a search would call between phases
        sleep(2)
        try store.tickMemoryGovernor()
        if ProcessInfo.processInfo.environment["SEED_DEBUG"] != nil {
            let s = store.statistics
            FileHandle.standardError.write(Data("cache \(s.cacheBytes) buffered \(s.bufferedBytes) heap \(s.heapInUse ?? -1) free \(s.allocatorFree ?? -1) anon \(s.residentAnonymous ?? -1) trims \(s.trims) trimmed \(s.bytesTrimmed) budget \(s.budget)\n".utf8))
        }
        store.close()
    }
    precondition(sum == n * (n - 1) / 2, "lookups returned wrong values")
    let seconds = now() - t0
    let mb = { (x: Int) in (Double(x) / 1_048_576 * 10).rounded() / 10 }
    return SeedResult(impl: mode, n: n, peak_rss_anon_mb: mb(peakAnon), final_rss_anon_mb: mb(residentMemory().anonymous),
                      peak_rss_file_mb: mb(peakFile), seconds: seconds)
}
