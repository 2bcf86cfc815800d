import DiskCollections
import Foundation
import LMDB
import Testing
import TestSupport

@Suite struct StoreTests {
    /// Regression: a stored Codable value that does not fit the type asked for escaped as a raw
    /// `DecodingError`; it is the library's `corrupt` error naming the collection and the field.
    @Test func anIntegerFieldReadAsADoubleIsAMismatchNotAConversion() throws {
        struct P1: Codable { var x: Int }
        struct P2: Codable { var x: Double }
        let bytes = try CBOREncoder().encode(P1(x: 42))
        #expect(throws: DecodingError.self) { _ = try CBORDecoder().decode(P2.self, from: bytes) }
        #expect(try CBORDecoder().decode(P2.self, from: try CBOREncoder().encode(P2(x: 42))).x == 42)
    }

    @Test func aCodableMismatchIsACorruptErrorNamingTheCollection() throws {
        struct Old: CodableDiskValue { var x: String }
        struct New: CodableDiskValue { var x: Int; var y: Int }
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.write { try store.map("points", key: UInt64.self, value: Old.self).setValue(Old(x: "a"), forKey: 1) }
            store.close()
        }
        // The type was changed under the same codec name: rename the recorded codec as a renamed type would.
        do {
            let env = try Environment(path: dir.path, options: .init(maximumDatabases: 300))
            defer { env.close() }
            try env.write { txn in
                let catalog = try txn.openDatabase("__diskcollections_catalog")!
                let record = String(decoding: try txn.get(catalog, key: Array("points".utf8))!, as: UTF8.self)
                try txn.put(catalog, key: Array("points".utf8), value: Array(record.replacingOccurrences(of: "cbor:Old", with: "cbor:New").utf8))
            }
        }
        let store = try Store(at: dir.path, cacheBudget: .disabled)
        defer { store.close() }
        let points = try store.map("points", key: UInt64.self, value: New.self)
        for read in [{ _ = try points[1] }, { try points.withEntries { entries in for _ in entries {} } }] as [() throws -> Void] {
            do {
                try read()
                Issue.record("expected an error")
            } catch let DiskCollectionsError.corrupt(collection, detail) {
                #expect(collection == "points")
                #expect(detail.contains("x"), "\(detail)")
            }
        }
    }

    /// Regression: after removing map `a` and creating map `b`, a write through the old `a` landed in
    /// `b` (LMDB gave `b` the deleted database's slot). Now every use of a removed collection's handle
    /// is a typed error, with the cache and without, and `b` is untouched.
    @Test(arguments: [true, false])
    func aRemovedCollectionsHandleNeverReachesAnother(cached: Bool) throws {
        let dir = TemporaryDirectory()
        let store = try Store(at: dir.path, cacheBudget: cached ? .automatic : .disabled)
        defer { store.close() }
        let a = try store.map("a", key: UInt64.self, value: UInt64.self)
        let s = try store.set("s", of: UInt64.self)
        let q = try store.queue("q", of: UInt64.self)
        try a.setValue(1, forKey: 1)
        try s.insert(1)
        try q.append(1)
        for name in ["a", "s", "q"] { #expect(try store.removeCollection(name)) }
        let b = try store.map("b", key: UInt64.self, value: UInt64.self)
        let t = try store.set("t", of: UInt64.self)
        try b.setValue(10, forKey: 10)
        let removed = DiskCollectionsError.collectionRemoved(collection: "a")
        #expect(throws: removed) { try a.setValue(2, forKey: 2) }
        #expect(throws: removed) { try a.removeValue(forKey: 10) }
        #expect(throws: removed) { _ = try a[10] }
        #expect(throws: removed) { _ = try a.count }
        #expect(throws: removed) { try store.write { try a.setValue(3, forKey: 3) } }
        #expect(throws: DiskCollectionsError.collectionRemoved(collection: "s")) { try s.insert(5) }
        #expect(throws: DiskCollectionsError.collectionRemoved(collection: "q")) { try q.append(5) }
        #expect(throws: DiskCollectionsError.collectionRemoved(collection: "q")) { _ = try q.popFirst() }
        try store.flush()
        #expect(try b.count == 1 && b[10] == 10 && b[2] == nil && b[3] == nil)
        #expect(try t.isEmpty)
        // A collection made again under the old name is a new one; the old handle stays dead.
        let a2 = try store.map("a", key: UInt64.self, value: UInt64.self)
        try a2.setValue(7, forKey: 7)
        #expect(throws: removed) { try a.setValue(8, forKey: 8) }
        #expect(try a2.count == 1 && a2[7] == 7)
    }

    /// Regression: a write inside `store.read { }` committed in a transaction of its own, invisible to
    /// the enclosing read. Now it is a typed error and nothing changes.
    @Test func aChangeInsideAReadIsATypedErrorAndChangesNothing() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        let map = try store.map("m", key: UInt64.self, value: UInt64.self)
        let queue = try store.queue("q", of: UInt64.self)
        try map.setValue(1, forKey: 1)
        try store.read { () throws in
            #expect(throws: DiskCollectionsError.writeInsideRead) { try map.setValue(2, forKey: 2) }
            #expect(throws: DiskCollectionsError.writeInsideRead) { try map.removeValue(forKey: 1) }
            #expect(throws: DiskCollectionsError.writeInsideRead) { try queue.append(5) }
            #expect(throws: DiskCollectionsError.writeInsideRead) { try store.write { try map.setValue(3, forKey: 3) } }
            #expect(throws: DiskCollectionsError.writeInsideRead) { _ = try store.set("new", of: UInt64.self) }
            #expect(try map[1] == 1)
        }
        #expect(try map.count == 1 && map[2] == nil && map[3] == nil && queue.isEmpty)
        #expect(try store.collections().map(\.name) == ["m", "q"])
        // Reading inside a write still joins it.
        try store.write { () throws in
            try map.setValue(4, forKey: 4)
            #expect(try store.read { try map[4] } == 4)
        }
    }

    struct Oops: Error {}

    @Test func reopeningAsAnotherTypeIsATypedError() throws {
        let f = try StoreFixture()
        _ = try f.store.set("visited", of: UInt64.self)
        try f.reopen()
        let error = #expect(throws: DiskCollectionsError.self) { try f.store.map("visited", key: String.self, value: Int.self) }
        #expect(error == .typeMismatch(collection: "visited", stored: "DiskSet<uint64>", requested: "DiskMap<string, int64le>"))
        #expect(error?.description.contains("is a DiskSet<uint64>") == true)
        #expect(throws: DiskCollectionsError.self) { try f.store.set("visited", of: Int64.self) }
        #expect(throws: DiskCollectionsError.self) { try f.store.queue("visited", of: UInt64.self) }
        _ = try f.store.set("visited", of: UInt64.self)  // the right type still opens
    }

    @Test func anImpossibleCollectionCountIsATypedError() throws {
        let dir = TemporaryDirectory()
        for count in [-1, 32_767, Int.max] {
            let error = #expect(throws: DiskCollectionsError.self) { try Store(at: dir.path + "/s", maximumCollections: count) }
            #expect(error.map { "\($0)".contains("maximumCollections is \(count)") } == true)
        }
        #expect(try Store(at: dir.path + "/s", maximumCollections: 0).collections().isEmpty)
    }

    @Test func anImpossibleCacheBudgetIsATypedError() throws {
        let dir = TemporaryDirectory()
        for budget in [CacheBudget.bytes(-1), .memoryLimit(0), .memoryLimit(-(1 << 30))] {
            let error = #expect(throws: DiskCollectionsError.self) { try Store(at: dir.path + "/s", cacheBudget: budget) }
            #expect(error.map { "\($0)".contains("is not a size") } == true)
        }
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/s"))
    }

    @Test func invalidNamesAreRejected() throws {
        let f = try StoreFixture()
        #expect(throws: DiskCollectionsError.self) { try f.store.set("", of: Int.self) }
        #expect(throws: DiskCollectionsError.self) { try f.store.set("__diskcollections_catalog", of: Int.self) }
        #expect(throws: DiskCollectionsError.self) { try f.store.set(String(repeating: "n", count: 201), of: Int.self) }
    }

    /// Every operation of a collection whose store was closed is a typed error (before, a point write
    /// went into the closed store's buffer and was never written); nothing is written after the close.
    @Test func collectionsOfAClosedStoreThrow() throws {
        let dir = TemporaryDirectory()
        let store = try Store(at: dir.path)
        let set = try store.set("s", of: UInt64.self)
        let map = try store.map("m", key: UInt64.self, value: String.self)
        let queue = try store.queue("q", of: UInt64.self)
        let array = try store.array("a", of: UInt64.self)
        let multi = try store.multimap("mm", key: UInt64.self, value: UInt64.self)
        try set.insert(1); try map.setValue("one", forKey: 1); try queue.append(1)
        store.close()
        let operations: [(String, () throws -> Void)] = [
            ("set.insert", { _ = try set.insert(2) }), ("set.contains", { _ = try set.contains(1) }),
            ("set.remove", { _ = try set.remove(1) }), ("set.count", { _ = try set.count }),
            ("map.setValue", { try map.setValue("two", forKey: 2) }), ("map[]", { _ = try map[1] }),
            ("map.entries", { _ = try map.entries() }), ("queue.append", { try queue.append(2) }),
            ("queue.popFirst", { _ = try queue.popFirst() }), ("queue.first", { _ = try queue.first }),
            ("array.append", { try array.append(2) }), ("array.count", { _ = try array.count }),
            ("multi.insert", { try multi.insert(2, forKey: 2) }),
            ("store.write", { _ = try store.write { try set.insert(3) } }),
        ]
        for (name, operation) in operations {
            let error = #expect(throws: LMDBError.self, "\(name)") { try operation() }
            #expect(error?.code == .closed, "\(name): \(String(describing: error))")
        }
        let again = try Store(at: dir.path)
        #expect(try again.set("s", of: UInt64.self).elements() == [1])
        #expect(try again.map("m", key: UInt64.self, value: String.self).entries().map(\.value) == ["one"])
        #expect(try again.queue("q", of: UInt64.self).elements() == [1])
    }

    /// A damaged catalog is a typed error naming the collection: an entry whose LMDB database is gone
    /// (not a silently new, empty collection), and an entry that is not a record (not a raw
    /// DecodingError); the listing says so too.
    @Test func aDamagedCatalogIsATypedError() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.set("visited", of: UInt64.self).insert(contentsOf: [1, 2, 3])
            _ = try store.map("ok", key: UInt64.self, value: UInt64.self)
            store.close()
        }
        do {  // the damage, made with the LMDB layer underneath
            let env = try Environment(path: dir.path, options: .init(maximumDatabases: 300))
            try env.write { txn in
                try txn.clear(try txn.openExistingDatabase("visited")!, deleteDatabase: true)
                try txn.put(try txn.openExistingDatabase(Store.catalogName)!, key: Array("garbage".utf8), value: [0xFF, 0x00, 0x7B])
            }
            env.close()
        }
        let store = try Store(at: dir.path)
        for (name, open) in [("visited", { _ = try store.set("visited", of: UInt64.self) }),
                             ("garbage", { _ = try store.map("garbage", key: UInt64.self, value: UInt64.self) })] {
            let error = #expect(throws: DiskCollectionsError.self) { try open() }
            guard case .corrupt(let collection, let detail)? = error else { Issue.record("\(String(describing: error))"); continue }
            #expect(collection == name)
            #expect(detail.contains("damaged"), "\(detail)")
        }
        #expect(throws: DiskCollectionsError.self) { _ = try store.collections() }
        // The healthy collection still opens, and no empty "visited" was made.
        #expect(try store.map("ok", key: UInt64.self, value: UInt64.self).count == 0)
        #expect(throws: DiskCollectionsError.self) { _ = try store.set("visited", of: UInt64.self) }
    }

    @Test func aThrowingWriteAcrossCollectionsLeavesNothing() throws {
        let f = try StoreFixture()
        let set = try f.store.set("s", of: Int.self)
        let map = try f.store.map("m", key: Int.self, value: String.self)
        let queue = try f.store.queue("q", of: Int.self)
        let array = try f.store.array("a", of: Int.self)
        let multi = try f.store.multimap("mm", key: Int.self, value: Int.self)
        try set.insert(1); try map.setValue("one", forKey: 1); try queue.append(1); try array.append(1); try multi.insert(1, forKey: 1)
        #expect(throws: Oops.self) {
            try f.store.write { () throws in
                try set.insert(2); try set.remove(1)
                try map.setValue("two", forKey: 2); try map.removeValue(forKey: 1)
                try queue.append(2); _ = try queue.popFirst()
                try array.append(2); try array.set(9, at: 0)
                try multi.insert(2, forKey: 1)
                _ = try f.store.set("new", of: Int.self)
                throw Oops()
            }
        }
        try f.reopen()
        #expect(try f.store.set("s", of: Int.self).elements() == [1])
        #expect(try f.store.map("m", key: Int.self, value: String.self).entries().map(\.value) == ["one"])
        #expect(try f.store.queue("q", of: Int.self).elements() == [1])
        #expect(try f.store.array("a", of: Int.self).elements() == [1])
        #expect(try f.store.multimap("mm", key: Int.self, value: Int.self).values(forKey: 1) == [1])
        #expect(try f.store.collections().map(\.name) == ["a", "m", "mm", "q", "s"])
    }

    @Test func collectionsListKindsTypesAndCounts() throws {
        let f = try StoreFixture()
        try f.store.set("visited", of: UInt64.self).insert(contentsOf: [1, 2, 3])
        try f.store.map("parent", key: UInt64.self, value: UInt32.self).setValue(1, forKey: 2)
        let list = try f.store.collections()
        #expect(list.map(\.name) == ["parent", "visited"])
        #expect(list.map(\.count) == [1, 3])
        #expect(list[1].descriptor.description == "DiskSet<uint64>")
        #expect(try f.store.removeCollection("visited"))
        #expect(try f.store.collections().map(\.name) == ["parent"])
        #expect(try f.store.set("visited", of: String.self).isEmpty)  // the name is free again
    }

    @Test func readOnlyStoresReadAndRefuseWrites() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.map("m", key: Int.self, value: Int.self).setValue(5, forKey: 5)
            try store.checkpoint()
            store.close()
        }
        let store = try Store(at: dir.path, readOnly: true)
        let map = try store.map("m", key: Int.self, value: Int.self)
        #expect(try map[5] == 5)
        #expect(throws: DiskCollectionsError.readOnlyStore(path: dir.path)) { try map.setValue(1, forKey: 1) }
        #expect(throws: DiskCollectionsError.readOnlyStore(path: dir.path)) { try store.write { try map.removeValue(forKey: 5) } }
        #expect(try map[5] == 5)
    }

    @Test func storeReadSeesOneSnapshotAndWriteJoinsNested() throws {
        let f = try StoreFixture()
        let map = try f.store.map("m", key: Int.self, value: Int.self)
        try f.store.write { () throws in
            try map.setValue(1, forKey: 1)
            try f.store.write { try map.setValue(2, forKey: 2) }
            try f.store.read { () throws in #expect(try map.count == 2) }  // a read inside a write sees the write
        }
        #expect(try f.store.read { try map.count } == 2)
    }
}
