#if canImport(Glibc)
import Glibc
#endif

/// What can be learnt about an environment's two files without mapping them: the data file's meta
/// pages (read with `pread`), and who holds the lock file. The one place that knows LMDB's layouts of
/// `data.mdb`'s first pages and of `lock.mdb`'s locking protocol.
public enum DataFile {
    /// The newer valid meta page of a data file: LMDB's view of the last committed transaction.
    public struct Meta: Hashable, Sendable {
        /// The page size the file was created with.
        public var pageSize: Int
        /// The id of the last committed transaction.
        public var transaction: Int
        /// The last page that transaction uses (pages `0...lastPage` must be in the file).
        public var lastPage: Int
        /// The map size recorded in the file.
        public var mapSize: Int
        /// The file's size in bytes.
        public var fileSize: Int
    }

    /// Reads the newer valid meta page of `path/data.mdb`, or returns `nil` if there is no such regular
    /// file (LMDB creates it).
    ///
    /// Layout (lmdb.h's `MDB_meta` on a 64-bit machine, after the 16-byte page header): the magic
    /// `0xBEEFC0DE` at offset 16, the map size at 32, the free-page database's record from 40 (whose
    /// first field, `md_pad`, holds the page size in meta page 0), the last used page at 136 and the
    /// transaction id at 144. LMDB keeps two meta pages and uses the one with the higher transaction id.
    ///
    /// - Throws: ``LMDBError/Code/damaged`` for an empty file or one without a valid meta page.
    public static func meta(in path: String) throws(LMDBError) -> Meta? {
        let file = path + "/data.mdb"
        var st = stat()
        guard stat(file, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = Int(st.st_size)
        guard size > 0 else {
            throw damaged(path, "data.mdb is empty (0 bytes), but LMDB writes its two meta pages when it creates a store")
        }
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }  // LMDB reports the open's own error
        defer { Glibc.close(fd) }
        func read64(_ offset: Int) -> UInt64? {
            var v: UInt64 = 0
            return pread(fd, &v, 8, off_t(offset)) == 8 ? v : nil
        }
        func read32(_ offset: Int) -> UInt32? {
            var v: UInt32 = 0
            return pread(fd, &v, 4, off_t(offset)) == 4 ? v : nil
        }
        let magic: UInt32 = 0xBEEF_C0DE
        var pageSize = Int(read32(16 + 24) ?? 0)  // meta 0's FREE_DBI md_pad holds the page size
        if read32(16) != magic || pageSize < 512 || pageSize > 65_536 || pageSize & (pageSize - 1) != 0 {
            pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))  // meta 0 is damaged: meta 1 at the usual size
        }
        var best: Meta?
        for index in 0..<2 {
            let base = index * pageSize
            guard read32(base + 16) == magic, let map = read64(base + 32), let last = read64(base + 136),
                  let txnid = read64(base + 144) else { continue }
            if best == nil || Int(clamping: txnid) > best!.transaction {
                best = Meta(pageSize: pageSize, transaction: Int(clamping: txnid), lastPage: Int(clamping: last),
                            mapSize: Int(clamping: map), fileSize: size)
            }
        }
        guard let best else {
            throw damaged(path, "data.mdb (\(size) bytes) has no valid meta page: it is not an LMDB data file, or its first two pages were overwritten")
        }
        return best
    }

    /// Throws ``LMDBError/Code/damaged`` if `path/data.mdb` exists but cannot be a whole store: LMDB
    /// maps the file and would read past its end (SIGBUS in the caller) or, for an empty file,
    /// silently start a new store over it. Compares the file's size with the last page of its newer
    /// valid meta page. A missing file is fine (LMDB creates it).
    public static func check(in path: String) throws(LMDBError) {
        guard let meta = try meta(in: path) else { return }
        let needed = (meta.lastPage + 1) * meta.pageSize
        guard meta.fileSize >= needed else {
            throw damaged(path, "data.mdb is \(meta.fileSize) bytes, but its last committed transaction (\(meta.transaction)) uses \(meta.lastPage + 1) pages of \(meta.pageSize) bytes (\(needed) bytes): the file was cut short")
        }
    }

    private static func damaged(_ path: String, _ detail: String) -> LMDBError {
        LMDBError(code: .damaged, operation: "open \(path)", detail: detail)
    }

    // MARK: The lock file

    /// The process id of another process that has the environment in `path` open, or `nil` if none has.
    ///
    /// Every process with an environment open holds a shared `fcntl` lock on the first byte of
    /// `lock.mdb` (LMDB takes it exclusively to learn whether it is the first, then shares it), so a
    /// test for an exclusive lock there (`F_GETLK`) names a process that holds it. Locks of this process
    /// are not seen: `fcntl` locks belong to a process.
    public static func processHoldingOpen(_ path: String) -> Int32? {
        let fd = open(path + "/lock.mdb", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { Glibc.close(fd) }
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        guard fcntl(fd, F_GETLK, &lock) == 0, lock.l_type != Int16(F_UNLCK) else { return nil }
        return lock.l_pid
    }

    /// Runs `body` while this process holds the environment in `path` exclusively: no other process
    /// has it open, and one that tries to open it waits in `mdb_env_open` until `body` returns. For
    /// replacing `data.mdb` (an in-place compaction). This process must not have the environment open
    /// itself (closing LMDB's own descriptor would drop the lock).
    ///
    /// - Throws: ``LMDBError/Code/inUse`` naming a process that has it open; ``LMDBError/Code/alreadyOpen``
    ///   if this process has; the `errno` of opening `lock.mdb`.
    public static func withExclusiveUse<R>(of path: String, _ body: () throws -> R) throws -> R {
        if OpenEnvironments.isOpen(path) {
            throw LMDBError(code: .alreadyOpen, operation: "lock \(path) exclusively",
                            detail: "this process has the environment open; close it first")
        }
        let fd = open(path + "/lock.mdb", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw LMDBError(code: .init(rawValue: errno), operation: "open \(path)/lock.mdb") }
        defer { Glibc.close(fd) }  // closing the descriptor releases the lock
        var lock = flock()
        lock.l_type = Int16(F_WRLCK)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 1
        var rc: Int32
        repeat { rc = fcntl(fd, F_SETLK, &lock) } while rc != 0 && errno == EINTR
        if rc != 0 {
            let holder = processHoldingOpen(path).map { "process \($0) has it open" } ?? "another process has it open"
            throw LMDBError(code: .inUse, operation: "lock \(path) exclusively", detail: holder)
        }
        return try body()
    }
}
