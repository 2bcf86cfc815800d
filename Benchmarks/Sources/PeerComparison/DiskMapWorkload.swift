import DiskCollections
import Foundation

/// The same workload through `DiskMap<UInt64, UInt64>`: bulk load, random puts in one `store.write`,
/// random gets and a full scan in one `store.read`.
func runDiskMap() throws -> Result { try runDiskMap("swift-diskmap", UInt64.self) }

/// The same through `DiskMap<UInt64, Checksummed<UInt64>>`: each value carries a CRC-32C, computed on
/// every write and checked on every read.
func runDiskMapChecksummed() throws -> Result { try runDiskMap("swift-diskmap-crc32c", Checksummed<UInt64>.self) }

/// A value type of the workload: made from and read as a `UInt64`, statically (a closure passed in
/// would cost more than a checksum, and measure the harness).
protocol WorkloadValue: DiskValue {
    init(workload: UInt64)
    var workload: UInt64 { get }
}

extension UInt64: WorkloadValue {
    init(workload: UInt64) { self = workload }
    var workload: UInt64 { self }
}

extension Checksummed: WorkloadValue where Value == UInt64 {
    init(workload: UInt64) { self.init(workload) }
    var workload: UInt64 { value }
}

func runDiskMap<V: WorkloadValue>(_ impl: String, _: V.Type) throws -> Result {
    func wrap(_ x: UInt64) -> V { V(workload: x) }
    func unwrap(_ v: V) -> UInt64 { v.workload }
    let store = try Store(at: directory)
    let map = try store.map("bench", key: UInt64.self, value: V.self)
    var rng = XorShift()
    var t0 = now()
    try map.setValues((0..<n).lazy.map { ($0, wrap($0 &* 2)) })
    let load = now() - t0

    t0 = now()
    let m = n / 10
    try store.write {
        for i in 0..<m { try map.setValue(wrap(i), forKey: rng.next() % (n * 2)) }
    }
    let randomPut = now() - t0

    var sum: UInt64 = 0, count: UInt64 = 0
    var randomGet = 0.0, scan = 0.0
    try store.read {
        t0 = now()
        for _ in 0..<n {
            if let x = try map[rng.next() % n] { sum &+= unwrap(x) }
        }
        randomGet = now() - t0
        t0 = now()
        // Like raw C's scan, read the values (DiskMap.withValues); accumulate locally and return.
        let (s, c) = try map.withValues { values in
            var s: UInt64 = 0, c: UInt64 = 0
            for v in values { s &+= unwrap(v); c += 1 }
            return (s, c)
        }
        sum &+= s
        count += c
        scan = now() - t0
    }
    store.close()
    return Result(impl: impl, n: n, append_load_per_s: Double(n) / load, random_put_per_s: Double(m) / randomPut,
                  random_get_per_s: Double(n) / randomGet, scan_per_s: Double(count) / scan, count: count, checksum: sum)
}

/// RssAnon and RssFile from /proc/self/status, in bytes.
func residentMemory() -> (anonymous: Int, file: Int) {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return (0, 0) }
    var anonymous = 0, file = 0
    for line in status.split(separator: "\n") {
        let parts = line.split(whereSeparator: \.isWhitespace)
        guard parts.count >= 2, let kb = Int(parts[1]) else { continue }
        if parts[0] == "RssAnon:" { anonymous = kb * 1024 }
        if parts[0] == "RssFile:" { file = kb * 1024 }
    }
    return (anonymous, file)
}

struct MemoryResult: Encodable {
    var impl: String
    var n: UInt64
    var batch: Int
    var inserts_per_s: Double
    var peak_rss_anon_mb: Double
    var peak_rss_file_mb: Double
    var final_rss_anon_mb: Double
    var count: Int
}

/// Inserts N xorshift keys into a `DiskSet<UInt64>` (batches through `insert(contentsOf:)`) or a
/// `Set<UInt64>`, sampling RssAnon and RssFile after every batch.
func runMemory(disk: Bool, batch: Int) throws -> MemoryResult {
    var rng = XorShift()
    var peakAnon = 0, peakFile = 0
    func sample() {
        let r = residentMemory()
        peakAnon = max(peakAnon, r.anonymous)
        peakFile = max(peakFile, r.file)
    }
    var buffer = [UInt64]()
    buffer.reserveCapacity(batch)
    let t0 = now()
    var count = 0
    if disk {
        let store = try Store(at: directory)
        let set = try store.set("visited", of: UInt64.self)
        var done: UInt64 = 0
        while done < n {
            buffer.removeAll(keepingCapacity: true)
            for _ in 0..<min(UInt64(batch), n - done) { buffer.append(rng.next()) }
            try set.insert(contentsOf: buffer) { _ in }
            done += UInt64(buffer.count)
            sample()
        }
        count = try set.count
        store.close()
    } else {
        var set = Set<UInt64>()
        for i in 0..<n {
            set.insert(rng.next())
            if i % UInt64(batch) == 0 { sample() }
        }
        sample()
        count = set.count
        blackHole(set)
    }
    let elapsed = now() - t0
    sample()
    let mb = { (x: Int) in (Double(x) / 1_048_576 * 10).rounded() / 10 }
    return MemoryResult(impl: disk ? "swift-diskset" : "swift-set-in-heap", n: n, batch: batch,
                        inserts_per_s: Double(n) / elapsed, peak_rss_anon_mb: mb(peakAnon), peak_rss_file_mb: mb(peakFile),
                        final_rss_anon_mb: mb(residentMemory().anonymous), count: count)
}

@inline(never) func blackHole<T>(_ x: T) { withExtendedLifetime(x) {} }
