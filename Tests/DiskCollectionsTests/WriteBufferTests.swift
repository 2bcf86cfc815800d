@testable import DiskCollections
import Foundation
import Testing
import TestSupport

/// The write buffer's own mechanics: what it answers, and the order a flush writes in (a wrong order
/// would still store the right data, only slowly, so the collection tests could not see it).
@Suite struct WriteBufferTests {
    /// LMDB's key order: `memcmp`, the shorter first on a tie.
    static func lmdbPrecedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x < y }
        return a.count < b.count
    }

    func put(_ buffer: WriteBuffer, _ db: UInt32, _ key: [UInt8], _ value: [UInt8]?) {
        key.withUnsafeBytes { k in
            if let value { value.withUnsafeBytes { buffer.put(db, k, $0) } } else { buffer.put(db, k, nil) }
        }
    }

    func lookup(_ buffer: WriteBuffer, _ db: UInt32, _ key: [UInt8]) -> [UInt8]?? {
        key.withUnsafeBytes { k in buffer.lookup(db, k).map { $0.map { Array($0) } } }
    }

    @Test func answersLikeADictionaryThroughRewritesDeletesAndCompaction() {
        let buffer = WriteBuffer()
        var model: [[UInt8]: [UInt8]?] = [:]
        var rng = SplitMix64(seed: 80)
        for step in 0..<60_000 {
            let key = Array("key\(Int.random(in: 0..<3_000, using: &rng))".utf8)
            let value: [UInt8]? = Int.random(in: 0..<5, using: &rng) == 0 ? nil
                : [UInt8](repeating: UInt8(step & 0xFF), count: Int.random(in: 0..<24, using: &rng))
            put(buffer, 1, key, value)
            model[key] = .some(value)
            if step % 97 == 0 {
                let probe = Array("key\(Int.random(in: 0..<3_500, using: &rng))".utf8)
                #expect(lookup(buffer, 1, probe) == model[probe])
            }
        }
        #expect(buffer.count == model.count)
        for (key, value) in model { #expect(lookup(buffer, 1, key) == .some(value)) }
        #expect(lookup(buffer, 2, Array("key1".utf8)) == nil)  // another database
    }

    @Test func sortsByDatabaseThenKeyInLMDBOrder() {
        let buffer = WriteBuffer()
        var rng = SplitMix64(seed: 81)
        var expected: [(UInt32, [UInt8])] = []
        var seen = Set<[UInt8]>()
        for _ in 0..<20_000 {
            let db = UInt32.random(in: 1...3, using: &rng)
            var key: [UInt8]
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: key = withUnsafeBytes(of: UInt64.random(in: 0..<1_000_000, using: &rng).bigEndian) { Array($0) }
            case 1: key = Array("shared-prefix-\(Int.random(in: 0..<100_000, using: &rng))".utf8)  // ties past 8 bytes
            case 2: key = (0..<Int.random(in: 0..<10, using: &rng)).map { _ in UInt8.random(in: 0...2, using: &rng) }  // short, NULs
            default: key = (0..<Int.random(in: 9..<40, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            }
            guard seen.insert([UInt8(db)] + key).inserted else { continue }
            put(buffer, db, key, [1])
            expected.append((db, key))
        }
        expected.sort { $0.0 != $1.0 ? $0.0 < $1.0 : Self.lmdbPrecedes($0.1, $1.1) }
        let sorted = buffer.sorted().map { item -> (UInt32, [UInt8]) in
            let r = buffer.record(item)
            return (r.database, Array(r.key))
        }
        #expect(sorted.count == expected.count)
        #expect(sorted.elementsEqual(expected) { $0.0 == $1.0 && $0.1 == $1.1 })
    }

    @Test func keepsOnlyWhatItIsToldAndGivesMemoryBack() {
        let buffer = WriteBuffer()
        #expect(buffer.bytes == 0 && lookup(buffer, 1, [1]) == nil && buffer.sorted().isEmpty)
        for i in 0..<50_000 { put(buffer, 1, Array("k\(i)".utf8), Array(repeating: 7, count: 30)) }
        for i in 0..<1_000 { put(buffer, 2, Array("k\(i)".utf8), nil) }
        let grown = buffer.bytes
        #expect(grown > 50_000 * 40)
        buffer.remove(database: 2)
        #expect(buffer.count == 50_000)
        #expect(lookup(buffer, 2, Array("k1".utf8)) == nil)
        let items = buffer.sorted()
        let kept = items[49_000...].map { Array(buffer.record($0).key) }
        let dropped = Array(buffer.record(items[0]).key)
        buffer.keep(items[49_000...])  // as after a flush whose last transaction failed
        #expect(buffer.count == 1_000)
        for key in kept { #expect(lookup(buffer, 1, key) == .some(Array(repeating: 7, count: 30))) }
        #expect(lookup(buffer, 1, dropped) == nil)
        buffer.removeAll()
        #expect(buffer.isEmpty && buffer.bytes == 0)  // an empty buffer holds no memory
        put(buffer, 1, [1], [2])                       // and works again
        #expect(lookup(buffer, 1, [1]) == .some([2]))
    }
}

/// Regression: every operation that does not go through the cache flushed the whole write buffer
/// (2,000 inserts and appends made 2,000 flushes). Now it commits only its own collection's changes.
@Suite struct FlushScopeTests {
    @Test func anOperationFlushesOnlyTheCollectionItTouches() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        let a = try store.map("a", key: UInt64.self, value: UInt64.self)
        let b = try store.map("b", key: UInt64.self, value: UInt64.self)
        for i in UInt64(0)..<1_000 { try a.setValue(i, forKey: i) }
        try b.setValue(1, forKey: 1)
        let before = store.statistics.entriesFlushed
        #expect(try b.count == 1)                     // b's one change is committed for the count
        #expect(store.statistics.entriesFlushed == before + 1)
        #expect(try b.updateValue(2, forKey: 1) == 1) // through the buffer; a's 1,000 stay buffered
        #expect(store.statistics.entriesFlushed == before + 1)
        #expect(try b.withEntries { Array($0.map(\.value)) } == [2])  // a scan of b commits only b's change
        #expect(store.statistics.entriesFlushed == before + 2)
        #expect(store.statistics.bufferedBytes > 0)
        #expect(try a[999] == 999)                    // answered by the buffer
        #expect(try a.count == 1_000)                 // now a's changes are committed
        #expect(store.statistics.entriesFlushed == before + 1_002)
        try fixture.reopen()
        let a2 = try fixture.store.map("a", key: UInt64.self, value: UInt64.self)
        let b2 = try fixture.store.map("b", key: UInt64.self, value: UInt64.self)
        #expect(try a2.count == 1_000 && b2[1] == 2)
    }
}

