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

    // MARK: Paths that cannot be a store

    /// A store path that is a file: a typed error that says so, and the file is untouched.
    @Test func aPathThatIsAFileSaysSo() throws {
        let dir = TemporaryDirectory()
        let file = dir.path + "/plain"
        try Data("hello".utf8).write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: LMDBError.self) { _ = try Environment(path: file) }
        #expect(error?.code == .notDirectory)
        #expect(error.map { "\($0)".contains("is a file, not a directory") } == true, "\(String(describing: error))")
        #expect(try Data(contentsOf: URL(fileURLWithPath: file)) == Data("hello".utf8))
    }

    /// A name over 255 bytes: a typed error that says what the limit is, and the directories the open
    /// made before it failed are gone.
    @Test func aNameTooLongSaysSoAndLeavesNothingBehind() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/new1/new2/" + String(repeating: "n", count: 300)
        let error = #expect(throws: LMDBError.self) { _ = try Environment(path: path) }
        #expect(error?.code == .nameTooLong)
        #expect(error.map { "\($0)".contains("a name has at most 255 bytes") } == true)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/new1"))
    }

    /// An open that fails after it made the store's directory (here the map cannot be reserved: a
    /// petabyte is more than the address space) removes the directory and the files LMDB made in it.
    @Test func aFailedOpenLeavesNoDirectoryBehind() throws {
        let dir = TemporaryDirectory()
        let path = dir.path + "/a/b/store"
        var options = Environment.Options()
        options.mapSize = 1 << 50
        let error = #expect(throws: LMDBError.self) { _ = try Environment(path: path, options: options) }
        #expect(error != nil)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/a"))
        // An existing directory is never removed, only what the open made.
        let kept = dir.path + "/kept"
        try FileManager.default.createDirectory(atPath: kept, withIntermediateDirectories: false)
        #expect(throws: LMDBError.self) { _ = try Environment(path: kept, options: options) }
        #expect(FileManager.default.fileExists(atPath: kept))
        // ...and the files LMDB began there are gone too, so the next open with workable options
        // makes a store (an empty data.mdb left behind would read as a damaged one).
        #expect(try FileManager.default.contentsOfDirectory(atPath: kept).isEmpty)
        let env = try Environment(path: kept)
        try env.write { txn in try txn.put(try txn.openDatabase("d")!, key: [1], value: [2]) }
    }

    /// Runs the helper's `open` as a user other than the directories' owner: as root, as `nobody`
    /// (root may write anywhere); otherwise as this user.
    private func openAsAnotherUser(_ path: String, readOnly: Bool = false) throws -> ProcessResult {
        let helper = builtExecutable("LMDBTestHelper")
        let args = ["open", path] + (readOnly ? ["read-only"] : [])
        return getuid() == 0
            ? try run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", helper] + args)
            : try run(helper, args)
    }

    /// No permission (issue 13, item 9): a new store under a directory this user may not write, and
    /// an existing store whose directory and files it may not write, opened writable and read-only.
    /// Each is a typed `permissionDenied` that names what may not be written and what to do; the
    /// failed opens leave nothing behind and the existing store as it was.
    @Test func noPermissionSaysWhatMayNotBeWritten() throws {
        let dir = TemporaryDirectory()
        chmod(dir.path, 0o755)
        let locked = dir.path + "/locked"
        try FileManager.default.createDirectory(atPath: locked, withIntermediateDirectories: false)
        chmod(locked, 0o555)
        defer { chmod(locked, 0o755) }
        let fresh = try openAsAnotherUser(locked + "/a/store")
        #expect(fresh.status == 1 && fresh.standardOutput.hasPrefix("error \(EACCES) "), "\(fresh.standardOutput)")
        #expect(fresh.standardOutput.contains("mkdir \(locked)/a") && fresh.standardOutput.contains("this user may not create a directory in \(locked)"),
                "\(fresh.standardOutput)")
        #expect(fresh.standardOutput.contains("the user needs write permission on the store's directory"), "\(fresh.standardOutput)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: locked).isEmpty)

        // An existing store, its directory and files readable by all and writable by no one else.
        let store = dir.path + "/store"
        let env = try Environment(path: store)
        try env.write { txn in try txn.put(try txn.openDatabase("d")!, key: [7], value: [7]) }
        env.close()
        let data = try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb"))
        chmod(store, 0o555)
        chmod(store + "/data.mdb", 0o644)
        chmod(store + "/lock.mdb", 0o644)
        defer { chmod(store, 0o755) }
        let writable = try openAsAnotherUser(store)
        #expect(writable.status == 1 && writable.standardOutput.hasPrefix("error \(EACCES) "), "\(writable.standardOutput)")
        #expect(writable.standardOutput.contains("this user may not write the store's directory or its files"), "\(writable.standardOutput)")
        let readOnly = try openAsAnotherUser(store, readOnly: true)
        #expect(readOnly.status == 1 && readOnly.standardOutput.contains("even a read-only open writes"), "\(readOnly.standardOutput)")
        #expect(readOnly.standardOutput.contains("copy it (cp -r, mdb_copy) and open the copy"), "\(readOnly.standardOutput)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: store + "/data.mdb")) == data)
        #expect(try FileManager.default.contentsOfDirectory(atPath: store).sorted() == ["data.mdb", "lock.mdb"])
    }

    /// A read-only file system (issue 13, item 9; a tmpfs remounted read-only, so root only): a new
    /// store there and a writable open of an existing one are typed `readOnlyFileSystem` errors that
    /// advise `readOnly`, and a read-only open of the existing store reads it.
    @Test(.enabled(if: getuid() == 0, "mounts a tmpfs and remounts it read-only"))
    func aReadOnlyFileSystemAdvisesReadOnly() throws {
        let dir = TemporaryDirectory()
        let mountPoint = dir.path + "/ro"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: false)
        let mounted = try run("/bin/mount", ["-t", "tmpfs", "-o", "size=4m", "tmpfs", mountPoint])
        try #require(mounted.status == 0, "mount: \(mounted.standardError)")
        defer { _ = try? run("/bin/umount", [mountPoint]) }
        let store = mountPoint + "/store"
        let env = try Environment(path: store)
        try env.write { txn in try txn.put(try txn.openDatabase("d")!, key: [7], value: [8]) }
        env.close()
        let remounted = try run("/bin/mount", ["-o", "remount,ro", mountPoint])
        try #require(remounted.status == 0, "remount: \(remounted.standardError)")

        for path in [store, mountPoint + "/new/store"] {
            let error = #expect(throws: LMDBError.self) { _ = try Environment(path: path) }
            #expect(error?.code == .readOnlyFileSystem, "\(String(describing: error))")
            #expect(error.map { "\($0)".contains("open the store with readOnly") } == true, "\(String(describing: error))")
        }
        #expect(!FileManager.default.fileExists(atPath: mountPoint + "/new"))
        let reader = try Environment(path: store, options: .init(readOnly: true))
        #expect(try reader.read { txn in try txn.get(try txn.openExistingDatabase("d")!, key: [7]) } == [8])
        reader.close()
    }

    /// The advice for a read-only file system and for a directory where LMDB's file should be.
    @Test func readOnlyAndDirectoryErrorsSayWhatToDo() throws {
        #expect(LMDBError(code: .readOnlyFileSystem, operation: "open /x").recoverySuggestion.contains("readOnly"))
        let dir = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir.path + "/data.mdb", withIntermediateDirectories: false)
        let error = #expect(throws: LMDBError.self) { _ = try Environment(path: dir.path) }
        #expect(error?.code == .isDirectory, "\(String(describing: error))")
        #expect(error.map { "\($0)".contains("is a directory") } == true)
    }
}
