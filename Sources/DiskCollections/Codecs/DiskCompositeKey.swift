/// A key made of several ``DiskKey`` components, ordered by the first component, then the second, …
///
/// Conform a struct by listing its components in order:
/// ```swift
/// struct Edge: DiskCompositeKey, Hashable {
///     var from: UInt32, to: String
///     static var diskKeyCodec: String { "edge(uint32,string)" }
///     func encodeComponents(into key: inout DiskKeyEncoder) { key.append(from); key.append(to) }
///     init(components key: inout DiskKeyDecoder) throws { from = try key.next(); to = try key.next() }
///     init(from: UInt32, to: String) { self.from = from; self.to = to }
/// }
/// ```
/// Fixed-width components are stored as their key bytes; strings and byte arrays are escaped
/// (0x00 → 0x00 0xFF) and end with 0x00 0x00, so the encoding stays order-preserving.
public protocol DiskCompositeKey: DiskKey {
    /// Appends the components, in order.
    func encodeComponents(into key: inout DiskKeyEncoder)
    /// Reads the components back, in the same order.
    init(components key: inout DiskKeyDecoder) throws
}

/// Collects a composite key's components.
public struct DiskKeyEncoder {
    @usableFromInline var bytes: [UInt8] = []
    @usableFromInline init() {}
    /// Appends one component.
    @inlinable
    public mutating func append<K: DiskKey>(_ component: K) { component.appendDiskKeyComponent(to: &bytes) }
}

/// Reads a composite key's components.
public struct DiskKeyDecoder {
    @usableFromInline var rest: Slice<UnsafeRawBufferPointer>
    @usableFromInline init(_ bytes: UnsafeRawBufferPointer) { rest = bytes[...] }
    /// Reads the next component.
    @inlinable
    public mutating func next<K: DiskKey>(_ type: K.Type = K.self) throws -> K { try K(diskKeyComponent: &rest) }
}

extension DiskCompositeKey {
    @inlinable
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var encoder = DiskKeyEncoder()
        encodeComponents(into: &encoder)
        return try encoder.bytes.withUnsafeBytes(body)
    }

    @inlinable
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws {
        var decoder = DiskKeyDecoder(bytes)
        try self.init(components: &decoder)
        guard decoder.rest.isEmpty else { throw corrupt("\(decoder.rest.count) bytes left after a composite key") }
    }

    public func appendDiskKeyComponent(to bytes: inout [UInt8]) {
        var encoder = DiskKeyEncoder()
        encodeComponents(into: &encoder)
        bytes.append(contentsOf: encoder.bytes)
    }

    public init(diskKeyComponent bytes: inout Slice<UnsafeRawBufferPointer>) throws {
        var decoder = DiskKeyDecoder(UnsafeRawBufferPointer(rebasing: bytes))
        try self.init(components: &decoder)
        bytes = bytes.suffix(decoder.rest.count)
    }
}
