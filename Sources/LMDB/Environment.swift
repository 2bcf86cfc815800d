import CLMDB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`, memory-mapped, with any
/// number of named ``Database``s inside. `Sendable`: many threads read at once, each in a transaction
/// of its own, while one writes (docs/concurrency.md).
///
/// Open it once per process, read in ``read(_:)`` and write in ``write(_:)``. Transactions exist only
/// inside those closures: they commit when the closure returns and abort when it throws.
///
/// **Map growth.** Nobody sizes the map by hand. When a write fills the map (`MDB_MAP_FULL`),
/// ``write(_:)`` aborts the transaction, doubles the map and runs the closure again, so a write
/// closure may run more than once: keep its effects inside the transaction. A map grown by another
/// process (`MDB_MAP_RESIZED`) is adopted when the next transaction begins.
///
/// **Threads.** An `Environment` is `Sendable`. Read transactions on any number of threads run at
/// once, also while a write transaction runs; write transactions of this process's threads take turns.
/// A transaction, and what it lends, stays on the thread that runs its closure. It is opened with
/// `MDB_NOTLS`, so a reader slot belongs to a transaction, not a thread.
///
/// **Guards.** Opening the directory a second time in this process (also through a symbolic link)
/// throws ``LMDBError/Code/alreadyOpen``; using the environment in a child after `fork()` throws
/// ``LMDBError/Code/usedAfterFork``; stale reader slots left by killed processes are cleared at open
/// (`mdb_reader_check`).
///
/// The corresponding LMDB type is `MDB_env`.
public final class Environment: @unchecked Sendable {
    // Sendable, proved member by member: the `let`s are set once in init; `handle` is used only on the
    // gate's shared side after `isOpenFlag` reads true, and freed only by close() on its exclusive side
    // after the flag went false; the spare readers and the opened handles are guarded by their locks;
    // generations, map size, epoch and the open flag are atomics; each thread's mutable state is its own
    // ThreadState, reached only from that thread (and by close() on the exclusive side, when no body runs).
    /// How much is flushed to disk at commit.
    public enum Durability: Sendable, Hashable {
        /// Every commit is flushed with `fsync` (LMDB's default). Survives power loss.
        case durable
        /// The meta page is not flushed at commit (`MDB_NOMETASYNC`): a system crash may lose the last
        /// transaction, never corrupt the store.
        case noMetaSync
        /// Nothing is flushed at commit (`MDB_NOSYNC`): a system crash may lose recent transactions;
        /// a process crash loses nothing. ``sync(force:)`` flushes on demand.
        case noSync
    }

    /// Options for opening an environment.
    public struct Options: Sendable, Hashable {
        /// The initial size of the memory map in bytes (it grows on demand). Default 1 GiB of address
        /// space; the file only takes the pages actually written. `0` takes the size recorded in the
        /// file, as LMDB's own tools do (1 MiB for a new file).
        public var mapSize: Int = 1 << 30
        /// The largest the map may grow to, or `nil` for no limit but the machine's.
        public var maximumMapSize: Int? = nil
        /// The most named databases (`mdb_env_set_maxdbs`). Default 128.
        public var maximumDatabases: Int = 128
        /// The most concurrent read transactions across all processes (`mdb_env_set_maxreaders`). Default 126.
        public var maximumReaders: Int = 126
        /// How much each commit flushes. Default ``Durability/durable``.
        public var durability: Durability = .durable
        /// Open read-only (`MDB_RDONLY`): writes fail with ``LMDBError/Code/permissionDenied`` and the
        /// directory is not created.
        public var readOnly: Bool = false
        /// The file mode for new files. Default `0o644`.
        public var fileMode: UInt32 = 0o644
        /// Clear the reader slots of dead processes at open (`mdb_reader_check`). Default `true`; a
        /// tool that reports them (`diskcoll stat`) opens without.
        public var clearsStaleReaders = true

        public init(
            mapSize: Int = 1 << 30, maximumMapSize: Int? = nil, maximumDatabases: Int = 128,
            maximumReaders: Int = 126, durability: Durability = .durable, readOnly: Bool = false
        ) {
            self.mapSize = mapSize
            self.maximumMapSize = maximumMapSize
            self.maximumDatabases = maximumDatabases
            self.maximumReaders = maximumReaders
            self.durability = durability
            self.readOnly = readOnly
        }
    }

    /// Facts about the environment. The corresponding LMDB structure is `MDB_envinfo`.
    public struct Info: Hashable, Sendable, Codable {
        /// The current size of the memory map in bytes.
        public var mapSize: Int
        /// The number of the last page used in the file.
        public var lastPage: Int
        /// The id of the last committed transaction.
        public var lastTransaction: Int
        /// The size of the reader table.
        public var maximumReaders: Int
        /// Reader slots in use, by every process.
        public var readers: Int
    }

    /// The directory, as given.
    public let path: String
    /// The options it was opened with.
    public let options: Options
    /// The largest key (and `dupSort` value) in bytes: 511 with Debian's liblmdb.
    /// The corresponding LMDB function is `mdb_env_get_maxkeysize`.
    public let maximumKeySize: Int
    /// Reader slots of dead processes that `mdb_reader_check` cleared when this environment opened.
    public let staleReadersCleared: Int
    /// The current map size in bytes (it grows on demand).
    public var mapSize: Int { mapSizeValue.load(ordering: .relaxed) }

    // Concurrency (docs/concurrency.md). `handle` is set once and freed only by `close()` under the
    // gate's exclusive side, after `isOpenFlag` went false: every use of it is on the gate's shared
    // side after a check of the flag. Writers are serialised by `writer`. Each thread's own state
    // (nesting, its kept snapshot) lives in a ``ThreadState`` reached through `threadKey`.
    @usableFromInline let handle: OpaquePointer
    @usableFromInline let isOpenFlag = Atomic<Bool>(true)
    @usableFromInline let gate: TransactionGate
    let writer = Lock()
    /// Reset read transactions for reuse (`mdb_txn_renew` is cheaper than a begin), guarded by `sparesLock`.
    private var spares: [OpaquePointer] = []
    private let sparesLock = Lock()
    /// Handles opened by committed transactions, by name, guarded by `handlesLock`.
    private var openedHandles: [String: Database] = [:]
    private let handlesLock = Lock()
    /// Per handle slot, how many times a database in it was deleted (see ``Database``).
    @usableFromInline let generations: UnsafeMutablePointer<Atomic<UInt32>>
    @usableFromInline let generationSlots: Int
    private let mapSizeValue = Atomic<Int>(0)
    /// Moves at every commit of this process and every read that opened handles: a kept snapshot older
    /// than it is renewed before its next use, so it never hides this process's own commits.
    @usableFromInline let epoch = Atomic<Int>(0)
    /// The last transaction id this process's commits account for (see ``externalCommits()``).
    private let accountedTransaction = Atomic<Int>(-1)
    /// The id of the write transaction of this process being committed, or 0.
    private let committingTransaction = Atomic<Int>(0)
    /// How many times a commit not made through this environment (another process's) was seen.
    private let externalGeneration = Atomic<Int>(0)
    @usableFromInline let threadKey: ThreadLocalKey
    let registry: ThreadRegistry
    @usableFromInline let forkGeneration: Int
    private let identity: FileIdentity

    /// Opens (and, unless read-only, creates) the environment in directory `path`.
    ///
    /// - Throws: ``LMDBError`` with ``LMDBError/Code/alreadyOpen`` if this process already has the
    ///   directory open, or the code from `mkdir`, `mdb_env_open` (`EACCES`, `ENOENT`, `MDB_INVALID`,
    ///   `MDB_VERSION_MISMATCH`, …).
    ///
    /// The corresponding LMDB functions are `mdb_env_create`, `mdb_env_set_mapsize`,
    /// `mdb_env_set_maxdbs`, `mdb_env_set_maxreaders`, `mdb_env_open` and `mdb_reader_check`.
    public init(path: String, options: Options = Options()) throws(LMDBError) {
        try Self.validate(options, path: path)
        self.path = path
        self.options = options
        generationSlots = options.maximumDatabases + 2
        generations = .allocate(capacity: generationSlots)
        for i in 0..<generationSlots { (generations + i).initialize(to: Atomic<UInt32>(0)) }
        ForkWatch.install()
        self.forkGeneration = ForkWatch.generation.load(ordering: .relaxed)
        registry = ThreadRegistry()
        gate = TransactionGate(registry: registry)
        threadKey = ThreadLocalKey(destructor: { pointer in
            guard let pointer else { return }
            Unmanaged<ThreadState>.fromOpaque(pointer).takeRetainedValue().threadExited()
        })

        let created = options.readOnly ? [] : try FileIdentity.makeDirectory(path)
        var claimed: FileIdentity?
        var env: OpaquePointer?
        var ok = false
        // LMDB's files that did not exist before: a failed open removes them (an empty data.mdb left
        // behind would read as a damaged store at the next open).
        let newFiles = ["data.mdb", "lock.mdb"].map { path + "/" + $0 }.filter { access($0, F_OK) != 0 }
        let threadKey = self.threadKey
        let generations = self.generations
        let slots = generationSlots
        defer {
            if !ok {
                if let env { mdb_env_close(env) }
                if let claimed { OpenEnvironments.release(claimed) }
                if !options.readOnly { for file in newFiles { unlink(file) } }
                FileIdentity.removeCreated(created)  // a failed open leaves nothing it made behind
                threadKey.delete()
                generations.deinitialize(count: slots)
                generations.deallocate()
            }
        }
        try DataFile.check(in: path)
        let identity = try FileIdentity(path: path)
        try OpenEnvironments.claim(identity, path: path)
        claimed = identity
        self.identity = identity

        try check(mdb_env_create(&env), "mdb_env_create")
        try check(mdb_env_set_maxdbs(env, MDB_dbi(options.maximumDatabases)), "mdb_env_set_maxdbs")
        try check(mdb_env_set_maxreaders(env, UInt32(options.maximumReaders)), "mdb_env_set_maxreaders")
        if options.mapSize > 0 { try check(mdb_env_set_mapsize(env, options.mapSize), "mdb_env_set_mapsize") }
        var flags = UInt32(MDB_NOTLS)
        switch options.durability {
        case .durable: break
        case .noMetaSync: flags |= UInt32(MDB_NOMETASYNC)
        case .noSync: flags |= UInt32(MDB_NOSYNC)
        }
        if options.readOnly { flags |= UInt32(MDB_RDONLY) }
        let opened = mdb_env_open(env, path, flags, mdb_mode_t(options.fileMode))
        if opened == EACCES {
            throw LMDBError(code: .permissionDenied, operation: "open \(path)", detail: options.readOnly
                ? "this user may not write the store's lock.mdb, which even a read-only open writes (its readers' table)"
                : "this user may not write the store's directory or its files, data.mdb and lock.mdb")
        }
        try check(opened, "open \(path)")
        var dead: Int32 = 0
        if options.clearsStaleReaders { try check(mdb_reader_check(env, &dead), "mdb_reader_check") }
        self.staleReadersCleared = Int(dead)
        self.maximumKeySize = Int(mdb_env_get_maxkeysize(env))
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        mapSizeValue.store(info.me_mapsize, ordering: .relaxed)
        self.handle = env!
        ok = true
    }

    deinit {
        close()
        threadKey.delete()
        generations.deinitialize(count: generationSlots)
        generations.deallocate()
    }

    /// Rejects options LMDB cannot take (or would trap converting), before anything is created.
    static func validate(_ options: Options, path: String) throws(LMDBError) {
        func invalid(_ detail: String) -> LMDBError {
            LMDBError(code: .invalidArgument, operation: "open \(path)", detail: detail)
        }
        guard (0...32_767).contains(options.maximumDatabases) else {
            throw invalid("maximumDatabases is \(options.maximumDatabases); use 0 to 32767 (every transaction carries a slot per database)")
        }
        guard (1...(1 << 20)).contains(options.maximumReaders) else {
            throw invalid("maximumReaders is \(options.maximumReaders); use 1 to 1048576")
        }
        guard options.mapSize >= 0 else { throw invalid("mapSize is \(options.mapSize); use a size in bytes, or 0 for the size recorded in the file") }
        if let cap = options.maximumMapSize, cap < options.mapSize {
            throw invalid("maximumMapSize \(cap) is below mapSize \(options.mapSize)")
        }
        guard options.fileMode <= 0o7777 else { throw invalid("fileMode \(String(options.fileMode, radix: 8)) is not a file mode") }
    }

    /// Closes the environment: waits for transactions running on other threads to end, then ends every
    /// thread's kept snapshot and frees LMDB's handle. Closing twice is harmless. Closing inside a
    /// transaction of this thread is a programming error and traps.
    ///
    /// The corresponding LMDB function is `mdb_env_close`.
    public func close() {
        if let pointer = threadKey.value {
            let state = Unmanaged<ThreadState>.fromOpaque(pointer).takeUnretainedValue()
            precondition(state.gateDepth == 0, "LMDB.Environment.close() called inside a transaction on \(path)")
        }
        guard isOpenFlag.exchange(false, ordering: .acquiringAndReleasing) else { return }
        gate.exclusive {
            let forked = isForkedChild
            registry.closeAll { held in
                // In a child after fork() the parent's reader slots must not be touched: forget them.
                if !forked { mdb_txn_abort(held) }
            }
            sparesLock.withLock {
                if !forked { for spare in spares { mdb_txn_abort(spare) } }
                spares = []
            }
            // In a child after fork() the parent's locks and map must not be touched: leak the handle.
            if !forked { mdb_env_close(handle) }
            handlesLock.withLock { openedHandles = [:] }
        }
        OpenEnvironments.release(identity)
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { !isOpenFlag.load(ordering: .acquiring) }

    /// This thread's state in this environment, made at its first use.
    @usableFromInline @inline(__always)
    func threadState() -> ThreadState { withThreadState { $0 } }

    /// Runs `body` with this thread's state, reached unretained when it exists: a retain and a
    /// release on every call cost more than `body` itself on the point path.
    @usableFromInline @inline(__always)
    func withThreadState<T>(_ body: (ThreadState) -> T) -> T {
        if let pointer = threadKey.value { return Unmanaged<ThreadState>.fromOpaque(pointer)._withUnsafeGuaranteedRef(body) }
        return body(makeThreadState())
    }

    @usableFromInline @inline(never)
    func makeThreadState() -> ThreadState {
        let state = ThreadState(registry: registry)
        registry.add(state)
        threadKey.value = Unmanaged.passRetained(state).toOpaque()
        return state
    }

    @usableFromInline
    func closedError(_ operation: String) -> LMDBError {
        LMDBError(code: .closed, operation: "\(operation) \(path)")
    }

    /// Runs `body` with the raw handle, on the gate's shared side (no remap or close meanwhile).
    func withHandle<R>(_ operation: String, _ body: (OpaquePointer) throws(LMDBError) -> R) throws(LMDBError) -> R {
        let result: Result<R, LMDBError> = withThreadState { state in
            gate.enterShared(state)
            defer { gate.leaveShared(state) }
            guard isOpenFlag.load(ordering: .acquiring) else { return .failure(closedError(operation)) }
            do throws(LMDBError) { return .success(try body(handle)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    // MARK: Transactions

    /// Runs `body` in a read-only transaction: a consistent snapshot that writers never block.
    ///
    /// The transaction and every byte borrowed through it are valid only inside `body`. Any number of
    /// threads may read at once, each in a transaction of its own, also while one writes.
    /// Cost: reuses a reset transaction handle, so beginning a read costs about a microsecond.
    ///
    /// - Throws: whatever `body` throws, or ``LMDBError`` (`readersFull`, `usedAfterFork`, `closed`).
    ///
    /// The corresponding LMDB functions are `mdb_txn_begin` with `MDB_RDONLY`, `mdb_txn_renew`,
    /// `mdb_txn_reset` and `mdb_txn_abort`.
    @inlinable @discardableResult
    public func read<R>(_ body: (Transaction) throws -> R) throws -> R {
        let state = threadState()
        gate.enterShared(state)
        defer { gate.leaveShared(state) }
        let txn = try beginRead(state)
        let outer = state.current
        state.current = txn
        defer {
            state.current = outer
            endRead(txn)
        }
        return try body(txn)
    }

    /// Begins a read snapshot that outlives any one closure: for a scan that is read in pieces, from
    /// any thread, one piece at a time (an `AsyncSequence`). It holds a reader slot and the pages of its
    /// snapshot until ``Snapshot/end()``, its deinit, or the environment's close.
    public func beginSnapshot() throws -> Snapshot {
        let state = threadState()
        gate.enterShared(state)
        defer { gate.leaveShared(state) }
        let txn = try beginRead(state)
        guard let handle = txn.invalidate() else { throw closedError("begin snapshot on") }
        let snapshot = Snapshot(environment: self, handle: handle)
        registry.keepDetached(ObjectIdentifier(snapshot), handle)
        return snapshot
    }

    /// Whether the calling thread is inside a transaction's closure (``read(_:)``, ``write(_:)`` or
    /// ``readRecent(_:)``). Such a thread must not wait for a lock whose holder may need
    /// ``isRemapPending`` to clear: growing or adopting the map waits for every closure to end.
    public var callerIsInTransaction: Bool {
        guard let pointer = threadKey.value else { return false }
        return Unmanaged<ThreadState>.fromOpaque(pointer).takeUnretainedValue().gateDepth > 0
    }

    /// Whether a thread waits to grow or adopt the map (or to close): it waits for every transaction
    /// closure of this process to end, and new ones wait for it.
    public var isRemapPending: Bool { gate.exclusiveWaiters.load(ordering: .relaxed) > 0 }

    /// The innermost transaction whose ``read(_:)`` or ``write(_:)`` closure is running on the calling
    /// thread, or `nil`. (A ``readRecent(_:)`` body does not count.) A layer above joins it, telling
    /// its own transactions apart by ``Transaction/tag``.
    @inlinable
    public var currentTransaction: Transaction? {
        guard let pointer = threadKey.value else { return nil }
        return Unmanaged<ThreadState>.fromOpaque(pointer)._withUnsafeGuaranteedRef { state in
            // Outside every closure (a point operation's usual case) without touching `current`: its
            // read is an exclusivity check and a retain.
            state.gateDepth == 0 ? nil : state.current
        }
    }

    /// Runs `body` in a read-only transaction that may be the one an earlier call of this thread used:
    /// for many small reads in a row (a cache's misses), where beginning and ending a transaction each
    /// time would cost as much as the read.
    ///
    /// Each thread keeps its own snapshot. It is renewed before its next use after any commit of this
    /// process (so it never hides this process's own commits), after a read that opened a database,
    /// and after 1,024 calls; ended by ``releaseHeldReader()`` on its thread, by ``close()``, and when
    /// its thread exits. Commits of other processes become visible when it is renewed. While kept, it
    /// takes one reader slot and keeps the pages of its snapshot from being reused by writers; release
    /// it at idle points. As with ``read(_:)``, the transaction and the bytes borrowed through it are
    /// valid only inside `body`.
    @inlinable
    public func readRecent<R>(_ body: (Transaction) throws -> R) throws -> R {
        let state = threadState()
        gate.enterShared(state)
        defer { gate.leaveShared(state) }
        if let txn = state.held, !state.heldInUse, state.heldUses < 1024,
           state.heldEpoch == epoch.load(ordering: .acquiring), !isForkedChild, isOpenFlag.load(ordering: .relaxed) {
            state.heldUses &+= 1
            state.heldInUse = true
            defer { state.heldInUse = false }
            return try body(txn)
        }
        return try readRecentRenewing(state, body)
    }

    @usableFromInline
    func readRecentRenewing<R>(_ state: ThreadState, _ body: (Transaction) throws -> R) throws -> R {
        if state.heldInUse {  // a read inside the kept snapshot's own body: a plain read of its own
            let txn = try beginRead(state)
            defer { endRead(txn) }
            return try body(txn)
        }
        releaseHeld(state)
        let epochAtBegin = epoch.load(ordering: .acquiring)
        let txn = try beginRead(state)
        state.held = txn
        state.heldUses = 1
        state.heldEpoch = epochAtBegin
        state.heldInUse = true
        defer {
            state.heldInUse = false
            // A transaction that opened a database must commit to keep the handle: do not keep it.
            if !txn.pendingDatabases.isEmpty { releaseHeld(state) }
        }
        return try body(txn)
    }

    /// Ends the snapshot ``readRecent(_:)`` keeps for the calling thread, if any. Cheap when there is none.
    public func releaseHeldReader() {
        let state = threadState()
        guard state.held != nil, !state.heldInUse else { return }
        gate.enterShared(state)
        defer { gate.leaveShared(state) }
        releaseHeld(state)
    }

    /// Ends `state`'s kept snapshot (on the gate's shared side, on its own thread).
    @usableFromInline
    func releaseHeld(_ state: ThreadState) {
        guard let txn = state.held else { return }
        state.held = nil
        registry.forgetHeld(state)
        if isForkedChild {  // the slot belongs to the parent: forget it without touching LMDB
            _ = txn.invalidate()
            return
        }
        guard isOpenFlag.load(ordering: .relaxed) else { _ = txn.invalidate(); return }
        endRead(txn)
    }

    /// Whether this process is a child forked after the environment opened.
    @usableFromInline var isForkedChild: Bool { ForkWatch.generation.load(ordering: .relaxed) != forkGeneration }

    /// Runs `body` in a write transaction, committed when `body` returns and aborted when it throws.
    ///
    /// Only one write transaction exists at a time (LMDB serialises writers across processes, and this
    /// environment the threads of this process, each waiting its turn); one begun inside another on
    /// the same thread throws ``LMDBError/Code/badTransaction``. Readers on other threads go on. If the
    /// map fills, the transaction is aborted, the map doubled (once no other thread is inside a
    /// transaction) and `body` run again, so `body` may run more than once.
    ///
    /// - Throws: whatever `body` throws (the transaction is then aborted and nothing is written), or
    ///   ``LMDBError`` (`mapFull` when the map cannot grow, `noSpace`, `permissionDenied` when read-only, …).
    ///
    /// The corresponding LMDB functions are `mdb_txn_begin`, `mdb_txn_commit` and `mdb_txn_abort`.
    @discardableResult
    public func write<R>(_ body: (Transaction) throws -> R) throws -> R {
        let state = threadState()
        if state.writing {
            throw LMDBError(code: .badTransaction, operation: "begin write transaction on \(path)",
                            detail: "a write transaction is already open on this thread; do the work inside it")
        }
        if state.held != nil && !state.heldInUse && state.gateDepth == 0 { releaseHeldReader() }
        writer.lock()
        state.writing = true
        defer {
            state.writing = false
            writer.unlock()
        }
        while true {
            let outcome: Result<R, any Error>
            let full: Bool
            do {
                gate.enterShared(state)
                defer { gate.leaveShared(state) }
                let txn = try beginWrite(state)
                let outer = state.current
                state.current = txn
                defer { state.current = outer }
                do {
                    let result = try body(txn)
                    if txn.hitMapFull {  // the closure swallowed MDB_MAP_FULL; the transaction is unusable
                        abort(txn)
                        full = true
                        outcome = .failure(LMDBError(code: .mapFull, operation: "write"))
                    } else if let error = commitResult(txn) {
                        // Committing can itself fill the map (LMDB writes the free list at commit).
                        full = error.code == .mapFull
                        outcome = .failure(error)
                    } else {
                        full = false
                        outcome = .success(result)
                    }
                } catch {
                    full = txn.hitMapFull
                    abort(txn)
                    outcome = .failure(error)
                }
            }
            if full { try growMap(state); continue }
            return try outcome.get()
        }
    }

    /// Begins a read transaction for a body of `state`'s thread (on the gate's shared side).
    @usableFromInline
    func beginRead(_ state: ThreadState) throws(LMDBError) -> Transaction {
        guard isOpenFlag.load(ordering: .acquiring) else { throw closedError("begin transaction on") }
        if _slowPath(isForkedChild) {
            throw LMDBError(code: .usedAfterFork, operation: "begin transaction on \(path)",
                            detail: "this Environment was opened in process before fork()")
        }
        // The thread's own spare first (no lock other threads use), then the shared pool.
        let own = state.spare
        state.spare = nil
        if let spare = own ?? sparesLock.withLock({ spares.popLast() }) {
            let rc = mdb_txn_renew(spare)
            if rc == 0 { return Transaction(handle: spare, environment: self, readOnly: true) }
            mdb_txn_abort(spare)
        }
        return Transaction(handle: try begin(state, readOnly: true), environment: self, readOnly: true)
    }

    func beginWrite(_ state: ThreadState) throws(LMDBError) -> Transaction {
        guard isOpenFlag.load(ordering: .acquiring) else { throw closedError("begin transaction on") }
        if _slowPath(isForkedChild) {
            throw LMDBError(code: .usedAfterFork, operation: "begin transaction on \(path)",
                            detail: "this Environment was opened in process before fork()")
        }
        let txn = Transaction(handle: try begin(state, readOnly: false), environment: self, readOnly: false)
        // The ids before this one that this process did not commit are another's: say so before
        // this commit can make LMDB's last id look like ours.
        if accountedTransaction.load(ordering: .acquiring) != txn.id - 1 {
            externalGeneration.add(1, ordering: .releasing)
            epoch.add(1, ordering: .releasing)
        }
        accountedTransaction.store(txn.id - 1, ordering: .releasing)
        committingTransaction.store(txn.id, ordering: .releasing)
        return txn
    }

    /// A number that moves whenever LMDB's last committed transaction is one this process did not make
    /// (another process committed since the last call, or since this process's last commit). A cache
    /// of the environment's data that remembers the number it was filled under drops what it holds
    /// when the number moves. Also makes each thread's kept snapshot (``readRecent(_:)``) renew before
    /// its next use, so that it shows the other process's commit.
    ///
    /// Cheap: `mdb_env_info` reads the meta pages in the map, no system call. The corresponding LMDB
    /// function is `mdb_env_info` (its `me_last_txnid`).
    public func externalCommits() -> Int {
        guard let last = lastCommittedTransaction() else { return externalGeneration.load(ordering: .acquiring) }
        let accounted = accountedTransaction.load(ordering: .acquiring)
        if last != accounted && last != committingTransaction.load(ordering: .acquiring) {
            // Another process committed (or this process's commit of `last` just ended and the store
            // below runs late: counting it too costs one needless refill, never a stale answer).
            if accountedTransaction.compareExchange(expected: accounted, desired: last, ordering: .acquiringAndReleasing).exchanged {
                externalGeneration.add(1, ordering: .releasing)
                epoch.add(1, ordering: .releasing)
            }
        }
        return externalGeneration.load(ordering: .acquiring)
    }

    /// The id of LMDB's last committed transaction (`mdb_env_info`'s `me_last_txnid`, read from the
    /// meta pages in the map), or `nil` once closed. ``info()`` without its other fields, its result
    /// and its error: a cache asks this before every answer.
    @inline(__always)
    private func lastCommittedTransaction() -> Int? {
        withThreadState { state in
            gate.enterShared(state)
            defer { gate.leaveShared(state) }
            guard isOpenFlag.load(ordering: .acquiring) else { return nil }
            var info = MDB_envinfo()
            guard mdb_env_info(handle, &info) == 0 else { return nil }
            return info.me_last_txnid
        }
    }

    /// `mdb_txn_begin`, adopting a map another process grew when this thread holds no other body.
    private func begin(_ state: ThreadState, readOnly: Bool) throws(LMDBError) -> OpaquePointer {
        var txn: OpaquePointer?
        let flags = readOnly ? UInt32(MDB_RDONLY) : 0
        var rc = mdb_txn_begin(handle, nil, flags, &txn)
        if rc == MDB_MAP_RESIZED && state.gateDepth == 1 {
            // Another process grew the map: adopt its size (a remap: no body may run), then begin again.
            gate.leaveShared(state)
            var adopted: Int32 = 0
            gate.exclusive {
                if isOpenFlag.load(ordering: .acquiring) { adopted = mdb_env_set_mapsize(handle, 0); refreshMapSize() }
            }
            gate.enterShared(state)
            guard isOpenFlag.load(ordering: .acquiring) else { throw closedError("begin transaction on") }
            try check(adopted, "mdb_env_set_mapsize (adopt)")
            rc = mdb_txn_begin(handle, nil, flags, &txn)
        }
        try check(rc, readOnly ? "begin read transaction on \(path)" : "begin write transaction on \(path)")
        return txn!
    }

    @usableFromInline
    func endRead(_ txn: Transaction) {
        if !txn.pendingDatabases.isEmpty {
            try? commit(txn)  // keeps the handles opened in it (committing a reader cannot fail)
            return
        }
        guard let h = txn.invalidate() else { return }
        mdb_txn_reset(h)
        let state = threadState()
        if state.spare == nil { state.spare = h; return }
        let overflow: OpaquePointer? = sparesLock.withLock {
            guard spares.count < 64 else { return h }
            spares.append(h)
            return nil
        }
        if let overflow { mdb_txn_abort(overflow) }
    }

    /// Commits `txn` and marks it unusable. Handles opened in it live until the environment closes.
    func commit(_ txn: Transaction) throws(LMDBError) {
        let id = txn.isReadOnly ? 0 : txn.id
        guard let h = txn.invalidate() else { return }
        let rc = mdb_txn_commit(h)
        if id != 0 {
            if rc == MDB_SUCCESS { accountedTransaction.store(id, ordering: .releasing) }
            committingTransaction.store(0, ordering: .releasing)
        }
        try check(rc, txn.isReadOnly ? "commit read transaction" : "mdb_txn_commit on \(path)")
        if !txn.pendingDatabases.isEmpty {
            handlesLock.withLock { openedHandles.merge(txn.pendingDatabases) { old, _ in old } }
        }
        // Kept snapshots are renewed before their next use: they must show this commit, and one begun
        // before a handle was opened cannot use it (mdb_get answers EINVAL).
        if !txn.isReadOnly || !txn.pendingDatabases.isEmpty { epoch.add(1, ordering: .releasing) }
    }

    private func commitResult(_ txn: Transaction) -> LMDBError? {
        do { try commit(txn) } catch { return error }
        return nil
    }

    /// Aborts `txn` and marks it unusable. LMDB closes the handles opened in it.
    func abort(_ txn: Transaction) {
        guard let h = txn.invalidate() else { return }
        mdb_txn_abort(h)
        if !txn.isReadOnly { committingTransaction.store(0, ordering: .releasing) }
    }

    /// The handle opened for database `name` by a committed transaction, if any.
    func openedHandle(_ name: String) -> Database? { handlesLock.withLock { openedHandles[name] } }

    /// Forgets a deleted database's handle and moves its slot's generation, so old handles fail.
    func forgetHandle(_ database: Database) {
        let slot = Int(database.handle)
        if slot < generationSlots { generations[slot].add(1, ordering: .releasing) }
        handlesLock.withLock { openedHandles[database.name ?? ""] = nil }
    }

    /// The generation of handle slot `slot`.
    func generation(_ slot: Int) -> UInt32 {
        slot < generationSlots ? generations[slot].load(ordering: .acquiring) : 0
    }

    /// Any opened database whose handle number is `id`.
    func openedHandle(number id: UInt32) -> Database? {
        handlesLock.withLock { openedHandles.values.first { $0.handle == id } }
    }

    /// Doubles the map (bounded by ``Options/maximumMapSize``), once no body runs on any thread.
    /// `state`'s thread must hold no transaction (it has just aborted its write).
    private func growMap(_ state: ThreadState) throws(LMDBError) {
        guard state.gateDepth == 0 else {
            throw LMDBError(code: .mapFull, operation: "grow map of \(path)",
                            detail: "another transaction of this thread is open; end it first")
        }
        try gate.exclusive { () throws(LMDBError) in
            guard isOpenFlag.load(ordering: .acquiring) else { throw closedError("grow map of") }
            let mapSize = self.mapSize
            var newSize = mapSize > Int.max / 2 ? Int.max : mapSize * 2
            if let cap = options.maximumMapSize {
                guard mapSize < cap else {
                    throw LMDBError(code: .mapFull, operation: "grow map of \(path)",
                                    detail: "the map is \(mapSize) bytes, the maximumMapSize")
                }
                newSize = min(newSize, cap)
            }
            try check(mdb_env_set_mapsize(handle, newSize), "mdb_env_set_mapsize(\(newSize)) on \(path)")
            refreshMapSize()
        }
    }

    private func refreshMapSize() {
        var info = MDB_envinfo()
        mdb_env_info(handle, &info)
        mapSizeValue.store(info.me_mapsize, ordering: .relaxed)
    }

    // MARK: Maintenance

    /// Flushes written data to disk. Needed only with ``Durability/noSync`` or ``Durability/noMetaSync``.
    ///
    /// The corresponding LMDB function is `mdb_env_sync`.
    public func sync(force: Bool = true) throws(LMDBError) {
        try withHandle("sync") { env throws(LMDBError) in try check(mdb_env_sync(env, force ? 1 : 0), "mdb_env_sync on \(path)") }
    }

    /// Facts about the map and the reader table. The corresponding LMDB function is `mdb_env_info`.
    public func info() throws(LMDBError) -> Info {
        try withHandle("info of") { env throws(LMDBError) in
            var i = MDB_envinfo()
            try check(mdb_env_info(env, &i), "mdb_env_info")
            return Info(mapSize: i.me_mapsize, lastPage: i.me_last_pgno, lastTransaction: i.me_last_txnid,
                        maximumReaders: Int(i.me_maxreaders), readers: Int(i.me_numreaders))
        }
    }

    /// A slot of the reader table: a process that reads, or keeps a slot for its next read.
    public struct Reader: Hashable, Sendable, Codable {
        /// The process id.
        public var process: Int32
        /// The thread that took the slot (an opaque number).
        public var thread: UInt64
        /// The snapshot the reader holds (a transaction id), or `nil` for a slot kept between reads.
        public var transaction: Int?
        /// Whether the process is gone: a stale slot, which `mdb_reader_check` clears (a stale slot with
        /// a transaction keeps that snapshot's pages from being reused, so the file grows).
        public var isStale: Bool
    }

    /// The reader table, every process's slots.
    ///
    /// The corresponding LMDB function is `mdb_reader_list`.
    public func readers() throws(LMDBError) -> [Reader] {
        final class Lines { var text: [String] = [] }
        let lines = Lines()
        let rc = try withHandle("reader list of") { env in withExtendedLifetime(lines) {
            mdb_reader_list(env, { message, context in
                guard let message, let context else { return 0 }
                Unmanaged<Lines>.fromOpaque(context).takeUnretainedValue().text.append(String(cString: message))
                return 0
            }, Unmanaged.passUnretained(lines).toOpaque())
        } }
        try check(rc, "mdb_reader_list")
        // Lines are "%10d %zx %zu\n" (pid, thread, txnid) or "%10d %zx -\n", after a heading.
        return lines.text.compactMap { line in
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\n" })
            guard fields.count == 3, let pid = Int32(fields[0]), let thread = UInt64(fields[1], radix: 16) else { return nil }
            let alive = kill(pid, 0) == 0 || errno != ESRCH
            return Reader(process: pid, thread: thread, transaction: Int(fields[2]), isStale: !alive)
        }
    }

    /// Clears reader slots held by dead processes and returns how many it cleared.
    ///
    /// The corresponding LMDB function is `mdb_reader_check`.
    public func clearStaleReaders() throws(LMDBError) -> Int {
        try withHandle("reader check of") { env throws(LMDBError) in
            var dead: Int32 = 0
            try check(mdb_reader_check(env, &dead), "mdb_reader_check")
            return Int(dead)
        }
    }

    /// Copies the environment to directory `destination` (which must exist and be empty), while it stays
    /// usable. With `compact`, free pages are left out and the copy is renumbered.
    ///
    /// The corresponding LMDB function is `mdb_env_copy2`.
    public func copy(to destination: String, compact: Bool = false) throws(LMDBError) {
        try withHandle("copy") { env throws(LMDBError) in
            try check(mdb_env_copy2(env, destination, compact ? UInt32(MDB_CP_COMPACT) : 0),
                      "mdb_env_copy2 to \(destination)")
        }
    }
}

extension Environment {
    /// Whether `database` is still the database its handle was opened for: it was not deleted since.
    /// One array load and compare.
    @inlinable @inline(__always)
    public func isCurrent(_ database: Database) -> Bool {
        let slot = Int(database.handle)
        return slot < generationSlots ? generations[slot].load(ordering: .relaxed) == database.generation : database.generation == 0
    }
}

/// What one thread holds in one environment: how deep it is in transaction bodies, whether it
/// writes, and the snapshot ``Environment/readRecent(_:)`` keeps for it. Only its thread reads and
/// writes it, except ``Environment/close()`` (on the gate's exclusive side, when no body runs) and the
/// thread's exit (on the thread itself), which end its snapshot through the registry.
@usableFromInline
final class ThreadState {
    @usableFromInline var gateDepth = 0
    /// Whether this thread is on the gate's shared side (``TransactionGate``); the one member other
    /// threads read while it runs.
    @usableFromInline let active = Atomic<Bool>(false)
    @usableFromInline var writing = false
    @usableFromInline var held: Transaction? {
        didSet { if let held, oldValue == nil { registry.keep(self, held) } }
    }
    @usableFromInline var heldUses = 0
    @usableFromInline var heldEpoch = 0
    @usableFromInline var heldInUse = false
    /// The innermost transaction whose read or write closure runs on this thread.
    @usableFromInline var current: Transaction?
    /// A reset read transaction handle for this thread's next read (ended at thread exit and close).
    var spare: OpaquePointer?
    let registry: ThreadRegistry

    init(registry: ThreadRegistry) { self.registry = registry }

    /// The thread ends: its kept snapshot, if the environment is still open, is ended here.
    func threadExited() { registry.threadExited(self) }
}

/// The threads' states of one environment, so that close and thread exits end kept snapshots.
final class ThreadRegistry: @unchecked Sendable {
    // Sendable: every member is guarded by `lock`.
    private let lock = Lock()
    private var threads: [ObjectIdentifier: ThreadState] = [:]
    /// In a child forked after the environment opened, the handles are the parent's: never touched.
    private let forkGeneration = ForkWatch.generation.load(ordering: .relaxed)
    /// Kept snapshots' raw handles, by thread state.
    private var kept: [ObjectIdentifier: OpaquePointer] = [:]
    private var closed = false

    func add(_ state: ThreadState) { lock.withLock { threads[ObjectIdentifier(state)] = state } }

    /// The states of the threads that used the environment and have not exited.
    func states() -> [ThreadState] { lock.withLock { Array(threads.values) } }

    func keep(_ state: ThreadState, _ txn: Transaction) {
        guard let h = txn._handle else { return }
        lock.withLock { kept[ObjectIdentifier(state)] = h }
    }

    func forgetHeld(_ state: ThreadState) { lock.withLock { _ = kept.removeValue(forKey: ObjectIdentifier(state)) } }

    /// Keeps a detached snapshot's handle (``Snapshot``), ended at close like the kept ones.
    func keepDetached(_ id: ObjectIdentifier, _ handle: OpaquePointer) { lock.withLock { kept[id] = handle } }

    /// Ends the detached snapshot `id` with `end` unless close already did; under the lock, so that
    /// close cannot free the environment meanwhile.
    func endDetached(_ id: ObjectIdentifier, _ end: (OpaquePointer) -> Void) {
        lock.withLock { if let h = kept.removeValue(forKey: id) { end(h) } }
    }

    /// At close: ends every kept snapshot with `end`, and forgets them all.
    func closeAll(_ end: (OpaquePointer) -> Void) {
        lock.withLock {
            closed = true
            for h in kept.values { end(h) }
            for state in threads.values {
                if let h = state.spare { end(h) }
                state.spare = nil
            }
            kept = [:]
            threads = [:]
        }
    }

    func threadExited(_ state: ThreadState) {
        let id = ObjectIdentifier(state)
        // Under the lock, so that close() cannot free the environment in the middle of the abort.
        lock.withLock {
            threads[id] = nil
            let forked = ForkWatch.generation.load(ordering: .relaxed) != forkGeneration
            if !closed, let h = kept.removeValue(forKey: id), !forked {
                _ = state.held?.invalidate()
                mdb_txn_abort(h)  // a parked read transaction: no page of it is in use
            }
            if !closed, !forked, let h = state.spare { mdb_txn_abort(h) }
            state.spare = nil
        }
        state.held = nil
    }
}

/// A read snapshot kept across closures and threads (``Environment/beginSnapshot()``): each
/// ``read(_:)`` sees the same committed state. Used by one thread at a time (its lock makes a second
/// wait); `Sendable`, so a task may carry it from thread to thread.
public final class Snapshot: @unchecked Sendable {
    // Sendable: `handle` is used only under `lock`, and the environment's registry ends it at close.
    private let environment: Environment
    private var handle: OpaquePointer?
    private let lock = Lock()

    init(environment: Environment, handle: OpaquePointer) {
        self.environment = environment
        self.handle = handle
    }

    deinit { end() }

    /// Runs `body` in the snapshot. Between calls it holds no page pointer, so the map may grow.
    public func read<R>(_ body: (Transaction) throws -> R) throws -> R {
        try lock.withLock {
            let state = environment.threadState()
            environment.gate.enterShared(state)  // first: close waits for it
            defer { environment.gate.leaveShared(state) }
            guard let h = handle, !environment.isClosed else {
                throw LMDBError(code: .closed, operation: "read snapshot of \(environment.path)",
                                detail: "the snapshot was ended or its environment closed")
            }
            let txn = Transaction(handle: h, environment: environment, readOnly: true)
            defer { _ = txn.invalidate() }  // the handle stays the snapshot's
            return try body(txn)
        }
    }

    /// Ends the snapshot: its reader slot and pages are free again. Ending twice is harmless.
    public func end() {
        lock.withLock {
            guard handle != nil else { return }
            handle = nil
            environment.registry.endDetached(ObjectIdentifier(self)) { mdb_txn_abort($0) }
        }
    }
}
