/// An error of a disk collection or store: what went wrong, in which collection, and what to do.
///
/// Failures of LMDB itself (a full disk, permissions, a corrupt file) are ``LMDBError``s.
public enum DiskCollectionsError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The collection exists with another kind or other types than asked.
    case typeMismatch(collection: String, stored: String, requested: String)
    /// An encoded key is longer than LMDB allows (511 bytes).
    case keyTooLong(collection: String, length: Int, maximum: Int)
    /// An index outside `0..<count` of a ``DiskArray``.
    case indexOutOfRange(collection: String, index: Int, count: Int)
    /// Stored bytes do not decode as the collection's type.
    case corrupt(collection: String, detail: String)
    /// A collection name that cannot be used.
    case invalidName(String, reason: String)
    /// The store was created by a newer version of DiskCollections.
    case unsupportedFormat(collection: String, version: Int, supported: Int)
    /// A ``BreadthFirstSearch`` cannot run as asked: a state type wider than 8 bytes, an option out of
    /// range, or a resume with other start states or options than the stored search's.
    case invalidSearch(search: String, reason: String)
    /// A change (a write, or creating a collection) inside ``Store/read(_:)``: a read transaction
    /// cannot hold it, and committing it apart would hide it from the enclosing read.
    case writeInsideRead
    /// A change to a store opened with `readOnly: true`.
    case readOnlyStore(path: String)
    /// An option of ``Store/init(at:durability:readOnly:maximumCollections:cacheBudget:)`` out of range.
    case invalidOption(store: String, detail: String)
    /// The collection was removed (``Store/removeCollection(_:)``) after this handle was opened.
    case collectionRemoved(collection: String)
    /// A point operation outside ``Store/read(_:)``/``Store/write(_:)`` but inside a scan's closure
    /// (`forEach`, `withEntries`) waited for the store while another thread had to grow the map, which
    /// waits for every open transaction of the process, the scan's included. Thrown instead of a
    /// deadlock; see docs/concurrency.md.
    case scanBlocksGrowth(store: String)

    public var description: String {
        switch self {
        case let .typeMismatch(name, stored, requested):
            return "collection '\(name)' is a \(stored), not a \(requested). Open it as a \(stored), or use another name."
        case let .keyTooLong(name, length, maximum):
            return "collection '\(name)': a key encodes to \(length) bytes; LMDB allows at most \(maximum). Shorten or hash long keys."
        case let .indexOutOfRange(name, index, count):
            return "collection '\(name)': index \(index) is out of range 0..<\(count)."
        case let .corrupt(name, detail):
            return "collection '\(name)': stored bytes do not decode: \(detail). Was it written with another type or tool?"
        case let .invalidName(name, reason):
            return "invalid collection name '\(name)': \(reason)."
        case let .unsupportedFormat(name, version, supported):
            return "collection '\(name)' has format version \(version); this library reads up to \(supported). Upgrade DiskCollections."
        case let .invalidSearch(name, reason):
            return "search '\(name)': \(reason)."
        case let .readOnlyStore(path):
            return "the store at \(path) was opened read-only; open it with readOnly: false to change it."
        case let .invalidOption(path, detail):
            return "cannot open the store at \(path): \(detail)."
        case let .collectionRemoved(name):
            return "collection '\(name)' was removed after this handle was opened; open it again from the store to create it anew."
        case let .scanBlocksGrowth(path):
            return "a collection operation inside a scan's closure on \(path) waited for the store while another thread must grow the map, "
                + "which waits for the scan to end. End the scan first (collect what it finds), or run the scan and the operation in store.read { } or store.write { }."
        case .writeInsideRead:
            return "a change was made inside store.read { }, which cannot hold it; use store.write { } for a block that reads and writes."
        }
    }

    /// A `DecodingError` in words: what did not fit, and where in the value.
    @usableFromInline static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let p = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? "." + $0.stringValue }.joined()
            return p.isEmpty ? "the value" : "value" + p
        }
        switch error {
        case let .typeMismatch(type, context): return "\(path(context)) is not a \(type) (\(context.debugDescription))"
        case let .valueNotFound(type, context): return "\(path(context)) has no \(type)"
        case let .keyNotFound(key, context): return "\(path(context)) has no field '\(key.stringValue)'"
        case let .dataCorrupted(context): return "\(path(context)): \(context.debugDescription)"
        @unknown default: return "\(error)"
        }
    }

    /// The same error naming `collection`, for codec errors raised before the collection was known.
    @usableFromInline func naming(_ collection: String, key: String? = nil) -> DiskCollectionsError {
        if case let .corrupt(name, detail) = self, name.isEmpty {
            return .corrupt(collection: collection, detail: key.map { "at key \($0): \(detail)" } ?? detail)
        }
        return self
    }
}
