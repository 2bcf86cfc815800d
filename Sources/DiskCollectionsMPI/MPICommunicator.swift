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
/// States travel as nonblocking synchronous sends (`MPI_Issend`) of at most ``batchStates`` states,
/// 8 bytes each, into receives posted ahead (`MPI_Irecv` from any rank), so that batches flow while
/// the ranks expand. A send is under way until the receiver has matched it, and a rank has at most
/// ``sendsInFlight`` under way (it takes in what arrives while it waits for room), so the memory in
/// flight is bounded: a rank's sends hold at most ``sendsInFlight`` × ``batchStates`` × 8 bytes
/// (an eighth of the search's budget, 4 MB by default), its posted receives
/// ``receivesPosted`` × ``batchStates`` × 8.
/// A rank that ends a level tells every other how many batches it sent it; level counts are
/// `MPI_Allreduce`s. The search calls MPI from the thread that runs it only
/// (`MPI_THREAD_FUNNELED`). A failure on one rank calls `MPI_Abort`, which ends the job; the search
/// resumes from the last level every rank committed (docs/distributed.md).
public final class MPICommunicator: SearchCommunicator {
    public let rank: Int
    public let size: Int
    /// The most states one message carries.
    public let batchStates: Int
    /// Receives kept posted ahead, each of ``batchStates`` states.
    public let receivesPosted: Int
    /// The most sends under way at once; a rank with that many waits (taking in what arrives).
    /// Set it from the search's memory budget: ``sendsInFlight(forMemory:)``.
    public var sendsInFlight: Int {
        didSet { precondition(sendsInFlight > 0, "at least one send in flight") }
    }

    /// The sends in flight that hold an eighth of a search's memory budget (the share the
    /// partitioned engine leaves for states on their way), split over the other ranks, at least 8.
    public func sendsInFlight(forMemory memory: Int) -> Int {
        Self.sendsInFlight(forMemory: memory, batchStates: batchStates, size: size)
    }

    private static func sendsInFlight(forMemory memory: Int, batchStates: Int, size: Int) -> Int {
        max(8, memory / 8 / (batchStates * 8) / max(1, size - 1))
    }
    private let comm: MPI_Comm
    /// States this rank sent to others, over its life (for sizing the network: 8 bytes each).
    public private(set) var statesSent = 0
    /// Messages this rank sent to others, over its life.
    public private(set) var messagesSent = 0
    private var finished = false

    private static let dataTag: Int32 = 1
    private static let endTag: Int32 = 2
    /// Posted receives: their requests (for `MPI_Testsome`) and buffers, index for index.
    private var receiveRequests: [MPI_Request?] = []
    private var receiveBuffers: [UnsafeMutablePointer<UInt64>] = []
    /// Sends under way: their requests (for `MPI_Testsome`) and buffers, index for index; and buffers
    /// free for the next.
    private var sendRequests: [MPI_Request?] = []
    private var sendBuffers: [UnsafeMutablePointer<UInt64>] = []
    private var spareBuffers: [UnsafeMutablePointer<UInt64>] = []
    /// `MPI_Testsome`'s output indices for the sends, grown with them.
    private var completedSendIndices: [Int32] = []
    /// This level: batches sent to each rank, received from each rank, and each rank's announced total.
    private var sentThisLevel: [UInt64]
    private var receivedThisLevel: [UInt64]
    private var announced: [UInt64?]
    /// The end-of-level messages (one count each).
    private let endBuffers: UnsafeMutablePointer<UInt64>
    /// `MPI_Testsome`'s outputs for the posted receives, kept between calls.
    private var completedIndices: [Int32]
    private var completedStatuses: [MPI_Status]

    /// What went wrong with MPI.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Initialises MPI for this process (once) and returns `MPI_COMM_WORLD`'s communicator.
    /// - Parameters:
    ///   - batchStates: the most states one message carries (default 4,000: 32,000 bytes, under the
    ///     32 KiB that Open MPI sends eagerly, without a rendezvous, see below).
    ///   - receivesPosted: receives posted ahead (default 8).
    ///   - sendsInFlight: the most sends under way at once (default: ``sendsInFlight(forMemory:)`` of
    ///     the default search budget, `SearchOptions.defaultMemory`; 131 with 2 ranks and 32 MB).
    /// - Throws: ``Failure`` if MPI does not initialise or lacks the thread support the search needs.
    ///
    /// A message larger than the transport's eager limit waits for the receiver in a rendezvous that
    /// progresses only while both ranks are inside MPI calls, which they make between rounds of
    /// expansion: measured, that made 2 ranks 1.3× faster than one instead of 1.65×. So before it
    /// initialises MPI, `start` raises Open MPI's shared-memory eager limit to 32 KiB
    /// (`OMPI_MCA_btl_vader_eager_limit`, unless it is set already); TCP's is 64 KiB by default.
    public static func start(batchStates: Int = 4_000, receivesPosted: Int = 8, sendsInFlight: Int? = nil) throws -> MPICommunicator {
        precondition(batchStates > 0 && batchStates < Int(Int32.max) && receivesPosted > 0 && (sendsInFlight ?? 1) > 0)
        var initialized: Int32 = 0
        MPI_Initialized(&initialized)
        if initialized == 0 {
            setenv("OMPI_MCA_btl_vader_eager_limit", "32768", 0)
            var provided: Int32 = 0
            let status = MPI_Init_thread(nil, nil, cmpi_thread_funneled(), &provided)
            guard status == cmpi_success() else { throw Failure(description: "MPI_Init_thread failed (error \(status))") }
            guard provided >= cmpi_thread_funneled() else {
                throw Failure(description: "this MPI gives thread level \(provided); the search needs MPI_THREAD_FUNNELED")
            }
        }
        let communicator = MPICommunicator(comm: cmpi_comm_world(), batchStates: batchStates,
                                           receivesPosted: receivesPosted, sendsInFlight: sendsInFlight)
        try communicator.postReceives()
        return communicator
    }

    private init(comm: MPI_Comm, batchStates: Int, receivesPosted: Int, sendsInFlight: Int?) {
        self.comm = comm
        var r: Int32 = 0, s: Int32 = 0
        MPI_Comm_rank(comm, &r)
        MPI_Comm_size(comm, &s)
        rank = Int(r)
        size = Int(s)
        self.batchStates = batchStates
        self.receivesPosted = receivesPosted
        self.sendsInFlight = sendsInFlight
            ?? Self.sendsInFlight(forMemory: SearchOptions.defaultMemory, batchStates: batchStates, size: Int(s))
        completedIndices = Array(repeating: 0, count: receivesPosted)
        completedStatuses = Array(repeating: MPI_Status(), count: receivesPosted)
        sentThisLevel = Array(repeating: 0, count: size)
        receivedThisLevel = Array(repeating: 0, count: size)
        announced = Array(repeating: nil, count: size)
        endBuffers = .allocate(capacity: size)
    }

    deinit {
        // Buffers MPI may still write into are leaked rather than freed if MPI was not finished.
        guard finished else { return }
        for buffer in receiveBuffers + spareBuffers { buffer.deallocate() }
        endBuffers.deallocate()
    }

    /// Ends MPI for this process (`MPI_Finalize`); call it once, after the last search.
    public func finish() {
        guard !finished else { return }
        finished = true
        for i in receiveRequests.indices where receiveRequests[i] != cmpi_request_null() {
            MPI_Cancel(&receiveRequests[i])
            MPI_Wait(&receiveRequests[i], cmpi_status_ignore())
        }
        for i in sendRequests.indices { MPI_Wait(&sendRequests[i], cmpi_status_ignore()) }
        spareBuffers += sendBuffers
        sendRequests = []
        sendBuffers = []
        MPI_Finalize()
    }

    private func check(_ status: Int32, _ what: String) throws {
        guard status == cmpi_success() else { throw Failure(description: "\(what) failed on rank \(rank) (MPI error \(status))") }
    }

    private func postReceives() throws {
        while receiveBuffers.count < receivesPosted {
            receiveBuffers.append(.allocate(capacity: batchStates))
            receiveRequests.append(cmpi_request_null())
            try post(receiveBuffers.count - 1)
        }
    }

    private func post(_ i: Int) throws {
        try check(MPI_Irecv(receiveBuffers[i], Int32(batchStates), cmpi_uint64(), cmpi_any_source(), cmpi_any_tag(), comm,
                            &receiveRequests[i]), "MPI_Irecv")
    }

    public func send(_ states: UnsafeBufferPointer<UInt64>, to destination: Int,
                     deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        precondition(destination != rank && destination >= 0 && destination < size, "a rank to send to")
        var start = 0
        while start < states.count {
            let count = min(batchStates, states.count - start)
            let buffer = try freeBuffer(deliver)
            buffer.update(from: states.baseAddress! + start, count: count)
            var request = cmpi_request_null()
            try check(MPI_Issend(buffer, Int32(count), cmpi_uint64(), Int32(destination), Self.dataTag, comm, &request), "MPI_Issend")
            sendRequests.append(request)
            sendBuffers.append(buffer)
            sentThisLevel[destination] += 1
            statesSent += count
            messagesSent += 1
            start += count
        }
    }

    /// A buffer for the next send: a spare one, a new one while fewer than `sendsInFlight` are under
    /// way, or the first to come free (delivering what arrives while waiting). Completed sends are
    /// collected here only when no buffer is spare and no more may be under way, and once a round in
    /// `receive`: testing every send under way for each batch sent (hundreds of requests, each test a
    /// turn of MPI's progress engine) took a fifth of a level's expansion on pancake 12.
    private func freeBuffer(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws -> UnsafeMutablePointer<UInt64> {
        while true {
            if let buffer = spareBuffers.popLast() { return buffer }
            if sendRequests.count < sendsInFlight { return .allocate(capacity: batchStates) }
            try completeSends()
            if spareBuffers.isEmpty, try !takeArrived(deliver) { sched_yield() }
        }
    }

    /// Frees the buffers of the sends that have completed: one `MPI_Testsome` over all of them.
    private func completeSends() throws {
        guard !sendRequests.isEmpty else { return }
        if completedSendIndices.count < sendRequests.count {
            completedSendIndices = Array(repeating: 0, count: sendRequests.count)
        }
        var completed: Int32 = 0
        try check(MPI_Testsome(Int32(sendRequests.count), &sendRequests, &completed, &completedSendIndices, cmpi_statuses_ignore()),
                  "MPI_Testsome")
        guard completed > 0 && completed != Int32(MPI_UNDEFINED) else { return }
        // MPI_Testsome set the completed requests to MPI_REQUEST_NULL: keep the others, in order.
        var kept = 0
        for i in sendRequests.indices {
            if sendRequests[i] == cmpi_request_null() {
                spareBuffers.append(sendBuffers[i])
            } else {
                sendRequests[kept] = sendRequests[i]
                sendBuffers[kept] = sendBuffers[i]
                kept += 1
            }
        }
        sendRequests.removeLast(sendRequests.count - kept)
        sendBuffers.removeLast(sendBuffers.count - kept)
    }

    /// Delivers every batch that has arrived and posts its receive again; whether there was one.
    private func takeArrived(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws -> Bool {
        var any = false
        while true {
            var completed: Int32 = 0
            try check(MPI_Testsome(Int32(receivesPosted), &receiveRequests, &completed, &completedIndices, &completedStatuses),
                      "MPI_Testsome")
            guard completed > 0 && completed != Int32(MPI_UNDEFINED) else { return any }
            any = true
            for k in 0..<Int(completed) {
                let i = Int(completedIndices[k])
                var status = completedStatuses[k]
                var count: Int32 = 0
                MPI_Get_count(&status, cmpi_uint64(), &count)
                let source = Int(status.MPI_SOURCE)
                if status.MPI_TAG == Self.endTag {
                    announced[source] = receiveBuffers[i][0]
                } else {
                    receivedThisLevel[source] += 1
                    try deliver(UnsafeBufferPointer(start: receiveBuffers[i], count: Int(count)))
                }
                try post(i)
            }
        }
    }

    public func receive(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        try completeSends()
        _ = try takeArrived(deliver)
    }

    public func endLevel(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws {
        var endRequests: [MPI_Request?] = []
        for destination in 0..<size where destination != rank {
            endBuffers[destination] = sentThisLevel[destination]
            endRequests.append(cmpi_request_null())
            try check(MPI_Isend(endBuffers + destination, 1, cmpi_uint64(), Int32(destination), Self.endTag, comm,
                                &endRequests[endRequests.count - 1]), "MPI_Isend")
        }
        func levelArrived() -> Bool {
            (0..<size).allSatisfy { $0 == rank || announced[$0] == receivedThisLevel[$0] }
        }
        while !(levelArrived() && sendRequests.isEmpty) {
            try completeSends()
            if try !takeArrived(deliver) { sched_yield() }
        }
        for i in endRequests.indices { try check(MPI_Wait(&endRequests[i], cmpi_status_ignore()), "MPI_Wait") }
        // Every send has completed: give their buffers back (the next level allocates them again).
        for buffer in spareBuffers { buffer.deallocate() }
        spareBuffers = []
        for r in 0..<size {
            sentThisLevel[r] = 0
            receivedThisLevel[r] = 0
            announced[r] = nil
        }
    }

    public func sum(_ value: Int) throws -> Int {
        try reduce(value, cmpi_sum(), "MPI_Allreduce (sum)")
    }

    public func minimum(_ value: Int) throws -> Int {
        try reduce(value, cmpi_min(), "MPI_Allreduce (min)")
    }

    private func reduce(_ value: Int, _ op: MPI_Op, _ what: String) throws -> Int {
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
