#if canImport(Glibc)
import Glibc
#endif

/// Runs `body(i)` for i in 0..<count, each on a thread of its own (real pthreads, not the cooperative
/// pool: the tests need as many at once as they ask for), and waits for all of them.
public func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
    final class Box { let run: () -> Void; init(_ run: @escaping () -> Void) { self.run = run } }
    var threads: [pthread_t] = []
    for i in 0..<count {
        var thread = pthread_t()
        let box = Unmanaged.passRetained(Box { body(i) }).toOpaque()
        pthread_create(&thread, nil, { raw in
            Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue().run()
            return nil
        }, box)
        threads.append(thread)
    }
    for thread in threads { pthread_join(thread, nil) }
}

/// Runs `body` on a new thread and waits for it to exit.
public func runOnNewThread(_ body: @escaping @Sendable () -> Void) {
    onThreads(1) { _ in body() }
}
