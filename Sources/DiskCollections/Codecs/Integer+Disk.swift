// Integer keys and values. Each type spells out its witnesses, delegating to small generic helpers
// (DiskKey.swift, DiskValue.swift) whose error path is out of line: a witness inherited from a
// constrained protocol extension, or one with a heavy error path, reaches callers in other modules
// only as an opaque call, which halved DiskMap's scan speed (see docs/benchmark-history.md).

extension UInt8: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "uint8") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "uint8le") }
}

extension UInt16: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "uint16") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "uint16le") }
}

extension UInt32: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "uint32") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "uint32le") }
}

extension UInt64: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "uint64") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "uint64le") }
}

extension UInt: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "uint64") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "uint64le") }
}

extension Int8: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "int8") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "int8le") }
}

extension Int16: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "int16") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "int16le") }
}

extension Int32: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "int32") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "int32le") }
}

extension Int64: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "int64") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "int64le") }
}

extension Int: FixedWidthDiskKey, DiskValue {
    @inlinable @inline(__always)
    public func withDiskKeyBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R { try withIntegerKeyBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskKeyBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerKey(bytes, "int64") }
    @inlinable @inline(__always)
    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R { try withIntegerValueBytes(self, body) }
    @inlinable @inline(__always)
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws { self = try decodeIntegerValue(bytes, "int64le") }
}
