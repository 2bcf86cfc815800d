import DiskCollections
import Foundation
import Testing
import TestSupport

/// The governor's law on synthetic statistics.
@Suite struct MemoryGovernorTests {
    let MB = 1 << 20

    func sample(limit: Int, anon: Int, cache: Int, free: Int? = nil, at time: Double = 0) -> MemorySample {
        MemorySample(limit: limit, residentAnonymous: anon, cacheBytes: cache, allocatorFree: free, time: time)
    }

    /// The default law: a ceiling from the data, and growth only while the ghost list shows it pays.
    @Test func theDefaultBudgetFollowsTheDataAndGrowsOnlyWhenGrowthPays() {
        var g = MemoryGovernor()
        #expect(g.policy.startingBudget == 16 * MB && g.policy.dataFraction == 0.25)
        func roomy(data: Int) -> MemorySample {
            MemorySample(limit: 24 << 30, residentAnonymous: 50 * MB, cacheBytes: 10 * MB, allocatorFree: nil, time: 0, dataBytes: data)
        }
        // 24 GiB of machine does not make the cache big: a quarter of the data, at least 16 MiB.
        #expect(g.desiredBudget(roomy(data: 0)) == 16 * MB)
        #expect(g.desiredBudget(roomy(data: 400 * MB)) == 100 * MB)
        #expect(g.desiredBudget(roomy(data: 100 << 30)) == g.policy.maximumBudget)
        g.fix(budget: 16 * MB)
        for _ in 0..<10 { g.updateBudget(roomy(data: 400 * MB), growthPays: false) }
        #expect(g.budget == 16 * MB)                // misses a bigger cache would not answer: hold
        g.updateBudget(roomy(data: 400 * MB), growthPays: true)
        #expect(g.budget == 32 * MB)
        for _ in 0..<10 { g.updateBudget(roomy(data: 400 * MB), growthPays: true) }
        #expect(g.budget == 100 * MB)               // never past the data's ceiling
        // Pressure still cuts at once, whether growth pays or not.
        g.updateBudget(sample(limit: 100 * MB, anon: 80 * MB, cache: 40 * MB), growthPays: false)
        #expect(g.budget == 20 * MB)
        // The earlier law ignores the data.
        #expect(MemoryGovernor(policy: .largeCache).desiredBudget(roomy(data: 0)) == 1 << 30)
    }

    @Test func theBudgetGrowsSlowlyTowardsTheTarget() {
        var g = MemoryGovernor(policy: .largeCache)
        // L = 1000 MB, A = 100 MB of which the cache is 10 MB: B* = 0.6 L - (A - C) = 510 MB.
        let s = sample(limit: 1000 * MB, anon: 100 * MB, cache: 10 * MB)
        #expect(g.desiredBudget(s) == 510 * MB)
        // On a big machine the ceiling holds: 0.6 * 24 GB would be 14 GB.
        #expect(g.desiredBudget(sample(limit: 24 << 30, anon: 0, cache: 0)) == g.policy.maximumBudget)
        var budgets: [Int] = []
        for _ in 0..<40 { budgets.append(g.tick(s).budget) }
        #expect(budgets.first! == 8 * MB)          // from 4 MB, at most doubling a tick
        #expect(zip(budgets, budgets.dropFirst()).allSatisfy { $1 >= $0 && $1 <= 2 * $0 })
        #expect(budgets.last == 510 * MB)
    }

    /// The store's order on a trimming tick: trim, then one budget update from the sample after it.
    /// The budget grows at most once, however much the trim gave back.
    @Test func aTrimmingTickGrowsTheBudgetOnce() {
        var g = MemoryGovernor(initialBudget: 8 * MB)
        let before = sample(limit: 1000 * MB, anon: 400 * MB, cache: 0, free: 300 * MB, at: 10)
        let trims = g.wantsTrim(before)
        #expect(trims)
        g.recordTrim(returned: 290 * MB)
        let after = sample(limit: 1000 * MB, anon: 110 * MB, cache: 0, free: 10 * MB, at: 10)
        let budget = g.updateBudget(after)
        #expect(budget == 16 * MB)
        let again = g.wantsTrim(after)
        #expect(!again)
    }

    @Test func pressureCutsTheBudgetAtOnceDownToTheFloor() {
        var g = MemoryGovernor(policy: .largeCache, initialBudget: 400 * MB)
        // Others grew: A - C = 500 MB, so B* = 100 MB: cut in one tick.
        #expect(g.tick(sample(limit: 1000 * MB, anon: 700 * MB, cache: 200 * MB)).budget == 100 * MB)
        // Over the target entirely: the minimum budget, never zero or negative.
        #expect(g.tick(sample(limit: 1000 * MB, anon: 900 * MB, cache: 10 * MB)).budget == g.policy.minimumBudget)
        // A limit smaller than what others use is the same floor.
        #expect(g.tick(sample(limit: 10 * MB, anon: 50 * MB, cache: 0)).budget == g.policy.minimumBudget)
    }

    @Test func trimsWhenTheAllocatorHoldsMuchFreeMemoryAtMostEveryInterval() {
        var g = MemoryGovernor()
        let limit = 1000 * MB
        #expect(!g.tick(sample(limit: limit, anon: 100 * MB, cache: 0, free: 10 * MB, at: 0)).trim)   // little free
        #expect(g.tick(sample(limit: limit, anon: 100 * MB, cache: 0, free: 200 * MB, at: 1)).trim)
        g.recordTrim(returned: 150 * MB)
        #expect(!g.tick(sample(limit: limit, anon: 100 * MB, cache: 0, free: 200 * MB, at: 2)).trim)  // too soon
        #expect(g.tick(sample(limit: limit, anon: 100 * MB, cache: 0, free: 200 * MB, at: 3.5)).trim)
        #expect(!g.tick(sample(limit: limit, anon: 100 * MB, cache: 0, free: nil, at: 10)).trim)      // not sampled
    }

    /// Fragmentation that defeats trim: trims that return nothing back off to the maximum interval,
    /// and one that pays resets it.
    @Test func unproductiveTrimsBackOff() {
        var g = MemoryGovernor()
        var t = 0.0, intervals: [Double] = []
        for _ in 0..<8 {
            let s = sample(limit: 1000 * MB, anon: 400 * MB, cache: 0, free: 300 * MB, at: t)
            if g.tick(s).trim { g.recordTrim(returned: 0) }
            intervals.append(g.currentTrimInterval)
            t += g.currentTrimInterval
        }
        #expect(intervals == [4, 8, 16, 32, 64, 64, 64, 64])
        g.recordTrim(returned: 100 * MB)
        #expect(g.currentTrimInterval == g.policy.trimInterval)
    }

    @Test func theMemoryLimitIsTheSmallestOfWhatIsKnown() throws {
        let root = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: root.appending("grp"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: root.appending("memory"), withIntermediateDirectories: true)
        let selfCgroup = root.appending("cgroup")
        try "0::/grp\n".write(toFile: selfCgroup, atomically: true, encoding: .utf8)
        try "max\n".write(toFile: root.appending("grp/memory.max"), atomically: true, encoding: .utf8)
        try "805306368\n".write(toFile: root.appending("grp/memory.high"), atomically: true, encoding: .utf8)
        var limit = MemoryLimit.current(cgroupRoot: root.path, selfCgroup: selfCgroup)
        #expect(limit.bytes == 805_306_368 && limit.source == "cgroup v2 memory.high")
        limit = MemoryLimit.current(userCap: 64 << 20, cgroupRoot: root.path, selfCgroup: selfCgroup)
        #expect(limit.bytes == 64 << 20 && limit.source == "user cap")
        // cgroup v1's "no limit" sentinel and missing files fall back to physical memory.
        try "9223372036854771712\n".write(toFile: root.appending("memory/memory.limit_in_bytes"), atomically: true, encoding: .utf8)
        limit = MemoryLimit.current(cgroupRoot: root.appending("nothing"), selfCgroup: root.appending("missing"))
        #expect(limit.source == "physical memory" && limit.bytes > 0)
        let v1 = MemoryLimit.current(cgroupRoot: root.path, selfCgroup: root.appending("missing"))
        #expect(v1.source != "cgroup v1")
    }
}
