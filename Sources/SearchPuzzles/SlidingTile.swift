/// A sliding-tile puzzle on a `rows × columns` board (the 8-puzzle is 3 × 3), as a state space.
///
/// A state packs one cell a nibble, cell `i` (row-major) in bits `4i ..< 4i + 4`, the blank as 0; so
/// boards have at most 16 cells. The start is the solved board with the blank in the top-left corner
/// and tiles 1, 2, … in order. Half of all placements are reachable: 9!/2 = 181,440 for the 8-puzzle.
///
/// Published depth table: OEIS A089473 (3 × 3, blank in a corner). Other boards are checked against
/// their state count and the in-heap search.
public struct SlidingTile: Puzzle {
    public let rows: Int
    public let columns: Int
    @usableFromInline let cells: Int
    /// For every blank position, its neighbours' positions (up to four, -1 when absent).
    @usableFromInline let neighbours: [Int]

    public init(rows: Int, columns: Int) {
        precondition(rows >= 2 && columns >= 2 && rows * columns <= 16, "a board of 4 to 16 cells")
        self.rows = rows
        self.columns = columns
        cells = rows * columns
        var table: [Int] = []
        for p in 0..<(rows * columns) {
            let r = p / columns, c = p % columns
            table += [r > 0 ? p - columns : -1, r < rows - 1 ? p + columns : -1,
                      c > 0 ? p - 1 : -1, c < columns - 1 ? p + 1 : -1]
        }
        neighbours = table
    }

    /// The 8-puzzle.
    public static let eightPuzzle = SlidingTile(rows: 3, columns: 3)

    public var name: String { rows == 3 && columns == 3 ? "8-puzzle" : "sliding-\(rows)x\(columns)" }

    public var start: UInt64 { (1..<cells).reduce(0) { $0 | UInt64($1) << (4 * UInt64($1)) } }

    public var stateCount: Int { (1...cells).reduce(1, *) / 2 }

    public var depthTable: [Int]? {
        switch (rows, columns) {
        case (3, 3):
            return [1, 2, 4, 8, 16, 20, 39, 62, 116, 152, 286, 396, 748, 1024, 1893, 2512, 4485, 5638, 9529, 10878,
                    16993, 17110, 23952, 20224, 24047, 15578, 14560, 6274, 3910, 760, 221, 2]
        default: return nil
        }
    }

    public var source: String { rows == 3 && columns == 3 ? "OEIS A089473" : "none embedded; checked against the state count" }
    public var isUndirected: Bool { true }

    @inlinable
    public func forEachSuccessor(of state: UInt64, _ body: (UInt64) throws -> Void) rethrows {
        var blank = 0
        while (state >> (4 * UInt64(blank))) & 0xF != 0 { blank += 1 }
        let b = 4 * UInt64(blank)
        for k in 0..<4 {
            let p = neighbours[4 * blank + k]
            if p < 0 { continue }
            let shift = 4 * UInt64(p)
            let tile = (state >> shift) & 0xF
            // The tile moves into the blank's cell; its old cell becomes the blank.
            try body((state & ~(0xF << shift)) | tile << b)
        }
    }
}

/// The pancake problem: a stack of `n` pancakes, a move flips the top `k` (k = 2 … n), as a state space.
///
/// A state is a permutation of 0 … n−1 packed one nibble a pancake, the top one in the lowest nibble
/// (n ≤ 16). A flip of the top k is a nibble reversal of the low 4k bits. n! states.
/// Published depth tables: OEIS A092113 (embedded up to n = 11); the largest depth is A058986(n).
public struct Pancake: Puzzle {
    public let count: Int

    public init(_ count: Int) {
        precondition((2...16).contains(count), "2 to 16 pancakes")
        self.count = count
    }

    public var name: String { "pancake-\(count)" }
    public var start: UInt64 { (0..<count).reduce(0) { $0 | UInt64($1) << (4 * UInt64($1)) } }
    public var stateCount: Int { (1...count).reduce(1, *) }
    public var isUndirected: Bool { true }

    /// A058986: the most flips any stack of n needs (the pancake numbers), known up to n = 19.
    public static let pancakeNumbers = [0, 0, 1, 3, 4, 5, 7, 8, 9, 10, 11, 13, 14, 15, 16, 17, 18, 19, 20, 22]

    public var depthTable: [Int]? {
        switch count {
        case 2: return [1, 1]
        case 3: return [1, 2, 2, 1]
        case 4: return [1, 3, 6, 11, 3]
        case 5: return [1, 4, 12, 35, 48, 20]
        case 6: return [1, 5, 20, 79, 199, 281, 133, 2]
        case 7: return [1, 6, 30, 149, 543, 1357, 1903, 1016, 35]
        case 8: return [1, 7, 42, 251, 1191, 4281, 10561, 15011, 8520, 455]
        case 9: return [1, 8, 56, 391, 2278, 10666, 38015, 93585, 132697, 79379, 5804]
        case 10: return [1, 9, 72, 575, 3963, 22825, 106461, 377863, 919365, 1309756, 814678, 73232]
        case 11: return [1, 10, 90, 809, 6429, 43891, 252737, 1174766, 4126515, 9981073, 14250471, 9123648, 956354, 6]
        case 12: return [1, 11, 110, 1099, 9883, 77937, 533397, 3064788, 14141929, 49337252, 118420043, 169332213,
                         111050066, 13032704, 167]
        case 13: return [1, 12, 132, 1451, 14556, 130096, 1030505, 7046318, 40309555, 184992275, 639783475,
                         1525125357, 2183056566, 1458653648, 186874852, 2001]
        default: return nil
        }
    }

    public var source: String { count <= 13 ? "OEIS A092113" : "OEIS A058986 (depth) and \(count)! (states)" }

    @inlinable
    public func forEachSuccessor(of state: UInt64, _ body: (UInt64) throws -> Void) rethrows {
        // Reverse the nibbles of the whole word once; the flip of the top k is its top 4k bits.
        var r = state.byteSwapped
        r = (r & 0x0F0F_0F0F_0F0F_0F0F) << 4 | (r >> 4) & 0x0F0F_0F0F_0F0F_0F0F
        for k in 2...count {
            let bits = 4 * UInt64(k)
            let low: UInt64 = bits == 64 ? ~0 : (1 << bits) - 1
            try body((state & ~low) | (r >> (64 - bits)))
        }
    }
}

/// The in-heap breadth-first search a user would write first: a `Set<UInt64>` of visited states and
/// `[UInt64]` frontiers. The reference the tests and `diskcoll search --compare-heap` check against.
public enum InHeapSearch {
    /// The number of states first reached at each depth.
    public static func levels(from start: [UInt64], successors: (UInt64, (UInt64) -> Void) -> Void) -> [Int] {
        var visited = Set(start)
        var frontier = Array(visited)
        var levels: [Int] = frontier.isEmpty ? [] : [frontier.count]
        while !frontier.isEmpty {
            var next: [UInt64] = []
            for state in frontier {
                successors(state) { s in if visited.insert(s).inserted { next.append(s) } }
            }
            if !next.isEmpty { levels.append(next.count) }
            frontier = next
        }
        return levels
    }

    /// The levels of `puzzle` from its start.
    public static func levels(of puzzle: some Puzzle) -> [Int] {
        levels(from: [puzzle.start]) { state, emit in puzzle.forEachSuccessor(of: state, emit) }
    }
}
