#if canImport(Glibc)
import Glibc
#endif

/// A growable run of bytes for the parsers' hot loops: reused from record to record (`removeAll()`
/// keeps the memory), appended to without the bounds and uniqueness checks of `[UInt8]`.
///
/// Not `Sendable`: one parser owns each buffer.
public final class ByteBuffer {
    @usableFromInline var storage: UnsafeMutablePointer<UInt8>
    @usableFromInline var capacity: Int
    @usableFromInline var _count = 0
    /// The number of bytes held.
    @inlinable public var count: Int { _count }

    public init(capacity: Int = 256) {
        self.capacity = max(16, capacity)
        storage = .allocate(capacity: self.capacity)
    }

    deinit { storage.deallocate() }

    /// Forgets the bytes, keeping the memory.
    @inlinable @inline(__always)
    public func removeAll() { _count = 0 }

    /// Makes room for `extra` more bytes.
    @inlinable @inline(__always)
    public func reserve(_ extra: Int) {
        if _slowPath(count + extra > capacity) { grow(count + extra) }
    }

    @usableFromInline
    func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        bigger.update(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity = newCapacity
    }

    @inlinable @inline(__always)
    public func append(_ byte: UInt8) {
        reserve(1)
        storage[_count] = byte
        _count += 1
    }

    @inlinable @inline(__always)
    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(storage + _count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        _count += bytes.count
    }

    @inlinable
    public func append(_ string: StaticString) {
        append(UnsafeRawBufferPointer(start: string.utf8Start, count: string.utf8CodeUnitCount))
    }

    @inlinable
    public func append(_ string: String) {
        var s = string
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    @inlinable
    public func append(contentsOf bytes: some Sequence<UInt8>) {
        for b in bytes { append(b) }
    }

    /// Appends `n` in decimal.
    @inlinable
    public func appendDecimal<I: FixedWidthInteger>(_ n: I) {
        reserve(21)
        var magnitude = n.magnitude
        if I.isSigned && n < 0 { append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, no allocation
        withUnsafeMutableBytes(of: &digits) { scratch in
            var i = scratch.count
            repeat {
                i -= 1
                scratch[i] = UInt8(ascii: "0") + UInt8(truncatingIfNeeded: magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            append(UnsafeRawBufferPointer(rebasing: scratch[i...]))
        }
    }

    /// Reserves `count` bytes at the end and lets `fill` write them.
    @inlinable
    public func append(writing count: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) {
        reserve(count)
        fill(UnsafeMutableRawBufferPointer(start: storage + _count, count: count))
        _count += count
    }

    /// The bytes, valid until the buffer next changes.
    @inlinable
    public var bytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: storage, count: count) }

    /// A copy of the bytes.
    public var array: [UInt8] { Array(bytes) }
}

@available(*, unavailable, message: "a ByteBuffer belongs to one parser")
extension ByteBuffer: Sendable {}

extension UnsafeRawBufferPointer {
    /// Whether two byte strings are equal (`memcmp`).
    @inlinable
    func equals(_ other: UnsafeRawBufferPointer) -> Bool {
        count == other.count && (count == 0 || memcmp(baseAddress!, other.baseAddress!, count) == 0)
    }

    /// Whether these bytes equal the ASCII of `literal`.
    @inlinable
    func equals(_ literal: StaticString) -> Bool {
        equals(UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount))
    }

    /// `memcmp` order: negative, zero or positive.
    @inlinable
    func compare(_ other: UnsafeRawBufferPointer) -> Int {
        let n = Swift.min(count, other.count)
        if n > 0 {
            let c = memcmp(baseAddress!, other.baseAddress!, n)
            if c != 0 { return Int(c) }
        }
        return count - other.count
    }
}
