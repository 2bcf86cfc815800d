import Dispatch
import LMDB
import Synchronization

// The async API: `await store.read { }`, `await store.write { }` and scans as `AsyncSequence`s. The
// closures run on the store's own threads (Dispatch queues, not Swift's cooperative pool), so a write
// waiting for LMDB's writer lock or for `fsync` never holds a thread the program's tasks need.

/// The cancellation flag of an `async` transaction: set when its task is cancelled, read by the
/// collection operations inside it (``Store/checkCancellation()``).
@usableFromInline
final class CancellationFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    init() {}
    func set() { flag.store(true, ordering: .releasing) }
    @usableFromInline var isSet: Bool { flag.load(ordering: .acquiring) }
}

extension Store {
    /// Runs `body` in one read transaction on one of the store's reader threads, like ``read(_:)``:
    /// every read in it sees the same snapshot, also while other tasks write. Any number of these run
    /// at once.
    ///
    /// Cancellation: a task cancelled before `body` starts gets `CancellationError` and `body` never
    /// runs; once it runs, each collection operation in it throws `CancellationError` after the
    /// cancellation (call ``checkCancellation()`` in long loops of your own).
    public func read<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await runDetached(on: readerQueue) { flag in try self.read(context: flag, body) }
    }

    /// Runs `body` in one write transaction on the store's writer thread, like ``write(_:)``: its changes
    /// commit together when it returns, or none does when it throws, and with
    /// ``Durability/durable`` the commit's `fsync` happens there, not on the calling task's thread.
    ///
    /// Cancellation: a task cancelled before `body` starts gets `CancellationError` and nothing is
    /// written; once it runs, the next collection operation in it throws `CancellationError`, which
    /// aborts the transaction: nothing of it is written. A transaction that returned is committed.
    /// `body` may run more than once (when the map must grow).
    public func write<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await runDetached(on: writerQueue) { flag in
            try self.write(flushing: nil) { txn in
                txn.context = flag
                defer { txn.context = nil }
                return try body()
            }
        }
    }

    /// Throws `CancellationError` if this thread runs the closure of an `async` ``read(_:)`` or
    /// ``write(_:)`` whose task was cancelled. For long loops inside such a closure; collection
    /// operations check it themselves.
    public func checkCancellation() throws {
        if let txn = currentTransaction { try checkCancelled(txn) }
    }

    /// Throws `CancellationError` if `txn` belongs to a cancelled `async` transaction. One compare
    /// when it does not.
    @inlinable @inline(__always)
    func checkCancelled(_ txn: Transaction) throws {
        if _slowPath(txn.context != nil), let flag = txn.context as? CancellationFlag, flag.isSet {
            throw CancellationError()
        }
    }

    /// ``read(_:)`` with `context` attached to its transaction.
    func read<R>(context: AnyObject, _ body: () throws -> R) throws -> R {
        try flush()
        return try environment.read { txn in
            txn.tag = Store.joinableTag
            txn.context = context
            defer { txn.context = nil }
            return try body()
        }
    }

    /// Runs `job` on `queue` and waits for it without blocking the calling task's thread. A task
    /// cancelled before the job starts gets `CancellationError` and the job does not run.
    func runDetached<R: Sendable>(on queue: DispatchQueue,
                                  _ job: @escaping @Sendable (CancellationFlag) throws -> R) async throws -> R {
        try Task.checkCancellation()
        let flag = CancellationFlag()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<R, any Error>) in
                queue.async {
                    let result: Result<R, any Error>
                    if flag.isSet {
                        result = .failure(CancellationError())
                    } else {
                        result = Result { try job(flag) }
                    }
                    // A worker thread keeps no snapshot while it idles: it would pin pages.
                    self.environment.releaseHeldReader()
                    continuation.resume(with: result)
                }
            }
        } onCancel: {
            flag.set()
        }
    }
}

// MARK: Scans as AsyncSequence

/// The entries of a key range of a collection as an `AsyncSequence`, read in batches on the store's
/// reader threads (``DiskMap/stream(in:reverse:batchSize:)``, ``DiskSet/stream(in:reverse:batchSize:)``).
///
/// Iterating holds one read snapshot, begun at the first element and ended when the iteration ends,
/// throws, or its iterator is dropped: every element comes from the same committed state, whatever is
/// written meanwhile, and nothing is pinned before or after. Between batches no page pointer is held,
/// so the map may grow. The collection's buffered writes are committed before the snapshot begins.
public struct DiskScanSequence<Element>: AsyncSequence {
    public typealias Failure = any Error
    let store: Store
    let database: Database
    let bounds: DiskKeyBounds
    let reverse: Bool
    let batchSize: Int
    let decode: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Element

    public func makeAsyncIterator() -> Iterator {
        Iterator(scan: ScanState(store: store, database: database, bounds: bounds, reverse: reverse,
                                 batchSize: Swift.max(1, batchSize)), decode: decode)
    }

    public struct Iterator: AsyncIteratorProtocol {
        let scan: ScanState
        let decode: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Element
        var batch: [Element] = []
        var index = 0

        public mutating func next() async throws -> Element? {
            if index == batch.count {
                batch.removeAll(keepingCapacity: true)
                index = 0
                let raw: [ScanState.RawEntry]
                do { raw = try await scan.nextBatch() } catch { scan.end(); throw error }
                for entry in raw {
                    do {
                        batch.append(try entry.key.withUnsafeBytes { k in try entry.value.withUnsafeBytes { v in try decode(k, v) } })
                    } catch {
                        scan.end()
                        throw error
                    }
                }
                if batch.isEmpty { return nil }
            }
            defer { index += 1 }
            return batch[index]
        }
    }
}

/// The state of one iteration of a ``DiskScanSequence``: its snapshot and where the next batch starts.
final class ScanState: @unchecked Sendable {
    // Sendable: an iterator is used by one task at a time and awaits each batch before asking for the
    // next, so the mutable members are never used by two threads at once; `Snapshot` is Sendable.
    struct RawEntry: Sendable {
        var key: [UInt8]
        var value: [UInt8]
    }

    let store: Store
    let database: Database
    let bounds: DiskKeyBounds
    let reverse: Bool
    let batchSize: Int
    private var snapshot: Snapshot?
    private var resumeKey: [UInt8]?
    private var finished = false

    init(store: Store, database: Database, bounds: DiskKeyBounds, reverse: Bool, batchSize: Int) {
        self.store = store
        self.database = database
        self.bounds = bounds
        self.reverse = reverse
        self.batchSize = batchSize
    }

    deinit { snapshot?.end() }

    /// Ends the snapshot (the iteration is over).
    func end() {
        finished = true
        snapshot?.end()
        snapshot = nil
    }

    /// The next batch of entries (empty at the end, which ends the snapshot).
    func nextBatch() async throws -> [RawEntry] {
        if finished { return [] }
        let batch = try await store.runDetached(on: store.readerQueue) { _ in try self.readBatch() }
        if batch.count < batchSize { end() }
        return batch
    }

    private func readBatch() throws -> [RawEntry] {
        if snapshot == nil {
            // The collection's buffered writes first, as every scan does; then the snapshot.
            try store.withRead(database) { _ in }
            snapshot = try store.environment.beginSnapshot()
        }
        var lower = bounds.lowerBytes
        var upper = bounds.upperBytes
        if let resumeKey {
            if reverse { upper = resumeKey } else { lower = DiskKeyBounds.successor(resumeKey) }
        }
        var out: [RawEntry] = []
        out.reserveCapacity(batchSize)
        try snapshot!.read { txn in
            try store.checkCurrent(database)
            try txn.withCursor(database) { cursor in
                withOptionalBytes(lower) { lower in
                    withOptionalBytes(upper) { upper in
                        var entries = cursor.entries(from: lower, to: upper, reverse: reverse)
                        while out.count < batchSize, let (k, v) = entries.next() {
                            out.append(RawEntry(key: Array(k), value: Array(v)))
                        }
                    }
                }
            }
        }
        resumeKey = out.last?.key
        return out
    }
}
