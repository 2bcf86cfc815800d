import LMDB

/// A sorted set of `Element`s stored in a ``Store``: `Set`'s operations, in order, plus the batch
/// insert a search's visited set needs.
///
/// ```swift
/// let visited = try store.set("visited", of: UInt64.self)
/// try visited.insert(42)                         // true: it was new
/// let fresh = try visited.insert(contentsOf: nextLevel)   // only the states not seen before
/// ```
///
/// Elements are keys with empty values. Costs: `insert`, `contains`, `remove` are O(log n); `count`
/// is O(1). Errors as ``DiskMap``. Not `Sendable`.
public struct DiskSet<Element: DiskKey>: Sendable {
    /// The store holding the set.
    public let store: Store
    /// The collection's name.
    public let name: String
    @usableFromInline let database: Database

    init(store: Store, name: String, database: Database) {
        self.store = store
        self.name = name
        self.database = database
    }

    /// Inserts `element`; returns `true` if it was not already present. O(log n).
    @inlinable @discardableResult
    public func insert(_ element: Element) throws -> Bool {
        try element.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            return try store.pointInsert(database, k, UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    /// Whether `element` is present. O(log n).
    @inlinable
    public func contains(_ element: Element) throws -> Bool {
        try element.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            return try store.pointContains(database, k)
        }
    }

    /// Removes `element`; returns whether it was present. O(log n).
    @discardableResult
    public func remove(_ element: Element) throws -> Bool {
        try element.withDiskKeyBytes { k in
            try store.checkKey(k, name)
            var present = false
            try store.pointReplace(database, k, with: nil) { present = $0 != nil }
            return present
        }
    }

    /// Inserts every element of `elements` in one transaction and returns those that were new, in
    /// sorted order, each once.
    ///
    /// The elements are encoded, sorted and deduplicated first, then inserted in one ordered pass with
    /// a cursor, so the B+tree is walked left to right: the primitive a breadth-first search needs to
    /// turn a level's successors into the next frontier. Cost: O(m log m) to sort plus one put per
    /// element, on pages that stay hot.
    @discardableResult
    public func insert<S: Sequence>(contentsOf elements: S) throws -> [Element] where S.Element == Element {
        var fresh: [Element] = []
        try insert(contentsOf: elements) { fresh.append($0) }
        return fresh
    }

    /// Inserts every element of `elements` in one transaction, calling `isNew` with each that was not
    /// present before, in sorted order, each once. See ``insert(contentsOf:)``.
    public func insert<S: Sequence>(contentsOf elements: S, isNew: (Element) throws -> Void) throws where S.Element == Element {
        var encoded = try elements.map { e in
            try e.withDiskKeyBytes { k in
                try store.checkKey(k, name)
                return (Array(k), e)
            }
        }
        encoded.sort { $0.0.lexicographicallyPrecedes($1.0) }
        try store.withWrite(database) { txn in
            try txn.withCursor(database) { cursor in
                var previous: [UInt8]? = nil
                for (key, element) in encoded where key != previous {
                    previous = key
                    let added = try key.withUnsafeBytes { k in
                        try store.cursorPut(cursor, database, k, UnsafeRawBufferPointer(start: nil, count: 0), flags: .noOverwrite)
                    }
                    if added { try isNew(element) }
                }
            }
        }
    }

    /// The number of elements. O(1). Outside a transaction, a set whose presence table holds all its
    /// keys answers from the table, without committing its buffered inserts.
    public var count: Int { get throws { try store.setCount(database) } }

    /// Whether the set is empty. O(1).
    public var isEmpty: Bool { get throws { try count == 0 } }

    /// Removes every element.
    public func removeAll() throws {
        try store.clear(database)
    }

    /// The smallest element, or `nil`.
    public var min: Element? { get throws { try elements(limit: 1).first } }

    /// The largest element, or `nil`.
    public var max: Element? { get throws { try elements(reverse: true, limit: 1).first } }

    /// Calls `body` with each element in `bounds` (all by default), in order or reversed, in one read
    /// snapshot, until `body` returns `false`.
    @inlinable
    public func forEachWhile(in bounds: DiskKeyBounds = .all, reverse: Bool = false, _ body: (Element) throws -> Bool) throws {
        try withElements(in: bounds, reverse: reverse) { elements in
            for element in elements where try !body(element) { break }
        }
    }

    /// The elements in `bounds` (all by default), in order or reversed, as an `AsyncSequence` read in
    /// batches on the store's reader threads, from one snapshot held only while it is iterated
    /// (``DiskScanSequence``): `for try await element in set.stream() { ... }`.
    public func stream(in bounds: DiskKeyBounds = .all, reverse: Bool = false,
                       batchSize: Int = 512) -> DiskScanSequence<Element> {
        let name = self.name
        return DiskScanSequence(store: store, database: database, bounds: bounds, reverse: reverse, batchSize: batchSize) { k, _ in
            try decoding(name) { try Element(diskKeyBytes: k) }
        }
    }

    /// The elements in `range` as an `AsyncSequence`; see the `DiskKeyBounds` form.
    public func stream(in range: some DiskKeyRange<Element>, reverse: Bool = false,
                       batchSize: Int = 512) -> DiskScanSequence<Element> {
        stream(in: range.diskKeyBounds, reverse: reverse, batchSize: batchSize)
    }

    /// Runs `body` with the elements in `bounds` (all by default) as a `Sequence`, in order or
    /// reversed, in one read snapshot: `try set.withElements { for e in $0 { ... } }`. The sequence must
    /// not escape `body`. Cost: O(log n) to start, then O(1) per element.
    @inlinable
    public func withElements<R>(in bounds: DiskKeyBounds = .all, reverse: Bool = false,
                                _ body: (DiskSetElements<Element>) throws -> R) throws -> R {
        try store.withEntries(database, bounds, reverse: reverse, collection: name) { entries, failure in
            try body(DiskSetElements(entries, failure))
        }
    }

    /// Calls `body` with each element in `range`, in order or reversed.
    @inlinable
    public func forEachWhile(in range: some DiskKeyRange<Element>, reverse: Bool = false, _ body: (Element) throws -> Bool) throws {
        try forEachWhile(in: range.diskKeyBounds, reverse: reverse, body)
    }

    /// Calls `body` with each element in `bounds` (all by default), in order or reversed, in one read
    /// snapshot, like `Sequence.forEach`.
    @inlinable
    public func forEach(in bounds: DiskKeyBounds = .all, reverse: Bool = false, _ body: (Element) throws -> Void) throws {
        try forEachWhile(in: bounds, reverse: reverse) { try body($0); return true }
    }

    /// Calls `body` with each element in `range`, like `Sequence.forEach`.
    @inlinable
    public func forEach(in range: some DiskKeyRange<Element>, reverse: Bool = false, _ body: (Element) throws -> Void) throws {
        try forEachWhile(in: range.diskKeyBounds, reverse: reverse) { try body($0); return true }
    }

    @available(*, deprecated, renamed: "forEachWhile(in:reverse:_:)", message: "forEach's closure returns nothing now; forEachWhile stops when the closure returns false")
    @inlinable
    public func forEach(in bounds: DiskKeyBounds = .all, reverse: Bool = false, _ body: (Element) throws -> Bool) throws {
        try forEachWhile(in: bounds, reverse: reverse, body)
    }

    /// The elements in `bounds`, in order, at most `limit`.
    public func elements(in bounds: DiskKeyBounds = .all, reverse: Bool = false, limit: Int = .max) throws -> [Element] {
        var out: [Element] = []
        guard limit > 0 else { return out }
        try forEachWhile(in: bounds, reverse: reverse) { out.append($0); return out.count < limit }
        return out
    }

    /// The elements in `range`, in order.
    public func elements(in range: some DiskKeyRange<Element>, reverse: Bool = false, limit: Int = .max) throws -> [Element] {
        try elements(in: range.diskKeyBounds, reverse: reverse, limit: limit)
    }
}
