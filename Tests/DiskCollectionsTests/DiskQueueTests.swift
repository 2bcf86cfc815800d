import DiskCollections
import Testing
import TestSupport

@Suite struct DiskQueueTests {
    @Test func isFIFOAcrossCloseAndReopen() throws {
        let f = try StoreFixture()
        var rng = SplitMix64(seed: 40)
        var model: [String] = [], head = 0
        var queue = try f.store.queue("q", of: String.self)
        var serial = 0
        for batch in 0..<200 {
            try f.store.write { () throws in
                for _ in 0..<1_000 {
                    switch Int.random(in: 0..<10, using: &rng) {
                    case 0..<4:
                        serial += 1
                        try queue.append("item \(serial)"); model.append("item \(serial)")
                    case 4:
                        let items = (0..<Int.random(in: 0..<6, using: &rng)).map { i in "bulk \(serial) \(i)" }
                        serial += 1
                        try queue.append(contentsOf: items); model.append(contentsOf: items)
                    case 5..<8:
                        let expected = head < model.count ? model[head] : nil
                        if expected != nil { head += 1 }
                        #expect(try queue.popFirst() == expected)
                    case 8:
                        let n = Int.random(in: 0..<5, using: &rng)
                        let expected = Array(model[head..<min(head + n, model.count)])
                        head += expected.count
                        #expect(try queue.popFirst(n) == expected)
                    default:
                        #expect(try queue.first == (head < model.count ? model[head] : nil))
                        #expect(try queue.count == model.count - head)
                    }
                }
            }
            if batch % 40 == 39 {
                try f.reopen()
                queue = try f.store.queue("q", of: String.self)
            }
        }
        #expect(try queue.elements() == Array(model[head...]))
        // Drain it and start again: order still holds.
        _ = try queue.popFirst(Int.max)
        #expect(try queue.isEmpty)
        try queue.append(contentsOf: ["x", "y"])
        #expect(try queue.popFirst() == "x")
        #expect(try queue.popFirst() == "y")
        #expect(try queue.popFirst() == nil)
    }
}
