import Foundation
import LMDB

/// A breadth-first search whose visited set and frontier live in a ``Store``, not in the heap.
///
/// ```swift
/// let store = try Store(at: "/data/pancake12.store")
/// let search = try BreadthFirstSearch(store: store, name: "pancake12", of: UInt64.self,
///                                     options: .init(undirected: true))
/// let result = try search.run(from: [start]) { state, emit in
///     for next in successors(of: state) { emit(next) }
/// }
/// result.levels   // new states per depth
/// ```
///
/// The engine never looks a state up: it expands a chunk of the frontier on every core into
/// fixed in-memory buffers, sorts them (radix sort) and drops duplicates, writes full buffers as
/// sorted runs, and at the end of each level merges the runs against the levels a new state could
/// repeat, in ordered cursor passes (Korf's delayed duplicate detection). An `undirected` search (every
/// move has an inverse move) is a frontier search: level k+1 is successors(k) − k − (k−1), so the store
/// keeps only the last two levels. Levels are stored as delta-encoded blocks: one to three bytes a
/// state (docs/on-disk-format.md).
///
/// **Resuming.** Each level is committed atomically with the search's metadata. If the process dies,
/// calling ``run(from:progress:successors:)`` again on the same store resumes from the last completed
/// level; on a finished search it returns the stored result without expanding anything.
///
/// **Memory.** The engine's heap is bounded by ``Options/memory`` (buffers, read-ahead, pending
/// blocks); LMDB's pages are file-backed page cache, which the kernel reclaims. See docs/search.md.
///
/// Not thread-safe: use a search, like its store, from one thread at a time. The successor function
/// runs on several threads at once (``Options/parallelism``), so it must be `@Sendable`.
public final class BreadthFirstSearch<State: FixedWidthDiskKey & Sendable> {
    /// How the search runs.
    public typealias Options = SearchOptions
    /// What a search found.
    public typealias Result = SearchResult

    /// The store the search lives in.
    public let store: Store
    /// The search's name in the store's catalog.
    public let name: String
    public let options: Options
    private let metaDatabase: Database

    /// Opens or creates the search `name` in `store`.
    ///
    /// - Throws: ``DiskCollectionsError/invalidName(_:reason:)``; ``DiskCollectionsError/typeMismatch(collection:stored:requested:)``
    ///   if `name` is another collection or a search of another state type;
    ///   ``DiskCollectionsError/invalidSearch(search:reason:)`` if `State` encodes to more than 8 bytes
    ///   or an option is out of range.
    public init(store: Store, name: String, of: State.Type = State.self, options: Options = Options()) throws {
        guard State.diskKeyWidth <= 8 else {
            throw DiskCollectionsError.invalidSearch(search: name, reason:
                "\(State.diskKeyCodec) states encode to \(State.diskKeyWidth) bytes; the engine packs states into 8 (pack yours into a UInt64)")
        }
        guard options.memory >= 4 << 20 else {
            throw DiskCollectionsError.invalidSearch(search: name, reason: "memory is \(options.memory) bytes; give at least 4 MiB (4194304)")
        }
        guard (1...256).contains(options.parallelism) else {
            throw DiskCollectionsError.invalidSearch(search: name, reason: "parallelism is \(options.parallelism); use 1 to 256 threads")
        }
        self.store = store
        self.name = name
        self.options = options
        let descriptor = CollectionDescriptor(kind: "search", key: State.diskKeyCodec, value: "none", version: Store.formatVersion)
        metaDatabase = try store.open(name, descriptor, flags: [])
    }

    /// The levels completed so far (of a finished, interrupted or never-run search), without running.
    public var completedLevels: [Int] {
        get throws { try loadMeta()?.levels ?? [] }
    }

    /// Whether the search has run to its end.
    public var isFinished: Bool {
        get throws { try loadMeta()?.finished ?? false }
    }

    /// Runs the search from `start` to its end, or resumes it, or returns its stored result.
    ///
    /// - Parameters:
    ///   - start: the states at depth 0 (duplicates count once).
    ///   - progress: called on this thread during each level (at most four times a second) and after
    ///     it completes; see ``SearchProgress``.
    ///   - successors: calls `emit` once for every successor of a state. It runs on several threads at
    ///     once; it must not touch the store. A successor may be emitted more than once.
    /// - Returns: the number of states at each depth.
    /// - Throws: what `successors` throws (the search stops, and resumes from the last completed level
    ///   when run again); ``DiskCollectionsError/invalidSearch(search:reason:)`` if the stored search
    ///   was started from other states or as (un)directed otherwise, or `run` is called inside
    ///   ``Store/write(_:)`` or ``Store/read(_:)``; ``LMDBError`` for the disk's failures (a full
    ///   disk: free space and run again, the completed levels are kept).
    /// - Complexity: every level reads the frontier once and writes and reads the successors' sorted
    ///   runs once; a directed search also reads every earlier level once per level.
    ///
    /// **Partitioned over several processes** (`communicator` given, e.g. over MPI with
    /// `DiskCollectionsMPI`): every rank runs this with its own store and the same `start`,
    /// options and successor function; each keeps the states it owns (``SearchPartition``) and
    /// sends the others theirs. Every rank returns the whole search's levels; its store holds its part
    /// (``forEachState(atDepth:_:)`` and ``contains(_:atDepth:)`` see that part). A resume needs the
    /// same number of ranks, each with its own store again; it continues from the last level every
    /// rank committed. See docs/distributed.md.
    @discardableResult
    public func run(from start: [State], communicator: (any SearchCommunicator)? = nil, progress: ((SearchProgress) -> Void)? = nil,
                    successors: @escaping @Sendable (State, (State) -> Void) throws -> Void) throws -> Result {
        guard let communicator else { return try runHere(from: start, communicator: nil, progress: progress, successors: successors) }
        do {
            return try runHere(from: start, communicator: communicator, progress: progress, successors: successors)
        } catch let failure as AgreedFailure {
            // Every rank agreed to stop before the search began: no rank is left waiting.
            throw failure.error ?? DiskCollectionsError.invalidSearch(search: name, reason: failure.reason)
        } catch {
            // The other ranks are waiting in a collective: end the search on every rank.
            communicator.abort(error)
            throw error
        }
    }

    /// A failure every rank learned of before the search began (this rank's `error`, or another's):
    /// each stops without aborting the others.
    private struct AgreedFailure: Error {
        var error: (any Error)?
        var reason = ""
    }

    private func runHere(from start: [State], communicator: (any SearchCommunicator)?, progress: ((SearchProgress) -> Void)?,
                         successors: @escaping @Sendable (State, (State) -> Void) throws -> Void) throws -> Result {
        // Checks that can fail on one rank and not another are agreed on before any rank goes on, so
        // that none waits in a collective for a rank that stopped.
        func agree(_ check: () throws -> Void) throws {
            guard let communicator else { return try check() }
            var failure: (any Error)?
            do { try check() } catch { failure = error }
            let failed = try communicator.sum(failure == nil ? 0 : 1)
            if let failure { throw AgreedFailure(error: failure) }
            if failed > 0 {
                throw AgreedFailure(reason: "\(failed) other rank(s) could not run it (their errors say why); this rank's store is as it was")
            }
        }
        try agree {
            guard store.currentWrite == nil, store.currentRead == nil else {
                throw DiskCollectionsError.invalidSearch(search: name, reason: "run was called inside store.write or store.read; call it outside any transaction")
            }
            try store.flush()
        }
        let encoded = start.map(Self.encode)
        let fingerprint = Self.fingerprint(encoded)
        let engineSuccessors: SearchEngine.Successors
        if let direct = successors as? SearchEngine.Successors {
            engineSuccessors = direct
        } else {
            engineSuccessors = { state, emit in
                try successors(try Self.decode(state)) { emit(Self.encode($0)) }
            }
        }
        // What a search not yet started records.
        let freshMeta = SearchMeta(state: State.diskKeyCodec, undirected: options.undirected,
                                   startCount: fingerprint.count, startHash: fingerprint.hash,
                                   keepsAllLevels: options.undirected ? options.keepsAllLevels : nil,
                                   ranks: communicator?.size, rank: communicator?.rank)
        var meta = freshMeta
        var fresh = true
        try agree {
            if let stored = try loadMeta() {
                guard stored.undirected == options.undirected else {
                    throw DiskCollectionsError.invalidSearch(search: name, reason:
                        "it was started with undirected: \(stored.undirected); resume it with the same option, or remove it first (store.removeCollection)")
                }
                guard stored.startCount == fingerprint.count, stored.startHash == fingerprint.hash else {
                    throw DiskCollectionsError.invalidSearch(search: name, reason:
                        "it was started from \(stored.startCount) other start state(s); resume it from the same ones, or remove it first (store.removeCollection)")
                }
                guard !options.undirected || (stored.keepsAllLevels ?? false) == options.keepsAllLevels else {
                    throw DiskCollectionsError.invalidSearch(search: name, reason:
                        "it was started with keepsAllLevels: \(stored.keepsAllLevels ?? false); resume it with the same option, or remove it first (store.removeCollection)")
                }
                guard stored.ranks == communicator?.size, stored.rank == communicator?.rank else {
                    let was = stored.ranks.map { "rank \(stored.rank ?? 0) of a search partitioned over \($0) ranks" } ?? "a search run in one process"
                    let now = communicator.map { "rank \($0.rank) of \($0.size)" } ?? "one process"
                    throw DiskCollectionsError.invalidSearch(search: name, reason:
                        "this store holds \(was), and it was resumed as \(now); resume it with the same number of ranks (mpirun -np \(stored.ranks ?? 1)), each rank with its own store, or remove it first (store.removeCollection)")
                }
                meta = stored
                fresh = false
            }
        }
        if let communicator {
            // Every rank starts fresh, or every rank resumes; then from the last level all committed.
            let freshRanks = try communicator.sum(fresh ? 1 : 0)
            if freshRanks != 0 && freshRanks != communicator.size {
                // Ranks that died while the start was being committed leave the others with level 0
                // alone: start again everywhere. Past level 0 it is another job's store.
                let deepest = -(try communicator.minimum(-meta.completedDepth))
                guard deepest == 0 else {
                    throw AgreedFailure(reason: "\(freshRanks) of \(communicator.size) ranks have no stored search \(name) and the others do: give every rank the store it ran with before, or remove the search from every rank's store")
                }
                meta = freshMeta
                fresh = true
            }
            if !fresh {
                let agreed = try communicator.minimum(meta.completedDepth)
                if meta.completedDepth > agreed {
                    meta.levels = Array(meta.levels.prefix(agreed + 1))
                    meta.localLevels = meta.localLevels.map { Array($0.prefix(agreed + 1)) }
                    meta.completedDepth = agreed
                    meta.finished = false
                }
                let allFinished = try communicator.minimum(meta.finished ? 1 : 0) == 1
                if allFinished { return Result(levels: meta.levels, seconds: meta.seconds) }
                meta.finished = false
            }
        }
        if meta.finished { return Result(levels: meta.levels, seconds: meta.seconds) }
        let engine = SearchEngine(environment: store.environment, name: name, metaDatabase: metaDatabase, meta: meta,
                                  undirected: options.undirected, keepsAllLevels: options.storesEveryLevel, memory: options.memory, parallelism: options.parallelism,
                                  successors: engineSuccessors, progress: progress, communicator: communicator)
        defer { AllocatorStatistics.giveFreeMemoryBack() }
        try engine.discardIncompleteLevel(fresh: fresh)
        if communicator != nil && !fresh {
            // A rolled-back rank records its agreed depth; a frontier search drops levels a crash
            // between commit and clean-up left behind.
            try store.environment.write { txn in try engine.saveMeta(txn) }
            if !options.storesEveryLevel, meta.completedDepth >= 2 {
                for old in 0...(meta.completedDepth - 2) { try engine.dropLevel(old) }
            }
        }
        if fresh {
            if encoded.isEmpty {
                engine.meta.finished = true
                try store.environment.write { txn in try engine.saveMeta(txn) }
                return Result(levels: [], seconds: 0)
            }
            try engine.writeStart(encoded)
        }
        do {
            try engine.run()
        } catch {
            // Free the disk the unfinished level took; the completed levels stay for a resume.
            try? engine.discardIncompleteLevel()
            throw error
        }
        return Result(levels: engine.meta.levels, seconds: engine.meta.seconds)
    }

    /// Calls `body` with every state at `depth`, in the order of their encoding.
    ///
    /// Levels are kept while the search needs them: every level of a directed search, the last two of
    /// an undirected one.
    /// - Throws: ``DiskCollectionsError/invalidSearch(search:reason:)`` if the level is not (or no
    ///   longer) stored; what `body` throws.
    /// - Complexity: one ordered pass over the level.
    public func forEachState(atDepth depth: Int, _ body: (State) throws -> Void) throws {
        let levelName = SearchEngine.levelName(name, depth)
        guard let db = try store.environment.read({ txn in try txn.openDatabase(levelName, create: false) }) else {
            throw try missingLevel(depth)
        }
        let reader = try StateBlockReader(environment: store.environment, database: db, bufferStates: 1 << 14)
        while !reader.isExhausted {
            try body(try Self.decode(reader.head))
            try reader.advance()
        }
    }

    /// Whether `state` is one of the states at `depth`.
    ///
    /// - Throws: ``DiskCollectionsError/invalidSearch(search:reason:)`` if the level is not (or no
    ///   longer) stored.
    /// - Complexity: one B-tree seek and the decode of one block (at most about 2,000 states).
    public func contains(_ state: State, atDepth depth: Int) throws -> Bool {
        let levelName = SearchEngine.levelName(name, depth)
        let encoded = Self.encode(state)
        return try store.environment.read { txn in
            guard let db = try txn.openDatabase(levelName, create: false) else { throw try self.missingLevel(depth) }
            return try StateBlocks.contains(encoded, in: db, txn)
        }
    }

    /// The depth at which the search first reached `state`, or `nil` if it did not (or has not yet).
    ///
    /// Needs every level (a directed search, or ``SearchOptions/keepsAllLevels``); in an undirected
    /// search without them, only the last two levels are looked at and earlier states give `nil`.
    /// - Complexity: one seek per stored level.
    public func depth(of state: State) throws -> Int? {
        let levels = try completedLevels.count
        for depth in 0..<levels where try levelIsStored(depth) {
            if try contains(state, atDepth: depth) { return depth }
        }
        return nil
    }

    /// A shortest path from a start state to `target`: `[start, …, target]`, or `nil` if the
    /// search did not reach `target`.
    ///
    /// Walks back from `target`, one level at a time, to a predecessor that lies on the level before.
    /// `predecessors` calls its argument with every state that has a move *to* its state: in an
    /// undirected search that is the successor function itself.
    /// - Throws: ``DiskCollectionsError/invalidSearch(search:reason:)`` if the levels are not all stored
    ///   (an undirected search needs ``SearchOptions/keepsAllLevels``) or if no predecessor of a state
    ///   lies on the level before (a `predecessors` that is not the inverse of the successors); what
    ///   `predecessors` throws.
    /// - Complexity: one seek per predecessor tried, at most the path's length times the branching.
    public func path(to target: State, predecessors: (State, (State) -> Void) throws -> Void) throws -> [State]? {
        let levels = try completedLevels.count
        guard try levels == 0 || levelIsStored(0) else {
            throw DiskCollectionsError.invalidSearch(search: name, reason:
                "its early levels are not stored; run the undirected search with keepsAllLevels: true to rebuild paths")
        }
        guard let depth = try depth(of: target) else { return nil }
        var path = [target]
        var current = target
        for d in stride(from: depth - 1, through: 0, by: -1) {
            var found: State?
            var failure: (any Error)?
            try predecessors(current) { candidate in
                guard found == nil, failure == nil else { return }
                do {
                    if try self.contains(candidate, atDepth: d) { found = candidate }
                } catch { failure = error }
            }
            if let failure { throw failure }
            guard let found else {
                throw DiskCollectionsError.invalidSearch(search: name, reason:
                    "no predecessor of a state at depth \(d + 1) is at depth \(d); predecessors must list every state with a move to the given one")
            }
            path.append(found)
            current = found
        }
        return path.reversed()
    }

    private func levelIsStored(_ depth: Int) throws -> Bool {
        let levelName = SearchEngine.levelName(name, depth)
        return try store.environment.read { txn in try txn.openDatabase(levelName, create: false) != nil }
    }

    private func missingLevel(_ depth: Int) throws -> DiskCollectionsError {
        .invalidSearch(search: name, reason:
            "level \(depth) is not stored (an undirected search keeps only its last two levels unless keepsAllLevels is set; completed: \(try completedLevels.count))")
    }

    // MARK: State encoding

    /// A state's order-preserving bytes, read as a big-endian number.
    @inline(__always)
    static func encode(_ state: State) -> UInt64 {
        if State.self == UInt64.self { return unsafeBitCast(state, to: UInt64.self) }
        return state.withDiskKeyBytes { bytes in bytes.reduce(0) { $0 << 8 | UInt64($1) } }
    }

    @inline(__always)
    static func decode(_ value: UInt64) throws -> State {
        if State.self == UInt64.self { return unsafeBitCast(value, to: State.self) }
        let width = State.diskKeyWidth
        return try withUnsafeBytes(of: value.bigEndian) { bytes in
            try State(diskKeyBytes: UnsafeRawBufferPointer(rebasing: bytes[(8 - width)...]))
        }
    }

    static func fingerprint(_ states: [UInt64]) -> (count: Int, hash: UInt64) {
        var sorted = states
        let n = sorted.withUnsafeMutableBufferPointer { b in b.isEmpty ? 0 : RadixSort.sortAndDeduplicate(b.baseAddress!, count: b.count) }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a over the sorted, distinct states
        for state in sorted.prefix(n) {
            var s = state
            for _ in 0..<8 {
                hash = (hash ^ (s & 0xff)) &* 0x100_0000_01b3
                s >>= 8
            }
        }
        return (n, hash)
    }

    private func loadMeta() throws -> SearchMeta? {
        try store.withRead { txn in
            guard let bytes = try txn.get(metaDatabase, key: SearchEngine.metaKey) else { return nil }
            let meta = try JSONDecoder().decode(SearchMeta.self, from: Data(bytes))
            guard meta.version <= SearchMeta.currentVersion else {
                throw DiskCollectionsError.unsupportedFormat(collection: name, version: meta.version, supported: SearchMeta.currentVersion)
            }
            return meta
        }
    }
}

/// How a ``BreadthFirstSearch`` runs.
public struct SearchOptions: Sendable, Hashable {
    /// Every move has an inverse move (undirected graph): keep only the last two levels
    /// (frontier search). Wrong for a directed space, where it could count a state twice. Recorded
    /// with the search; resuming with another value throws.
    public var undirected: Bool
    /// The engine's heap budget in bytes: its sort buffers, read-ahead and pending writes. At least
    /// 4 MiB; default 32 MiB, enough for searches of billions of states (a smaller budget only
    /// makes more, shorter sorted runs). RssAnon stays within this plus a small fixed slack
    /// (measured in docs/search.md).
    public var memory: Int
    /// The threads that run the successor function and sort: default, the active cores.
    public var parallelism: Int

    /// The default budget, 32 MiB.
    public static let defaultMemory = 32 << 20

    /// What a search's process holds in the heap beside ``memory``: the Swift runtime and
    /// Foundation (about 2 MiB), the worker threads' stacks and LMDB's transaction state. A process
    /// that runs only a search stays under `memory + heapSlack` bytes of RssAnon (measured in
    /// docs/search.md and checked by the tests).
    public static let heapSlack = 8 << 20

    /// Keep every level of an undirected search, not only the last two, so that
    /// ``BreadthFirstSearch/path(to:predecessors:)`` can rebuild a path to any state. A directed
    /// search always keeps every level. Costs one to three bytes a state on disk.
    public var keepsAllLevels: Bool

    public init(undirected: Bool = false, memory: Int = SearchOptions.defaultMemory,
                parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, keepsAllLevels: Bool = false) {
        self.undirected = undirected
        self.memory = memory
        self.parallelism = parallelism
        self.keepsAllLevels = keepsAllLevels
    }

    /// Whether the search keeps every level, as it does when it is directed or asked to.
    var storesEveryLevel: Bool { !undirected || keepsAllLevels }
}

/// What a ``BreadthFirstSearch`` found.
public struct SearchResult: Sendable, Hashable {
    /// The number of states first reached at each depth; `levels[0]` is the number of distinct
    /// start states.
    public var levels: [Int]
    /// The number of distinct states reached: the sum of ``levels``.
    public var states: Int { levels.reduce(0, +) }
    /// The greatest depth of a reachable state (the graph's eccentricity from the start), or −1
    /// for an empty start.
    public var depth: Int { levels.count - 1 }
    /// The time spent expanding and merging, summed over every run that contributed.
    public var seconds: Double
}

@available(*, unavailable, message: "a search, like its store, is used from one thread at a time")
extension BreadthFirstSearch: Sendable {}

/// A report on a running search, given to ``BreadthFirstSearch/run(from:progress:successors:)``'s
/// `progress` closure.
public struct SearchProgress: Sendable, Hashable {
    public enum Phase: String, Sendable, Hashable {
        /// Successors of the frontier are being generated and sorted into runs.
        case expanding
        /// The runs are being merged against the visited levels into the new level.
        case merging
        /// The level was committed: ``SearchProgress/newStates`` is final.
        case levelCompleted
    }
    public var phase: Phase
    /// The depth of the level being built.
    public var depth: Int
    /// The states of the frontier (depth − 1); in a partitioned search, this rank's part of it.
    public var frontier: Int
    /// The frontier states expanded so far (by this rank, in a partitioned search).
    public var expanded: Int
    /// The new states at `depth` (when the level completed; 0 before).
    public var newStates: Int
    /// The states of every completed level.
    public var totalStates: Int
    /// Seconds spent on this level so far.
    public var levelSeconds: Double
    /// Seconds spent on every completed level, over all runs.
    public var totalSeconds: Double
    /// The process's anonymous resident memory (RssAnon), in bytes.
    public var residentAnonymous: Int
    /// The store's used size (LMDB's last page), in bytes.
    public var storeBytes: Int

    /// Frontier states expanded a second during this level.
    public var statesPerSecond: Double { levelSeconds > 0 ? Double(expanded) / levelSeconds : 0 }
}

/// The search's record in its own database, under the key `meta` (JSON; see docs/on-disk-format.md).
struct SearchMeta: Codable, Hashable {
    static let currentVersion = 1
    var version = SearchMeta.currentVersion
    /// The state codec.
    var state: String
    var undirected: Bool
    /// The number of distinct start states, and an FNV-1a hash of them, to refuse a resume from others.
    var startCount: Int
    var startHash: UInt64
    /// The deepest level committed.
    var completedDepth = 0
    /// States per depth, for the committed levels.
    var levels: [Int] = []
    /// Whether the level after the last came out empty.
    var finished = false
    /// Seconds spent, over all runs.
    var seconds: Double = 0
    /// Whether an undirected search keeps its old levels (absent in metadata written before the option).
    var keepsAllLevels: Bool?
    /// A partitioned search's number of ranks and this store's rank (absent for a search in one process).
    var ranks: Int?
    var rank: Int?
    /// A partitioned search's states per depth in this rank's part (`levels` holds the whole search's).
    var localLevels: [Int]?
}
