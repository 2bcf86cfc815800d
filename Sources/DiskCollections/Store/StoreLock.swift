import LMDB
#if canImport(Glibc)
import Glibc
#endif

/// The lock of a store's shared state: its cache (read cache, write buffer, presence tables, the
/// governor) and its queues' buffers. Recursive, since a store operation may run another on the same
/// thread (a flush inside a buffered write, a collection operation inside a write transaction's
/// closure). A pthread mutex: the thread sanitizer sees it. The one place DiskCollections calls pthreads.
@usableFromInline
final class StoreLock: @unchecked Sendable {
    // Sendable: the pthread mutex is the synchronisation; its storage is allocated once, never moved.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let environment: Environment

    init(environment: Environment) {
        self.environment = environment
        mutex = .allocate(capacity: 1)
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, Int32(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` under the lock.
    ///
    /// A thread inside a transaction's closure (a scan's) that finds the lock taken must not simply
    /// wait: the holder may be growing the map, which waits for that closure to end. It waits in steps
    /// of a millisecond and throws ``DiskCollectionsError/scanBlocksGrowth(store:)`` once a remap waits.
    @usableFromInline @inline(__always)
    func withLock<R>(_ body: () throws -> R) throws -> R {
        if _slowPath(pthread_mutex_trylock(mutex) != 0) { try lockContended() }
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// ``withLock(_:)`` for a caller that is in no transaction's closure: it waits as long as it takes.
    @usableFromInline @inline(__always)
    func withLockOutsideTransactions<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    @usableFromInline @inline(never)
    func lockContended() throws {
        guard environment.callerIsInTransaction else { pthread_mutex_lock(mutex); return }
        while true {
            var deadline = timespec()
            clock_gettime(CLOCK_REALTIME, &deadline)
            deadline.tv_nsec += 1_000_000
            if deadline.tv_nsec >= 1_000_000_000 { deadline.tv_sec += 1; deadline.tv_nsec -= 1_000_000_000 }
            if pthread_mutex_timedlock(mutex, &deadline) == 0 { return }
            if environment.isRemapPending { throw DiskCollectionsError.scanBlocksGrowth(store: environment.path) }
        }
    }

    /// Runs `body` under the lock if it is free (or this thread holds it), else returns `nil` at once.
    /// For work inside a read transaction's closure, which must never wait for the lock: a writer
    /// holding it may be waiting for that transaction to end (to grow the map).
    func withLockIfFree<R>(_ body: () throws -> R) rethrows -> R? {
        guard pthread_mutex_trylock(mutex) == 0 else { return nil }
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Runs `body` with the lock released once (a held-once lock is free meanwhile: a cache miss reads
    /// LMDB while other threads use the cache). The caller holds the lock. Inside a transaction's
    /// closure the lock stays held (taking it back there could wait on a remap; see ``withLock(_:)``).
    @usableFromInline @inline(__always)
    func withoutLock<R>(_ body: () throws -> R) rethrows -> R {
        if _slowPath(environment.callerIsInTransaction) { return try body() }
        pthread_mutex_unlock(mutex)
        defer { pthread_mutex_lock(mutex) }
        return try body()
    }
}

/// The lock of one read-cache shard (``ReadShard``): a plain pthread mutex in a cache line of its own,
/// so that two threads using different shards do not pass a line back and forth. A struct holding a
/// pointer, so that taking it retains nothing (a retain is an atomic write to a shared object's count).
/// Never held while waiting for anything else; taken after the store's lock when both are held.
struct ShardLock: @unchecked Sendable {
    // Sendable: the pthread mutex is the synchronisation; its storage is allocated once, never moved.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        let raw = UnsafeMutableRawPointer.allocate(byteCount: 128, alignment: 64)
        mutex = raw.bindMemory(to: pthread_mutex_t.self, capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// Frees the mutex; called once, by its owner's `deinit`.
    func destroy() {
        pthread_mutex_destroy(mutex)
        UnsafeMutableRawPointer(mutex).deallocate()
    }

    @inline(__always)
    func withLock<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
