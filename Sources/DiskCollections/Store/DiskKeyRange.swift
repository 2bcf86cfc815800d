/// A range of keys as encoded bounds: `lower` inclusive, `upper` exclusive, either open.
public struct DiskKeyBounds: Sendable, Hashable {
    /// The smallest encoded key in the range, or `nil` for no lower bound.
    public var lower: [UInt8]?
    /// The first encoded key past the range, or `nil` for no upper bound.
    public var upper: [UInt8]?

    /// Bounds on encoded keys: `lower` inclusive, `upper` exclusive, `nil` for open.
    /// Use a key's `diskKeyBytes` to make them: `DiskKeyBounds(lower: 5.diskKeyBytes, upper: nil)`.
    public init(lower: [UInt8]?, upper: [UInt8]?) {
        self.lower = lower
        self.upper = upper
    }

    /// Every key.
    public static let all = DiskKeyBounds(lower: nil, upper: nil)

    /// The keys whose encoding starts with `prefix`.
    public static func prefix(_ prefix: [UInt8]) -> DiskKeyBounds {
        guard !prefix.isEmpty else { return .all }
        // The first byte string past every string starting with `prefix`: drop trailing 0xFF, add one.
        var upper = prefix
        while let last = upper.last, last == 0xFF { upper.removeLast() }
        if upper.isEmpty { return DiskKeyBounds(lower: prefix, upper: nil) }
        upper[upper.count - 1] += 1
        return DiskKeyBounds(lower: prefix, upper: upper)
    }

    /// The smallest byte string greater than `bytes`: for turning an inclusive upper bound exclusive.
    static func successor(_ bytes: [UInt8]) -> [UInt8] { bytes + [0] }
}

/// A range of ``DiskKey``s: `a..<b`, `a...b`, `a...`, `..<b` and `...b` all are.
public protocol DiskKeyRange<Key> {
    associatedtype Key: DiskKey
    /// The range as encoded bounds.
    var diskKeyBounds: DiskKeyBounds { get }
}

extension Range: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lower: lowerBound.diskKeyBytes, upper: upperBound.diskKeyBytes) }
}

extension ClosedRange: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds {
        .init(lower: lowerBound.diskKeyBytes, upper: DiskKeyBounds.successor(upperBound.diskKeyBytes))
    }
}

extension PartialRangeFrom: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lower: lowerBound.diskKeyBytes, upper: nil) }
}

extension PartialRangeUpTo: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lower: nil, upper: upperBound.diskKeyBytes) }
}

extension PartialRangeThrough: DiskKeyRange where Bound: DiskKey {
    public typealias Key = Bound
    public var diskKeyBounds: DiskKeyBounds { .init(lower: nil, upper: DiskKeyBounds.successor(upperBound.diskKeyBytes)) }
}
