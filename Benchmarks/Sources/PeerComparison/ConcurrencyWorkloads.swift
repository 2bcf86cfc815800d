import DiskCollections
import Dispatch
import Foundation
import LMDB
import Synchronization

// Issue 12's speed figures: random gets from 1 and 2 tasks (the scaling, with the cache on and off),
// and the cooperative pool's responsiveness while a task commits small durable transactions.

/// A result handed from a task to the synchronous top level.
final class ResultBox<R: Sendable>: @unchecked Sendable {
    // Sendable: `result` is written once before `done` is signalled and read after the wait.
    private var result: Swift.Result<R, any Error>?
    private let done = DispatchSemaphore(value: 0)

    /// Runs `body` in a task and waits for it from synchronous code.
    static func wait(_ body: @escaping @Sendable () async throws -> R) throws -> R {
        let box = ResultBox<R>()
        Task {
            do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
            box.done.signal()
        }
        box.done.wait()
        return try box.result!.get()
    }
}

struct ScalingResult: Encodable {
    var workload = "concurrent-random-get"
    var n: UInt64
    var cores: Int
    /// Per configuration: gets a second with 1 task and with 2 tasks, and their ratio.
    var rows: [Row]

    struct Row: Encodable {
        var configuration: String
        var one_task_per_s: Double
        var two_tasks_per_s: Double
        var scaling: Double
    }
}

/// Random gets over N keys for `seconds`, from `tasks` tasks at once, each with its own generator:
/// gets a second, all tasks together.
func concurrentGets(tasks: Int, seconds: Double, keys: [UInt64]?, _ get: @escaping @Sendable (UInt64) throws -> UInt64) throws -> Double {
    try ResultBox<Double>.wait {
        let start = now()
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for t in 0..<tasks {
                group.addTask {
                    var rng = XorShift(state: 0x9E37_79B9_7F4A_7C15 &* UInt64(t + 1))
                    var done = 0
                    var sum: UInt64 = 0
                    while true {
                        for _ in 0..<4096 {
                            let r = rng.next()
                            let key = keys.map { $0[Int(r % UInt64($0.count))] } ?? r % n
                            sum &+= try get(key)
                        }
                        done += 4096
                        if now() - start >= seconds { break }
                    }
                    if sum == 42 { print("") }  // keep the reads
                    return done
                }
            }
            var total = 0
            for try await d in group { total += d }
            return total
        }
        return Double(total) / (now() - start)
    }
}

/// Loads N entries, then measures 1 against 2 tasks of random gets: the LMDB module (a read
/// transaction a batch), DiskMap without a cache (a transaction a get), DiskMap through the cache
/// (uniform keys: mostly misses, read with the store's lock released; Zipf keys: mostly hits, under
/// it). Each configuration alternates 1, 2, 1, 2 tasks and keeps the best of each.
func runScaling() throws -> ScalingResult {
    do {
        let store = try Store(at: directory)
        let map = try store.map("bench", key: UInt64.self, value: UInt64.self)
        try map.setValues((0..<n).lazy.map { ($0, $0 &* 2) })
        store.close()
    }
    let seconds = 2.0
    var rows: [ScalingResult.Row] = []
    func measure(_ configuration: String, keys: [UInt64]? = nil, _ get: @escaping @Sendable (UInt64) throws -> UInt64) throws {
        var one = 0.0, two = 0.0
        for _ in 0..<2 {
            one = max(one, try concurrentGets(tasks: 1, seconds: seconds, keys: keys, get))
            two = max(two, try concurrentGets(tasks: 2, seconds: seconds, keys: keys, get))
        }
        rows.append(.init(configuration: configuration, one_task_per_s: one, two_tasks_per_s: two, scaling: two / one))
        FileHandle.standardError.write(Data("\(configuration): \(one / 1e6) M/s, \(two / 1e6) M/s, \(two / one)x\n".utf8))
    }

    do {
        let env = try Environment(path: directory, options: .init(durability: .noSync))
        let db = try env.read { txn in try txn.openDatabase("bench", create: false)! }
        try measure("LMDB module, kept snapshot (readRecent)") { key in
            // readRecent keeps this thread's snapshot between calls, as the cache's misses do.
            try env.readRecent { txn in
                try withUnsafeBytes(of: key.bigEndian) { k in try txn.get(db, key: k) { $0.loadUnaligned(as: UInt64.self) } } ?? 0
            }
        }
        env.close()
    }
    do {
        let store = try Store(at: directory, cacheBudget: .disabled)
        let map = try store.map("bench", key: UInt64.self, value: UInt64.self)
        try measure("DiskMap, cache disabled") { key in try map[key] ?? 0 }
        store.close()
    }
    do {
        let store = try Store(at: directory)
        let map = try store.map("bench", key: UInt64.self, value: UInt64.self)
        try measure("DiskMap, default cache, uniform keys") { key in try map[key] ?? 0 }
        let hot = zipfKeys(n: n, count: 1 << 20)
        try measure("DiskMap, default cache, Zipf(0.99) keys", keys: hot) { key in try map[key] ?? 0 }
        store.close()
    }
    return ScalingResult(n: n, cores: ProcessInfo.processInfo.activeProcessorCount, rows: rows)
}

struct ResponsivenessResult: Encodable {
    var workload = "durable-writes-responsiveness"
    var cores: Int
    /// Writer tasks.
    var writers: Int
    /// Per way of writing: commits a second, and how late a 1 ms timer task woke (p50, p99, max, ms).
    var rows: [Row]

    struct Row: Encodable {
        var writes: String
        /// How long the mode ran: 3 s, or longer when blocked writers started late.
        var seconds: Double
        var commits_per_s: Double
        /// How many times the timer task woke in the 3 s: 3,000 if it never waited for a thread.
        var ticks: Int
        var tick_late_p50_ms: Double
        var tick_late_p99_ms: Double
        var tick_late_max_ms: Double
        /// How long the timer task, created after the writers, waited for a thread to start on.
        var timer_start_delay_ms: Double
        /// The process's threads at their peak during the mode, less those before it: what the
        /// runtime added to keep the pool going while writers blocked.
        var threads_added: Int
    }
}

/// A `.durable` store; `writers` tasks (default: as many as cores) commit one small transaction after another for
/// a few seconds, while another task sleeps 1 ms in a loop and records how late it wakes. Writers use
/// the synchronous `store.write` (each commit's fsync holds a thread of the cooperative pool) or
/// `await store.write` (the store's writer thread does).
func runResponsiveness(writers requested: Int) throws -> ResponsivenessResult {
    let cores = ProcessInfo.processInfo.activeProcessorCount
    let writers = requested > 0 ? requested : cores
    let store = try Store(at: directory, durability: .durable)
    let map = try store.map("ticks", key: UInt64.self, value: UInt64.self)
    var rows: [ResponsivenessResult.Row] = []
    for way in ["none", "synchronous", "async"] {
        let began = now()
        let threadsBefore = processThreads()
        let peakThreads = Peak(threadsBefore)
        let startDelay = Peak(0)  // µs from the timer task's creation, after the writers', to its start
        let (commits, late) = try ResultBox<(Int, [Double])>.wait {
            let stop = Flag()
            let seconds = 3.0
            return try await withThrowingTaskGroup(of: (Int, [Double]).self) { group in
                if way != "none" {
                    for w in 0..<writers {
                        group.addTask {
                            var commits = 0
                            var k = UInt64(w) << 40
                            let start = now()
                            // Also by the clock: blocking writers may leave the timer task no thread.
                            while !stop.isSet && now() - start < seconds {
                                k += 1
                                let key = k
                                if way == "async" {
                                    try await store.write { try map.setValue(key, forKey: key) }
                                } else {
                                    try synchronousWrite(store) { try map.setValue(key, forKey: key) }
                                    // A well-behaved task gives its thread back between commits: what
                                    // is left is the time each commit holds it.
                                    await Task.yield()
                                }
                                commits += 1
                            }
                            return (commits, [])
                        }
                    }
                }
                let queued = now()
                group.addTask {
                    var late: [Double] = []
                    let start = now()
                    startDelay.raise(to: Int((start - queued) * 1e6))
                    while now() - start < seconds {
                        let t = now()
                        try await Task.sleep(for: .milliseconds(1))
                        late.append((now() - t - 0.001) * 1000)
                        if late.count % 10 == 0 { peakThreads.raise(to: processThreads()) }
                    }
                    stop.set()
                    return (0, late)
                }
                var commits = 0
                var late: [Double] = []
                for try await (c, l) in group { commits += c; late += l }
                return (commits, late)
            }
        }
        let elapsed = now() - began
        let sorted = late.sorted()
        func percentile(_ p: Double) -> Double { sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        let threads = peakThreads.value - threadsBefore
        rows.append(.init(writes: way, seconds: elapsed, commits_per_s: Double(commits) / elapsed, ticks: late.count,
                          tick_late_p50_ms: percentile(0.5), tick_late_p99_ms: percentile(0.99), tick_late_max_ms: sorted.last ?? 0,
                          timer_start_delay_ms: Double(startDelay.value) / 1000, threads_added: threads))
        FileHandle.standardError.write(Data("\(way): \(elapsed) s, \(Double(commits) / elapsed) commits/s, \(late.count) ticks, late p50 \(percentile(0.5)) p99 \(percentile(0.99)) max \(sorted.last ?? 0) ms, started after \(Double(startDelay.value) / 1000) ms, \(threads) threads added\n".utf8))
    }
    store.close()
    return ResponsivenessResult(cores: cores, writers: writers, rows: rows)
}

/// The process's threads now (`Threads:` in /proc/self/status).
func processThreads() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Threads:") }) else { return 0 }
    return Int(line.dropFirst(8).trimmingCharacters(in: .whitespaces)) ?? 0
}

/// The synchronous `store.write` (in an async function the name means the async one).
func synchronousWrite(_ store: Store, _ body: () throws -> Void) throws { try store.write(body) }

/// A maximum tasks share.
final class Peak: Sendable {
    private let peak: Atomic<Int>
    init(_ value: Int) { peak = Atomic(value) }
    var value: Int { peak.load(ordering: .relaxed) }
    func raise(to value: Int) { peak.max(value, ordering: .relaxed) }
}

/// A flag tasks share.
final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
