import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The identity of a directory: device and inode, the same through any symbolic link or path spelling.
struct FileIdentity: Hashable, Sendable {
    var device: UInt64
    var inode: UInt64

    init(path: String) throws(LMDBError) {
        var s = stat()
        guard stat(path, &s) == 0 else {
            throw LMDBError(code: .init(rawValue: errno), operation: "stat \(path)")
        }
        guard (s.st_mode & S_IFMT) == S_IFDIR else {
            throw LMDBError(code: .init(rawValue: ENOTDIR), operation: "open \(path)",
                            detail: "an environment is a directory holding data.mdb and lock.mdb")
        }
        device = UInt64(s.st_dev)
        inode = UInt64(s.st_ino)
    }

    /// `mkdir -p path`.
    /// Creates `path` and its missing parents; returns the directories it created, outermost first.
    /// If it fails part-way, it removes the ones it created before it throws.
    static func makeDirectory(_ path: String) throws(LMDBError) -> [String] {
        var created: [String] = []
        var prefix = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            prefix += part
            if mkdir(prefix, 0o755) == 0 {
                created.append(prefix)
            } else if errno != EEXIST {
                let code = errno
                removeCreated(created)
                // The directory the failed mkdir was to create an entry in: `prefix` without its last name.
                let above = prefix[..<(prefix.lastIndex(of: "/") ?? prefix.startIndex)]
                let parent = above.isEmpty ? (path.hasPrefix("/") ? "/" : ".") : String(above)
                throw LMDBError(code: .init(rawValue: code), operation: "mkdir \(prefix)",
                                detail: code == EACCES ? "this user may not create a directory in \(parent)" : nil)
            }
            prefix += "/"
        }
        return created
    }

    /// Removes directories `makeDirectory` created, innermost first (the caller has removed the LMDB
    /// files a failed open began in them).
    static func removeCreated(_ created: [String]) {
        for dir in created.reversed() { rmdir(dir) }
    }
}

/// The environments this process has open, so the same directory is never opened twice: LMDB forbids
/// it ("Do not have open an LMDB database twice in the same process at the same time"), since closing
/// either copy would drop the other's POSIX locks.
enum OpenEnvironments {
    /// The set, guarded by `lock` (a pthread mutex, which the thread sanitizer sees, unlike
    /// `Synchronization.Mutex`'s futex inside the uninstrumented standard library).
    private final class Registry: @unchecked Sendable {
        let lock = Lock()
        var open: Set<FileIdentity> = []
    }
    private static let registry = Registry()

    static func claim(_ identity: FileIdentity, path: String) throws(LMDBError) {
        let inserted = registry.lock.withLock { registry.open.insert(identity).inserted }
        guard inserted else {
            throw LMDBError(code: .alreadyOpen, operation: "open \(path)",
                            detail: "this directory (device \(identity.device), inode \(identity.inode)) is already open")
        }
    }

    /// Whether this process has the environment in directory `path` open.
    static func isOpen(_ path: String) -> Bool {
        guard let identity = try? FileIdentity(path: path) else { return false }
        return registry.lock.withLock { registry.open.contains(identity) }
    }

    static func release(_ identity: FileIdentity) {
        _ = registry.lock.withLock { registry.open.remove(identity) }
    }
}

/// Counts `fork()`s, so an environment opened before a fork can tell it is in the child.
@usableFromInline
enum ForkWatch {
    @usableFromInline static let generation = Atomic<Int>(0)
    private static let installed = Atomic<Bool>(false)

    static func install() {
        guard installed.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        pthread_atfork(nil, nil) { ForkWatch.generation.add(1, ordering: .relaxed) }
    }
}
