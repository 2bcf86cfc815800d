import CChecksum

/// CRC-32C (Castagnoli), the checksum ``Checksummed`` values carry.
public enum CRC32C {
    /// The CRC-32C of `bytes`, continuing from `seed` (0 to start): `checksum("123456789") == 0xE3069283`.
    /// Cost: about a byte per cycle with the SSE4.2 instruction (x86-64 since 2008), else a table lookup a byte.
    @inlinable
    public static func checksum(_ bytes: UnsafeRawBufferPointer, seed: UInt32 = 0) -> UInt32 {
        diskcollections_crc32c(seed, bytes.baseAddress, bytes.count)
    }

    /// The codec prefix of checksummed values (`crc32c:string`).
    public static let codecPrefix = "crc32c:"

    /// The value's own bytes of a checksummed value's stored `bytes` (its encoding, then its CRC-32C,
    /// 4 bytes little-endian), after checking the checksum.
    /// - Throws: ``DiskCollectionsError/corrupt(collection:detail:)`` (without the collection's name)
    ///   for a mismatch or bytes too short to hold a checksum.
    @inlinable
    public static func checkedValue(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard bytes.count >= 4 else { throw checksumTooShort(bytes.count) }
        let body = UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count - 4)])
        let stored = UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: bytes.count - 4, as: UInt32.self))
        let computed = checksum(body)
        guard stored == computed else { throw checksumMismatch(stored, computed) }
        return body
    }
}

/// A value stored with a CRC-32C of its bytes, checked on every read: a value damaged on disk (a
/// flipped bit LMDB itself cannot see, having no checksums) is a typed
/// ``DiskCollectionsError/corrupt(collection:detail:)`` naming the collection and the key, never a
/// wrong value.
///
/// Opt in by type: `store.map("m", key: UInt64.self, value: Checksummed<String>.self)`, then
/// `try m.setValue(Checksummed("x"), forKey: 1)` and `try m[1]?.value`. The codec is `crc32c:` and
/// the value's own (`crc32c:string`): a store written with checksums opens with them only, and a
/// library that does not know them refuses the collection instead of misreading it. Each value takes
/// 4 bytes more; what it costs in time is in docs/benchmarks.md. The key is not covered (LMDB's order
/// depends on it: a damaged key shows as a key out of order in `diskcoll verify`).
///
/// Stored as the value's own encoding followed by its CRC-32C, 4 bytes little-endian
/// (docs/on-disk-format.md).
public struct Checksummed<Value: DiskValue>: DiskValue {
    /// The value.
    public var value: Value

    public init(_ value: Value) { self.value = value }

    public static var diskValueCodec: String { CRC32C.codecPrefix + Value.diskValueCodec }
    public static var diskValueWidth: Int? { Value.diskValueWidth.map { $0 + 4 } }

    @inlinable
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        try value.withDiskValueBytes { bytes in
            let crc = CRC32C.checksum(bytes).littleEndian
            guard bytes.count <= 60 else {  // rare: a large value, copied to the heap once
                var copy = [UInt8](bytes)
                withUnsafeBytes(of: crc) { copy.append(contentsOf: $0) }
                return try copy.withUnsafeBytes(body)
            }
            // A small value with its checksum in 64 bytes of stack: no allocation, and simple enough
            // to inline into the caller's loop (a temporary allocation's closure is not).
            var buffer: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
            return try withUnsafeMutableBytes(of: &buffer) { out in
                if let base = bytes.baseAddress { out.baseAddress!.copyMemory(from: base, byteCount: bytes.count) }
                out.storeBytes(of: crc, toByteOffset: bytes.count, as: UInt32.self)
                return try body(UnsafeRawBufferPointer(rebasing: out[..<(bytes.count + 4)]))
            }
        }
    }

    @inlinable
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws {
        self.value = try Value(diskValueBytes: try CRC32C.checkedValue(bytes))
    }
}

@usableFromInline @inline(never)
func checksumTooShort(_ count: Int) -> DiskCollectionsError {
    corrupt("a checksummed value is \(count) bytes, shorter than its 4-byte CRC-32C")
}

@usableFromInline @inline(never)
func checksumMismatch(_ stored: UInt32, _ computed: UInt32) -> DiskCollectionsError {
    corrupt("checksum mismatch: the value's bytes give CRC-32C \(hex32(computed)), its stored checksum is \(hex32(stored)): the value was damaged after it was written")
}

func hex32(_ x: UInt32) -> String {
    let digits = String(x, radix: 16)
    return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
}

extension Checksummed: Sendable where Value: Sendable {}
extension Checksummed: Equatable where Value: Equatable {}
extension Checksummed: Hashable where Value: Hashable {}
extension Checksummed: CustomStringConvertible {
    public var description: String { "\(value)" }
}
