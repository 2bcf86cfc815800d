import Foundation
import LMDB
import Logging
import Synchronization

/// Counters and gauges of a store's cache and memory, as ``Store/statistics`` reports them.
public struct StoreStatistics: Sendable, Hashable, Codable {
    /// Point reads answered by the cache (including buffered writes).
    public var hits = 0
    /// Point reads that went to LMDB.
    public var misses = 0
    /// Entries the read cache evicted.
    public var evictions = 0
    /// Flushes of the write buffer.
    public var flushes = 0
    /// Write transactions the flushes committed (a flush takes several when its dirty pages would
    /// pass the limit; each queue with changes takes one).
    public var flushTransactions = 0
    /// Entries written by flushes.
    public var entriesFlushed = 0
    /// Key and value bytes written by flushes.
    public var bytesFlushed = 0
    /// The cache's budget in bytes.
    public var budget = 0
    /// Bytes the read cache and the write buffer hold now.
    public var cacheBytes = 0
    /// Heap bytes the write buffer holds (its records, index and flush-sort reserve).
    public var bufferedBytes = 0
    /// Heap bytes in use (`mallinfo2`), at the last governor tick that sampled it.
    public var heapInUse: Int?
    /// Free bytes the allocator holds (`mallinfo2().fordblks`), at the last tick that sampled it.
    public var allocatorFree: Int?
    /// Anonymous resident bytes (RssAnon) at the last tick.
    public var residentAnonymous: Int?
    /// File-backed resident bytes (RssFile, LMDB's pages among them) at the last tick.
    public var residentFile: Int?
    /// The memory limit the governor works to, and where it came from.
    public var memoryLimit: Int?
    public var memoryLimitSource: String?
    /// `malloc_trim` calls the governor made, and the resident bytes they gave back.
    public var trims = 0
    public var bytesTrimmed = 0
    /// Governor ticks.
    public var ticks = 0
    /// How many times the cache dropped its contents because another process had committed.
    public var revalidations = 0
    /// The store's file and the snapshots readers hold in it, when ``Store/statistics`` was read.
    public var file: FileStatistics?
}

/// A store's file: its size, free pages, and what readers' snapshots cost it.
///
/// A snapshot (a read transaction, in any process) keeps every page it sees: pages that later writes
/// free cannot be reused while it lasts, so the file grows instead. A long-lived snapshot shows as a
/// growing ``snapshotLag`` and ``pinnedPages``.
public struct FileStatistics: Sendable, Hashable, Codable {
    /// The data file's size in bytes.
    public var bytes = 0
    public var pageSize = 0
    /// The last page in use (the file holds at least `lastPage + 1` pages).
    public var lastPage = 0
    /// The id of the last committed transaction.
    public var lastTransaction = 0
    /// Pages on the free list, for later writes to reuse.
    public var freePages = 0
    /// Free pages that cannot be reused yet: freed at or after the oldest snapshot a reader holds.
    public var pinnedPages = 0
    /// Reader slots holding a snapshot, in every process (this one's included: the store keeps a
    /// snapshot between cache misses until ``Store/flush()``).
    public var readers = 0
    /// The transaction id of the oldest snapshot a reader holds, if any.
    public var oldestSnapshot: Int?
    /// Reader slots of processes that are gone (their snapshot pins pages until a writer opens the store).
    public var staleReaders = 0

    /// How many transactions the oldest snapshot is behind, if a reader holds one.
    public var snapshotLag: Int? { oldestSnapshot.map { lastTransaction - $0 } }
}

/// One store's cache: a read cache of point lookups, a write-back buffer, and the memory governor
/// that sizes them. Used only for operations outside an explicit `store.read { }` / `store.write { }`.
@usableFromInline
final class StoreCache {
    /// The read cache, in shards with locks of their own (``ReadShards``).
    let reads: ReadShards
    /// ``ReadShards/base``: the shards, reached without a retain.
    let shardBase: UnsafeMutablePointer<Unmanaged<ReadShard>>
    /// Pending writes and deletes.
    let pending = WriteBuffer()
    /// Per database handle, the presence table of a set of fixed-width keys (``PresenceTable``); such
    /// a set's keys bypass the read cache.
    @exclusivity(unchecked) private(set) var presence: [PresenceTable?] = []
    /// Misses on keys present in a set whose presence table was full: lookups a bigger table would
    /// have answered (with the read cache's ghost hits, the governor's sign that growth pays).
    @exclusivity(unchecked) var presenceMisses = 0
    /// Heap bytes the store's queues hold in appends not yet written (``QueueBuffer``), kept up to
    /// date by the store; they count with the write buffer.
    var queueBytes = 0
    /// The buffered bytes before recent flushes, decaying by an eighth a governor tick.
    private(set) var pendingReserve = 0
    /// Bytes of dirty-page buffers LMDB keeps after flush transactions (see ``flush(_:)``), estimated.
    var lmdbPagePool = 0
    @exclusivity(unchecked) var statistics = StoreStatistics()
    @exclusivity(unchecked) var governor: MemoryGovernor
    let mode: CacheBudget
    let limit: MemoryLimit
    let logger = Logger(label: "DiskCollections.memory")
    @exclusivity(unchecked) var operations = 0
    @exclusivity(unchecked) var lastTick = 0.0
    var lastAllocatorSample = -Double.infinity
    /// Moves whenever the cache's contents may have changed in a way a cache miss reading LMDB with the
    /// store's lock released cannot see (a buffered write, a flush, a write transaction, a collection
    /// forgotten, another process's commit): a miss remembers its answer only if the epoch did not
    /// move while it read.
    ///
    /// Moved before the change touches the read cache (and after a commit): a miss checks it under its
    /// shard's lock as it stores its answer, so it either sees the epoch moved or its answer is
    /// forgotten by the change.
    @usableFromInline let epochCounter = Atomic<Int>(0)
    @usableFromInline var epoch: Int { epochCounter.load(ordering: .acquiring) }
    /// Moves the epoch. A load and a release store, not an atomic add: moves happen under the
    /// store's lock, and two racing moves would still move it (the checks compare for equality).
    @usableFromInline func moveEpoch() {
        epochCounter.store(epochCounter.load(ordering: .relaxed) &+ 1, ordering: .releasing)
    }
    /// Zero while a map's read may skip the store's lock (``Store/fastCachedBytes``): nothing is in
    /// the write buffer and no write of this store is in progress. Changed under the store's lock:
    /// made nonzero before the epoch moves for a change, zero again after the last move.
    let unsettled = Atomic<Int>(0)
    /// Write transactions and direct commits in progress (``changing(_:)``). Under the store's lock.
    private var changes = 0
    /// Database handles whose sets keep a presence table, one bit each (reads of them take the
    /// store's lock); handles past the words' end are taken to have one.
    private let presenceBits: UnsafeMutablePointer<Atomic<UInt64>>
    private let presenceWords = 4
    /// The environment's count of other processes' commits (``Environment/externalCommits()``) the
    /// cache's contents were read under.
    private let externalSeenCounter = Atomic<Int>(-1)
    var externalSeen: Int { externalSeenCounter.load(ordering: .acquiring) }

    init(mode: CacheBudget) {
        self.mode = mode
        switch mode {
        case .memoryLimit(let cap): limit = MemoryLimit.current(userCap: cap)
        default: limit = MemoryLimit.current()
        }
        var governor = MemoryGovernor()
        if case .governed(let policy) = mode { governor = MemoryGovernor(policy: policy) }
        if case .bytes(let b) = mode {
            governor.fix(budget: b)
        } else {
            // Start from the law's budget for the memory as it is now, capped: growth is gradual.
            let sample = MemorySample(limit: limit.bytes, residentAnonymous: AllocatorStatistics.residentAnonymousFast() ?? 0,
                                      cacheBytes: 0, allocatorFree: nil, time: 0)
            governor.fix(budget: min(governor.desiredBudget(sample), governor.policy.startingBudget))
        }
        self.governor = governor
        reads = ReadShards(capacity: governor.budget)
        shardBase = reads.base
        presenceBits = .allocate(capacity: presenceWords)
        for i in 0..<presenceWords { (presenceBits + i).initialize(to: Atomic<UInt64>(0)) }
        statistics.budget = governor.budget
        statistics.memoryLimit = limit.bytes
        statistics.memoryLimitSource = limit.source
        lastTick = Self.now()
    }

    deinit {
        presenceBits.deinitialize(count: presenceWords)
        presenceBits.deallocate()
    }

    /// Whether the set in `database` may keep a presence table. Without the store's lock.
    @inline(__always)
    func mayKeepPresence(_ database: UInt32) -> Bool {
        let word = Int(database >> 6)
        guard word < presenceWords else { return true }
        return presenceBits[word].load(ordering: .acquiring) & (1 << UInt64(database & 63)) != 0
    }

    /// Sets ``unsettled`` from the write buffer and the changes in progress. Under the store's lock,
    /// after the epoch's last move for a change.
    func settle() {
        let value = pending.isEmpty && changes == 0 ? 0 : 1
        if unsettled.load(ordering: .relaxed) != value { unsettled.store(value, ordering: .releasing) }
    }

    /// Makes ``unsettled`` nonzero, before the epoch moves for a change. Under the store's lock.
    @inline(__always)
    func unsettle() {
        if unsettled.load(ordering: .relaxed) == 0 { unsettled.store(1, ordering: .releasing) }
    }

    /// Runs `body`, a change of LMDB that does not go through the write buffer (a write transaction,
    /// a flush, a large value written at once): reads that skip the store's lock wait for it, and
    /// misses that read LMDB meanwhile do not remember what they read. Under the store's lock.
    @usableFromInline @inline(__always)
    func changing<R>(_ body: () throws -> R) rethrows -> R {
        changes += 1
        unsettle()
        moveEpoch()
        defer {
            moveEpoch()
            changes -= 1
            settle()
        }
        return try body()
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    var bytes: Int { reads.bytes + bufferedBytes + presenceBytes }
    /// Bytes of buffered changes: the write buffer's, the queues' pending appends, and 8 bytes for
    /// each dirty key of a presence table (the array its flush sorts them in, in place).
    var bufferedBytes: Int { pending.bytes + queueBytes + dirtyKeys * 8 }
    /// Sets' inserts buffered as dirty keys of their presence tables.
    var dirtyKeys: Int {
        var total = 0
        for case let table? in presence { total += table.dirtyCount }
        return total
    }
    var presenceBytes: Int {
        var total = 0
        for case let table? in presence { total += table.bytes }
        return total
    }
    private var lookupsAtLastTick = 0
    private var ghostHitsAtLastTick = 0

    /// The write buffer's share of the budget (with the queues' pending appends): half, at least
    /// 1 MiB. Buffering more writes pays: a flush of scattered keys rewrites most of the tree's leaves
    /// whatever its size. While a set keeps a presence table, an eighth: a lookup the table misses
    /// costs more than the pages a smaller buffer rewrites (measured on the obvious pocket-cube search
    /// when the set's inserts were still records here: a half for the buffer took 22.4 s with 10.3M
    /// LMDB lookups, an eighth 18.7 s with 5.3M; docs/benchmark-history.md).
    var bufferLimit: Int { max(1 << 20, governor.budget / (presenceTables == 0 ? 2 : 8)) }
    /// How many sets keep a presence table.
    private(set) var presenceTables = 0

    /// What LMDB's dirty pages may take during a flush: half the budget, at most 16 MiB. Without
    /// MDB_WRITEMAP, LMDB mallocs a copy of every page a write transaction dirties and, once the
    /// transaction ends, keeps those buffers on a free list for reuse until the environment closes.
    var dirtyPageLimit: Int { max(1 << 20, min(governor.budget / 2, 16 << 20)) }

    // MARK: Presence tables

    /// Keeps a presence table for the set in `database`, whose keys are `width` bytes (at most 8),
    /// complete from the start if the set was empty in LMDB's transaction `emptyAt` and nothing of it
    /// is buffered.
    func registerPresence(_ database: UInt32, width: Int, emptyAt: Int?) {
        let i = Int(database)
        if presence.count <= i { presence += Array(repeating: nil, count: i + 1 - presence.count) }
        if let table = presence[i], table.width == width { return }
        if presence[i] == nil { presenceTables += 1 }
        if i >> 6 < presenceWords { presenceBits[i >> 6].bitwiseOr(1 << UInt64(i & 63), ordering: .releasing) }
        let table = PresenceTable(width: width, maximumBytes: 0)
        presence[i] = table
        if let emptyAt, pending.count(of: database) == 0 {
            if emptyAt != completeAt { markIncomplete(); completeAt = emptyAt }
            table.isComplete = true
        }
        balance()
    }

    /// The LMDB transaction id at which the complete tables (``PresenceTable/isComplete``) held every
    /// key of their sets: the last commit this store made while they did. A commit by anyone else (an
    /// explicit `store.write { }`, another process) moves LMDB's id past it and may have added keys.
    private var completeAt = -1

    /// Whether `table` may answer "absent": it is complete, and LMDB's last commit is one this cache
    /// accounted for. (`mdb_env_info` reads the lock file's shared memory: no system call.) When the
    /// id moved, no table is complete any more.
    @inline(__always)
    func trustsAbsence(_ table: PresenceTable, _ environment: Environment) -> Bool {
        guard table.isComplete else { return false }
        if let last = try? environment.info().lastTransaction, last == completeAt { return true }
        markIncomplete()
        return false
    }

    private func markIncomplete() {
        for case let table? in presence { table.isComplete = false }
    }

    /// Runs `body`, which commits only changes the tables already know of (the buffer's flush, the
    /// queues', the catalog's): complete tables stay complete across it.
    func ownCommits<R>(_ environment: Environment, _ body: () throws -> R) rethrows -> R {
        guard presence.contains(where: { $0?.isComplete == true }),
              let before = try? environment.info().lastTransaction, before == completeAt else { return try body() }
        defer { if let last = try? environment.info().lastTransaction { completeAt = last } }
        return try body()
    }

    /// Drops what another process's commit may have made stale, before an answer from the cache: the
    /// read cache, the presence tables' clean keys (their buffered inserts stay) and their completeness.
    /// Called by every cached read outside a transaction; without a new commit by another process, it
    /// costs one `mdb_env_info` (no system call).
    /// Returns whether it dropped anything (the store then drops its queues' read-ahead too).
    @inline(__always)
    func revalidate(_ environment: Environment) -> Bool {
        let seen = environment.externalCommits()
        if _fastPath(seen == externalSeen) { return false }
        moveEpoch()
        defer { externalSeenCounter.store(seen, ordering: .releasing) }
        if externalSeen >= 0 {
            reads.removeAll()
            for case let table? in presence {
                table.removeClean()
                table.isComplete = false
            }
            statistics.revalidations += 1
            return true
        }
        return false
    }

    /// Stops keeping a presence table for `database` (its collection was removed).
    func dropPresence(_ database: UInt32) {
        moveEpoch()
        guard Int(database) < presence.count, presence[Int(database)] != nil else { return }
        let i = Int(database)
        if i >> 6 < presenceWords { presenceBits[i >> 6].bitwiseAnd(~(1 << UInt64(i & 63)), ordering: .releasing) }
        presence[Int(database)] = nil
        presenceTables -= 1
    }

    /// The presence table of the set in `database`, if it keeps one.
    @inline(__always)
    func presenceTable(_ database: UInt32) -> PresenceTable? {
        Int(database) < presence.count ? presence[Int(database)] : nil
    }

    /// The presence table for `key` in `database`, if its set keeps one and the key has its width.
    @inline(__always)
    func presenceTable(_ database: UInt32, _ key: UnsafeRawBufferPointer) -> PresenceTable? {
        guard let table = presenceTable(database), table.width == key.count else { return nil }
        return table
    }

    /// Splits the budget's read side (what the write buffer leaves) between the sets' presence tables
    /// and the read cache: the tables may take all of it but half of what the read cache holds, shared
    /// equally; the read cache gets what the tables leave. The write buffer's part is the most it held
    /// before a recent flush (``pendingReserve``), not what it holds at this instant: the buffer fills
    /// and empties many times a second, and the tables must not shrink and grow with it.
    func balance() {
        pendingReserve = max(bufferedBytes, pendingReserve - pendingReserve / 8)
        let readSide = governor.budget - min(pendingReserve, bufferLimit)
        let tables = presence.compactMap { $0 }
        if !tables.isEmpty {
            let share = max(0, readSide - min(reads.bytes, readSide / 2)) / tables.count
            for table in tables { table.setMaximumBytes(share) }
        }
        reads.evict(to: readSide - presenceBytes)
    }

    // MARK: Point operations

    /// The buffered or cached answer for `key` (in `database`), counting a hit; `nil` on a miss.
    @inline(__always)
    func lookup(_ database: UInt32, _ key: UnsafeRawBufferPointer, _ cacheKey: CacheKey) -> CachedBytes?? {
        if !pending.isEmpty, let buffered = pending.lookup(database, key) {
            statistics.hits += 1
            return .some(buffered.map(CachedBytes.init))
        }
        return reads.lookup(cacheKey)  // which counts the hit or the miss
    }

    /// Buffers a write (`nil` deletes). The caller flushes when ``needsFlush``.
    func buffer(_ database: UInt32, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) {
        unsettle()  // until the flush
        moveEpoch()
        if let table = presenceTable(database, key) {
            let word = table.word(key)
            if let value, value.isEmpty, pending.count(of: database) == 0 || pending.lookup(database, key) == nil {
                // A set's insert, and no record of the key is buffered: one dirty bit in the table.
                table.insert(word, dirty: true)
                return
            }
            if value == nil { table.remove(word) } else { table.insert(word) }
        }
        pending.put(database, key, value)
        // The buffer answers for the key until the flush.
        reads.remove(CacheKey(database: database, bytes: CachedBytes(key)))
    }

    var needsFlush: Bool { bufferedBytes > bufferLimit || pending.isNearlyFull }

    /// Writes every buffered change to LMDB, sorted by database and key, in as few transactions as
    /// the dirty-page limit allows. Written entries are not added to the read cache (no
    /// write-allocate: a write is no sign of a coming read). If a transaction fails, what it and later
    /// ones held stays buffered, what earlier ones committed leaves the buffer, and the error is thrown.
    ///
    /// How many pages a transaction dirties depends on how its keys spread over the tree: sorted keys
    /// that share leaves dirty one page for many writes. The first transaction estimates it per
    /// database from the tree's leaf count L and the n keys the flush writes there: a write dirties
    /// min(1, L / n) existing leaves (keys spread evenly), times 1.5 for branch pages, plus twice its
    /// own bytes in new pages (splits leave pages half full; appends fill them), or the overflow pages
    /// of a large value. A transaction commits when its estimate reaches
    /// ``dirtyPageLimit``. RssAnon checks the estimate every 512 writes (about 2 µs a check): LMDB
    /// first reuses the page buffers it kept (``lmdbPagePool``), then mallocs, so once RssAnon rises
    /// the transaction has dirtied about pool + rise. When that reaches the limit, the transaction
    /// commits early and the rest of the flush uses the dirty bytes per write it measured.
    ///
    /// With `only`, writes only that database's changes and keeps the rest buffered.
    func flush(_ environment: Environment, only: UInt32? = nil) throws {
        pendingReserve = max(pendingReserve, bufferedBytes)
        let hasRecords = !pending.isEmpty && (only.map { pending.count(of: $0) > 0 } ?? true)
        var dirty: [(UInt32, PresenceTable)] = []
        for (i, table) in presence.enumerated() where only.map({ $0 == UInt32(i) }) ?? true {
            if let table, table.dirtyCount > 0 { dirty.append((UInt32(i), table)) }
        }
        guard hasRecords || !dirty.isEmpty else { return }
        // Every key written here went through buffer(), so complete tables stay complete.
        try changing {
            try ownCommits(environment) {
                if hasRecords { try flushRecords(environment, only: only) }
                for (id, table) in dirty { try flushDirtyKeys(environment, id, table) }
            }
        }
        statistics.flushes += 1
        if !dirty.isEmpty { balance() }  // tables that grew past their share to hold dirty keys shrink
    }

    /// Writes the write buffer's records (of `only`, or all).
    private func flushRecords(_ environment: Environment, only: UInt32?) throws {
        let all = pending.sorted()
        let items = only.map { id in all.filter { $0.database == id } } ?? all
        let others = only.map { id in all.filter { $0.database != id } } ?? []
        var committed = 0
        do {
            try write(environment, count: items.count, committed: &committed,
                      database: { items[$0].database }, prefetch: { pending.prefetch(items[$0]) }) { i, body in
                let (_, key, value) = pending.record(items[i])
                try body(key, value)
            }
        } catch {
            pending.keep(ArraySlice(others + items[committed...]))
            throw error
        }
        if only == nil { pending.removeAll() } else { pending.keep(ArraySlice(others)) }
    }

    /// Writes the dirty keys of the set in `database` (its buffered inserts, ``PresenceTable``):
    /// unmixed back to their bytes, radix-sorted, through the same transactions as the records. If a
    /// transaction fails, every key is marked dirty again (writing a key twice is harmless).
    private func flushDirtyKeys(_ environment: Environment, _ database: UInt32, _ table: PresenceTable) throws {
        var words: [UInt64] = []
        words.reserveCapacity(table.dirtyCount)
        table.takeDirty(into: &words)
        // The key bytes in memory order, byte-swapped: numeric order is then LMDB's (memcmp) order.
        for i in words.indices { words[i] = PresenceTable.unmix(words[i]).byteSwapped }
        let n = words.withUnsafeMutableBufferPointer { RadixSort.sortAndDeduplicate($0.baseAddress!, count: $0.count) }
        let width = table.width
        var committed = 0
        do {
            try write(environment, count: n, committed: &committed, database: { _ in database }, prefetch: { _ in }) { i, body in
                try withUnsafeBytes(of: words[i].bigEndian) { bytes in
                    try body(UnsafeRawBufferPointer(rebasing: bytes[0..<width]), UnsafeRawBufferPointer(start: nil, count: 0))
                }
            }
        } catch {
            for w in words[committed..<n] {
                var x = w.byteSwapped
                withUnsafeBytes(of: &x) { table.insert(table.word(UnsafeRawBufferPointer(rebasing: $0[0..<width])), dirty: true) }
            }
            throw error
        }
    }

    /// Writes changes `0..<count`, sorted by database and then key, in as few transactions as
    /// ``dirtyPageLimit`` allows; `change(i, body)` passes change i's key and value (`nil`: a delete)
    /// to `body`. `committed` is how many changes LMDB holds when it returns or throws.
    private func write(_ environment: Environment, count: Int, committed start: inout Int,
                       database: (Int) -> UInt32, prefetch: (Int) -> Void,
                       change: (Int, (UnsafeRawBufferPointer, UnsafeRawBufferPointer?) throws -> Void) throws -> Void) throws {
        let limit = dirtyPageLimit
        let noise = 2 << 20  // LMDB's own lists and the allocator move RssAnon by this much
        var itemsInDatabase: [UInt32: Int] = [:]  // the n of the estimate; changes are sorted by database
        var k = 0
        while k < count {
            let id = database(k)
            var e = k
            while e < count && database(e) == id { e += 1 }
            itemsInDatabase[id, default: 0] += e - k
            k = e
        }
        var measured: Double?  // dirty bytes per write, once a transaction has shown it
        while start < count {
            let pool = lmdbPagePool
            let before = AllocatorStatistics.residentAnonymousFast() ?? 0
            let first = start
            let (end, bytes) = try environment.write { txn -> (Int, Int) in
                var estimate = 0.0
                var bytes = 0
                var i = first
                while i < count {
                    // One run of the database's keys, through one cursor: LMDB then searches only the
                    // current leaf when the next key falls in it, instead of descending from the root.
                    let id = database(i)
                    guard let db = txn.database(handleID: id) else {  // dropped since: skip its writes
                        while i < count && database(i) == id { i += 1 }
                        continue
                    }
                    let leaves = Double(try txn.statistics(db).leafPages)
                    let perWrite = measured ?? 1.5 * 4096 * min(1, leaves / Double(itemsInDatabase[id] ?? 1))
                    let full = try txn.withCursor(db) { cursor -> Bool in
                        // Keys past the database's last key are appended (MDB_APPEND): no search,
                        // and full pages rather than the half-full ones a split at the end leaves.
                        let last = try cursor.last().map { [UInt8]($0.key) }
                        var appending = last == nil
                        while i < count {
                            if i + 16 < count { prefetch(i + 16) }
                            guard database(i) == id else { return false }
                            try change(i) { key, value in
                                if !appending, let last { appending = last.withUnsafeBytes { keyPrecedes($0, key) } }
                                if let value {
                                    _ = try cursor.put(key: key, value: value, flags: appending ? .append : [])
                                    // Until measured: the entry's own bytes, twice (new entries fill pages
                                    // that splits leave half full), or a large value's overflow pages.
                                    if measured == nil {
                                        estimate += Double(value.count > 2000 ? value.count : 2 * (key.count + value.count + 8))
                                    }
                                } else {
                                    _ = try txn.delete(db, key: key)
                                }
                                bytes += key.count + (value?.count ?? 0)
                            }
                            estimate += perWrite
                            i += 1
                            if estimate >= Double(limit) { return true }
                            if (i - first) & 511 == 0, let now = AllocatorStatistics.residentAnonymousFast(),
                               now - before > noise, pool + now - before >= limit {
                                measured = Double(pool + now - before) / Double(i - first)
                                return true
                            }
                        }
                        return true
                    }
                    if full { break }
                }
                return (i, bytes)
            }
            if let now = AllocatorStatistics.residentAnonymousFast() { lmdbPagePool = pool + max(0, now - before) }
            statistics.flushTransactions += 1
            statistics.bytesFlushed += bytes
            statistics.entriesFlushed += end - start
            start = end
        }
    }

    /// Drops what is buffered and cached for `database` (after `removeAll`, or when it is deleted).
    func forget(database: UInt32) {
        changing {
            if let table = presenceTable(database) {
                table.removeAll()
                table.isComplete = false
            }
            reads.remove(database: database)
            pending.remove(database: database)
        }
    }

    // MARK: The governor

    /// Counts an operation; about once a second of operations, runs a governor tick.
    func countOperation(_ store: Store) throws {
        operations &+= 1
        if operations & 4095 == 0 { try tickIfDue(store) }
    }

    /// Runs a governor tick if the last one was a second ago or more. Under the store's lock.
    func tickIfDue(_ store: Store) throws {
        if Self.now() - lastTick >= 1 { try tick(store, force: false) }
    }

    /// One governor tick: sample, decide, trim, evict (docs/memory.md).
    func tick(_ store: Store, force: Bool) throws {
        let now = Self.now()
        lastTick = now
        statistics.ticks += 1
        let anonymous = AllocatorStatistics.residentAnonymousFast() ?? 0
        var free: Int?
        if force || now - lastAllocatorSample >= 5 {  // mallinfo2 can be slow: sample it rarely
            let full = AllocatorStatistics.sample()
            lastAllocatorSample = now
            free = full.allocatorFree
            statistics.heapInUse = full.heapInUse
            statistics.allocatorFree = full.allocatorFree
            statistics.residentFile = full.residentFile
        }
        let data = (try? store.environment.info()).map { ($0.lastPage + 1) * 4096 }  // LMDB's page size on Linux x86-64 and arm64
        var sample = MemorySample(limit: limit.bytes, residentAnonymous: anonymous, cacheBytes: bytes,
                                  allocatorFree: free, time: now, dataBytes: data)
        let old = governor.budget
        if governor.wantsTrim(sample) {
            // Give the allocator's free memory back before deciding how much the cache may keep.
            let returned = AllocatorStatistics.giveFreeMemoryBack()
            governor.recordTrim(returned: returned)
            statistics.trims += 1
            statistics.bytesTrimmed += returned
            sample.residentAnonymous = AllocatorStatistics.residentAnonymousFast() ?? anonymous
        }
        // Growth pays when enough lookups since the last tick missed keys the cache had just evicted.
        let allLookups = statistics.hits + statistics.misses + reads.hits + reads.misses
        let allGhostHits = reads.ghostHits + presenceMisses
        let lookups = allLookups - lookupsAtLastTick
        let ghostHits = allGhostHits - ghostHitsAtLastTick
        lookupsAtLastTick = allLookups
        ghostHitsAtLastTick = allGhostHits
        // A complete table that is full is about to evict, after which each absent key is an LMDB
        // lookup again: growth pays.
        let completeAndFull = presence.contains { $0.map { $0.isComplete && $0.isNearlyFull } ?? false }
        let pays = completeAndFull || (lookups > 0 && Double(ghostHits) >= governor.policy.paysFraction * Double(lookups))
        if case .bytes(let fixed) = mode { governor.fix(budget: fixed) } else { governor.updateBudget(sample, growthPays: pays) }
        statistics.residentAnonymous = sample.residentAnonymous
        statistics.budget = governor.budget
        if governor.budget != old {
            logger.debug("cache budget \(old) -> \(governor.budget) bytes (RssAnon \(sample.residentAnonymous), limit \(limit.bytes) from \(limit.source))")
        }
        balance()
        if needsFlush { try store.flushBuffers() }
    }
}
