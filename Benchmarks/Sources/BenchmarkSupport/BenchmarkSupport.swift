// What the package-benchmark suites (CollectionOperations, Cache, Codecs) share.
import Benchmark
import Foundation

/// The configuration of every suite's benchmarks: samples of 1,000 operations (`scaledIterations`),
/// wall clock, throughput and mallocs (and peak resident memory where `measuresMemory`), and the
/// regression guard's tolerances (docs/benchmarks.md, "Suites"): `make bench-check` compares each
/// metric's p90 with the committed Thresholds/, and shared machines are noisy, so only a change
/// beyond 35% in time or throughput, or 25% in mallocs or peak memory, fails it.
public func suiteConfiguration(measuresMemory: Bool = true, maxDuration: Duration = .seconds(2)) -> Benchmark.Configuration {
    var thresholds: [BenchmarkMetric: BenchmarkThresholds] = [
        .wallClock: .init(relative: [.p90: 35]), .throughput: .init(relative: [.p90: 35]),
        .mallocCountTotal: .init(relative: [.p90: 25]),
    ]
    var metrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]
    if measuresMemory {
        metrics.append(.peakMemoryResident)
        thresholds[.peakMemoryResident] = .init(relative: [.p90: 25])
    }
    return Benchmark.Configuration(metrics: metrics, scalingFactor: .kilo, maxDuration: maxDuration, thresholds: thresholds)
}

/// The peers' xorshift64 (../shared/peers), same default seed.
public struct XorShift {
    public var state: UInt64
    public init(state: UInt64 = 88_172_645_463_325_252) { self.state = state }
    public mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
}

/// A path for a store under the temporary directory, new for each call; remove it with
/// `FileManager.default.removeItem(atPath:)` when done.
public func temporaryStorePath(_ label: String) -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("diskcoll-bench-\(label)-\(UUID())").path
}
