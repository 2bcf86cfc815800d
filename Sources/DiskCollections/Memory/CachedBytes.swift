import Foundation

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
            var pair: (UInt64, UInt64) = (0, 0)
            if count > 0 { withUnsafeMutableBytes(of: &pair) { $0.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: count) } }
            (low, high) = pair
        } else {
            heap = Array(bytes)
        }
    }

    /// No bytes (a set's value).
    static let empty = CachedBytes(count: 0, low: 0, high: 0)

    /// Inline bytes: `count` ≤ 16 of them, in memory order in `low` then `high`.
    init(count: Int, low: UInt64, high: UInt64) {
        self.count = count
        self.low = low
        self.high = high
    }

    /// Bytes longer than 16, kept on the heap.
    init(_ array: [UInt8]) {
        if array.count <= 16 {
            self = array.withUnsafeBytes { CachedBytes($0) }
        } else {
            count = array.count
            heap = array
        }
    }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if let heap { return try heap.withUnsafeBytes(body) }
        var pair = (low, high)
        return try Swift.withUnsafeBytes(of: &pair) { try body(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
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

    // Hand-written: the synthesized versions hash and compare every field, the optional heap array
    // included, and were a sixth of a cached lookup's cost. Inline keys hash as one mixed word.
    static func == (a: CacheKey, b: CacheKey) -> Bool {
        guard a.database == b.database, a.bytes.count == b.bytes.count, a.bytes.low == b.bytes.low,
              a.bytes.high == b.bytes.high else { return false }
        return a.bytes.heap == b.bytes.heap
    }

    func hash(into hasher: inout Hasher) {
        if let heap = bytes.heap {
            hasher.combine(database)
            hasher.combine(heap)
        } else {
            hasher.combine((bytes.low &* 0x9E37_79B9_7F4A_7C15) ^ (bytes.high &* 0xC2B2_AE3D_27D4_EB4F)
                           ^ (UInt64(database) << 40) ^ UInt64(bytes.count))
        }
    }
}
