/// A dense cache of keys known to be present in one ``DiskSet`` whose elements are fixed-width keys of
/// at most 8 bytes (a search's visited set of `UInt64` states is the case it is for).
///
/// The general read cache spends about 288 bytes on an entry (a 64-byte slot that holds any key and
/// value, kept at most half full, a queue item and a ghost hash). A set's entry needs only the key, and
/// "present" is the only answer worth keeping (a search's absent probes are for new states, asked
/// once). Here an entry is one 8-byte word in an open-addressing table at most ⅞ full, plus a
/// reference bit and a dirty bit: about 9.4 bytes, so the same budget holds about 30 times as many
/// keys. (⅞ rather than ¾: 17% more keys in the same bytes, for a hit of 41 ns instead of 32 and a
/// miss of 123 ns instead of 67 in a 29 MB table; on the pocket-cube search, 2.9M LMDB lookups
/// instead of 4.1M and 12.4 s instead of 14.3.)
///
/// - The key's bytes, zero-extended to 64 bits, go through a bijective mix (MurmurHash3's finaliser),
///   so distinct keys have distinct words; the word is both the hash and the stored key. 0 marks an
///   empty slot; the one key whose word is 0 is held in a flag.
/// - The word's top 4 bits choose one of 16 segments, each its own table that grows (doubling) and
///   shrinks alone: a resize holds the old and the new copy of one segment, about a tenth of the
///   table, never two copies of all of it.
/// - In a segment: linear probing with the home slot chosen by multiply-shift of the word's other
///   bits (any slot count, not only powers of two, so segments fit their budget closely); deletion
///   shifts entries back (no tombstones).
/// - Eviction is CLOCK (second chance) per segment: a lookup sets the slot's reference bit; the hand
///   clears set bits and evicts the first slot whose bit is clear. The hand steps by a stride coprime
///   to the slot count (about 0.618 of it), not to the next slot: a hand that swept slot by slot
///   would empty the slots behind it and leave those ahead of it nearly full, and linear probing in
///   a nearly full stretch is a scan (measured: inserts 100 times slower once evictions began).
/// - The table starts small and grows up to `maximumBytes`, which the store's governor sets.
///
/// It must never answer "present" for an absent key: every change of the set that might remove a key
/// (a delete, any write in a transaction that may abort) removes it here first. While it is
/// *complete* (``isComplete``: it has held every key since the set was empty) it answers "absent" too,
/// which for a search's new states saves an LMDB lookup each.
final class PresenceTable {
    /// One of the table's 16 parts: the words whose top 4 bits are its index.
    private struct Segment {
        let slots: TableStorage<UInt64>
        let marks: TableStorage<UInt64>
        /// A bit per slot: the key was inserted and not yet written to LMDB.
        let dirt: TableStorage<UInt64>
        /// The storages' base addresses, read on the hot path without touching their references.
        let slotBase: UnsafeMutablePointer<UInt64>
        let markBase: UnsafeMutablePointer<UInt64>
        let dirtBase: UnsafeMutablePointer<UInt64>
        var slotCount: Int
        var count = 0
        var dirtyCount = 0
        var hand = 0
        /// The hand's step: about 0.618 of the slot count and coprime to it, so the hand visits every
        /// slot once a round, in an order spread over the whole segment (see ``evictOne(_:)``).
        let stride: Int

        init(slotCount: Int) {
            self.slotCount = slotCount
            slots = TableStorage(count: slotCount, initial: 0)
            marks = TableStorage(count: (slotCount + 63) / 64, initial: 0)
            dirt = TableStorage(count: (slotCount + 63) / 64, initial: 0)
            slotBase = slots.base
            markBase = marks.base
            dirtBase = dirt.base
            var step = max(1, Int(Double(slotCount) * 0.618_033_988_75)) | 1
            while Self.gcd(step, slotCount) != 1 { step += 2 }
            stride = step
        }

        private static func gcd(_ a: Int, _ b: Int) -> Int { b == 0 ? a : gcd(b, a % b) }

        var bytes: Int { slots.bytes + marks.bytes + dirt.bytes }
    }

    /// The encoded width of the set's keys.
    let width: Int
    @exclusivity(unchecked) private var segments: [Segment]
    /// Keys held, the zero word included.
    private(set) var count = 0
    private var hasZero = false
    private var zeroIsDirty = false
    /// Keys inserted and not yet written to LMDB (``takeDirty()``): the set's buffered inserts, kept
    /// here as one bit each instead of a record in the write buffer. They are never evicted.
    private(set) var dirtyCount = 0
    /// The most bytes the table may take; it evicts rather than grow past it.
    private(set) var maximumBytes: Int
    /// Bytes the segments hold.
    private(set) var bytes = 0
    /// Keys evicted.
    private(set) var evictions = 0
    /// Whether the table holds every key of its set (it has since the set was empty, and nothing
    /// evicted or bypassed it): then a key it does not hold is absent. Cleared by the first eviction;
    /// the store's cache clears it too when a commit it did not make may have added keys.
    var isComplete = false

    static let segmentBits = 4
    static let segmentCount = 1 << segmentBits
    static let initialSlotsPerSegment = 64
    /// Bytes per slot: the word, its reference bit and its dirty bit.
    static let bytesPerSlot = 8.25

    init(width: Int, maximumBytes: Int) {
        precondition(width > 0 && width <= 8)
        self.width = width
        self.maximumBytes = maximumBytes
        segments = (0..<Self.segmentCount).map { _ in Segment(slotCount: Self.initialSlotsPerSegment) }
        bytes = segments.reduce(0) { $0 + $1.bytes }
    }

    /// Slots a segment may have within the table's budget.
    private var maximumSlotsPerSegment: Int { Self.slots(for: maximumBytes / Self.segmentCount) }
    private static func capacity(_ slots: Int) -> Int { slots - slots / 8 }
    private static func slots(for bytes: Int) -> Int {
        max(initialSlotsPerSegment, Int(Double(bytes) / bytesPerSlot))
    }

    /// Whether the table holds nearly as many keys as its budget allows (nine tenths).
    var isNearlyFull: Bool {
        count >= Self.capacity(maximumSlotsPerSegment) * Self.segmentCount * 9 / 10
    }

    /// Whether the segment of `w` holds as many keys as the budget allows (a miss on a present key
    /// there means a bigger table would have answered it).
    func isFull(_ w: UInt64) -> Bool {
        let s = segments[Self.segment(w)]
        return s.slotCount >= maximumSlotsPerSegment && s.count >= Self.capacity(s.slotCount)
    }

    // MARK: Keys

    /// The word for `key` (whose count is ``width``).
    @inline(__always)
    func word(_ key: UnsafeRawBufferPointer) -> UInt64 {
        var x: UInt64 = 0
        withUnsafeMutableBytes(of: &x) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: key.prefix(8))) }
        // MurmurHash3's fmix64: each step is invertible, so the mix is a bijection of UInt64.
        x ^= x >> 33
        x &*= 0xff51_afd7_ed55_8ccd
        x ^= x >> 33
        x &*= 0xc4ce_b9fe_1a85_ec53
        x ^= x >> 33
        return x
    }

    @inline(__always) private static func segment(_ w: UInt64) -> Int { Int(truncatingIfNeeded: w >> (64 - UInt64(segmentBits))) }
    @inline(__always) private static func home(_ w: UInt64, _ slotCount: Int) -> Int {
        Int(truncatingIfNeeded: (w << UInt64(segmentBits)).multipliedFullWidth(by: UInt64(slotCount)).high)
    }

    // MARK: Operations

    /// Whether `w` is held; marks it referenced.
    @inline(__always)
    func contains(_ w: UInt64) -> Bool {
        if w == 0 { return hasZero }
        let s = Self.segment(w)
        let slots = segments[s].slotBase, n = segments[s].slotCount
        var i = Self.home(w, n)
        while true {
            let x = slots[i]
            if x == w {
                segments[s].markBase[i >> 6] |= 1 << UInt64(i & 63)
                return true
            }
            if x == 0 { return false }
            i = i + 1 == n ? 0 : i + 1
        }
    }

    /// Adds `w` (known present in the set, or, when `dirty`, inserted into it and not yet written),
    /// evicting another key of its segment if the table is full.
    func insert(_ w: UInt64, dirty: Bool = false) {
        if w == 0 {
            if !hasZero { hasZero = true; count += 1 }
            if dirty, !zeroIsDirty { zeroIsDirty = true; dirtyCount += 1 }
            return
        }
        let s = Self.segment(w)
        if let i = Self.find(w, segments[s].slotBase, segments[s].slotCount) {
            if dirty, !Self.isMarked(segments[s].dirtBase, i) {
                Self.setMark(segments[s].dirtBase, i, true)
                segments[s].dirtyCount += 1
                dirtyCount += 1
            }
            return
        }
        if segments[s].count + 1 > Self.capacity(segments[s].slotCount) {
            let target = min(segments[s].slotCount * 2, maximumSlotsPerSegment)
            if target > segments[s].slotCount || !evictOne(s) {
                // Grow past the budget only when every key of the segment is dirty (the store flushes
                // long before: dirty keys count with its write buffer).
                resize(s, slots: max(target, segments[s].slotCount + 1))
            }
        }
        Self.place(w, marked: false, dirty: dirty, in: &segments[s])
        segments[s].count += 1
        count += 1
        if dirty { segments[s].dirtyCount += 1; dirtyCount += 1 }
    }

    /// The dirty keys' words (in no order), which are then clean: the caller writes them to LMDB.
    func takeDirty(into words: inout [UInt64]) {
        if zeroIsDirty { words.append(0); zeroIsDirty = false }
        for s in segments.indices where segments[s].dirtyCount > 0 {
            let slots = segments[s].slotBase, dirt = segments[s].dirtBase
            for b in 0..<((segments[s].slotCount + 63) / 64) where dirt[b] != 0 {
                var bits = dirt[b]
                while bits != 0 {
                    words.append(slots[b << 6 | bits.trailingZeroBitCount])
                    bits &= bits - 1
                }
                dirt[b] = 0
            }
            segments[s].dirtyCount = 0
        }
        dirtyCount = 0
    }

    /// The key bytes, zero-extended to 64 bits and loaded in memory order, of the word `w`: the
    /// inverse of ``word(_:)``.
    static func unmix(_ w: UInt64) -> UInt64 {
        var x = w
        x ^= x >> 33
        x &*= inverse(0xc4ce_b9fe_1a85_ec53)
        x ^= x >> 33
        x &*= inverse(0xff51_afd7_ed55_8ccd)
        x ^= x >> 33
        return x
    }

    /// The multiplicative inverse of odd `a` modulo 2^64 (Newton's iteration doubles the correct bits).
    private static func inverse(_ a: UInt64) -> UInt64 {
        var x = a  // correct to 3 bits for odd a
        for _ in 0..<5 { x &*= 2 &- a &* x }
        return x
    }

    /// Forgets `w` (the set may no longer hold it).
    func remove(_ w: UInt64) {
        if w == 0 {
            if hasZero { hasZero = false; count -= 1 }
            if zeroIsDirty { zeroIsDirty = false; dirtyCount -= 1 }
            return
        }
        let s = Self.segment(w)
        guard let i = Self.find(w, segments[s].slotBase, segments[s].slotCount) else { return }
        delete(s, at: i)
    }

    /// Forgets every key.
    func removeAll() {
        if count == 0 { return }
        segments = (0..<Self.segmentCount).map { _ in Segment(slotCount: Self.initialSlotsPerSegment) }
        bytes = segments.reduce(0) { $0 + $1.bytes }
        count = 0
        hasZero = false
        zeroIsDirty = false
        dirtyCount = 0
    }

    /// Forgets every key but the dirty ones (buffered inserts, which must still be written).
    func removeClean() {
        guard count > dirtyCount else { return }
        var dirty: [UInt64] = []
        dirty.reserveCapacity(dirtyCount)
        takeDirty(into: &dirty)
        removeAll()
        for w in dirty { insert(w, dirty: true) }
    }

    /// Sets the budget; one smaller by more than a sixteenth of a segment shrinks the segments at
    /// once (one at a time), keeping referenced keys first. (Smaller changes only stop growth: a
    /// budget that wavers by a few percent must not evict and rebuild the table each time.)
    func setMaximumBytes(_ newValue: Int) {
        maximumBytes = newValue
        let allowed = maximumSlotsPerSegment
        for s in segments.indices where segments[s].slotCount > allowed + allowed / 16 {
            // Dirty keys stay: a segment keeps room for them.
            let target = max(allowed, segments[s].dirtyCount + segments[s].dirtyCount / 3 + 1)
            while segments[s].count > Self.capacity(target), evictOne(s) {}
            if target < segments[s].slotCount, segments[s].count <= Self.capacity(target) { resize(s, slots: target) }
        }
    }

    /// The longest run of occupied slots in any segment (for tests: linear probing's cost).
    func longestRun() -> Int {
        var longest = 0
        for segment in segments {
            var run = 0
            for i in 0..<(2 * segment.slotCount) {  // twice round, for a run that wraps
                if segment.slotBase[i % segment.slotCount] != 0 { run += 1; longest = max(longest, min(run, segment.slotCount)) } else { run = 0 }
            }
        }
        return longest
    }

    // MARK: Slots

    /// The slot holding `w` (nonzero) in `segment`, or nil.
    @inline(__always)
    private static func find(_ w: UInt64, _ slots: UnsafeMutablePointer<UInt64>, _ n: Int) -> Int? {
        var i = home(w, n)
        while true {
            let x = slots[i]
            if x == w { return i }
            if x == 0 { return nil }
            i = i + 1 == n ? 0 : i + 1
        }
    }

    /// Puts `w` (absent, nonzero) in the first free slot from its home; the caller counts it.
    @inline(__always)
    private static func place(_ w: UInt64, marked: Bool, dirty: Bool, in segment: inout Segment) {
        let slots = segment.slotBase, n = segment.slotCount
        var i = home(w, n)
        while slots[i] != 0 { i = i + 1 == n ? 0 : i + 1 }
        slots[i] = w
        setMark(segment.markBase, i, marked)
        setMark(segment.dirtBase, i, dirty)
    }

    @inline(__always) private static func isMarked(_ marks: UnsafeMutablePointer<UInt64>, _ i: Int) -> Bool {
        marks[i >> 6] & (1 << UInt64(i & 63)) != 0
    }
    @inline(__always) private static func setMark(_ marks: UnsafeMutablePointer<UInt64>, _ i: Int, _ on: Bool) {
        if on { marks[i >> 6] |= 1 << UInt64(i & 63) } else { marks[i >> 6] &= ~(1 << UInt64(i & 63)) }
    }

    /// Removes the entry at `start` of segment `s`, shifting later entries of its run back.
    private func delete(_ s: Int, at start: Int) {
        let slots = segments[s].slotBase, marks = segments[s].markBase, n = segments[s].slotCount
        let dirt = segments[s].dirtBase
        if Self.isMarked(dirt, start) { segments[s].dirtyCount -= 1; dirtyCount -= 1 }
        var i = start
        var j = i
        while true {
            j = j + 1 == n ? 0 : j + 1
            let w = slots[j]
            if w == 0 { break }
            let h = Self.home(w, n)
            // Move w back into the hole at i unless its home lies cyclically in (i, j].
            let stays = i <= j ? (i < h && h <= j) : (i < h || h <= j)
            if !stays {
                slots[i] = w
                Self.setMark(marks, i, Self.isMarked(marks, j))
                Self.setMark(dirt, i, Self.isMarked(dirt, j))
                i = j
            }
        }
        slots[i] = 0
        Self.setMark(marks, i, false)
        Self.setMark(dirt, i, false)
        segments[s].count -= 1
        count -= 1
    }

    /// CLOCK in segment `s`: clears reference bits until an unreferenced clean entry is found, and
    /// evicts it. False if every entry is dirty.
    @discardableResult
    private func evictOne(_ s: Int) -> Bool {
        guard segments[s].count > segments[s].dirtyCount else { return false }
        let slots = segments[s].slotBase, marks = segments[s].markBase, dirt = segments[s].dirtBase
        let n = segments[s].slotCount, stride = segments[s].stride
        var hand = segments[s].hand
        while true {
            let at = hand
            hand += stride
            if hand >= n { hand -= n }
            if slots[at] != 0, !Self.isMarked(dirt, at) {
                if Self.isMarked(marks, at) {
                    Self.setMark(marks, at, false)
                } else {
                    delete(s, at: at)
                    evictions += 1
                    isComplete = false
                    segments[s].hand = hand
                    return true
                }
            }
        }
    }

    /// Rebuilds segment `s` with `target` slots (enough for its keys), keeping reference bits.
    private func resize(_ s: Int, slots target: Int) {
        let old = segments[s]
        var new = Segment(slotCount: target)
        for k in 0..<old.slotCount {
            let w = old.slotBase[k]
            if w != 0 { Self.place(w, marked: Self.isMarked(old.markBase, k), dirty: Self.isMarked(old.dirtBase, k), in: &new) }
        }
        new.count = old.count
        new.dirtyCount = old.dirtyCount
        bytes += new.bytes - old.bytes
        segments[s] = new
    }
}
