import DiskCollections
import Foundation
import Synchronization
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

/// Counts calls across the successor function's threads.
final class CallCounter: Sendable {
    let calls = Atomic<Int>(0)
    @discardableResult func increment() -> Int { calls.add(1, ordering: .relaxed).newValue }
}

struct StopHere: Error, Equatable {}

extension BreadthFirstSearchTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func randomDirectedGraphsMatchAnInHeapSearchLevelByLevel(seed: UInt64) throws {
        let n: UInt64 = seed == 3 ? 400_000 : 30_000  // the large one spills and merges several runs
        let successors = RandomGraph.directed(n: n, seed: seed)
        let start = [seed, seed * 7 + 1, seed]  // a repeated start state counts once
        let expected = RandomGraph.inHeap(from: start, successors)
        let fixture = try StoreFixture()
        let bfs = try BreadthFirstSearch(store: fixture.store, name: "g", of: UInt64.self,
                                         options: .init(undirected: false, memory: 4 << 20, parallelism: 2))
        let result = try bfs.run(from: start, successors: successors)
        #expect(result.levels == expected.map(\.count))
        #expect(result.states == expected.joined().count)
        // A directed search keeps every level, in order.
        for depth in [0, expected.count / 2, expected.count - 1] {
            var states: [UInt64] = []
            try bfs.forEachState(atDepth: depth) { states.append($0) }
            #expect(states == expected[depth], "depth \(depth)")
        }
    }

    @Test func randomUndirectedGraphsMatchAnInHeapSearchAndKeepTwoLevels() throws {
        let cases: [(UInt64, [UInt64], [UInt64])] = [
            (100_003, [1, 317], []),                       // a ring with chords: long, thin levels
            (1 << 18, [5], [1 << 3, 1 << 11, 0x15555]),    // a wide graph, levels of tens of thousands
        ]
        for (n, steps, masks) in cases {
            let successors = RandomGraph.undirected(n: n, steps: steps, masks: masks)
            let expected = RandomGraph.inHeap(from: [0], successors)
            let fixture = try StoreFixture()
            let bfs = try BreadthFirstSearch(store: fixture.store, name: "u", of: UInt64.self,
                                             options: .init(undirected: true, memory: 4 << 20, parallelism: 3))
            let result = try bfs.run(from: [0], successors: successors)
            #expect(result.levels == expected.map(\.count), "n \(n)")
            let last = expected.count - 1
            var states: [UInt64] = []
            try bfs.forEachState(atDepth: last) { states.append($0) }
            #expect(states == expected[last])
            #expect(throws: DiskCollectionsError.self) { try bfs.forEachState(atDepth: 0) { _ in } }
        }
    }

    @Test func signedAndNarrowStatesKeepTheirOrderAndValues() throws {
        // Int32 states, negative ones included: encoded order-preserving in 4 bytes. Directed, so
        // every level stays readable.
        let fixture = try StoreFixture()
        let bfs = try BreadthFirstSearch(store: fixture.store, name: "line", of: Int32.self, options: .init(undirected: false))
        let result = try bfs.run(from: [0]) { s, emit in
            if s > -50 { emit(s - 1) }
            if s < 70 { emit(s + 1) }
        }
        #expect(result.levels == [1] + Array(repeating: 2, count: 50) + Array(repeating: 1, count: 20))
        var last: [Int32] = []
        try bfs.forEachState(atDepth: 70) { last.append($0) }
        #expect(last == [70])
        var level50: [Int32] = []
        try bfs.forEachState(atDepth: 50) { level50.append($0) }
        #expect(level50 == [-50, 50])
    }

    @Test func emptyStartAndIsolatedStart() throws {
        let fixture = try StoreFixture()
        let empty = try BreadthFirstSearch(store: fixture.store, name: "empty", of: UInt64.self)
        #expect(try empty.run(from: []) { _, _ in Issue.record("no state to expand") }.levels == [])
        let alone = try BreadthFirstSearch(store: fixture.store, name: "alone", of: UInt64.self)
        let result = try alone.run(from: [42]) { s, emit in emit(s) }  // only a self-loop
        #expect(result.levels == [1])
        #expect(try alone.isFinished)
    }

    @Test func aSecondRunReturnsTheStoredResultWithoutExpanding() throws {
        let fixture = try StoreFixture()
        let puzzle = Pancake(7)
        let first = try search(puzzle, in: fixture.store)
        try fixture.reopen()
        let counter = CallCounter()
        let bfs = try BreadthFirstSearch(store: fixture.store, name: puzzle.name, of: UInt64.self,
                                         options: .init(undirected: true))
        #expect(try bfs.isFinished)
        #expect(try bfs.completedLevels == first.levels)
        let second = try bfs.run(from: [puzzle.start]) { _, _ in counter.increment() }
        #expect(second.levels == first.levels)
        #expect(counter.calls.load(ordering: .relaxed) == 0)
    }

    @Test func aThrowingSuccessorStopsTheSearchAndLeavesItResumable() throws {
        let fixture = try StoreFixture()
        let puzzle = Pancake(8)
        let counter = CallCounter()
        let options = BreadthFirstSearch<UInt64>.Options(undirected: true, memory: 4 << 20, parallelism: 2)
        let bfs = try BreadthFirstSearch(store: fixture.store, name: puzzle.name, of: UInt64.self, options: options)
        #expect(throws: StopHere()) {
            try bfs.run(from: [puzzle.start]) { state, emit in
                if counter.increment() > 20_000 { throw StopHere() }
                puzzle.forEachSuccessor(of: state, emit)
            }
        }
        let completed = try bfs.completedLevels
        #expect(!completed.isEmpty)
        #expect(completed == Array(puzzle.depthTable!.prefix(completed.count)))
        #expect(try !bfs.isFinished)
        // The store is usable as it was: other collections write, and the search resumes in a new process.
        try fixture.store.set("other", of: UInt64.self).insert(1)
        try fixture.reopen()
        let resumed = try BreadthFirstSearch(store: fixture.store, name: puzzle.name, of: UInt64.self, options: options)
        let result = try resumed.run(from: [puzzle.start]) { state, emit in puzzle.forEachSuccessor(of: state, emit) }
        #expect(result.levels == puzzle.depthTable)
    }

    @Test func misuseIsATypedErrorThatSaysWhatToDo() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        func reason(_ body: () throws -> Void) -> String {
            do { try body() } catch let DiskCollectionsError.invalidSearch(_, reason) { return reason } catch {
                Issue.record("unexpected \(error)")
            }
            return ""
        }
        #expect(reason { _ = try BreadthFirstSearch(store: store, name: "wide", of: UUID.self) }.contains("pack yours into a UInt64"))
        #expect(reason { _ = try BreadthFirstSearch(store: store, name: "tiny", of: UInt64.self, options: .init(memory: 1 << 20)) }.contains("at least 4 MiB"))
        #expect(reason { _ = try BreadthFirstSearch(store: store, name: "none", of: UInt64.self, options: .init(parallelism: 0)) }.contains("1 to 256"))

        let bfs = try BreadthFirstSearch(store: store, name: "s", of: UInt64.self, options: .init(undirected: true))
        #expect(reason { try store.write { _ = try bfs.run(from: [0]) { _, _ in } } }.contains("outside any transaction"))
        try bfs.run(from: [1]) { s, emit in if s < 10 { emit(s + 1) } }
        #expect(reason { try bfs.run(from: [2]) { _, _ in } }.contains("same ones"))
        let directed = try BreadthFirstSearch(store: store, name: "s", of: UInt64.self, options: .init(undirected: false))
        #expect(reason { try directed.run(from: [1]) { _, _ in } }.contains("undirected: true"))

        try store.map("m", key: UInt64.self, value: UInt64.self).setValue(1, forKey: 1)
        #expect(throws: DiskCollectionsError.self) { _ = try BreadthFirstSearch(store: store, name: "m", of: UInt64.self) }
        #expect(throws: DiskCollectionsError.self) { _ = try BreadthFirstSearch(store: store, name: "s", of: UInt32.self) }
        #expect(throws: DiskCollectionsError.self) { _ = try store.set("s", of: UInt64.self) }
        // Removing the search frees its name and its levels.
        try store.removeCollection("s")
        let again = try BreadthFirstSearch(store: store, name: "s", of: UInt64.self)
        #expect(try again.completedLevels.isEmpty)
    }
}

extension BreadthFirstSearchTests {
    @Test func membershipDepthAndShortestPathsFromTheStoredLevels() throws {
        let fixture = try StoreFixture()
        let puzzle = SlidingTile.eightPuzzle
        let bfs = try BreadthFirstSearch(store: fixture.store, name: "8", of: UInt64.self,
                                         options: .init(undirected: true, memory: 4 << 20, keepsAllLevels: true))
        let successors: @Sendable (UInt64, (UInt64) -> Void) -> Void = { s, emit in puzzle.forEachSuccessor(of: s, emit) }
        try bfs.run(from: [puzzle.start], successors: successors)
        var hardest: [UInt64] = []
        try bfs.forEachState(atDepth: 31) { hardest.append($0) }
        #expect(hardest.count == 2)
        for target in hardest {
            #expect(try bfs.depth(of: target) == 31)
            #expect(try bfs.contains(target, atDepth: 31))
            #expect(try !bfs.contains(target, atDepth: 30))
            let path = try #require(try bfs.path(to: target, predecessors: successors))
            #expect(path.count == 32 && path.first == puzzle.start && path.last == target)
            for (a, b) in zip(path, path.dropFirst()) {
                var isMove = false
                successors(a) { if $0 == b { isMove = true } }
                #expect(isMove)
            }
        }
        #expect(try bfs.path(to: puzzle.start, predecessors: successors) == [puzzle.start])
        #expect(try bfs.path(to: 0, predecessors: successors) == nil)  // not a board
        #expect(try bfs.depth(of: 0) == nil)
        // Resuming with the other choice of levels would find old levels missing.
        let other = try BreadthFirstSearch(store: fixture.store, name: "8", of: UInt64.self, options: .init(undirected: true))
        #expect(throws: DiskCollectionsError.self) { try other.run(from: [puzzle.start], successors: successors) }
    }

    @Test func anUndirectedSearchWithoutItsOldLevelsCannotRebuildPaths() throws {
        let fixture = try StoreFixture()
        let puzzle = Pancake(6)
        let successors: @Sendable (UInt64, (UInt64) -> Void) -> Void = { s, emit in puzzle.forEachSuccessor(of: s, emit) }
        let bfs = try BreadthFirstSearch(store: fixture.store, name: "p", of: UInt64.self, options: .init(undirected: true))
        try bfs.run(from: [puzzle.start], successors: successors)
        do {
            _ = try bfs.path(to: puzzle.start, predecessors: successors)
            Issue.record("expected an error")
        } catch let DiskCollectionsError.invalidSearch(_, reason) {
            #expect(reason.contains("keepsAllLevels: true"))
        }
    }

    @Test func containsAgreesWithTheInHeapLevelsAcrossBlockBoundaries() throws {
        let n: UInt64 = 1_000_000
        let successors = RandomGraph.directed(n: n, seed: 9)
        let expected = RandomGraph.inHeap(from: Array(0..<64), successors)
        let fixture = try StoreFixture()
        let bfs = try BreadthFirstSearch(store: fixture.store, name: "g", of: UInt64.self, options: .init(undirected: false))
        try bfs.run(from: Array(0..<64), successors: successors)
        let depth = expected.indices.max { expected[$0].count < expected[$1].count }!
        let members = Set(expected[depth])
        #expect(members.count > 50_000)  // dozens of blocks
        // Every block's first and last states, states inside blocks, and the gaps between them.
        var probes = Array(expected[depth].enumerated().filter { $0.offset % 5 == 0 }.map(\.element))
        probes += probes.flatMap { [$0 &- 1, $0 + 1] } + [0, n, n + 1]
        var generator = SplitMix64(seed: 4)
        probes += (0..<5_000).map { _ in generator.next() % n }
        for s in probes { #expect(try bfs.contains(s, atDepth: depth) == members.contains(s), "\(s)") }
        #expect(try bfs.contains(.max, atDepth: depth) == false)
        // Paths in a directed graph walk back through the predecessors.
        var reverse: [UInt64: [UInt64]] = [:]
        for level in expected { for s in level { successors(s) { reverse[$0, default: []].append(s) } } }
        let target = expected[expected.count - 1][0]
        let path = try #require(try bfs.path(to: target) { s, emit in reverse[s, default: []].forEach(emit) })
        #expect(path.count == expected.count && path.first! < 64 && path.last == target)
        // A wrong predecessor function is an error, not a wrong path.
        #expect(throws: DiskCollectionsError.self) { _ = try bfs.path(to: target) { _, _ in } }
    }

    @Test func theDocumentedExampleProgramBuildsAndRuns() throws {
        let dir = TemporaryDirectory("hanoi")
        let result = try run(builtExecutable("hanoi-search"), [dir.appending("store"), "6"])
        #expect(result.status == 0, "\(result.standardOutput)")
        #expect(result.standardOutput.contains("4096 states (4^6 = 4096), greatest depth 17"))
        #expect(result.standardOutput.contains("a shortest solution takes 17 moves"))  // Frame–Stewart for 6 disks
    }
}

extension BreadthFirstSearchTests {
    @Test func aDeepSearchThatOutgrowsTheStoresDatabasesSaysWhatToDoAndResumes() throws {
        let dir = TemporaryDirectory()
        let line: @Sendable (UInt32, (UInt32) -> Void) -> Void = { s, emit in if s < 40 { emit(s + 1) } }
        do {
            let store = try Store(at: dir.path, maximumCollections: 20)
            defer { store.close() }
            let bfs = try BreadthFirstSearch(store: store, name: "line", of: UInt32.self, options: .init(undirected: false))
            do {
                try bfs.run(from: [0], successors: line)
                Issue.record("expected an error")
            } catch let DiskCollectionsError.invalidSearch(_, reason) {
                #expect(reason.contains("larger maximumCollections"))
            }
            #expect(try (10..<20).contains(bfs.completedLevels.count))
        }
        let store = try Store(at: dir.path, maximumCollections: 100)
        defer { store.close() }
        let bfs = try BreadthFirstSearch(store: store, name: "line", of: UInt32.self, options: .init(undirected: false))
        #expect(try bfs.run(from: [0], successors: line).levels == Array(repeating: 1, count: 41))
    }
}
