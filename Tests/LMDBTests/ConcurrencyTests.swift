import Foundation
import LMDB
import Synchronization
import Testing
import TestSupport

/// An `Environment` used from many threads at once (issue 12): readers in parallel with a writer,
/// every read a committed snapshot, map growth and close with readers running, kept snapshots
/// released when their thread ends.
@Suite struct ConcurrencyTests {
    static func key(_ k: UInt32) -> [UInt8] { withUnsafeBytes(of: k.bigEndian) { Array($0) } }

    /// A writer commits rounds in which every one of 200 keys takes the round's number; 8 threads
    /// read all of them in transactions of their own (`read` and `readRecent`): each read sees one
    /// round whole (a committed snapshot, never a torn write), and never an older round than before.
    @Test func readersSeeCommittedSnapshotsWhileOneWrites() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("m")! }
        let keys = (0..<200 as Range<UInt32>).map(Self.key)
        try env.write { txn in for k in keys { try txn.put(db, key: k, value: [0, 0, 0, 0]) } }
        let done = Atomic<Bool>(false)
        let failures = Locked<[String]>([])
        let reads = Atomic<Int>(0)
        let ready = Atomic<Int>(0)
        let lastRound = Atomic<UInt32>(0)
        onThreads(9) { thread in
            if thread == 0 {
                while ready.load(ordering: .acquiring) < 8 { usleep(100) }  // every reader has read once
                // 300 rounds, and on until the readers have read 200 times (a loaded machine, as
                // under the thread sanitizer with other tests running, may schedule them late).
                var round: UInt32 = 0
                while round < 300 || (reads.load(ordering: .relaxed) < 200 && failures.withLock({ $0.isEmpty }) && round < 100_000) {
                    round += 1
                    let value = withUnsafeBytes(of: round) { Array($0) }
                    try? env.write { txn in for k in keys { try txn.put(db, key: k, value: value) } }
                }
                lastRound.store(round, ordering: .releasing)
                done.store(true, ordering: .releasing)
                return
            }
            var last: UInt32 = 0
            var counted = false
            while !done.load(ordering: .acquiring) {
                do {
                    let read = { (txn: Transaction) throws -> Set<UInt32> in
                        Set(try keys.map { k in try txn.get(db, key: k)!.withUnsafeBytes { $0.load(as: UInt32.self) } })
                    }
                    let seen = thread % 2 == 0 ? try env.read(read) : try env.readRecent(read)
                    reads.add(1, ordering: .relaxed)
                    if !counted { counted = true; ready.add(1, ordering: .releasing) }
                    guard seen.count == 1, let round = seen.first else {
                        failures.withLock { $0.append("thread \(thread): a torn read \(seen.sorted())") }
                        return
                    }
                    guard round >= last else {
                        failures.withLock { $0.append("thread \(thread): round \(round) after \(last)") }
                        return
                    }
                    last = round
                } catch {
                    failures.withLock { $0.append("thread \(thread): \(error)") }
                    return
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(reads.load(ordering: .relaxed) >= 200)
        // A read after the writer's last commit sees it, on a thread that kept a snapshot too.
        let last = lastRound.load(ordering: .acquiring)
        #expect(try env.readRecent { txn in try txn.get(db, key: keys[7])! } == withUnsafeBytes(of: last) { Array($0) })
    }

    /// The map grows from 64 KiB to past 64 MiB while 8 threads read in a loop: no crash, no
    /// deadlock, each growth waits for the bodies running, and every read sees a consistent count
    /// (issue 13, item 4, threads).
    @Test func mapGrowthWhileEightThreadsRead() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("grow")! }
        let done = Atomic<Bool>(false)
        let failures = Locked<[String]>([])
        onThreads(9) { thread in
            if thread == 0 {
                let value = [UInt8](repeating: 9, count: 512)
                for batch in 0..<150 as Range<UInt32> {
                    do {
                        try env.write { txn in
                            for i in (batch * 1_000)..<((batch + 1) * 1_000) { try txn.put(db, key: Self.key(i), value: value) }
                        }
                    } catch { failures.withLock { $0.append("writer: \(error)") } }
                }
                done.store(true, ordering: .releasing)
                return
            }
            var last = 0
            while !done.load(ordering: .acquiring) {
                do {
                    let count = try env.read { txn in try txn.count(db) }
                    // The count and a walk of the same snapshot agree, and never go down.
                    let walked = try env.read { txn in try txn.withCursor(db) { cursor in cursor.entries().reduce(0) { n, _ in n + 1 } } }
                    guard count % 1_000 == 0, count >= last, walked >= count else {
                        failures.withLock { $0.append("thread \(thread): count \(count) after \(last), walk \(walked)") }
                        return
                    }
                    last = count
                } catch {
                    failures.withLock { $0.append("thread \(thread): \(error)") }
                    return
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(env.mapSize > 64 << 20)
        #expect(try env.read { txn in try txn.count(db) } == 150_000)
    }

    /// Writers on several threads take turns: every write lands, none is refused.
    @Test func writersOnSeveralThreadsTakeTurns() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("w")! }
        let failures = Locked<[String]>([])
        onThreads(4) { thread in
            for i in 0..<500 as Range<UInt32> {
                do {
                    try env.write { txn in try txn.put(db, key: Self.key(UInt32(thread) << 16 | i), value: [UInt8](repeating: 1, count: 64)) }
                } catch { failures.withLock { $0.append("\(thread): \(error)") } }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(try env.read { txn in try txn.count(db) } == 2_000)
        // A write inside a write on one thread is still refused, not a deadlock.
        let nested = #expect(throws: LMDBError.self) { try env.write { _ in try env.write { _ in } } }
        #expect(nested?.code == .badTransaction)
    }

    /// Threads that kept a snapshot and ended free their reader slots: 300 threads one after another,
    /// with 126 slots, all read.
    @Test func aThreadsKeptSnapshotEndsWithTheThread() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("t")! }
        try env.write { txn in try txn.put(db, key: Self.key(1), value: [1]) }
        let reads = Atomic<Int>(0)
        for _ in 0..<300 {
            // A thread of its own, joined: its exit (and the release of what it kept) happens first.
            runOnNewThread {
                if (try? env.readRecent { txn in try txn.get(db, key: Self.key(1)) }) == [1] { reads.add(1, ordering: .relaxed) }
            }
        }
        #expect(reads.load(ordering: .relaxed) == 300)
        let slots = try env.info().readers
        #expect(slots <= 8, "slots in use: \(slots)")
    }

    /// Closing while other threads read waits for their bodies; their next read is a typed error.
    @Test func closeWaitsForReadersAndThenRefusesThem() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("c")! }
        try env.write { txn in for i in 0..<1_000 as Range<UInt32> { try txn.put(db, key: Self.key(i), value: [1]) } }
        let outcomes = Locked<[String]>([])
        onThreads(5) { thread in
            if thread == 0 {
                usleep(20_000)
                env.close()
                return
            }
            while true {
                do {
                    let n = try env.readRecent { txn in try txn.count(db) }
                    guard n == 1_000 else { outcomes.withLock { $0.append("wrong count \(n)") }; return }
                } catch let error as LMDBError {
                    outcomes.withLock { $0.append(error.code == .closed ? "closed" : "\(error)") }
                    return
                } catch { return }
            }
        }
        #expect(outcomes.withLock { $0 } == ["closed", "closed", "closed", "closed"])
        #expect(env.isClosed)
    }
}
