import Foundation
import Dispatch
import LMDB

/// One LMDB environment holding any number of named, typed collections.
///
/// ```swift
/// let store = try Store(at: "/data/search.store")
/// let visited = try store.set("visited", of: UInt64.self)
/// try store.write {                       // one atomic transaction for several collections
///     try visited.insert(42)
///     try parent.setValue(7, forKey: 42)
/// }
/// try store.checkpoint()                  // everything so far is now on disk
/// ```
///
/// **Transactions.** Each collection operation runs in its own transaction unless it runs inside
/// ``write(_:)`` or ``read(_:)``, which it then joins. Group many writes in one ``write(_:)``: a
/// commit costs far more than a put.
///
/// **Durability.** By default (``Durability/noSync``) a commit is not flushed: a crash of the process
/// loses nothing committed (the pages are in the kernel's page cache), while a crash of the machine
/// may lose what was committed after the last ``checkpoint()``. Pass `durability: .durable` to flush
/// every commit. Point writes outside ``write(_:)`` wait in the cache's write buffer until it flushes
/// (``flush()``, ``checkpoint()``, ``close()``, any transaction or scan, or the buffer filling up): a
/// crash of the process loses what was buffered since. See docs/collections.md, "What survives a crash".
///
/// **Threads.** A `Store` and its collections are `Sendable`. ``read(_:)`` closures on any number of
/// threads run at once, each in a snapshot of its own, also while another thread writes; writes take
/// turns. Point operations outside transactions share the store's cache under one lock, a cache miss
/// reading LMDB with the lock released. See docs/concurrency.md.
public final class Store: @unchecked Sendable {
    // Sendable, proved member by member: `path`, `environment` (itself Sendable), `catalog` and `cache`
    // are `let`s; what `cache` holds and `queueBuffers` are read and written only under `lock`; the
    // transaction a collection joins is the calling thread's own (Environment.currentTransaction).
    /// The store's directory.
    public let path: String
    /// The environment underneath.
    @usableFromInline let environment: Environment
    let catalog: Database
    /// Guards the shared state: `cache` (read cache, write buffer, presence tables, governor) and
    /// `queueBuffers`. Taken before LMDB's writer lock, never after it: a write transaction of the
    /// store holds it for its whole length (docs/concurrency.md).
    @usableFromInline let lock: StoreLock
    /// The thread of `async` writes: one at a time, as LMDB allows.
    let writerQueue: DispatchQueue
    /// The threads of `async` reads and of scans' batches: any number at once.
    let readerQueue: DispatchQueue
    /// The cache of point operations and the memory governor, or `nil` with ``CacheBudget/disabled``.
    /// Used under `lock`.
    @usableFromInline let cache: StoreCache?
    /// ``cache``, unretained, for reads that skip the store's lock (``cache`` owns it).
    let cacheReference: Unmanaged<StoreCache>?
    /// The buffered state of each queue used outside transactions, by database handle. Under `lock`.
    @exclusivity(unchecked) @usableFromInline var queueBuffers: [UInt32: QueueBuffer] = [:]

    /// The ``Transaction/tag`` of the transactions collections join: those of ``read(_:)`` and ``write(_:)``.
    @usableFromInline static let joinableTag = 0x5D1C

    /// The store's transaction running on the calling thread (``read(_:)`` or ``write(_:)``), if any.
    @inlinable var currentTransaction: Transaction? {
        guard let txn = environment.currentTransaction, txn.tag == Store.joinableTag else { return nil }
        return txn
    }

    /// The write transaction of ``write(_:)`` running on the calling thread, if any.
    @inlinable var currentWrite: Transaction? {
        guard let txn = currentTransaction, !txn.isReadOnly else { return nil }
        return txn
    }

    /// The read transaction of ``read(_:)`` running on the calling thread, if any.
    @inlinable var currentRead: Transaction? {
        guard let txn = currentTransaction, txn.isReadOnly else { return nil }
        return txn
    }

    /// The name of the database that records each collection's kind and types.
    public static let catalogName = "__diskcollections_catalog"
    /// The version of the on-disk format this library writes and reads.
    public static let formatVersion = 1

    /// Opens the store in directory `path`, creating it if missing.
    ///
    /// - Parameters:
    ///   - durability: how much a commit flushes; default ``Durability/noSync`` (see the type's docs).
    ///   - readOnly: open without write access; writes then throw.
    ///   - maximumCollections: the most collections the store can hold (LMDB's `maxdbs`, less the catalog):
    ///     0 to 32766; default 256.
    ///   - cacheBudget: how the cache in front of the collections is sized: governed from the process's
    ///     memory (`.automatic`, the default), a fixed `.bytes(n)`, the governor under a `.memoryLimit(n)`,
    ///     or `.disabled`. See docs/memory.md. The cache assumes this process is the only one writing the
    ///     store; disable it when several processes write at once.
    /// - Throws: ``DiskCollectionsError/invalidOption(store:detail:)`` for an option out of range;
    ///   ``LMDBError`` from LMDB (`alreadyOpen` if this process has the store open, `permissionDenied`, …).
    public init(at path: String, durability: Durability = .noSync, readOnly: Bool = false,
                maximumCollections: Int = 256, cacheBudget: CacheBudget = .automatic) throws {
        self.path = path
        guard (0..<32_767).contains(maximumCollections) else {
            throw DiskCollectionsError.invalidOption(store: path, detail: "maximumCollections is \(maximumCollections); use 0 to 32766")
        }
        switch cacheBudget {
        case .bytes(let n) where n < 0, .memoryLimit(let n) where n <= 0:
            throw DiskCollectionsError.invalidOption(store: path, detail: "cacheBudget \(cacheBudget) is not a size; use a positive number of bytes")
        default: break
        }
        if case .disabled = cacheBudget { cache = nil } else { cache = StoreCache(mode: cacheBudget) }
        cacheReference = cache.map { .passUnretained($0) }
        environment = try Environment(path: path, options: .init(
            maximumDatabases: maximumCollections + 1, durability: durability, readOnly: readOnly))
        lock = StoreLock(environment: environment)
        writerQueue = DispatchQueue(label: "DiskCollections.write")
        readerQueue = DispatchQueue(label: "DiskCollections.read", attributes: .concurrent)
        if readOnly {
            catalog = try environment.read { txn in
                try txn.openDatabase(Store.catalogName, create: false) ?? txn.openDatabase(nil)!
            }
        } else {
            catalog = try environment.write { txn in try txn.openDatabase(Store.catalogName)! }
        }
    }

    /// Writes buffered changes and closes the store. Closing twice is harmless. A failure to write the
    /// buffer is logged and the buffer is lost; call ``flush()`` or ``checkpoint()`` first to see errors.
    public func close() {
        guard !environment.isClosed else { return }
        do { try flush() } catch { cache?.logger.error("close: buffered writes of \(path) lost: \(error)") }
        environment.close()
    }

    deinit { close() }

    /// Writes the write-back buffer to LMDB (committed, not yet synced to disk), and ends the read
    /// snapshot that cache misses keep between calls (see docs/collections.md#reads-outside-a-transaction):
    /// call it when the program goes idle, so that writers in other processes can reuse freed pages.
    public func flush() throws {
        guard currentTransaction == nil else { return }
        try lock.withLock { try flushBuffers() }
        environment.releaseHeldReader()
    }

    /// Commits the write buffer and the queues' buffered appends and pops. Under `lock`.
    @usableFromInline
    func flushBuffers() throws {
        let flushes = cache?.statistics.flushes
        if let cache { try cache.flush(environment) }
        // A flush of queues alone counts as a flush of the buffer too.
        if !queueBuffers.isEmpty, try flushQueues(), let cache, cache.statistics.flushes == flushes { cache.statistics.flushes += 1 }
    }

    /// Runs `body` in one write transaction: every collection change in it commits together when it
    /// returns, or none does when it throws. A `write` inside a `write` joins the outer one.
    ///
    /// `body` may run more than once (when the file's map must grow); keep its effects inside the store.
    /// - Throws: ``DiskCollectionsError/writeInsideRead`` inside a ``read(_:)``.
    @discardableResult
    public func write<R>(_ body: () throws -> R) throws -> R {
        try write(flushing: nil) { _ in try body() }
    }

    /// Runs `body` in one read transaction: every read in it sees the same snapshot. Inside a
    /// ``write(_:)`` it joins the write and sees its changes. Changes inside it throw
    /// ``DiskCollectionsError/writeInsideRead``: use ``write(_:)`` for a block that reads and writes.
    @discardableResult
    public func read<R>(_ body: () throws -> R) throws -> R {
        if currentTransaction != nil { return try body() }
        try flush()
        // No store lock: any number of threads read at once, each in a snapshot of its own.
        return try environment.read { txn in
            txn.tag = Store.joinableTag
            return try body()
        }
    }

    /// Makes everything committed so far durable on disk (`fsync`).
    /// The corresponding LMDB function is `mdb_env_sync`.
    public func checkpoint() throws {
        try flush()
        try environment.sync(force: true)
    }

    // MARK: Transactions for collections

    @inlinable @inline(__always)
    func withWrite<R>(_ body: (Transaction) throws -> R) throws -> R {
        try write(flushing: nil, body)
    }

    /// The one way into a write transaction: joins the current one, refuses one inside a read or on a
    /// read-only store, and commits the buffered changes first (of `database` only, or all of them).
    @inlinable @inline(__always)
    func write<R>(flushing database: Database?, _ body: (Transaction) throws -> R) throws -> R {
        if let txn = currentWrite { try checkCancelled(txn); return try body(txn) }
        if currentRead != nil { throw DiskCollectionsError.writeInsideRead }
        if environment.options.readOnly { throw DiskCollectionsError.readOnlyStore(path: path) }
        // The store lock, then LMDB's writer lock: a write holds the shared state for its length.
        return try lock.withLock {
            if let database {
                if cache != nil { try flushPending(of: database) }
            } else {
                try flushBuffers()
                environment.releaseHeldReader()
            }
            func transaction() throws -> R {
                try environment.write { txn in
                    txn.tag = Store.joinableTag
                    return try body(txn)
                }
            }
            // Reads that skip the store's lock wait for this write; misses that read LMDB meanwhile
            // do not remember what it changes.
            guard let cache else { return try transaction() }
            return try cache.changing(transaction)
        }
    }

    @inlinable @inline(__always)
    func withRead<R>(_ body: (Transaction) throws -> R) throws -> R {
        if let txn = currentTransaction { try checkCancelled(txn); return try body(txn) }
        if cache != nil { try flush() }
        return try environment.read(body)
    }

    /// ``withWrite(_:)`` for the operations of the collection in `database`: a collection removed
    /// since it was opened throws ``DiskCollectionsError/collectionRemoved(collection:)``.
    @inlinable @inline(__always)
    func withWrite<R>(_ database: Database, _ body: (Transaction) throws -> R) throws -> R {
        try checkCurrent(database)
        // (Inside a write this thread holds the lock already.)
        return try lock.withLock {
            // A queue's buffered state is committed first, and forgotten: this write may change the queue.
            if !queueBuffers.isEmpty { try settleQueue(database, forget: true) }
            // Only this collection's buffered writes must be committed first; the others wait.
            return try write(flushing: database, body)
        }
    }

    /// ``withRead(_:)`` for the operations of the collection in `database`.
    @inlinable @inline(__always)
    func withRead<R>(_ database: Database, _ body: (Transaction) throws -> R) throws -> R {
        try checkCurrent(database)
        if let txn = currentTransaction { try checkCancelled(txn); return try body(txn) }
        if cache != nil {
            try lock.withLock {
                if !queueBuffers.isEmpty { try settleQueue(database, forget: false) }
                // A read sees this collection's buffered writes once they are committed; the others wait.
                try flushPending(of: database)
            }
        }
        // No store lock while reading: other threads go on.
        return try environment.read(body)
    }

    /// Throws ``DiskCollectionsError/collectionRemoved(collection:)`` if `database` was removed (its
    /// LMDB slot may hold another collection now). One integer compare.
    @inlinable @inline(__always)
    func checkCurrent(_ database: Database) throws {
        if _slowPath(environment.isClosed) {
            throw LMDBError(code: .closed, operation: "use of '\(database.name ?? "")' in \(path)",
                            detail: "the store was closed; its collections cannot be used any more")
        }
        if _slowPath(!environment.isCurrent(database)) {
            throw DiskCollectionsError.collectionRemoved(collection: database.name ?? "")
        }
    }

    /// The largest encoded key, in bytes.
    public var maximumKeySize: Int { environment.maximumKeySize }
}
