import ArgumentParser
import Foundation
import LMDB

/// `diskcoll stat PATH`: the environment and every named database in it.
struct Stat: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show an environment's map, readers and, per named database, entries, depth and pages.")

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
        var databases: [String: Database.Statistics]
    }

    func run() throws {
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw ValidationError("no store at \(path): the directory has no data.mdb. Give the directory a Store was created in.")
        }
        let env = try Environment(path: path, options: .init(readOnly: true))
        defer { env.close() }
        let report = try env.read { txn in
            let main = try txn.openDatabase(nil)!
            var databases: [String: Database.Statistics] = [:]
            for name in try txn.databaseNames() {
                if let db = try txn.openExistingDatabase(name) {
                    databases[name] = try txn.statistics(db)
                }
            }
            let size = (try? FileManager.default.attributesOfItem(atPath: path + "/data.mdb")[.size] as? Int) ?? 0
            return Report(path: path, environment: try env.info(), maximumKeySize: env.maximumKeySize,
                          fileBytes: size, main: try txn.statistics(main), databases: databases)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        let e = report.environment
        print("store      \(report.path)")
        print("file       \(report.fileBytes) bytes, map \(e.mapSize) bytes, page \(report.main.pageSize) bytes, last page \(e.lastPage)")
        print("txn        \(e.lastTransaction)   readers \(e.readers)/\(e.maximumReaders)   max key \(report.maximumKeySize) bytes")
        print("")
        let header = ["database", "entries", "depth", "branch", "leaf", "overflow"]
        print(header.map { $0.padding(toLength: 12, withPad: " ", startingAt: 0) }.joined())
        for (name, s) in report.databases.sorted(by: { $0.key < $1.key }) {
            let row = [name, "\(s.entries)", "\(s.depth)", "\(s.branchPages)", "\(s.leafPages)", "\(s.overflowPages)"]
            print(row.map { $0.padding(toLength: 12, withPad: " ", startingAt: 0) }.joined())
        }
    }
}
