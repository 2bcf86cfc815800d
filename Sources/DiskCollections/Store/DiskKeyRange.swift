/// A range of keys, as a scan's bounds: make it from a typed range (`DiskKeyBounds(5..<9)`, or pass
/// the range itself to the collections' `in:` parameters), or use ``all``. Its bounds are encoded
/// keys, which are internal: the encodings are the store's business, not the caller's.
public struct DiskKeyBounds: Sendable, Hashable {
    /// The smallest encoded key in the range, or `nil` for no lower bound.
    @usableFromInline let lowerBytes: [UInt8]?
    /// The first encoded key past the range, or `nil` for no upper bound.
    @usableFromInline let upperBytes: [UInt8]?

    @usableFromInline init(lowerBytes: [UInt8]?, upperBytes: [UInt8]?) {
        self.lowerBytes = lowerBytes
        self.upperBytes = upperBytes
    }

    /// The bounds of a typed range of keys: `a..<b`, `a...b`, `a...`, `..<b`, `...b`.
    public init(_ range: some DiskKeyRange) { self = range.diskKeyBounds }

    /// Every key.
    public static let all = DiskKeyBounds(lowerBytes: nil, upperBytes: nil)

    /// The keys whose encoding starts with `prefix` (what `entries(withPrefix:)` scans).
    static func encodedPrefix(_ prefix: [UInt8]) -> DiskKeyBounds {
        guard !prefix.isEmpty else { return .all }
        // The first byte string past every string starting with `prefix`: drop trailing 0xFF, add one.
        var upper = prefix
        while let last = upper.last, last == 0xFF { upper.removeLast() }
        if upper.isEmpty { return DiskKeyBounds(lowerBytes: prefix, upperBytes: nil) }
        upper[upper.count - 1] += 1
        return DiskKeyBounds(lowerBytes: prefix, upperBytes: upper)
    }

    /// The smallest byte string greater than `bytes`: for turning an inclusive upper bound exclusive.
    static func successor(_ bytes: [UInt8]) -> [UInt8] { bytes + [0] }

    // MARK: Deprecated: encoded bytes in the public API

    /// The smallest encoded key in the range, or `nil` for no lower bound.
    @available(*, deprecated, message: "bounds are made from typed ranges; the encoded bytes are internal")
    public var lower: [UInt8]? { lowerBytes }
    /// The first encoded key past the range, or `nil` for no upper bound.
    @available(*, deprecated, message: "bounds are made from typed ranges; the encoded bytes are internal")
    public var upper: [UInt8]? { upperBytes }

    /// Bounds on encoded keys: `lower` inclusive, `upper` exclusive, `nil` for open.
    @available(*, deprecated, message: "use a typed range: DiskKeyBounds(5..<9), or pass the range to `in:`")
    public init(lower: [UInt8]?, upper: [UInt8]?) { self.init(lowerBytes: lower, upperBytes: upper) }

    /// The keys whose encoding starts with `prefix`.
    @available(*, deprecated, message: "use entries(withPrefix:) with a String or [UInt8] prefix")
    public static func prefix(_ prefix: [UInt8]) -> DiskKeyBounds { encodedPrefix(prefix) }
}

/// A range of ``DiskKey``s: `a..<b`, `a...b`, `a...`, `..<b` and `...b` all are.
public protocol DiskKeyRange<Key> {
    associatedtype Key: DiskKey
    /// The range as encoded bounds.
    var diskKeyBounds: DiskKeyBounds { get }
}

extension Range: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lowerBytes: lowerBound.diskKeyBytes, upperBytes: upperBound.diskKeyBytes) }
}

extension ClosedRange: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds {
        .init(lowerBytes: lowerBound.diskKeyBytes, upperBytes: DiskKeyBounds.successor(upperBound.diskKeyBytes))
    }
}

extension PartialRangeFrom: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lowerBytes: lowerBound.diskKeyBytes, upperBytes: nil) }
}

extension PartialRangeUpTo: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lowerBytes: nil, upperBytes: upperBound.diskKeyBytes) }
}

extension PartialRangeThrough: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lowerBytes: nil, upperBytes: DiskKeyBounds.successor(upperBound.diskKeyBytes)) }
}
