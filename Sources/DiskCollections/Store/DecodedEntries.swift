import LMDB

/// Where a scoped sequence leaves a decoding error, to be thrown when its closure returns.
@usableFromInline
final class DecodeFailure {
    @usableFromInline var error: (any Error)?
    /// The key of the entry that failed, for the message.
    @usableFromInline var key: String?
    @usableFromInline init() {}

    /// Runs the failed decode again, out of the hot loop, to keep its error and its key.
    @usableFromInline @inline(never)
    func record(key: @autoclosure () -> String?, _ decode: () throws -> Void) {
        do { try decode() } catch { self.error = error; self.key = key() }
    }
}

/// The entries of a ``DiskMap`` in key order (or reversed), decoded, as a `Sequence`.
///
/// It exists only inside ``DiskMap/withEntries(in:reverse:_:)``: one read snapshot, one cursor, no
/// copy of the map. A value that fails to decode ends the iteration, and the error is thrown when the
/// closure returns.
public struct DiskMapEntries<Key: DiskKey, Value: DiskValue>: Sequence, IteratorProtocol {
    @usableFromInline var entries: Cursor.Entries
    @usableFromInline let failure: DecodeFailure

    @inlinable
    init(_ entries: Cursor.Entries, _ failure: DecodeFailure) {
        self.entries = entries
        self.failure = failure
    }

    @inlinable @inline(__always)
    public mutating func next() -> (key: Key, value: Value)? {
        guard let (k, v) = entries.next() else { return nil }
        if let key = try? Key(diskKeyBytes: k), let value = try? Value(diskValueBytes: v) { return (key, value) }
        failure.record(key: describeKey(k, as: Key.self)) { _ = try Key(diskKeyBytes: k); _ = try Value(diskValueBytes: v) }
        return nil
    }
}

/// The values of a ``DiskMap`` in key order (or reversed), decoded, as a `Sequence`: like
/// ``DiskMapEntries`` without decoding the keys. It exists only inside ``DiskMap/withValues(in:reverse:_:)``.
public struct DiskMapValues<Value: DiskValue>: Sequence, IteratorProtocol {
    @usableFromInline var entries: Cursor.Entries
    @usableFromInline let failure: DecodeFailure

    @inlinable
    init(_ entries: Cursor.Entries, _ failure: DecodeFailure) {
        self.entries = entries
        self.failure = failure
    }

    @inlinable @inline(__always)
    public mutating func next() -> Value? {
        guard let (k, v) = entries.next() else { return nil }
        if let value = try? Value(diskValueBytes: v) { return value }
        failure.record(key: describeKey(k, as: [UInt8].self)) { _ = try Value(diskValueBytes: v) }
        return nil
    }
}

/// The elements of a ``DiskSet`` in order (or reversed), decoded, as a `Sequence`; see ``DiskMapEntries``.
public struct DiskSetElements<Element: DiskKey>: Sequence, IteratorProtocol {
    @usableFromInline var entries: Cursor.Entries
    @usableFromInline let failure: DecodeFailure

    @inlinable
    init(_ entries: Cursor.Entries, _ failure: DecodeFailure) {
        self.entries = entries
        self.failure = failure
    }

    @inlinable @inline(__always)
    public mutating func next() -> Element? {
        guard let (k, _) = entries.next() else { return nil }
        if let element = try? Element(diskKeyBytes: k) { return element }
        failure.record(key: describeKey(k, as: [UInt8].self)) { _ = try Element(diskKeyBytes: k) }
        return nil
    }
}

extension Store {
    /// Opens a cursor on `database` within `bounds` for the length of `body`, in one read snapshot,
    /// and throws a decoding failure recorded by the sequence when `body` returns.
    @inlinable
    func withEntries<R>(_ database: Database, _ bounds: DiskKeyBounds, reverse: Bool, collection: String,
                        _ body: (Cursor.Entries, DecodeFailure) throws -> R) throws -> R {
        let failure = DecodeFailure()
        let result = try withRawEntries(database, bounds, reverse: reverse) { try body($0, failure) }
        if let error = failure.error {
            try decoding(collection, key: failure.key) { () throws -> Void in throw error }  // names the collection and key
        }
        return result
    }
}
