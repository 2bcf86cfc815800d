import Foundation
import LMDB
import Testing
import TestSupport

@Suite struct EnvironmentTests {
    /// LMDB hands a deleted database's slot to the next database opened; an old handle must fail,
    /// not reach the new database.
    @Test func aDeletedDatabasesHandleIsRefusedAfterItsSlotIsReused() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        let old = try env.write { txn in try txn.openDatabase("x")! }
        try env.write { txn in try txn.clear(old, deleteDatabase: true) }
        let new = try env.write { txn in try txn.openDatabase("y")! }
        #expect(new.handleID == old.handleID)  // the slot was reused
        #expect(!env.isCurrent(old) && env.isCurrent(new))
        try env.write { (txn: Transaction) throws in
            for attempt in 0..<3 {
                let error = #expect(throws: LMDBError.self) {
                    switch attempt {
                    case 0: try txn.put(old, key: [1], value: [1])
                    case 1: _ = try txn.count(old)
                    default: try txn.withCursor(old) { _ in }
                    }
                }
                #expect(error?.code == .badDatabase)
            }
            try txn.put(new, key: [2], value: [2])
        }
        try env.read { (txn: Transaction) throws in #expect(try txn.count(new) == 1) }
    }

    @Test func keysOfZeroOneMaxAndOverMaxBytes() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        #expect(env.maximumKeySize == 511)
        try env.write { txn in
            let db = try txn.openDatabase("keys")!
            for size in [0, 512, 4096] {
                let error = #expect(throws: LMDBError.self) {
                    try txn.put(db, key: [UInt8](repeating: 1, count: size), value: [1])
                }
                #expect(error?.code == .badValueSize)
                #expect(error?.description.contains("\(size) bytes") == true)
                #expect(throws: LMDBError.self) { try txn.get(db, key: [UInt8](repeating: 1, count: size)) }
            }
            // The transaction is still usable after the rejected keys.
            try txn.put(db, key: [7], value: [1])
            try txn.put(db, key: [UInt8](repeating: 9, count: 511), value: [2])
        }
        try env.read { txn in
            let db = try txn.openDatabase("keys", create: false)!
            #expect(try txn.get(db, key: [7]) == [1])
            #expect(try txn.get(db, key: [UInt8](repeating: 9, count: 511)) == [2])
            #expect(try txn.count(db) == 2)
        }
    }

    @Test func dupSortValuesAreLimitedLikeKeys() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        try env.write { txn in
            let db = try txn.openDatabase("dups", flags: .dupSort)!
            try txn.put(db, key: [1], value: [UInt8](repeating: 0, count: 511))
            let error = #expect(throws: LMDBError.self) { try txn.put(db, key: [1], value: [UInt8](repeating: 0, count: 512)) }
            #expect(error?.code == .badValueSize)
            #expect(try txn.put(db, key: [1], value: [2]))
            #expect(try txn.put(db, key: [1], value: [2], flags: .noDuplicate) == false)
            #expect(try txn.count(db) == 2)
        }
    }

    @Test func openingTheSameDirectoryTwiceIsATypedError() throws {
        let dir = TemporaryDirectory()
        let store = dir.appending("store")
        let env = try Environment(path: store)
        let error = #expect(throws: LMDBError.self) { try Environment(path: store) }
        #expect(error?.code == .alreadyOpen)
        // Also through a symbolic link and another spelling of the path.
        try FileManager.default.createSymbolicLink(atPath: dir.appending("link"), withDestinationPath: store)
        #expect(throws: LMDBError.self) { try Environment(path: dir.appending("link")) }
        #expect(throws: LMDBError.self) { try Environment(path: dir.path + "/./store/") }
        // After close, it opens again; closing twice is harmless.
        env.close()
        env.close()
        let again = try Environment(path: dir.appending("link"))
        try again.read { _ in }
    }

    /// Options LMDB cannot take are a typed error that names them, and nothing is created.
    @Test func impossibleOptionsAreRejectedBeforeAnythingIsCreated() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/never"
        let cases: [Environment.Options] = [
            .init(maximumDatabases: -1), .init(maximumDatabases: 1 << 40), .init(maximumReaders: 0),
            .init(maximumReaders: -5), .init(mapSize: -1), .init(mapSize: 1 << 20, maximumMapSize: 1 << 10),
        ]
        for options in cases {
            let error = #expect(throws: LMDBError.self) { try Environment(path: path, options: options) }
            #expect(error?.code == .invalidArgument)
            #expect(error.map { "\($0)".contains("use") || "\($0)".contains("below") } == true)
        }
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func aClosedEnvironmentThrows() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        env.close()
        let error = #expect(throws: LMDBError.self) { try env.read { _ in } }
        #expect(error?.code == .closed)
    }

    @Test func aThrowingWriteLeavesNothing() throws {
        struct Oops: Error {}
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        try env.write { txn in try txn.put(try txn.openDatabase("d")!, key: [1], value: [1]) }
        #expect(throws: Oops.self) {
            try env.write { txn in
                let db = try txn.openDatabase("d")!
                try txn.put(db, key: [2], value: [2])
                try txn.delete(db, key: [1])
                _ = try txn.openDatabase("new")!
                throw Oops()
            }
        }
        try env.read { txn in
            let db = try txn.openDatabase("d", create: false)!
            #expect(try txn.get(db, key: [1]) == [1])
            #expect(try txn.get(db, key: [2]) == nil)
            #expect(try txn.openDatabase("new", create: false) == nil)
            #expect(try txn.databaseNames() == ["d"])
        }
    }

    @Test func nestedWriteIsATypedErrorAndReadInsideWriteWorks() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        try env.write { txn in
            let db = try txn.openDatabase("d")!
            try txn.put(db, key: [1], value: [1])
            let error = #expect(throws: LMDBError.self) { try env.write { _ in } }
            #expect(error?.code == .badTransaction)
            // A reader inside the write sees the last committed snapshot, not the uncommitted put.
            try env.read { r throws in #expect(try r.openDatabase("d", create: false) == nil) }
        }
    }

    @Test func openingWithOtherFlagsIsIncompatible() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        try env.write { txn in _ = try txn.openDatabase("d", flags: .dupSort) }
        let error = #expect(throws: LMDBError.self) { try env.write { txn in _ = try txn.openDatabase("d") } }
        #expect(error?.code == .incompatible)
        try env.read { txn throws in #expect(try txn.openExistingDatabase("d")?.flags == .dupSort) }
    }

    @Test func readOnlyEnvironmentRejectsWritesAndMissingStores() throws {
        let dir = TemporaryDirectory()
        do {
            let env = try Environment(path: dir.path)
            try env.write { txn in try txn.put(try txn.openDatabase("d")!, key: [1], value: [1]) }
        }
        let ro = try Environment(path: dir.path, options: .init(readOnly: true))
        let error = #expect(throws: LMDBError.self) { try ro.write { txn in _ = try txn.openDatabase("d") } }
        #expect(error?.code == .permissionDenied)
        try ro.read { txn throws in #expect(try txn.get(try txn.openDatabase("d", create: false)!, key: [1]) == [1]) }
        let missing = #expect(throws: LMDBError.self) {
            try Environment(path: dir.appending("missing"), options: .init(readOnly: true))
        }
        #expect(missing?.code == .noSuchFile)
        #expect(missing?.description.contains("missing") == true)
    }

    @Test func appendOutOfOrderIsAnError() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        let error = #expect(throws: LMDBError.self) {
            try env.write { txn in
                let db = try txn.openDatabase("d")!
                try txn.put(db, key: [5], value: [1], flags: .append)
                try txn.put(db, key: [3], value: [1], flags: .append)
            }
        }
        #expect(error?.code == .keyExists)
    }
}

/// Reader slots: LMDB's table holds `maximumReaders` (126 by default) snapshots at once.
@Suite struct ReaderSlotTests {
    /// Opens `depth` read transactions one inside another (each holds a slot until it ends).
    private func nest(_ env: Environment, _ depth: Int) throws {
        guard depth > 0 else { return }
        try env.read { _ in try nest(env, depth - 1) }
    }

    /// 126 simultaneous readers succeed; the 127th is a typed error that says what to do, and the
    /// others are unharmed; once they end, 400 short-lived readers one after another all succeed.
    @Test func the127thSimultaneousReaderIsATypedError() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        try env.write { txn in try txn.put(try txn.openDatabase("d")!, key: [1], value: [2]) }
        try nest(env, 126)
        let error = #expect(throws: LMDBError.self) { try nest(env, 127) }
        #expect(error?.code == .readersFull)
        #expect(error.map { "\($0)".contains("larger maximumReaders") } == true, "\(String(describing: error))")
        for _ in 0..<400 {
            try env.read { (txn: Transaction) throws in #expect(try txn.count(try txn.openExistingDatabase("d")!) == 1) }
        }
        #expect(try env.info().readers <= 126)
    }
}
