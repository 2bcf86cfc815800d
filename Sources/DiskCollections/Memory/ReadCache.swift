import DequeModule

/// A byte-weighted S3-FIFO cache of point lookups: key → value, or "known absent".
///
/// S3-FIFO (Yang et al., SOSP 2023): new keys enter a small FIFO (10% of the bytes); a key read again
/// while there moves to the main FIFO, others leave and are remembered in a ghost FIFO of hashes; a key
/// found in the ghost goes straight to main; main is a FIFO with reinsertion (a CLOCK with 2-bit
/// frequencies). One-hit wonders, such as a scan, pass through the small queue without flushing the hot
/// set, which plain LRU cannot do.
///
/// A hit is one hash lookup: the entry is read and its frequency bumped in place through the table's
/// index. Queue items carry the entry's generation, so an item left behind by a removed or re-added
/// key is recognised and skipped.
struct ReadCache {
    struct Entry {
        /// `nil` when the key is known to be absent.
        var value: CachedBytes?
        var frequency: UInt8
        var inMain: Bool
        var generation: UInt32
        var weight: Int32
    }

    struct QueueItem {
        var key: CacheKey
        var generation: UInt32
    }

    /// Bytes per entry beyond heap-allocated key and value bytes: four table slots (the table's size
    /// is a power of two kept at most half full, so just after it doubles it has four slots an entry),
    /// a queue item and a ghost hash. Checked against RssAnon by the tests.
    static let entryOverhead = 4 * MemoryLayout<OpenTable.Slot>.stride
        + MemoryLayout<QueueItem>.stride + 2 * MemoryLayout<Int>.stride

    private(set) var table = OpenTable()
    private var small = Deque<QueueItem>()
    private var main = Deque<QueueItem>()
    private var ghost = Deque<Int>()
    private var ghostSet = Set<Int>()
    private var smallBytes = 0
    private var mainBytes = 0
    private var nextGeneration: UInt32 = 0
    /// Bytes held now.
    var bytes: Int { smallBytes + mainBytes }
    /// Bytes allowed.
    private(set) var capacity: Int
    private(set) var evictions = 0

    init(capacity: Int) { self.capacity = capacity }

    /// The cached answer for `key`: `.some(value)`, `.some(nil)` for known absent, `nil` for a miss.
    mutating func lookup(_ key: CacheKey) -> CachedBytes?? {
        guard let i = table.find(key) else { return nil }
        return table.withEntry(i) { entry in
            if entry.frequency < 3 { entry.frequency += 1 }
            return .some(entry.value)
        }
    }

    /// Records what LMDB said about `key`.
    mutating func store(_ key: CacheKey, _ value: CachedBytes?) {
        let weight = Self.entryOverhead + key.bytes.heapBytes + (value?.heapBytes ?? 0)
        if let i = table.find(key) {
            let (old, inMain) = table.withEntry(i) { entry in
                let old = Int(entry.weight)
                entry.value = value
                entry.weight = Int32(weight)
                return (old, entry.inMain)
            }
            if inMain { mainBytes += weight - old } else { smallBytes += weight - old }
        } else {
            guard weight <= capacity else { return }
            let toMain = ghostSet.remove(key.hashValue) != nil
            nextGeneration &+= 1
            table.insert(key, Entry(value: value, frequency: 0, inMain: toMain, generation: nextGeneration, weight: Int32(weight)))
            let item = QueueItem(key: key, generation: nextGeneration)
            if toMain { main.append(item); mainBytes += weight } else { small.append(item); smallBytes += weight }
        }
        evict(to: capacity)
    }

    /// Forgets `key` (the next lookup goes to LMDB). Its queue item is skipped when reached.
    mutating func remove(_ key: CacheKey) {
        guard let entry = table.remove(key) else { return }
        if entry.inMain { mainBytes -= Int(entry.weight) } else { smallBytes -= Int(entry.weight) }
    }

    /// Forgets every key of `database`.
    mutating func remove(database: UInt32) {
        for key in table.keys(where: { $0.database == database }) { remove(key) }
        compactIfSparse()
    }

    /// Rebuilds the table and queues at their live size when they hold far more capacity than entries
    /// (after a collection is dropped or the budget is cut), so that memory really goes back.
    mutating func compactIfSparse() {
        guard table.slotCount > 8 * max(table.count, 4096) else { return }
        table.rehash(minimumCapacity: table.count)
        small = Deque(small.filter { live($0) })
        main = Deque(main.filter { live($0) })
        let keep = min(ghost.count, max(1024, table.count))
        ghost = Deque(ghost.suffix(keep))
        ghostSet = Set(ghost)
    }

    /// Whether a queue item still stands for the entry in the table.
    private func live(_ item: QueueItem) -> Bool {
        guard let i = table.find(item.key) else { return false }
        return table.entry(i).generation == item.generation
    }

    /// Evicts until at most `limit` bytes are held.
    mutating func evict(to limit: Int) {
        let shrinking = limit < capacity
        defer { if shrinking { compactIfSparse() } }
        capacity = max(0, limit)
        while bytes > capacity {
            if smallBytes > capacity / 10 || main.isEmpty {
                guard let item = small.popFirst() else { break }
                guard let i = table.find(item.key), table.entry(i).generation == item.generation else { continue }
                let entry = table.entry(i)
                let weight = Int(entry.weight)
                if entry.frequency > 0 {  // read again while in small: promote
                    table.withEntry(i) { $0.inMain = true; $0.frequency = 0 }
                    smallBytes -= weight
                    mainBytes += weight
                    main.append(item)
                } else {
                    table.remove(item.key)
                    smallBytes -= weight
                    evictions += 1
                    let hash = item.key.hashValue
                    ghost.append(hash)
                    ghostSet.insert(hash)
                    while ghost.count > max(1024, table.count) { ghostSet.remove(ghost.removeFirst()) }
                }
            } else {
                guard let item = main.popFirst() else { break }
                guard let i = table.find(item.key), table.entry(i).generation == item.generation else { continue }
                if table.entry(i).frequency > 0 {
                    table.withEntry(i) { $0.frequency -= 1 }
                    main.append(item)
                } else {
                    mainBytes -= Int(table.entry(i).weight)
                    table.remove(item.key)
                    evictions += 1
                }
            }
        }
    }
}

/// An open-addressing hash table from ``CacheKey`` to ``ReadCache/Entry`` with the key, the entry and
/// a hash tag in one slot, so a hit costs one probe sequence in one array (Swift's `Dictionary` keeps
/// keys and values in separate arrays: two or three memory misses a hit in a large cache). Linear
/// probing, at most half full, backward-shift deletion (no tombstones).
struct OpenTable {
    struct Slot {
        /// The key's hash with the top bit set; 0 marks an empty slot.
        var tag: UInt64 = 0
        var key = CacheKey(database: 0, bytes: CachedBytes(UnsafeRawBufferPointer(start: nil, count: 0)))
        var entry = ReadCache.Entry(value: nil, frequency: 0, inMain: false, generation: 0, weight: 0)
    }

    private var slots: [Slot] = []
    private var mask = 0
    private(set) var count = 0
    var slotCount: Int { slots.count }

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

    func find(_ key: CacheKey) -> Int? {
        guard count > 0 else { return nil }
        let t = Self.tag(key)
        var i = Int(truncatingIfNeeded: t) & mask
        while true {
            let s = slots[i].tag
            if s == 0 { return nil }
            if s == t && slots[i].key == key { return i }
            i = (i + 1) & mask
        }
    }

    func entry(_ i: Int) -> ReadCache.Entry { slots[i].entry }

    mutating func withEntry<R>(_ i: Int, _ body: (inout ReadCache.Entry) -> R) -> R { body(&slots[i].entry) }

    /// Inserts a key known to be absent.
    mutating func insert(_ key: CacheKey, _ entry: ReadCache.Entry) {
        if (count + 1) * 2 > slots.count { rehash(minimumCapacity: count + 1) }  // doubles the slots
        let t = Self.tag(key)
        var i = Int(truncatingIfNeeded: t) & mask
        while slots[i].tag != 0 { i = (i + 1) & mask }
        slots[i] = Slot(tag: t, key: key, entry: entry)
        count += 1
    }

    /// Removes `key` and returns its entry, shifting later members of its probe run back.
    @discardableResult
    mutating func remove(_ key: CacheKey) -> ReadCache.Entry? {
        guard var hole = find(key) else { return nil }
        let removed = slots[hole].entry
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
        return removed
    }

    func keys(where predicate: (CacheKey) -> Bool) -> [CacheKey] {
        slots.compactMap { $0.tag != 0 && predicate($0.key) ? $0.key : nil }
    }

    /// Moves every entry to a table of at least twice `minimumCapacity` slots (a power of two).
    mutating func rehash(minimumCapacity: Int) {
        var size = 16
        while size < 2 * minimumCapacity { size <<= 1 }
        let old = slots
        slots = [Slot](repeating: Slot(), count: size)
        mask = size - 1
        count = 0
        for s in old where s.tag != 0 {
            var i = Int(truncatingIfNeeded: s.tag) & mask
            while slots[i].tag != 0 { i = (i + 1) & mask }
            slots[i] = s
            count += 1
        }
    }
}
