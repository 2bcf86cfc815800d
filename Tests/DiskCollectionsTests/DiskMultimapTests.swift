import DiskCollections
import Testing
import TestSupport

@Suite struct DiskMultimapTests {
    @Test func matchesADictionaryOfSetsUnderRandomOperations() throws {
        let f = try StoreFixture()
        var rng = SplitMix64(seed: 50)
        var model: [String: Set<UInt32>] = [:]
        var postings = try f.store.multimap("postings", key: String.self, value: UInt32.self)
        let words = (0..<300).map { "w\($0)" }
        for batch in 0..<150 {
            try f.store.write { () throws in
                for _ in 0..<1_000 {
                    let w = words.randomElement(using: &rng)!
                    let d = UInt32.random(in: 0..<60, using: &rng)
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0..<5:
                        let inserted = model[w, default: []].insert(d).inserted
                        #expect(try postings.insert(d, forKey: w) == inserted)
                    case 5..<7:
                        let removed = model[w]?.remove(d) != nil
                        #expect(try postings.remove(d, forKey: w) == removed)
                        if model[w]?.isEmpty == true { model[w] = nil }
                    case 7: #expect(try postings.contains(d, forKey: w) == (model[w]?.contains(d) ?? false))
                    case 8: #expect(try postings.count(forKey: w) == model[w]?.count ?? 0)
                    default: #expect(try postings.values(forKey: w) == (model[w] ?? []).sorted())
                    }
                }
                if batch % 30 == 7 {
                    let w = words.randomElement(using: &rng)!
                    let removed = model.removeValue(forKey: w) != nil
                    #expect(try postings.removeAll(forKey: w) == removed)
                }
            }
            if batch % 50 == 49 {
                try f.reopen()
                postings = try f.store.multimap("postings", key: String.self, value: UInt32.self)
            }
        }
        #expect(try postings.count == model.values.reduce(0) { $0 + $1.count })
        #expect(try postings.keys() == model.keys.sorted())
        for w in words { #expect(try postings.values(forKey: w) == (model[w] ?? []).sorted()) }
    }

    @Test func variableWidthValuesAreSortedToo() throws {
        let f = try StoreFixture()
        let tags = try f.store.multimap("tags", key: Int.self, value: String.self)
        #expect(try tags.insert(contentsOf: ["b", "", "a", "b", "ab"], forKey: 1) == 4)
        #expect(try tags.values(forKey: 1) == ["", "a", "ab", "b"])
        #expect(throws: DiskCollectionsError.self) { try tags.insert(String(repeating: "v", count: 600), forKey: 1) }
    }
}
