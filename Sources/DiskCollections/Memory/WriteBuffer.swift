import CMalloc
#if canImport(Glibc)
import Glibc
#endif

/// The write-back buffer: pending puts and deletes, packed one after another in a byte arena, with an
/// open-addressing index over them.
///
/// A buffered 8-byte key and 8-byte value costs about 75 bytes: a 26-byte record, two or three 8-byte
/// index slots, and the 32 bytes its flush needs to sort it. (A `Dictionary` of key and value structs
/// cost about 220, so the same memory buffered a quarter as many writes, and a flush of random keys
/// rewrites most of the tree's leaves whatever its size: fewer, larger flushes are what make it pay.)
///
/// Record at offset `o`: database (UInt32), key length (UInt16), value length (UInt32, or
/// ``deleteMark`` for a delete), the key's bytes, the value's bytes. A rewrite with a value of the same
/// length overwrites it in place; otherwise a new record is appended and the old one is marked dead
/// (its database becomes ``deadMark``), its bytes reclaimed when the arena is compacted. Work over all
/// records (growing the index, sorting, compacting) walks the arena in memory order.
final class WriteBuffer {
    static let headerSize = 10
    static let deleteMark = UInt32.max
    /// The database field of a superseded record.
    static let deadMark = UInt32.max
    private static let initialArena = 64 << 10
    private static let initialSlots = 1024

    /// `nil` while the buffer is empty: an empty buffer holds no memory.
    private var storage: UnsafeMutableRawPointer?
    /// The arena, read only while it holds records.
    private var arena: UnsafeMutableRawPointer { storage.unsafelyUnwrapped }
    private var arenaCapacity: Int
    private var arenaUsed = 0
    private var deadBytes = 0
    /// 0 for an empty slot, else the key's hash (high 32 bits; its low bits are the slot's home) and the
    /// record's offset + 1 (low 32). Growing the index needs no record: the hash is in the slot.
    private var index: TableStorage<UInt64>
    private var mask: Int
    /// Buffered keys.
    private(set) var count = 0

    init() {
        storage = nil
        arenaCapacity = 0
        index = TableStorage(count: 0, initial: 0)
        mask = -1
    }

    deinit { free(storage) }

    var isEmpty: Bool { count == 0 }

    /// Live records per database handle, so that a flush of one database can be skipped cheaply.
    private var perDatabase: [Int32] = []

    /// The number of buffered changes of `database`.
    @inline(__always)
    func count(of database: UInt32) -> Int {
        Int(database) < perDatabase.count ? Int(perDatabase[Int(database)]) : 0
    }

    @inline(__always)
    private func countRecord(of database: UInt32) {
        let i = Int(database)
        if i >= perDatabase.count { perDatabase += Array(repeating: 0, count: i + 1 - perDatabase.count) }
        perDatabase[i] &+= 1
    }

    /// Heap bytes the buffer holds, with the two sort arrays a flush will add.
    var bytes: Int { arenaCapacity + index.bytes + 2 * count * MemoryLayout<SortItem>.stride }

    // MARK: Records

    @inline(__always) private func recordDatabase(at o: Int) -> UInt32 { arena.loadUnaligned(fromByteOffset: o, as: UInt32.self) }
    @inline(__always) private func keyCount(at o: Int) -> Int { Int(arena.loadUnaligned(fromByteOffset: o + 4, as: UInt16.self)) }
    @inline(__always) private func valueMark(at o: Int) -> UInt32 { arena.loadUnaligned(fromByteOffset: o + 6, as: UInt32.self) }
    @inline(__always) private func key(at o: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: arena + o + Self.headerSize, count: keyCount(at: o))
    }
    /// The record's value, or `nil` for a delete.
    @inline(__always) private func value(at o: Int) -> UnsafeRawBufferPointer? {
        let mark = valueMark(at: o)
        guard mark != Self.deleteMark else { return nil }
        return UnsafeRawBufferPointer(start: arena + o + Self.headerSize + keyCount(at: o), count: Int(mark))
    }
    @inline(__always) private func recordSize(at o: Int) -> Int {
        let mark = valueMark(at: o)
        return Self.headerSize + keyCount(at: o) + (mark == Self.deleteMark ? 0 : Int(mark))
    }

    // MARK: Hashing and the index

    /// A fast 64-bit hash of the database and key (the keys are the application's own data: no
    /// hash-flooding defence is needed).
    @inline(__always)
    static func hash(_ database: UInt32, _ key: UnsafeRawBufferPointer) -> UInt64 {
        var h = (UInt64(database) &+ UInt64(key.count) << 32) &* 0x94D0_49BB_1331_11EB
        var i = 0
        while i + 8 <= key.count {
            h = (h ^ key.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x9E37_79B9_7F4A_7C15
            h ^= h >> 32
            i += 8
        }
        if i < key.count {
            var tail: UInt64 = 0
            withUnsafeMutableBytes(of: &tail) { $0.baseAddress!.copyMemory(from: key.baseAddress! + i, byteCount: key.count - i) }
            h = (h ^ tail) &* 0xC2B2_AE3D_27D4_EB4F
        }
        h ^= h >> 29
        h &*= 0xBF58_476D_1CE4_E5B9
        return h ^ (h >> 32)
    }

    /// SortItem positions keep 40 bits of offset; index slots keep 32, so the arena stays under 4 GiB
    /// (``isNearlyFull`` asks for a flush well before).
    private static let offsetMask: UInt64 = (1 << 40) - 1
    private static let slotOffsetMask: UInt64 = (1 << 32) - 1
    /// Values larger than this do not go through the buffer (see ``StoreCache``).
    static let largestBufferedValue = 1 << 20

    /// Whether the arena nears the 4 GiB its index can address: time to flush, whatever the budget.
    var isNearlyFull: Bool { arenaUsed > 3 << 30 }

    @inline(__always) private static func slot(_ h: UInt64, _ offset: Int) -> UInt64 { h << 32 | UInt64(offset + 1) }
    @inline(__always) private static func offset(_ slot: UInt64) -> Int { Int(slot & slotOffsetMask) - 1 }

    /// The index slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func probe(_ database: UInt32, _ key: UnsafeRawBufferPointer, _ h: UInt64) -> (slot: Int, found: Bool) {
        let tag = h & Self.slotOffsetMask
        var i = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = index.base[i]
            if e == 0 { return (i, false) }
            if e >> 32 == tag {
                let o = Self.offset(e)
                if recordDatabase(at: o) == database, keyCount(at: o) == key.count,
                   key.count == 0 || memcmp(arena + o + Self.headerSize, key.baseAddress!, key.count) == 0 {
                    return (i, true)
                }
            }
            i = (i + 1) & mask
        }
    }

    /// The buffered change for `key`: `nil` when none, `.some(nil)` for a delete, else the value's
    /// bytes (valid until the buffer next changes).
    func lookup(_ database: UInt32, _ key: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer?? {
        guard count > 0 else { return nil }
        let (slot, found) = probe(database, key, Self.hash(database, key))
        guard found else { return nil }
        return .some(value(at: Self.offset(index.base[slot])))
    }

    // MARK: Changes

    /// Buffers a put of `value`, or a delete for `nil`.
    func put(_ database: UInt32, _ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) {
        if (count + 1) * 4 > index.count * 3 { resizeIndex(max(Self.initialSlots, 2 * index.count)) }
        let h = Self.hash(database, key)
        var (slot, found) = probe(database, key, h)
        let mark = value.map { UInt32($0.count) } ?? Self.deleteMark
        if found {
            let o = Self.offset(index.base[slot])
            if valueMark(at: o) == mark {  // same length (or a delete again): overwrite in place
                if let value, value.count > 0 {
                    (arena + o + Self.headerSize + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count)
                }
                return
            }
        }
        let size = Self.headerSize + key.count + (value?.count ?? 0)
        if arenaUsed + size > arenaCapacity, makeRoom(for: size) {
            (slot, found) = probe(database, key, h)  // compacted: records and slots moved
        }
        if found {
            let old = Self.offset(index.base[slot])
            deadBytes += recordSize(at: old)
            arena.storeBytes(of: Self.deadMark, toByteOffset: old, as: UInt32.self)
        }
        let o = arenaUsed
        arena.storeBytes(of: database, toByteOffset: o, as: UInt32.self)
        arena.storeBytes(of: UInt16(key.count), toByteOffset: o + 4, as: UInt16.self)
        arena.storeBytes(of: mark, toByteOffset: o + 6, as: UInt32.self)
        if key.count > 0 { (arena + o + Self.headerSize).copyMemory(from: key.baseAddress!, byteCount: key.count) }
        if let value, value.count > 0 {
            (arena + o + Self.headerSize + key.count).copyMemory(from: value.baseAddress!, byteCount: value.count)
        }
        arenaUsed += size
        index.base[slot] = Self.slot(h, o)
        if !found {
            count += 1
            countRecord(of: database)
        }
    }

    /// Grows the arena, or compacts it when dead records take most of it. Returns whether it compacted.
    private func makeRoom(for size: Int) -> Bool {
        var compacted = false
        if deadBytes > arenaUsed / 2 {
            rebuild(keeping: liveOffsets())
            compacted = true
            if arenaUsed + size <= arenaCapacity { return true }
        }
        var capacity = max(arenaCapacity, Self.initialArena)
        while arenaUsed + size > capacity { capacity += capacity / 2 }
        storage = realloc(storage, capacity)!
        arenaCapacity = capacity
        return compacted
    }

    /// Calls `body` with the offset of every live record, in memory order.
    @inline(__always)
    private func forEachLive(_ body: (Int) -> Void) {
        var o = 0
        while o < arenaUsed {
            if recordDatabase(at: o) != Self.deadMark { body(o) }
            o += recordSize(at: o)
        }
    }

    /// Moves the index to `slots` slots. Each slot's new home comes from the hash it holds, and the
    /// old slots are read in order, so the new ones fill nearly in order too: no record is read.
    private func resizeIndex(_ slots: Int) {
        let old = index
        index = TableStorage(count: slots, initial: 0)
        mask = slots - 1
        for j in 0..<old.count {
            let e = old.base[j]
            guard e != 0 else { continue }
            var i = Int(truncatingIfNeeded: e >> 32) & mask
            while index.base[i] != 0 { i = (i + 1) & mask }
            index.base[i] = e
        }
    }

    private func liveOffsets() -> [Int] {
        var offsets = [Int]()
        offsets.reserveCapacity(count)
        forEachLive { offsets.append($0) }
        return offsets
    }

    /// Keeps only the records at `offsets`, in a new arena and index sized for them.
    private func rebuild(keeping offsets: some Collection<Int>) {
        perDatabase = []
        for o in offsets { countRecord(of: recordDatabase(at: o)) }
        if offsets.isEmpty {  // back to holding nothing
            free(storage)
            (storage, arenaCapacity, arenaUsed, deadBytes, count) = (nil, 0, 0, 0, 0)
            index = TableStorage(count: 0, initial: 0)
            mask = -1
            return
        }
        var size = 0
        for o in offsets { size += recordSize(at: o) }
        let capacity = max(Self.initialArena, size + size / 2)
        let newArena = malloc(capacity)!
        var used = 0
        var slots = Self.initialSlots
        while offsets.count * 4 > slots * 3 / 2 { slots *= 2 }
        let newIndex = TableStorage<UInt64>(count: slots, initial: 0)
        for o in offsets {
            let n = recordSize(at: o)
            (newArena + used).copyMemory(from: arena + o, byteCount: n)
            let h = Self.hash(recordDatabase(at: o), key(at: o))
            var i = Int(truncatingIfNeeded: h) & (slots - 1)
            while newIndex.base[i] != 0 { i = (i + 1) & (slots - 1) }
            newIndex.base[i] = Self.slot(h, used)
            used += n
        }
        free(storage)
        storage = newArena
        arenaCapacity = capacity
        arenaUsed = used
        deadBytes = 0
        index = newIndex
        mask = slots - 1
        count = offsets.count
    }

    /// Drops every buffered change of `database`.
    func remove(database: UInt32) {
        guard count > 0 else { return }
        rebuild(keeping: liveOffsets().filter { self.recordDatabase(at: $0) != database })
    }

    /// Drops everything and gives the memory back.
    func removeAll() { rebuild(keeping: []) }

    // MARK: Flushing

    /// A record's place in the flush order: database, then the key's first 8 bytes as a big-endian
    /// number, then (on a tie) the whole key.
    struct SortItem {
        var prefix: UInt64
        /// The database (high 24 bits) and the record's offset (low 40).
        var position: UInt64
        var database: UInt32 { UInt32(truncatingIfNeeded: position >> 40) }
    }

    /// The buffered records in LMDB's order: by database, then by key bytes (`memcmp`, shorter first).
    func sorted() -> [SortItem] {
        var items = [SortItem]()
        items.reserveCapacity(count)
        func add(_ o: Int) {
            let k = key(at: o)
            var prefix: UInt64 = 0
            if k.count > 0 { withUnsafeMutableBytes(of: &prefix) { $0.baseAddress!.copyMemory(from: k.baseAddress!, byteCount: min(8, k.count)) } }
            items.append(SortItem(prefix: UInt64(bigEndian: prefix), position: UInt64(recordDatabase(at: o)) << 40 | UInt64(o)))
        }
        forEachLive(add)
        guard items.count > 1 else { return items }
        Self.radixSort(&items)
        // Items with the same database and first 8 key bytes are in arbitrary order: order each such run
        // by the whole key.
        var runStart = 0
        for i in 1...items.count {
            if i < items.count && items[i].prefix == items[runStart].prefix
                && items[i].position >> 40 == items[runStart].position >> 40 { continue }
            if i - runStart > 1 { items[runStart..<i].sort { precedes($0, $1) } }
            runStart = i
        }
        return items
    }

    /// LMDB's order of two items with the same database and 8-byte prefix: the rest of the key by
    /// `memcmp`, the shorter first on a tie.
    private func precedes(_ a: SortItem, _ b: SortItem) -> Bool {
        let x = key(at: Int(a.position & Self.offsetMask)), y = key(at: Int(b.position & Self.offsetMask))
        if x.count <= 8 || y.count <= 8 { return x.count < y.count }
        let c = memcmp(x.baseAddress! + 8, y.baseAddress! + 8, min(x.count, y.count) - 8)
        return c < 0 || (c == 0 && x.count < y.count)
    }

    /// Sorts by database, then prefix: a least-significant-byte-first radix sort over the prefix's 8
    /// bytes and the database's 3, skipping every byte all items share (the high bytes of small
    /// integer keys, the database when there is one). A few linear passes instead of n log n
    /// comparisons: 975k items sort in about 30 ms instead of 230.
    static func radixSort(_ items: inout [SortItem]) {
        let n = items.count
        guard n > 1 else { return }
        @inline(__always) func digit(_ item: SortItem, _ pass: Int) -> Int {
            pass < 8 ? Int(truncatingIfNeeded: item.prefix >> (8 * pass)) & 0xFF
                     : Int(truncatingIfNeeded: item.position >> (40 + 8 * (pass - 8))) & 0xFF
        }
        var counts = [Int](repeating: 0, count: 11 * 256)
        counts.withUnsafeMutableBufferPointer { c in
            items.withUnsafeBufferPointer { xs in
                for x in xs { for pass in 0..<11 { c[pass * 256 + digit(x, pass)] += 1 } }
            }
        }
        var scratch = [SortItem](repeating: SortItem(prefix: 0, position: 0), count: n)
        var offsets = [Int](repeating: 0, count: 256)
        for pass in 0..<11 where counts[pass * 256 + digit(items[0], pass)] != n {
            var sum = 0
            for b in 0..<256 { offsets[b] = sum; sum += counts[pass * 256 + b] }
            offsets.withUnsafeMutableBufferPointer { o in
                items.withUnsafeBufferPointer { xs in
                    scratch.withUnsafeMutableBufferPointer { out in
                        for x in xs {
                            let b = digit(x, pass)
                            out[o[b]] = x
                            o[b] += 1
                        }
                    }
                }
            }
            swap(&items, &scratch)
        }
    }

    /// Starts loading a sorted item's record into the CPU cache (a flush asks a few items ahead).
    @inline(__always)
    func prefetch(_ item: SortItem) { diskcollections_prefetch(arena + Int(item.position & Self.offsetMask)) }

    /// The database, key and value (`nil` for a delete) of a sorted item.
    @inline(__always)
    func record(_ item: SortItem) -> (database: UInt32, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer?) {
        let o = Int(item.position & Self.offsetMask)
        return (recordDatabase(at: o), key(at: o), value(at: o))
    }

    /// Keeps only the given items (after a flush that wrote the others).
    func keep(_ items: ArraySlice<SortItem>) { rebuild(keeping: items.lazy.map { Int($0.position & Self.offsetMask) }) }
}
