/// In-place sorting of fixed-width states, the first step of delayed duplicate detection.
///
/// An MSD ("American flag") radix sort: one counting pass per byte, then an in-place permutation, so it
/// needs no scratch buffer as large as its input (the engine's heap bound counts on that). It starts at
/// the highest byte in which the keys differ, so packed states that use only the low 40 bits of a
/// `UInt64` take five passes, not eight. Small buckets finish with an insertion sort.
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
        sort(base, count: count, shift: highBit / 8 * 8)
        var kept = 1
        var last = base[0]
        for i in 1..<count where base[i] != last {
            last = base[i]
            base[kept] = last
            kept += 1
        }
        return kept
    }

    private static func sort(_ base: UnsafeMutablePointer<UInt64>, count: Int, shift: Int) {
        if count < insertionThreshold {
            insertionSort(base, count: count)
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
                if n > 1 { sort(base + offset, count: n, shift: shift - 8) }
                offset += n
            }
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
