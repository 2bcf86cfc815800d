import ArgumentParser
import DiskCollectionsTools
import Foundation

/// `diskcoll compact`: a copy without free pages, in place or into a new directory.
struct Compact: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compact a store: copy it without its free pages (mdb_env_copy2 with MDB_CP_COMPACT).",
        discussion: """
        In place, the copy is synced and renamed over data.mdb while no other process has the store \
        open (one that tries to open it waits), so a crash at any moment leaves the old store or the \
        new one, whole. With --to, the store is copied into a new directory and left as it is (it may \
        be in use).

        Examples:
          diskcoll compact data.store
          diskcoll compact data.store --to /backup/data.store

        Exit status: 0 compacted; 66 no such store; 73 --to exists and is not empty; 75 the store is \
        open in another process (nothing changed; close it, or use --to).
        """)

    @Argument(help: "The store directory.")
    var store: String

    @Option(help: ArgumentHelp("Write the compacted copy into this new (or empty) directory instead.", valueName: "directory"))
    var to: String?

    @Flag(help: "Print what was done as JSON.")
    var json = false

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    func run() throws {
        try reportingErrors("compact") {
            let report = try Compactor.compact(store: store, to: to)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else if !quiet {
                let share = report.bytesBefore > 0 ? String(format: " (%.0f%%)", 100 * Double(report.bytesAfter) / Double(report.bytesBefore)) : ""
                let place = report.inPlace ? "in place" : "into \(report.output)"
                print("compacted \(report.store) \(place): \(report.bytesBefore) bytes -> \(report.bytesAfter) bytes\(share) in \(String(format: "%.2f", report.seconds)) s, synced")
            }
        }
    }
}
