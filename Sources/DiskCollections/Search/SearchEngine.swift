import Dispatch
import Foundation
import LMDB

/// The engine behind ``BreadthFirstSearch``, on states already encoded as order-preserving `UInt64`s.
///
/// One level, k → k+1:
/// 1. **Expand.** The coordinating thread reads level k's blocks in order and deals chunks of states
///    to the workers; `concurrentPerform` runs the successor function on every core, each worker
///    collecting successors in its own buffer, sorted and deduplicated in place when it fills. A buffer
///    that stays full is written out by the coordinator as a sorted run (`MDB_APPEND`, 1 MiB a commit).
/// 2. **Merge.** The runs on disk and the workers' last sorted buffers are merged (a binary heap of
///    cursors), duplicates dropped, and each candidate is checked against the levels it may repeat with
///    ordered cursor passes: levels k and k−1 when the space is undirected (frontier search), every level
///    before otherwise. What remains is level k+1, written as delta-encoded blocks.
/// 3. **Commit.** One small write transaction records level k+1's count in the search's metadata, drops
///    the runs (and level k−1 in an undirected search): the level is committed atomically, so a killed
///    search resumes at the last completed level.
///
/// No read transaction stays open: readers refill in short snapshots, so the map can grow at any time.
final class SearchEngine {
    typealias Successors = @Sendable (UInt64, (UInt64) -> Void) throws -> Void

    let environment: Environment
    let name: String
    let undirected: Bool
    /// Keep levels older than the last two (always for a directed search).
    let keepsAllLevels: Bool
    let memory: Int
    let parallelism: Int
    let successors: Successors
    let progress: ((SearchProgress) -> Void)?
    /// The database holding the search's metadata (the search's catalog entry).
    let metaDatabase: Database
    var meta: SearchMeta
    /// In a partitioned search, the transport to the other ranks; this engine keeps the states it owns.
    let communicator: (any SearchCommunicator)?

    init(environment: Environment, name: String, metaDatabase: Database, meta: SearchMeta, undirected: Bool, keepsAllLevels: Bool,
         memory: Int, parallelism: Int, successors: @escaping Successors, progress: ((SearchProgress) -> Void)?,
         communicator: (any SearchCommunicator)? = nil) {
        self.communicator = communicator
        self.environment = environment
        self.name = name
        self.metaDatabase = metaDatabase
        self.meta = meta
        self.undirected = undirected
        self.keepsAllLevels = keepsAllLevels
        self.memory = memory
        self.parallelism = parallelism
        self.successors = successors
        self.progress = progress
    }

    // MARK: Names

    static func levelName(_ search: String, _ depth: Int) -> String { "__search.\(search).level.\(depth)" }
    static func runsName(_ search: String) -> String { "__search.\(search).runs" }
    static func internalPrefix(_ search: String) -> String { "__search.\(search)." }
    static let metaKey = Array("meta".utf8)

    func levelDatabase(_ depth: Int, create: Bool) throws -> Database? {
        let name = SearchEngine.levelName(self.name, depth)
        if !create { return try environment.read { txn in try txn.openDatabase(name, create: false) } }
        do {
            return try environment.write { txn in try txn.openDatabase(name) }
        } catch let error as LMDBError where error.code == .databasesFull {
            // Each stored level is a named database; a deep search that keeps every level runs out.
            throw DiskCollectionsError.invalidSearch(search: self.name, reason:
                "level \(depth) needs one more LMDB database than the store allows; a search that keeps every level (directed, or keepsAllLevels) needs one per level: open the store with a larger maximumCollections (e.g. Store(at:maximumCollections: \(max(512, 2 * depth))))) and run again to resume")
        }
    }

    func runsDatabase() throws -> Database {
        try environment.write { txn in try txn.openDatabase(SearchEngine.runsName(name))! }
    }

    func saveMeta(_ txn: Transaction) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try txn.put(metaDatabase, key: SearchEngine.metaKey, value: Array(try encoder.encode(meta)))
    }

    // MARK: Memory plan

    /// Each worker's buffer: five-eighths of the budget, shared by the workers; in a partitioned
    /// search three-eighths, and an eighth for the states bound for other ranks (what arrives from them
    /// is about as much again, and MPI's own buffers hold a copy while they travel).
    var workerCapacity: Int { max(1 << 12, memory / 8 * (communicator == nil ? 5 : 3) / 8 / parallelism) }
    /// How many states a worker's outboxes hold at most after a round, in a partitioned search.
    var outboxCapacity: Int { max(1 << 10, memory / 8 / 8 / parallelism) }
    /// States decoded ahead per merge input: an eighth of the budget, shared by the inputs.
    func readerStates(inputs: Int) -> Int { max(StateBlocks.maximumValueBytes + 1, memory / 8 / 8 / max(1, inputs)) }
    /// The most runs merged at once before a pass combines them (each needs its read-ahead buffer).
    var maximumFanIn: Int { max(8, memory / 8 / 8 / (StateBlocks.maximumValueBytes + 1)) }

    // MARK: Levels

    /// Writes the start states as level 0 and commits the fresh metadata.
    /// In a partitioned search, every rank is given every start state and keeps those it owns.
    func writeStart(_ states: [UInt64]) throws {
        var sorted = states
        if let communicator {
            sorted = states.filter { SearchPartition.owner(ofEncoded: $0, size: communicator.size) == communicator.rank }
        }
        let n = sorted.isEmpty ? 0 : sorted.withUnsafeMutableBufferPointer { RadixSort.sortAndDeduplicate($0.baseAddress!, count: $0.count) }
        let level = try levelDatabase(0, create: true)!
        let writer = StateBlockWriter(environment: environment, database: level)
        if n > 0 { try sorted.withUnsafeBufferPointer { try writer.append($0.baseAddress!, count: n) } }
        try writer.finish()
        meta.levels = [try communicator?.sum(n) ?? n]
        if communicator != nil { meta.localLevels = [n] }
        meta.completedDepth = 0
        try environment.write { txn in try saveMeta(txn) }
    }

    /// Removes what an interrupted level left behind: levels past the last completed one, and runs;
    /// with `fresh` (no level committed yet), level 0 too: a start that died before its first commit.
    func discardIncompleteLevel(fresh: Bool = false) throws {
        let prefix = SearchEngine.internalPrefix(name)
        try environment.write { txn in
            for dbName in try txn.databaseNames() where dbName.hasPrefix(prefix) {
                let rest = dbName.dropFirst(prefix.count)
                let isRuns = rest == "runs"
                let stale = rest.hasPrefix("level.") && (Int(rest.dropFirst(6)).map { fresh || $0 > meta.completedDepth } ?? false)
                if isRuns || stale { try SearchEngine.drop(dbName, txn) }
            }
        }
    }

    /// Deletes the database `name` in `txn`, if it exists.
    static func drop(_ name: String, _ txn: Transaction) throws {
        if let db = try txn.openExistingDatabase(name) { try txn.clear(db, deleteDatabase: true) }
    }

    /// Deletes a stored level (an old level of a frontier search).
    func dropLevel(_ depth: Int) throws {
        try environment.write { txn in try SearchEngine.drop(SearchEngine.levelName(name, depth), txn) }
    }

    /// Runs levels until one comes out empty.
    func run() throws {
        let clock = ContinuousClock()
        while !meta.finished {
            let started = clock.now
            let depth = meta.completedDepth + 1
            let local = try buildLevel(depth)
            // A partitioned search's level is the sum of the ranks' parts; all agree on it, and so on the end.
            let count = try communicator?.sum(local) ?? local
            let seconds = (clock.now - started).seconds
            meta.seconds += seconds
            try environment.write { txn in
                if count == 0 {
                    meta.finished = true
                    try SearchEngine.drop(SearchEngine.levelName(name, depth), txn)
                } else {
                    meta.levels.append(count)
                    if communicator != nil { meta.localLevels = (meta.localLevels ?? []) + [local] }
                    meta.completedDepth = depth
                    // A partitioned search drops the old level only once every rank has committed this one
                    // (below): until then a resume may have to rebuild this level from it.
                    if communicator == nil, !keepsAllLevels, depth >= 2 {
                        try SearchEngine.drop(SearchEngine.levelName(name, depth - 2), txn)
                    }
                }
                try SearchEngine.drop(SearchEngine.runsName(name), txn)
                try saveMeta(txn)
            }
            // The store commits without fsync by default (a killed process loses nothing); one fsync a
            // level makes the completed levels survive a machine crash too, at a cost that is small
            // beside writing the level.
            try environment.sync()
            if let communicator, count > 0, !keepsAllLevels, depth >= 2 {
                _ = try communicator.sum(0)  // every rank has committed `depth`
                try dropLevel(depth - 2)
            }
            report(.levelCompleted, depth: depth, expanded: meta.levels[depth - 1], newStates: count, seconds: seconds)
        }
    }

    private var lastReport = ContinuousClock.now

    func report(_ phase: SearchProgress.Phase, depth: Int, expanded: Int, newStates: Int, seconds: Double) {
        guard let progress else { return }
        if phase != .levelCompleted {
            let now = ContinuousClock.now
            guard now - lastReport >= .milliseconds(250) else { return }
            lastReport = now
        }
        let storeBytes = (try? environment.info()).map { ($0.lastPage + 1) * 4096 } ?? 0
        progress(SearchProgress(
            phase: phase, depth: depth, frontier: communicator == nil ? meta.levels[depth - 1] : (meta.localLevels?[depth - 1] ?? 0),
            expanded: expanded, newStates: newStates,
            totalStates: meta.levels.reduce(0, +), levelSeconds: seconds, totalSeconds: meta.seconds,
            residentAnonymous: AllocatorStatistics.residentAnonymousFast() ?? 0, storeBytes: storeBytes))
    }

    /// Builds level `depth` from level `depth − 1` and returns its number of states.
    func buildLevel(_ depth: Int) throws -> Int {
        let clock = ContinuousClock()
        let started = clock.now
        guard let frontierDatabase = try levelDatabase(depth - 1, create: false) else {
            throw DiskCollectionsError.corrupt(collection: name, detail: "level \(depth - 1) of the search is missing")
        }
        let runsDatabase = try runsDatabase()
        var runCount: UInt32 = 0
        let workers = (0..<parallelism).map { _ in
            ExpansionWorker(capacity: workerCapacity, chunkCapacity: min(communicator == nil ? 1 << 16 : 1 << 13, max(64, workerCapacity / 16)),
                            partitions: communicator?.size ?? 1, rank: communicator?.rank ?? 0, outboxCapacity: outboxCapacity)
        }
        let frontier = try StateBlockReader(environment: environment, database: frontierDatabase, bufferStates: 1 << 14)
        var expanded = 0

        func writeRun(_ base: UnsafeMutablePointer<UInt64>, _ count: Int) throws {
            guard count > 0 else { return }
            let writer = StateBlockWriter(environment: environment, database: runsDatabase, prefix: runCount)
            try writer.append(base, count: count)
            try writer.finish()
            runCount += 1
        }

        func spill(_ worker: ExpansionWorker) throws {
            worker.compact()
            try writeRun(worker.buffer, worker.count)
            worker.count = 0
            worker.isCompact = true
            if !worker.overflow.isEmpty {
                var overflow = worker.overflow
                worker.overflow = []
                if overflow.count <= worker.capacity {
                    worker.buffer.update(from: overflow, count: overflow.count)
                    worker.count = overflow.count
                    worker.isCompact = false
                } else {
                    let n = overflow.withUnsafeMutableBufferPointer { RadixSort.sortAndDeduplicate($0.baseAddress!, count: $0.count) }
                    try overflow.withUnsafeMutableBufferPointer { try writeRun($0.baseAddress!, n) }
                }
            }
        }

        // What other ranks send goes into the emptiest worker's buffer, as if that worker had generated it.
        func deliver(_ batch: UnsafeBufferPointer<UInt64>) throws {
            let worker = workers.min { $0.count < $1.count }!
            worker.absorb(batch)
            if worker.needsSpill { try spill(worker) }
        }

        // 1. Expand. A partitioned search streams each round's successors to their owners and takes
        // in what has arrived from the others between rounds; at the end every rank waits for the rest.
        let successors = self.successors
        while !frontier.isExhausted {
            for worker in workers {
                worker.chunkCount = try frontier.take(into: worker.chunk, limit: worker.nextChunkSize)
                expanded += worker.chunkCount
            }
            DispatchQueue.concurrentPerform(iterations: workers.count) { w in workers[w].expand(successors) }
            if let error = workers.lazy.compactMap(\.error).first { throw error }
            for worker in workers where worker.needsSpill { try spill(worker) }
            if let communicator {
                try send(workers, communicator, all: false, deliver: deliver)
                try communicator.receive(deliver)
            }
            report(.expanding, depth: depth, expanded: expanded, newStates: 0, seconds: (clock.now - started).seconds)
        }
        if let communicator {
            try send(workers, communicator, all: true, deliver: deliver)
            try communicator.endLevel(deliver)
        }
        DispatchQueue.concurrentPerform(iterations: workers.count) { w in workers[w].compact() }
        for worker in workers where !worker.overflow.isEmpty { try spill(worker); worker.compact() }

        // 2. Merge runs and buffers, subtracting the levels a new state may repeat.
        report(.merging, depth: depth, expanded: expanded, newStates: 0, seconds: (clock.now - started).seconds)
        var runIDs = Array(0..<runCount)
        while runIDs.count + workers.count > maximumFanIn {
            // Too many runs to read at once: merge the oldest into one longer run first.
            let group = Array(runIDs.prefix(maximumFanIn))
            runIDs.removeFirst(group.count)
            let inputs = try group.map {
                try StateBlockReader(environment: environment, database: runsDatabase, prefix: $0,
                                     bufferStates: readerStates(inputs: group.count))
            }
            let writer = StateBlockWriter(environment: environment, database: runsDatabase, prefix: runCount)
            try SearchEngine.merge(inputs, subtracting: [], into: writer)
            try writer.finish()
            runIDs.append(runCount)
            runCount += 1
        }
        let visitedDepths = undirected ? Array(max(0, depth - 2)...(depth - 1)) : Array(0...(depth - 1))
        let inputCount = runIDs.count + visitedDepths.count
        var inputs = try runIDs.map {
            try StateBlockReader(environment: environment, database: runsDatabase, prefix: $0,
                                 bufferStates: readerStates(inputs: inputCount))
        }
        inputs += workers.map { StateBlockReader(memory: $0.buffer, count: $0.count) }
        let visited = try visitedDepths.map { d in
            guard let db = try levelDatabase(d, create: false) else {
                throw DiskCollectionsError.corrupt(collection: name, detail: "level \(d) of the search is missing")
            }
            return try StateBlockReader(environment: environment, database: db, bufferStates: readerStates(inputs: inputCount))
        }
        let output = try levelDatabase(depth, create: true)!
        let writer = StateBlockWriter(environment: environment, database: output)
        try SearchEngine.merge(inputs, subtracting: visited, into: writer)
        try writer.finish()
        withExtendedLifetime(workers) {}
        return writer.count
    }

    /// Sends the workers' outboxes to their owners: those that hold a batch's worth, or `all` of them.
    func send(_ workers: [ExpansionWorker], _ communicator: any SearchCommunicator, all: Bool,
              deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        let batch = max(1 << 10, min(1 << 14, outboxCapacity / 4 / max(1, communicator.size - 1)))
        for destination in 0..<communicator.size where destination != communicator.rank {
            guard all || workers.reduce(0, { $0 + $1.outbox[destination].count }) >= batch else { continue }
            for worker in workers where !worker.outbox[destination].isEmpty {
                try communicator.send(worker.outbox[destination].states, to: destination, deliver: deliver)
                worker.outbox[destination].removeAll()
            }
        }
    }

    /// Merges ascending inputs into `writer`, each distinct state once, leaving out the states of
    /// `subtracting` (also ascending).
    /// - Complexity: O(n log k) for n states in k inputs, plus one ordered pass over each subtrahend.
    static func merge(_ inputs: [StateBlockReader], subtracting visited: [StateBlockReader], into writer: StateBlockWriter) throws {
        // A binary min-heap of (head, reader). The readers are held unretained (the arrays keep them
        // alive) so that the per-state loop does no reference counting.
        struct Entry {
            var head: UInt64
            let reader: Unmanaged<StateBlockReader>
        }
        var heap = inputs.filter { !$0.isExhausted }.map { Entry(head: $0.head, reader: .passUnretained($0)) }
        let subtrahends = visited.map { Unmanaged.passUnretained($0) }
        try withExtendedLifetime((inputs, visited)) {
            try heap.withUnsafeMutableBufferPointer { h in
                var n = h.count
                func siftDown(_ start: Int) {
                    var i = start
                    let entry = h[i]
                    while true {
                        let l = 2 * i + 1
                        if l >= n { break }
                        var m = l
                        if l + 1 < n, h[l + 1].head < h[l].head { m = l + 1 }
                        if h[m].head >= entry.head { break }
                        h[i] = h[m]
                        i = m
                    }
                    h[i] = entry
                }
                for i in stride(from: n / 2, through: 0, by: -1) where n > 0 { siftDown(i) }
                var hasLast = false
                var last: UInt64 = 0
                while n > 0 {
                    let state = h[0].head
                    let exhausted = try h[0].reader._withUnsafeGuaranteedRef { r in
                        try r.advance()
                        h[0].head = r.head
                        return r.isExhausted
                    }
                    if exhausted {
                        n -= 1
                        h[0] = h[n]
                    }
                    if n > 1 { siftDown(0) }
                    if hasLast && state == last { continue }
                    hasLast = true
                    last = state
                    var seen = false
                    for v in subtrahends {
                        seen = try v._withUnsafeGuaranteedRef { v in
                            while !v.isExhausted && v.head < state { try v.advance() }
                            return !v.isExhausted && v.head == state
                        }
                        if seen { break }
                    }
                    if !seen { try writer.append(state) }
                }
            }
        }
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) * 1e-18
    }
}
