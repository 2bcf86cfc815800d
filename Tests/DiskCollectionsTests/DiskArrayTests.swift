import DiskCollections
import Testing
import TestSupport

@Suite struct DiskArrayTests {
    @Test func matchesArrayUnderRandomOperations() throws {
        let f = try StoreFixture()
        var rng = SplitMix64(seed: 30)
        var model: [Double] = []
        var array = try f.store.array("a", of: Double.self)
        for batch in 0..<150 {
            try f.store.write { () throws in
                for _ in 0..<1_000 {
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0..<4:
                        let v = Double.random(in: -1e6...1e6, using: &rng)
                        try array.append(v); model.append(v)
                    case 4:
                        let vs = (0..<Int.random(in: 0..<5, using: &rng)).map { Double($0) - 0.0 }
                        try array.append(contentsOf: vs); model.append(contentsOf: vs)
                    case 5..<7:
                        let expected = model.popLast()
                        #expect(try array.popLast() == expected)
                    case 7 where !model.isEmpty:
                        let i = Int.random(in: 0..<model.count, using: &rng)
                        try array.set(-Double(i), at: i); model[i] = -Double(i)
                    default:
                        if model.isEmpty { #expect(try array.first == nil); continue }
                        let i = Int.random(in: 0..<model.count, using: &rng)
                        #expect(try array[i] == model[i])
                    }
                }
            }
            if batch % 50 == 49 {
                try f.reopen()
                array = try f.store.array("a", of: Double.self)
            }
        }
        #expect(try array.count == model.count)
        #expect(try array.elements() == model)
        #expect(try array.last == model.last)
        if model.count > 10 { #expect(try array.elements(in: 3..<10) == Array(model[3..<10])) }
    }

    @Test func outOfRangeIsATypedErrorNotATrap() throws {
        let f = try StoreFixture()
        let array = try f.store.array("costs", of: Int16.self)
        try array.append(contentsOf: [1, 2, 3])
        #expect(throws: DiskCollectionsError.indexOutOfRange(collection: "costs", index: 3, count: 3)) { try array[3] }
        #expect(throws: DiskCollectionsError.indexOutOfRange(collection: "costs", index: -1, count: 3)) { try array[-1] }
        #expect(throws: DiskCollectionsError.self) { try array.set(9, at: 7) }
        #expect(try array.elements() == [1, 2, 3])
    }
}
