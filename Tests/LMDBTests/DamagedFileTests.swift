import Foundation
import LMDB
import Testing
import TestSupport

/// A data file that cannot be a whole store is a typed `damaged` error at open, before LMDB maps it:
/// never a SIGBUS in the caller, never a silently empty store, and the file is left as it was.
@Suite struct DamagedFileTests {
    /// A store of 20,000 entries (about 100 pages), closed.
    private func makeStore() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path)
        try env.write { txn in
            let db = try txn.openDatabase("d")!
            for i in 0..<20_000 as Range<UInt32> {
                _ = try withUnsafeBytes(of: i.bigEndian) { k in try txn.put(db, key: k, value: UnsafeRawBufferPointer(rebasing: k[0...])) }
            }
        }
        env.close()
        return dir
    }

    private func dataFile(_ dir: TemporaryDirectory) -> String { dir.path + "/data.mdb" }

    private func size(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    private func expectDamaged(_ dir: TemporaryDirectory, mentioning words: String) throws {
        let before = try Data(contentsOf: URL(fileURLWithPath: dataFile(dir)))
        let error = #expect(throws: LMDBError.self) { _ = try Environment(path: dir.path) }
        #expect(error?.code == .damaged)
        #expect(error.map { "\($0)".contains(words) } == true, "\(String(describing: error))")
        #expect(error.map { "\($0)".contains("restore the store from a copy") } == true)
        // Nothing was written over it, and a read-only open says the same.
        #expect(try Data(contentsOf: URL(fileURLWithPath: dataFile(dir))) == before)
        var options = Environment.Options()
        options.readOnly = true
        #expect(throws: LMDBError.self) { _ = try Environment(path: dir.path, options: options) }
    }

    @Test func aHealthyStoreOpens() throws {
        let dir = try makeStore()
        let env = try Environment(path: dir.path)
        try env.read { (txn: Transaction) throws in #expect(try txn.count(try txn.openExistingDatabase("d")!) == 20_000) }
    }

    @Test func anEmptyDataFileIsDamagedNotANewStore() throws {
        let dir = try makeStore()
        #expect(truncate(dataFile(dir), 0) == 0)
        try expectDamaged(dir, mentioning: "empty (0 bytes)")
        #expect(try size(dataFile(dir)) == 0)
    }

    @Test(arguments: ["half", "last page"])
    func aTruncatedDataFileIsDamaged(cut: String) throws {
        let dir = try makeStore()
        let full = try size(dataFile(dir))
        #expect(truncate(dataFile(dir), off_t(cut == "half" ? full / 2 : full - 4096)) == 0)
        try expectDamaged(dir, mentioning: "was cut short")
    }

    @Test func overwrittenMetaPagesAreDamaged() throws {
        let dir = try makeStore()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataFile(dir)))
        var rng = SplitMix64(seed: 8)
        try handle.write(contentsOf: Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &rng) }))
        try handle.close()
        try expectDamaged(dir, mentioning: "no valid meta page")
    }

    /// One meta page overwritten: LMDB refuses a file with a bad meta magic (`MDB_INVALID`), typed,
    /// and the file stays as it was.
    @Test func oneOverwrittenMetaPageIsATypedError() throws {
        let dir = try makeStore()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dataFile(dir)))
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data(repeating: 0xA5, count: 4096))
        try handle.close()
        let before = try Data(contentsOf: URL(fileURLWithPath: dataFile(dir)))
        let error = #expect(throws: LMDBError.self) { _ = try Environment(path: dir.path) }
        #expect(error?.code == .invalid || error?.code == .damaged)
        #expect(try Data(contentsOf: URL(fileURLWithPath: dataFile(dir))) == before)
    }
}
