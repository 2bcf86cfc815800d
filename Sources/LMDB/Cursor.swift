import CLMDB

/// A position in one database, for ordered reading, range scans and writing at the position.
///
/// A cursor exists only inside ``Transaction/withCursor(_:_:)``.
///
/// @note Entries are borrowed from the map: valid until the next write in the transaction or its end.
///
/// The corresponding LMDB type is `MDB_cursor`.
public final class Cursor {
    /// A key and its value, borrowed from the map.
    public typealias Entry = (key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer)

    @exclusivity(unchecked) @usableFromInline var _handle: OpaquePointer?
    @usableFromInline let transaction: Transaction
    /// The database the cursor walks.
    public let database: Database
    /// An error that ended a `Sequence` iteration early; ``Transaction/withCursor(_:_:)`` throws it.
    @usableFromInline var deferredError: LMDBError?

    @usableFromInline
    init(handle: OpaquePointer, transaction: Transaction, database: Database) {
        self._handle = handle
        self.transaction = transaction
        self.database = database
    }

    @usableFromInline
    func close() {
        if let h = _handle { mdb_cursor_close(h); _handle = nil }
    }

    @inlinable
    var handle: OpaquePointer {
        @inline(__always) get {
            // A cursor is closed before its transaction ends (withCursor's defer), so this one check
            // also covers a cursor whose transaction ended.
            guard let h = _handle else {
                fatalError("LMDB.Cursor used after its withCursor { } closure or its transaction ended")
            }
            return h
        }
    }

    /// One `mdb_cursor_get` call: `nil` for `MDB_NOTFOUND`.
    @inlinable @inline(__always)
    func get(_ op: MDB_cursor_op, key: UnsafeRawBufferPointer? = nil,
             value: UnsafeRawBufferPointer? = nil) throws(LMDBError) -> Entry? {
        var k = key.map(MDB_val.init) ?? .empty
        var v = value.map(MDB_val.init) ?? .empty
        let rc = mdb_cursor_get(handle, &k, &v, op)
        if rc == notFound { return nil }
        try check(rc, "mdb_cursor_get", database)
        return (k.buffer, v.buffer)
    }

    /// The first entry. The corresponding LMDB operation is `MDB_FIRST`.
    @inlinable public func first() throws(LMDBError) -> Entry? { try get(MDB_FIRST) }
    /// The last entry. The corresponding LMDB operation is `MDB_LAST`.
    @inlinable public func last() throws(LMDBError) -> Entry? { try get(MDB_LAST) }
    /// The next entry (the next duplicate first). The corresponding LMDB operation is `MDB_NEXT`.
    @inlinable public func next() throws(LMDBError) -> Entry? { try get(MDB_NEXT) }
    /// The previous entry. The corresponding LMDB operation is `MDB_PREV`.
    @inlinable public func previous() throws(LMDBError) -> Entry? { try get(MDB_PREV) }
    /// The entry at the cursor. The corresponding LMDB operation is `MDB_GET_CURRENT`.
    @inlinable public func current() throws(LMDBError) -> Entry? { try get(MDB_GET_CURRENT) }
    /// The first value of the next key (`dupSort`). The corresponding LMDB operation is `MDB_NEXT_NODUP`.
    @inlinable public func nextKey() throws(LMDBError) -> Entry? { try get(MDB_NEXT_NODUP) }
    /// The last value of the previous key (`dupSort`). The corresponding LMDB operation is `MDB_PREV_NODUP`.
    @inlinable public func previousKey() throws(LMDBError) -> Entry? { try get(MDB_PREV_NODUP) }
    /// The next value of the current key (`dupSort`). The corresponding LMDB operation is `MDB_NEXT_DUP`.
    @inlinable public func nextDuplicate() throws(LMDBError) -> Entry? { try get(MDB_NEXT_DUP) }
    /// The last value of the current key (`dupSort`). The corresponding LMDB operation is `MDB_LAST_DUP`.
    @inlinable public func lastDuplicate() throws(LMDBError) -> Entry? { try get(MDB_LAST_DUP) }

    /// Moves to `key` exactly. The corresponding LMDB operation is `MDB_SET_KEY`.
    @inlinable
    public func seek(_ key: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        try transaction.checkKey(key, database, "mdb_cursor_get")
        return try get(MDB_SET_KEY, key: key)
    }

    /// Moves to the first key greater than or equal to `key`. The corresponding LMDB operation is `MDB_SET_RANGE`.
    @inlinable
    public func seek(atLeast key: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        try transaction.checkKey(key, database, "mdb_cursor_get")
        return try get(MDB_SET_RANGE, key: key)
    }

    /// Moves to the pair `key`/`value` exactly (`dupSort`). The corresponding LMDB operation is `MDB_GET_BOTH`.
    @inlinable
    public func seek(_ key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        try transaction.checkKey(key, database, "mdb_cursor_get")
        return try get(MDB_GET_BOTH, key: key, value: value)
    }

    /// Moves to `key`'s first value greater than or equal to `value` (`dupSort`).
    /// The corresponding LMDB operation is `MDB_GET_BOTH_RANGE`.
    @inlinable
    public func seek(_ key: UnsafeRawBufferPointer, atLeastValue value: UnsafeRawBufferPointer) throws(LMDBError) -> Entry? {
        try transaction.checkKey(key, database, "mdb_cursor_get")
        return try get(MDB_GET_BOTH_RANGE, key: key, value: value)
    }

    /// The number of values of the current key (`dupSort`). The corresponding LMDB function is `mdb_cursor_count`.
    public func duplicateCount() throws(LMDBError) -> Int {
        var n = 0
        try check(mdb_cursor_count(handle, &n), "mdb_cursor_count")
        return n
    }

    /// Stores `value` under `key` and moves the cursor there; see ``Transaction/put(_:key:value:flags:)``.
    /// The corresponding LMDB function is `mdb_cursor_put`.
    @inlinable @discardableResult
    public func put(key: UnsafeRawBufferPointer, value: UnsafeRawBufferPointer, flags: PutFlags = []) throws(LMDBError) -> Bool {
        try transaction.checkKey(key, database, "mdb_cursor_put")
        if database.flags.contains(.dupSort) { try transaction.checkDuplicate(value, database, "mdb_cursor_put") }
        var k = MDB_val(key)
        var v = MDB_val(value)
        let rc = mdb_cursor_put(handle, &k, &v, flags.rawValue)
        if rc == MDB_KEYEXIST && !flags.isDisjoint(with: [.noOverwrite, .noDuplicate])
            && flags.isDisjoint(with: [.append, .appendDuplicate]) {
            return false
        }
        try transaction.checkWrite(rc, "mdb_cursor_put", database)
        return true
    }

    /// Deletes the entry at the cursor, or with `allDuplicates` every value of its key.
    /// The corresponding LMDB function is `mdb_cursor_del`.
    @inlinable
    public func deleteCurrent(allDuplicates: Bool = false) throws(LMDBError) {
        try transaction.checkWrite(mdb_cursor_del(handle, allDuplicates ? UInt32(MDB_NODUPDATA) : 0),
                                   "mdb_cursor_del", database)
    }

    // MARK: Ranges

    /// The entries whose keys lie in `lower..<upper` (either bound may be `nil` for open), in key order,
    /// or in reverse order with `reverse`. Iterating moves this cursor.
    ///
    /// An LMDB error ends the iteration early and is thrown by ``Transaction/withCursor(_:_:)``.
    /// Cost: one descent to start, then amortised O(1) per entry.
    @inlinable
    public func entries(from lower: UnsafeRawBufferPointer? = nil, to upper: UnsafeRawBufferPointer? = nil,
                        reverse: Bool = false) -> Entries {
        Entries(cursor: self, lower: lower, upper: upper, reverse: reverse)
    }

    /// A range of entries as a `Sequence`; see ``Cursor/entries(from:to:reverse:)``.
    public struct Entries: Sequence, IteratorProtocol {
        @usableFromInline let cursor: Cursor
        @usableFromInline let lower: UnsafeRawBufferPointer?
        @usableFromInline let upper: UnsafeRawBufferPointer?
        @usableFromInline let reverse: Bool
        @usableFromInline var started = false
        @usableFromInline var done = false
        /// No bounds, forward: the common full scan, with nothing to check per entry.
        @usableFromInline let whole: Bool

        @inlinable
        init(cursor: Cursor, lower: UnsafeRawBufferPointer?, upper: UnsafeRawBufferPointer?, reverse: Bool) {
            self.cursor = cursor
            self.lower = lower
            self.upper = upper
            self.reverse = reverse
            self.whole = lower == nil && upper == nil && !reverse
        }

        @inlinable @inline(__always)
        public mutating func next() -> Entry? {
            if done { return nil }
            if whole && started {
                do throws(LMDBError) {
                    if let entry = try cursor.next() { return entry }
                } catch {
                    cursor.deferredError = error
                }
                done = true
                return nil
            }
            do throws(LMDBError) {
                let entry: Entry?
                if !started {
                    started = true
                    if reverse {
                        entry = try startReverse()
                    } else if let lower {
                        entry = try cursor.seek(atLeast: lower)
                    } else {
                        entry = try cursor.first()
                    }
                } else {
                    entry = try reverse ? cursor.previous() : cursor.next()
                }
                guard let entry else { done = true; return nil }
                let txn = cursor.transaction
                if reverse {
                    if let lower, txn.compare(cursor.database, entry.key, lower) < 0 { done = true; return nil }
                } else {
                    if let upper, txn.compare(cursor.database, entry.key, upper) >= 0 { done = true; return nil }
                }
                return entry
            } catch {
                cursor.deferredError = error
                done = true
                return nil
            }
        }

        @inlinable
        func startReverse() throws(LMDBError) -> Entry? {
            guard let upper else { return try cursor.last() }
            // The last key below `upper`: step back from the first key at or above it.
            if try cursor.seek(atLeast: upper) != nil { return try cursor.previous() }
            return try cursor.last()
        }
    }
}

@available(*, unavailable, message: "a cursor stays on the thread that runs its transaction's closure")
extension Cursor: Sendable {}
