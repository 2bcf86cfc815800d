import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// The one place the LMDB module calls pthreads: a mutex that can be held across calls, the gate
// between transactions and map changes, and thread-local slots.

/// A mutex (`pthread_mutex_t`) whose lock and unlock may be in different calls. Unlike
/// `Synchronization.Mutex`, it guards no value: it orders work (a writer's whole transaction).
final class Lock: @unchecked Sendable {
    // Sendable: the pthread mutex is the synchronisation; its storage is allocated once, never moved.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func withLock<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        lock()
        defer { unlock() }
        return try body()
    }
}

/// The gate between transactions and changes to the environment itself: a transaction's body runs
/// on the shared side, map growth (`mdb_env_set_mapsize` remaps the file, so no thread may hold a page
/// pointer) and close run on the exclusive side. A thread's nested transactions (a read inside a
/// write) share one hold, counted in its ``ThreadState``.
///
/// The shared side writes only the thread's own flag (``ThreadState/active``): no cache line is shared
/// between readers, so they scale with cores (a pthread rwlock's reader count is one line every reader
/// writes, twice a transaction). The exclusive side announces itself (`pending`), then waits for every
/// thread's flag to clear; a thread that finds it announced steps back and waits on `rwlock`, which
/// the exclusive side holds meanwhile. Both sides store, then load the other's word, sequentially
/// consistent: at least one sees the other (Dekker). Waiting growers are preferred: once announced,
/// no new body starts.
@usableFromInline
final class TransactionGate: @unchecked Sendable {
    // Sendable: the flags are atomics, `rwlock` a pthread rwlock allocated once; the registry has a lock.
    private let rwlock: UnsafeMutablePointer<pthread_rwlock_t>
    /// Set while a thread takes or holds the exclusive side.
    @usableFromInline let pending = Atomic<Bool>(false)
    /// Threads waiting for the exclusive side (to remap or close), until they hold it.
    let exclusiveWaiters = Atomic<Int>(0)
    /// The threads whose flags the exclusive side waits for.
    private let registry: ThreadRegistry

    init(registry: ThreadRegistry) {
        self.registry = registry
        rwlock = .allocate(capacity: 1)
        pthread_rwlock_init(rwlock, nil)
    }

    deinit {
        pthread_rwlock_destroy(rwlock)
        rwlock.deallocate()
    }

    /// Enters the shared side for a transaction body of `state`'s thread (once per thread: nested
    /// bodies only count).
    @usableFromInline @inline(__always)
    func enterShared(_ state: ThreadState) {
        if state.gateDepth == 0 {
            state.active.store(true, ordering: .sequentiallyConsistent)
            if _slowPath(pending.load(ordering: .sequentiallyConsistent)) { waitForExclusive(state) }
        }
        state.gateDepth += 1
    }

    @usableFromInline @inline(__always)
    func leaveShared(_ state: ThreadState) {
        state.gateDepth -= 1
        if state.gateDepth == 0 { state.active.store(false, ordering: .releasing) }
    }

    /// An exclusive side is announced: step back until it is done, then enter.
    @usableFromInline @inline(never)
    func waitForExclusive(_ state: ThreadState) {
        while pending.load(ordering: .sequentiallyConsistent) {
            state.active.store(false, ordering: .sequentiallyConsistent)
            pthread_rwlock_rdlock(rwlock)  // held by the exclusive side until it is done
            pthread_rwlock_unlock(rwlock)
            state.active.store(true, ordering: .sequentiallyConsistent)
        }
    }

    /// Runs `body` with no transaction body running on any thread. The caller's thread must hold no
    /// shared side itself.
    func exclusive<R, E: Error>(_ body: () throws(E) -> R) throws(E) -> R {
        exclusiveWaiters.add(1, ordering: .relaxed)
        pthread_rwlock_wrlock(rwlock)
        pending.store(true, ordering: .sequentiallyConsistent)
        for state in registry.states() {
            var spins = 0
            while state.active.load(ordering: .sequentiallyConsistent) {
                spins += 1
                if spins < 64 { continue }
                if spins < 1024 { sched_yield() } else { usleep(50) }
            }
        }
        exclusiveWaiters.subtract(1, ordering: .relaxed)
        defer {
            pending.store(false, ordering: .sequentiallyConsistent)
            pthread_rwlock_unlock(rwlock)
        }
        return try body()
    }
}

/// A thread-local slot (`pthread_key_t`) holding one object per thread, released by `destructor`
/// when the thread exits.
@usableFromInline
final class ThreadLocalKey: @unchecked Sendable {
    // Sendable: a pthread key is a process-wide number; each thread reads and writes only its own slot.
    let key: pthread_key_t

    init(destructor: @escaping @convention(c) (UnsafeMutableRawPointer?) -> Void) {
        var key = pthread_key_t()
        pthread_key_create(&key, destructor)
        self.key = key
    }

    /// Frees the key; threads' values are left to the caller (no destructor runs for them).
    func delete() { pthread_key_delete(key) }

    @usableFromInline @inline(__always)
    var value: UnsafeMutableRawPointer? {
        get { pthread_getspecific(key) }
        set { pthread_setspecific(key, newValue) }
    }
}
