import LMDB

/// A first-in, first-out queue of `Element`s stored in a ``Store``, in order across close and reopen.
///
/// ```swift
/// let frontier = try store.queue("frontier", of: UInt64.self)
/// try frontier.append(contentsOf: [1, 2, 3])
/// while let state = try frontier.popFirst() { ... }
/// ```
///
/// Stored as sequence numbers (`UInt64`, big-endian) to values: `append` adds after the last number,
/// `popFirst` takes the first. No separate head or tail record exists, so a crash can never leave them
/// out of step with the items. Costs: O(log n) per item; bulk forms share one transaction.
public struct DiskQueue<Element: DiskValue> {
    /// The store holding the queue.
    public let store: Store
    /// The collection's name.
    public let name: String
    @usableFromInline let database: Database

    init(store: Store, name: String, database: Database) {
        self.store = store
        self.name = name
        self.database = database
    }

    /// The number of items. O(1).
    public var count: Int { get throws { try store.withRead(database) { txn in try txn.count(database) } } }

    /// Whether the queue is empty. O(1).
    public var isEmpty: Bool { get throws { try count == 0 } }

    /// Adds `element` at the back.
    public func append(_ element: Element) throws { try append(contentsOf: CollectionOfOne(element)) }

    /// Adds every element of `elements` at the back, in order, in one transaction.
    public func append<S: Sequence>(contentsOf elements: S) throws where S.Element == Element {
        try store.withWrite(database) { txn in
            try txn.withCursor(database) { cursor in
                var next: UInt64 = try cursor.last().map { try UInt64(diskKeyBytes: $0.key) + 1 } ?? 0
                for element in elements {
                    try withUnsafeBytes(of: next.bigEndian) { k in
                        try element.withDiskValueBytes { v in _ = try cursor.put(key: k, value: v, flags: .append) }
                    }
                    next += 1
                }
            }
        }
    }

    /// The item at the front, or `nil`, without removing it.
    public var first: Element? {
        get throws {
            try store.withRead(database) { txn in
                try txn.withCursor(database) { cursor in
                    try cursor.first().map { e in try decoding(name) { try Element(diskValueBytes: e.value) } }
                }
            }
        }
    }

    /// Removes and returns the item at the front, or `nil` if the queue is empty.
    public func popFirst() throws -> Element? { try popFirst(1).first }

    /// Removes and returns up to `maximum` items from the front, oldest first, in one transaction.
    public func popFirst(_ maximum: Int) throws -> [Element] {
        try store.withWrite(database) { txn in
            try txn.withCursor(database) { cursor in
                var out: [Element] = []
                out.reserveCapacity(Swift.min(maximum, 4096))
                var entry = try cursor.first()
                while out.count < maximum, let (_, v) = entry {
                    out.append(try decoding(name) { try Element(diskValueBytes: v) })
                    try cursor.deleteCurrent()
                    entry = try cursor.first()  // the new front; its pages are hot, so the descent is cheap
                }
                return out
            }
        }
    }

    /// Removes every item.
    public func removeAll() throws { try store.withWrite(database) { txn in try txn.clear(database) } }

    /// The items in order, front first, without removing them.
    public func elements() throws -> [Element] {
        var out: [Element] = []
        try store.scan(database, .all, reverse: false) { _, v in
            out.append(try decoding(name) { try Element(diskValueBytes: v) })
            return true
        }
        return out
    }
}
