import LMDB
#if canImport(Glibc)
import Glibc
#endif

extension Store {
    /// Opens a cursor on `database` over `bounds` (in key order, or reversed) in one read snapshot and
    /// passes its entries to `body`. The one place the scans set up their cursor and bounds.
    @inlinable @inline(__always)
    func withRawEntries<R>(_ database: Database, _ bounds: DiskKeyBounds, reverse: Bool,
                           _ body: (Cursor.Entries) throws -> R) throws -> R {
        try withRead(database) { txn in
            try txn.withCursor(database) { cursor in
                try withOptionalBytes(bounds.lowerBytes) { lower in
                    try withOptionalBytes(bounds.upperBytes) { upper in
                        try body(cursor.entries(from: lower, to: upper, reverse: reverse))
                    }
                }
            }
        }
    }

    /// Walks the entries of `database` within `bounds` in one read snapshot, in key order or reversed,
    /// until `body` returns `false`. The buffers are borrowed from the map for the call only.
    @inlinable @inline(__always)
    func scan(_ database: Database, _ bounds: DiskKeyBounds, reverse: Bool,
              _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> Bool) throws {
        try withRawEntries(database, bounds, reverse: reverse) { entries in
            var entries = entries
            while let (k, v) = entries.next() {
                if try !body(k, v) { break }
            }
        }
    }

    /// Checks that an encoded key fits LMDB before it is used.
    @inlinable @inline(__always)
    func checkKey(_ key: UnsafeRawBufferPointer, _ collection: String) throws {
        if _slowPath(key.count > environment.maximumKeySize) {
            throw DiskCollectionsError.keyTooLong(collection: collection, length: key.count, maximum: environment.maximumKeySize)
        }
    }
}

/// Whether key `a` sorts before key `b` in LMDB's default order: `memcmp`, the shorter first on a tie.
@inlinable @inline(__always)
func keyPrecedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
    let n = Swift.min(a.count, b.count)
    let c = n == 0 ? 0 : memcmp(a.baseAddress!, b.baseAddress!, n)
    return c < 0 || (c == 0 && a.count < b.count)
}

@inlinable @inline(__always)
func withOptionalBytes<R>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard let bytes else { return try body(nil) }
    return try bytes.withUnsafeBytes { try body($0) }
}

/// Decodes with the collection's name, and the key when there is one, in any error.
@inlinable @inline(__always)
func decoding<T>(_ collection: String, key: @autoclosure () -> String? = nil, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as DiskCollectionsError {
        throw error.naming(collection, key: key())
    } catch let error as DecodingError {
        // A Codable value whose stored CBOR does not fit the type: the library's own error, naming
        // the collection, the key and where in the value the mismatch is.
        let at = key().map { "at key \($0): " } ?? ""
        throw DiskCollectionsError.corrupt(collection: collection, detail: at + DiskCollectionsError.describe(error))
    }
}

/// A key for a message: a string quoted, anything else as it prints.
@usableFromInline
func describeKey<K>(_ key: K) -> String {
    if let s = key as? String { return "\"\(s)\"" }
    return "\(key)"
}

/// A key for a message from its stored bytes: decoded as `K` if it decodes, else its bytes in hex.
@usableFromInline @inline(never)
func describeKey<K: DiskKey>(_ bytes: UnsafeRawBufferPointer, as: K.Type) -> String {
    if let key = try? K(diskKeyBytes: bytes) { return describeKey(key) }
    return "0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
