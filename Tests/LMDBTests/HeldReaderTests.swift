import Foundation
import LMDB
import Testing
import TestSupport

/// `Environment.readRecent`: the snapshot kept between a cache's misses must never hide this
/// process's own commits, must accept handles opened after it began, and must not stand in the way of
/// map growth or close.
@Suite struct HeldReaderTests {
    static func key(_ k: UInt64) -> [UInt8] { withUnsafeBytes(of: k.bigEndian) { Array($0) } }

    func value(_ env: Environment, _ db: Database, _ k: UInt64) throws -> [UInt8]? {
        try Self.key(k).withUnsafeBytes { key in try env.readRecent { txn in try txn.get(db, key: key) { Array($0) } } }
    }

    @Test func seesEveryCommitOfThisEnvironment() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("a")! }
        for round in 0..<50 {
            #expect(try value(env, db, 1) == (round == 0 ? nil : [UInt8(round - 1)]))
            try env.write { txn in _ = try txn.put(db, key: Self.key(1), value: [UInt8(round)]) }
            #expect(try value(env, db, 1) == [UInt8(round)])
        }
        env.releaseHeldReader()
        #expect(try value(env, db, 1) == [49])  // a new snapshot after the release
    }

    @Test func acceptsADatabaseOpenedAfterItBegan() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(durability: .noSync))
        let a = try env.write { txn in try txn.openDatabase("a")! }
        try env.write { txn in
            _ = try txn.put(a, key: Self.key(1), value: [1])
            let b = try txn.openDatabase("b")!
            _ = try txn.put(b, key: Self.key(2), value: [2])
        }
        env.close()
        // Reopened: "b" exists, but this process has no handle for it until a read opens one.
        let again = try Environment(path: dir.path, options: .init(durability: .noSync))
        let a2 = try again.read { txn in try txn.openDatabase("a", create: false)! }
        #expect(try value(again, a2, 1) == [1])            // a snapshot is now kept
        let b2 = try again.read { txn in try txn.openDatabase("b", create: false)! }  // opened after it began
        #expect(try value(again, b2, 2) == [2])
        #expect(try value(again, a2, 1) == [1])
    }

    @Test func mapGrowthAndCloseEndIt() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("a")! }
        #expect(try value(env, db, 0) == nil)
        let before = env.mapSize
        // Far more than 64 KiB: the map must grow while a snapshot is held from the read above.
        try env.write { txn in
            for k in 0..<UInt64(20_000) { _ = try txn.put(db, key: Self.key(k), value: [UInt8](repeating: 7, count: 16)) }
        }
        #expect(env.mapSize > before)
        for k in stride(from: UInt64(0), to: 20_000, by: 997) { #expect(try value(env, db, k)?.count == 16) }
        env.close()  // with a snapshot held: no trap, the slot is released
        let reopened = try Environment(path: dir.path)
        let a = try reopened.read { txn in try txn.openDatabase("a", create: false)! }
        #expect(try reopened.read { txn in try txn.count(a) } == 20_000)
    }
}
