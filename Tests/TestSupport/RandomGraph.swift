/// Small implicit graphs with known structure, searched on disk and in the heap (by the search tests,
/// and by MPISearchProbe under mpirun).
public enum RandomGraph {
    /// A directed graph on 0..<n: each state has 0 to 3 successors chosen by a hash, some repeated.
    public static func directed(n: UInt64, seed: UInt64) -> @Sendable (UInt64, (UInt64) -> Void) -> Void {
        { state, emit in
            let h = SplitMix64.mix(state ^ seed)
            let degree = Int(h % 4)
            for i in 0..<degree { emit(SplitMix64.mix(h &+ UInt64(i)) % n) }
            if degree == 3 { emit(SplitMix64.mix(h) % n) }  // a duplicate successor
        }
    }

    /// An undirected graph on 0..<n: s ± a mod n for a few steps a, and s XOR m for masks below n
    /// when n is a power of two; every move has its inverse.
    public static func undirected(n: UInt64, steps: [UInt64], masks: [UInt64]) -> @Sendable (UInt64, (UInt64) -> Void) -> Void {
        { state, emit in
            for a in steps {
                emit((state + a) % n)
                emit((state + n - a) % n)
            }
            for m in masks where state ^ m < n { emit(state ^ m) }
        }
    }

    /// The in-heap BFS with every level's states, for comparing levels as sets.
    public static func inHeap(from start: [UInt64], _ successors: (UInt64, (UInt64) -> Void) -> Void) -> [[UInt64]] {
        var visited = Set(start)
        var frontier = Array(visited)
        var levels: [[UInt64]] = frontier.isEmpty ? [] : [frontier.sorted()]
        while !frontier.isEmpty {
            var next: [UInt64] = []
            for s in frontier { successors(s) { t in if visited.insert(t).inserted { next.append(t) } } }
            if !next.isEmpty { levels.append(next.sorted()) }
            frontier = next
        }
        return levels
    }
}

extension RandomGraph {
    /// The start states of MPISearchProbe's searches (a repeated one included).
    public static func probeStart(n: UInt64, seed: UInt64) -> [UInt64] {
        [seed % n, SplitMix64.mix(seed) % n, seed % n]
    }

    /// MPISearchProbe's undirected graph on 0..<n (n a power of two): a few steps and masks.
    public static func undirectedProbeGraph(n: UInt64) -> @Sendable (UInt64, (UInt64) -> Void) -> Void {
        undirected(n: n, steps: [1, 37, 1_000], masks: [1 << 3, 1 << 9, n >> 1])
    }
}
