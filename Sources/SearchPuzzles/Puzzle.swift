/// A state space with its states packed into `UInt64`s, for breadth-first search.
public protocol Puzzle: Sendable {
    /// The name `diskcoll search` knows it by, e.g. `pancake-11`.
    var name: String { get }
    /// The state the search starts from (the solved one).
    var start: UInt64 { get }
    /// The total number of reachable states.
    var stateCount: Int { get }
    /// The published number of states at each depth, or `nil` where none is known to us.
    var depthTable: [Int]? { get }
    /// Where `depthTable` comes from, e.g. `OEIS A089473`.
    var source: String { get }
    /// Whether every move has an inverse move (so a frontier search is exact).
    var isUndirected: Bool { get }
    /// Calls `body` with every state one move from `state`.
    func forEachSuccessor(of state: UInt64, _ body: (UInt64) throws -> Void) rethrows
}

extension PocketCube: Puzzle {
    public var name: String { "pocket-cube-\(metric.rawValue)" }
    public var start: UInt64 { PocketCube.solved }
    public var stateCount: Int { PocketCube.stateCount }
    public var source: String { metric == .halfTurn ? "OEIS A079761" : "OEIS A079762" }
    public var isUndirected: Bool { true }
}
