import CLMDB

/// A transaction: a consistent snapshot to read, and, for a write transaction, changes that commit
/// together or not at all.
///
/// A `Transaction` exists only inside ``Environment/read(_:)`` or ``Environment/write(_:)``. Using one
/// after its closure returned is a programming error and traps with a message, never touching freed
/// memory. It is not `Sendable`: it stays on the thread that runs the closure (LMDB: "a transaction and
/// its cursors must only be used by a single thread").
///
/// @note Bytes borrowed from the map (the buffers passed to `get`'s closure, a cursor's entries) are
/// valid only until the next write in this transaction or its end, whichever comes first. Copy what
/// must outlive that.
///
/// The corresponding LMDB type is `MDB_txn`.
public final class Transaction {
    // Read on every call: unchecked exclusivity keeps the hot path free of runtime access tracking;
    // the type is not Sendable, so no other thread can touch it.
    @exclusivity(unchecked) @usableFromInline var _handle: OpaquePointer?
    @usableFromInline let environment: Environment
    /// Whether this is a read-only transaction.
    public let isReadOnly: Bool
    /// The largest key in bytes, as ``Environment/maximumKeySize``.
    public let maximumKeySize: Int
    /// Set when LMDB answered `MDB_MAP_FULL`: the transaction can only be aborted, and
    /// ``Environment/write(_:)`` grows the map and runs the closure again.
    @exclusivity(unchecked) @usableFromInline var hitMapFull = false
    /// Handles opened in this transaction; the environment keeps them if it commits.
    var pendingDatabases: [String: Database] = [:]
    /// An integer a layer above LMDB attaches to a transaction while its closure runs (DiskCollections
    /// marks the transactions its collections join); 0 unless set.
    public var tag = 0
    /// An object a layer above LMDB attaches to a transaction while its closure runs (DiskCollections:
    /// the cancellation flag of an `async` transaction); `nil` unless set.
    public var context: AnyObject?

    @usableFromInline
    init(handle: OpaquePointer, environment: Environment, readOnly: Bool) {
        self._handle = handle
        self.environment = environment
        self.isReadOnly = readOnly
        self.maximumKeySize = environment.maximumKeySize
    }

    /// The live `MDB_txn`, or a trap if the transaction's closure already returned.
    @inlinable
    var handle: OpaquePointer {
        @inline(__always) get {
            guard let h = _handle else { Transaction.usedAfterEnd() }
            return h
        }
    }

    @usableFromInline
    static func usedAfterEnd() -> Never {
        fatalError("LMDB.Transaction used after its read { } or write { } closure ended; a transaction must not escape its closure")
    }

    /// Marks the transaction ended and hands back the raw handle, once.
    func invalidate() -> OpaquePointer? {
        defer { _handle = nil }
        return _handle
    }

    /// Whether the transaction's closure is still running.
    public var isActive: Bool { _handle != nil }

    /// The transaction id: the number of the snapshot it reads. The corresponding LMDB function is `mdb_txn_id`.
    public var id: Int { mdb_txn_id(handle) }

    // MARK: Databases

    /// Opens the database `name` (or the main database for `nil`), creating it in a write transaction
    /// when `create` is true.
    ///
    /// - Returns: the handle, or `nil` if the database does not exist and `create` is false or the
    ///   transaction is read-only.
    /// - Throws: ``LMDBError`` with `incompatible` if it exists with other flags (or `name` is a plain
    ///   key of the main database), `databasesFull` past ``Environment/Options/maximumDatabases``.
    ///
    /// The corresponding LMDB function is `mdb_dbi_open`.
    public func openDatabase(_ name: String?, flags: Database.Flags = [], create: Bool = true) throws(LMDBError) -> Database? {
        guard let db = try open(name, flags: flags, create: create) else { return nil }
        guard db.flags == flags || name == nil else {
            throw LMDBError(code: .incompatible, operation: "open database \(name ?? "main")",
                            detail: "it was created with flags 0x\(String(db.flags.rawValue, radix: 16)), not 0x\(String(flags.rawValue, radix: 16))")
        }
        return db
    }

    /// Opens the existing database `name` with the flags it was created with, or returns `nil`.
    /// The corresponding LMDB function is `mdb_dbi_open`.
    public func openExistingDatabase(_ name: String) throws(LMDBError) -> Database? {
        try open(name, flags: [], create: false)
    }

    private func open(_ name: String?, flags: Database.Flags, create: Bool) throws(LMDBError) -> Database? {
        let key = name ?? ""
        if let db = pendingDatabases[key] ?? environment.openedHandle(key) { return db }
        var dbi: MDB_dbi = 0
        let createFlag = (create && !isReadOnly) ? UInt32(MDB_CREATE) : 0
        let rc = name.map { mdb_dbi_open(handle, $0, flags.rawValue | createFlag, &dbi) }
            ?? mdb_dbi_open(handle, nil, 0, &dbi)
        if rc == notFound { return nil }
        try check(rc, "mdb_dbi_open(\(key))")
        var actual: UInt32 = 0
        try check(mdb_dbi_flags(handle, dbi, &actual), "mdb_dbi_flags(\(key))")
        let generation = environment.generation(Int(dbi))
        let db = Database(name: name, flags: Database.Flags(rawValue: actual & 0x7E), handle: dbi, generation: generation)
        pendingDatabases[key] = db
        return db
    }

    /// The open database whose ``Database/handleID`` is `id`, or `nil`.
    public func database(handleID id: UInt32) -> Database? {
        if let db = pendingDatabases.values.first(where: { $0.handle == id }) { return db }
        return environment.openedHandle(number: id)
    }

    /// The names of the named databases in the environment, sorted.
    ///
    /// Cost: a scan of the main database, which holds one key per named database (and nothing else
    /// unless someone wrote plain keys there).
    public func databaseNames() throws -> [String] {
        guard let main = try openDatabase(nil) else { return [] }
        var names: [String] = []
        try withCursor(main) { cursor in
            var entry = try cursor.first()
            while let (key, _) = entry {
                let name = String(decoding: key, as: UTF8.self)
                var dbi: MDB_dbi = 0
                // A plain key in the main database answers MDB_INCOMPATIBLE; skip it.
                if Array(name.utf8) == Array(key), mdb_dbi_open(handle, name, 0, &dbi) == 0 {
                    names.append(name)
                }
                entry = try cursor.next()
            }
        }
        return names
    }

    /// The B+tree statistics of `database`. The corresponding LMDB function is `mdb_stat`.
    public func statistics(_ database: Database) throws(LMDBError) -> Database.Statistics {
        var s = MDB_stat()
        try checkCurrent(database, "mdb_stat")
        try check(mdb_stat(handle, database.handle, &s), "mdb_stat(\(database.name ?? "main"))")
        return Database.Statistics(s)
    }

    /// Pages on LMDB's free list: pages of the file that old transactions freed and new ones will
    /// reuse (some only once no reader holds a snapshot that still sees them).
    ///
    /// Cost: a walk of the free-page database, one entry per transaction that freed pages.
    /// The corresponding LMDB structure is the free-page database (`FREE_DBI`), an `MDB_IDL` per entry.
    public func freePageCount() throws -> Int {
        try freePages(pinnedFrom: nil).free
    }

    /// Pages on LMDB's free list, and those of them a snapshot still pins: pages freed by transaction
    /// `t` are reused only once no reader holds a snapshot older than `t`, so with `oldestSnapshot`
    /// (the oldest transaction a reader holds), pages freed at or after it are pinned.
    ///
    /// Cost: a walk of the free-page database, one entry per transaction that freed pages.
    /// The corresponding LMDB structure is the free-page database (`FREE_DBI`): keys are transaction
    /// ids, values `MDB_IDL`s (a length, then page numbers).
    public func freePages(pinnedFrom oldestSnapshot: Int?) throws -> (free: Int, pinned: Int) {
        try withCursor(.freePages) { cursor in
            var free = 0, pinned = 0
            for (key, value) in cursor.entries() where value.count >= MemoryLayout<Int>.size {
                let pages = value.loadUnaligned(as: Int.self)
                free += pages
                if let oldestSnapshot, key.count == MemoryLayout<Int>.size, key.loadUnaligned(as: Int.self) >= oldestSnapshot {
                    pinned += pages
                }
            }
            return (free, pinned)
        }
    }

    /// The B+tree statistics of LMDB's free-page database itself (the pages that hold the free list).
    /// The corresponding LMDB function is `mdb_stat` on `FREE_DBI`.
    public func freeDatabaseStatistics() throws(LMDBError) -> Database.Statistics {
        try statistics(.freePages)
    }

    /// The number of entries in `database` (each duplicate counts). O(1).
    /// The corresponding LMDB function is `mdb_stat`.
    @inlinable
    public func count(_ database: Database) throws(LMDBError) -> Int {
        var s = MDB_stat()
        try checkCurrent(database, "mdb_stat")
        try check(mdb_stat(handle, database.handle, &s), "mdb_stat", database)
        return s.ms_entries
    }

    /// Removes every entry of `database`; with `deleteDatabase`, removes the database itself and
    /// closes its handle. The corresponding LMDB function is `mdb_drop`.
    public func clear(_ database: Database, deleteDatabase: Bool = false) throws(LMDBError) {
        try checkCurrent(database, "mdb_drop")
        try checkWrite(mdb_drop(handle, database.handle, deleteDatabase ? 1 : 0), "mdb_drop", database)
        if deleteDatabase {
            pendingDatabases[database.name ?? ""] = nil
            environment.forgetHandle(database)
        }
    }

    // MARK: Reading

    /// Looks `key` up and passes the value, borrowed from the map, to `body`.
    ///
    /// - Returns: what `body` returns, or `nil` if the key is absent (`MDB_NOTFOUND` is not an error).
    /// - Throws: ``LMDBError`` (`badValueSize` for an empty key or one over ``maximumKeySize``), or what
    ///   `body` throws. Cost: one B+tree descent, O(log n).
    ///
    /// The corresponding LMDB function is `mdb_get`.
    @inlinable
    public func get<R>(_ database: Database, key: UnsafeRawBufferPointer,
                       _ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        try checkKey(key, database, "mdb_get")
        var k = MDB_val(key)
        var v = MDB_val.empty
        let rc = mdb_get(handle, database.handle, &k, &v)
        if rc == notFound { return nil }
        try check(rc, "mdb_get", database)
        return try body(v.buffer)
    }

    /// Looks `key` up and returns a copy of its value, or `nil`. The corresponding LMDB function is `mdb_get`.
    @inlinable
    public func get(_ database: Database, key: [UInt8]) throws(LMDBError) -> [UInt8]? {
        do {
            return try key.withUnsafeBytes { k in try get(database, key: k) { Array($0) } }
        } catch { throw error as! LMDBError }
    }

    /// Whether `key` is present. The corresponding LMDB function is `mdb_get`.
    @inlinable
    public func contains(_ database: Database, key: UnsafeRawBufferPointer) throws(LMDBError) -> Bool {
        try checkKey(key, database, "mdb_get")
        var k = MDB_val(key)
        var v = MDB_val.empty
        let rc = mdb_get(handle, database.handle, &k, &v)
        if rc == notFound { return false }
        try check(rc, "mdb_get", database)
        return true
    }

    /// Compares two keys the way `database` orders them: negative, zero or positive.
    /// The corresponding LMDB function is `mdb_cmp`.
    @inlinable
    public func compare(_ database: Database, _ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
        var x = MDB_val(a)
        var y = MDB_val(b)
        return Int(mdb_cmp(handle, database.handle, &x, &y))
    }

    // MARK: Writing

    /// Stores `value` under `key`.
    ///
    /// - Returns: `true` if written; `false` if `.noOverwrite` found the key present, or
    ///   `.noDuplicate` found the pair present.
    /// - Throws: ``LMDBError``: `badValueSize` (checked before LMDB is called, so the transaction stays
    ///   usable), `keyExists` for an `.append` key out of order, `permissionDenied` in a read
    ///   transaction, `mapFull` (``Environment/write(_:)`` then grows the map and retries).
    ///   Cost: one descent, O(log n); none with `.append`.
    ///
    /// The corresponding LMDB function is `mdb_put`.
    @inlinable @discardableResult
    public func put(_ database: Database, key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer,
                    flags: PutFlags = []) throws(LMDBError) -> Bool {
        try checkKey(key, database, "mdb_put")
        if database.flags.contains(.dupSort) { try checkDuplicate(value, database, "mdb_put") }
        var k = MDB_val(key)
        var v = MDB_val(value)
        let rc = mdb_put(handle, database.handle, &k, &v, flags.rawValue)
        if rc == MDB_KEYEXIST && !flags.isDisjoint(with: [.noOverwrite, .noDuplicate])
            && flags.isDisjoint(with: [.append, .appendDuplicate]) {
            return false
        }
        try checkWrite(rc, "mdb_put", database)
        return true
    }

    /// Stores `value` under `key`; see ``put(_:key:value:flags:)``.
    @inlinable @discardableResult
    public func put(_ database: Database, key: [UInt8], value: [UInt8], flags: PutFlags = []) throws(LMDBError) -> Bool {
        do {
            return try key.withUnsafeBytes { k in
                try value.withUnsafeBytes { v in try put(database, key: k, value: v, flags: flags) }
            }
        } catch { throw error as! LMDBError }
    }

    /// Reserves `count` bytes for the value of `key` and lets `fill` write them in place, saving a copy.
    /// Not for `dupSort` databases. The corresponding LMDB function is `mdb_put` with `MDB_RESERVE`.
    @inlinable @discardableResult
    public func put(_ database: Database, key: UnsafeRawBufferPointer, reservingCount count: Int,
                    flags: PutFlags = [], _ fill: (UnsafeMutableRawBufferPointer) throws -> Void) throws -> Bool {
        precondition(!database.flags.contains(.dupSort), "MDB_RESERVE cannot be used with dupSort databases")
        try checkKey(key, database, "mdb_put")
        var k = MDB_val(key)
        var v = MDB_val(mv_size: count, mv_data: nil)
        let rc = mdb_put(handle, database.handle, &k, &v, flags.rawValue | UInt32(MDB_RESERVE))
        if rc == MDB_KEYEXIST && flags.contains(.noOverwrite) && !flags.contains(.append) { return false }
        try checkWrite(rc, "mdb_put(reserve)", database)
        try fill(UnsafeMutableRawBufferPointer(start: v.mv_data, count: count))
        return true
    }

    /// Deletes `key` (every value of it in a `dupSort` database), or only the pair `key`/`value`.
    ///
    /// - Returns: `false` if there was nothing to delete.
    /// The corresponding LMDB function is `mdb_del`.
    @inlinable @discardableResult
    public func delete(_ database: Database, key: UnsafeRawBufferPointer,
                       value: UnsafeRawBufferPointer? = nil) throws(LMDBError) -> Bool {
        try checkKey(key, database, "mdb_del")
        var k = MDB_val(key)
        let rc: Int32
        if let value {
            var v = MDB_val(value)
            rc = mdb_del(handle, database.handle, &k, &v)
        } else {
            rc = mdb_del(handle, database.handle, &k, nil)
        }
        if rc == notFound { return false }
        try checkWrite(rc, "mdb_del", database)
        return true
    }

    /// Deletes `key`; see ``delete(_:key:value:)``.
    @inlinable @discardableResult
    public func delete(_ database: Database, key: [UInt8]) throws(LMDBError) -> Bool {
        do {
            return try key.withUnsafeBytes { k in try delete(database, key: k) }
        } catch { throw error as! LMDBError }
    }

    // MARK: Cursors

    /// Opens a cursor on `database` for the length of `body`.
    ///
    /// An error that ends a cursor's `Sequence` iteration early is thrown here, when `body` returns.
    /// The corresponding LMDB functions are `mdb_cursor_open` and `mdb_cursor_close`.
    @inlinable
    public func withCursor<R, E: Error>(_ database: Database, _ body: (Cursor) throws(E) -> R) throws -> R {
        var c: OpaquePointer?
        try checkCurrent(database, "mdb_cursor_open")
        try check(mdb_cursor_open(handle, database.handle, &c), "mdb_cursor_open(\(database.name ?? "main"))")
        let cursor = Cursor(handle: c!, transaction: self, database: database)
        defer { cursor.close() }
        let result = try body(cursor)
        if let error = cursor.deferredError { throw error }
        return result
    }

    // MARK: Checks

    @inlinable @inline(__always)
    func checkKey(_ key: UnsafeRawBufferPointer, _ database: Database, _ operation: StaticString) throws(LMDBError) {
        if _slowPath(key.count == 0 || key.count > maximumKeySize) {
            throw sizeError(what: "key", key.count, database, operation)
        }
        try checkCurrent(database, operation)
    }

    /// Throws `badDatabase` for a handle whose database was deleted (its slot may hold another now).
    @inlinable @inline(__always)
    func checkCurrent(_ database: Database, _ operation: StaticString) throws(LMDBError) {
        if _slowPath(!environment.isCurrent(database)) {
            throw LMDBError(code: .badDatabase, operation: "\(operation)(\(database.name ?? "main"))",
                            detail: "the database was deleted; open it again")
        }
    }

    @inlinable @inline(__always)
    func checkDuplicate(_ value: UnsafeRawBufferPointer, _ database: Database, _ operation: StaticString) throws(LMDBError) {
        if _slowPath(value.count > maximumKeySize) {
            throw sizeError(what: "value in a dupSort database", value.count, database, operation)
        }
    }

    @usableFromInline
    func sizeError(what: String, _ length: Int, _ database: Database, _ operation: StaticString) -> LMDBError {
        LMDBError(code: .badValueSize, operation: "\(operation)(\(database.name ?? "main"))",
                  detail: "\(what) is \(length) bytes; it must be 1...\(maximumKeySize)")
    }

    /// ``check(_:_:)`` for calls that write: remembers `MDB_MAP_FULL` so the write can be retried.
    @inlinable @inline(__always)
    func checkWrite(_ rc: Int32, _ function: StaticString, _ database: Database) throws(LMDBError) {
        if _slowPath(rc != 0) {
            if rc == MDB_MAP_FULL { hitMapFull = true }
            throw LMDBError.failure(rc, function, database)
        }
    }
}

@available(*, unavailable, message: "a transaction stays on the thread that runs its closure")
extension Transaction: Sendable {}
