import Foundation

/// A type that can be a value of a disk collection.
///
/// Conforming: every fixed-width integer (little-endian, read without a copy), `Bool`, `Double` and
/// `Float` (their exact IEEE bits, little-endian), `String` (UTF-8), `[UInt8]`, `UUID`, and any
/// `Codable` type that declares ``CodableDiskValue`` (`extension Point: CodableDiskValue {}`), stored as CBOR
/// (RFC 8949). The encodings are written down in docs/on-disk-format.md.
public protocol DiskValue {
    /// The codec's name, recorded in the store so a collection is never reopened with another value type.
    static var diskValueCodec: String { get }
    /// The encoded width when every value has the same size, else `nil`.
    static var diskValueWidth: Int? { get }
    /// Passes the encoded value to `body`.
    func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R
    /// Decodes a value. Throws ``DiskCollectionsError/corrupt(collection:detail:)`` on bad bytes.
    init(diskValueBytes bytes: UnsafeRawBufferPointer) throws
}

extension DiskValue {
    public static var diskValueWidth: Int? { nil }
}

extension DiskValue where Self: FixedWidthInteger {
    public static var diskValueCodec: String { (isSigned ? "int" : "uint") + "\(bitWidth)le" }
    public static var diskValueWidth: Int? { bitWidth / 8 }
}

@inlinable @inline(__always)
func withIntegerValueBytes<I: FixedWidthInteger, R>(_ value: I, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try withUnsafeBytes(of: value.littleEndian, body)
}

@inlinable @inline(__always)
func decodeIntegerValue<I: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ codec: StaticString) throws -> I {
    guard bytes.count == MemoryLayout<I>.size else { throw sizeMismatch("value", codec, MemoryLayout<I>.size, bytes.count) }
    return I(littleEndian: bytes.loadUnaligned(as: I.self))
}

extension Bool: DiskValue {
    public static var diskValueCodec: String { "bool" }
    public static var diskValueWidth: Int? { 1 }
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeBytes(of: self ? UInt8(1) : 0, body)
    }
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == 1, bytes[0] <= 1 else { throw corrupt("a bool value is one byte, 0 or 1") }
        self = bytes[0] == 1
    }
}

extension Double: DiskValue {
    public static var diskValueCodec: String { "float64le" }
    public static var diskValueWidth: Int? { 8 }
    @inlinable
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeBytes(of: bitPattern.littleEndian, body)
    }
    @inlinable
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws {
        self = Double(bitPattern: try UInt64(diskValueBytes: bytes))
    }
}

extension Float: DiskValue {
    public static var diskValueCodec: String { "float32le" }
    public static var diskValueWidth: Int? { 4 }
    @inlinable
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeBytes(of: bitPattern.littleEndian, body)
    }
    @inlinable
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws {
        self = Float(bitPattern: try UInt32(diskValueBytes: bytes))
    }
}

extension String: DiskValue {
    public static var diskValueCodec: String { "string" }
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var s = self
        return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw corrupt("a string value is not valid UTF-8") }
        self = s
    }
}

extension Array: DiskValue where Element == UInt8 {
    public static var diskValueCodec: String { "bytes" }
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withUnsafeBytes(body)
    }
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = Array(bytes) }
}

extension UUID: DiskValue {
    public static var diskValueCodec: String { "uuid" }
    public static var diskValueWidth: Int? { 16 }
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try withDiskKeyBytes(body)
    }
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { try self.init(diskKeyBytes: bytes) }
}

/// A `Codable` type stored as CBOR (RFC 8949): declare `extension Point: CodableDiskValue {}`.
/// Structs become maps with text keys, arrays arrays, integers take their shortest form, `Data` a byte
/// string; Python reads the values with `cbor2.loads`.
public protocol CodableDiskValue: DiskValue, Codable {}

extension CodableDiskValue {
    public static var diskValueCodec: String { "cbor:\(String(describing: Self.self))" }
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try CBOREncoder().encode(self).withUnsafeBytes(body)
    }
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws {
        self = try CBORDecoder().decode(Self.self, from: bytes)
    }
}
