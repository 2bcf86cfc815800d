// Memory measurements that need a process of their own (the test runner runs tests in parallel, which
// moves RssAnon). Prints one JSON object. usage: MemoryProbe budget DIR N BUDGET_MB | trim DIR | crash DIR
// | diskfull DIR. `crash` and `diskfull` are not about memory: they need a process of their own to be
// killed, or to have its file size limited.
import DiskCollections
import Foundation

func rssAnon() -> Int { AllocatorStatistics.sample().residentAnonymous ?? 0 }

struct Output: Encodable {
    var baseline = 0, peak = 0, final = 0, afterBurst = 0, afterTick = 0
    var budget = 0, flushes = 0, evictions = 0, trims = 0, bytesTrimmed = 0
    var checked = 0, mismatches = 0
    var heapInUse = 0, allocatorFree = 0, cacheBytes = 0
}

let args = CommandLine.arguments
var out = Output()
switch args[1] {
case "budget":
    // Writes N random entries through a DiskMap with a fixed budget, sampling RssAnon, then reads all back.
    let dir = args[2], n = Int(args[3])!, budget = Int(args[4])! << 20
    var store = try Store(at: dir, cacheBudget: .bytes(budget))
    var map = try store.map("m", key: UInt64.self, value: UInt64.self)
    _ = AllocatorStatistics.giveFreeMemoryBack()
    out.baseline = rssAnon()
    var x: UInt64 = 88_172_645_463_325_252
    for i in 0..<n {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        try map.setValue(x &* 3, forKey: x)
        if i % 50_000 == 0 { out.peak = max(out.peak, rssAnon()) }
    }
    try store.flush()
    out.peak = max(out.peak, rssAnon())
    let s = store.statistics
    out.budget = s.budget; out.flushes = s.flushes
    store.close()
    store = try Store(at: dir, cacheBudget: .bytes(budget))
    map = try store.map("m", key: UInt64.self, value: UInt64.self)
    x = 88_172_645_463_325_252
    for _ in 0..<n {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17
        out.checked += 1
        if try map[x] != x &* 3 { out.mismatches += 1 }
        if out.checked % 50_000 == 0 { out.peak = max(out.peak, rssAnon()) }
    }
    if try map.count != n { out.mismatches += 1 }  // xorshift64 does not repeat within its period
    out.evictions = store.statistics.evictions      // the read-back fills and evicts the read cache
    out.cacheBytes = store.statistics.cacheBytes
    let allocator = AllocatorStatistics.sample()
    out.heapInUse = allocator.heapInUse ?? 0
    out.allocatorFree = allocator.allocatorFree ?? 0
    out.final = rssAnon()
case "trim":
    // A burst of small objects outside the library, freed except for a few that pin the heap's top,
    // then one idle governor tick: RssAnon should come back.
    let store = try Store(at: args[2])
    _ = try store.map("m", key: Int.self, value: Int.self)
    _ = AllocatorStatistics.giveFreeMemoryBack()
    out.baseline = rssAnon()
    final class Node { var a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0 }
    var burst: [Node] = []
    burst.reserveCapacity(1_200_000)
    for _ in 0..<1_200_000 { burst.append(Node()) }
    let pins = stride(from: 0, to: burst.count, by: 512).map { burst[$0] }  // every 512th survives
    burst = []
    out.afterBurst = rssAnon()
    try store.tickMemoryGovernor()
    out.afterTick = rssAnon()
    withExtendedLifetime(pins) {}
    let s = store.statistics
    out.trims = s.trims; out.bytesTrimmed = s.bytesTrimmed
case "crash":
    // 10,000 entries through the write buffer, flushed; a set element inserted in a transaction
    // (committed at once); 100 more entries left in the buffer; then SIGKILL: no close, no flush.
    let store = try Store(at: args[2])
    let map = try store.map("m", key: UInt64.self, value: UInt64.self)
    let set = try store.set("s", of: UInt64.self)
    let queue = try store.queue("q", of: UInt64.self)
    for i in 0..<UInt64(10_000) { try map.setValue(i &* 3, forKey: i) }
    // The queue: 5,000 appended and 1,000 popped through its buffer, flushed with the map.
    for i in 0..<UInt64(5_000) { try queue.append(i) }
    for _ in 0..<1_000 { _ = try queue.popFirst() }
    try store.flush()
    try store.write { try set.insert(7) }
    for i in UInt64(10_000)..<10_100 { try map.setValue(i, forKey: i) }
    for i in UInt64(5_000)..<5_100 { try queue.append(i) }  // buffered only: lost
    for _ in 0..<10 { _ = try queue.popFirst() }            // buffered only: not applied
    kill(getpid(), SIGKILL)
case "diskfull":
    // A flush that fails part-way: the disk fills when the file passes 12 MiB, 1M buffered entries are
    // flushed (in transactions of at most 16 MiB of pages, so the first commits and a later one fails),
    // room is made, the flush is retried. The full disk is real when the store is on a small file
    // system of its own (a tmpfs the test mounted): a ballast file leaves 12 MiB free and is deleted
    // to make room. Else the file may not grow past 12 MiB (RLIMIT_FSIZE, which stops a write as a
    // full disk would), and the limit is lifted.
    signal(SIGXFSZ, SIG_IGN)  // a write past the limit then fails with EFBIG instead of killing us
    // With "set": 1M keys of a DiskSet<UInt64>, buffered as dirty keys of its presence table.
    let dir = args[2], asSet = args.count > 3 && args[3] == "set"
    let ballast = args.count > 4 ? args[4] : nil
    var store = try Store(at: dir, cacheBudget: .bytes(256 << 20))
    var map = try store.map("m", key: UInt64.self, value: UInt64.self)
    // (Opened only then: a set's presence table shrinks the buffer's share, and all 1M must fit.)
    var set = asSet ? try store.set("s", of: UInt64.self) : nil
    func put(_ i: UInt64) throws {
        if let set { try set.insert(i &* 0x9E37_79B9_7F4A_7C15) } else { try map.setValue(i &* 7, forKey: i &* 0x9E37_79B9_7F4A_7C15) }
    }
    func holds(_ i: UInt64) throws -> Bool {
        if let set { return try set.contains(i &* 0x9E37_79B9_7F4A_7C15) }
        return try map[i &* 0x9E37_79B9_7F4A_7C15] == i &* 7
    }
    var limit = rlimit()
    getrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
    let unlimited = limit
    if let ballast {
        var fs = statvfs()
        statvfs(dir, &fs)
        let free = Int(fs.f_bavail) * Int(fs.f_bsize)
        let fd = open(ballast, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        precondition(fd >= 0 && posix_fallocate(fd, 0, off_t(free - (12 << 20))) == 0, "cannot fill the file system")
        close(fd)
    } else {
        limit.rlim_cur = 12 << 20
        setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &limit)
    }
    let n = UInt64(1_000_000)
    for i in 0..<n { try put(i) }
    var failure = ""
    do { try store.flush() } catch let error as LMDBError { failure = "\(error.code.rawValue) \(error)" }
    let committedBeforeFailure = store.statistics.entriesFlushed
    var readable = 0
    for i in 0..<n where try holds(i) { readable += 1 }
    // checkpoint() with the disk still full: it flushes first, so it fails the same way, typed.
    var checkpointFailure = ""
    do { try store.checkpoint() } catch let error as LMDBError { checkpointFailure = "\(error.code.rawValue) \(error)" }
    var lifted = unlimited
    if let ballast { unlink(ballast) } else { setrlimit(__rlimit_resource_t(RLIMIT_FSIZE.rawValue), &lifted) }
    try store.checkpoint()
    store.close()
    store = try Store(at: dir)
    map = try store.map("m", key: UInt64.self, value: UInt64.self)
    if asSet { set = try store.set("s", of: UInt64.self) }
    var reopened = 0
    for i in 0..<n where try holds(i) { reopened += 1 }
    struct DiskFull: Encodable {
        var failure: String; var committedBeforeFailure: Int; var readableAfterFailure: Int
        var afterRetryAndReopen: Int; var count: Int; var checkpointFailure: String
    }
    print(String(decoding: try JSONEncoder().encode(DiskFull(failure: failure, committedBeforeFailure: committedBeforeFailure,
        readableAfterFailure: readable, afterRetryAndReopen: reopened, count: try set?.count ?? map.count, checkpointFailure: checkpointFailure)), as: UTF8.self))
    exit(0)
case "load":
    // Loads keys 0, 1, 2, ... (value: the key times a constant) into map "m" until it is killed, in
    // batches of 1,000: each batch one transaction ("txn") or point writes through the cache
    // ("buffered"). Every 50 batches: checkpoint(), then records the keys written so far in map
    // "meta" (in a transaction), so that the killer can check that checkpointed data is there.
    let dir = args[2], buffered = args[3] == "buffered"
    let store = try Store(at: dir)
    let map = try store.map("m", key: UInt64.self, value: UInt64.self)
    let meta = try store.map("meta", key: UInt64.self, value: UInt64.self)
    var key = try map.count == 0 ? UInt64(0) : (try map.entries(reverse: true, limit: 1).first!.key + 1)
    var batch = 0
    while true {
        if buffered {
            for _ in 0..<1_000 { try map.setValue(key &* 0x9E37_79B9_7F4A_7C15, forKey: key); key += 1 }
        } else {
            try store.write { for _ in 0..<1_000 { try map.setValue(key &* 0x9E37_79B9_7F4A_7C15, forKey: key); key += 1 } }
        }
        batch += 1
        if batch % 50 == 0 {
            try store.checkpoint()
            try store.write { try meta.setValue(key, forKey: 0) }
        }
    }
default:
    print("usage: MemoryProbe budget DIR N BUDGET_MB | trim DIR | crash DIR | diskfull DIR [set] | load DIR txn|buffered")
    exit(2)
}
let encoder = JSONEncoder()
print(String(decoding: try encoder.encode(out), as: UTF8.self))
