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

    /// Bytes per entry beyond heap-allocated key and value bytes: the table entry twice (the
    /// dictionary's free capacity after it doubles), a queue item and a ghost hash. Checked against
    /// RssAnon by the tests.
    static let entryOverhead = 2 * (MemoryLayout<CacheKey>.stride + MemoryLayout<Entry>.stride)
        + MemoryLayout<QueueItem>.stride + 2 * MemoryLayout<Int>.stride

    private(set) var table: [CacheKey: Entry] = [:]
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
        guard let i = table.index(forKey: key) else { return nil }
        if table.values[i].frequency < 3 { table.values[i].frequency += 1 }
        return .some(table.values[i].value)
    }

    /// Records what LMDB said about `key`.
    mutating func store(_ key: CacheKey, _ value: CachedBytes?) {
        let weight = Self.entryOverhead + key.bytes.heapBytes + (value?.heapBytes ?? 0)
        if let i = table.index(forKey: key) {
            let old = Int(table.values[i].weight)
            table.values[i].value = value
            table.values[i].weight = Int32(weight)
            if table.values[i].inMain { mainBytes += weight - old } else { smallBytes += weight - old }
        } else {
            guard weight <= capacity else { return }
            let toMain = ghostSet.remove(key.hashValue) != nil
            nextGeneration &+= 1
            table[key] = Entry(value: value, frequency: 0, inMain: toMain, generation: nextGeneration, weight: Int32(weight))
            let item = QueueItem(key: key, generation: nextGeneration)
            if toMain { main.append(item); mainBytes += weight } else { small.append(item); smallBytes += weight }
        }
        evict(to: capacity)
    }

    /// Forgets `key` (the next lookup goes to LMDB). Its queue item is skipped when reached.
    mutating func remove(_ key: CacheKey) {
        guard let entry = table.removeValue(forKey: key) else { return }
        if entry.inMain { mainBytes -= Int(entry.weight) } else { smallBytes -= Int(entry.weight) }
    }

    /// Forgets every key of `database`.
    mutating func remove(database: UInt32) {
        for key in table.keys where key.database == database { remove(key) }
        compactIfSparse()
    }

    /// Rebuilds the table and queues at their live size when they hold far more capacity than entries
    /// (after a collection is dropped or the budget is cut): Swift's collections never shrink on their
    /// own, so without this a cache that once held millions of entries would keep their memory.
    mutating func compactIfSparse() {
        guard table.capacity > 4 * max(table.count, 4096) else { return }
        var fresh = [CacheKey: Entry](minimumCapacity: table.count)
        for (key, entry) in table { fresh[key] = entry }
        table = fresh
        small = Deque(small.filter { live($0) != nil })
        main = Deque(main.filter { live($0) != nil })
        let keep = min(ghost.count, max(1024, table.count))
        ghost = Deque(ghost.suffix(keep))
        ghostSet = Set(ghost)
    }

    /// The live entry an item stands for, if it is still the same one.
    private func live(_ item: QueueItem) -> Dictionary<CacheKey, Entry>.Index? {
        guard let i = table.index(forKey: item.key), table.values[i].generation == item.generation else { return nil }
        return i
    }

    /// Evicts until at most `limit` bytes are held.
    mutating func evict(to limit: Int) {
        let shrinking = limit < capacity
        defer { if shrinking { compactIfSparse() } }
        capacity = max(0, limit)
        while bytes > capacity {
            if smallBytes > capacity / 10 || main.isEmpty {
                guard let item = small.popFirst() else { break }
                guard let i = live(item) else { continue }
                let weight = Int(table.values[i].weight)
                if table.values[i].frequency > 0 {  // read again while in small: promote
                    table.values[i].inMain = true
                    table.values[i].frequency = 0
                    smallBytes -= weight
                    mainBytes += weight
                    main.append(item)
                } else {
                    table.remove(at: i)
                    smallBytes -= weight
                    evictions += 1
                    let hash = item.key.hashValue
                    ghost.append(hash)
                    ghostSet.insert(hash)
                    while ghost.count > max(1024, table.count) { ghostSet.remove(ghost.removeFirst()) }
                }
            } else {
                guard let item = main.popFirst() else { break }
                guard let i = live(item) else { continue }
                if table.values[i].frequency > 0 {
                    table.values[i].frequency -= 1
                    main.append(item)
                } else {
                    mainBytes -= Int(table.values[i].weight)
                    table.remove(at: i)
                    evictions += 1
                }
            }
        }
    }
}
