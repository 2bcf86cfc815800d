// A complete program that searches a puzzle of its own with BreadthFirstSearch: the Towers of Hanoi
// with four pegs (Reve's puzzle). docs/search.md walks through it; the tests build and run it.
//
//   swift run -c release hanoi-search [STORE-DIRECTORY] [DISKS]
import DiskCollections
import Foundation

// 1. Encode a state in a UInt64: disk i (0 is the smallest) sits on peg (state >> 2i) & 3.
let arguments = CommandLine.arguments
let storePath = arguments.count > 1 ? arguments[1] : NSTemporaryDirectory() + "hanoi-\(getpid()).store"
let disks = arguments.count > 2 ? Int(arguments[2]) ?? 10 : 10
let start: UInt64 = 0                                  // every disk on peg 0
let goal: UInt64 = (1 << (2 * UInt64(disks))) - 1      // every disk on peg 3

// 2. The successor function: move the top disk of one peg onto a peg whose top disk is larger.
//    It runs on several threads at once, so it touches nothing but its arguments.
@Sendable func successors(of state: UInt64, _ emit: (UInt64) -> Void) {
    var top = SIMD4<Int32>(repeating: Int32(disks))  // the smallest disk on each peg
    for disk in stride(from: disks - 1, through: 0, by: -1) {
        top[Int(state >> (2 * UInt64(disk)) & 3)] = Int32(disk)
    }
    for from in 0..<4 where top[from] < disks {
        for to in 0..<4 where top[from] < top[to] {
            let shift = 2 * UInt64(top[from])
            emit(state & ~(3 << shift) | UInt64(to) << shift)
        }
    }
}

do {
    // 3. Open (or reopen) the store and the search. Every move can be undone, so the space is
    //    undirected: the engine keeps two levels on disk, or all of them with keepsAllLevels,
    //    which path(to:) needs.
    let store = try Store(at: storePath)
    defer { store.close() }
    let search = try BreadthFirstSearch(store: store, name: "hanoi-\(disks)", of: UInt64.self,
                                        options: .init(undirected: true, memory: 16 << 20, keepsAllLevels: true))
    if try !search.completedLevels.isEmpty, try !search.isFinished {
        print("resuming after depth \(try search.completedLevels.count - 1)")
    }

    // 4. Run it. Kill the program and start it again: it resumes from the last completed level.
    let result = try search.run(from: [start], progress: { p in
        if p.phase == .levelCompleted && p.newStates > 0 {
            print("depth \(p.depth): \(p.newStates) new states, \(p.residentAnonymous >> 20) MiB RssAnon")
        }
    }, successors: successors)

    // 5. Read the results: states per depth, and a shortest path rebuilt from the stored levels
    //    (moves are their own inverses, so the predecessors are the successors).
    print("\(result.states) states (4^\(disks) = \(1 << (2 * disks))), greatest depth \(result.depth)")
    guard let path = try search.path(to: goal, predecessors: successors) else {
        print("the goal was not reached")
        exit(1)
    }
    print("a shortest solution takes \(path.count - 1) moves")
    try store.removeCollection("hanoi-\(disks)")       // free its levels (or keep them for later)
} catch {
    print("error: \(error)")
    exit(1)
}
