import DiskCollections
import DiskCollectionsTools
import Foundation
import LMDB
import Testing
import TestSupport

/// `diskcoll verify`, `compact` and `stat`, run as a user runs them.
@Suite struct MaintenanceTests {
    let diskcoll = builtExecutable("diskcoll")

    /// A store with a 50,000-entry map of string keys (a tree of depth 3) and a set.
    static func makeStore(_ path: String) throws {
        let store = try Store(at: path)
        try store.write {
            let m = try store.map("names", key: String.self, value: UInt64.self)
            for i in 0..<50_000 as Range<UInt64> { try m.setValue(i, forKey: "name-\(i)") }
            try store.set("ids", of: UInt32.self).insert(contentsOf: 0..<1_000)
        }
        store.close()
    }

    /// The file offset of `name`'s root page: the 48-byte database record in the main database
    /// (lmdb.h's `MDB_db`: the root page number at offset 40).
    static func rootPage(_ path: String, _ name: String) throws -> (page: Int, pageSize: Int, depth: Int) {
        var options = Environment.Options(mapSize: 0)
        options.readOnly = true
        let env = try Environment(path: path, options: options)
        defer { env.close() }
        return try env.read { txn in
            let main = try txn.openDatabase(nil)!
            let record = try txn.get(main, key: Array(name.utf8))!
            let depth = Int(record.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 6, as: UInt16.self) })
            let root = Int(record.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 40, as: UInt64.self) })
            return (root, try txn.statistics(main).pageSize, depth)
        }
    }

    /// The offsets of the leaf pages (lmdb.h's `P_LEAF` in the page header's flags, at byte 10) whose
    /// first key starts with `prefix`.
    static func leafPages(_ path: String, startingWith prefix: String, pageSize: Int) throws -> [Int] {
        let file = try Data(contentsOf: URL(fileURLWithPath: path + "/data.mdb"))
        var pages: [Int] = []
        for base in stride(from: 2 * pageSize, to: file.count, by: pageSize) where file[base + 10] & 0x02 != 0 {
            let node = base + (Int(file[base + 16]) | Int(file[base + 17]) << 8)
            let keySize = Int(file[node + 6]) | Int(file[node + 7]) << 8
            if file[(node + 8)..<(node + 8 + min(keySize, prefix.utf8.count))].elementsEqual(prefix.utf8) { pages.append(base) }
        }
        return pages
    }

    private func patch(_ path: String, at offset: Int, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path + "/data.mdb"))
        try handle.seek(toOffset: UInt64(offset))
        handle.write(Data(bytes))
        try handle.close()
    }

    @Test func aHealthyStore() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        let r = try run(diskcoll, ["verify", dir.path])
        #expect(r.status == 0, "\(r.standardOutput) \(r.standardError)")
        #expect(r.standardOutput.contains("healthy"))
        #expect(r.standardOutput.contains("keys decode as string; values decode as uint64"))
        let json = try run(diskcoll, ["verify", dir.path, "--json"])
        let report = try JSONDecoder().decode(VerifyReport.self, from: Data(json.standardOutput.utf8))
        #expect(report.isHealthy && report.databases.count == 3)
        #expect(2 + report.treePages + report.freePages == report.lastPage + 1)
    }

    /// A byte flipped inside a stored key: the walk names the collection and the key.
    @Test func aFlippedByteInAKey() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        // The key's live node in its leaf page, found through the page's node offsets (a branch page
        // may hold a copy as a separator, and a page's free gap old bytes).
        let file = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb"))
        var keyAt: Int?
        for leaf in try Self.leafPages(dir.path, startingWith: "name-", pageSize: 4096) {
            let lower = Int(file[leaf + 12]) | Int(file[leaf + 13]) << 8
            for ptr in stride(from: leaf + 16, to: leaf + lower, by: 2) {
                let node = leaf + (Int(file[ptr]) | Int(file[ptr + 1]) << 8)
                let size = Int(file[node + 6]) | Int(file[node + 7]) << 8
                if file[(node + 8)..<(node + 8 + size)].elementsEqual("name-31337".utf8) { keyAt = node + 8 }
            }
        }
        let key = try #require(keyAt)
        try patch(dir.path, at: key + 4, [0xFF])  // "name\xff31337": not UTF-8, and out of order
        let r = try run(diskcoll, ["verify", dir.path])
        #expect(r.status == 1)
        #expect(r.standardOutput.contains("DAMAGED"))
        #expect(r.standardOutput.contains("'names': key \"name\\xff31337\": a string key is not valid UTF-8"), "\(r.standardOutput)")
        #expect(r.standardOutput.contains("keys out of order"))
    }

    /// A damaged value of a Checksummed collection: verify names the collection and the key.
    @Test func aChecksumMismatchIsNamed() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            let m = try store.map("docs", key: UInt32.self, value: Checksummed<String>.self)
            try store.write { for i in 0..<500 as Range<UInt32> { try m.setValue(Checksummed("document \(i) marker-\(i)-end"), forKey: i) } }
            store.close()
        }
        var data = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb"))
        var from = data.startIndex
        while let at = data.range(of: Data("marker-321-end".utf8), in: from..<data.endIndex) { data[at.lowerBound + 7] ^= 0x02; from = at.upperBound }
        try data.write(to: URL(fileURLWithPath: dir.path + "/data.mdb"))
        let r = try run(diskcoll, ["verify", dir.path])
        #expect(r.status == 1)
        #expect(r.standardOutput.contains("values decode as string, their CRC-32C checked"), "\(r.standardOutput)")
        #expect(r.standardOutput.contains("'docs': value of key 321: checksum mismatch"), "\(r.standardOutput)")
    }

    /// A data file cut short: found from the meta pages, before anything is mapped.
    @Test func aTruncatedFile() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        let size = (try FileManager.default.attributesOfItem(atPath: dir.path + "/data.mdb")[.size] as? NSNumber)!.intValue
        #expect(truncate(dir.path + "/data.mdb", off_t(size / 2)) == 0)
        let r = try run(diskcoll, ["verify", dir.path])
        #expect(r.status == 1)
        #expect(r.standardOutput.contains("the file was cut short"), "\(r.standardOutput)")
    }

    /// A branch page pointing past the file: LMDB 0.9.24 checks page numbers, so the walk reports
    /// its MDB_PAGE_NOTFOUND as damage in that database and goes on with the others.
    @Test func aWildPageNumberIsDamageInThatDatabase() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        let (root, pageSize, depth) = try Self.rootPage(dir.path, "names")
        #expect(depth >= 2, "the test needs a branch page at the root")
        // The root's first node: page header 16 bytes, then mp_ptrs; a branch node's page number is
        // its mn_lo, mn_hi and mn_flags fields (48 bits) at the node's start.
        let base = root * pageSize
        let file = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb"))
        let firstNode = Int(file[base + 16]) | Int(file[base + 17]) << 8
        try patch(dir.path, at: base + firstNode, [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F])
        let r = try run(diskcoll, ["verify", dir.path])
        #expect(r.status == 1, "\(r.standardOutput) \(r.standardError)")
        #expect(r.standardOutput.contains("'names': reading it failed: mdb_cursor_get(names): MDB_PAGE_NOTFOUND"), "\(r.standardOutput)")
        #expect(r.standardOutput.contains("checked  ids"), "the other databases are still walked: \(r.standardOutput)")
    }

    /// A leaf node whose value size points 2 GiB past its page (LMDB 0.9.24 does not check it) crashes
    /// the process that reads it: the walk runs in a child, so verify reports damage in that database
    /// instead of dying.
    @Test func aCrashInTheWalkIsReportedAsDamage() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        let leaf = try #require(try Self.leafPages(dir.path, startingWith: "name-", pageSize: 4096).first)
        let file = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb"))
        let node = leaf + (Int(file[leaf + 16]) | Int(file[leaf + 17]) << 8)
        try patch(dir.path, at: node, [0xFF, 0xFF, 0xFF, 0x7F])  // mn_lo, mn_hi: the data size
        let r = try run(diskcoll, ["verify", dir.path])
        #expect(r.status == 1, "\(r.standardOutput) \(r.standardError)")
        // A signal (SIGSEGV, SIGBUS); under the address sanitizer, its report and exit status 1.
        #expect(r.standardOutput.contains("'names': reading database 'names' crashed liblmdb (\(runsUnderASanitizer ? "" : "signal")"), "\(r.standardOutput)")
        #expect(r.standardOutput.contains("last page") && !r.standardOutput.contains(": 0 bytes"), "the file's facts are still there: \(r.standardOutput)")
    }

    @Test func compactInPlaceGivesFreePagesBack() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        do {
            let store = try Store(at: dir.path)
            let m = try store.map("names", key: String.self, value: UInt64.self)
            try store.write { for i in 0..<40_000 as Range<UInt64> { _ = try m.removeValue(forKey: "name-\(i)") } }
            store.close()
        }
        let before = try StoreSnapshot(dir.path)
        let stat = try run(diskcoll, ["stat", dir.path, "--json"])
        let freeBefore = (try JSONSerialization.jsonObject(with: Data(stat.standardOutput.utf8)) as? [String: Any])?["freePages"] as? Int ?? 0
        #expect(freeBefore > 100)
        let r = try run(diskcoll, ["compact", dir.path, "--json"])
        #expect(r.status == 0, "\(r.standardError)")
        let report = try JSONDecoder().decode(CompactReport.self, from: Data(r.standardOutput.utf8))
        #expect(report.inPlace && report.bytesAfter < report.bytesBefore / 2)
        #expect(try StoreSnapshot(dir.path).databases == before.databases)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["data.mdb", "lock.mdb"])
        // The compacted store is an ordinary store: it opens, writes and verifies.
        let store = try Store(at: dir.path)
        try store.map("names", key: String.self, value: UInt64.self).setValue(7, forKey: "after")
        #expect(try store.map("names", key: String.self, value: UInt64.self).count == 10_001)
        store.close()
        #expect(try run(diskcoll, ["verify", dir.path]).status == 0)
    }

    @Test func compactToAnotherDirectory() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.appending("s"))
        let r = try run(diskcoll, ["compact", dir.appending("s"), "--to", dir.appending("copy")])
        #expect(r.status == 0, "\(r.standardError)")
        #expect(try StoreSnapshot(dir.appending("copy")).databases == (try StoreSnapshot(dir.appending("s"))).databases)
        let again = try run(diskcoll, ["compact", dir.appending("s"), "--to", dir.appending("copy")])
        #expect(again.status == 73 && again.standardError.contains("is not an empty directory"))
    }

    /// In place needs the store to itself: another process holding it open is exit 75, nothing changed.
    @Test func compactInPlaceRefusesAStoreInUse() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        let before = try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb"))
        let (holder, out, _) = try launch(builtExecutable("LMDBTestHelper"), ["hold-open", dir.path])
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        _ = out.fileHandleForReading.availableData  // "open"
        let r = try run(diskcoll, ["compact", dir.path])
        #expect(r.status == 75, "\(r.standardError)")
        #expect(r.standardError.contains("process \(holder.processIdentifier) has the store open"), "\(r.standardError)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir.path + "/data.mdb")) == before)
    }

    /// Killed at random moments during an in-place compaction: the store opens with everything in it,
    /// old or new, and the next compaction clears what the killed one left.
    @Test func killedCompactionsLeaveTheOldStoreOrTheNew() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            let m = try store.map("m", key: UInt64.self, value: [UInt8].self)
            try store.write { for i in 0..<300_000 as Range<UInt64> { try m.setValue([UInt8](repeating: 1, count: 40), forKey: i) } }
            try store.write { for i in stride(from: 0, to: 300_000, by: 2) as StrideTo<UInt64> { _ = try m.removeValue(forKey: i) } }
            store.close()
        }
        let before = try StoreSnapshot(dir.path)
        var rng = SplitMix64(seed: 17)
        for _ in 0..<6 {
            let (process, _, _) = try launch(diskcoll, ["compact", dir.path, "--quiet"])
            Thread.sleep(forTimeInterval: Double(rng.next() % 300) / 1000)
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            #expect(try StoreSnapshot(dir.path).databases == before.databases)
        }
        #expect(try run(diskcoll, ["compact", dir.path]).status == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["data.mdb", "lock.mdb"])
        #expect(try StoreSnapshot(dir.path).databases == before.databases)
    }

    /// stat shows free pages, the fill, and a reader slot left by a process killed in a read. (A slot
    /// outlives its process only while another keeps the store open: the first process to open a
    /// store resets the reader table.)
    @Test func statShowsFreePagesAndStaleReaders() throws {
        let dir = TemporaryDirectory()
        try Self.makeStore(dir.path)
        let (holder, held, _) = try launch(builtExecutable("LMDBTestHelper"), ["hold-open", dir.path])
        defer { kill(holder.processIdentifier, SIGKILL); holder.waitUntilExit() }
        _ = held.fileHandleForReading.availableData  // "open"
        let (reader, out, _) = try launch(builtExecutable("LMDBTestHelper"), ["hold-reader", dir.path])
        _ = out.fileHandleForReading.availableData  // "reading"
        let live = try run(diskcoll, ["stat", dir.path, "--json"])
        let report = try JSONSerialization.jsonObject(with: Data(live.standardOutput.utf8)) as? [String: Any]
        let readers = report?["readers"] as? [[String: Any]]
        #expect(readers?.contains { ($0["process"] as? Int) == Int(reader.processIdentifier) && $0["transaction"] != nil } == true, "\(live.standardOutput)")
        #expect(report?["staleReaders"] as? Int == 0)
        #expect((report?["fill"] as? Double ?? 0) > 0.9)
        kill(reader.processIdentifier, SIGKILL)
        reader.waitUntilExit()
        let stale = try run(diskcoll, ["stat", dir.path])
        #expect(stale.standardOutput.contains("1 stale"), "\(stale.standardOutput)")
        #expect(stale.standardOutput.contains("free of"))
    }
}
