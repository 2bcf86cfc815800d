import LMDB
import Testing
import TestSupport

/// Random put/get/delete/cursor operations checked against an in-heap model, across close and reopen.
@Suite struct ModelTests {
    struct Rollback: Error {}

    static func key(_ k: UInt16) -> [UInt8] { withUnsafeBytes(of: k.bigEndian) { Array($0) } }

    @Test func randomOperationsMatchTheModel() throws {
        let dir = TemporaryDirectory()
        var rng = SplitMix64(seed: 42)
        var model: [[UInt8]: [UInt8]] = [:]
        var env = try Environment(path: dir.path, options: .init(mapSize: 256 << 10, durability: .noSync))

        for round in 0..<60 {
            let abort = round % 7 == 3
            var staged = model
            do {
                try env.write { txn in
                    staged = model  // the closure may run again after map growth
                    let db = try txn.openDatabase("model")!
                    for _ in 0..<2_000 {
                        let k = Self.key(UInt16.random(in: 0..<4_000, using: &rng))
                        switch UInt8.random(in: 0..<10, using: &rng) {
                        case 0..<5:
                            let v = (0..<Int.random(in: 0..<64, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
                            try txn.put(db, key: k, value: v)
                            staged[k] = v
                        case 5..<7:
                            let existed = try txn.delete(db, key: k)
                            #expect(existed == (staged.removeValue(forKey: k) != nil))
                        case 7:
                            let inserted = try txn.put(db, key: k, value: [1], flags: .noOverwrite)
                            #expect(inserted == (staged[k] == nil))
                            if inserted { staged[k] = [1] }
                        default:
                            #expect(try txn.get(db, key: k) == staged[k])
                        }
                    }
                    if abort { throw Rollback() }
                }
                model = staged
            } catch is Rollback {
                // The model stays as it was: nothing of the aborted transaction is visible.
            }
            try checkEverything(env, model)
            if round % 10 == 9 {  // close and reopen
                env.close()
                env = try Environment(path: dir.path, options: .init(durability: .noSync))
                try checkEverything(env, model)
            }
        }
        #expect(model.count > 1_000)
    }

    func checkEverything(_ env: Environment, _ model: [[UInt8]: [UInt8]]) throws {
        try env.read { txn in
            guard let db = try txn.openDatabase("model", create: false) else {
                #expect(model.isEmpty)
                return
            }
            #expect(try txn.count(db) == model.count)
            let sorted = model.sorted { $0.key.lexicographicallyPrecedes($1.key) }
            // Full forward and reverse scans.
            let forward = try txn.withCursor(db) { c in c.entries().map { (Array($0.key), Array($0.value)) } }
            #expect(forward.map(\.0) == sorted.map(\.key))
            #expect(forward.map(\.1) == sorted.map(\.value))
            let backward = try txn.withCursor(db) { c in c.entries(reverse: true).map { Array($0.key) } }
            #expect(backward == sorted.map(\.key).reversed())
            // A bounded range, both ways.
            let lo = Self.key(1_000), hi = Self.key(2_500)
            let inRange = sorted.map(\.key).filter { !$0.lexicographicallyPrecedes(lo) && $0.lexicographicallyPrecedes(hi) }
            try lo.withUnsafeBytes { l in
                try hi.withUnsafeBytes { h in
                    let f = try txn.withCursor(db) { c in c.entries(from: l, to: h).map { Array($0.key) } }
                    #expect(f == inRange)
                    let r = try txn.withCursor(db) { c in c.entries(from: l, to: h, reverse: true).map { Array($0.key) } }
                    #expect(r == inRange.reversed())
                }
            }
        }
    }
}
