import ArgumentParser
import DiskCollectionsTools
import Foundation
import LMDB

/// `diskcoll verify`: walks a store in a child process and reports what is wrong.
struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check a store: its file, every database's order and count, every collection's codecs and layout.",
        discussion: """
        The data file is checked against its last committed transaction before it is mapped (a cut-short \
        file is reported, not a SIGBUS). The walk runs in a child process: LMDB has no checksums, and a \
        damaged page can crash liblmdb itself; such a crash is reported as damage, naming the database \
        it was reading. A flipped bit that still decodes is not found (docs/cli.md#verify).

        Examples:
          diskcoll verify data.store
          diskcoll verify data.store --json | jq .problems

        Exit status: 0 healthy; 1 damage found; 66 no such store.
        """)

    @Argument(help: "The store directory.")
    var store: String

    @Flag(help: "Print the report as JSON.")
    var json = false

    @Flag(help: "Print only problems.")
    var quiet = false

    @Flag(help: .hidden) var walk = false

    func run() throws {
        if walk { return try walkInThisProcess() }
        try reportingErrors("verify") {
            guard FileManager.default.fileExists(atPath: store + "/data.mdb") else {
                throw InterchangeError(.noInput, source: store, "no store here: the directory has no data.mdb", advice: "give the directory a Store was created in")
            }
            let report = try walkInChild()
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else {
                printHuman(report)
            }
            if !report.isHealthy { throw ExitCode(ExitStatus.failure) }
        }
    }

    /// The child: one JSON line per database as its walk begins, then the report (or an error).
    private func walkInThisProcess() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        func emit(_ object: [String: String]) {
            print(String(decoding: (try? encoder.encode(object)) ?? Data(), as: UTF8.self))
            fflush(nil)
        }
        do {
            let report = try Verifier.verify(store: store) { emit(["database": $0]) }
            print(String(decoding: try encoder.encode(["report": report]), as: UTF8.self))
        } catch {
            emit(["error": "\(error)", "status": "\(ExitStatus.of(error))"])
            throw ExitCode(ExitStatus.of(error))
        }
    }

    private func walkInChild() throws -> VerifyReport {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
        process.arguments = ["verify", store, "--walk"]
        var environment = ProcessInfo.processInfo.environment
        environment["SWIFT_BACKTRACE"] = "enable=no"  // a crash in the child is an answer, not a report to print
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        var current: String?
        var report: VerifyReport?
        for line in data.split(separator: UInt8(ascii: "\n")) {
            if let event = try? JSONDecoder().decode([String: String].self, from: line) {
                if let name = event["database"] { current = name }
                if let message = event["error"] {
                    throw ChildFailure(message: message, status: Int32(event["status"] ?? "") ?? ExitStatus.failure)
                }
            } else if let r = try? JSONDecoder().decode([String: VerifyReport].self, from: line)["report"] {
                report = r
            }
        }
        if process.terminationReason == .uncaughtSignal || report == nil {
            var crashed = VerifyReport(store: store)
            if let meta = try? DataFile.meta(in: store) {
                crashed.fileBytes = meta.fileSize
                crashed.pageSize = meta.pageSize
                crashed.lastPage = meta.lastPage
                crashed.transaction = meta.transaction
            }
            let signal = process.terminationReason == .uncaughtSignal ? "signal \(process.terminationStatus)\(Self.signalName(process.terminationStatus))" : "exit status \(process.terminationStatus)"
            crashed.crashed = "reading \(current.map { "database '\($0)'" } ?? "the store") crashed liblmdb (\(signal)): its pages are damaged"
            crashed.problems.append(.init(collection: current, message: crashed.crashed!))
            return crashed
        }
        return report!
    }

    struct ChildFailure: Error, CustomStringConvertible {
        var message: String
        var status: Int32
        var description: String { message }
    }

    static func signalName(_ n: Int32) -> String {
        switch n {
        case SIGSEGV: return ", SIGSEGV"
        case SIGBUS: return ", SIGBUS"
        case SIGABRT: return ", SIGABRT"
        case SIGILL: return ", SIGILL"
        case SIGFPE: return ", SIGFPE"
        default: return ""
        }
    }

    private func printHuman(_ r: VerifyReport) {
        if !quiet {
            print("store    \(r.store): \(r.fileBytes) bytes, pages of \(r.pageSize) bytes, last page \(r.lastPage), transaction \(r.transaction)")
            if r.crashed == nil && r.pageSize > 0 {
                print("pages    2 meta + \(r.treePages) in trees + \(r.freePages) free = \(2 + r.treePages + r.freePages) of \(r.lastPage + 1)")
            }
            let width = max(12, (r.databases.map(\.name.count).max() ?? 0) + 2)
            for d in r.databases {
                print("checked  " + d.name.padding(toLength: width, withPad: " ", startingAt: 0)
                      + d.kind.padding(toLength: 10, withPad: " ", startingAt: 0)
                      + "\(d.entries) entries".padding(toLength: 18, withPad: " ", startingAt: 0) + d.checks)
            }
        }
        if r.isHealthy {
            if !quiet { print("healthy: every database walked in order, counts, codecs and pages check") }
        } else {
            print("DAMAGED: \(r.problems.count) problem\(r.problems.count == 1 ? "" : "s")")
            for p in r.problems { print("  \(p)") }
        }
    }
}
