import LMDB

// The cache's observability and the governor's entry point. The point path is in Store+Points.swift.

extension Store {
    // MARK: Observability

    /// The cache's and the memory governor's counters, and the process's memory at the last tick.
    /// All zero but the memory figures when the cache is disabled.
    public var statistics: StoreStatistics {
        guard let cache else {
            let s = AllocatorStatistics.sample()
            var out = StoreStatistics()
            out.heapInUse = s.heapInUse
            out.allocatorFree = s.allocatorFree
            out.residentAnonymous = s.residentAnonymous
            out.residentFile = s.residentFile
            return out
        }
        var s = cache.statistics
        s.cacheBytes = cache.bytes
        s.bufferedBytes = cache.bufferedBytes
        s.evictions = cache.reads.evictions
        return s
    }

    /// Runs one memory-governor tick now: samples memory, resizes the cache, gives free memory back to
    /// the system when the allocator holds much of it, evicts down to the budget. Operations run ticks
    /// on their own about once a second while busy; call this from idle points (between search levels).
    public func tickMemoryGovernor() throws {
        guard let cache, currentWrite == nil, currentRead == nil else { return }
        try cache.tick(self, force: true)
    }
}

