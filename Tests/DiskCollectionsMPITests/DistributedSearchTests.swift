import DiskCollections
import Foundation
import SearchPuzzles
import Testing
import TestSupport

/// `mpirun -np N diskcoll search ... --distributed`, as a user runs it (issue 15): the published tables
/// over 2 and 4 ranks, a rank killed mid-level and the job resumed, another -np refused, a tiny budget;
/// and random implicit graphs (MPISearchProbe) against an in-heap search, state by state.
/// These tests exist only where MPI is installed (Package.swift); `make test` installs it.
@Suite(.serialized) struct DistributedSearchTests {
    let diskcoll = builtExecutable("diskcoll")

    struct Report: Decodable {
        struct Measured: Decodable {
            var levels: [Int]
            var peakAnonymous: Int
            var ranks: Int?
            var statesExchanged: Int?
        }
        var levels: [Int]
        var matches: Bool
        var disk: Measured
    }

    /// `mpirun` with what a container and a root user need: ranks may outnumber cores, and shared
    /// memory copies without ptrace (Open MPI's default single-copy mechanism needs it).
    static let mpirunPrefix = ["OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
                               "OMPI_MCA_btl_vader_single_copy_mechanism=none", "OMPI_MCA_rmaps_base_oversubscribe=1",
                               "mpirun", "--oversubscribe"]

    func mpirun(_ ranks: Int, _ arguments: [String]) throws -> ProcessResult {
        try run("/usr/bin/env", Self.mpirunPrefix + ["-np", "\(ranks)", diskcoll, "search"] + arguments)
    }

    func report(_ ranks: Int, _ arguments: [String]) throws -> Report {
        let result = try mpirun(ranks, arguments + ["--distributed", "--json"])
        #expect(result.status == 0, "\(result.standardError)")
        return try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
    }

    @Test(arguments: [2, 4])
    func puzzlesPrintThePublishedTables(ranks: Int) throws {
        for (arguments, table) in [(["8-puzzle"], SlidingTile.eightPuzzle.depthTable!),
                                   (["pancake", "10"], Pancake(10).depthTable!),
                                   (["pocket-cube", "--metric", "qtm"], PocketCube(metric: .quarterTurn).depthTable!)] {
            let r = try report(ranks, arguments + ["--jobs", "1"])
            #expect(r.matches, "\(arguments)")
            #expect(r.levels == table, "\(arguments)")
            #expect(r.disk.ranks == ranks)
            // Each successor belongs to another rank with probability (ranks − 1) / ranks.
            #expect((r.disk.statesExchanged ?? 0) > 0)
        }
    }

    @Test func theTableIsTheOneASingleProcessPrints() throws {
        let single = try run(diskcoll, ["search", "pancake", "8"])
        let distributed = try mpirun(2, ["pancake", "8", "--distributed"])
        #expect(distributed.status == 0, "\(distributed.standardError)")
        let table = { (output: String) in output.split(separator: "\n").filter { $0.hasPrefix("  ") && $0.contains("✓") } }
        #expect(table(distributed.standardOutput) == table(single.standardOutput))
        #expect(table(single.standardOutput).count == Pancake(8).depthTable!.count)
    }

    /// MPISearchProbe: a random implicit graph searched over `ranks` MPI ranks; rank 0's levels.
    func probe(_ ranks: Int, store: String, _ kind: String, n: UInt64, seed: UInt64, memory: Int = 4 << 20) throws -> [Int] {
        let result = try run("/usr/bin/env", Self.mpirunPrefix + ["-np", "\(ranks)", builtExecutable("MPISearchProbe"), store, kind,
                                                                "\(n)", "\(seed)", "\(memory)"])
        #expect(result.status == 0, "\(result.standardError)")
        struct Levels: Decodable { var levels: [Int] }
        return try JSONDecoder().decode(Levels.self, from: Data(result.standardOutput.utf8)).levels
    }

    @Test(arguments: [2, 4])
    func randomGraphsMatchAnInHeapSearch(ranks: Int) throws {
        // Directed: every level is kept, so the ranks' parts are compared with the in-heap search state
        // by state, with the smallest budget a search takes (4 MiB).
        let n: UInt64 = 150_000, seed: UInt64 = 7
        let expected = RandomGraph.inHeap(from: RandomGraph.probeStart(n: n, seed: seed), RandomGraph.directed(n: n, seed: seed))
        #expect(expected.count > 5)
        let directed = TemporaryDirectory("mpi-graph")
        #expect(try probe(ranks, store: directed.path, "directed", n: n, seed: seed) == expected.map(\.count))
        let stored = try partitionedLevels("graph", stores: (0..<ranks).map { "\(directed.path)/rank-\($0)-of-\(ranks)" },
                                           depths: expected.count)
        #expect(stored.misplaced.isEmpty, "states stored by a rank that does not own them")
        #expect(stored.levels == expected)
        // Undirected (a frontier search, which drops old levels): the level counts.
        let m: UInt64 = 1 << 17
        let undirected = RandomGraph.inHeap(from: RandomGraph.probeStart(n: m, seed: seed), RandomGraph.undirectedProbeGraph(n: m))
        let frontier = TemporaryDirectory("mpi-graph")
        #expect(try probe(ranks, store: frontier.path, "undirected", n: m, seed: seed) == undirected.map(\.count))
    }

    @Test func aRankKilledMidLevelResumesToTheSameTable() throws {
        let dir = TemporaryDirectory("distributed")
        let search = ["search", "pancake", "10", "--distributed", "--jobs", "1", "--memory", "4MB", "--store", dir.path]
        let (process, _, err) = try launch("/usr/bin/env", Self.mpirunPrefix + ["-np", "2", diskcoll] + search)
        // Wait until rank 0 has reported 6 completed levels (of 11), then kill one rank's process outright.
        var seen = Data()
        while String(decoding: seen, as: UTF8.self).components(separatedBy: "new states").count <= 6 {
            let chunk = err.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        let ranks = try run("/usr/bin/pgrep", ["-f", "\(diskcoll) search pancake 10 --distributed"])
        // mpirun's own command line names the program too.
        let pids = ranks.standardOutput.split(separator: "\n").compactMap { Int32($0) }.filter { $0 != process.processIdentifier }
        #expect(pids.count == 2, "\(ranks.standardOutput)")
        if let victim = pids.last { kill(victim, SIGKILL) }
        process.waitUntilExit()
        #expect(process.terminationStatus != 0, "mpirun ends the job when a rank dies")
        let rerun = try mpirun(2, Array(search.dropFirst()))
        #expect(rerun.status == 0, "\(rerun.standardError)")
        #expect(rerun.standardOutput.contains("3,628,800 states: the table equals OEIS A092113."))
        #expect(rerun.standardOutput.contains("resuming after depth"))
    }

    @Test func anotherNumberOfRanksIsAClearError() throws {
        let dir = TemporaryDirectory("distributed")
        let first = try mpirun(2, ["pancake", "7", "--distributed", "--store", dir.path])
        #expect(first.status == 0, "\(first.standardError)")
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let wrong = try mpirun(3, ["pancake", "7", "--distributed", "--store", dir.path])
        #expect(wrong.status != 0)
        #expect(wrong.standardError.contains("mpirun -np 2"), "\(wrong.standardError)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == before, "nothing created")
        // The same number of ranks returns the stored result.
        let again = try mpirun(2, ["pancake", "7", "--distributed", "--store", dir.path])
        #expect(again.status == 0, "\(again.standardError)")
        #expect(again.standardOutput.contains("5,040 states: the table equals OEIS A092113."))
    }

    @Test func aTinyBudgetStillFinishes() throws {
        let r = try report(2, ["pancake", "9", "--memory", "4MB", "--jobs", "1"])
        #expect(r.levels == Pancake(9).depthTable)
    }

    @Test(.disabled(if: runsUnderASanitizer, "measures RssAnon, which a sanitizer inflates"))
    func aTinyBudgetKeepsEachRanksHeapBound() throws {
        let r = try report(2, ["pancake", "9", "--memory", "4MB", "--jobs", "1"])
        #expect(r.levels == Pancake(9).depthTable)
        // The largest rank's peak: the budget, the search's slack, and Open MPI's own buffers.
        let bound = (4 << 20) + SearchOptions.heapSlack + Self.mpiSlack
        #expect(r.disk.peakAnonymous < bound, "peak \(r.disk.peakAnonymous) against \(bound)")
    }

    /// What Open MPI itself holds in a rank's heap (shared-memory transport, its tables), measured.
    static let mpiSlack = 24 << 20
}
