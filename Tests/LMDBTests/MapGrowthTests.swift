import Synchronization
import LMDB
import Testing
import TestSupport

@Suite struct MapGrowthTests {
    /// From a 64 KiB map, 1M entries in batches: the map grows by itself, every batch lands once.
    @Test func growsFrom64KiBWhileWritingAMillionEntries() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        let start = env.mapSize
        var runs = 0
        for batch in 0..<10 {
            try env.write { txn in
                runs += 1
                let db = try txn.openDatabase("big")!
                for i in UInt64(batch * 100_000)..<UInt64((batch + 1) * 100_000) {
                    try withUnsafeBytes(of: i.bigEndian) { k in
                        try withUnsafeBytes(of: i &* 0x9E37_79B9) { v in _ = try txn.put(db, key: k, value: v, flags: .append) }
                    }
                }
            }
        }
        #expect(env.mapSize > start)
        #expect(runs > 10, "some batches must have been retried after growth")
        try env.read { txn in
            let db = try txn.openDatabase("big", create: false)!
            #expect(try txn.count(db) == 1_000_000)
            var sum: UInt64 = 0, n: UInt64 = 0, previous: UInt64? = nil, inOrder = true
            try txn.withCursor(db) { c in
                for (k, v) in c.entries() {
                    let key = UInt64(bigEndian: k.loadUnaligned(as: UInt64.self))
                    if let p = previous, key != p + 1 { inOrder = false }
                    previous = key
                    sum &+= v.loadUnaligned(as: UInt64.self)
                    n += 1
                }
            }
            var expected: UInt64 = 0
            for i in 0..<UInt64(1_000_000) { expected &+= i &* 0x9E37_79B9 }
            #expect(n == 1_000_000 && inOrder && sum == expected)
        }
    }

    /// MDB_MAP_FULL in the middle of a transaction that is iterating another database through a
    /// cursor: the transaction is aborted, the map grown and the closure run again from the start, so
    /// the iteration starts over on a fresh cursor; the copy ends complete, each entry once, the sums
    /// equal (issue 13, item 3).
    @Test func mapFullDuringACursorIterationReplaysTheWholeTransaction() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        let n: UInt64 = 50_000
        try env.write { txn in
            let src = try txn.openDatabase("src")!
            for i in 0..<n {
                try withUnsafeBytes(of: i.bigEndian) { k in
                    try withUnsafeBytes(of: i &* 0x9E37_79B9) { v in _ = try txn.put(src, key: k, value: v, flags: .append) }
                }
            }
        }
        let before = env.mapSize
        var runs = 0
        var copiedInLastRun = 0
        try env.write { txn in
            runs += 1
            copiedInLastRun = 0
            let src = try txn.openDatabase("src", create: false)!
            let dst = try txn.openDatabase("dst")!
            try txn.withCursor(src) { c in
                for (k, v) in c.entries() {
                    // A wider value than the source's: the copy needs more pages than the map has.
                    var wide = [UInt8](repeating: 0, count: 64)
                    wide.withUnsafeMutableBytes { $0.copyMemory(from: v) }
                    _ = try wide.withUnsafeBytes { w in try txn.put(dst, key: k, value: w) }
                    copiedInLastRun += 1
                }
            }
        }
        #expect(env.mapSize > before)
        #expect(runs > 1, "the map must have filled during the copy")
        #expect(copiedInLastRun == Int(n))
        try env.read { txn in
            let src = try txn.openDatabase("src", create: false)!, dst = try txn.openDatabase("dst", create: false)!
            #expect(try txn.count(dst) == Int(n))
            var a: UInt64 = 0, b: UInt64 = 0
            try txn.withCursor(src) { c in for (_, v) in c.entries() { a &+= v.loadUnaligned(as: UInt64.self) } }
            try txn.withCursor(dst) { c in for (_, v) in c.entries() { b &+= v.loadUnaligned(as: UInt64.self) } }
            #expect(a == b)
        }
    }

    /// A write that swallows MDB_MAP_FULL inside its closure is still retried, not committed half-done.
    @Test func swallowedMapFullIsStillRetried() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        try env.write { txn in
            let db = try txn.openDatabase("d")!
            for i in 0..<UInt32(20_000) {
                do { try txn.put(db, key: withUnsafeBytes(of: i.bigEndian) { Array($0) }, value: [UInt8](repeating: 1, count: 64)) } catch {}
            }
        }
        try env.read { txn throws in #expect(try txn.count(try txn.openDatabase("d", create: false)!) == 20_000) }
    }

    @Test func aMaximumMapSizeStopsGrowthWithATypedError() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, maximumMapSize: 256 << 10, durability: .noSync))
        let error = #expect(throws: LMDBError.self) {
            try env.write { txn in
                let db = try txn.openDatabase("d")!
                for i in 0..<UInt32(100_000) { try txn.put(db, key: withUnsafeBytes(of: i.bigEndian) { Array($0) }, value: [1]) }
            }
        }
        #expect(error?.code == .mapFull)
        #expect(error?.recoverySuggestion.isEmpty == false)
        try env.read { txn throws in #expect(try txn.openDatabase("d", create: false) == nil) }
    }

    /// This process grows the map from 64 KiB to over 64 MiB in many steps while 8 of its own threads
    /// and another process read in a loop (issue 13, item 4): no crash, no deadlock, every read a
    /// consistent snapshot (values check against their keys, counts in whole batches that never go
    /// down), and the reader process adopts each new size.
    @Test func aReaderProcessAndEightThreadsReadWhileTheMapGrows() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        let db = try env.write { txn in try txn.openDatabase("grow")! }
        let (reader, out, err) = try launch(builtExecutable("LMDBTestHelper"), ["read-loop", dir.path])
        _ = out.fileHandleForReading.availableData  // "reading"
        let done = Atomic<Bool>(false)
        let failures = Locked<[String]>([])
        let reads = Atomic<Int>(0)
        onThreads(9) { thread in
            guard thread > 0 else {
                var value = [UInt8](repeating: 0, count: 512)
                do {
                    for batch in 0..<150 as Range<UInt64> {
                        try env.write { txn in
                            for i in (batch * 1_000)..<((batch + 1) * 1_000) {
                                withUnsafeBytes(of: i &* 3) { tag in value.withUnsafeMutableBytes { $0.copyMemory(from: tag) } }
                                _ = try withUnsafeBytes(of: i.bigEndian) { k in try value.withUnsafeBytes { v in try txn.put(db, key: k, value: v) } }
                            }
                        }
                    }
                } catch { failures.withLock { $0.append("writer: \(error)") } }
                done.store(true, ordering: .releasing)
                return
            }
            var last = 0
            while !done.load(ordering: .acquiring) {
                do {
                    let count = try env.read { txn in
                        try txn.withCursor(db) { cursor in
                            var n = 0
                            for (k, v) in cursor.entries() {
                                let key = UInt64(bigEndian: k.loadUnaligned(as: UInt64.self))
                                guard v.count == 512, v.loadUnaligned(as: UInt64.self) == key &* 3 else { return -1 }
                                n += 1
                            }
                            return n
                        }
                    }
                    guard count % 1_000 == 0, count >= last else {
                        failures.withLock { $0.append("thread \(thread): count \(count) after \(last)") }
                        return
                    }
                    last = count
                    reads.add(1, ordering: .relaxed)
                } catch {
                    failures.withLock { $0.append("thread \(thread): \(error)") }
                    return
                }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
        #expect(reads.load(ordering: .relaxed) > 8, "the threads read while the map grew")
        #expect(try env.read { txn in try txn.count(db) } == 150_000)
        let grown = env.mapSize
        #expect(grown > 64 << 20, "the map grew to \(grown)")
        try env.write { txn in try txn.put(try txn.openDatabase("grow")!, key: Array("stop".utf8), value: [1]) }
        env.close()
        reader.waitUntilExit()
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        _ = err.fileHandleForReading.readDataToEndOfFile()
        #expect(reader.terminationStatus == 0, "\(said)")
        let fields = said.split(separator: "\n").last?.split(separator: " ") ?? []
        #expect(fields.first == "done" && fields.count == 4, "\(said)")
        #expect(Int(fields[safe: 2] ?? "") == 150_000, "the reader saw every entry in the end: \(said)")
        #expect((Int(fields[safe: 3] ?? "") ?? 0) >= grown, "the reader adopted the grown map: \(said)")
        #expect((Int(fields[safe: 1] ?? "") ?? 0) > 1, "the reader read while the map grew: \(said)")
    }

    /// Another process grows the map; this one adopts the new size when its next transaction begins.
    @Test func adoptsAMapGrownByAnotherProcess() throws {
        let dir = TemporaryDirectory()
        let env = try Environment(path: dir.path, options: .init(mapSize: 64 << 10, durability: .noSync))
        try env.write { txn in try txn.put(try txn.openDatabase("mine")!, key: [1], value: [1]) }
        let before = env.mapSize
        let result = try run(builtExecutable("LMDBTestHelper"), ["fill", dir.path, "2000"])
        #expect(result.status == 0, "\(result.standardError)")
        try env.write { txn in try txn.put(try txn.openDatabase("mine")!, key: [2], value: [2]) }
        #expect(env.mapSize > before)
        try env.read { txn throws in #expect(try txn.count(try txn.openDatabase("other", create: false)!) == 2000) }
    }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
