import DiskCollections
import Foundation
import LMDB
import Testing
import TestSupport

/// Per-value checksums (issue 13, item 7): a value damaged on disk is a typed error naming the
/// collection and the key, never a wrong value.
@Suite struct ChecksummedTests {
    @Test func crc32cMatchesTheStandardCheckValues() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.checksum($0) } == 0xE306_9283)
        #expect([UInt8](repeating: 0, count: 32).withUnsafeBytes { CRC32C.checksum($0) } == 0x8A91_36AA)
        #expect([UInt8](repeating: 0xFF, count: 32).withUnsafeBytes { CRC32C.checksum($0) } == 0x62A8_AB43)
        // Continuing from a seed equals the checksum of the whole.
        let whole = Array("hello, world".utf8)
        let first = whole.prefix(5).withUnsafeBytes { CRC32C.checksum($0) }
        #expect(whole.dropFirst(5).withUnsafeBytes { CRC32C.checksum($0, seed: first) } == whole.withUnsafeBytes { CRC32C.checksum($0) })
    }

    @Test func valuesRoundTripAndCarryTheirChecksum() throws {
        let fixture = try StoreFixture()
        let m = try fixture.store.map("m", key: UInt64.self, value: Checksummed<String>.self)
        let a = try fixture.store.array("a", of: Checksummed<Double>.self)
        let q = try fixture.store.queue("q", of: Checksummed<[UInt8]>.self)
        for i in 0..<1_000 as Range<UInt64> { try m.setValue(Checksummed("value \(i)"), forKey: i) }
        try a.append(contentsOf: [Checksummed(1.5), Checksummed(-0.0)])
        try q.append(Checksummed([1, 2, 3]))
        try fixture.reopen()
        let m2 = try fixture.store.map("m", key: UInt64.self, value: Checksummed<String>.self)
        #expect(try m2[999]?.value == "value 999")
        #expect(try m2.entries().count == 1_000)
        #expect(try fixture.store.array("a", of: Checksummed<Double>.self)[1].value.sign == .minus)
        #expect(try fixture.store.queue("q", of: Checksummed<[UInt8]>.self).popFirst()?.value == [1, 2, 3])
        // The codec is recorded: opening without checksums is a type mismatch, not a misread.
        #expect(throws: DiskCollectionsError.self) { _ = try fixture.store.map("m", key: UInt64.self, value: String.self) }
        #expect(try fixture.store.collections().first { $0.name == "m" }?.descriptor.value == "crc32c:string")
        #expect(Checksummed<UInt64>.diskValueWidth == 12)
    }

    /// One byte of a stored value flipped in the file: the point read and the scan both throw, naming
    /// the collection and the key.
    @Test func aDamagedValueIsATypedErrorNamingTheKey() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            let m = try store.map("names", key: String.self, value: Checksummed<String>.self)
            try store.write { for i in 0..<100 { try m.setValue(Checksummed("the value of entry \(i), unique-\(i)-marker"), forKey: "k\(i)") } }
            store.close()
        }
        let file = dir.path + "/data.mdb"
        var data = try Data(contentsOf: URL(fileURLWithPath: file))
        // Every copy (a page's free gap may hold stale ones): "unique-42-marker" -> "unique-43-marker",
        // still valid UTF-8, so without a checksum it would read as a wrong value.
        var from = data.startIndex, copies = 0
        while let at = data.range(of: Data("unique-42-marker".utf8), in: from..<data.endIndex) {
            data[at.lowerBound + 8] ^= 0x01
            from = at.upperBound
            copies += 1
        }
        #expect(copies >= 1)
        try data.write(to: URL(fileURLWithPath: file))
        let store = try Store(at: dir.path)
        defer { store.close() }
        let m = try store.map("names", key: String.self, value: Checksummed<String>.self)
        #expect(try m["k41"]?.value == "the value of entry 41, unique-41-marker")
        let point = #expect(throws: DiskCollectionsError.self) { _ = try m["k42"] }
        #expect(point.map { "\($0)".contains("collection 'names'") && "\($0)".contains("at key \"k42\": checksum mismatch") } == true, "\(String(describing: point))")
        let scan = #expect(throws: DiskCollectionsError.self) { _ = try m.entries() }
        #expect(scan.map { "\($0)".contains("at key \"k42\": checksum mismatch") } == true, "\(String(describing: scan))")
        // Without a checksum the same damage would read as a wrong value: a plain String decodes it.
    }
}
