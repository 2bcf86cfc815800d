/// In-place sorting of fixed-width states, the first step of delayed duplicate detection.
///
/// An MSD ("American flag") radix sort: one counting pass per byte, then an in-place permutation, so it
/// needs no scratch buffer as large as its input (the engine's heap bound counts on that). It starts at
/// the highest bit in which the keys differ, so packed states that use only the low 40 bits of a
/// `UInt64` take at most five passes, not eight. Small buckets finish with an insertion sort.
enum RadixSort {
    /// Buckets smaller than this are insertion-sorted.
    static let insertionThreshold = 48

    /// Sorts `count` keys at `base` ascending, removes duplicates, and returns how many distinct keys
    /// remain at the front.
    /// - Complexity: O(n·w) for n keys whose values differ in their low w bytes.
    static func sortAndDeduplicate(_ base: UnsafeMutablePointer<UInt64>, count: Int) -> Int {
        guard count > 1 else { return count }
        var differing: UInt64 = 0
        let first = base[0]
        for i in 1..<count { differing |= base[i] ^ first }
        guard differing != 0 else { return 1 }
        let highBit = 63 - differing.leadingZeroBitCount
        // The first digit is the top eight bits that differ, not a byte boundary: 44-bit states take
        // digits 36–43, 28–35, …, not 40–47 (16 values) first.
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: scratchCapacity + 8 * 256)
        defer { scratch.deallocate() }
        sort(base, count: count, shift: max(0, highBit - 7), scratch: scratch)
        var kept = 1
        var last = base[0]
        for i in 1..<count where base[i] != last {
            last = base[i]
            base[kept] = last
            kept += 1
        }
        return kept
    }

    /// Buckets of at most this many keys (256 KiB) finish with an LSD radix sort through a scratch
    /// buffer of that size: their keys fit in the CPU's cache, where sequential counting passes beat
    /// the in-place permutation's scattered swaps (measured: the search's sorting time halved).
    static let scratchCapacity = 1 << 15

    private static func sort(_ base: UnsafeMutablePointer<UInt64>, count: Int, shift: Int, scratch: UnsafeMutablePointer<UInt64>) {
        if count < insertionThreshold {
            insertionSort(base, count: count)
            return
        }
        if count <= scratchCapacity {
            leastSignificantDigitSort(base, count: count, bits: shift + 8, scratch: scratch)
            return
        }
        withUnsafeTemporaryAllocation(of: Int.self, capacity: 512) { table in
            let counts = table.baseAddress!
            let next = counts + 256
            counts.initialize(repeating: 0, count: 256)
            let s = UInt64(shift)
            for i in 0..<count { counts[Int((base[i] &>> s) & 0xff)] += 1 }
            var start = 0
            for b in 0..<256 {
                next[b] = start
                start += counts[b]
            }
            // Permute in place: for each bucket, swap misplaced keys to their bucket's next free slot.
            var end = 0
            for b in 0..<256 {
                end += counts[b]
                var i = next[b]
                while i < end {
                    var value = base[i]
                    var digit = Int((value &>> s) & 0xff)
                    while digit != b {
                        let slot = next[digit]
                        next[digit] = slot + 1
                        swap(&value, &base[slot])
                        digit = Int((value &>> s) & 0xff)
                    }
                    base[i] = value
                    i += 1
                    next[b] = i
                }
            }
            guard shift > 0 else { return }
            var offset = 0
            for b in 0..<256 {
                let n = counts[b]
                // Below bit 8 the last digit overlaps the one before; those bits are equal within the bucket.
                if n > 1 { sort(base + offset, count: n, shift: max(0, shift - 8), scratch: scratch) }
                offset += n
            }
        }
    }

    /// Sorts `count` keys that are equal above bit `bits` by their low `bits` bits, one stable
    /// counting pass per byte (all histograms from one read), skipping bytes in which no keys differ.
    private static func leastSignificantDigitSort(_ base: UnsafeMutablePointer<UInt64>, count: Int, bits: Int,
                                                  scratch: UnsafeMutablePointer<UInt64>) {
        let digits = (bits + 7) / 8
        precondition(count > 0 && (1...8).contains(digits), "count \(count) bits \(bits)")
        do {
            let counts = scratch + scratchCapacity  // 8 × 256 histogram words after the keys
            counts.initialize(repeating: 0, count: 256 * digits)
            for i in 0..<count {
                var v = base[i]
                for d in 0..<digits {
                    counts[d &* 256 &+ Int(v & 0xff)] &+= 1
                    v &>>= 8
                }
            }
            var from = base, to = scratch
            for d in 0..<digits {
                let c = counts + d * 256
                let s = UInt64(8 * d)
                if c[Int((base[0] &>> s) & 0xff)] == UInt64(count) { continue }  // every key has this byte
                var start: UInt64 = 0
                for b in 0..<256 {
                    let n = c[b]
                    c[b] = start
                    start &+= n
                }
                for i in 0..<count {
                    let v = from[i]
                    let b = Int((v &>> s) & 0xff)
                    to[Int(c[b])] = v
                    c[b] &+= 1
                }
                swap(&from, &to)
            }
            if from != base { base.update(from: from, count: count) }
        }
    }

    private static func insertionSort(_ base: UnsafeMutablePointer<UInt64>, count: Int) {
        guard count > 1 else { return }
        for i in 1..<count {
            let value = base[i]
            var j = i
            while j > 0 && base[j - 1] > value {
                base[j] = base[j - 1]
                j -= 1
            }
            base[j] = value
        }
    }
}
