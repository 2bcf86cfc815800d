import LMDB

// The cached paths of point operations. Collections take them outside an explicit `read { }` /
// `write { }`, when the store has a cache; inside a transaction they go straight to LMDB, and writes
// there drop the key from the cache so it never answers with a stale value.

extension Store {
    /// Whether point operations go through the cache now.
    @inlinable
    var usesCache: Bool { cache != nil && currentWrite == nil && currentRead == nil }

    /// The value of `key`, decoded, through the cache.
    @inlinable
    func cachedValue<V: DiskValue>(_ database: Database, _ key: UnsafeRawBufferPointer, _ collection: String) throws -> V? {
        var value: V?
        try cachedRead(database, key) { bytes in
            if let bytes { value = try decoding(collection) { try V(diskValueBytes: bytes) } }
        }
        return value
    }

    /// Passes the bytes of `key`'s value (or `nil`), from the buffer, the cache or LMDB, to `body`.
    /// Not generic, so the cache's work is compiled once; `body` does the typed decoding.
    @usableFromInline
    func cachedRead(_ database: Database, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        guard let bytes = try cachedBytes(database, key) else { return try body(nil) }
        try bytes.withUnsafeBytes { try body($0) }
    }

    /// Whether `key` is present, through the cache.
    @usableFromInline
    func cachedContains(_ database: Database, _ key: UnsafeRawBufferPointer) throws -> Bool {
        try cachedBytes(database, key) != nil
    }

    /// ``cachedContains(_:_:)`` before a write of `key`: an absent answer is not kept in the read
    /// cache, since the write that follows buffers the key (and would evict the answer at once).
    @usableFromInline
    func cachedContainsBeforeWrite(_ database: Database, _ key: UnsafeRawBufferPointer) throws -> Bool {
        try cachedBytes(database, key, rememberAbsence: false) != nil
    }

    /// Buffers `value` (or a delete, for `nil`) for `key`; flushes when the buffer is over its share.
    @usableFromInline
    func cachedWrite(_ database: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) throws {
        guard let cache else { return }
        try checkCurrent(database)
        guard !environment.options.readOnly else {
            throw DiskCollectionsError.readOnlyStore(path: path)
        }
        if let value, value.count > WriteBuffer.largestBufferedValue {
            // A large value would crowd the buffer out: write it now, after what is buffered.
            try flushBuffers()
            try environment.write { txn in _ = try txn.put(database, key: key, value: value) }
            invalidate(database, key)
            return
        }
        cache.buffer(database.handleID, key, value)
        try cache.countOperation(self)
        if cache.needsFlush { try flushBuffers() }
    }

    /// Forgets `key` in the cache after a write that went straight to LMDB.
    @usableFromInline
    func invalidate(_ database: Database, _ key: UnsafeRawBufferPointer) {
        cache?.reads.remove(CacheKey(database: database.handleID, bytes: CachedBytes(key)))
    }

    /// Commits the write buffer's changes of `database` only (before a transaction that uses it).
    @usableFromInline
    func flushPending(of database: Database) throws {
        if let cache { try cache.flush(environment, only: database.handleID) }
    }

    /// Forgets everything cached for `database` (after `removeAll`).
    @usableFromInline
    func invalidate(_ database: Database) { cache?.forget(database: database.handleID) }

    private func cachedBytes(_ database: Database, _ key: UnsafeRawBufferPointer, rememberAbsence: Bool = true) throws -> CachedBytes? {
        try checkCurrent(database)
        guard let cache else { return try environment.read { txn in try txn.get(database, key: key) { CachedBytes($0) } } }
        let cacheKey = CacheKey(database: database.handleID, bytes: CachedBytes(key))
        try cache.countOperation(self)
        if let answer = cache.lookup(database.handleID, key, cacheKey) { return answer }
        let value = try environment.read { txn in try txn.get(database, key: key) { CachedBytes($0) } }
        if value != nil || rememberAbsence { cache.reads.store(cacheKey, value) }
        return value
    }

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
        s.bufferedBytes = cache.pending.bytes
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

