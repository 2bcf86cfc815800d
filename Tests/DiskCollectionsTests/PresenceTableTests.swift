@testable import DiskCollections
import Foundation
import Testing
import TestSupport

/// The dense cache of present keys in front of sets of fixed-width keys (`PresenceTable`), alone and
/// through a store.
@Suite struct PresenceTableTests {
    struct Oops: Error {}

    private func word(_ table: PresenceTable, _ key: UInt64) -> UInt64 {
        withUnsafeBytes(of: key.bigEndian) { table.word($0) }
    }

    /// Random inserts, removes and lookups against a model, in a table small enough to evict all the
    /// time and shrunk and grown on the way: it never answers "present" for a key not in the model,
    /// always answers it for a key just inserted, and stays within its budget.
    @Test func neverClaimsAnAbsentKey() {
        let table = PresenceTable(width: 8, maximumBytes: 64 << 10)
        var model = Set<UInt64>()
        var rng = SplitMix64(seed: 11)
        for step in 0..<300_000 {
            let key = UInt64.random(in: 0..<40_000, using: &rng)
            let w = word(table, key)
            switch Int.random(in: 0..<10, using: &rng) {
            case 0..<4:
                model.insert(key)
                table.insert(w)
                #expect(table.contains(w))
            case 4..<6:
                model.remove(key)
                table.remove(w)
                #expect(!table.contains(w))
            default:
                if table.contains(w) { #expect(model.contains(key), "step \(step): claims absent key \(key)") }
            }
            if step % 50_000 == 49_999 { table.setMaximumBytes(step % 100_000 == 99_999 ? 256 << 10 : 24 << 10) }
            #expect(table.count <= model.count)
        }
        #expect(table.evictions > 0)
        #expect(table.bytes <= 256 << 10 + 256 << 10 / 16 + 16 * 4096)
        // Every key the table holds is in the model, and lookups of all of them agree.
        for key in 0..<40_000 as Range<UInt64> where table.contains(word(table, key)) { #expect(model.contains(key)) }
    }

    /// The key whose mixed word is 0 (the empty-slot marker) is held aside and behaves like any other.
    @Test func theZeroWordIsAKeyLikeAnother() {
        let table = PresenceTable(width: 8, maximumBytes: 1 << 20)
        // fmix64 maps 0 to 0.
        #expect(word(table, 0) == 0)
        #expect(!table.contains(0))
        table.insert(0)
        #expect(table.contains(0))
        #expect(table.count == 1)
        table.remove(0)
        #expect(!table.contains(0))
        #expect(table.count == 0)
    }

    /// `unmix` inverts the mix, so a flush gets the keys' bytes back from the words.
    @Test func unmixInvertsTheMix() {
        var rng = SplitMix64(seed: 9)
        for width in [4, 8] {
            let table = PresenceTable(width: width, maximumBytes: 1 << 20)
            for _ in 0..<10_000 {
                var x = UInt64.random(in: 0...UInt64.max, using: &rng)
                if width == 4 { x &= 0xffff_ffff }
                let w = withUnsafeBytes(of: x) { table.word(UnsafeRawBufferPointer(rebasing: $0[0..<width])) }
                #expect(PresenceTable.unmix(w) == x)
            }
        }
    }

    /// Dirty keys (a set's buffered inserts) are never evicted, however small the table, and
    /// `takeDirty` hands each back once; a dirty key removed is not handed back.
    @Test func dirtyKeysStayUntilTaken() {
        let table = PresenceTable(width: 8, maximumBytes: 4 << 10)
        var rng = SplitMix64(seed: 4)
        var dirty = Set<UInt64>()
        for i in 0..<20_000 {
            let w = UInt64.random(in: 0...UInt64.max, using: &rng)
            if i % 2 == 0 { table.insert(w, dirty: true); dirty.insert(w) } else { table.insert(w) }
        }
        let removed = dirty.first!
        table.remove(removed)
        dirty.remove(removed)
        for w in dirty { #expect(table.contains(w)) }
        #expect(table.dirtyCount == dirty.count)
        var taken: [UInt64] = []
        table.takeDirty(into: &taken)
        #expect(Set(taken) == dirty && taken.count == dirty.count)
        #expect(table.dirtyCount == 0)
        var again: [UInt64] = []
        table.takeDirty(into: &again)
        #expect(again.isEmpty)
        // Clean now, they may be evicted: the table shrinks back to its budget (the store's cache
        // sets it again after each flush).
        #expect(table.bytes > 64 << 10)
        table.setMaximumBytes(4 << 10)
        for _ in 0..<20_000 { table.insert(UInt64.random(in: 1...UInt64.max, using: &rng)) }
        #expect(table.bytes < 32 << 10)
    }

    /// Insert-only into a full table (the search's pattern: each new state evicts an old one): the
    /// clusters of linear probing stay short. A hand that swept slot by slot emptied the slots behind
    /// it and filled those ahead, and inserts became scans 100 times slower.
    @Test func evictionKeepsProbeRunsShort() {
        let table = PresenceTable(width: 8, maximumBytes: 1 << 20)
        var rng = SplitMix64(seed: 5)
        for _ in 0..<1_000_000 { table.insert(UInt64.random(in: 1...UInt64.max, using: &rng)) }
        #expect(table.evictions > 800_000)
        // At ⅞ full, the longest run of uniform keys is several hundred slots; a swept table's
        // reaches most of the segment (about 7,900 slots here).
        #expect(table.longestRun() < 1_500, "longest run \(table.longestRun())")
    }

    /// Through a store: set operations outside transactions (through the table), inside transactions
    /// (past it), transactions that throw, `removeAll`, reopening and a tiny budget all give the
    /// model's answers.
    @Test func setThroughTheTableMatchesTheModel() throws {
        let dir = TemporaryDirectory()
        var store = try Store(at: dir.path, cacheBudget: .bytes(96 << 10))
        var set = try store.set("visited", of: UInt64.self)
        var model = Set<UInt64>()
        var rng = SplitMix64(seed: 23)
        for step in 0..<60_000 {
            let e = UInt64.random(in: 0..<20_000, using: &rng)
            switch Int.random(in: 0..<20, using: &rng) {
            case 0..<8:
                #expect(try set.insert(e) == model.insert(e).inserted)
            case 8..<14:
                #expect(try set.contains(e) == model.contains(e), "step \(step)")
            case 14..<16:
                #expect(try set.remove(e) == (model.remove(e) != nil))
            case 16:
                // Removed in a transaction: the table must forget it at once.
                try store.write { _ = try set.remove(e) }
                model.remove(e)
                #expect(try !set.contains(e))
            case 17:
                // Inserted, then the transaction throws: not present afterwards.
                let wasPresent = model.contains(e)
                #expect(throws: Oops.self) { try store.write { _ = try set.insert(e); throw Oops() } }
                #expect(try set.contains(e) == wasPresent)
            case 18:
                if step % 500 == 0 {
                    try set.removeAll()
                    model.removeAll()
                }
            default:
                if step % 20_000 == 0 {
                    store.close()
                    store = try Store(at: dir.path, cacheBudget: .bytes(96 << 10))
                    set = try store.set("visited", of: UInt64.self)
                }
            }
        }
        #expect(try set.count == model.count)
        #expect(try set.elements() == model.sorted())
        let stats = store.statistics
        #expect(stats.hits > 0 && stats.misses > 0)
    }

    /// A set empty when opened keeps a complete table: new keys are answered "absent" without LMDB
    /// (no misses at all), until a commit the table did not see, after which it asks LMDB again.
    @Test func aCompleteTableAnswersAbsentAndStepsAsideForOtherCommits() throws {
        let dir = TemporaryDirectory()
        let store = try Store(at: dir.path)
        let set = try store.set("visited", of: UInt64.self)
        let queue = try store.queue("frontier", of: UInt64.self)  // its commit must not cost completeness
        for i in 0..<20_000 as Range<UInt64> {
            #expect(try set.insert(i * 7))
            #expect(try !set.contains(i * 7 + 1))
            try queue.append(i)
        }
        // The count comes from the complete table: nothing is committed for it.
        let flushes = store.statistics.flushes
        #expect(try set.count == 20_000)
        #expect(store.statistics.flushes == flushes)
        try store.flush()
        #expect(try set.insert(14) == false)
        #expect(store.statistics.misses == 0)
        // Inserted in an explicit transaction: the buffered path must see it.
        try store.write { _ = try set.insert(3) }
        #expect(try set.contains(3))
        #expect(try set.insert(3) == false)
        // Removed in a transaction that throws: still there.
        #expect(throws: Oops.self) { try store.write { _ = try set.remove(7); throw Oops() } }
        #expect(try set.contains(7))
        #expect(store.statistics.misses > 0)
        // No longer complete: the count is LMDB's, after a flush.
        #expect(try set.count == 20_001)
    }

    /// Another process adds a key to the set while this one's table is complete: the next lookup
    /// sees LMDB's transaction id move and asks LMDB.
    @Test func anotherProcessesInsertIsSeen() throws {
        let dir = TemporaryDirectory()
        let store = try Store(at: dir.path)
        let set = try store.set("visited", of: UInt64.self)
        for i in 0..<1_000 as Range<UInt64> { try set.insert(i) }
        try store.flush()
        #expect(try !set.contains(5_000))
        let script = #"""
        import struct, sys, lmdb
        env = lmdb.open(sys.argv[1], max_dbs=300)
        with env.begin(write=True) as txn:
            txn.put(struct.pack(">Q", 5000), b"", db=env.open_db(b"visited", txn=txn, create=False))
        """#
        let result = try run("/usr/bin/env", ["python3", "-c", script, dir.path])
        #expect(result.status == 0, "python failed: \(result.standardError)")
        try store.flush()  // ends the kept snapshot, as the docs say
        #expect(try set.contains(5_000))
        #expect(try set.insert(5_000) == false)
    }

    /// A removed set's table goes with it: a set made again under the name starts empty, and a map in
    /// the freed slot is not answered from the old table.
    @Test func aRemovedSetLeavesNoPresence() throws {
        let dir = TemporaryDirectory()
        let store = try Store(at: dir.path)
        let set = try store.set("s", of: UInt64.self)
        for i in 0..<1_000 as Range<UInt64> { try set.insert(i) }
        #expect(try set.contains(7))
        #expect(try store.removeCollection("s"))
        let again = try store.set("s", of: UInt64.self)
        #expect(try !again.contains(7))
        #expect(try again.insert(7))
        #expect(try store.removeCollection("s"))
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        #expect(try map[7] == nil)
        #expect(try !map.contains(7))
    }

    /// A queue's pending appends count with the write buffer: past the buffer's share they flush (the
    /// store's other buffered writes with them), and FIFO order and counts hold across it all.
    @Test func queueAppendsCountWithTheBuffer() throws {
        let dir = TemporaryDirectory()
        var store = try Store(at: dir.path, cacheBudget: .bytes(256 << 10))
        var queue = try store.queue("q", of: UInt64.self)
        var model: [UInt64] = []
        var head = 0
        var rng = SplitMix64(seed: 3)
        var next: UInt64 = 0
        var flushes = 0
        for step in 0..<300_000 {
            if Int.random(in: 0..<4, using: &rng) < 3 {
                try queue.append(next); model.append(next); next += 1
            } else {
                let expected: UInt64? = head < model.count ? model[head] : nil
                if expected != nil { head += 1 }
                #expect(try queue.popFirst() == expected)
            }
            // The buffer's share is at least 1 MiB, whatever the budget.
            #expect(store.statistics.bufferedBytes <= 3 << 19)
            if step == 100_000 {
                flushes += store.statistics.flushes
                store.close()
                store = try Store(at: dir.path, cacheBudget: .bytes(256 << 10))
                queue = try store.queue("q", of: UInt64.self)
            }
        }
        flushes += store.statistics.flushes
        #expect(flushes >= 2)
        #expect(try queue.count == model.count - head)
        var rest: [UInt64] = []
        while let x = try queue.popFirst() { rest.append(x) }
        #expect(rest == Array(model[head...]))
    }
}
