@testable import DiskCollections
import Testing
import TestSupport

/// The engine's in-place sort: every path (insertion, LSD through the scratch buffer, MSD passes,
/// digits below a byte boundary) against the standard library's sort.
@Suite struct RadixSortTests {
    @Test(arguments: [(0, 64), (1, 64), (47, 64), (48, 12), (5_000, 64), (40_000, 44), (200_000, 44), (300_000, 9), (100_000, 1), (70_000, 33)])
    func sortsAndDeduplicatesLikeTheStandardLibrary(count: Int, bits: Int) {
        var generator = SplitMix64(seed: UInt64(count * 131 + bits))
        let mask: UInt64 = bits == 64 ? .max : (1 << UInt64(bits)) - 1
        var keys = (0..<count).map { _ in generator.next() & mask }
        keys += keys.prefix(count / 3)  // duplicates
        let expected = Array(Set(keys)).sorted()
        let n = keys.withUnsafeMutableBufferPointer { b in
            b.isEmpty ? 0 : RadixSort.sortAndDeduplicate(b.baseAddress!, count: b.count)
        }
        #expect(Array(keys.prefix(n)) == expected)
    }

    @Test func permutationsPackedInNibbles() {
        // The pancakes' layout: few values per byte, so buckets stay large for several passes.
        var generator = SplitMix64(seed: 11)
        var keys: [UInt64] = (0..<120_000).map { _ in
            var p = Array(0..<11)
            p.shuffle(using: &generator)
            return p.reduce(0) { $0 << 4 | UInt64($1) }
        }
        let expected = Array(Set(keys)).sorted()
        let n = keys.withUnsafeMutableBufferPointer { RadixSort.sortAndDeduplicate($0.baseAddress!, count: $0.count) }
        #expect(Array(keys.prefix(n)) == expected)
    }
}
