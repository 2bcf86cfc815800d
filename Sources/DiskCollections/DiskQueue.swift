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
///
/// **Buffering.** Outside ``Store/write(_:)`` and ``Store/read(_:)`` (with the store's cache on),
/// `append` and `popFirst` are buffered like the maps' point writes: appends wait in memory (their
/// sequence numbers assigned there) and `popFirst` serves a batch of items read ahead, recording the
/// deletions; both are committed in one transaction when the queue's buffer passes 1 MiB, when the
/// store's write buffer flushes, before any transaction, scan or other use of the queue, and at
/// ``Store/flush()``, ``Store/checkpoint()`` and ``Store/close()``. `count` and `isEmpty` are answered
/// from the buffer. A process crash loses what was buffered since the last flush, as for maps.
public struct DiskQueue<Element: DiskValue>: Sendable {
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
    public var count: Int {
        get throws {
            try store.queueCount(database)
        }
    }

    /// Whether the queue is empty. O(1).
    public var isEmpty: Bool { get throws { try count == 0 } }

    /// Adds `element` at the back.
    public func append(_ element: Element) throws {
        try store.queueAppend(database) { push in try element.withDiskValueBytes { try push($0) } }
    }

    /// Adds every element of `elements` at the back, in order, in one transaction.
    public func append<S: Sequence>(contentsOf elements: S) throws where S.Element == Element {
        try store.queueAppend(database) { push in
            for element in elements { try element.withDiskValueBytes { try push($0) } }
        }
    }

    /// The item at the front, or `nil`, without removing it. Outside a transaction it is answered
    /// from the queue's buffer (reading a batch ahead if needed), without committing anything.
    public var first: Element? {
        get throws {
            try store.queueFirst(database) { bytes in try decoding(name) { try Element(diskValueBytes: bytes) } }
        }
    }

    /// Removes and returns the item at the front, or `nil` if the queue is empty.
    public func popFirst() throws -> Element? { try popFirst(1).first }

    /// Removes and returns up to `maximum` items from the front, oldest first, in one transaction.
    public func popFirst(_ maximum: Int) throws -> [Element] {
        var out: [Element] = []
        try store.queuePop(database, maximum: maximum) { v in out.append(try decoding(name) { try Element(diskValueBytes: v) }) }
        return out
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
