import Foundation

/// A type that can be a key of a disk collection: encoded to at most 511 bytes whose byte order
/// (`memcmp`, LMDB's default) is the natural order of the values.
///
/// Conforming: every fixed-width integer, `Bool`, `Double`, `Float`, `String`, `[UInt8]`, `UUID`, and
/// ``DiskCompositeKey`` structs built from these. The encodings are written down in docs/on-disk-format.md.
public protocol DiskKey {
    /// The codec's name, recorded in the store so a collection is never reopened with another key type.
    static var diskKeyCodec: String { get }

    /// Passes the encoded key to `body`. Cost: no allocation for fixed-width types.
    func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R

    /// Decodes a key from its encoding. Throws ``DiskCollectionsError/corrupt(collection:detail:)``
    /// (with an empty collection name, filled in by the caller) when the bytes are not a valid encoding.
    init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws

    /// Appends this value as one component of a composite key: self-delimiting and order-preserving.
    func appendDiskKeyComponent(to bytes: inout [UInt8])

    /// Reads one component written by ``appendDiskKeyComponent(to:)`` and advances `bytes` past it.
    init(diskKeyComponent bytes: inout Slice<UnsafeRawBufferPointer>) throws
}

extension DiskKey {
    /// The encoded key as an array.
    @inlinable
    public var diskKeyBytes: [UInt8] { withDiskKeyBytes { Array($0) } }
}

@usableFromInline
func corrupt(_ detail: String) -> DiskCollectionsError { .corrupt(collection: "", detail: detail) }

// MARK: Fixed-width keys

/// Keys of a fixed encoded width: stored as their big-endian, order-preserving bytes.
public protocol FixedWidthDiskKey: DiskKey {
    /// The encoded width in bytes.
    static var diskKeyWidth: Int { get }
}

extension FixedWidthDiskKey {
    @inlinable
    public func appendDiskKeyComponent(to bytes: inout [UInt8]) {
        withDiskKeyBytes { bytes.append(contentsOf: $0) }
    }

    @inlinable
    public init(diskKeyComponent bytes: inout Slice<UnsafeRawBufferPointer>) throws {
        guard bytes.count >= Self.diskKeyWidth else {
            throw corrupt("a \(Self.diskKeyCodec) key component needs \(Self.diskKeyWidth) bytes, \(bytes.count) left")
        }
        let part = UnsafeRawBufferPointer(rebasing: bytes.prefix(Self.diskKeyWidth))
        bytes = bytes.dropFirst(Self.diskKeyWidth)
        try self.init(diskKeyBytes: part)
    }
}

extension FixedWidthInteger {
    /// The order-preserving bit pattern: unsigned as is; signed with the sign bit flipped, so that
    /// negative numbers sort below positive ones.
    @inlinable @inline(__always)
    var orderPreservingBits: Self {
        Self.isSigned ? self ^ (1 << (Self.bitWidth - 1)) : self
    }
}

extension FixedWidthDiskKey where Self: FixedWidthInteger {
    public static var diskKeyCodec: String { (isSigned ? "int" : "uint") + "\(bitWidth)" }
    public static var diskKeyWidth: Int { bitWidth / 8 }
}

// The integer witnesses are written out per type in Integer+Disk.swift, each delegating to these
// helpers: a witness inherited from a constrained protocol extension reaches callers in other modules
// only through a thunk they cannot inline, which halved DiskMap's scan speed.

@inlinable @inline(__always)
func withIntegerKeyBytes<I: FixedWidthInteger, R>(_ value: I, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
    try withUnsafeBytes(of: value.orderPreservingBits.bigEndian, body)
}

@inlinable @inline(__always)
func decodeIntegerKey<I: FixedWidthInteger>(_ bytes: UnsafeRawBufferPointer, _ codec: StaticString) throws -> I {
    guard bytes.count == MemoryLayout<I>.size else { throw sizeMismatch("key", codec, MemoryLayout<I>.size, bytes.count) }
    return I(bigEndian: bytes.loadUnaligned(as: I.self)).orderPreservingBits
}

/// The error for a fixed-width key or value of the wrong size, built out of line so the decoders stay
/// small enough to inline into every caller.
@usableFromInline @inline(never)
func sizeMismatch(_ role: StaticString, _ codec: StaticString, _ expected: Int, _ found: Int) -> DiskCollectionsError {
    corrupt("a \(codec) \(role) is \(expected) bytes, found \(found)")
}

extension Bool: FixedWidthDiskKey {
    public static var diskKeyCodec: String { "bool" }
    public static var diskKeyWidth: Int { 1 }
    @inlinable
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: self ? UInt8(1) : 0, body)
    }
    @inlinable
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == 1, bytes[0] <= 1 else { throw corrupt("a bool key is one byte, 0 or 1") }
        self = bytes[0] == 1
    }
}

// MARK: Floating point

extension BinaryFloatingPoint where RawSignificand: FixedWidthInteger {
    /// The canonical key form: -0.0 becomes +0.0 and every NaN one quiet NaN, as Swift's `==` sees them.
    @inlinable
    var canonicalKey: Self { isNaN ? .nan : (self == 0 ? 0 : self) }
}

extension Double: FixedWidthDiskKey {
    public static var diskKeyCodec: String { "float64" }
    public static var diskKeyWidth: Int { 8 }

    /// Total order on bits: positive numbers get the sign bit set, negative ones are inverted.
    @inlinable @inline(__always)
    static func orderBits(_ bits: UInt64) -> UInt64 { bits & (1 << 63) == 0 ? bits | (1 << 63) : ~bits }

    @inlinable
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: Double.orderBits(canonicalKey.bitPattern).bigEndian, body)
    }

    @inlinable
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == 8 else { throw corrupt("a float64 key is 8 bytes, found \(bytes.count)") }
        let b = UInt64(bigEndian: bytes.loadUnaligned(as: UInt64.self))
        self = Double(bitPattern: b & (1 << 63) != 0 ? b & ~(1 << 63) : ~b)
    }
}

extension Float: FixedWidthDiskKey {
    public static var diskKeyCodec: String { "float32" }
    public static var diskKeyWidth: Int { 4 }

    @inlinable
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        let bits = canonicalKey.bitPattern
        let ordered = bits & (1 << 31) == 0 ? bits | (1 << 31) : ~bits
        return try withUnsafeBytes(of: ordered.bigEndian, body)
    }

    @inlinable
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == 4 else { throw corrupt("a float32 key is 4 bytes, found \(bytes.count)") }
        let b = UInt32(bigEndian: bytes.loadUnaligned(as: UInt32.self))
        self = Float(bitPattern: b & (1 << 31) != 0 ? b & ~(1 << 31) : ~b)
    }
}

extension UUID: FixedWidthDiskKey {
    public static var diskKeyCodec: String { "uuid" }
    public static var diskKeyWidth: Int { 16 }
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes(of: uuid, body)
    }
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count == 16 else { throw corrupt("a uuid key is 16 bytes, found \(bytes.count)") }
        self.init(uuid: bytes.loadUnaligned(as: uuid_t.self))
    }
}

// MARK: Variable-width keys

/// Byte strings as keys. A whole key is the bytes themselves, except that LMDB forbids empty keys:
/// an empty string, or one whose first byte is 0x00, is stored with one 0x00 byte in front. That keeps
/// the encoding one-to-one and the order intact (see docs/on-disk-format.md).
@usableFromInline
enum ByteStringKey {
    @inlinable
    static func withEncoded<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let first = bytes.first, first != 0 { return try body(bytes) }
        var escaped: [UInt8] = [0]
        escaped.append(contentsOf: bytes)
        return try escaped.withUnsafeBytes(body)
    }

    @inlinable
    static func decode(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard let first = bytes.first else { throw corrupt("an empty key") }
        return first == 0 ? UnsafeRawBufferPointer(rebasing: bytes.dropFirst()) : bytes
    }

    /// As a composite component: 0x00 becomes 0x00 0xFF, and 0x00 0x00 ends the component.
    @inlinable
    static func appendComponent(_ bytes: UnsafeRawBufferPointer, to out: inout [UInt8]) {
        for b in bytes {
            out.append(b)
            if b == 0 { out.append(0xFF) }
        }
        out.append(0)
        out.append(0)
    }

    @inlinable
    static func readComponent(_ bytes: inout Slice<UnsafeRawBufferPointer>) throws -> [UInt8] {
        var out: [UInt8] = []
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let b = bytes[i]
            if b == 0 {
                guard i + 1 < bytes.endIndex else { break }
                if bytes[i + 1] == 0 { bytes = bytes[(i + 2)...]; return out }
                guard bytes[i + 1] == 0xFF else { throw corrupt("bad escape in a key component") }
                out.append(0)
                i += 2
            } else {
                out.append(b)
                i += 1
            }
        }
        throw corrupt("an unterminated string or bytes key component")
    }
}

extension String: DiskKey {
    public static var diskKeyCodec: String { "string" }

    /// Strings are stored in Unicode normalization form C, so canonically equal strings ("é" as one
    /// scalar or as "e" + U+0301), which Swift's `==` treats as equal, are one key, and the byte order
    /// of their UTF-8 is the order of Swift's `<`.
    @inlinable
    var normalizedForKey: String {
        utf8.allSatisfy { $0 < 0x80 } ? self : precomposedStringWithCanonicalMapping
    }

    @inlinable
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        var s = normalizedForKey
        return try s.withUTF8 { try ByteStringKey.withEncoded(UnsafeRawBufferPointer($0), body) }
    }

    @inlinable
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws {
        let raw = try ByteStringKey.decode(bytes)
        guard let s = String(validating: raw, as: UTF8.self) else { throw corrupt("a string key is not valid UTF-8") }
        self = s
    }

    public func appendDiskKeyComponent(to bytes: inout [UInt8]) {
        var s = normalizedForKey
        s.withUTF8 { ByteStringKey.appendComponent(UnsafeRawBufferPointer($0), to: &bytes) }
    }

    public init(diskKeyComponent bytes: inout Slice<UnsafeRawBufferPointer>) throws {
        let raw = try ByteStringKey.readComponent(&bytes)
        guard let s = String(validating: raw, as: UTF8.self) else { throw corrupt("a string key component is not valid UTF-8") }
        self = s
    }
}

extension Array: DiskKey where Element == UInt8 {
    public static var diskKeyCodec: String { "bytes" }

    @inlinable
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withUnsafeBytes { try ByteStringKey.withEncoded($0, body) }
    }

    @inlinable
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws {
        self = Array(try ByteStringKey.decode(bytes))
    }

    public func appendDiskKeyComponent(to bytes: inout [UInt8]) {
        withUnsafeBytes { ByteStringKey.appendComponent($0, to: &bytes) }
    }

    public init(diskKeyComponent bytes: inout Slice<UnsafeRawBufferPointer>) throws {
        self = try ByteStringKey.readComponent(&bytes)
    }
}

