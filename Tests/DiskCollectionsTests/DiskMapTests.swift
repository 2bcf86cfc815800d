import DiskCollections
import Testing
import TestSupport

@Suite struct DiskMapTests {
    struct Rollback: Error {}

    /// 200k random operations against `Dictionary`, in batches (some rolled back), with reopens.
    @Test func matchesDictionaryUnderRandomOperations() throws {
        let f = try StoreFixture()
        var rng = SplitMix64(seed: 10)
        var model: [Int32: String] = [:]
        var map = try f.store.map("m", key: Int32.self, value: String.self)
        for batch in 0..<200 {
            let rollback = batch % 9 == 4
            var staged = model
            do {
                try f.store.write { () throws in
                    staged = model
                    for _ in 0..<1_000 {
                        let k = Int32.random(in: -3_000...3_000, using: &rng)
                        switch Int.random(in: 0..<10, using: &rng) {
                        case 0..<4:
                            let v = String(repeating: "v", count: Int.random(in: 0..<20, using: &rng)) + "\(k)"
                            try map.setValue(v, forKey: k)
                            staged[k] = v
                        case 4:
                            let v = "u\(k)"
                            let old = staged.updateValue(v, forKey: k)
                            #expect(try map.updateValue(v, forKey: k) == old)
                        case 5..<7:
                            let old = staged.removeValue(forKey: k)
                            #expect(try map.removeValue(forKey: k) == old)
                        case 7:
                            #expect(try map.contains(k) == (staged[k] != nil))
                        default:
                            #expect(try map[k] == staged[k])
                        }
                    }
                    if rollback { throw Rollback() }
                }
                model = staged
            } catch is Rollback {}
            if batch % 50 == 49 {
                try f.reopen()
                map = try f.store.map("m", key: Int32.self, value: String.self)
            }
        }
        #expect(try map.count == model.count)
        let sorted = model.sorted { $0.key < $1.key }
        let all = try map.entries()
        #expect(all.map(\.key) == sorted.map(\.key))
        #expect(all.map(\.value) == sorted.map(\.value))
        #expect(try map.first?.key == sorted.first?.key)
        #expect(try map.last?.key == sorted.last?.key)
        // Ranges of every shape, both directions.
        let keys = sorted.map(\.key)
        #expect(try map.keys(in: -100..<250) == keys.filter { (-100..<250).contains($0) })
        #expect(try map.keys(in: -100...250) == keys.filter { (-100...250).contains($0) })
        #expect(try map.keys(in: 1_000...) == keys.filter { $0 >= 1_000 })
        #expect(try map.keys(in: ..<(-1_000)) == keys.filter { $0 < -1_000 })
        #expect(try map.keys(in: ...(-1_000)) == keys.filter { $0 <= -1_000 })
        #expect(try map.keys(in: -100..<250, reverse: true) == keys.filter { (-100..<250).contains($0) }.reversed())
        #expect(try map.entries(in: 0..., limit: 3).map(\.key) == Array(keys.filter { $0 >= 0 }.prefix(3)))
    }

    @Test func stringKeysSupportPrefixAndEdgeValues() throws {
        let f = try StoreFixture()
        let map = try f.store.map("names", key: String.self, value: Int.self)
        let words = ["", "\0", "\0x", "app", "apple", "applet", "apply", "b", "é", "ap\u{FFFF}", "aq"]
        try f.store.write { for (i, w) in words.enumerated() { try map.setValue(i, forKey: w) } }
        #expect(try map.entries(withPrefix: "app").map(\.key) == ["app", "apple", "applet", "apply"])
        #expect(try map.entries(withPrefix: "ap").map(\.key) == ["app", "apple", "applet", "apply", "ap\u{FFFF}"])
        #expect(try map.entries(withPrefix: "\0").map(\.key) == ["\0", "\0x"])
        #expect(try map.entries(withPrefix: "").count == words.count)
        #expect(try map[""] == 0)
        #expect(try map["e\u{301}"] == 8)  // canonically equal to "é"
        #expect(try map.keys() == words.sorted())
    }

    @Test func keysTooLongAreATypedErrorNamingTheCollection() throws {
        let f = try StoreFixture()
        let map = try f.store.map("long", key: String.self, value: Int.self)
        try map.setValue(1, forKey: String(repeating: "x", count: 511))
        let error = #expect(throws: DiskCollectionsError.self) { try map.setValue(1, forKey: String(repeating: "x", count: 512)) }
        #expect(error == .keyTooLong(collection: "long", length: 512, maximum: 511))
        #expect(error?.description.contains("'long'") == true)
        #expect(throws: DiskCollectionsError.self) { try map[String(repeating: "x", count: 600)] }
        #expect(try map.count == 1)
    }
}
