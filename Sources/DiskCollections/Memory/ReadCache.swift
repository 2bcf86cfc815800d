import DequeModule
import Synchronization

/// A byte-weighted S3-FIFO cache of point lookups: key → value, or "known absent".
///
/// S3-FIFO (Yang et al., SOSP 2023): new keys enter a small FIFO (10% of the bytes); a key read again
/// while there moves to the main FIFO, others leave and are remembered in a ghost FIFO of hashes; a key
/// found in the ghost goes straight to main; main is a FIFO with reinsertion (a CLOCK with 2-bit
/// frequencies). One-hit wonders, such as a scan, pass through the small queue without flushing the hot
/// set, which plain LRU cannot do.
///
/// A hit is one hash lookup: the slot holds the key and value inline (up to 16 bytes each) and its
/// frequency is bumped in place. Queue items carry the slot's hash and the entry's generation, so an
/// item left behind by a removed or re-added key is recognised and skipped.
///
/// Noncopyable, as is its table: the table's storage is a reference, which a copy would share.
struct ReadCache: ~Copyable {
    struct QueueItem {
        var tag: UInt64
        var generation: UInt32
    }

    /// Bytes per entry beyond heap-allocated key and value bytes: four table slots (the table's size
    /// is a power of two kept at most half full, so just after it doubles it has four slots an entry),
    /// a queue item and a ghost hash. Checked against RssAnon by the tests.
    static let entryOverhead = 4 * MemoryLayout<OpenTable.Slot>.stride
        + MemoryLayout<QueueItem>.stride + 2 * MemoryLayout<UInt64>.stride

    private(set) var table = OpenTable()
    private var small = Deque<QueueItem>()
    private var main = Deque<QueueItem>()
    /// Misses on keys the cache had recently evicted: the misses a larger cache would have turned
    /// into hits (the governor grows the budget only while there are enough of them).
    private(set) var ghostHits = 0
    private var ghost = Deque<UInt64>()
    private var ghostSet = Set<UInt64>()
    private var smallBytes = 0
    private var mainBytes = 0
    private var nextGeneration: UInt32 = 0
    /// Bytes held now.
    var bytes: Int { smallBytes + mainBytes }
    /// Bytes allowed.
    private(set) var capacity: Int
    private(set) var evictions = 0

    /// The fewest evicted keys the ghost remembers, however few entries the cache holds.
    private let ghostFloor: Int

    init(capacity: Int, ghostFloor: Int = 1024) {
        self.capacity = capacity
        self.ghostFloor = ghostFloor
    }

    static func weight(_ slot: OpenTable.Slot) -> Int { entryOverhead + (slot.spill.map { 32 + $0.count } ?? 0) }

    /// The cached answer for `key`: `.some(value)`, `.some(nil)` for known absent, `nil` for a miss.
    @inline(__always)
    func lookup(_ key: CacheKey, tag: UInt64) -> CachedBytes?? {
        guard let slot = table.find(key, tag: tag) else { return nil }
        if slot.pointee.frequency < 3 { slot.pointee.frequency += 1 }
        return .some(slot.pointee.value)
    }

    /// Records what LMDB said about `key`. Values longer than 64 KiB are not cached.
    mutating func store(_ key: CacheKey, _ value: CachedBytes?) {
        guard (value?.count ?? 0) < Int(OpenTable.Slot.absent) else { return }
        if let slot = table.find(key) {
            let old = Self.weight(slot.pointee)
            slot.pointee.setValue(value, keyCount: key.bytes.count)
            let weight = Self.weight(slot.pointee)
            if slot.pointee.inMain { mainBytes += weight - old } else { smallBytes += weight - old }
        } else {
            var new = OpenTable.Slot(key: key, value: value)
            let weight = Self.weight(new)
            guard weight <= capacity else { return }
            let toMain = ghostSet.remove(new.tag) != nil
            if toMain { ghostHits &+= 1 }
            nextGeneration &+= 1
            new.generation = nextGeneration
            new.inMain = toMain
            table.insert(new)
            let item = QueueItem(tag: new.tag, generation: nextGeneration)
            if toMain { main.append(item); mainBytes += weight } else { small.append(item); smallBytes += weight }
        }
        evict(to: capacity)
    }

    /// Forgets `key` (the next lookup goes to LMDB). Its queue item is skipped when reached.
    mutating func remove(_ key: CacheKey) {
        guard table.count > 0, let slot = table.find(key) else { return }
        forget(slot)
    }

    private mutating func forget(_ slot: UnsafeMutablePointer<OpenTable.Slot>) {
        if slot.pointee.inMain { mainBytes -= Self.weight(slot.pointee) } else { smallBytes -= Self.weight(slot.pointee) }
        table.remove(slot)
    }

    /// Forgets every key (another process committed: any of them may be stale).
    mutating func removeAll() {
        guard table.count > 0 || !small.isEmpty || !main.isEmpty else { return }
        table = OpenTable()
        small = Deque()
        main = Deque()
        smallBytes = 0
        mainBytes = 0
    }

    /// Forgets every key of `database`.
    mutating func remove(database: UInt32) {
        for item in table.items(where: { $0.database == database }) {
            if let slot = table.find(tag: item.tag, generation: item.generation) { forget(slot) }
        }
        compactIfSparse()
    }

    /// Rebuilds the table and queues at their live size when they hold far more capacity than entries
    /// (after a collection is dropped or the budget is cut), so that memory really goes back.
    mutating func compactIfSparse() {
        guard table.slotCount > 8 * max(table.count, 4096) else { return }
        table.rehash(minimumCapacity: table.count)
        small = Deque(small.filter { table.find(tag: $0.tag, generation: $0.generation) != nil })
        main = Deque(main.filter { table.find(tag: $0.tag, generation: $0.generation) != nil })
        let keep = min(ghost.count, max(ghostFloor, table.count))
        ghost = Deque(ghost.suffix(keep))
        ghostSet = Set(ghost)
    }

    /// Evicts until at most `limit` bytes are held.
    mutating func evict(to limit: Int) {
        let shrinking = limit < capacity
        defer { if shrinking { compactIfSparse() } }
        capacity = max(0, limit)
        while bytes > capacity {
            if smallBytes > capacity / 10 || main.isEmpty {
                guard let item = small.popFirst() else { break }
                guard let slot = table.find(tag: item.tag, generation: item.generation) else { continue }
                let weight = Self.weight(slot.pointee)
                if slot.pointee.frequency > 0 {  // read again while in small: promote
                    slot.pointee.inMain = true
                    slot.pointee.frequency = 0
                    smallBytes -= weight
                    mainBytes += weight
                    main.append(item)
                } else {
                    table.remove(slot)
                    smallBytes -= weight
                    evictions += 1
                    ghost.append(item.tag)
                    ghostSet.insert(item.tag)
                    while ghost.count > max(ghostFloor, table.count) { ghostSet.remove(ghost.removeFirst()) }
                }
            } else {
                guard let item = main.popFirst() else { break }
                guard let slot = table.find(tag: item.tag, generation: item.generation) else { continue }
                if slot.pointee.frequency > 0 {
                    slot.pointee.frequency -= 1
                    main.append(item)
                } else {
                    mainBytes -= Self.weight(slot.pointee)
                    table.remove(slot)
                    evictions += 1
                }
            }
        }
    }
}

/// One shard of the read cache: an S3-FIFO of its own and its counters, all used only under its lock.
final class ReadShard: @unchecked Sendable {
    // Sendable: every member but `lock` is read and written only under `lock`.
    let lock = ShardLock()
    @exclusivity(unchecked) var cache: ReadCache
    @exclusivity(unchecked) var hits = 0
    @exclusivity(unchecked) var misses = 0
    /// Lookups, for the governor's ticks (see ``StoreCache/countOperation(_:)``).
    @exclusivity(unchecked) var operations = 0
    /// Keeps the next shard's counters, written on every lookup, off this one's cache lines.
    private let padding: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)

    init(capacity: Int, ghostFloor: Int) { cache = ReadCache(capacity: capacity, ghostFloor: ghostFloor) }

    deinit { lock.destroy() }

    /// The cached answer for `key`, whose ``OpenTable/tag(_:)`` is `tag`, counting a hit or a miss and
    /// the lookup; `tickDue` every 4096 lookups (the lock-free path's turn to offer a governor tick).
    @inline(__always)
    func lookup(_ key: CacheKey, tag: UInt64) -> (answer: CachedBytes??, tickDue: Bool) {
        lock.withLock {
            operations &+= 1
            let answer = cache.lookup(key, tag: tag)
            if answer != nil { hits &+= 1 } else { misses &+= 1 }
            return (answer, operations & 4095 == 0)
        }
    }
}

/// The read cache, split by the key's hash into shards, each an S3-FIFO of its own with an equal
/// share of the budget, behind a lock of its own (``ShardLock``): threads reading different keys do
/// not wait for each other or pass one lock's cache line back and forth (docs/concurrency.md).
/// Locks: a shard's lock may be taken with the store's lock held, never the other way round.
final class ReadShards: @unchecked Sendable {
    // Sendable: `shards` never changes after init; each shard guards its own state.
    static let count = 64
    let shards: [ReadShard]
    /// The shards, unretained (``shards`` owns them): reaching one retains nothing, so threads do
    /// not write a shared reference count on every lookup.
    let base: UnsafeMutablePointer<Unmanaged<ReadShard>>
    /// False until a shard first stores an answer: until then (a store that only writes) forgetting
    /// a key skips the shards' locks. Set only under the store's lock (by a miss of the locked path;
    /// the lock-free path does not run while it is clear), and read by those who forget keys, also
    /// under the store's lock: the lock orders them, no fence is needed. Once set it stays set.
    private let hasEntriesFlag = Atomic<Bool>(false)
    /// See ``hasEntriesFlag``.
    var mayHoldEntries: Bool { hasEntriesFlag.load(ordering: .relaxed) }

    init(capacity: Int) {
        shards = (0..<Self.count).map { _ in ReadShard(capacity: capacity / Self.count, ghostFloor: 1024 / Self.count) }
        base = .allocate(capacity: Self.count)
        for (i, shard) in shards.enumerated() { (base + i).initialize(to: .passUnretained(shard)) }
    }

    deinit { base.deallocate() }

    /// Runs `body` with the shard of a key whose ``OpenTable/tag(_:)`` is `tag` (bits 57 to 62: bit 63
    /// is always set, and the tables use the low ones), without retaining it. `base` is ``base``.
    @inline(__always)
    static func withShard<R>(_ base: UnsafeMutablePointer<Unmanaged<ReadShard>>, _ tag: UInt64,
                             _ body: (ReadShard) throws -> R) rethrows -> R {
        try base[Int(truncatingIfNeeded: tag >> 57) & (count - 1)]._withUnsafeGuaranteedRef(body)
    }

    /// The cached answer for `key`: `.some(value)`, `.some(nil)` for known absent, `nil` for a miss;
    /// counts a hit or a miss.
    @inline(__always)
    func lookup(_ key: CacheKey) -> CachedBytes?? {
        let tag = OpenTable.tag(key)
        return Self.withShard(base, tag) { $0.lookup(key, tag: tag).answer }
    }

    /// Records what LMDB said about `key` if `stillValid()`, asked under the shard's lock (the epoch
    /// check of a miss read with no lock held: whoever changes the cache's contents moves the epoch
    /// before it touches a shard).
    func store(_ key: CacheKey, _ value: CachedBytes?, if stillValid: () -> Bool) {
        let tag = OpenTable.tag(key)
        if _slowPath(!hasEntriesFlag.load(ordering: .relaxed)) { hasEntriesFlag.store(true, ordering: .relaxed) }
        Self.withShard(base, tag) { shard in shard.lock.withLock { if stillValid() { shard.cache.store(key, value) } } }
    }

    /// Forgets `key`. Call after moving the epoch.
    @inline(__always)
    func remove(_ key: CacheKey) {
        guard hasEntriesFlag.load(ordering: .relaxed) else { return }
        Self.withShard(base, OpenTable.tag(key)) { shard in shard.lock.withLock { shard.cache.remove(key) } }
    }

    /// Forgets every key (another process committed: any of them may be stale).
    func removeAll() { for s in shards { s.lock.withLock { s.cache.removeAll() } } }

    /// Forgets every key of `database`.
    func remove(database: UInt32) { for s in shards { s.lock.withLock { s.cache.remove(database: database) } } }

    /// Evicts until at most `limit` bytes are held, and keeps to it.
    func evict(to limit: Int) {
        let share = max(0, limit) / Self.count
        for s in shards { s.lock.withLock { s.cache.evict(to: share) } }
    }

    private func sum(_ value: (ReadShard) -> Int) -> Int {
        var total = 0
        for s in shards { total += s.lock.withLock { value(s) } }
        return total
    }

    var bytes: Int { sum { $0.cache.bytes } }
    var evictions: Int { sum { $0.cache.evictions } }
    var ghostHits: Int { sum { $0.cache.ghostHits } }
    var hits: Int { sum { $0.hits } }
    var misses: Int { sum { $0.misses } }
}

/// An open-addressing hash table of cache entries, one 64-byte slot each: the hash, the key and the
/// value inline (up to 16 bytes each; longer ones in one heap array), so a hit costs one probe
/// sequence, usually one cache line. Linear probing, at most half full, backward-shift deletion (no
/// tombstones). Its storage is mapped with huge pages when large (``TableStorage``).
struct OpenTable: ~Copyable {
    struct Slot {
        /// The key's hash with the top bit set; 0 marks an empty slot.
        var tag: UInt64 = 0
        var key0: UInt64 = 0
        var key1: UInt64 = 0
        var value0: UInt64 = 0
        var value1: UInt64 = 0
        var database: UInt32 = 0
        var generation: UInt32 = 0
        var keyCount: UInt16 = 0
        /// The value's length, or ``absent`` when the key is known to be absent.
        var valueCount: UInt16 = 0
        /// S3-FIFO's 2-bit access frequency.
        var frequency: UInt8 = 0
        var inMain = false
        /// The key's bytes if longer than 16, then the value's if longer than 16.
        var spill: [UInt8]? = nil

        static let absent = UInt16.max

        init() {}

        init(key: CacheKey, value: CachedBytes?) {
            tag = OpenTable.tag(key)
            database = key.database
            keyCount = UInt16(key.bytes.count)
            if let heap = key.bytes.heap { spill = heap } else { (key0, key1) = (key.bytes.low, key.bytes.high) }
            setValue(value, keyCount: key.bytes.count)
        }

        mutating func setValue(_ value: CachedBytes?, keyCount: Int) {
            if keyCount <= 16 { spill = nil } else if let s = spill, s.count > keyCount { spill = Array(s[..<keyCount]) }
            guard let value else { valueCount = Self.absent; (value0, value1) = (0, 0); return }
            valueCount = UInt16(value.count)
            if let heap = value.heap {
                (value0, value1) = (0, 0)
                spill = (spill ?? []) + heap
            } else {
                (value0, value1) = (value.low, value.high)
            }
        }

        var value: CachedBytes? {
            guard valueCount != Self.absent else { return nil }
            if valueCount <= 16 { return CachedBytes(count: Int(valueCount), low: value0, high: value1) }
            let s = spill!
            return CachedBytes(Array(s[(s.count - Int(valueCount))...]))
        }

        @inline(__always)
        func holds(_ key: CacheKey) -> Bool {
            guard database == key.database, Int(keyCount) == key.bytes.count else { return false }
            if let heap = key.bytes.heap { return spill.map { $0.prefix(heap.count).elementsEqual(heap) } ?? false }
            return key0 == key.bytes.low && key1 == key.bytes.high
        }
    }

    private var storage = TableStorage<Slot>(count: 0, initial: Slot())
    private var slots: UnsafeMutablePointer<Slot> { storage.base }
    private var mask = 0
    private(set) var count = 0
    var slotCount: Int { storage.count }
    /// Bytes the table's slots take.
    var bytes: Int { storage.bytes }

    /// A fast 64-bit hash: keys come from the application's own data, so no hash-flooding defence is
    /// needed here; long keys use the standard library's hasher.
    @inline(__always)
    static func tag(_ key: CacheKey) -> UInt64 {
        var h: UInt64
        if let heap = key.bytes.heap {
            var hasher = Hasher()
            hasher.combine(heap)
            h = UInt64(bitPattern: Int64(hasher.finalize()))
        } else {
            h = key.bytes.low &* 0x9E37_79B9_7F4A_7C15
            h ^= (key.bytes.high &+ UInt64(key.bytes.count)) &* 0xC2B2_AE3D_27D4_EB4F
            h = (h ^ (h >> 29)) &* 0xBF58_476D_1CE4_E5B9
        }
        h ^= UInt64(key.database) &* 0x94D0_49BB_1331_11EB
        return (h ^ (h >> 32)) | (1 << 63)
    }

    /// The slot holding `key`. Valid until the table is next changed.
    @inline(__always)
    func find(_ key: CacheKey) -> UnsafeMutablePointer<Slot>? {
        guard count > 0 else { return nil }
        return find(key, tag: Self.tag(key))
    }

    /// The slot holding `key`, whose ``tag(_:)`` is `t`.
    @inline(__always)
    func find(_ key: CacheKey, tag t: UInt64) -> UnsafeMutablePointer<Slot>? {
        guard count > 0 else { return nil }
        var i = Int(truncatingIfNeeded: t) & mask
        while true {
            let s = slots[i].tag
            if s == 0 { return nil }
            if s == t && slots[i].holds(key) { return slots + i }
            i = (i + 1) & mask
        }
    }

    /// The slot with hash `tag` and `generation`: how queue items find their entry.
    func find(tag: UInt64, generation: UInt32) -> UnsafeMutablePointer<Slot>? {
        guard count > 0 else { return nil }
        var i = Int(truncatingIfNeeded: tag) & mask
        while true {
            let s = slots[i].tag
            if s == 0 { return nil }
            if s == tag && slots[i].generation == generation { return slots + i }
            i = (i + 1) & mask
        }
    }

    /// Inserts an entry whose key is known to be absent.
    mutating func insert(_ slot: Slot) {
        if (count + 1) * 2 > storage.count { rehash(minimumCapacity: count + 1) }  // doubles the slots
        var i = Int(truncatingIfNeeded: slot.tag) & mask
        while slots[i].tag != 0 { i = (i + 1) & mask }
        slots[i] = slot
        count += 1
    }

    /// Removes the entry in `slot`, shifting later members of its probe run back.
    mutating func remove(_ slot: UnsafeMutablePointer<Slot>) {
        var hole = slot - slots
        var i = (hole + 1) & mask
        while slots[i].tag != 0 {
            let home = Int(truncatingIfNeeded: slots[i].tag) & mask
            // Move slot i back into the hole unless its home lies cyclically in (hole, i].
            let inRange = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i)
            if !inRange {
                slots[hole] = slots[i]
                hole = i
            }
            i = (i + 1) & mask
        }
        slots[hole] = Slot()
        count -= 1
    }

    /// The hash and generation of every entry whose slot satisfies `predicate`.
    func items(where predicate: (Slot) -> Bool) -> [ReadCache.QueueItem] {
        UnsafeBufferPointer(start: slots, count: storage.count).compactMap {
            $0.tag != 0 && predicate($0) ? ReadCache.QueueItem(tag: $0.tag, generation: $0.generation) : nil
        }
    }

    /// Moves every entry to a table of at least twice `minimumCapacity` slots (a power of two).
    mutating func rehash(minimumCapacity: Int) {
        var size = 16
        while size < 2 * minimumCapacity { size <<= 1 }
        let old = storage
        storage = TableStorage(count: size, initial: Slot())
        mask = size - 1
        count = 0
        for j in 0..<old.count where old.base[j].tag != 0 {
            var i = Int(truncatingIfNeeded: old.base[j].tag) & mask
            while slots[i].tag != 0 { i = (i + 1) & mask }
            swap(&slots[i], &old.base[j])
            count += 1
        }
    }
}
