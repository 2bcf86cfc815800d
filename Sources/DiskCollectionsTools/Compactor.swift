import Foundation
import LMDB

#if canImport(Glibc)
import Glibc
#endif

/// What `diskcoll compact` did.
public struct CompactReport: Codable, Sendable {
    public var store: String
    /// Where the compacted store is: the store itself when compacted in place.
    public var output: String
    public var inPlace: Bool
    public var bytesBefore: Int
    public var bytesAfter: Int
    public var seconds: Double
}

/// Compacts a store: a copy without free pages, renumbered (`mdb_env_copy2` with `MDB_CP_COMPACT`).
///
/// In place, the copy is written beside the data file (`STORE/.compact-PID/data.mdb`), synced, and
/// renamed over `data.mdb` while this process holds the lock file exclusively (no process can open the
/// store in between; one that tries waits) and after checking that nothing was committed since the copy
/// began. `rename` is atomic, so a crash at any moment leaves either the old store or the new one, each
/// whole and synced; a leftover `.compact-*` directory is removed by the next compaction.
public enum Compactor {
    /// Compacts the store in `path`, into `output` if given (a new directory) or in place.
    /// - Throws: ``LMDBError`` (`inUse` if another process has the store open for an in-place
    ///   compaction; nothing changed), ``InterchangeError`` for a missing store or an output that exists.
    public static func compact(store path: String, to output: String? = nil) throws -> CompactReport {
        let clock = ContinuousClock()
        let started = clock.now
        guard let before = try DataFile.meta(in: path) else {
            throw InterchangeError(.noInput, source: path, "no store here: the directory has no data.mdb", advice: "give the directory a Store was created in")
        }
        try DataFile.check(in: path)
        let inPlace = output == nil
        let destination: String
        if let output {
            try prepareEmptyDirectory(output)
            destination = output
        } else {
            removeLeftovers(in: path)
            if let pid = DataFile.processHoldingOpen(path) {
                throw LMDBError(code: .inUse, operation: "compact \(path) in place",
                                detail: "process \(pid) has the store open; compact into another directory with --to, or stop it first")
            }
            destination = path + "/.compact-\(getpid())"
            guard mkdir(destination, 0o755) == 0 else {
                throw InterchangeError(.cannotCreate, source: destination, "cannot create the copy's directory: \(String(cString: strerror(errno)))")
            }
        }
        var swapped = false
        defer {
            if inPlace {
                if !swapped { unlink(destination + "/data.mdb") }
                rmdir(destination)
            }
        }
        var options = Environment.Options(mapSize: 0, maximumDatabases: 32_767)
        options.readOnly = true
        let copiedTransaction: Int
        do {
            let env = try Environment(path: path, options: options)
            defer { env.close() }
            copiedTransaction = try env.info().lastTransaction
            try env.copy(to: destination, compact: true)
        }
        try syncFile(destination + "/data.mdb")
        try syncFile(destination, directory: true)
        if inPlace {
            try DataFile.withExclusiveUse(of: path) {
                let now = try DataFile.meta(in: path)
                guard now?.transaction == copiedTransaction else {
                    throw LMDBError(code: .inUse, operation: "compact \(path) in place",
                                    detail: "a transaction was committed while the copy was made (\(copiedTransaction) then \(now?.transaction ?? 0)); nothing was changed: run it again")
                }
                guard rename(destination + "/data.mdb", path + "/data.mdb") == 0 else {
                    throw InterchangeError(.io, source: path, "cannot put the compacted file in place: \(String(cString: strerror(errno)))")
                }
                swapped = true
                try syncFile(path, directory: true)
            }
        }
        let after = try DataFile.meta(in: inPlace ? path : destination)
        let d = clock.now - started
        return CompactReport(store: path, output: inPlace ? path : destination,
                             inPlace: inPlace, bytesBefore: before.fileSize, bytesAfter: after?.fileSize ?? 0,
                             seconds: Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
    }

    /// Creates `path` (and its parents), or accepts it if it is an empty directory.
    static func prepareEmptyDirectory(_ path: String) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: path))?.isEmpty == true else {
                throw InterchangeError(.cannotCreate, source: path, "the output exists and is not an empty directory",
                                       advice: "give a new directory for the compacted copy")
            }
            return
        }
        do { try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true) } catch {
            throw InterchangeError(.cannotCreate, source: path, "cannot create the output directory: \(error.localizedDescription)")
        }
    }

    /// Removes `.compact-*` directories a killed compaction left in the store.
    static func removeLeftovers(in path: String) {
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix(".compact-") {
            let dir = path + "/" + name
            unlink(dir + "/data.mdb")
            unlink(dir + "/lock.mdb")
            rmdir(dir)
        }
    }

    /// `fsync` of a file or a directory (so a rename in it is on disk).
    static func syncFile(_ path: String, directory: Bool = false) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC | (directory ? O_DIRECTORY : 0))
        guard fd >= 0 else { throw InterchangeError(.io, source: path, "cannot open it to sync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw InterchangeError(.io, source: path, "syncing failed: \(String(cString: strerror(errno)))") }
    }
}
