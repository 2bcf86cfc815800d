import ArgumentParser
import DiskCollections
import Foundation
import DiskCollectionsTools
import LMDB

/// `diskcoll stat PATH`: the environment and every named database in it.
struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a store's file, pages, readers and, per collection, kind, entries, depth and pages.",
        discussion: """
        Works on any LMDB environment. Free pages are pages of the file that writes will reuse; the fill \
        is the share of the file that holds data (`diskcoll compact` gives the rest back). A stale \
        reader is a slot of a process that died in a read: its snapshot keeps old pages from being \
        reused, and the next writer to open the store clears it.

        Examples:
          diskcoll stat data.store
          diskcoll stat data.store --json | jq .collections
        """)

    @Argument(help: "The store directory (holding data.mdb).")
    var path: String

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    struct Report: Codable {
        var path: String
        var environment: Environment.Info
        var maximumKeySize: Int
        var fileBytes: Int
        var main: Database.Statistics
        /// Pages on LMDB's free list, reused by later writes.
        var freePages: Int
        /// Free pages a reader's snapshot keeps from reuse (freed at or after the oldest snapshot).
        var pinnedPages: Int
        /// The file's pages that hold data: the last used page + 1, less the free ones.
        var usedPages: Int
        /// `usedPages` over the pages the file holds: how much of the file is data.
        var fill: Double
        /// Reader slots of other processes (this diskcoll's own are not listed).
        var readers: [Environment.Reader]
        /// Slots whose process is gone; the next writer to open the store clears them.
        var staleReaders: Int
        var databases: [String: Database.Statistics]
        /// The collections a DiskCollections catalog records (empty for a plain LMDB environment).
        var collections: [String: CollectionDescriptor]
        /// The memory governor's view from this process: the limit it would work to, the budget it
        /// would start with, and this process's allocator and RSS figures.
        var memory: StoreStatistics?
    }

    /// Opens the store read-only through DiskCollections and runs one governor tick, for its figures.
    /// The counters of a running program's cache live in that program: read them with `store.statistics`.
    static func memory(_ path: String) -> StoreStatistics? {
        guard let store = try? Store(at: path, readOnly: true) else { return nil }
        defer { store.close() }
        try? store.tickMemoryGovernor()
        return store.statistics
    }

    func run() throws {
        try reportingErrors("stat") { try show() }
    }

    private func show() throws {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw InterchangeError(.noInput, source: path, "no store here: the directory has no data.mdb", advice: "give the directory a Store was created in")
        }
        var options = Environment.Options(readOnly: true)
        options.clearsStaleReaders = false  // report them; the next writer clears them
        let env = try Environment(path: path, options: options)
        defer { env.close() }
        let me = getpid()
        let readers = try env.readers().filter { $0.process != me }
        let oldest = readers.compactMap(\.transaction).min()
        var report = try env.read { txn in
            let main = try txn.openDatabase(nil)!
            var databases: [String: Database.Statistics] = [:]
            for name in try txn.databaseNames() {
                if let db = try txn.openExistingDatabase(name) {
                    databases[name] = try txn.statistics(db)
                }
            }
            var collections: [String: CollectionDescriptor] = [:]
            if let catalog = try txn.openExistingDatabase(Store.catalogName) {
                try txn.withCursor(catalog) { cursor in
                    for (k, v) in cursor.entries() {
                        collections[String(decoding: k, as: UTF8.self)] = try? JSONDecoder().decode(CollectionDescriptor.self, from: Data(v))
                    }
                }
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0
            let info = try env.info()
            let mainStatistics = try txn.statistics(main)
            let (free, pinned) = try txn.freePages(pinnedFrom: oldest)
            let used = info.lastPage + 1 - free
            let filePages = max(1, size / max(1, mainStatistics.pageSize))
            return Report(path: path, environment: info, maximumKeySize: env.maximumKeySize,
                          fileBytes: size, main: mainStatistics, freePages: free, pinnedPages: pinned, usedPages: used,
                          fill: Double(used) / Double(filePages), readers: readers, staleReaders: readers.filter(\.isStale).count,
                          databases: databases, collections: collections)
        }
        env.close()  // one open environment per directory and process: Store opens it next
        report.memory = Self.memory(path)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let e = report.environment
        print("store      \(report.path)")
        print("file       \(report.fileBytes) bytes, map \(e.mapSize) bytes, page \(report.main.pageSize) bytes, last page \(e.lastPage)")
        print("pages      \(report.usedPages) used + \(report.freePages) free of \(e.lastPage + 1) (fill \(String(format: "%.0f%%", report.fill * 100)) of the file)\(report.pinnedPages > 0 ? "; \(report.pinnedPages) free pages pinned by old snapshots" : "")")
        let holding = report.readers.filter { $0.transaction != nil }
        var slots = "\(report.readers.count) slots of other processes, \(holding.count) holding a snapshot, \(report.staleReaders) stale"
        if let oldest = holding.compactMap(\.transaction).min() { slots += "; oldest snapshot at transaction \(oldest), \(e.lastTransaction - oldest) behind" }
        print("txn        \(e.lastTransaction)   readers \(slots) (of \(e.maximumReaders))   max key \(report.maximumKeySize) bytes")
        print("")
        if let m = report.memory {
            func mb(_ x: Int?) -> String { x.map { String(format: "%.1f MB", Double($0) / 1_048_576) } ?? "unknown" }
            print("memory     limit \(mb(m.memoryLimit)) (\(m.memoryLimitSource ?? "unknown")), cache budget \(mb(m.budget)) (after one governor tick)")
            print("           this process: RssAnon \(mb(m.residentAnonymous)), RssFile \(mb(m.residentFile)), heap in use \(mb(m.heapInUse)), allocator free \(mb(m.allocatorFree))")
            print("")
        }
        let widths = [max(12, (report.databases.keys.map(\.count).max() ?? 0) + 2), 32, 12, 7, 8, 10, 10]
        func line(_ cells: [String]) {
            print(zip(cells, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined())
        }
        line(["collection", "kind", "entries", "depth", "branch", "leaf", "overflow"])
        for (name, s) in report.databases.sorted(by: { $0.key < $1.key }) {
            let kind = name == Store.catalogName ? "(catalog)" : report.collections[name]?.description ?? "(plain LMDB database)"
            line([name, kind, "\(s.entries)", "\(s.depth)", "\(s.branchPages)", "\(s.leafPages)", "\(s.overflowPages)"])
        }
    }
}
