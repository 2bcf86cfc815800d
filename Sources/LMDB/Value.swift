import CLMDB

// The one place where `MDB_val` is converted to and from Swift buffers.

extension MDB_val {
    /// An `MDB_val` that points at `buffer`. LMDB never writes through a key or data pointer passed
    /// to `mdb_get`, `mdb_put` or `mdb_cursor_get`, so dropping `const` here is sound.
    @inlinable @inline(__always)
    init(_ buffer: UnsafeRawBufferPointer) {
        self.init(mv_size: buffer.count, mv_data: UnsafeMutableRawPointer(mutating: buffer.baseAddress))
    }

    /// The bytes this `MDB_val` points at, borrowed from the map or from the caller.
    @inlinable @inline(__always)
    var buffer: UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: mv_data, count: mv_size)
    }

    /// An empty `MDB_val` for LMDB to fill in.
    @inlinable @inline(__always)
    static var empty: MDB_val { MDB_val(mv_size: 0, mv_data: nil) }
}
