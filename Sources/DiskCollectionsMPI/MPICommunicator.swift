import CMPI
import DiskCollections
import Foundation

/// A partitioned ``BreadthFirstSearch`` over MPI: every process of an `mpirun` job is one rank.
///
/// ```swift
/// let mpi = try MPICommunicator.start()          // MPI_Init_thread, once per process
/// defer { mpi.finish() }                         // MPI_Finalize
/// let store = try Store(at: "/data/search/rank-\(mpi.rank)")   // each rank its own store
/// let search = try BreadthFirstSearch(store: store, name: "p12", of: UInt64.self, options: .init(undirected: true))
/// let result = try search.run(from: [start], communicator: mpi) { state, emit in … }
/// ```
///
/// Each round of a level's expansion is one `MPI_Alltoall` of counts and one `MPI_Alltoallv` of the
/// states (8 bytes each); level ends and counts are `MPI_Allreduce`s. The search calls MPI from the
/// thread that runs it only (`MPI_THREAD_FUNNELED`). A failure on one rank calls `MPI_Abort`, which
/// ends the job; the search resumes from the last level every rank committed (docs/distributed.md).
public final class MPICommunicator: SearchCommunicator {
    public let rank: Int
    public let size: Int
    private let comm: MPI_Comm
    /// States this rank sent to others, over its life (for sizing the network: 8 bytes each).
    public private(set) var statesSent = 0
    /// Collective operations this rank took part in.
    public private(set) var collectives = 0
    private var finished = false

    /// What went wrong with MPI.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Initialises MPI for this process (once) and returns `MPI_COMM_WORLD`'s communicator.
    /// - Throws: ``Failure`` if MPI does not initialise or lacks the thread support the search needs.
    public static func start() throws -> MPICommunicator {
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            var provided: Int32 = 0
            let status = MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided)
            guard status == cmpi_success() else { throw Failure(description: "MPI_Init_thread failed (error \(status))") }
            guard provided >= cmpi_thread_funneled() else {
                throw Failure(description: "this MPI gives thread level \(provided); the search needs MPI_THREAD_FUNNELED")
            }
        }
        return MPICommunicator(comm: cmpi_comm_world())
    }

    private init(comm: MPI_Comm) {
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
    }

    /// Ends MPI for this process (`MPI_Finalize`); call it once, after the last search.
    public func finish() {
        guard !finished else { return }
        finished = true
        MPI_Finalize()
    }

    private func check(_ status: Int32, _ what: String) throws {
        guard status == cmpi_success() else { throw Failure(description: "\(what) failed on rank \(rank) (MPI error \(status))") }
    }

    public func exchange(_ outgoing: [[UInt64]]) throws -> [UInt64] {
        precondition(outgoing.count == size, "one outbox per rank")
        collectives += 1
        guard outgoing.allSatisfy({ $0.count < Int(Int32.max) }) else {
            throw Failure(description: "a batch of more than \(Int32.max) states for one rank")
        }
        var sendCounts = outgoing.map { Int32($0.count) }
        var receiveCounts = [Int32](repeating: 0, count: size)
        try check(MPI_Alltoall(&sendCounts, 1, cmpi_int32(), &receiveCounts, 1, cmpi_int32(), comm), "MPI_Alltoall")
        var sendOffsets = [Int32](repeating: 0, count: size)
        var receiveOffsets = [Int32](repeating: 0, count: size)
        for r in 1..<max(1, size) {
            sendOffsets[r] = sendOffsets[r - 1] + sendCounts[r - 1]
            receiveOffsets[r] = receiveOffsets[r - 1] + receiveCounts[r - 1]
        }
        let sendTotal = sendCounts.reduce(0) { $0 + Int($1) }
        let receiveTotal = receiveCounts.reduce(0) { $0 + Int($1) }
        statesSent += sendTotal - outgoing[rank].count
        var send = [UInt64]()
        send.reserveCapacity(sendTotal)
        for box in outgoing { send += box }
        var received = [UInt64](repeating: 0, count: receiveTotal)
        try send.withUnsafeMutableBufferPointer { s in
            try received.withUnsafeMutableBufferPointer { r in
                try check(MPI_Alltoallv(s.baseAddress, &sendCounts, &sendOffsets, cmpi_uint64(),
                                        r.baseAddress, &receiveCounts, &receiveOffsets, cmpi_uint64(), comm), "MPI_Alltoallv")
            }
        }
        return received
    }

    public func sum(_ value: Int) throws -> Int {
        try reduce(value, cmpi_sum(), "MPI_Allreduce (sum)")
    }

    public func minimum(_ value: Int) throws -> Int {
        try reduce(value, cmpi_min(), "MPI_Allreduce (min)")
    }

    private func reduce(_ value: Int, _ op: MPI_Op, _ what: String) throws -> Int {
        collectives += 1
        var mine = Int64(value)
        var result: Int64 = 0
        try check(MPI_Allreduce(&mine, &result, 1, cmpi_int64(), op, comm), what)
        return Int(result)
    }

    /// Ends the whole job (`MPI_Abort`): the other ranks are waiting in a collective for this one.
    public func abort(_ error: any Error) {
        FileHandle.standardError.write(Data("rank \(rank) of \(size): \(error)\n".utf8))
        MPI_Abort(comm, 1)
    }
}
