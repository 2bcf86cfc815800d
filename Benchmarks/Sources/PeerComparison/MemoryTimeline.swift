// The seed scenario over time (issue 14, item 3): a long-running process builds a large structure,
// searches it, drops it and idles, while a thread samples RssAnon and RssFile every 100 ms.
// Benchmarks/memory/run.sh runs every shape, way and allocator and plots the samples.
import DiskCollections
import Foundation
import Synchronization

struct TimelineResult: Encodable {
    var workload = "memory-timeline"
    /// `table` (one `UInt64 → UInt64` table), `set` (`UInt64` keys in a set) or `objects` (16-byte
    /// `[UInt8]` keys in a set).
    var shape: String
    /// `heap`, `heap-trim` (`malloc_trim` after the drop) or `disk` (a default `Store(at:)`).
    var way: String
    /// The allocator's name, from `ALLOCATOR` (the run script sets it beside `LD_PRELOAD`).
    var allocator: String
    var n: UInt64
    /// Seconds from the start at which each phase began: build, search, drop, idle, end (after
    /// `IDLE_S` seconds of idle, default 15; for `disk` with the store still open, closed just after).
    var phases: [String: Double]
    /// Samples: seconds from the start, RssAnon and RssFile in MB.
    var samples: [[Double]]
    var peak_rss_anon_mb: Double
    var final_rss_anon_mb: Double
    var peak_rss_file_mb: Double
    var seconds: Double
}

/// Samples resident memory every 100 ms on a thread of its own until stopped.
final class TimelineSampler: Sendable {
    private let samples = Mutex<[[Double]]>([])
    private let running = Atomic<Bool>(true)
    private let start: Double
    private let done = DispatchSemaphore(value: 0)

    init(start: Double) {
        self.start = start
        let thread = Thread { [self] in
            while running.load(ordering: .relaxed) {
                record()
                usleep(100_000)
            }
            record()
            done.signal()
        }
        thread.start()
    }

    func record() {
        let r = residentMemory()
        let sample = [now() - start, Double(r.anonymous) / 1e6, Double(r.file) / 1e6]
        samples.withLock { $0.append(sample) }
    }

    func stop() -> [[Double]] {
        running.store(false, ordering: .relaxed)
        done.wait()
        return samples.withLock { $0 }
    }
}

/// The 16 bytes of state `i` of the objects shape: distinct for every `i`.
@inline(__always)
func objectKey(_ i: UInt64) -> [UInt8] {
    let a = i &* 0x9E37_79B9_7F4A_7C15, b = i ^ 0xD1B5_4A32_D192_ED03
    return withUnsafeBytes(of: (a, b)) { Array($0) }
}

func runTimeline(shape: String, way: String) throws -> TimelineResult {
    let t0 = now()
    let sampler = TimelineSampler(start: t0)
    var phases: [String: Double] = ["build": 0]
    func phase(_ name: String) { phases[name] = now() - t0; sampler.record() }
    var found: UInt64 = 0
    // Long enough for the allocators that return memory on a timer (jemalloc's default decay is 10 s).
    let idle = UInt32(ProcessInfo.processInfo.environment["IDLE_S"].flatMap(Int.init) ?? 15)

    /// Entry `i`'s key, spread over the key space as a hash would.
    func spread(_ i: UInt64) -> UInt64 { i &* 0x9E37_79B9_7F4A_7C15 }
    /// Builds `structure` with an entry per `i`, looks every one up, and drops it (and trims for
    /// `heap-trim`).
    func inHeap<C>(_ structure: C, insert: (inout C, UInt64) -> Void, finds: (C, UInt64) -> Bool) {
        var structure: C? = structure
        for i in 0..<n { insert(&structure!, i) }
        phase("search")
        for i in 0..<n where finds(structure!, i) { found += 1 }
        phase("drop")
        structure = nil
        if way == "heap-trim" { _ = AllocatorStatistics.giveFreeMemoryBack() }
    }
    /// The same for collection "seed" of `store`, which the drop removes.
    func onDisk(_ store: Store, insert: (UInt64) throws -> Void, finds: (UInt64) throws -> Bool) throws {
        for i in 0..<n { try insert(i) }
        phase("search")
        for i in 0..<n where try finds(i) { found += 1 }
        phase("drop")
        _ = try store.removeCollection("seed")
    }

    switch (shape, way) {
    case ("table", "heap"), ("table", "heap-trim"):
        inHeap([UInt64: UInt64](), insert: { $0[spread($1)] = $1 }, finds: { $0[spread($1)] == $1 })
    case ("objects", "heap"), ("objects", "heap-trim"):
        inHeap(Set<[UInt8]>(), insert: { $0.insert(objectKey($1)) }, finds: { $0.contains(objectKey($1)) })
    case ("set", "heap"), ("set", "heap-trim"):
        inHeap(Set<UInt64>(), insert: { $0.insert(spread($1)) }, finds: { $0.contains(spread($1)) })
    case ("table", "disk"), ("objects", "disk"), ("set", "disk"):
        let store = try Store(at: directory)
        switch shape {
        case "table":
            let map = try store.map("seed", key: UInt64.self, value: UInt64.self)
            try onDisk(store, insert: { try map.setValue($0, forKey: spread($0)) }, finds: { try map[spread($0)] == $0 })
        case "set":
            let set = try store.set("seed", of: UInt64.self)
            try onDisk(store, insert: { _ = try set.insert(spread($0)) }, finds: { try set.contains(spread($0)) })
        default:
            let set = try store.set("seed", of: [UInt8].self)
            try onDisk(store, insert: { _ = try set.insert(objectKey($0)) }, finds: { try set.contains(objectKey($0)) })
        }
        try store.tickMemoryGovernor()  // an idle tick, as a long-running program's loop would make
        phase("idle")
        sleep(idle)
        try store.tickMemoryGovernor()
        phase("end")  // with the store still open, as a long-running program keeps it
        if ProcessInfo.processInfo.environment["SEED_DEBUG"] != nil {
            let s = store.statistics
            FileHandle.standardError.write(Data("cache \(s.cacheBytes) buffered \(s.bufferedBytes) heap \(s.heapInUse ?? -1) free \(s.allocatorFree ?? -1) anon \(s.residentAnonymous ?? -1) trims \(s.trims) trimmed \(s.bytesTrimmed) budget \(s.budget)\n".utf8))
        }
        store.close()
        sampler.record()
    default:
        FileHandle.standardError.write(Data("unknown shape or way: \(shape) \(way)\n".utf8))
        exit(2)
    }
    if phases["idle"] == nil { phase("idle"); sleep(idle) }
    if phases["end"] == nil { phase("end") }
    precondition(found == n, "the search found \(found) of \(n)")
    let samples = sampler.stop()
    let seconds = now() - t0
    let round = { (x: Double) in (x * 10).rounded() / 10 }
    return TimelineResult(
        shape: shape, way: way, allocator: ProcessInfo.processInfo.environment["ALLOCATOR"] ?? "glibc", n: n,
        phases: phases, samples: samples.map { [($0[0] * 100).rounded() / 100, round($0[1]), round($0[2])] },
        peak_rss_anon_mb: round(samples.map { $0[1] }.max() ?? 0),
        final_rss_anon_mb: round(samples.last(where: { $0[0] <= phases["end"]! + 0.001 })?[1] ?? 0),
        peak_rss_file_mb: round(samples.map { $0[2] }.max() ?? 0), seconds: seconds)
}
