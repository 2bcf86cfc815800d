import DiskCollections
import Foundation
import SearchPuzzles
import Testing
import TestSupport

/// The partitioned search (issue 15) over ranks that are threads of this process
/// (`ThreadCommunicatorGroup`), each with a store of its own; the same engine runs over MPI processes
/// in DiskCollectionsMPI's tests.
@Suite struct PartitionedSearchTests {
    typealias Successors = @Sendable (UInt64, (UInt64) -> Void) throws -> Void

    /// One search over `directories.count` ranks; each rank opens its store in its directory.
    static func run(_ name: String, in directories: [TemporaryDirectory], from start: [UInt64], undirected: Bool,
                    memory: Int = 4 << 20, group: ThreadCommunicatorGroup? = nil,
                    failing: (rank: Int, operation: Int, after: Bool)? = nil,
                    _ successors: @escaping Successors) -> [Result<SearchResult, any Error>] {
        let group = group ?? ThreadCommunicatorGroup(size: directories.count)
        let paths = directories.map(\.path)
        return group.run { communicator in
            if let failing, failing.rank == communicator.rank {
                communicator.failAtOperation = failing.operation
                communicator.failsAfterOperation = failing.after
            }
            let store = try Store(at: paths[communicator.rank])
            defer { store.close() }
            let search = try BreadthFirstSearch(store: store, name: name, of: UInt64.self,
                                                options: .init(undirected: undirected, memory: memory, parallelism: 2))
            return try search.run(from: start, communicator: communicator, successors: successors)
        }
    }

    static func puzzleSuccessors(_ puzzle: some Puzzle) -> Successors {
        { state, emit in puzzle.forEachSuccessor(of: state, emit) }
    }

    @Test(arguments: [2, 3])
    func puzzlesOverSeveralRanksMatchThePublishedTables(ranks: Int) throws {
        for puzzle in [SlidingTile.eightPuzzle, Pancake(8)] as [any Puzzle] {
            let directories = (0..<ranks).map { _ in TemporaryDirectory("rank") }
            let results = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true,
                                   Self.puzzleSuccessors(puzzle))
            for (rank, result) in results.enumerated() {
                #expect(try result.get().levels == puzzle.depthTable, "\(puzzle.name), rank \(rank) of \(ranks)")
            }
        }
    }

    @Test func aRandomDirectedGraphOverThreeRanksMatchesAnInHeapSearchStateByState() throws {
        let n: UInt64 = 200_000
        let successors = RandomGraph.directed(n: n, seed: 11)
        let start: [UInt64] = [11, 78, 11]
        let expected = RandomGraph.inHeap(from: start, successors)
        let directories = (0..<3).map { _ in TemporaryDirectory("rank") }
        let results = Self.run("graph", in: directories, from: start, undirected: false) { successors($0, $1) }
        for result in results {
            #expect(try result.get().levels == expected.map(\.count))
        }
        // A directed search keeps every level: their union over the ranks is the in-heap search's.
        let stored = try partitionedLevels("graph", stores: directories.map(\.path), depths: expected.count)
        #expect(stored.misplaced.isEmpty, "states stored by a rank that does not own them")
        #expect(stored.levels == expected)
    }

    @Test func aRankThatDiesMidLevelResumesToTheSameResult() throws {
        let puzzle = Pancake(8)
        // How many operations (sends, receives, level ends, collectives) a whole search makes, to fail halfway through it.
        let counted = ThreadCommunicatorGroup(size: 2)
        let whole = (0..<2).map { _ in TemporaryDirectory("rank") }
        _ = Self.run(puzzle.name, in: whole, from: [puzzle.start], undirected: true, group: counted, Self.puzzleSuccessors(puzzle))
        let halfway = counted.operations / 2 / 2  // per rank, half
        #expect(halfway > 10)
        let directories = (0..<2).map { _ in TemporaryDirectory("rank") }
        let first = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true,
                             failing: (rank: 1, operation: halfway, after: false), Self.puzzleSuccessors(puzzle))
        #expect(first.allSatisfy { if case .failure = $0 { true } else { false } })
        let completed = try directories.map { directory in
            let store = try Store(at: directory.path)
            defer { store.close() }
            return try BreadthFirstSearch(store: store, name: puzzle.name, of: UInt64.self,
                                          options: .init(undirected: true)).completedLevels
        }
        #expect(completed.allSatisfy { $0.count < puzzle.depthTable!.count }, "the failure stopped every rank before the end")
        let second = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true, Self.puzzleSuccessors(puzzle))
        for result in second {
            #expect(try result.get().levels == puzzle.depthTable)
        }
    }

    @Test func aFailureAtEveryPointOfTheSearchResumesToTheSameResult() throws {
        // Pancake 6 (720 states, 7 levels) is small enough to kill at every operation in turn, before
        // the failing rank takes part in it and after (when the others may commit a level it does not,
        // and the resume rolls them back to the level all committed).
        let puzzle = Pancake(6)
        var operation = 1
        var finished = false
        while !finished {
            for after in [false, true] {
                let directories = (0..<2).map { _ in TemporaryDirectory("rank") }
                let first = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true,
                                     failing: (rank: operation % 2, operation: operation, after: after), Self.puzzleSuccessors(puzzle))
                // Past the search's last operation the failure never comes.
                finished = first.allSatisfy { if case .success = $0 { true } else { false } }
                let second = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true, Self.puzzleSuccessors(puzzle))
                for result in second {
                    #expect(try result.get().levels == puzzle.depthTable, "killed at operation \(operation), after: \(after)")
                }
            }
            operation += 1
        }
        #expect(operation > 20)
    }

    @Test func anotherNumberOfRanksIsAClearErrorAndChangesNothing() throws {
        let puzzle = Pancake(7)
        let directories = (0..<3).map { _ in TemporaryDirectory("rank") }
        let interrupted = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true,
                                   failing: (rank: 0, operation: 12, after: false), Self.puzzleSuccessors(puzzle))
        #expect(interrupted.contains { if case .failure = $0 { true } else { false } })
        let before = try directories.map { try snapshot($0) }
        let wrong = Self.run(puzzle.name, in: Array(directories.prefix(2)), from: [puzzle.start], undirected: true,
                             Self.puzzleSuccessors(puzzle))
        for result in wrong {
            #expect {
                try result.get()
            } throws: { error in
                guard case .invalidSearch(_, let reason) = error as? DiskCollectionsError else { return false }
                return reason.contains("3 ranks") && reason.contains("mpirun -np 3")
            }
        }
        #expect(try directories.map { try snapshot($0) } == before)
        // With the right number it finishes.
        for result in Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true, Self.puzzleSuccessors(puzzle)) {
            #expect(try result.get().levels == puzzle.depthTable)
        }
    }

    @Test func aSearchRunInOneProcessIsNotResumedAsAPartitionedOne() throws {
        let puzzle = Pancake(6)
        let directories = [TemporaryDirectory("rank"), TemporaryDirectory("rank")]
        do {
            let store = try Store(at: directories[0].path)
            defer { store.close() }
            _ = try BreadthFirstSearch(store: store, name: puzzle.name, of: UInt64.self, options: .init(undirected: true))
                .run(from: [puzzle.start]) { state, emit in puzzle.forEachSuccessor(of: state, emit) }
        }
        let results = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true, Self.puzzleSuccessors(puzzle))
        for result in results {
            #expect(throws: DiskCollectionsError.self) { try result.get() }
        }
    }

    @Test func aTinyBudgetSpillsSoonerAndFinishes() throws {
        let puzzle = Pancake(9)
        let group = ThreadCommunicatorGroup(size: 2)
        let directories = (0..<2).map { _ in TemporaryDirectory("rank") }
        let results = Self.run(puzzle.name, in: directories, from: [puzzle.start], undirected: true, memory: 4 << 20,
                               group: group, Self.puzzleSuccessors(puzzle))
        for result in results {
            #expect(try result.get().levels == puzzle.depthTable)
        }
        // About half of the successors belong to the other rank (the hash splits states evenly).
        let successors = puzzle.depthTable!.reduce(0, +) * 8  // each state has n − 1 = 8 successors
        #expect(Double(group.statesSent) > 0.4 * Double(successors) && Double(group.statesSent) < 0.6 * Double(successors))
    }
}

/// Every file of a directory with its bytes, to show a refused run changed nothing.
private func snapshot(_ directory: TemporaryDirectory) throws -> [String: Data] {
    var files: [String: Data] = [:]
    for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name != "lock.mdb" {
        files[name] = try Data(contentsOf: URL(fileURLWithPath: directory.path + "/" + name))
    }
    return files
}
