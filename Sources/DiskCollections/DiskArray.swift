import LMDB

/// An array of `Element`s stored in a ``Store``: indices `0..<count`, appended at the end.
///
/// ```swift
/// let costs = try store.array("costs", of: Double.self)
/// try costs.append(contentsOf: [1.5, 2.5])     // one transaction, appended without searching
/// let c = try costs[1]                          // 2.5
/// try costs.set(3.0, at: 1)
/// ```
///
/// Stored as keys 0, 1, 2, … (`UInt64`, big-endian) to values. Costs: `append` and `popLast` are
/// O(log n) with no search beyond the last page; subscripts are O(log n); `count` is O(1).
/// An index outside `0..<count` throws ``DiskCollectionsError/indexOutOfRange(collection:index:count:)``
/// instead of trapping, since a disk array can be changed by another process between calls.
///
/// `DiskArray` is not a `RandomAccessCollection`: every access can fail with an I/O error, and
/// `Collection`'s requirements cannot throw. ``elements(in:)`` copies a range out as an `Array`.
public struct DiskArray<Element: DiskValue>: Sendable {
    /// The store holding the array.
    public let store: Store
    /// The collection's name.
    public let name: String
    @usableFromInline let database: Database

    init(store: Store, name: String, database: Database) {
        self.store = store
        self.name = name
        self.database = database
    }

    /// The number of elements. O(1).
    public var count: Int { get throws { try store.withRead(database) { txn in try txn.count(database) } } }

    /// Whether the array is empty. O(1).
    public var isEmpty: Bool { get throws { try count == 0 } }

    /// The element at `index`. O(log n).
    /// - Throws: ``DiskCollectionsError/indexOutOfRange(collection:index:count:)``.
    public subscript(index: Int) -> Element {
        get throws {
            try store.withRead(database) { txn in
                guard index >= 0, let e = try withUnsafeBytes(of: UInt64(index).bigEndian, { k in
                    try txn.get(database, key: k) { v in try decoding(name, key: "\(index)") { try Element(diskValueBytes: v) } }
                }) else {
                    throw DiskCollectionsError.indexOutOfRange(collection: name, index: index, count: try txn.count(database))
                }
                return e
            }
        }
    }

    /// Replaces the element at `index`. O(log n).
    /// - Throws: ``DiskCollectionsError/indexOutOfRange(collection:index:count:)``.
    public func set(_ element: Element, at index: Int) throws {
        try store.withWrite(database) { txn in
            let n = try txn.count(database)
            guard index >= 0 && index < n else {
                throw DiskCollectionsError.indexOutOfRange(collection: name, index: index, count: n)
            }
            try withUnsafeBytes(of: UInt64(index).bigEndian) { k in
                try element.withDiskValueBytes { v in _ = try txn.put(database, key: k, value: v) }
            }
        }
    }

    /// Appends `element`. O(1) amortised: LMDB appends at the last page without a search.
    public func append(_ element: Element) throws {
        try append(contentsOf: CollectionOfOne(element))
    }

    /// Appends every element of `elements` in one transaction (`MDB_APPEND`): a bulk load.
    public func append<S: Sequence>(contentsOf elements: S) throws where S.Element == Element {
        try store.withWrite(database) { txn in
            var index = UInt64(try txn.count(database))
            for element in elements {
                try withUnsafeBytes(of: index.bigEndian) { k in
                    try element.withDiskValueBytes { v in _ = try txn.put(database, key: k, value: v, flags: .append) }
                }
                index += 1
            }
        }
    }

    /// Removes and returns the last element, or `nil` if the array is empty, like `Array.popLast()`.
    /// O(log n).
    @discardableResult
    public func popLast() throws -> Element? {
        try store.withWrite(database) { txn in
            let n = try txn.count(database)
            guard n > 0 else { return nil }
            return try withUnsafeBytes(of: UInt64(n - 1).bigEndian) { k in
                let e = try txn.get(database, key: k) { v in try decoding(name, key: "\(n - 1)") { try Element(diskValueBytes: v) } }
                try txn.delete(database, key: k)
                return e
            }
        }
    }

    /// The old name of ``popLast()``: `Array.removeLast()` traps on an empty array and returns a
    /// non-optional element, which this never did.
    @available(*, deprecated, renamed: "popLast()")
    @discardableResult
    public func removeLast() throws -> Element? { try popLast() }

    /// Removes every element.
    public func removeAll() throws { try store.withWrite(database) { txn in try txn.clear(database) } }

    /// The first element, or `nil`.
    public var first: Element? { get throws { try count > 0 ? self[0] : nil } }

    /// The last element, or `nil`.
    public var last: Element? {
        get throws {
            try store.read { let n = try count; return n > 0 ? try self[n - 1] : nil }
        }
    }

    /// Calls `body` with each index and element in `range` (all by default), in order, in one read
    /// snapshot, until `body` returns `false`. O(1) per element.
    public func forEachWhile(in range: Range<Int>? = nil, _ body: (Int, Element) throws -> Bool) throws {
        let bounds = range.map { DiskKeyBounds(lowerBytes: UInt64(Swift.max($0.lowerBound, 0)).diskKeyBytes,
                                               upperBytes: UInt64(Swift.max($0.upperBound, 0)).diskKeyBytes) } ?? .all
        try store.scan(database, bounds, reverse: false) { k, v in
            try decoding(name, key: describeKey(k, as: UInt64.self)) { try body(Int(try UInt64(diskKeyBytes: k)), try Element(diskValueBytes: v)) }
        }
    }

    /// Calls `body` with each item, in order, in one read snapshot, like `Sequence.forEach`;
    /// ``forEachWhile(in:_:)`` stops early.
    public func forEach(in range: Range<Int>? = nil, _ body: (Int, Element) throws -> Void) throws {
        try forEachWhile(in: range) { try body($0, $1); return true }
    }

    @available(*, deprecated, renamed: "forEachWhile(in:_:)", message: "forEach's closure returns nothing now; forEachWhile stops when the closure returns false")
    public func forEach(in range: Range<Int>? = nil, _ body: (Int, Element) throws -> Bool) throws {
        try forEachWhile(in: range, body)
    }

    /// The elements in `range` (all by default) copied into an `Array`.
    public func elements(in range: Range<Int>? = nil) throws -> [Element] {
        var out: [Element] = []
        try forEachWhile(in: range) { _, e in out.append(e); return true }
        return out
    }
}
