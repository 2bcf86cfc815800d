import Foundation
import LMDB
import Logging

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
    /// Entries written by flushes.
    public var entriesFlushed = 0
    /// Key and value bytes written by flushes.
    public var bytesFlushed = 0
    /// The cache's budget in bytes.
    public var budget = 0
    /// Bytes the read cache and the write buffer hold now.
    public var cacheBytes = 0
    /// Bytes waiting in the write buffer.
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
}

/// One store's cache: a read cache of point lookups, a write-back buffer, and the memory governor
/// that sizes them. Used only for operations outside an explicit `store.read { }` / `store.write { }`.
@usableFromInline
final class StoreCache {
    @exclusivity(unchecked) var reads: ReadCache
    /// Pending writes: key → value, or `nil` for a delete.
    @exclusivity(unchecked) var pending: [CacheKey: CachedBytes?] = [:]
    @exclusivity(unchecked) var pendingBytes = 0
    @exclusivity(unchecked) var statistics = StoreStatistics()
    @exclusivity(unchecked) var governor: MemoryGovernor
    let mode: CacheBudget
    let limit: MemoryLimit
    let logger = Logger(label: "DiskCollections.memory")
    @exclusivity(unchecked) var operations = 0
    @exclusivity(unchecked) var lastTick = 0.0
    var lastAllocatorSample = -Double.infinity

    /// Bytes per buffered write beyond heap-allocated key and value bytes: the dictionary entry twice
    /// (free capacity after doubling) and once more for the sorted copy a flush makes.
    static let pendingOverhead = 3 * (MemoryLayout<CacheKey>.stride + MemoryLayout<CachedBytes?>.stride)

    init(mode: CacheBudget) {
        self.mode = mode
        switch mode {
        case .memoryLimit(let cap): limit = MemoryLimit.current(userCap: cap)
        default: limit = MemoryLimit.current()
        }
        var governor = MemoryGovernor()
        if case .bytes(let b) = mode {
            governor.fix(budget: b)
        } else {
            // Start from the law's budget for the memory as it is now, capped: growth is gradual.
            let sample = MemorySample(limit: limit.bytes, residentAnonymous: AllocatorStatistics.residentAnonymousFast() ?? 0,
                                      cacheBytes: 0, allocatorFree: nil, time: 0)
            governor.fix(budget: min(governor.desiredBudget(sample), governor.policy.startingBudget))
        }
        self.governor = governor
        reads = ReadCache(capacity: governor.budget)
        statistics.budget = governor.budget
        statistics.memoryLimit = limit.bytes
        statistics.memoryLimitSource = limit.source
        lastTick = Self.now()
    }

    static func now() -> Double {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
    }

    var bytes: Int { reads.bytes + pendingBytes }

    /// The write buffer's share of the budget: a quarter, at least 1 MiB and at most 64 MiB (a sorted
    /// flush gains little from more, and a large buffer is heap held for nothing).
    var bufferLimit: Int { min(64 << 20, max(1 << 20, governor.budget / 4)) }

    /// Entries per flush transaction. Without MDB_WRITEMAP, LMDB mallocs a copy of every page a write
    /// transaction dirties (about one 4 KiB leaf per scattered key) and, once the transaction ends,
    /// keeps those buffers on a free list for reuse until the environment closes. So a flush is cut into
    /// transactions that dirty at most min(budget / 2, 32 MiB): that bounds both the peak and what LMDB
    /// keeps afterwards (at least 256 entries a transaction).
    var entriesPerTransaction: Int { max(256, min(governor.budget / 2, 32 << 20) / 4096) }

    // MARK: Point operations

    /// The buffered or cached answer for `key`, counting a hit; `nil` on a miss.
    func lookup(_ key: CacheKey) -> CachedBytes?? {
        if !pending.isEmpty, let buffered = pending[key] { statistics.hits += 1; return .some(buffered) }
        if let cached = reads.lookup(key) { statistics.hits += 1; return cached }
        statistics.misses += 1
        return nil
    }

    /// Buffers a write (`nil` deletes). The caller flushes when ``needsFlush``.
        func buffer(_ key: CacheKey, _ value: CachedBytes?) {
        let weight = Self.pendingOverhead + key.bytes.heapBytes + (value?.heapBytes ?? 0)
        if let old = pending.updateValue(value, forKey: key) {
            pendingBytes -= Self.pendingOverhead + key.bytes.heapBytes + (old?.heapBytes ?? 0)
        }
        pendingBytes += weight
        reads.remove(key)  // the buffer answers for it until the flush
    }

    var needsFlush: Bool { pendingBytes > bufferLimit }

    /// Writes every buffered change to LMDB, sorted by database and key, in bounded transactions.
    /// Written entries are not added to the read cache (no write-allocate: a write is no sign of a
    /// coming read). If a transaction fails, what it and later ones held stays buffered, what earlier
    /// ones committed leaves the buffer, and the error is thrown.
    func flush(_ environment: Environment) throws {
        guard !pending.isEmpty else { return }
        var entries = pending.map { ($0.key, $0.value) }
        entries.sort { a, b in
            a.0.database != b.0.database ? a.0.database < b.0.database : CachedBytes.precedes(a.0.bytes, b.0.bytes)
        }
        var start = 0
        do {
            while start < entries.count {
                let end = min(start + entriesPerTransaction, entries.count)
                try environment.write { txn in
                    var database: Database?
                    for (key, value) in entries[start..<end] {
                        if database?.handleID != key.database { database = txn.database(handleID: key.database) }
                        guard let db = database else { continue }
                        try key.bytes.withUnsafeBytes { k in
                            if let value {
                                try value.withUnsafeBytes { v in _ = try txn.put(db, key: k, value: v) }
                            } else {
                                _ = try txn.delete(db, key: k)
                            }
                        }
                    }
                }
                statistics.entriesFlushed += end - start
                start = end
            }
        } catch {
            for (key, value) in entries[..<start] {
                pending[key] = nil
                pendingBytes -= Self.pendingOverhead + key.bytes.heapBytes + (value?.heapBytes ?? 0)
            }
            throw error
        }
        for (key, value) in entries { statistics.bytesFlushed += key.bytes.count + (value?.count ?? 0) }
        pendingBytes = 0
        pending = [:]
        statistics.flushes += 1
    }

    /// Drops what is buffered and cached for `database` (after `removeAll`, or when it is deleted).
    func forget(database: UInt32) {
        reads.remove(database: database)
        for key in pending.keys where key.database == database {
            pendingBytes -= Self.pendingOverhead + key.bytes.heapBytes + ((pending[key] ?? nil)?.heapBytes ?? 0)
            pending[key] = nil
        }
    }

    // MARK: The governor

    /// Counts an operation; about once a second of operations, runs a governor tick.
    func countOperation(_ store: Store) throws {
        operations &+= 1
        if operations & 4095 == 0, Self.now() - lastTick >= 1 { try tick(store, force: false) }
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
        var sample = MemorySample(limit: limit.bytes, residentAnonymous: anonymous, cacheBytes: bytes,
                                  allocatorFree: free, time: now)
        let old = governor.budget
        if governor.wantsTrim(sample) {
            // Give the allocator's free memory back before deciding how much the cache may keep.
            let returned = AllocatorStatistics.giveFreeMemoryBack()
            governor.recordTrim(returned: returned)
            statistics.trims += 1
            statistics.bytesTrimmed += returned
            sample.residentAnonymous = AllocatorStatistics.residentAnonymousFast() ?? anonymous
        }
        if case .bytes(let fixed) = mode { governor.fix(budget: fixed) } else { governor.updateBudget(sample) }
        statistics.residentAnonymous = sample.residentAnonymous
        statistics.budget = governor.budget
        if governor.budget != old {
            logger.debug("cache budget \(old) -> \(governor.budget) bytes (RssAnon \(sample.residentAnonymous), limit \(limit.bytes) from \(limit.source))")
        }
        reads.evict(to: governor.budget - min(pendingBytes, governor.budget / 4))
        if needsFlush { try flush(store.environment) }
    }
}
