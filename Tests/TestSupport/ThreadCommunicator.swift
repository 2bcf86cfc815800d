import DiskCollections
import Foundation

/// The ranks of a partitioned search as threads of one process: `SearchCommunicator`'s operations
/// over shared memory, so that the partitioned engine is tested without MPI (the MPI tests run it over
/// processes). `run` starts one thread per rank and returns each rank's outcome.
public final class ThreadCommunicatorGroup: @unchecked Sendable {
    public let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    private var failure: String?
    /// Per destination, what the other ranks sent it, in order: a batch, or nil for "level ended".
    private var queues: [[[UInt64]?]]
    private var values: [Int]
    /// The states every rank sent to another, over the group's life.
    public private(set) var statesSent = 0
    /// The operations (sends, receives, level ends and operations) every rank called, over the group's life.
    public private(set) var operations = 0

    public init(size: Int) {
        self.size = size
        queues = Array(repeating: [], count: size)
        values = Array(repeating: 0, count: size)
    }

    /// Runs `body` on `size` threads, one per rank, and returns each rank's result or error, in rank order.
    public func run<T: Sendable>(_ body: @escaping @Sendable (ThreadCommunicator) throws -> T) -> [Result<T, any Error>] {
        let results = Locked<[Result<T, any Error>?]>(Array(repeating: nil, count: size))
        onThreads(size) { rank in
            let outcome = Result { try body(ThreadCommunicator(group: self, rank: rank)) }
            results.withLock { $0[rank] = outcome }
        }
        return results.withLock { $0.map { $0! } }
    }

    /// Why the group was aborted, if it was.
    public var abortReason: String? { condition.withLock { failure } }

    func barrier() throws {
        condition.lock()
        defer { condition.unlock() }
        if let failure { throw GroupAborted(reason: failure) }
        let mine = generation
        arrived += 1
        if arrived == size {
            arrived = 0
            generation += 1
            condition.broadcast()
        } else {
            while generation == mine && failure == nil { condition.wait() }
        }
        if let failure { throw GroupAborted(reason: failure) }
    }

    func post(_ batch: [UInt64]?, to destination: Int) {
        condition.withLock {
            queues[destination].append(batch)
            statesSent += batch?.count ?? 0
            condition.broadcast()
        }
    }

    /// What has arrived for `rank`; with `wait`, waits until something has (or the group is aborted).
    func take(_ rank: Int, wait: Bool) throws -> [[UInt64]?] {
        condition.lock()
        defer { condition.unlock() }
        while wait && queues[rank].isEmpty && failure == nil { condition.wait() }
        if let failure { throw GroupAborted(reason: failure) }
        defer { queues[rank] = [] }
        return queues[rank]
    }

    func counted() { condition.withLock { operations += 1 } }

    func set(_ value: Int, _ rank: Int) { condition.withLock { values[rank] = value } }
    func allValues() -> [Int] { condition.withLock { values } }

    func abort(_ reason: String) {
        condition.withLock {
            if failure == nil { failure = reason }
            condition.broadcast()
        }
    }
}

/// What a rank's operation throws after another rank aborted the group.
public struct GroupAborted: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "another rank aborted the search: \(reason)" }
}

/// One rank of a ``ThreadCommunicatorGroup``.
public final class ThreadCommunicator: SearchCommunicator, @unchecked Sendable {
    let group: ThreadCommunicatorGroup
    public let rank: Int
    public var size: Int { group.size }
    /// The operations this rank has called: a test can make a rank fail at the k-th.
    public private(set) var operations = 0
    /// Throws from the operation with this number (a rank that dies mid-level): before taking part
    /// in it, or, with `failsAfterOperation`, after (the others got its contribution, and may commit
    /// a level this rank will not).
    public var failAtOperation: Int?
    public var failsAfterOperation = false

    init(group: ThreadCommunicatorGroup, rank: Int) {
        self.group = group
        self.rank = rank
    }

    private func count() throws {
        operations += 1
        group.counted()
        if operations == failAtOperation, !failsAfterOperation { throw InjectedFailure(rank: rank, operation: operations) }
    }

    private func done() throws {
        if operations == failAtOperation, failsAfterOperation { throw InjectedFailure(rank: rank, operation: operations) }
    }

    /// Ranks whose end of the current level has arrived.
    private var ended = 0

    public func send(_ states: UnsafeBufferPointer<UInt64>, to destination: Int,
                     deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        precondition(destination != rank && !states.isEmpty)
        try count()
        group.post(Array(states), to: destination)
        try done()
    }

    public func receive(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        try count()
        try take(wait: false, deliver)
        try done()
    }

    public func endLevel(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        try count()
        for destination in 0..<size where destination != rank { group.post(nil, to: destination) }
        while ended < size - 1 { try take(wait: true, deliver) }
        ended = 0
        try done()
    }

    private func take(wait: Bool, _ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        for message in try group.take(rank, wait: wait) {
            if let batch = message { try batch.withUnsafeBufferPointer(deliver) } else { ended += 1 }
        }
    }

    public func sum(_ value: Int) throws -> Int {
        try reduce(value) { $0.reduce(0, +) }
    }

    public func minimum(_ value: Int) throws -> Int {
        try reduce(value) { $0.min()! }
    }

    private func reduce(_ value: Int, _ combine: ([Int]) -> Int) throws -> Int {
        try count()
        group.set(value, rank)
        try group.barrier()
        let result = combine(group.allValues())
        try group.barrier()
        try done()
        return result
    }

    public func abort(_ error: any Error) {
        group.abort("rank \(rank): \(error)")
    }
}

/// The failure ``ThreadCommunicator/failAtOperation`` injects.
public struct InjectedFailure: Error, CustomStringConvertible {
    public var rank: Int
    public var operation: Int
    public var description: String { "injected failure on rank \(rank) at operation \(operation)" }
}
