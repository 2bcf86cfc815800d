// The workload of ../shared/peers/raw_lmdb.c, step for step, through DiskCollections' modules.
// usage: PeerComparison lmdb|diskmap EMPTY_DIR N     Prints one JSON line with the peers' field names.
//        PeerComparison memory-diskset|memory-set EMPTY_DIR N [BATCH]   Peak RssAnon/RssFile while inserting.
import DiskCollections
import Foundation
import LMDB
import SearchPuzzles

let arguments = CommandLine.arguments
guard arguments.count >= 4, UInt64(arguments[3]) != nil else {
    FileHandle.standardError.write(Data("usage: PeerComparison lmdb|diskmap|memory-diskset|memory-set EMPTY_DIR N [BATCH]\n".utf8))
    exit(2)
}
let implementation = arguments[1], directory = arguments[2]
let n = UInt64(arguments[3])!

/// The peers' xorshift64, same seed.
struct XorShift {
    var state: UInt64 = 88_172_645_463_325_252
    init(state: UInt64 = 88_172_645_463_325_252) { self.state = state }
    mutating func next() -> UInt64 {
        state ^= state << 13; state ^= state >> 7; state ^= state << 17
        return state
    }
}

@Sendable func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) / 1e9
}

struct Result: Encodable {
    var impl: String
    var n: UInt64
    var append_load_per_s: Double
    var random_put_per_s: Double
    var random_get_per_s: Double
    var scan_per_s: Double
    var count: UInt64
    var checksum: UInt64
}

func runLMDB() throws -> Result {
    let env = try Environment(path: directory, options: .init(mapSize: 64 << 30, durability: .noSync))
    var rng = XorShift()
    var t0 = now()
    var db: Database!
    try env.write { txn in
        db = try txn.openDatabase(nil)!
        let database = db!  // a local, like raw C's dbi: a captured var is reloaded after every C call
        for i in 0..<n {
            var key = i.bigEndian, value = i &* 2
            try withUnsafeBytes(of: &key) { k in
                try withUnsafeBytes(of: &value) { v in _ = try txn.put(database, key: k, value: v, flags: .append) }
            }
        }
    }
    let load = now() - t0

    t0 = now()
    let m = n / 10
    try env.write { txn in
        let database = db!
        for i in 0..<m {
            var key = (rng.next() % (n * 2)).bigEndian, value = i
            try withUnsafeBytes(of: &key) { k in
                try withUnsafeBytes(of: &value) { v in _ = try txn.put(database, key: k, value: v) }
            }
        }
    }
    let randomPut = now() - t0

    var sum: UInt64 = 0, count: UInt64 = 0
    var randomGet = 0.0, scan = 0.0
    try env.read { txn in
        let database = db!
        t0 = now()
        for _ in 0..<n {
            var key = (rng.next() % n).bigEndian
            if let x = try withUnsafeBytes(of: &key, { k in try txn.get(database, key: k) { $0.loadUnaligned(as: UInt64.self) } }) {
                sum &+= x
            }
        }
        randomGet = now() - t0
        t0 = now()
        let (s, c) = try txn.withCursor(db) { cursor in
            var s: UInt64 = 0, c: UInt64 = 0
            for (_, v) in cursor.entries() { s &+= v.loadUnaligned(as: UInt64.self); c += 1 }
            return (s, c)
        }
        sum &+= s
        count += c
        scan = now() - t0
    }
    env.close()
    return Result(impl: "swift-lmdb", n: n, append_load_per_s: Double(n) / load, random_put_per_s: Double(m) / randomPut,
                  random_get_per_s: Double(n) / randomGet, scan_per_s: Double(count) / scan, count: count, checksum: sum)
}

let encoder = JSONEncoder()
encoder.outputFormatting = [.sortedKeys]
let batch = arguments.count > 4 ? Int(arguments[4]) ?? 8192 : 8192
let result: Result
switch implementation {
case "lmdb": result = try runLMDB()
case "diskmap": result = try runDiskMap()
case "diskmap-checksummed": result = try runDiskMapChecksummed()
case "diskmap-scan":
    // Profiling aid: load, then scan 10 times through DiskMap.forEach.
    let store = try Store(at: directory)
    let map = try store.map("bench", key: UInt64.self, value: UInt64.self)
    try map.setValues((0..<n).lazy.map { ($0, $0 &* 2) })
    if ProcessInfo.processInfo.environment["FRAGMENT"] != nil {
        var rng = XorShift()
        try store.write { for i in 0..<(n / 10) { try map.setValue(i, forKey: rng.next() % (n * 2)) } }
        // The same tree through the LMDB module, for comparison.
        store.close()
        let env = try Environment(path: directory, options: .init(durability: .noSync))
        var total: UInt64 = 0
        let t = now()
        for _ in 0..<10 {
            total &+= try env.read { txn in
                try txn.withCursor(try txn.openExistingDatabase("bench")!) { cursor in
                    var s: UInt64 = 0
                    for (_, v) in cursor.entries() { s &+= v.loadUnaligned(as: UInt64.self) }
                    return s
                }
            }
        }
        print("lmdb-scan \(Double(n * 10) / (now() - t) / 1e6) M/s checksum \(total)")
        env.close()
    }
    let store2 = ProcessInfo.processInfo.environment["FRAGMENT"] != nil ? try Store(at: directory) : store
    let map2 = try store2.map("bench", key: UInt64.self, value: UInt64.self)
    var sum: UInt64 = 0
    let t0 = now()
    for _ in 0..<10 { try store2.read { try map2.forEach { _, v in sum &+= v } } }
    print("diskmap-scan forEach \(Double(n * 10) / (now() - t0) / 1e6) M/s checksum \(sum)")
    let t1 = now()
    for _ in 0..<10 { sum &+= try map2.withEntries { var s: UInt64 = 0; for (_, v) in $0 { s &+= v }; return s } }
    print("diskmap-scan withEntries \(Double(n * 10) / (now() - t1) / 1e6) M/s checksum \(sum)")
    let t2 = now()
    for _ in 0..<10 { sum &+= try map2.withValues { var s: UInt64 = 0; for v in $0 { s &+= v }; return s } }
    print("diskmap-scan withValues \(Double(n * 10) / (now() - t2) / 1e6) M/s checksum \(sum)")
    exit(0)
case "search-heap", "search-obvious":
    // N selects the metric: 0 half-turn, 1 quarter-turn.
    let metric: PocketCube.Metric = n == 1 ? .quarterTurn : .halfTurn
    print(String(decoding: try encoder.encode(try runObviousSearch(String(implementation.dropFirst(7)), metric: metric)), as: UTF8.self))
    exit(0)
case "concurrent-gets":
    print(String(decoding: try encoder.encode(try runScaling()), as: UTF8.self)); exit(0)
case "async-responsiveness":
    // N: writer tasks (0: one per core).
    print(String(decoding: try encoder.encode(try runResponsiveness(writers: Int(n))), as: UTF8.self)); exit(0)
case "cache-zipf":
    print(String(decoding: try encoder.encode(try runZipf()), as: UTF8.self)); exit(0)
case "cache-put":
    print(String(decoding: try encoder.encode(try runBufferedPuts()), as: UTF8.self)); exit(0)
case "seed-dictionary", "seed-dictionary-trim", "seed-diskmap", "seed-diskmap-limit":
    print(String(decoding: try encoder.encode(try runSeed(String(implementation.dropFirst(5)))), as: UTF8.self)); exit(0)
case let name where name.hasPrefix("timeline-"):
    // timeline-SHAPE-WAY: SHAPE table, set or objects, WAY heap, heap-trim or disk.
    let parts = name.dropFirst(9).split(separator: "-", maxSplits: 1).map(String.init)
    print(String(decoding: try encoder.encode(try runTimeline(shape: parts[0], way: parts.count > 1 ? parts[1] : "")), as: UTF8.self))
    exit(0)
case "memory-diskset", "memory-set":
    print(String(decoding: try encoder.encode(try runMemory(disk: implementation == "memory-diskset", batch: batch)), as: UTF8.self))
    exit(0)
default:
    FileHandle.standardError.write(Data("unknown implementation \(implementation)\n".utf8))
    exit(2)
}
print(String(decoding: try encoder.encode(result), as: UTF8.self))
