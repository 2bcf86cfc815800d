import DiskCollections
import LMDB
import Testing
import TestSupport

@Suite struct IterationTests {
    @Test func scopedSequencesMatchTheModelInBothDirections() throws {
        let f = try StoreFixture()
        let map = try f.store.map("m", key: Int16.self, value: UInt64.self)
        let set = try f.store.set("s", of: String.self)
        var rng = SplitMix64(seed: 60)
        var model: [Int16: UInt64] = [:]
        for _ in 0..<3_000 { let k = Int16.random(in: .min ... .max, using: &rng); model[k] = UInt64(bitPattern: Int64(k)) }
        try map.setValues(model.map { ($0.key, $0.value) })
        try set.insert(contentsOf: model.keys.map { "k\($0)" })
        let keys = model.keys.sorted()
        #expect(try map.withEntries { Array($0.map(\.key)) } == keys)
        #expect(try map.withEntries { Array($0.map(\.value)) } == keys.map { model[$0]! })
        #expect(try map.withValues { Array($0) } == keys.map { model[$0]! })
        #expect(try map.withValues(in: DiskKeyBounds(Int16(5)...), reverse: true) { Array($0) }
                == keys.filter { $0 >= 5 }.reversed().map { model[$0]! })
        #expect(try map.withEntries(in: -500..<700, reverse: true) { Array($0.map(\.key)) } == keys.filter { (-500..<700).contains($0) }.reversed())
        #expect(try set.withElements { Array($0) } == model.keys.map { "k\($0)" }.sorted())
        var seen: [Int16] = []
        try map.forEachWhile(in: 0...) { k, _ in seen.append(k); return seen.count < 5 }
        #expect(seen == Array(keys.filter { $0 >= 0 }.prefix(5)))
    }

    /// `forEach` reads as `Sequence.forEach`: a closure that returns nothing, as users write it;
    /// `forEachWhile` stops when its closure returns false.
    /// Bounds are made from typed ranges (the encoded bytes are internal), and select the same keys as
    /// the ranges themselves.
    @Test func boundsComeFromTypedRanges() throws {
        let f = try StoreFixture()
        let set = try f.store.set("s", of: Int64.self)
        try set.insert(contentsOf: Array(-5...20))
        #expect(try set.elements(in: DiskKeyBounds(-2..<3)) == [-2, -1, 0, 1, 2])
        #expect(try set.elements(in: DiskKeyBounds(18...)) == [18, 19, 20])
        #expect(try set.elements(in: DiskKeyBounds(...(-4))) == [-5, -4])
        #expect(try set.elements(in: DiskKeyBounds(-2..<3)) == set.elements(in: -2..<3))
        #expect(try set.elements(in: .all).count == 26)
    }

    @Test func forEachTakesAClosureThatReturnsNothing() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        let set = try store.set("s", of: UInt64.self)
        let array = try store.array("a", of: UInt64.self)
        let multimap = try store.multimap("mm", key: UInt64.self, value: UInt64.self)
        try store.write {
            for i in UInt64(0)..<100 {
                try map.setValue(i * 2, forKey: i)
                try set.insert(i)
                try array.append(i)
                try multimap.insert(i, forKey: i % 10)
            }
        }
        var sum: UInt64 = 0
        try map.forEach { _, v in sum += v }
        try map.forEach(in: 10..<20) { k, _ in sum += k }
        try set.forEach { sum += $0 }
        try set.forEach(in: 90...) { sum += $0 }
        try array.forEach { _, e in sum += e }
        try multimap.forEach { _, v in sum += v }
        #expect(sum == 9_900 + 145 + 4_950 + 945 + 4_950 + 4_950)
        var taken = 0
        try array.forEachWhile { _, _ in taken += 1; return taken < 3 }
        try multimap.forEachWhile { _, _ in taken += 1; return taken < 5 }
        #expect(taken == 5)
        #expect(try array.popLast() == 99)
    }

    @Test func bytesThatDoNotDecodeAreATypedErrorNamingTheCollection() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.map("parent", key: UInt64.self, value: UInt32.self).setValues([(1, 10), (2, 20)])
            store.close()
        }
        // Another tool writes a 3-byte value behind the library's back.
        do {
            let env = try Environment(path: dir.path)
            try env.write { txn in
                let db = try txn.openExistingDatabase("parent")!
                try txn.put(db, key: withUnsafeBytes(of: UInt64(3).bigEndian) { Array($0) }, value: [1, 2, 3])
            }
            env.close()
        }
        let store = try Store(at: dir.path)
        let parent = try store.map("parent", key: UInt64.self, value: UInt32.self)
        #expect(try parent[1] == 10)
        let error = #expect(throws: DiskCollectionsError.self) { try parent[3] }
        #expect(error?.description.contains("'parent'") == true)
        #expect(error?.description.contains("uint32le") == true)
        #expect(throws: DiskCollectionsError.self) { try parent.withEntries { Array($0) } }
        #expect(throws: DiskCollectionsError.self) { try parent.withValues { Array($0) } }
        #expect(throws: DiskCollectionsError.self) { try parent.forEachWhile { _, _ in true } }
        #expect(throws: DiskCollectionsError.self) { try parent.entries() }
    }
}
