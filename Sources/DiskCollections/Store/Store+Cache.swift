import LMDB

// The cache's observability and the governor's entry point. The point path is in Store+Points.swift.

extension Store {
    // MARK: Observability

    /// The cache's and the memory governor's counters, and the process's memory at the last tick.
    /// All zero but the memory figures when the cache is disabled.
    public var statistics: StoreStatistics {
        var out: StoreStatistics
        // Inside a read's closure the lock is not waited for (StoreLock.withLockIfFree): if another
        // thread holds it, the cache's counters are left out.
        let fromCache: StoreStatistics?? = cache.map { cache in
            let copy = {
                var s = cache.statistics
                s.cacheBytes = cache.bytes
                s.bufferedBytes = cache.bufferedBytes
                s.evictions = cache.reads.evictions
                s.hits += cache.reads.hits
                s.misses += cache.reads.misses
                return s
            }
            return environment.callerIsInTransaction ? lock.withLockIfFree(copy) : lock.withLockOutsideTransactions(copy)
        }
        if let cached = fromCache, let cached {
            out = cached
        } else {
            let s = AllocatorStatistics.sample()
            out = StoreStatistics()
            out.heapInUse = s.heapInUse
            out.allocatorFree = s.allocatorFree
            out.residentAnonymous = s.residentAnonymous
            out.residentFile = s.residentFile
        }
        out.file = try? fileStatistics()
        return out
    }

    /// The file's facts for ``StoreStatistics/file``: the reader table, and a walk of the free list.
    func fileStatistics() throws -> FileStatistics {
        var f = FileStatistics()
        let info = try environment.info()
        f.lastPage = info.lastPage
        f.lastTransaction = info.lastTransaction
        let readers = try environment.readers()
        let holding = readers.compactMap(\.transaction)
        f.readers = holding.count
        f.oldestSnapshot = holding.min()
        f.staleReaders = readers.filter(\.isStale).count
        (f.freePages, f.pinnedPages, f.pageSize) = try environment.read { txn in
            let (free, pinned) = try txn.freePages(pinnedFrom: f.oldestSnapshot)
            return (free, pinned, try txn.statistics(txn.openDatabase(nil)!).pageSize)
        }
        f.bytes = (try? DataFile.meta(in: path))??.fileSize ?? 0
        return f
    }

    /// Runs one memory-governor tick now: samples memory, resizes the cache, gives free memory back to
    /// the system when the allocator holds much of it, evicts down to the budget. Operations run ticks
    /// on their own about once a second while busy; call this from idle points (between search levels).
    public func tickMemoryGovernor() throws {
        guard let cache, currentTransaction == nil else { return }
        try lock.withLock { try cache.tick(self, force: true) }
    }
}

