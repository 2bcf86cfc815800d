import DiskCollections
import Foundation
import SearchPuzzles
import Testing
import TestSupport

@Suite struct BreadthFirstSearchTests {
    func search(_ puzzle: some Puzzle, in store: Store, undirected: Bool = true, memory: Int = 4 << 20,
                parallelism: Int = 2) throws -> BreadthFirstSearch<UInt64>.Result {
        let bfs = try BreadthFirstSearch(store: store, name: puzzle.name, of: UInt64.self,
                                         options: .init(undirected: undirected, memory: memory, parallelism: parallelism))
        return try bfs.run(from: [puzzle.start]) { state, emit in puzzle.forEachSuccessor(of: state, emit) }
    }

    @Test func eightPuzzleMatchesThePublishedTable() throws {
        let fixture = try StoreFixture()
        let result = try search(SlidingTile.eightPuzzle, in: fixture.store)
        #expect(result.levels == SlidingTile.eightPuzzle.depthTable)
        #expect(result.states == 181_440)
    }

    @Test func pancakesMatchTheInHeapSearchAndThePublishedRows() throws {
        for n in [6, 8, 9] {
            let fixture = try StoreFixture()
            let puzzle = Pancake(n)
            let result = try search(puzzle, in: fixture.store)
            #expect(result.levels == InHeapSearch.levels(of: puzzle), "pancake \(n)")
            #expect(result.levels == puzzle.depthTable, "pancake \(n)")
        }
    }
}
