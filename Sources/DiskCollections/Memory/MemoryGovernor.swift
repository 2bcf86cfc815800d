/// How a store's cache is sized.
public enum CacheBudget: Sendable, Hashable {
    /// The ``MemoryGovernor`` sizes the cache from the process's memory and its limit (the default).
    case automatic
    /// A fixed budget in bytes; the governor still trims the allocator.
    case bytes(Int)
    /// The governor's law with this memory limit (bytes) instead of the cgroup's or the machine's.
    case memoryLimit(Int)
    /// The governor with other constants, e.g. ``MemoryGovernor/Policy/largeCache``: the law before
    /// the modest default (up to 1 GiB, grown whenever memory allows).
    case governed(MemoryGovernor.Policy)
    /// No cache: every operation goes to LMDB.
    case disabled
}

/// The inputs of one governor tick. Every value in bytes; `time` in seconds on any monotonic clock.
public struct MemorySample: Sendable, Hashable {
    /// L: the memory the process may use.
    public var limit: Int
    /// A: anonymous resident memory.
    public var residentAnonymous: Int
    /// C: bytes the cache holds (read cache and write buffer).
    public var cacheBytes: Int
    /// R: free memory the allocator holds (`mallinfo2().fordblks`), when sampled this tick.
    public var allocatorFree: Int?
    /// When the sample was taken.
    public var time: Double
    /// D: the bytes the store's data takes in its file (LMDB's pages in use), when known.
    public var dataBytes: Int?

    public init(limit: Int, residentAnonymous: Int, cacheBytes: Int, allocatorFree: Int?, time: Double, dataBytes: Int? = nil) {
        self.limit = limit
        self.residentAnonymous = residentAnonymous
        self.cacheBytes = cacheBytes
        self.allocatorFree = allocatorFree
        self.time = time
        self.dataBytes = dataBytes
    }
}

/// The control law that sizes a store's cache and gives freed memory back (docs/memory.md explains it).
///
/// With L the limit, A anonymous RSS, C the cache's bytes and T = `targetFraction` · L:
/// the budget is B = clamp(T − (A − C), `minimumBudget`, `maximumBudget`), cut at once when it falls and
/// grown by at most `growthPerTick` of itself when it rises. When the allocator holds much free memory R
/// (at least `trimThreshold`), the store trims (`malloc_trim`) before it evicts more, at most every
/// `trimInterval` seconds; trims that give back little double that interval, up to `maximumTrimInterval`.
///
/// The governor only decides; the ``Store`` samples, trims and evicts. Not `Sendable`: it belongs to its store.
public struct MemoryGovernor: Sendable {
    /// The law's constants.
    public struct Policy: Sendable, Hashable {
        /// T as a fraction of the limit. Default 0.6 (Dask spills at 0.6 of its limit).
        public var targetFraction = 0.6
        /// The smallest budget. Default 4 MiB.
        public var minimumBudget = 4 << 20
        /// The largest budget. Default 512 MiB.
        public var maximumBudget = 512 << 20
        /// The budget's ceiling as a fraction of the store's data (D, the pages its file uses), at
        /// least `startingBudget`. Default 0.25: a cache in front of a disk structure must not hold
        /// more heap than the in-heap structure it replaces would (which takes about what the data
        /// takes on disk, or more), however much memory the machine has. `.infinity` turns it off.
        public var dataFraction = 0.25
        /// How much the budget may grow per tick, as a fraction of itself (at least 1 MiB). Default 1:
        /// at most doubling each tick (about a second), against a cut that is immediate.
        public var growthPerTick = 1.0
        /// The budget a store starts with: the law's budget, but no more than this. Default 16 MiB.
        public var startingBudget = 16 << 20
        /// Grow only while growth pays: when at least `paysFraction` of the tick's lookups were
        /// misses on keys the cache had recently evicted (its ghost list), which a larger cache would
        /// have answered. A search's visited set misses on new states, which no cache answers, so it
        /// stays small. Default true.
        public var growsOnlyWhenItPays = true
        /// See `growsOnlyWhenItPays`. Default 0.01.
        public var paysFraction = 0.01
        /// Trim when the allocator holds at least this much free memory. Default 32 MiB.
        public var trimThreshold = 32 << 20
        /// The shortest time between trims, in seconds. Default 2.
        public var trimInterval = 2.0
        /// The longest time between trims after unproductive ones, in seconds. Default 64.
        public var maximumTrimInterval = 64.0
        /// A trim that gives back less than this many bytes was unproductive. Default 1 MiB.
        public var productiveTrim = 1 << 20

        public init() {}

        /// The law before the modest default: target 0.6 of the limit, start at 256 MiB, grow whenever
        /// memory allows, up to 1 GiB. For programs whose working set is read again and again.
        public static var largeCache: Policy {
            var p = Policy()
            p.maximumBudget = 1 << 30
            p.startingBudget = 256 << 20
            p.dataFraction = .infinity
            p.growsOnlyWhenItPays = false
            return p
        }
    }

    /// What a tick decided.
    public struct Decision: Sendable, Hashable {
        /// The new budget.
        public var budget: Int
        /// Whether to give free memory back first.
        public var trim: Bool
    }

    public var policy: Policy
    /// The current budget in bytes.
    public private(set) var budget: Int
    /// The current pause between trims (grows while trims do not pay).
    public private(set) var currentTrimInterval: Double
    private var lastTrim = -Double.infinity

    public init(policy: Policy = Policy(), initialBudget: Int? = nil) {
        self.policy = policy
        self.budget = initialBudget ?? policy.minimumBudget
        self.currentTrimInterval = policy.trimInterval
    }

    /// The budget the law asks for, before the slow-growth rule.
    public func desiredBudget(_ s: MemorySample) -> Int {
        let target = Int(policy.targetFraction * Double(s.limit))
        let others = max(0, s.residentAnonymous - s.cacheBytes)
        return min(max(target - others, policy.minimumBudget), ceiling(s))
    }

    /// The most the budget may be for this sample: `maximumBudget`, and `dataFraction` of the data
    /// (at least `startingBudget`).
    public func ceiling(_ s: MemorySample) -> Int {
        guard let data = s.dataBytes, policy.dataFraction.isFinite else { return policy.maximumBudget }
        let share = Int(min(Double(policy.maximumBudget), policy.dataFraction * Double(data)))
        return min(policy.maximumBudget, max(policy.startingBudget, share))
    }

    /// One tick: whether to trim first, and the new budget (cut at once, grown slowly). A store asks
    /// ``wantsTrim(_:)`` first, trims, and then calls ``updateBudget(_:)`` once with the sample taken after
    /// the trim, so the budget grows at most once a tick.
    public mutating func tick(_ s: MemorySample) -> Decision {
        let trim = wantsTrim(s)
        return Decision(budget: updateBudget(s), trim: trim)
    }

    /// Whether the allocator holds enough free memory to trim now, and the interval allows it; a `true`
    /// answer counts as a trim for the interval.
    public mutating func wantsTrim(_ s: MemorySample) -> Bool {
        let free = s.allocatorFree ?? 0
        let trim = free >= policy.trimThreshold && s.time - lastTrim >= currentTrimInterval
        if trim { lastTrim = s.time }
        return trim
    }

    /// Moves the budget toward the law's: down at once, up by at most `growthPerTick` of itself, and
    /// (with `growsOnlyWhenItPays`) up only when `growthPays`.
    @discardableResult
    public mutating func updateBudget(_ s: MemorySample, growthPays: Bool = true) -> Int {
        let desired = desiredBudget(s)
        if desired <= budget {
            budget = desired
        } else if policy.growsOnlyWhenItPays && !growthPays {
            // Hold: more bytes would not turn misses into hits.
        } else {
            budget = min(desired, budget + max(1 << 20, Int(Double(budget) * policy.growthPerTick)))
        }
        return budget
    }

    /// Records what a trim gave back: trims that pay keep the short interval, others double it.
    public mutating func recordTrim(returned: Int) {
        if returned >= policy.productiveTrim {
            currentTrimInterval = policy.trimInterval
        } else {
            currentTrimInterval = min(currentTrimInterval * 2, policy.maximumTrimInterval)
        }
    }

    /// Fixes the budget (for ``CacheBudget/bytes(_:)``).
    public mutating func fix(budget: Int) { self.budget = budget }
}
