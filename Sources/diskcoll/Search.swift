import ArgumentParser
import DiskCollections
import Foundation
import SearchPuzzles
import Synchronization
#if canImport(DiskCollectionsMPI)
import DiskCollectionsMPI
#endif

/// `diskcoll search`: a breadth-first search of a built-in puzzle through `BreadthFirstSearch`,
/// checked against its published depth table, optionally beside the same search in the heap.
struct Search: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Breadth-first search of a built-in puzzle on disk, checked against its published depth table.",
        discussion: """
        Puzzles: 8-puzzle, pocket-cube (--metric htm|qtm), pancake N (2 to 16), sliding RxC (e.g. 2x5).

        Examples:
          diskcoll search pancake 11 --compare-heap     # the README's demo: disk beside Set<UInt64>
          diskcoll search pocket-cube --metric qtm
          diskcoll search pancake 12 --store /data/p12 --memory 256MB   # resumable: run it again after a kill
          mpirun -np 4 diskcoll search pancake 11 --distributed          # one search over 4 MPI ranks
        """)

    @Argument(help: "8-puzzle, pocket-cube, pancake or sliding.")
    var puzzle: String

    @Argument(help: "The size: pancakes in the stack (pancake), or RxC (sliding).")
    var size: String?

    @Option(help: "Pocket cube metric: htm (half turns count one move) or qtm.")
    var metric: String = "htm"

    @Option(help: "The store directory; the search resumes there if it was interrupted. Default: a temporary directory, removed afterwards.")
    var store: String?

    @Option(help: "The engine's heap budget, e.g. 32MB, 256MB, 1GB.")
    var memory: String = "32MB"

    @Option(help: "Threads for successors and sorting (default: the active cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Flag(help: "Also run the search with Set<UInt64> and [UInt64] in the heap, in a child process, and compare.")
    var compareHeap = false

    @Flag(help: "Search as a directed graph (keep every level) instead of a frontier search.")
    var directed = false

    @Flag(help: "Print the result as JSON.")
    var json = false

    @Flag(help: "Run as one rank of an MPI job: `mpirun -np N diskcoll search ... --distributed`. Each rank keeps its part in its own store (--store DIR: DIR/rank-R-of-N). See docs/distributed.md.")
    var distributed = false

    @Flag(help: .hidden) var heapOnly = false

    func makePuzzle() throws -> any Puzzle {
        switch puzzle {
        case "8-puzzle", "eight-puzzle": return SlidingTile.eightPuzzle
        case "pocket-cube", "cube":
            guard let m = PocketCube.Metric(rawValue: metric) else { throw ValidationError("--metric is htm or qtm, not \(metric)") }
            return PocketCube(metric: m)
        case "pancake", "pancakes":
            guard let s = size, let n = Int(s), (2...16).contains(n) else {
                throw ValidationError("pancake needs a size from 2 to 16, e.g. `diskcoll search pancake 11`")
            }
            return Pancake(n)
        case "sliding":
            let parts = (size ?? "").split(separator: "x").compactMap { Int($0) }
            guard parts.count == 2, parts[0] >= 2, parts[1] >= 2, parts[0] * parts[1] <= 16 else {
                throw ValidationError("sliding needs a board RxC of 4 to 16 cells, e.g. `diskcoll search sliding 2x5`")
            }
            return SlidingTile(rows: parts[0], columns: parts[1])
        default:
            throw ValidationError("unknown puzzle '\(puzzle)': use 8-puzzle, pocket-cube, pancake N or sliding RxC")
        }
    }

    func run() throws {
        let puzzle = try makePuzzle()
        guard let budget = parseBytes(memory) else {
            throw ValidationError("--memory \(memory) is not a size: write e.g. 32MB, 256MB or 1GB")
        }
        if heapOnly { return try runInHeap(puzzle) }
        if distributed { return try runDistributed(puzzle, budget: budget) }
        let disk = try runOnDisk(puzzle, budget: budget)
        var heap: Measured?
        if compareHeap { heap = try runHeapChild() }
        report(puzzle, disk: disk, heap: heap)
        if let table = puzzle.depthTable, disk.levels != table { throw ExitCode(1) }
        if puzzle.depthTable == nil, disk.levels.reduce(0, +) != puzzle.stateCount { throw ExitCode(1) }
        if let heap, heap.levels != disk.levels { throw ExitCode(1) }
    }

    struct Measured: Codable {
        var levels: [Int]
        var seconds: Double
        /// The peak RssAnon (of the rank with the largest, in a distributed search).
        var peakAnonymous: Int
        var finalAnonymous: Int
        var storeBytes: Int?
        /// A distributed search's ranks, and the states they sent each other (8 bytes each).
        var ranks: Int?
        var statesExchanged: Int?
    }

    /// One rank of `mpirun -np N diskcoll search ... --distributed`: rank 0 prints what one process prints.
    func runDistributed(_ puzzle: any Puzzle, budget: Int) throws {
        #if canImport(DiskCollectionsMPI)
        let mpi = try MPICommunicator.start()
        defer { mpi.finish() }
        mpi.sendsInFlight = mpi.sendsInFlight(forMemory: budget)
        guard !compareHeap else { throw ValidationError("--compare-heap runs one process; leave it out with --distributed") }
        var disk = try runOnDisk(puzzle, budget: budget, communicator: mpi)
        // What the job as a whole used: the largest rank's peaks, every rank's exchange.
        disk.peakAnonymous = -(try mpi.minimum(-disk.peakAnonymous))
        disk.storeBytes = try mpi.sum(disk.storeBytes ?? 0)
        disk.ranks = mpi.size
        disk.statesExchanged = try mpi.sum(mpi.statesSent)
        if mpi.rank == 0 { report(puzzle, disk: disk, heap: nil) }
        if let table = puzzle.depthTable, disk.levels != table { throw ExitCode(1) }
        if puzzle.depthTable == nil, disk.levels.reduce(0, +) != puzzle.stateCount { throw ExitCode(1) }
        #else
        throw ValidationError("this diskcoll was built without MPI: install Open MPI (apt-get install libopenmpi-dev openmpi-bin), touch Package.swift and build again (docs/distributed.md)")
        #endif
    }

    func runOnDisk(_ puzzle: any Puzzle, budget: Int, communicator: (any SearchCommunicator)? = nil) throws -> Measured {
        let ownDirectory = NSTemporaryDirectory() + "diskcoll-search-\(getpid())"
        let dir = communicator.map { c in store.map { "\($0)/rank-\(c.rank)-of-\(c.size)" } ?? ownDirectory } ?? store ?? ownDirectory
        defer { if store == nil { try? FileManager.default.removeItem(atPath: dir) } }
        if let communicator, let store {
            // A store directory of a search over another number of ranks: refuse before creating anything.
            let others = Set(((try? FileManager.default.contentsOfDirectory(atPath: store)) ?? []).compactMap { name -> Int? in
                let parts = name.split(separator: "-")
                guard parts.count == 4, parts[0] == "rank", parts[2] == "of", let ranks = Int(parts[3]) else { return nil }
                return ranks == communicator.size ? nil : ranks
            })
            if let ranks = others.min() {
                throw ValidationError("\(store) holds a search over \(ranks) ranks (rank-R-of-\(ranks)); resume it with mpirun -np \(ranks), or give another --store, or remove \(store) to start again")
            }
            try FileManager.default.createDirectory(atPath: store, withIntermediateDirectories: true)
        }
        let sampler = PeakSampler()
        let started = ContinuousClock.now
        // In a distributed search only rank 0 speaks: the others are as quiet as a JSON run.
        let json = json || (communicator.map { $0.rank != 0 } ?? false)
        let live = isatty(STDERR_FILENO) == 1 && !json
        var storeBytes = 0
        var levels: [Int] = []
        do {
            let db = try Store(at: dir)
            defer { db.close() }
            let options = SearchOptions(undirected: !directed && puzzle.isUndirected, memory: budget, parallelism: jobs)
            let search = try BreadthFirstSearch(store: db, name: puzzle.name, of: UInt64.self, options: options)
            if !json {
                let resumed = try search.completedLevels.count
                var line = "\(puzzle.name): \(group(puzzle.stateCount)) states, \(options.undirected ? "frontier search (undirected)" : "directed"), memory \(memory), \(jobs) job(s), store \(dir)"
                if let communicator { line += " (rank 0 of \(communicator.size); each rank its own store)" }
                if resumed > 0 { line += "\n  resuming after depth \(resumed - 1)" }
                say(line)
            }
            let result = try search.run(from: [puzzle.start], communicator: communicator, progress: { p in
                sampler.sample()
                storeBytes = max(storeBytes, p.storeBytes)
                guard !json else { return }
                let what = p.phase == .levelCompleted ? (p.newStates == 0 ? "none: the search is complete" : group(p.newStates) + " new states")
                    : (p.phase == .merging ? "merging " : "expanded ") + group(p.expanded) + " of " + group(p.frontier)
                let line = "  depth " + pad(String(p.depth), 3) + pad(what, 34)
                    + String(format: " %6.1f s %6.2fM/s", p.levelSeconds, p.statesPerSecond / 1e6)
                    + "  RssAnon " + megabytes(p.residentAnonymous) + "  store " + megabytes(p.storeBytes)
                if live {
                    FileHandle.standardError.write(Data(("\r\u{1B}[K" + line + (p.phase == .levelCompleted ? "\n" : "")).utf8))
                } else if p.phase == .levelCompleted {
                    FileHandle.standardError.write(Data((line + "\n").utf8))
                }
            }) { state, emit in puzzle.forEachSuccessor(of: state, emit) }
            levels = result.levels
        }
        let seconds = (ContinuousClock.now - started).seconds
        let peak = sampler.stop()
        return Measured(levels: levels, seconds: seconds, peakAnonymous: peak,
                        finalAnonymous: AllocatorStatistics.residentAnonymousFast() ?? 0, storeBytes: storeBytes)
    }

    /// The child of `--compare-heap`: the in-heap search, measured in a process of its own.
    func runInHeap(_ puzzle: any Puzzle) throws {
        let sampler = PeakSampler()
        let started = ContinuousClock.now
        var levels: [Int] = []
        do {
            // The search a user writes first: Set<UInt64> visited, [UInt64] frontiers.
            var visited: Set<UInt64> = [puzzle.start]
            var frontier: [UInt64] = [puzzle.start]
            levels = [1]
            while !frontier.isEmpty {
                var next: [UInt64] = []
                for state in frontier {
                    puzzle.forEachSuccessor(of: state) { s in if visited.insert(s).inserted { next.append(s) } }
                }
                sampler.sample()
                if !next.isEmpty { levels.append(next.count) }
                frontier = next
            }
            sampler.sample()
            _ = visited.count
        }
        let seconds = (ContinuousClock.now - started).seconds
        let measured = Measured(levels: levels, seconds: seconds, peakAnonymous: sampler.stop(),
                                finalAnonymous: AllocatorStatistics.residentAnonymousFast() ?? 0)
        say(String(decoding: try JSONEncoder().encode(measured), as: UTF8.self))
    }

    func runHeapChild() throws -> Measured {
        if !json {
            say("  the same search with Set<UInt64> and [UInt64] in the heap (a child process)…")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe")
        var arguments = ["search", puzzle] + (size.map { [$0] } ?? []) + ["--metric", metric, "--heap-only"]
        if directed { arguments.append("--directed") }
        process.arguments = arguments
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0, let measured = try? JSONDecoder().decode(Measured.self, from: data) else {
            throw ValidationError("the in-heap search failed (status \(process.terminationStatus)); run `diskcoll search \(arguments.dropFirst().joined(separator: " "))` to see why")
        }
        return measured
    }

    func report(_ puzzle: any Puzzle, disk: Measured, heap: Measured?) {
        let table = puzzle.depthTable
        if json {
            struct Report: Codable { var puzzle: String; var levels: [Int]; var published: [Int]?; var matches: Bool; var disk: Measured; var heap: Measured? }
            let r = Report(puzzle: puzzle.name, levels: disk.levels, published: table,
                           matches: table.map { $0 == disk.levels } ?? (disk.levels.reduce(0, +) == puzzle.stateCount), disk: disk, heap: heap)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            say(String(decoding: (try? encoder.encode(r)) ?? Data(), as: UTF8.self))
            return
        }
        say("\n  depth \(pad("states", 14))  \(pad("published (" + puzzle.source + ")", 14))")
        for (d, n) in disk.levels.enumerated() {
            let published = table.map { d < $0.count ? group($0[d]) : "—" } ?? ""
            let mark = table.map { d < $0.count && $0[d] == n ? "✓" : "✗" } ?? ""
            say("  \(pad(String(d), 5)) \(pad(group(n), 14))  \(pad(published, 14)) \(mark)")
        }
        let total = disk.levels.reduce(0, +)
        if let table {
            say(table == disk.levels ? "  \(group(total)) states: the table equals \(puzzle.source)."
                                       : "  MISMATCH: the levels differ from \(puzzle.source).")
        } else {
            say(total == puzzle.stateCount ? "  \(group(total)) states = \(group(puzzle.stateCount)) (\(puzzle.source))."
                                             : "  MISMATCH: \(group(total)) states, expected \(group(puzzle.stateCount)).")
        }
        say("")
        say("  \(pad("", 28)) \(pad("time", 9)) \(pad("peak RssAnon", 13)) \(pad("final RssAnon", 13))")
        let label = disk.ranks.map { "BreadthFirstSearch, \($0) ranks" } ?? "BreadthFirstSearch (disk)"
        say("  \(pad(label, 28)) \(pad(String(format: "%.1f s", disk.seconds), 9)) \(pad(megabytes(disk.peakAnonymous), 13)) \(pad(megabytes(disk.finalAnonymous), 13))")
        if let ranks = disk.ranks, let exchanged = disk.statesExchanged {
            say("  peak RssAnon is the largest rank's; the ranks sent each other \(group(exchanged)) states (\(megabytes(exchanged * 8)), \(String(format: "%.2f", Double(exchanged) / Double(max(1, total)))) per state found) over \(ranks) ranks")
        }
        if let heap {
            say("  \(pad("Set<UInt64> + [UInt64] (heap)", 28)) \(pad(String(format: "%.1f s", heap.seconds), 9)) \(pad(megabytes(heap.peakAnonymous), 13)) \(pad(megabytes(heap.finalAnonymous), 13))")
            say(String(format: "  disk/heap: time %.2f×, peak heap %.2f×%@", disk.seconds / heap.seconds,
                         Double(disk.peakAnonymous) / Double(max(1, heap.peakAnonymous)),
                         heap.levels == disk.levels ? "; both found the same levels." : "; LEVELS DIFFER."))
        }
        if let bytes = disk.storeBytes, bytes > 0 { say("  store on disk at its largest: \(megabytes(bytes)) (file-backed page cache, not heap)") }
    }
}

/// The peak of RssAnon, sampled every 10 ms on a thread of its own and whenever asked.
final class PeakSampler: Sendable {
    private let peak = Atomic<Int>(0)
    private let running = Atomic<Bool>(true)

    init() {
        Thread.detachNewThread { [self] in
            while running.load(ordering: .relaxed) {
                sample()
                usleep(10_000)
            }
        }
    }

    func sample() {
        let x = AllocatorStatistics.residentAnonymousFast() ?? 0
        var current = peak.load(ordering: .relaxed)
        while x > current {
            let (exchanged, original) = peak.compareExchange(expected: current, desired: x, ordering: .relaxed)
            if exchanged { return }
            current = original
        }
    }

    func stop() -> Int {
        sample()
        running.store(false, ordering: .relaxed)
        return peak.load(ordering: .relaxed)
    }
}

func parseBytes(_ text: String) -> Int? {
    let t = text.uppercased().replacingOccurrences(of: "IB", with: "B")
    let units: [(String, Int)] = [("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10), ("B", 1)]
    for (suffix, scale) in units where t.hasSuffix(suffix) {
        return Double(t.dropLast(suffix.count)).map { Int($0 * Double(scale)) }
    }
    return Int(t)
}

func group(_ n: Int) -> String {
    let digits = String(n)
    var out = ""
    for (i, c) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(c)
    }
    return out
}

func megabytes(_ bytes: Int) -> String { String(format: "%.1f MB", Double(bytes) / 1_048_576) }

func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s : s + String(repeating: " ", count: width - s.count) }

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// Prints a line unbuffered, so it stays in order with the progress lines on standard error.
func say(_ line: String) { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
