import DiskCollections

/// The levels a directed partitioned search named `name` stored, read from every rank's store
/// (`stores`, in rank order), merged and sorted by depth; and the states a rank's store holds that
/// another rank owns (there should be none).
public func partitionedLevels(_ name: String, stores: [String], depths: Int) throws -> (levels: [[UInt64]], misplaced: [UInt64]) {
    var levels = Array(repeating: [UInt64](), count: depths)
    var misplaced: [UInt64] = []
    for (rank, path) in stores.enumerated() {
        let store = try Store(at: path)
        defer { store.close() }
        let search = try BreadthFirstSearch(store: store, name: name, of: UInt64.self, options: .init(undirected: false))
        for depth in 0..<depths {
            try search.forEachState(atDepth: depth) { state in
                if SearchPartition.owner(ofEncoded: state, size: stores.count) != rank { misplaced.append(state) }
                levels[depth].append(state)
            }
        }
    }
    return (levels.map { $0.sorted() }, misplaced)
}
