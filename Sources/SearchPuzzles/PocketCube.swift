/// The 2×2×2 Rubik's cube ("pocket cube"), as a state space for breadth-first search.
///
/// A state is the permutation and orientation of the eight corners, packed into a `UInt64`: corner
/// slot `i` takes bits `5i ..< 5i + 5`, three bits for which corner sits there and two for its twist.
/// The down-back-left corner never moves (only U, R and F turns are used), so every state is counted
/// once, not once per rotation of the whole cube: 3,674,160 states.
///
/// Published depth tables: OEIS A079761 (half-turn metric: U, U2, U', R, R2, R', F, F2, F', nine
/// moves) and A079762 (quarter-turn metric: six moves).
public struct PocketCube: Sendable {
    /// How moves are counted.
    public enum Metric: String, Sendable, CaseIterable {
        /// Quarter and half turns are one move each (OEIS A079761): nine moves.
        case halfTurn = "htm"
        /// Only quarter turns are moves (OEIS A079762): six moves.
        case quarterTurn = "qtm"
    }

    public let metric: Metric
    /// The moves as flat tables, eight entries a move: for every slot, the shift of the slot its corner
    /// comes from, and the twist added.
    @usableFromInline let fromShift: [UInt64]
    @usableFromInline let twist: [UInt64]
    /// The number of moves: 9 in the half-turn metric, 6 in the quarter-turn metric.
    public let moveCount: Int

    public init(metric: Metric = .halfTurn) {
        self.metric = metric
        // Corner slots: 0 URF, 1 UFL, 2 ULB, 3 UBR, 4 DFR, 5 DLF, 6 DBL, 7 DRB. Each basic move says
        // which slot's corner lands in each slot, and how much that corner twists.
        let u = (from: [3, 0, 1, 2, 4, 5, 6, 7], twist: [UInt64](repeating: 0, count: 8))
        let r = (from: [4, 1, 2, 0, 7, 5, 6, 3], twist: [UInt64]([2, 0, 0, 1, 1, 0, 0, 2]))
        let f = (from: [1, 5, 2, 3, 0, 4, 6, 7], twist: [UInt64]([1, 2, 0, 0, 2, 1, 0, 0]))
        func compose(_ a: (from: [Int], twist: [UInt64]), _ b: (from: [Int], twist: [UInt64])) -> (from: [Int], twist: [UInt64]) {
            // a then b: slot i receives what b takes from slot b.from[i], which a filled from a.from[b.from[i]].
            (from: (0..<8).map { a.from[b.from[$0]] }, twist: (0..<8).map { (a.twist[b.from[$0]] + b.twist[$0]) % 3 })
        }
        var table: [(from: [Int], twist: [UInt64])] = []
        for m in [u, r, f] {
            let twice = compose(m, m)
            let thrice = compose(twice, m)
            table += metric == .halfTurn ? [m, twice, thrice] : [m, thrice]
        }
        fromShift = table.flatMap { $0.from.map { 5 * UInt64($0) } }
        twist = table.flatMap(\.twist)
        moveCount = table.count
    }

    /// The solved cube.
    public static let solved: UInt64 = (0..<8).reduce(0) { $0 | UInt64($1) << (5 * UInt64($1)) }

    /// The number of states reachable from ``solved``.
    public static let stateCount = 3_674_160

    /// The published number of states at each depth (OEIS A079761 or A079762).
    public var depthTable: [Int]? {
        switch metric {
        case .halfTurn: return [1, 9, 54, 321, 1847, 9992, 50136, 227536, 870072, 1887748, 623800, 2644]
        case .quarterTurn: return [1, 6, 27, 120, 534, 2256, 8969, 33058, 114149, 360508, 930588, 1350852, 782536, 90280, 276]
        }
    }

    /// Calls `body` with every state one move from `state`.
    @inlinable
    public func forEachSuccessor(of state: UInt64, _ body: (UInt64) throws -> Void) rethrows {
        try fromShift.withUnsafeBufferPointer { from in
            try twist.withUnsafeBufferPointer { twist in
                for m in 0..<moveCount {
                    var next: UInt64 = 0
                    for i in 0..<8 {
                        let piece = (state >> from[8 * m + i]) & 0x1F
                        var t = (piece >> 3) + twist[8 * m + i]
                        if t >= 3 { t -= 3 }
                        next |= ((piece & 7) | t << 3) << (5 * UInt64(i))
                    }
                    try body(next)
                }
            }
        }
    }
}
