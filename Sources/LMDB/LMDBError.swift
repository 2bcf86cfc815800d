import CLMDB

#if canImport(Glibc)
import Glibc
#endif

/// An error from LMDB, from the operating system underneath it, or from one of this module's guards.
///
/// Every C result code goes through one function, ``check(_:_:)``, which turns it into an `LMDBError`.
/// `MDB_NOTFOUND` never becomes an error: lookups that find nothing return `nil` or `false`.
///
/// Match on ``code``:
/// ```swift
/// do { try env.write { ... } }
/// catch let error as LMDBError where error.code == .readersFull { ... }
/// ```
public struct LMDBError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The numeric code: an LMDB result code (negative, `MDB_KEYEXIST` … `MDB_BAD_DBI`), an `errno`
    /// value (positive, such as `ENOSPC` or `EACCES`), or one of this module's own guard codes.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        /// `MDB_KEYEXIST`: the key (or key/value pair) is already present and `noOverwrite` was asked.
        public static let keyExists = Code(rawValue: MDB_KEYEXIST)
        /// `MDB_PAGE_NOTFOUND`: a page the tree points to is missing; the file is corrupt.
        public static let pageNotFound = Code(rawValue: MDB_PAGE_NOTFOUND)
        /// `MDB_CORRUPTED`: the file is corrupt.
        public static let corrupted = Code(rawValue: MDB_CORRUPTED)
        /// `MDB_PANIC`: a fatal error earlier; the environment must be closed.
        public static let panic = Code(rawValue: MDB_PANIC)
        /// `MDB_VERSION_MISMATCH`: the file was written by an incompatible LMDB version.
        public static let versionMismatch = Code(rawValue: MDB_VERSION_MISMATCH)
        /// `MDB_INVALID`: the path is not an LMDB file.
        public static let invalid = Code(rawValue: MDB_INVALID)
        /// `MDB_MAP_FULL`: the memory map is full. ``Environment/write(_:)`` grows the map and retries.
        public static let mapFull = Code(rawValue: MDB_MAP_FULL)
        /// `MDB_DBS_FULL`: more named databases than ``Environment/Options/maximumDatabases``.
        public static let databasesFull = Code(rawValue: MDB_DBS_FULL)
        /// `MDB_READERS_FULL`: every reader slot is taken.
        public static let readersFull = Code(rawValue: MDB_READERS_FULL)
        /// `MDB_TXN_FULL`: the transaction has too many dirty pages.
        public static let transactionFull = Code(rawValue: MDB_TXN_FULL)
        /// `MDB_CURSOR_FULL`: the cursor stack is too deep (a corrupt or enormous tree).
        public static let cursorFull = Code(rawValue: MDB_CURSOR_FULL)
        /// `MDB_PAGE_FULL`: a page has no room; an internal error.
        public static let pageFull = Code(rawValue: MDB_PAGE_FULL)
        /// `MDB_MAP_RESIZED`: another process grew the map; adopted at transaction begin.
        public static let mapResized = Code(rawValue: MDB_MAP_RESIZED)
        /// `MDB_INCOMPATIBLE`: the database was opened with flags it was not created with.
        public static let incompatible = Code(rawValue: MDB_INCOMPATIBLE)
        /// `MDB_BAD_RSLOT`: a reader slot was used wrongly.
        public static let badReaderSlot = Code(rawValue: MDB_BAD_RSLOT)
        /// `MDB_BAD_TXN`: the transaction hit an earlier error and can only be aborted.
        public static let badTransaction = Code(rawValue: MDB_BAD_TXN)
        /// `MDB_BAD_VALSIZE`: a key (or a sorted duplicate value) is empty or longer than
        /// ``Environment/maximumKeySize``. This module checks sizes before calling LMDB.
        public static let badValueSize = Code(rawValue: MDB_BAD_VALSIZE)
        /// `MDB_BAD_DBI`: the database handle was closed or changed.
        public static let badDatabase = Code(rawValue: MDB_BAD_DBI)

        /// `EACCES`: permission denied, or a write on a read-only environment.
        public static let permissionDenied = Code(rawValue: EACCES)
        /// `ENOSPC`: the disk is full.
        public static let noSpace = Code(rawValue: ENOSPC)
        /// `EIO`: a write to the file failed or was cut short (LMDB reports a short write, such as one
        /// stopped by a full disk or a file size limit, as `EIO`).
        public static let ioError = Code(rawValue: EIO)
        /// `EFBIG`: the file may not grow further (a file size limit).
        public static let fileTooLarge = Code(rawValue: EFBIG)
        /// `ENOENT`: the path does not exist (for example a read-only open of a missing store).
        public static let noSuchFile = Code(rawValue: ENOENT)
        /// `ENOMEM`: out of memory or address space for the map.
        public static let outOfMemory = Code(rawValue: ENOMEM)
        /// `EINVAL`: an invalid argument.
        public static let invalidArgument = Code(rawValue: EINVAL)
        public static let notDirectory = Code(rawValue: ENOTDIR)
        public static let isDirectory = Code(rawValue: EISDIR)
        public static let readOnlyFileSystem = Code(rawValue: EROFS)
        public static let nameTooLong = Code(rawValue: ENAMETOOLONG)

        /// This module's guard: the same environment directory is already open in this process.
        public static let alreadyOpen = Code(rawValue: -31_001)
        /// This module's guard: the environment was opened before `fork()` and used in the child.
        public static let usedAfterFork = Code(rawValue: -31_002)
        /// This module's guard: the environment was closed.
        public static let closed = Code(rawValue: -31_003)
        /// The data file cannot be a whole store: empty, shorter than its last committed transaction's
        /// pages, or without a valid meta page. Found before the file is mapped (no SIGBUS).
        public static let damaged = Code(rawValue: -31_004)
        /// This module's guard: another process has the environment open, and the operation needs it
        /// alone (replacing the data file).
        public static let inUse = Code(rawValue: -31_005)

        public var description: String { "\(rawValue)" }
    }

    /// The code that identifies the failure.
    public let code: Code
    /// What was being done: the C function or operation, with its subject (`"mdb_put"`, `"open /data/x"`).
    public let operation: String
    /// Extra facts about this failure (for example "key is 512 bytes; the maximum is 511").
    public let detail: String?

    public init(code: Code, operation: String, detail: String? = nil) {
        self.code = code
        self.operation = operation
        self.detail = detail
    }

    /// The message from `mdb_strerror` (which also covers `errno` values), or this module's own text.
    public var message: String {
        switch code {
        case .alreadyOpen: return "environment already open in this process"
        case .usedAfterFork: return "environment used in a child process after fork()"
        case .closed: return "environment is closed"
        case .damaged: return "damaged store"
        case .inUse: return "environment in use by another process"
        default: return String(cString: mdb_strerror(code.rawValue))
        }
    }

    /// What to do about it.
    public var recoverySuggestion: String {
        switch code {
        case .mapFull:
            return "the map could not grow: free disk space or address space, or raise the maximum map size"
        case .databasesFull: return "open the environment with a larger maximumDatabases"
        case .readersFull:
            return "close idle read transactions, or open the environment with a larger maximumReaders"
        case .transactionFull: return "split the work into smaller write transactions"
        case .corrupted, .pageNotFound, .panic, .invalid:
            return "the file is damaged or not an LMDB store; restore it from a backup or a dump (mdb_dump)"
        case .versionMismatch: return "open the store with the LMDB version that wrote it"
        case .incompatible: return "open the database with the flags it was created with"
        case .badValueSize:
            return "keys must be 1...maximumKeySize bytes; hash or shorten longer keys"
        case .badTransaction: return "an earlier error ended this transaction; let the closure throw and retry"
        case .permissionDenied:
            return "check the directory's permissions: the user needs write permission on the store's directory and its files (chmod, chown, or run as their owner); to read a store this user cannot write, copy it (cp -r, mdb_copy) and open the copy; a read-only environment cannot write"
        case .noSpace: return "free disk space; nothing of the failed transaction was committed"
        case .ioError, .fileTooLarge:
            return "the file could not be written (a full disk, a file size limit or a failing device); nothing of the failed transaction was committed: fix the cause and retry"
        case .noSuchFile: return "check the path; a read-only open does not create a store"
        case .outOfMemory: return "free memory or address space, or use a smaller map"
        case .alreadyOpen:
            return "reuse the Environment that is already open; LMDB forbids opening one environment twice in a process"
        case .usedAfterFork: return "open the environment again in the child process"
        case .closed: return "open the environment again"
        case .damaged:
            return "the data file was cut short or overwritten; nothing was changed: restore the store from a copy (mdb_copy, diskcoll compact) or a dump, or remove the directory to start afresh"
        case .inUse:
            return "stop the process that has the store open (or wait for it to finish) and run this again; nothing was changed"
        case .invalidArgument: return "correct the value the message names; nothing was created"
        case .notDirectory:
            return "a part of the path is a file, not a directory: a store is a directory; give a path inside a directory, or one that does not exist yet"
        case .isDirectory:
            return "the store's data.mdb or lock.mdb is a directory: this is not a store made by LMDB; give another path"
        case .readOnlyFileSystem:
            return "the file system is read-only: open the store with readOnly (it reads an existing store without writing), or copy it to a writable file system"
        case .nameTooLong:
            return "the path is too long (a name has at most 255 bytes, a path at most 4,095): give a shorter path"
        default: return "see the LMDB documentation for this code"
        }
    }

    public var description: String {
        var text = "\(operation): \(message) (code \(code.rawValue))"
        if let detail { text += "; \(detail)" }
        return text + ". To fix: \(recoverySuggestion)."
    }
}

/// The one path for C result codes: `0` is success; anything else becomes an ``LMDBError``.
/// `MDB_NOTFOUND` is handled by callers before they get here and is never thrown.
@inlinable @inline(__always)
func check(_ rc: Int32, _ operation: @autoclosure () -> String) throws(LMDBError) {
    if _slowPath(rc != 0) { throw LMDBError(code: .init(rawValue: rc), operation: operation()) }
}

/// ``check(_:_:)`` for hot paths: nothing is captured or formatted unless `rc` is an error.
@inlinable @inline(__always)
func check(_ rc: Int32, _ function: StaticString, _ database: Database) throws(LMDBError) {
    if _slowPath(rc != 0) { throw LMDBError.failure(rc, function, database) }
}

extension LMDBError {
    @usableFromInline @inline(never)
    static func failure(_ rc: Int32, _ function: StaticString, _ database: Database) -> LMDBError {
        LMDBError(code: Code(rawValue: rc), operation: "\(function)(\(database.name ?? "main"))")
    }
}

/// `MDB_NOTFOUND` as a plain constant for callers that map it to `nil`.
@usableFromInline let notFound: Int32 = MDB_NOTFOUND
