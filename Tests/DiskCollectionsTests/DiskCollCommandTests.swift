import DiskCollections
import Foundation
import Testing
import TestSupport

/// The `diskcoll` executable, run as a user would.
@Suite struct DiskCollCommandTests {
    let diskcoll = builtExecutable("diskcoll")

    @Test func statShowsEveryCollectionWithKindAndCount() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.set("visited", of: UInt64.self).insert(contentsOf: [1, 2, 3])
            try store.multimap("postings", key: String.self, value: UInt32.self).insert(1, forKey: "a")
            store.close()
        }
        let json = try run(diskcoll, ["stat", dir.path, "--json"])
        #expect(json.status == 0, "\(json.standardError)")
        let report = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        let databases = report?["databases"] as? [String: [String: Any]]
        #expect(databases?["visited"]?["entries"] as? Int == 3)
        let collections = report?["collections"] as? [String: [String: Any]]
        #expect(collections?["visited"]?["kind"] as? String == "set")
        #expect(collections?["postings"]?["value"] as? String == "uint32")
        let memory = report?["memory"] as? [String: Any]
        #expect((memory?["memoryLimit"] as? Int ?? 0) > 0)
        #expect((memory?["budget"] as? Int ?? 0) > 0)
        #expect(memory?["memoryLimitSource"] as? String != nil)
        let table = try run(diskcoll, ["stat", dir.path])
        #expect(table.standardOutput.contains("memory     limit"))
        #expect(table.standardOutput.contains("DiskSet<uint64>"))
        #expect(table.standardOutput.contains("DiskMultimap<string, uint32>"))
    }

    @Test func statOnAMissingStoreFailsClearly() throws {
        let dir = TemporaryDirectory()
        let result = try run(diskcoll, ["stat", dir.appending("nothing-here")])
        #expect(result.status != 0)
        #expect(result.status == 66)
        #expect(result.standardError.contains("no store here"))
    }

    /// A store whose data file was cut in half: `Store(at:)` and `diskcoll stat` killed the process with
    /// SIGBUS; now both report a damaged store, and the file is left alone.
    @Test func aTruncatedStoreIsReportedNotACrash() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.set("visited", of: UInt64.self).insert(contentsOf: Array(0..<50_000))
            store.close()
        }
        let file = dir.path + "/data.mdb"
        let full = (try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue ?? 0
        #expect(truncate(file, off_t(full / 2)) == 0)
        let result = try run(diskcoll, ["stat", dir.path])
        #expect(result.status == 1, "status \(result.status): \(result.standardError)")
        #expect(result.standardError.contains("damaged store"), "\(result.standardError)")
        #expect(result.standardError.contains("was cut short"))
        let error = #expect(throws: LMDBError.self) { _ = try Store(at: dir.path) }
        #expect(error?.code == .damaged)
        #expect((try FileManager.default.attributesOfItem(atPath: file)[.size] as? NSNumber)?.intValue == full / 2)
    }

    @Test func versionAndDemo() throws {
        #expect(try run(diskcoll, ["--version"]).standardOutput.hasPrefix("0."))
        let demo = try run(diskcoll, ["demo", "--count", "20000"])
        #expect(demo.status == 0)
        #expect(demo.standardOutput.contains("checksum matches"))
    }
}

/// The test harness itself: a child that writes more than a pipe holds to stderr must not deadlock.
@Suite struct SubprocessTests {
    @Test func aChildWithMuchOnBothPipesFinishes() throws {
        let result = try run("/bin/sh", ["-c", "head -c 300000 /dev/zero | tr '\\0' e >&2; head -c 200000 /dev/zero | tr '\\0' o; exit 3"])
        #expect(result.status == 3)
        #expect(result.standardError.utf8.count == 300_000)
        #expect(result.standardOutput.utf8.count == 200_000)
    }
}
