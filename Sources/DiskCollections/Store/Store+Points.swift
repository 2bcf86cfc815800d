import LMDB

// The point path: every single-key operation of the collections (get, contains, put, insert if
// absent, replace or remove returning the old value) comes here, and only here is it decided where it
// runs:
//
// - inside an explicit `store.write { }`: in its transaction, and the key leaves the read cache so the
//   cache never answers with a value older than the transaction's;
// - inside `store.read { }`: reads in its snapshot; a change throws `writeInsideRead`;
// - otherwise, with a cache: the write buffer and the read cache answer, a miss reads LMDB in a kept
//   snapshot (`Environment.readRecent`), and changes are buffered;
// - otherwise (cache disabled): a transaction of its own, which commits this collection's buffered
//   writes first (there are none without a cache).
//
// Collections never branch on the cache themselves.

extension Store {
    /// Passes the bytes of `key`'s value, or `nil` when it is absent, to `body`. Not generic, so the
    /// cache's work is compiled once; `body` does the typed decoding, outside the store's lock.
    @usableFromInline
    func pointRead(_ database: Database, _ key: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try checkCurrent(database)
        if let txn = currentTransaction { try checkCancelled(txn); return try Self.get(txn, database, key, body) }
        if let fast = try fastCachedBytes(database, key) {
            guard let bytes = fast else { return try body(nil) }
            return try bytes.withUnsafeBytes { try body($0) }
        }
        if let answer = try withCacheLocked({ cache in try lockedBytes(cache, database, key) }) {
            guard let bytes = answer else { return try body(nil) }
            return try bytes.withUnsafeBytes { try body($0) }
        }
        try environment.read { txn in try Self.get(txn, database, key, body) }
    }

    /// Whether `key` is present.
    @usableFromInline
    func pointContains(_ database: Database, _ key: UnsafeRawBufferPointer) throws -> Bool {
        try checkCurrent(database)
        if let txn = currentTransaction { try checkCancelled(txn); return try txn.contains(database, key: key) }
        if let fast = try fastCachedBytes(database, key) { return fast != nil }
        if let present = try withCacheLocked({ cache in try lockedBytes(cache, database, key) != nil }) { return present }
        return try environment.read { txn in try txn.contains(database, key: key) }
    }

    /// The number of elements of the set in `database`: from its complete presence table when it
    /// has one (every buffered insert and delete is in it), else from LMDB after its buffered changes.
    func setCount(_ database: Database) throws -> Int {
        try checkCurrent(database)
        if currentTransaction == nil, let cache {
            let count: Int? = try lock.withLock {
                revalidate(cache)
                guard let table = cache.presenceTable(database.handleID), table.isComplete,
                      cache.trustsAbsence(table, environment) else { return nil }
                return table.count
            }
            if let count { return count }
        }
        return try withRead(database) { txn in try txn.count(database) }
    }

    /// Stores `value` under `key` (`nil` deletes it).
    @usableFromInline
    func pointWrite(_ database: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) throws {
        try checkCurrent(database)
        if let txn = try explicitWrite(database) { return try change(txn, database, key, value) }
        if try withCacheLocked({ cache in try bufferedWrite(cache, database, key, value) }) != nil { return }
        try write(flushing: database) { txn in try change(txn, database, key, value) }
    }

    /// Stores `value` under `key` if the key is absent; returns whether it did.
    @usableFromInline
    func pointInsert(_ database: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer) throws -> Bool {
        try checkCurrent(database)
        if let txn = try explicitWrite(database) { return try txn.put(database, key: key, value: value, flags: .noOverwrite) }
        if let inserted = try withCacheLocked({ cache in
            revalidate(cache)
            if let table = cache.presenceTable(database.handleID, key) {
                guard try !isPresent(cache, table, database, key) else { return false }
                try bufferedWrite(cache, database, key, value)  // which adds the key to the table
                return true
            }
            // An absent answer is not kept in the read cache: the write that follows buffers the key.
            guard try cachedBytes(cache, database, key, rememberAbsence: false) == nil else { return false }
            try bufferedWrite(cache, database, key, value)
            return true
        }) { return inserted }
        return try write(flushing: database) { txn in try txn.put(database, key: key, value: value, flags: .noOverwrite) }
    }

    /// Passes `key`'s current value (or `nil`) to `old`, then stores `value` under it (`nil` deletes,
    /// and only a present key is deleted). If `old` throws, nothing is changed. Outside a transaction,
    /// the read and the write are one step under the store's lock: no other thread's change comes between.
    @usableFromInline
    func pointReplace(_ database: Database, _ key: UnsafeRawBufferPointer, with value: UnsafeRawBufferPointer?,
                      old: (UnsafeRawBufferPointer?) throws -> Void) throws {
        try checkCurrent(database)
        func replace(_ txn: Transaction) throws {
            var present = false
            try Self.get(txn, database, key) { bytes in present = bytes != nil; try old(bytes) }
            if value != nil || present { try change(txn, database, key, value) }
        }
        if let txn = try explicitWrite(database) { return try replace(txn) }
        if try withCacheLocked({ cache in
            revalidate(cache)
            if let table = cache.presenceTable(database.handleID, key) {  // a set: its values are empty
                let present = try isPresent(cache, table, database, key)
                try old(present ? UnsafeRawBufferPointer(start: nil, count: 0) : nil)
                if value != nil || present { try bufferedWrite(cache, database, key, value) }
                return
            }
            let current = try cachedBytes(cache, database, key)
            if let current { try current.withUnsafeBytes { try old($0) } } else { try old(nil) }
            if value != nil || current != nil { try bufferedWrite(cache, database, key, value) }
        }) != nil { return }
        try write(flushing: database) { txn in try replace(txn) }
    }

    /// Puts through `cursor` (a bulk write inside a transaction of `database`), keeping the read cache
    /// coherent.
    @usableFromInline
    func cursorPut(_ cursor: Cursor, _ database: Database, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer,
                   flags: PutFlags = []) throws -> Bool {
        forgetCached(database, key)
        return try cursor.put(key: key, value: value, flags: flags)
    }

    /// Removes every entry of the collection in `database`, and what the cache holds of it.
    @usableFromInline
    func clear(_ database: Database) throws {
        try withWrite(database) { txn in
            try txn.clear(database)
            // Inside the write, which holds the store's lock: no miss can bring an old entry back.
            cache?.forget(database: database.handleID)
        }
    }

    /// Commits the write buffer's changes of `database` only (before a transaction that uses it).
    /// Under `lock`.
    @usableFromInline
    func flushPending(of database: Database) throws {
        if let cache { try cache.flush(environment, only: database.handleID) }
    }

    // MARK: The pieces

    /// `key`'s bytes as the cache knows them (a set's presence table, the write buffer, the read
    /// cache, else LMDB), after revalidating it. A set's present key has empty bytes. Under `lock`.
    private func lockedBytes(_ cache: StoreCache, _ database: Database, _ key: UnsafeRawBufferPointer) throws -> CachedBytes? {
        revalidate(cache)
        if let table = cache.presenceTable(database.handleID, key) {  // a set: its values are empty
            return try isPresent(cache, table, database, key) ? CachedBytes.empty : nil
        }
        return try cachedBytes(cache, database, key)
    }

    /// `body`'s result with the cache under the store's lock, or `nil` without a cache. The cache is
    /// reached unretained (see ``fastCachedBytes(_:_:)``): a search calls this for every state.
    @inline(__always)
    private func withCacheLocked<R>(_ body: (StoreCache) throws -> R) throws -> R? {
        guard let reference = cacheReference else { return nil }
        return try reference._withUnsafeGuaranteedRef { cache in try lock.withLock { try body(cache) } }
    }

    /// Drops what the cache holds if another process committed since it was filled (see
    /// ``StoreCache/revalidate(_:)``), and the queues' read-ahead with it. Under `lock`.
    @inline(__always)
    func revalidate(_ cache: StoreCache) {
        guard _slowPath(cache.revalidate(environment)) else { return }
        for (id, q) in queueBuffers where !q.hasChanges { dropQueueBuffer(id) }
    }

    /// The current explicit write transaction, or `nil` outside one; throws inside a read.
    @inline(__always)
    private func explicitWrite(_ database: Database) throws -> Transaction? {
        guard let txn = currentTransaction else { return nil }
        if txn.isReadOnly { throw DiskCollectionsError.writeInsideRead }
        try checkCancelled(txn)
        return txn
    }

    @inline(__always)
    private static func get(_ txn: Transaction, _ database: Database, _ key: UnsafeRawBufferPointer,
                            _ body: (UnsafeRawBufferPointer?) throws -> Void) throws {
        var found = false
        try txn.get(database, key: key) { v in found = true; try body(v) }
        if !found { try body(nil) }
    }

    /// A put or a delete in `txn`, after which the read cache forgets the key.
    @inline(__always)
    private func change(_ txn: Transaction, _ database: Database, _ key: UnsafeRawBufferPointer,
                               _ value: UnsafeRawBufferPointer?) throws {
        if let value { try txn.put(database, key: key, value: value) } else { try txn.delete(database, key: key) }
        forgetCached(database, key)
    }

    /// Runs `body`, a commit of changes the presence tables already know of, telling the cache. Under `lock`.
    func ownCommit<R>(_ body: () throws -> R) rethrows -> R {
        guard let cache else { return try body() }
        return try cache.ownCommits(environment, body)
    }

    /// Forgets what the cache holds of `key`, changed in the calling thread's write transaction (which
    /// holds the store's lock).
    @inline(__always)
    func forgetCached(_ database: Database, _ key: UnsafeRawBufferPointer) {
        guard let cache else { return }
        if let table = cache.presenceTable(database.handleID, key) {
            // A change in a transaction (which may still abort) bypasses the table.
            table.remove(table.word(key))
            table.isComplete = false
        }
        cache.reads.remove(CacheKey(database: database.handleID, bytes: CachedBytes(key)))
    }

    /// Buffers a put or delete; flushes when the buffer is over its share. Under `lock`.
    private func bufferedWrite(_ cache: StoreCache, _ database: Database, _ key: UnsafeRawBufferPointer,
                               _ value: UnsafeRawBufferPointer?) throws {
        guard !environment.options.readOnly else { throw DiskCollectionsError.readOnlyStore(path: path) }
        if let value, value.count > WriteBuffer.largestBufferedValue {
            // A large value would crowd the buffer out: write it now, after what is buffered.
            try flushBuffers()
            try cache.changing {
                try ownCommit { try environment.write { txn in _ = try txn.put(database, key: key, value: value) } }
                forgetCached(database, key)
            }
            return
        }
        cache.buffer(database.handleID, key, value)
        try cache.countOperation(self)
        if cache.needsFlush { try flushBuffers() }
    }

    /// The buffered, cached or stored bytes of `key`. A miss reads LMDB in the kept snapshot (which any
    /// commit of this store ends first) with the store's lock released, and is remembered in the read
    /// cache unless the cache's epoch moved meanwhile. Under `lock`.
    private func cachedBytes(_ cache: StoreCache, _ database: Database, _ key: UnsafeRawBufferPointer,
                             rememberAbsence: Bool = true) throws -> CachedBytes? {
        let cacheKey = CacheKey(database: database.handleID, bytes: CachedBytes(key))
        try cache.countOperation(self)
        if let answer = cache.lookup(database.handleID, key, cacheKey) { return answer }
        let epoch = cache.epoch
        let value = try lock.withoutLock {
            try environment.readRecent { txn in try txn.get(database, key: key) { CachedBytes($0) } }
        }
        if value != nil || rememberAbsence { cache.reads.store(cacheKey, value) { cache.epoch == epoch } }
        return value
    }

    /// A read of a map (or a set without a presence table) from the read cache's shards alone,
    /// without the store's lock, so that threads reading at once do not wait for each other. `nil`
    /// when it cannot answer so: something is buffered or being written (``StoreCache/unsettled``),
    /// another process committed since the cache was last revalidated, or the database keeps a
    /// presence table; the caller then takes the store's lock. Else the answer (`.some(nil)`:
    /// absent). A miss reads LMDB in the thread's kept snapshot and remembers the answer unless the
    /// epoch moved meanwhile.
    ///
    /// Why it is never stale: a change moves the epoch after making ``StoreCache/unsettled`` nonzero
    /// and before it touches the cache; this read loads the epoch before it checks `unsettled`, and
    /// checks the epoch again under the shard's lock as it stores a miss's answer.
    @inline(__always)
    private func fastCachedBytes(_ database: Database, _ key: UnsafeRawBufferPointer) throws -> CachedBytes?? {
        // Unretained: a retain would write the cache's reference count, shared by every thread.
        guard let reference = cacheReference else { return nil }
        return try reference._withUnsafeGuaranteedRef { cache -> CachedBytes?? in
            let epoch = cache.epoch
            // A clear "may hold entries" flag is set only under the store's lock (ReadShards).
            guard cache.reads.mayHoldEntries, cache.unsettled.load(ordering: .acquiring) == 0, !cache.mayKeepPresence(database.handleID),
                  environment.externalCommits() == cache.externalSeen else { return nil }
            let cacheKey = CacheKey(database: database.handleID, bytes: CachedBytes(key))
            let tag = OpenTable.tag(cacheKey)
            let (answer, tickDue) = ReadShards.withShard(cache.shardBase, tag) { $0.lookup(cacheKey, tag: tag) }
            if _slowPath(tickDue) { try lock.withLock { try cache.tickIfDue(self) } }
            if let answer { return answer }
            let value = try environment.readRecent { txn in try txn.get(database, key: key) { CachedBytes($0) } }
            cache.reads.store(cacheKey, value) { cache.epoch == epoch }
            return .some(value)
        }
    }

    /// Whether `key` is in the set of `database`, whose presence table is `table`: the table (which,
    /// while complete, answers "absent" too), then the write buffer, then LMDB in the kept snapshot
    /// (with the store's lock released). A present key is added to the table unless the cache's epoch
    /// moved meanwhile; an absent one is not remembered (a search asks about a new state once, then
    /// inserts it). Under `lock`.
    @inline(__always)
    private func isPresent(_ cache: StoreCache, _ table: PresenceTable, _ database: Database, _ key: UnsafeRawBufferPointer) throws -> Bool {
        try cache.countOperation(self)
        let word = table.word(key)
        if table.contains(word) { cache.statistics.hits += 1; return true }
        // A complete table holds the buffered inserts and not the buffered deletes: its "absent" is
        // the set's.
        if table.isComplete, cache.trustsAbsence(table, environment) { cache.statistics.hits += 1; return false }
        if !cache.pending.isEmpty, let buffered = cache.pending.lookup(database.handleID, key) {
            cache.statistics.hits += 1
            if buffered != nil { table.insert(word) }
            return buffered != nil
        }
        cache.statistics.misses += 1
        let epoch = cache.epoch
        let present = try lock.withoutLock { try environment.readRecent { txn in try txn.contains(database, key: key) } }
        if present, cache.epoch == epoch {
            if table.isFull(word) { cache.presenceMisses += 1 }
            table.insert(word)
        }
        return present
    }
}
