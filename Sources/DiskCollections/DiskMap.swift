import Foundation
import LMDB

/// A sorted map from `Key` to `Value` stored in a ``Store``: `Dictionary`'s operations, in key order,
/// with range queries.
///
/// ```swift
/// let parent = try store.map("parent", key: UInt64.self, value: UInt32.self)
/// try parent.setValue(7, forKey: 42)
/// let p = try parent[42]                       // Optional(7)
/// try parent.forEach(in: 100..<200) { key, value in ... }   // forEachWhile to stop early
/// ```
///
/// Costs: lookups and updates are one B+tree descent, O(log n), with no heap allocation for
/// fixed-width types; `count` is O(1). Each call runs in its own transaction unless inside
/// ``Store/write(_:)`` or ``Store/read(_:)``. Every method throws ``LMDBError`` for storage failures,
/// ``DiskCollectionsError/keyTooLong(collection:length:maximum:)`` for keys over 511 bytes and
/// ``DiskCollectionsError/corrupt(collection:detail:)`` for bytes that do not decode.
///
/// Not `Sendable`: use it where its ``Store`` is used.
public struct DiskMap<Key: DiskKey, Value: DiskValue>: Sendable {
    /// The store holding the map.
    public let store: Store
    /// The collection's name.
    public let name: String
    @usableFromInline let database: Database

    init(store: Store, name: String, database: Database) {
        self.store = store
        self.name = name
        self.database = database
    }

    /// The value for `key`, or `nil`. O(log n).
    @inlinable
    public subscript(key: Key) -> Value? {
        get throws {
            try key.withDiskKeyBytes { k in
                try store.checkKey(k, name)
                var value: Value?
                try store.pointRead(database, k) { v in
                    if let v { value = try decoding(name, key: describeKey(key)) { try Value(diskValueBytes: v) } }
                }
                return value
            }
        }
    }

    /// Stores `value` under `key`, replacing any value. O(log n).
    @inlinable
    public func setValue(_ value: Value, forKey key: Key) throws {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            try value.withDiskValueBytes { v in try store.pointWrite(database, k, v) }
        }
    }

    /// Stores every key/value pair of `entries` in one transaction: a bulk load.
    ///
    /// While keys arrive in increasing order above the map's last key, each is appended at the last
    /// page without a search (`MDB_APPEND`), as fast as LMDB loads; any other key is an ordinary put.
    /// Later pairs win over earlier ones with the same key.
    @inlinable
    public func setValues<S: Sequence>(_ entries: S) throws where S.Element == (Key, Value) {
        try store.withWrite(database) { txn in
            try txn.withCursor(database) { cursor in
                // The largest key so far, in a fixed buffer, compared with memcmp: no allocation per entry.
                var last = [UInt8](repeating: 0, count: store.maximumKeySize)
                var lastCount = try cursor.last().map { e in
                    last.withUnsafeMutableBytes { $0.copyMemory(from: e.key) }
                    return e.key.count
                } ?? -1
                try last.withUnsafeMutableBytes { lastBytes in
                    for (key, value) in entries {
                        try key.withDiskKeyBytes { k in
                            try store.checkKey(k, name)
                            try value.withDiskValueBytes { v in
                                if lastCount < 0 || keyPrecedes(UnsafeRawBufferPointer(rebasing: lastBytes[..<lastCount]), k) {
                                    _ = try store.cursorPut(cursor, database, k, v, flags: .append)
                                    UnsafeMutableRawBufferPointer(rebasing: lastBytes[..<k.count]).copyMemory(from: k)
                                    lastCount = k.count
                                } else {
                                    _ = try store.cursorPut(cursor, database, k, v)
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// Stores `value` under `key` and returns the value it replaced, or `nil`. O(log n).
    @discardableResult
    public func updateValue(_ value: Value, forKey key: Key) throws -> Value? {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            var old: Value?
            try value.withDiskValueBytes { v in
                try store.pointReplace(database, k, with: v) { bytes in
                    if let bytes { old = try decoding(name, key: describeKey(key)) { try Value(diskValueBytes: bytes) } }
                }
            }
            return old
        }
    }

    /// Removes `key` and returns its value, or `nil` if it was absent. O(log n).
    @discardableResult
    public func removeValue(forKey key: Key) throws -> Value? {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            var old: Value?
            try store.pointReplace(database, k, with: nil) { bytes in
                if let bytes { old = try decoding(name, key: describeKey(key)) { try Value(diskValueBytes: bytes) } }
            }
            return old
        }
    }

    /// Whether `key` is present. O(log n).
    @inlinable
    public func contains(_ key: Key) throws -> Bool {
        try key.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            return try store.pointContains(database, k)
        }
    }

    /// The number of entries. O(1).
    public var count: Int { get throws { try store.withRead(database) { txn in try txn.count(database) } } }

    /// Whether the map is empty. O(1).
    public var isEmpty: Bool { get throws { try count == 0 } }

    /// The entry with the smallest key, or `nil`.
    public var first: (key: Key, value: Value)? { get throws { try entries(limit: 1).first } }

    /// The entry with the largest key, or `nil`.
    public var last: (key: Key, value: Value)? { get throws { try entries(reverse: true, limit: 1).first } }

    /// Removes every entry.
    public func removeAll() throws {
        try store.clear(database)
    }

    // MARK: Ordered iteration and ranges

    /// Calls `body` with each entry in `bounds` (all by default), in key order or reversed, in one
    /// read snapshot. Return `false` from `body` to stop. Cost: O(log n) to start, then O(1) per entry.
    @inlinable
    public func forEachWhile(in bounds: DiskKeyBounds = .all, reverse: Bool = false,
                             _ body: (Key, Value) throws -> Bool) throws {
        try withEntries(in: bounds, reverse: reverse) { entries in
            for (key, value) in entries where try !body(key, value) { break }
        }
    }

    /// Runs `body` with the entries in `bounds` (all by default) as a `Sequence`, in key order or
    /// reversed, in one read snapshot: the fastest way to iterate, since the loop is your own.
    ///
    /// ```swift
    /// try map.withEntries { entries in
    ///     for (key, value) in entries { ... }
    /// }
    /// ```
    /// The sequence must not escape `body`. Cost: O(log n) to start, then O(1) per entry.
    @inlinable
    public func withEntries<R>(in bounds: DiskKeyBounds = .all, reverse: Bool = false,
                               _ body: (DiskMapEntries<Key, Value>) throws -> R) throws -> R {
        try store.withEntries(database, bounds, reverse: reverse, collection: name) { entries, failure in
            try body(DiskMapEntries(entries, failure))
        }
    }

    /// The entries in `bounds` (all by default), in key order or reversed, as an `AsyncSequence` read
    /// in batches of `batchSize` on the store's reader threads, from one snapshot held only while it
    /// is iterated (``DiskScanSequence``):
    ///
    /// ```swift
    /// for try await (key, value) in map.stream(in: 100..<200) { ... }
    /// ```
    public func stream(in bounds: DiskKeyBounds = .all, reverse: Bool = false,
                       batchSize: Int = 512) -> DiskScanSequence<(key: Key, value: Value)> {
        let name = self.name
        return DiskScanSequence(store: store, database: database, bounds: bounds, reverse: reverse, batchSize: batchSize) { k, v in
            let key = try decoding(name) { try Key(diskKeyBytes: k) }
            return (key, try decoding(name, key: describeKey(key)) { try Value(diskValueBytes: v) })
        }
    }

    /// The entries whose key lies in `range` as an `AsyncSequence`; see the `DiskKeyBounds` form.
    public func stream(in range: some DiskKeyRange<Key>, reverse: Bool = false,
                       batchSize: Int = 512) -> DiskScanSequence<(key: Key, value: Value)> {
        stream(in: range.diskKeyBounds, reverse: reverse, batchSize: batchSize)
    }

    /// Runs `body` with the values of the entries in `bounds` (all by default), in key order or
    /// reversed, as a `Sequence`, without decoding the keys: `try map.withValues { $0.reduce(0, +) }`.
    /// The sequence must not escape `body`. Cost: O(log n) to start, then O(1) per value.
    @inlinable
    public func withValues<R>(in bounds: DiskKeyBounds = .all, reverse: Bool = false,
                              _ body: (DiskMapValues<Value>) throws -> R) throws -> R {
        try store.withEntries(database, bounds, reverse: reverse, collection: name) { entries, failure in
            try body(DiskMapValues(entries, failure))
        }
    }

    /// Runs `body` with the entries whose key lies in `range` as a `Sequence`; see the `DiskKeyBounds` form.
    @inlinable
    public func withEntries<R>(in range: some DiskKeyRange<Key>, reverse: Bool = false,
                               _ body: (DiskMapEntries<Key, Value>) throws -> R) throws -> R {
        try withEntries(in: range.diskKeyBounds, reverse: reverse, body)
    }

    /// Calls `body` with each entry whose key lies in `range` (`a..<b`, `a...b`, `a...`, `..<b`, `...b`).
    @inlinable
    public func forEachWhile(in range: some DiskKeyRange<Key>, reverse: Bool = false, _ body: (Key, Value) throws -> Bool) throws {
        try forEachWhile(in: range.diskKeyBounds, reverse: reverse, body)
    }

    /// Calls `body` with each entry in `bounds` (all by default), in key order or reversed, in one
    /// read snapshot, like `Sequence.forEach`; `forEachWhile` stops early.
    @inlinable
    public func forEach(in bounds: DiskKeyBounds = .all, reverse: Bool = false, _ body: (Key, Value) throws -> Void) throws {
        try forEachWhile(in: bounds, reverse: reverse) { try body($0, $1); return true }
    }

    /// Calls `body` with each entry whose key lies in `range`, like `Sequence.forEach`.
    @inlinable
    public func forEach(in range: some DiskKeyRange<Key>, reverse: Bool = false, _ body: (Key, Value) throws -> Void) throws {
        try forEachWhile(in: range.diskKeyBounds, reverse: reverse) { try body($0, $1); return true }
    }

    @available(*, deprecated, renamed: "forEachWhile(in:reverse:_:)", message: "forEach's closure returns nothing now; forEachWhile stops when the closure returns false")
    @inlinable
    public func forEach(in bounds: DiskKeyBounds = .all, reverse: Bool = false, _ body: (Key, Value) throws -> Bool) throws {
        try forEachWhile(in: bounds, reverse: reverse, body)
    }

    /// The entries in `bounds`, in order, at most `limit`.
    public func entries(in bounds: DiskKeyBounds = .all, reverse: Bool = false, limit: Int = .max) throws -> [(key: Key, value: Value)] {
        var out: [(key: Key, value: Value)] = []
        guard limit > 0 else { return out }
        try forEachWhile(in: bounds, reverse: reverse) { k, v in
            out.append((k, v))
            return out.count < limit
        }
        return out
    }

    /// The entries whose key lies in `range`, in order, at most `limit`.
    public func entries(in range: some DiskKeyRange<Key>, reverse: Bool = false, limit: Int = .max) throws -> [(key: Key, value: Value)] {
        try entries(in: range.diskKeyBounds, reverse: reverse, limit: limit)
    }

    /// The keys in `bounds`, in order.
    public func keys(in bounds: DiskKeyBounds = .all, reverse: Bool = false) throws -> [Key] {
        var out: [Key] = []
        try store.scan(database, bounds, reverse: reverse) { k, _ in
            out.append(try decoding(name) { try Key(diskKeyBytes: k) })
            return true
        }
        return out
    }

    /// The keys in `range`, in order.
    public func keys(in range: some DiskKeyRange<Key>, reverse: Bool = false) throws -> [Key] {
        try keys(in: range.diskKeyBounds, reverse: reverse)
    }
}

extension DiskMap where Key == String {
    /// The entries whose key starts with `prefix`, in order.
    public func entries(withPrefix prefix: String, reverse: Bool = false) throws -> [(key: Key, value: Value)] {
        try entries(in: prefix.isEmpty ? .all : .encodedPrefix(prefix.diskKeyBytes), reverse: reverse)
    }
}

extension DiskMap where Key == [UInt8] {
    /// The entries whose key starts with `prefix`, in order.
    public func entries(withPrefix prefix: [UInt8], reverse: Bool = false) throws -> [(key: Key, value: Value)] {
        try entries(in: prefix.isEmpty ? .all : .encodedPrefix(prefix.diskKeyBytes), reverse: reverse)
    }
}
