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

/// The queue's buffer (appends and pops outside transactions) against an in-memory model.
@Suite struct DiskQueueBufferTests {
    @Test(arguments: [UInt64(1), 2, 3])
    func randomInterleavingsKeepFIFOOrderAndCounts(seed: UInt64) throws {
        let fixture = try StoreFixture()
        var queue = try fixture.store.queue("q", of: UInt64.self)
        var other = try fixture.store.map("m", key: UInt64.self, value: UInt64.self)
        var model: [UInt64] = []
        var front = 0
        var next: UInt64 = 0
        var generator = SplitMix64(seed: seed)
        for step in 0..<20_000 {
            switch generator.next() % 100 {
            case 0..<50:  // append, sometimes many
                let n = generator.next() % 8 == 0 ? Int(generator.next() % 300) : 1
                let items = (0..<n).map { _ in next &+= 1; return next }
                try queue.append(contentsOf: items)
                model += items
            case 50..<90:
                let got = try queue.popFirst()
                let want: UInt64? = front < model.count ? model[front] : nil
                if want != nil { front += 1 }
                #expect(got == want, "step \(step)")
            case 90..<93: #expect(try queue.count == model.count - front, "step \(step)")
            case 93..<95: #expect(try queue.first == (front < model.count ? model[front] : nil), "step \(step)")
            case 95: try other.setValue(UInt64(step), forKey: UInt64(step))  // the map's buffer flushes with the queue's
            case 96: try fixture.store.flush()
            case 97:  // a transaction in between sees the committed queue and can change it
                try fixture.store.write {
                    #expect(try queue.count == model.count - front)
                    next &+= 1
                    try queue.append(next)
                    model.append(next)
                }
            case 98:
                try fixture.reopen()
                queue = try fixture.store.queue("q", of: UInt64.self)
                other = try fixture.store.map("m", key: UInt64.self, value: UInt64.self)
            default:
                if generator.next() % 20 == 0 {
                    #expect(try queue.elements() == Array(model[front...]), "step \(step)")
                }
            }
        }
        try fixture.reopen()
        #expect(try fixture.store.queue("q", of: UInt64.self).elements() == Array(model[front...]))
    }

    @Test func appendsPoppedBeforeAFlushNeverReachTheDisk() throws {
        let fixture = try StoreFixture()
        let queue = try fixture.store.queue("q", of: String.self)
        try queue.append(contentsOf: ["a", "b"])
        try fixture.store.flush()
        try queue.append(contentsOf: ["c", "d"])
        #expect(try queue.popFirst() == "a")
        #expect(try queue.popFirst() == "b")
        #expect(try queue.popFirst() == "c")
        #expect(try queue.count == 1)
        try fixture.reopen()
        let reopened = try fixture.store.queue("q", of: String.self)
        #expect(try reopened.elements() == ["d"])
        #expect(try reopened.popFirst() == "d")
        #expect(try reopened.popFirst() == nil)
        #expect(try reopened.isEmpty)
        try reopened.append("e")  // numbering goes on after the numbers given in the buffer
        try fixture.reopen()
        #expect(try fixture.store.queue("q", of: String.self).elements() == ["e"])
    }

    /// `first` outside a transaction comes from the buffer (read-ahead batch or pending appends) and
    /// commits nothing; inside one it is the transaction's.
    @Test func firstIsAnsweredFromTheBuffer() throws {
        let f = try StoreFixture()
        let queue = try f.store.queue("q", of: UInt64.self)
        #expect(try queue.first == nil)
        for i in 0..<3 as Range<UInt64> { try queue.append(i) }
        let flushes = f.store.statistics.flushes
        #expect(try queue.first == 0)            // a pending append
        #expect(f.store.statistics.flushes == flushes)
        try f.store.flush()
        for i in 3..<2_000 as Range<UInt64> { try queue.append(i) }
        #expect(try queue.first == 0)            // committed: read ahead
        for i in 0..<1_500 as Range<UInt64> { #expect(try queue.popFirst() == i) }
        #expect(try queue.first == 1_500)        // past the first read-ahead batch
        #expect(f.store.statistics.flushes == flushes + 1)
        #expect(try f.store.write { try queue.first } == 1_500)
        try f.reopen()
        let again = try f.store.queue("q", of: UInt64.self)
        #expect(try again.first == 1_500)
        #expect(try again.count == 500)
    }

    @Test func aRemovedQueueDropsItsBuffer() throws {
        let fixture = try StoreFixture()
        let queue = try fixture.store.queue("q", of: UInt64.self)
        try queue.append(contentsOf: [1, 2, 3])
        try fixture.store.removeCollection("q")
        #expect(throws: DiskCollectionsError.collectionRemoved(collection: "q")) { try queue.append(4) }
        let again = try fixture.store.queue("q", of: UInt64.self)
        #expect(try again.isEmpty)
        try again.append(9)
        try fixture.reopen()
        #expect(try fixture.store.queue("q", of: UInt64.self).elements() == [9])
    }
}
