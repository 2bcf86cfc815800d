import DiskCollections
import SearchPuzzles
import Testing
import TestSupport

/// The README's example, as written there (with a temporary path), so it keeps compiling and meaning
/// what it says.
@Suite struct ReadmeExampleTests {
    @Test func theReadmeExampleDoesWhatItSays() throws {
        let dir = TemporaryDirectory()
        let store = try Store(at: dir.appending("search.store"))                    // a directory; created if missing
        let visited  = try store.set("visited", of: UInt64.self)           // DiskSet<UInt64>
        let frontier = try store.queue("frontier", of: UInt64.self)        // DiskQueue<UInt64>, FIFO
        let parent   = try store.map("parent", key: UInt64.self, value: UInt32.self)    // DiskMap<UInt64, UInt32>
        let costs    = try store.array("costs", of: Double.self)           // DiskArray<Double>
        let postings = try store.multimap("postings", key: String.self, value: UInt32.self) // DiskMultimap

        var fresh: [UInt64] = []
        try store.write {                                   // one atomic transaction
            for s in try visited.insert(contentsOf: [7, 3, 7, 9]) {   // only the new ones: [3, 7, 9]
                fresh.append(s)
                try parent.setValue(0, forKey: s)
                try frontier.append(s)
            }
        }
        let next = try frontier.popFirst()                  // Optional(3)
        try store.checkpoint()                              // everything so far is on disk

        #expect(fresh == [3, 7, 9])
        #expect(next == 3)
        #expect(try parent.count == 3 && costs.isEmpty && postings.isEmpty)
        #expect(try store.collections().map(\.name) == ["costs", "frontier", "parent", "postings", "visited"])
    }

    @Test func theReadmeSearchExampleDoesWhatItSays() throws {
        let dir = TemporaryDirectory()
        let pancakes = Pancake(7)
        let start = pancakes.start
        @Sendable func successors(of s: UInt64) -> [UInt64] {
            var out: [UInt64] = []
            pancakes.forEachSuccessor(of: s) { out.append($0) }
            return out
        }

        let store = try Store(at: dir.appending("pancake12.store"))
        let search = try BreadthFirstSearch(store: store, name: "pancake12", of: UInt64.self,
                                            options: .init(undirected: true, memory: 200 << 20))
        let result = try search.run(from: [start]) { state, emit in      // runs on every core
            for next in successors(of: state) { emit(next) }
        }
        #expect(result.levels == pancakes.depthTable)   // new states per depth
    }
}
