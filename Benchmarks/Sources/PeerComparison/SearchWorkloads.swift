import DiskCollections
import Foundation
import SearchPuzzles
import Synchronization

/// The peak of RssAnon and RssFile, sampled every 10 ms on a thread of its own while a search runs.
final class MemorySampler: Sendable {
    let peakAnonymous = Atomic<Int>(0)
    let peakFile = Atomic<Int>(0)
    let running = Atomic<Bool>(true)

    init() {
        Thread.detachNewThread { [self] in
            while running.load(ordering: .relaxed) {
                sample()
                usleep(10_000)
            }
        }
    }

    func sample() {
        let r = residentMemory()
        peakAnonymous.max(r.anonymous)
        peakFile.max(r.file)
    }

    func stop() { sample(); running.store(false, ordering: .relaxed) }
}

extension Atomic where Value == Int {
    func max(_ x: Int) {
        var current = load(ordering: .relaxed)
        while x > current {
            let (exchanged, original) = compareExchange(expected: current, desired: x, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }
}

struct SearchResult: Encodable {
    var impl: String
    var puzzle: String
    var states: Int
    var levels: [Int]
    var matches_published: Bool
    var seconds: Double
    var start_rss_anon_mb: Double
    var peak_rss_anon_mb: Double
    var final_rss_anon_mb: Double
    var peak_rss_file_mb: Double
    var flushes: Int?
    var flush_transactions: Int?
    var budget_mb: Double?
    var hits: Int?
    var misses: Int?
}

func mb(_ x: Int) -> Double { (Double(x) / 1_048_576 * 10).rounded() / 10 }

/// The pocket cube searched breadth-first "the obvious way": with `Set<UInt64>` and `[UInt64]` in the
/// heap (`heap`), or with a `DiskSet<UInt64>` and a `DiskQueue<UInt64>` and plain point operations on
/// a default `Store(at:)` (`obvious`), as a new user writes it.
func runObviousSearch(_ mode: String, metric: PocketCube.Metric) throws -> SearchResult {
    let cube = PocketCube(metric: metric)
    let start = residentMemory().anonymous
    let sampler = MemorySampler()
    let t0 = now()
    var levels = [1]
    var statistics: StoreStatistics?
    switch mode {
    case "heap":
        var visited: Set<UInt64> = [PocketCube.solved]
        var frontier: [UInt64] = [PocketCube.solved]
        while !frontier.isEmpty {
            var next: [UInt64] = []
            for s in frontier {
                cube.forEachSuccessor(of: s) { n in if visited.insert(n).inserted { next.append(n) } }
            }
            if !next.isEmpty { levels.append(next.count) }
            frontier = next
        }
    default:
        let store = try Store(at: directory)
        let visited = try store.set("visited", of: UInt64.self)
        let frontier = try store.queue("frontier", of: UInt64.self)
        try visited.insert(PocketCube.solved)
        try frontier.append(PocketCube.solved)
        var inLevel = 1
        while inLevel > 0 {
            var next = 0
            for _ in 0..<inLevel {
                guard let s = try frontier.popFirst() else { break }
                try cube.forEachSuccessor(of: s) { n in
                    if try visited.insert(n) { try frontier.append(n); next += 1 }
                }
            }
            if next > 0 { levels.append(next) }
            inLevel = next
        }
        statistics = store.statistics
        store.close()
    }
    let seconds = now() - t0
    sampler.stop()
    return SearchResult(impl: mode, puzzle: "pocket-cube-\(metric.rawValue)", states: levels.reduce(0, +), levels: levels,
                        matches_published: levels == cube.depthTable, seconds: seconds,
                        start_rss_anon_mb: mb(start), peak_rss_anon_mb: mb(sampler.peakAnonymous.load(ordering: .relaxed)),
                        final_rss_anon_mb: mb(residentMemory().anonymous),
                        peak_rss_file_mb: mb(sampler.peakFile.load(ordering: .relaxed)),
                        flushes: statistics?.flushes, flush_transactions: statistics?.flushTransactions, budget_mb: statistics.map { mb($0.budget) },
                        hits: statistics?.hits, misses: statistics?.misses)
}
