import DequeModule

/// A byte-weighted S3-FIFO cache of point lookups: key → value, or "known absent".
///
/// S3-FIFO (Yang et al., SOSP 2023): new keys enter a small FIFO (10% of the bytes); a key read again
/// while there moves to the main FIFO, others leave and are remembered in a ghost FIFO of hashes; a key
/// found in the ghost goes straight to main; main is a FIFO with reinsertion (a CLOCK with 2-bit
/// frequencies). One-hit wonders, such as a scan, pass through the small queue without flushing the hot
/// set, which plain LRU cannot do.
struct ReadCache {
    struct Slot {
        var key: CacheKey
        /// `nil` when the key is known to be absent.
        var value: CachedBytes?
        var frequency: UInt8
        var inMain: Bool
        var weight: Int
    }

    /// Bytes per entry beyond heap-allocated key and value bytes: the slot, the index entry (twice, for
    /// the dictionary's free capacity after it doubles), a queue position and a ghost hash. Checked
    /// against RssAnon by the tests.
    static let entryOverhead = MemoryLayout<Slot>.stride
        + 2 * (MemoryLayout<CacheKey>.stride + MemoryLayout<Int>.stride) + 2 * MemoryLayout<Int>.stride

    var index: [CacheKey: Int] = [:]
    var slots: [Slot] = []
    var freeSlots: [Int] = []
    var small = Deque<Int>()
    var main = Deque<Int>()
    var ghost = Deque<Int>()
    var ghostSet = Set<Int>()
    var smallBytes = 0
    var mainBytes = 0
    /// Bytes held now.
    var bytes: Int { smallBytes + mainBytes }
    /// Bytes allowed.
    var capacity: Int
    var evictions = 0

    init(capacity: Int) { self.capacity = capacity }

    /// The cached answer for `key`: `.some(value)`, `.some(nil)` for known absent, `nil` for a miss.
    mutating func lookup(_ key: CacheKey) -> CachedBytes?? {
        guard let i = index[key] else { return nil }
        if slots[i].frequency < 3 { slots[i].frequency += 1 }
        return .some(slots[i].value)
    }

    /// Records what LMDB said about `key` (or what this process wrote).
    mutating func store(_ key: CacheKey, _ value: CachedBytes?) {
        let weight = Self.entryOverhead + key.bytes.heapBytes + (value?.heapBytes ?? 0)
        if let i = index[key] {
            let old = slots[i].weight
            slots[i].value = value
            slots[i].weight = weight
            if slots[i].inMain { mainBytes += weight - old } else { smallBytes += weight - old }
        } else {
            guard weight <= capacity else { return }
            let hash = key.hashValue
            let toMain = ghostSet.remove(hash) != nil
            let slot = Slot(key: key, value: value, frequency: 0, inMain: toMain, weight: weight)
            let i: Int
            if let free = freeSlots.popLast() { slots[free] = slot; i = free } else { slots.append(slot); i = slots.count - 1 }
            index[key] = i
            if toMain { main.append(i); mainBytes += weight } else { small.append(i); smallBytes += weight }
        }
        evict(to: capacity)
    }

    /// Forgets `key` (the next lookup goes to LMDB).
    mutating func remove(_ key: CacheKey) {
        guard let i = index.removeValue(forKey: key) else { return }
        // Leave the slot in its queue as a tombstone; eviction skips slots no longer indexed.
        if slots[i].inMain { mainBytes -= slots[i].weight } else { smallBytes -= slots[i].weight }
        slots[i].weight = 0
    }

    /// Forgets every key of `database`.
    mutating func remove(database: UInt32) {
        for key in index.keys where key.database == database { remove(key) }
    }

    /// Evicts until at most `limit` bytes are held.
    mutating func evict(to limit: Int) {
        capacity = max(0, limit)
        while bytes > capacity {
            if smallBytes > capacity / 10 || main.isEmpty {
                guard let i = small.popFirst() else { break }
                guard isLive(i, inMain: false) else { freeSlots.append(i); continue }  // removed while queued
                if slots[i].frequency > 0 {  // read again while in small: promote
                    slots[i].inMain = true
                    slots[i].frequency = 0
                    smallBytes -= slots[i].weight
                    mainBytes += slots[i].weight
                    main.append(i)
                } else {
                    let hash = slots[i].key.hashValue
                    drop(i, fromMain: false)
                    ghost.append(hash)
                    ghostSet.insert(hash)
                    while ghost.count > max(1024, index.count) { ghostSet.remove(ghost.removeFirst()) }
                }
            } else {
                guard let i = main.popFirst() else { break }
                guard isLive(i, inMain: true) else { freeSlots.append(i); continue }
                if slots[i].frequency > 0 {
                    slots[i].frequency -= 1
                    main.append(i)
                } else {
                    drop(i, fromMain: true)
                }
            }
        }
    }

    private func isLive(_ i: Int, inMain: Bool) -> Bool {
        index[slots[i].key] == i && slots[i].weight > 0
    }

    private mutating func drop(_ i: Int, fromMain: Bool) {
        index.removeValue(forKey: slots[i].key)
        if fromMain { mainBytes -= slots[i].weight } else { smallBytes -= slots[i].weight }
        slots[i].weight = 0
        slots[i].value = nil
        freeSlots.append(i)
        evictions += 1
    }

    /// Empties the cache and releases its storage.
    mutating func removeAll() {
        self = ReadCache(capacity: capacity)
    }
}
