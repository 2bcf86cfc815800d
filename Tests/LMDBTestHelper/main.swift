// A helper process for the LMDB tests that must crash, fork, be killed, or be a second process.
// usage: LMDBTestHelper COMMAND PATH [ARG]
import LMDB

#if canImport(Glibc)
import Glibc
#endif

let args = CommandLine.arguments
guard args.count >= 3 else {
    say("usage: LMDBTestHelper hold-open|hold-reader|escape-transaction|fork|fill|read-loop|open PATH [N|read-only]")
    exit(2)
}
let path = args[2]
/// Prints and flushes at once, so the test sees each line before the process blocks, crashes or forks.
func say(_ text: String) { print(text); fflush(nil) }

switch args[1] {
case "hold-reader":
    // Begin a read transaction, say so, and wait to be killed.
    let env = try Environment(path: path)
    try env.read { _ in
        say("reading")
        while true { sleep(60) }
    }
case "hold-open":
    // Keep the environment open (a shared lock on lock.mdb), say so, and wait to be killed.
    let env = try Environment(path: path)
    try env.read { _ in }
    say("open")
    while true { sleep(60) }
case "escape-transaction":
    // Keep a transaction past its closure and use it: must trap with a clear message.
    let env = try Environment(path: path)
    var escaped: Transaction?
    try env.read { txn in escaped = txn }
    say("escaped")
    _ = escaped!.id
    say("not reached")
case "fork":
    // Use an environment in a child process after fork(): must be a typed error.
    let env = try Environment(path: path)
    let pid = fork()
    if pid == 0 {
        do {
            try env.read { _ in }
            say("child: no error")
            _exit(1)
        } catch let error as LMDBError {
            say("child: \(error.code == .usedAfterFork ? "usedAfterFork" : "other \(error)")")
            _exit(error.code == .usedAfterFork ? 0 : 1)
        } catch {
            _exit(1)
        }
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    try env.read { _ in }  // the parent is unaffected
    say("parent: ok")
    exit((status >> 8) & 0xff)
case "fill":
    // A second process writes N 1 KiB values, growing the map far beyond its start.
    let n = Int(args[3])!
    let env = try Environment(path: path, options: .init(mapSize: 64 << 10, durability: .noSync))
    try env.write { txn in
        let db = try txn.openDatabase("other")!
        let value = [UInt8](repeating: 7, count: 1024)
        for i in 0..<UInt64(n) {
            try txn.put(db, key: Array(withUnsafeBytes(of: i.bigEndian) { Array($0) }), value: value)
        }
    }
    say("filled \(try env.info().mapSize)")
case "read-loop":
    // Read database "grow" over and over while another process grows the map, until it holds the key
    // "stop": every value must be its key times 3, and the count must never go down.
    let env = try Environment(path: path, options: .init(mapSize: 64 << 10))
    say("reading")
    var iterations = 0, last = 0, done = false
    while !done {
        let count: Int = try env.read { txn in
            guard let db = try txn.openExistingDatabase("grow") else { return 0 }
            var n = 0
            try txn.withCursor(db) { cursor in
                for (k, v) in cursor.entries() {
                    if k.count == 4 && Array(k) == Array("stop".utf8) { done = true; continue }
                    let key = UInt64(bigEndian: k.loadUnaligned(as: UInt64.self))
                    guard v.count == 512, v.loadUnaligned(as: UInt64.self) == key &* 3 else {
                        say("wrong value for key \(key)"); exit(1)
                    }
                    n += 1
                }
            }
            return n
        }
        guard count >= last else { say("the count went down: \(last) then \(count)"); exit(1) }
        last = count
        iterations += 1
    }
    say("done \(iterations) \(last) \(env.mapSize)")
case "open":
    // Open the environment (read-only with the argument "read-only") and, unless read-only, write a
    // key: says "opened" or the error's code and description, for the tests of paths this user may
    // not write (run as another user).
    do {
        let readOnly = args.count > 3 && args[3] == "read-only"
        let env = try Environment(path: path, options: .init(readOnly: readOnly))
        if !readOnly { try env.write { txn in try txn.put(try txn.openDatabase("d")!, key: [1], value: [1]) } }
        say("opened")
    } catch let error as LMDBError {
        say("error \(error.code.rawValue) \(error)")
        exit(1)
    } catch {
        say("error ? \(error)")
        exit(1)
    }
default:
    say("unknown command \(args[1])")
    exit(2)
}
