import DiskCollections
import Testing
import TestSupport

@Suite struct DiskSetTests {
    @Test func matchesSetUnderRandomOperations() throws {
        let f = try StoreFixture()
        var rng = SplitMix64(seed: 20)
        var model = Set<UInt64>()
        var set = try f.store.set("s", of: UInt64.self)
        for batch in 0..<200 {
            try f.store.write { () throws in
                for _ in 0..<1_000 {
                    let e = UInt64.random(in: 0..<5_000, using: &rng) &* 0x1_0000_0001
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0..<5:
                        let inserted = model.insert(e).inserted
                        #expect(try set.insert(e) == inserted)
                    case 5..<7:
                        let removed = model.remove(e) != nil
                        #expect(try set.remove(e) == removed)
                    default: #expect(try set.contains(e) == model.contains(e))
                    }
                }
            }
            if batch % 60 == 59 {
                try f.reopen()
                set = try f.store.set("s", of: UInt64.self)
            }
        }
        #expect(try set.count == model.count)
        #expect(try set.elements() == model.sorted())
        #expect(try set.min == model.min())
        #expect(try set.max == model.max())
        #expect(try set.elements(in: 1_000_000..<50_000_000_000) == model.sorted().filter { (1_000_000..<50_000_000_000).contains($0) })
    }

    @Test func batchInsertReturnsOnlyNewElementsOnce() throws {
        let f = try StoreFixture()
        let visited = try f.store.set("visited", of: Int.self)
        #expect(try visited.insert(contentsOf: [5, 3, 5, 9]) == [3, 5, 9])
        #expect(try visited.insert(contentsOf: [9, 1, 3, 1, 12]) == [1, 12])
        #expect(try visited.insert(contentsOf: [Int]()) == [])
        var rng = SplitMix64(seed: 21)
        var model = Set(try visited.elements())
        for _ in 0..<20 {
            let batch = (0..<5_000).map { _ in Int.random(in: -20_000...20_000, using: &rng) }
            let expected = Set(batch).subtracting(model).sorted()
            #expect(try visited.insert(contentsOf: batch) == expected)
            model.formUnion(batch)
        }
        #expect(try visited.count == model.count)
    }

    @Test func aFailingBatchLeavesTheSetAsItWas() throws {
        let f = try StoreFixture()
        let names = try f.store.set("names", of: String.self)
        try names.insert("kept")
        #expect(throws: DiskCollectionsError.self) {
            try names.insert(contentsOf: ["a", "b", String(repeating: "z", count: 1_000)])
        }
        #expect(try names.elements() == ["kept"])
    }
}
