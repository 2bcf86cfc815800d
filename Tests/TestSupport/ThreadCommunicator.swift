import DiskCollections
import Foundation

/// The ranks of a partitioned search as threads of one process: `SearchCommunicator`'s collectives
/// over shared memory, so that the partitioned engine is tested without MPI (the MPI tests run it over
/// processes). `run` starts one thread per rank and returns each rank's outcome.
public final class ThreadCommunicatorGroup: @unchecked Sendable {
    public let size: Int
    private let condition = NSCondition()
    private var arrived = 0
    private var generation = 0
    private var failure: String?
    private var mailbox: [[[UInt64]]]  // [destination][source]
    private var values: [Int]
    /// The states every exchange sent to another rank, over the group's life.
    public private(set) var statesSent = 0
    /// The collectives every rank called, over the group's life.
    public private(set) var collectives = 0

    public init(size: Int) {
        self.size = size
        mailbox = Array(repeating: Array(repeating: [], count: size), count: size)
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

    func post(_ outgoing: [[UInt64]], from rank: Int) {
        condition.withLock {
            for destination in 0..<size {
                mailbox[destination][rank] = outgoing[destination]
                if destination != rank { statesSent += outgoing[destination].count }
            }
        }
    }

    func collect(_ rank: Int) -> [UInt64] {
        condition.withLock { mailbox[rank].flatMap { $0 } }
    }

    func counted() { condition.withLock { collectives += 1 } }

    func set(_ value: Int, _ rank: Int) { condition.withLock { values[rank] = value } }
    func allValues() -> [Int] { condition.withLock { values } }

    func abort(_ reason: String) {
        condition.withLock {
            if failure == nil { failure = reason }
            condition.broadcast()
        }
    }
}

/// What a rank's collective throws after another rank aborted the group.
public struct GroupAborted: Error, CustomStringConvertible {
    public var reason: String
    public var description: String { "another rank aborted the search: \(reason)" }
}

/// One rank of a ``ThreadCommunicatorGroup``.
public final class ThreadCommunicator: SearchCommunicator, @unchecked Sendable {
    let group: ThreadCommunicatorGroup
    public let rank: Int
    public var size: Int { group.size }
    /// The collectives this rank has called: a test can make a rank fail at the k-th.
    public private(set) var collectives = 0
    /// Throws from the collective with this number (a rank that dies mid-level): before taking part
    /// in it, or, with `failsAfterCollective`, after (the others got its contribution, and may commit
    /// a level this rank will not).
    public var failAtCollective: Int?
    public var failsAfterCollective = false

    init(group: ThreadCommunicatorGroup, rank: Int) {
        self.group = group
        self.rank = rank
    }

    private func count() throws {
        collectives += 1
        group.counted()
        if collectives == failAtCollective, !failsAfterCollective { throw InjectedFailure(rank: rank, collective: collectives) }
    }

    private func done() throws {
        if collectives == failAtCollective, failsAfterCollective { throw InjectedFailure(rank: rank, collective: collectives) }
    }

    public func exchange(_ outgoing: [[UInt64]]) throws -> [UInt64] {
        try count()
        group.post(outgoing, from: rank)
        try group.barrier()
        let received = group.collect(rank)
        try group.barrier()
        try done()
        return received
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

/// The failure ``ThreadCommunicator/failAtCollective`` injects.
public struct InjectedFailure: Error, CustomStringConvertible {
    public var rank: Int
    public var collective: Int
    public var description: String { "injected failure on rank \(rank) at collective \(collective)" }
}
