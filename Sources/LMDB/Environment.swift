import CLMDB
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// An LMDB environment: one directory holding `data.mdb` and `lock.mdb`, memory-mapped, with any
/// number of named ``Database``s inside.
///
/// Open it once per process, read in ``read(_:)`` and write in ``write(_:)``. Transactions exist only
/// inside those closures: they commit when the closure returns and abort when it throws.
///
/// **Map growth.** Nobody sizes the map by hand. When a write fills the map (`MDB_MAP_FULL`),
/// ``write(_:)`` aborts the transaction, doubles the map and runs the closure again, so a write
/// closure may run more than once: keep its effects inside the transaction. A map grown by another
/// process (`MDB_MAP_RESIZED`) is adopted when the next transaction begins.
///
/// **Threads.** An `Environment` is not `Sendable`: use it from one thread or task at a time. It is
/// opened with `MDB_NOTLS`, so a read transaction is not tied to the thread that began it.
///
/// **Guards.** Opening the directory a second time in this process (also through a symbolic link)
/// throws ``LMDBError/Code/alreadyOpen``; using the environment in a child after `fork()` throws
/// ``LMDBError/Code/usedAfterFork``; stale reader slots left by killed processes are cleared at open
/// (`mdb_reader_check`).
///
/// The corresponding LMDB type is `MDB_env`.
public final class Environment {
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
    public private(set) var mapSize: Int

    @exclusivity(unchecked) @usableFromInline var handle: OpaquePointer?
    @exclusivity(unchecked) @usableFromInline var liveTransactions = 0
    @exclusivity(unchecked) @usableFromInline var writeInProgress = false
    @usableFromInline var databases: [String: Database] = [:]
    /// Per handle slot, how many times a database in it was deleted (see ``Database``).
    @exclusivity(unchecked) @usableFromInline var generations: [UInt32] = []
    @exclusivity(unchecked) @usableFromInline var spareReader: OpaquePointer?
    /// The snapshot ``readRecent(_:)`` keeps between calls, and how many calls it has served.
    @exclusivity(unchecked) @usableFromInline var heldReader: Transaction?
    @exclusivity(unchecked) @usableFromInline var heldReaderUses = 0
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
        generations = Array(repeating: 0, count: options.maximumDatabases + 2)
        ForkWatch.install()
        self.forkGeneration = ForkWatch.generation.load(ordering: .relaxed)

        let created = options.readOnly ? [] : try FileIdentity.makeDirectory(path)
        var claimed: FileIdentity?
        var env: OpaquePointer?
        var ok = false
        // LMDB's files that did not exist before: a failed open removes them (an empty data.mdb left
        // behind would read as a damaged store at the next open).
        let newFiles = ["data.mdb", "lock.mdb"].map { path + "/" + $0 }.filter { access($0, F_OK) != 0 }
        defer {
            if !ok {
                if let env { mdb_env_close(env) }
                if let claimed { OpenEnvironments.release(claimed) }
                if !options.readOnly { for file in newFiles { unlink(file) } }
                FileIdentity.removeCreated(created)  // a failed open leaves nothing it made behind
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
        try check(mdb_env_open(env, path, flags, mdb_mode_t(options.fileMode)), "open \(path)")
        var dead: Int32 = 0
        if options.clearsStaleReaders { try check(mdb_reader_check(env, &dead), "mdb_reader_check") }
        self.staleReadersCleared = Int(dead)
        self.maximumKeySize = Int(mdb_env_get_maxkeysize(env))
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        self.mapSize = info.me_mapsize
        self.handle = env
        ok = true
    }

    deinit { close() }

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

    /// Closes the environment. Closing twice is harmless. Closing inside a transaction is a
    /// programming error and traps.
    ///
    /// The corresponding LMDB function is `mdb_env_close`.
    public func close() {
        guard let env = handle else { return }
        releaseHeldReader()
        precondition(liveTransactions == 0, "LMDB.Environment.close() called inside a transaction on \(path)")
        if let spare = spareReader { mdb_txn_abort(spare); spareReader = nil }
        // In a child after fork() the parent's locks and map must not be touched: leak the handle.
        if ForkWatch.generation.load(ordering: .relaxed) == forkGeneration { mdb_env_close(env) }
        handle = nil
        databases = [:]
        OpenEnvironments.release(identity)
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    // MARK: Transactions

    /// Runs `body` in a read-only transaction: a consistent snapshot that writers never block.
    ///
    /// The transaction and every byte borrowed through it are valid only inside `body`.
    /// Cost: reuses one reset transaction handle, so beginning a read costs about a microsecond.
    ///
    /// - Throws: whatever `body` throws, or ``LMDBError`` (`readersFull`, `usedAfterFork`, `closed`).
    ///
    /// The corresponding LMDB functions are `mdb_txn_begin` with `MDB_RDONLY`, `mdb_txn_renew`,
    /// `mdb_txn_reset` and `mdb_txn_abort`.
    @inlinable @discardableResult
    public func read<R>(_ body: (Transaction) throws -> R) throws -> R {
        let txn = try beginTransaction(readOnly: true)
        defer { endRead(txn) }
        return try body(txn)
    }

    /// Runs `body` in a read-only transaction that may be the one an earlier call used: for many small
    /// reads in a row (a cache's misses), where beginning and ending a transaction each time would cost
    /// as much as the read.
    ///
    /// The snapshot is kept after `body` returns and ended by the next ``write(_:)`` of this
    /// environment (so it never hides this process's own commits), by ``releaseHeldReader()``, by
    /// ``close()``, and after 1,024 calls. Commits of other processes become visible when it is renewed.
    /// While held, it takes one reader slot and keeps the pages of its snapshot from being reused by
    /// writers of other processes; release it at idle points. As with ``read(_:)``, the transaction and
    /// the bytes borrowed through it are valid only inside `body`.
    @inlinable
    public func readRecent<R>(_ body: (Transaction) throws -> R) throws -> R {
        if let txn = heldReader, heldReaderUses < 1024, !isForkedChild {
            heldReaderUses &+= 1
            return try body(txn)
        }
        return try readRecentRenewing(body)
    }

    @usableFromInline
    func readRecentRenewing<R>(_ body: (Transaction) throws -> R) throws -> R {
        releaseHeldReader()
        let txn = try beginTransaction(readOnly: true)
        heldReader = txn
        heldReaderUses = 1
        defer {
            // A transaction that opened a database must commit to keep the handle: do not hold it.
            if !txn.pendingDatabases.isEmpty { releaseHeldReader() }
        }
        return try body(txn)
    }

    /// Ends the snapshot ``readRecent(_:)`` keeps, if any. Cheap when there is none.
    public func releaseHeldReader() {
        guard let txn = heldReader else { return }
        heldReader = nil
        if isForkedChild {  // the slot belongs to the parent: forget it without touching LMDB
            _ = txn.invalidate()
            liveTransactions -= 1
            return
        }
        endRead(txn)
    }

    /// Whether this process is a child forked after the environment opened.
    @usableFromInline var isForkedChild: Bool { ForkWatch.generation.load(ordering: .relaxed) != forkGeneration }

    /// Runs `body` in a write transaction, committed when `body` returns and aborted when it throws.
    ///
    /// Only one write transaction exists at a time (LMDB serialises writers across processes); one
    /// begun inside another throws ``LMDBError/Code/badTransaction``. If the map fills, the
    /// transaction is aborted, the map doubled and `body` run again, so `body` may run more than once.
    ///
    /// - Throws: whatever `body` throws (the transaction is then aborted and nothing is written), or
    ///   ``LMDBError`` (`mapFull` when the map cannot grow, `noSpace`, `permissionDenied` when read-only, …).
    ///
    /// The corresponding LMDB functions are `mdb_txn_begin`, `mdb_txn_commit` and `mdb_txn_abort`.
    @discardableResult
    public func write<R>(_ body: (Transaction) throws -> R) throws -> R {
        if heldReader != nil { releaseHeldReader() }
        while true {
            let txn = try beginTransaction(readOnly: false)
            let result: R
            do {
                result = try body(txn)
            } catch {
                let full = txn.hitMapFull
                abort(txn)
                if full { try growMap(); continue }
                throw error
            }
            if txn.hitMapFull {  // the closure swallowed MDB_MAP_FULL; the transaction is unusable
                abort(txn)
                try growMap()
                continue
            }
            // Committing can itself fill the map (LMDB writes the free list at commit).
            if let error = commitResult(txn) {
                guard error.code == .mapFull else { throw error }
                try growMap()
                continue
            }
            return result
        }
    }

    @usableFromInline
    func beginTransaction(readOnly: Bool) throws(LMDBError) -> Transaction {
        guard let env = handle else { throw LMDBError(code: .closed, operation: "begin transaction on \(path)") }
        if _slowPath(ForkWatch.generation.load(ordering: .relaxed) != forkGeneration) {
            throw LMDBError(code: .usedAfterFork, operation: "begin transaction on \(path)",
                            detail: "this Environment was opened in process before fork()")
        }
        if readOnly, let spare = spareReader {
            spareReader = nil
            let rc = mdb_txn_renew(spare)
            if rc == 0 {
                liveTransactions += 1
                return Transaction(handle: spare, environment: self, readOnly: true)
            }
            mdb_txn_abort(spare)
        }
        if !readOnly && writeInProgress {
            throw LMDBError(code: .badTransaction, operation: "begin write transaction on \(path)",
                            detail: "a write transaction is already open in this process; do the work inside it")
        }
        var txn: OpaquePointer?
        var rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        if rc == MDB_MAP_RESIZED && liveTransactions == 0 {
            // Another process grew the map: adopt its size, then begin again.
            try check(mdb_env_set_mapsize(env, 0), "mdb_env_set_mapsize (adopt)")
            refreshMapSize()
            rc = mdb_txn_begin(env, nil, readOnly ? UInt32(MDB_RDONLY) : 0, &txn)
        }
        try check(rc, readOnly ? "begin read transaction on \(path)" : "begin write transaction on \(path)")
        liveTransactions += 1
        if !readOnly { writeInProgress = true }
        return Transaction(handle: txn!, environment: self, readOnly: readOnly)
    }

    @usableFromInline
    func endRead(_ txn: Transaction) {
        if !txn.pendingDatabases.isEmpty {
            try? commit(txn)  // keeps the handles opened in it (committing a reader cannot fail)
            return
        }
        guard let h = txn.invalidate() else { return }
        liveTransactions -= 1
        mdb_txn_reset(h)
        if let old = spareReader { mdb_txn_abort(old) }
        spareReader = h
    }

    /// Commits `txn` and marks it unusable. Handles opened in it live until the environment closes.
    func commit(_ txn: Transaction) throws(LMDBError) {
        guard let h = finish(txn) else { return }
        try check(mdb_txn_commit(h), txn.isReadOnly ? "commit read transaction" : "mdb_txn_commit on \(path)")
        databases.merge(txn.pendingDatabases) { old, _ in old }
        // A snapshot begun before a handle was opened cannot use it (mdb_get answers EINVAL).
        if !txn.pendingDatabases.isEmpty { releaseHeldReader() }
    }

    private func commitResult(_ txn: Transaction) -> LMDBError? {
        do { try commit(txn) } catch { return error }
        return nil
    }

    /// Aborts `txn` and marks it unusable. LMDB closes the handles opened in it.
    func abort(_ txn: Transaction) {
        if let h = finish(txn) { mdb_txn_abort(h) }
    }

    private func finish(_ txn: Transaction) -> OpaquePointer? {
        guard let h = txn.invalidate() else { return nil }
        liveTransactions -= 1
        if !txn.isReadOnly { writeInProgress = false }
        return h
    }

    /// Doubles the map (bounded by ``Options/maximumMapSize``). Runs with no transaction live.
    private func growMap() throws(LMDBError) {
        guard let env = handle else { throw LMDBError(code: .closed, operation: "grow map of \(path)") }
        guard liveTransactions == 0 else {
            throw LMDBError(code: .mapFull, operation: "grow map of \(path)",
                            detail: "\(liveTransactions) other transaction(s) of this process are open; end them first")
        }
        if let spare = spareReader { mdb_txn_abort(spare); spareReader = nil }
        var newSize = mapSize > Int.max / 2 ? Int.max : mapSize * 2
        if let cap = options.maximumMapSize {
            guard mapSize < cap else {
                throw LMDBError(code: .mapFull, operation: "grow map of \(path)",
                                detail: "the map is \(mapSize) bytes, the maximumMapSize")
            }
            newSize = min(newSize, cap)
        }
        try check(mdb_env_set_mapsize(env, newSize), "mdb_env_set_mapsize(\(newSize)) on \(path)")
        refreshMapSize()
    }

    private func refreshMapSize() {
        guard let env = handle else { return }
        var info = MDB_envinfo()
        mdb_env_info(env, &info)
        mapSize = info.me_mapsize
    }

    // MARK: Maintenance

    /// Flushes written data to disk. Needed only with ``Durability/noSync`` or ``Durability/noMetaSync``.
    ///
    /// The corresponding LMDB function is `mdb_env_sync`.
    public func sync(force: Bool = true) throws(LMDBError) {
        guard let env = handle else { throw LMDBError(code: .closed, operation: "sync \(path)") }
        try check(mdb_env_sync(env, force ? 1 : 0), "mdb_env_sync on \(path)")
    }

    /// Facts about the map and the reader table. The corresponding LMDB function is `mdb_env_info`.
    public func info() throws(LMDBError) -> Info {
        guard let env = handle else { throw LMDBError(code: .closed, operation: "info of \(path)") }
        var i = MDB_envinfo()
        try check(mdb_env_info(env, &i), "mdb_env_info")
        return Info(mapSize: i.me_mapsize, lastPage: i.me_last_pgno, lastTransaction: i.me_last_txnid,
                    maximumReaders: Int(i.me_maxreaders), readers: Int(i.me_numreaders))
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
        guard let env = handle else { throw LMDBError(code: .closed, operation: "reader list of \(path)") }
        final class Lines { var text: [String] = [] }
        let lines = Lines()
        let rc = withExtendedLifetime(lines) {
            mdb_reader_list(env, { message, context in
                guard let message, let context else { return 0 }
                Unmanaged<Lines>.fromOpaque(context).takeUnretainedValue().text.append(String(cString: message))
                return 0
            }, Unmanaged.passUnretained(lines).toOpaque())
        }
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
        guard let env = handle else { throw LMDBError(code: .closed, operation: "reader check of \(path)") }
        var dead: Int32 = 0
        try check(mdb_reader_check(env, &dead), "mdb_reader_check")
        return Int(dead)
    }

    /// Copies the environment to directory `destination` (which must exist and be empty), while it stays
    /// usable. With `compact`, free pages are left out and the copy is renumbered.
    ///
    /// The corresponding LMDB function is `mdb_env_copy2`.
    public func copy(to destination: String, compact: Bool = false) throws(LMDBError) {
        guard let env = handle else { throw LMDBError(code: .closed, operation: "copy \(path)") }
        try check(mdb_env_copy2(env, destination, compact ? UInt32(MDB_CP_COMPACT) : 0),
                  "mdb_env_copy2 to \(destination)")
    }
}

extension Environment {
    /// Whether `database` is still the database its handle was opened for: it was not deleted since.
    /// One array load and compare.
    @inlinable @inline(__always)
    public func isCurrent(_ database: Database) -> Bool {
        let slot = Int(database.handle)
        return slot < generations.count ? generations[slot] == database.generation : database.generation == 0
    }
}
