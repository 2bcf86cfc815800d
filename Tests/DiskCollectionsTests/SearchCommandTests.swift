import DiskCollections
import Foundation
import SearchPuzzles
import Testing
import TestSupport

/// `diskcoll search`, run as a user would, and the search killed and resumed in a process of its own.
@Suite struct SearchCommandTests {
    let diskcoll = builtExecutable("diskcoll")

    struct Report: Decodable {
        struct Measured: Decodable { var levels: [Int]; var seconds: Double; var peakAnonymous: Int; var finalAnonymous: Int; var storeBytes: Int? }
        var puzzle: String
        var levels: [Int]
        var matches: Bool
        var disk: Measured
        var heap: Measured?
    }

    func report(_ arguments: [String]) throws -> Report {
        let result = try run(diskcoll, ["search"] + arguments + ["--json"])
        #expect(result.status == 0, "\(result.standardError)")
        return try JSONDecoder().decode(Report.self, from: Data(result.standardOutput.utf8))
    }

    @Test func printsThePublishedTableAndChecksIt() throws {
        let result = try run(diskcoll, ["search", "8-puzzle"])
        #expect(result.status == 0, "\(result.standardError)")
        #expect(result.standardOutput.contains("181,440 states: the table equals OEIS A089473."))
        #expect(result.standardOutput.contains("31    2               2              ✓"))
        // Piped, progress comes as plain lines on stderr, one per level.
        #expect(result.standardError.contains("depth 31 2 new states"))
        #expect(!result.standardError.contains("\r"))
    }

    @Test func comparesWithTheInHeapSearchInAChildProcess() throws {
        let r = try report(["pancake", "8", "--compare-heap"])
        #expect(r.matches)
        #expect(r.levels == Pancake(8).depthTable)
        #expect(r.heap?.levels == r.levels)
        #expect((r.heap?.peakAnonymous ?? 0) > 0)
        let text = try run(diskcoll, ["search", "pancake", "7", "--compare-heap", "--directed"])
        #expect(text.status == 0, "\(text.standardError)")
        #expect(text.standardOutput.contains("Set<UInt64> + [UInt64] (heap)"))
    }

    @Test(arguments: [
        (["rubik"], "unknown puzzle 'rubik'"),
        (["pancake"], "pancake needs a size"),
        (["pancake", "40"], "pancake needs a size"),
        (["sliding", "9x9"], "sliding needs a board"),
        (["pocket-cube", "--metric", "stm"], "--metric is htm or qtm"),
        (["8-puzzle", "--memory", "lots"], "is not a size"),
        (["8-puzzle", "--memory", "1MB"], "at least 4 MiB"),
        (["8-puzzle", "--jobs", "0"], "1 to 256"),
    ])
    func badArgumentsFailClearly(arguments: [String], message: String) throws {
        let result = try run(diskcoll, ["search"] + arguments)
        #expect(result.status != 0)
        #expect(!result.signalled)
        #expect(result.standardError.contains(message), "\(result.standardError)")
    }

    @Test(.disabled(if: runsUnderASanitizer, "measures glibc's allocator and RssAnon, which a sanitizer replaces"))
    func heapStaysUnderTheBudgetPlusTheDocumentedSlack() throws {
        // 1,814,400 states through an 8 MB budget: many runs spilled and merged per level.
        let budget = 8 << 20
        let r = try report(["sliding", "2x5", "--memory", "8MB"])
        #expect(r.matches)
        #expect(r.disk.peakAnonymous < budget + SearchOptions.heapSlack,
                "peak RssAnon \(r.disk.peakAnonymous) over \(budget) + \(SearchOptions.heapSlack)")
    }

    @Test func aSearchKilledAtRandomMomentsResumesToTheSameTable() throws {
        let dir = TemporaryDirectory("resume")
        let storePath = dir.appending("store")
        let arguments = ["search", "pancake", "9", "--store", storePath, "--memory", "4MB"]
        // How long an uninterrupted run takes here, to kill inside it.
        let clock = ContinuousClock()
        let reference = dir.appending("reference")
        let t0 = clock.now
        let whole = try run(diskcoll, ["search", "pancake", "9", "--store", reference, "--memory", "4MB"])
        let duration = clock.now - t0
        #expect(whole.status == 0, "\(whole.standardError)")
        var generator = SplitMix64(seed: 0x5eed)
        var resumedAfter: [Int] = []
        for _ in 0..<5 {
            let (process, out, err) = try launch(diskcoll, arguments)
            let fraction = Double(generator.next() % 1000) / 1000 * 0.5 + 0.1
            Thread.sleep(forTimeInterval: fraction * Double(duration.components.seconds) + fraction * Double(duration.components.attoseconds) / 1e18)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            _ = out.fileHandleForReading.readDataToEndOfFile()
            _ = err.fileHandleForReading.readDataToEndOfFile()
            let store = try Store(at: storePath)
            let search = try BreadthFirstSearch(store: store, name: "pancake-9", of: UInt64.self, options: .init(undirected: true))
            let completed = try search.completedLevels
            store.close()
            #expect(completed == Array(Pancake(9).depthTable!.prefix(completed.count)))
            resumedAfter.append(completed.count)
        }
        #expect(resumedAfter == resumedAfter.sorted(), "completed levels never go back: \(resumedAfter)")
        // The first kill, at most 60% into a whole run's time, interrupts the search.
        #expect(resumedAfter[0] < Pancake(9).depthTable!.count, "\(resumedAfter)")
        let last = try run(diskcoll, arguments)
        #expect(last.status == 0, "\(last.standardError)")
        #expect(last.standardOutput.contains("362,880 states: the table equals OEIS A092113."))
        if resumedAfter.last ?? 0 > 0 { #expect(last.standardOutput.contains("resuming after depth")) }
    }
}
