/// A short byte string kept inline (up to 16 bytes, no allocation) or on the heap: the cache's keys
/// and values.
struct CachedBytes: Hashable {
    var count: Int
    var low: UInt64 = 0
    var high: UInt64 = 0
    var heap: [UInt8]? = nil

    init(_ bytes: UnsafeRawBufferPointer) {
        count = bytes.count
        if count <= 16 {
            withUnsafeMutableBytes(of: &low) { l in
                withUnsafeMutableBytes(of: &high) { h in
                    for i in 0..<count { if i < 8 { l[i] = bytes[i] } else { h[i - 8] = bytes[i] } }
                }
            }
        } else {
            heap = Array(bytes)
        }
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let heap { return try heap.withUnsafeBytes(body) }
        var pair = (low, high)
        return try Swift.withUnsafeBytes(of: &pair) { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
    }

    /// Heap bytes this value holds beyond its inline size.
    var heapBytes: Int { heap == nil ? 0 : 32 + count }

    /// `memcmp` order, shorter first on a tie: LMDB's key order.
    static func precedes(_ a: CachedBytes, _ b: CachedBytes) -> Bool {
        a.withUnsafeBytes { x in b.withUnsafeBytes { y in x.lexicographicallyPrecedes(y) } }
    }
}

/// A key in a given database.
struct CacheKey: Hashable {
    var database: UInt32
    var bytes: CachedBytes

    init(database: UInt32, bytes: CachedBytes) {
        self.database = database
        self.bytes = bytes
    }
}
