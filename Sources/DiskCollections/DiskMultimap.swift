import LMDB

/// A map from each `Key` to a sorted set of `Value`s, stored in a ``Store`` (LMDB's `dupSort`; fixed-width
/// values are stored packed with `dupFixed`).
///
/// ```swift
/// let postings = try store.multimap("postings", key: String.self, value: UInt32.self)
/// try postings.insert(7, forKey: "swift")
/// let docs = try postings.values(forKey: "swift")     // [7], sorted
/// ```
///
/// Values are ordered by their key encoding, so `Value` is a ``DiskKey`` (and, like a key, at most
/// 511 bytes encoded). Costs: `insert`, `remove`, `contains` are O(log n); `values(forKey:)` is
/// O(log n + values); `count(forKey:)` is O(log n).
public struct DiskMultimap<Key: DiskKey, Value: DiskKey>: Sendable {
    /// The store holding the multimap.
    public let store: Store
    /// The collection's name.
    public let name: String
    @usableFromInline let database: Database

    init(store: Store, name: String, database: Database) {
        self.store = store
        self.name = name
        self.database = database
    }

    @inlinable
    func withPair<R>(_ key: Key, _ value: Value, _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> R) throws -> R {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            return try value.withDiskKeyBytes { v in
                try store.checkKey(v, name)
                return try body(k, v)
            }
        }
    }

    /// Adds `value` to `key`'s values; returns `false` if it was already there. O(log n).
    @discardableResult
    public func insert(_ value: Value, forKey key: Key) throws -> Bool {
        try withPair(key, value) { k, v in
            try store.withWrite(database) { txn in try txn.put(database, key: k, value: v, flags: .noDuplicate) }
        }
    }

    /// Adds every value of `values` to `key`, in one transaction; returns how many were new.
    @discardableResult
    public func insert<S: Sequence>(contentsOf values: S, forKey key: Key) throws -> Int where S.Element == Value {
        try store.write {
            var added = 0
            for value in values where try insert(value, forKey: key) { added += 1 }
            return added
        }
    }

    /// Removes `value` from `key`'s values; returns whether it was there. O(log n).
    @discardableResult
    public func remove(_ value: Value, forKey key: Key) throws -> Bool {
        try withPair(key, value) { k, v in
            try store.withWrite(database) { txn in try txn.delete(database, key: k, value: v) }
        }
    }

    /// Removes `key` and all its values; returns whether it had any.
    @discardableResult
    public func removeAll(forKey key: Key) throws -> Bool {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            return try store.withWrite(database) { txn in try txn.delete(database, key: k) }
        }
    }

    /// Whether `key` has `value`. O(log n).
    public func contains(_ value: Value, forKey key: Key) throws -> Bool {
        try withPair(key, value) { k, v in
            try store.withRead(database) { txn in try txn.withCursor(database) { c in try c.seek(k, value: v) != nil } }
        }
    }

    /// `key`'s values, sorted. O(log n + values).
    public func values(forKey key: Key) throws -> [Value] {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            return try store.withRead(database) { txn in
                try txn.withCursor(database) { cursor in
                    var out: [Value] = []
                    var entry = try cursor.seek(k)
                    while let (_, v) = entry {
                        out.append(try decoding(name) { try Value(diskKeyBytes: v) })
                        entry = try cursor.nextDuplicate()
                    }
                    return out
                }
            }
        }
    }

    /// The number of values of `key`. O(log n).
    public func count(forKey key: Key) throws -> Int {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            return try store.withRead(database) { txn in
                try txn.withCursor(database) { c in try c.seek(k) == nil ? 0 : c.duplicateCount() }
            }
        }
    }

    /// The number of key/value pairs. O(1).
    public var count: Int { get throws { try store.withRead(database) { txn in try txn.count(database) } } }

    /// Whether there are no pairs. O(1).
    public var isEmpty: Bool { get throws { try count == 0 } }

    /// Removes every pair.
    public func removeAll() throws { try store.withWrite(database) { txn in try txn.clear(database) } }

    /// Calls `body` with each key/value pair in key order, then value order, until it returns `false`.
    public func forEachWhile(in bounds: DiskKeyBounds = .all, _ body: (Key, Value) throws -> Bool) throws {
        try store.scan(database, bounds, reverse: false) { k, v in
            try decoding(name) { try body(try Key(diskKeyBytes: k), try Value(diskKeyBytes: v)) }
        }
    }

    /// Calls `body` with each item, in order, in one read snapshot, like `Sequence.forEach`;
    /// ``forEachWhile(in:_:)`` stops early.
    public func forEach(in bounds: DiskKeyBounds = .all, _ body: (Key, Value) throws -> Void) throws {
        try forEachWhile(in: bounds) { try body($0, $1); return true }
    }

    @available(*, deprecated, renamed: "forEachWhile(in:_:)", message: "forEach's closure returns nothing now; forEachWhile stops when the closure returns false")
    public func forEach(in bounds: DiskKeyBounds = .all, _ body: (Key, Value) throws -> Bool) throws {
        try forEachWhile(in: bounds, body)
    }

    /// The distinct keys in order.
    public func keys() throws -> [Key] {
        try store.withRead(database) { txn in
            try txn.withCursor(database) { cursor in
                var out: [Key] = []
                var entry = try cursor.first()
                while let (k, _) = entry {
                    out.append(try decoding(name) { try Key(diskKeyBytes: k) })
                    entry = try cursor.nextKey()
                }
                return out
            }
        }
    }
}
