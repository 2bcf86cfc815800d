import ArgumentParser
import DiskCollectionsTools
import Foundation

/// `diskcoll export`: a collection (or any LMDB database) as mdb_dump text, JSON Lines or CSV.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a collection as mdb_dump text (mdb_load reads it), JSON Lines or CSV.",
        discussion: """
        Works on any LMDB environment: a database without a DiskCollections catalog entry is written \
        as its bytes. The mdb-dump output is what mdb_dump writes, byte for byte (with --print, \
        backslashes are escaped as LMDB 0.9.25 and later do). A file output is written whole or not \
        at all (under a temporary name, synced, then renamed).

        Examples:
          diskcoll export data.store visited                        # mdb_dump text on standard output
          diskcoll export data.store parent parent.jsonl            # format from the file name
          diskcoll export data.store parent - --format csv --header --start 100 --end 200
          diskcoll export data.store --all whole.dump               # every database, as mdb_dump -a
          diskcoll export data.store users | mdb_load -s users other.db

        Exit status: 0 written; 64 options that do not fit; 66 no such store or collection; \
        73 the output cannot be created; 74 a failed write; see docs/cli.md.
        """)

    @Argument(help: "The store directory.")
    var store: String

    @Argument(help: "The collection or database to write (with --all, omit it).")
    var collection: String?

    @Argument(help: "The output file, or - for standard output (the default).")
    var file: String?

    @Option(help: "mdb-dump, jsonl or csv (default: from the file name's ending, else mdb-dump).")
    var format: InterchangeFormat?

    @Flag(help: "Every named database, as mdb_dump -a does (mdb-dump only).")
    var all = false

    @Option(help: ArgumentHelp("The first key to write (in the key's text form).", valueName: "key"))
    var start: String?

    @Option(help: ArgumentHelp("The key to stop before.", valueName: "key"))
    var end: String?

    @Option(help: "The most records to write.")
    var limit: Int?

    @Flag(help: "mdb-dump: printable characters as themselves (format=print), like mdb_dump -p.")
    var print = false

    @Option(help: "How bytes are written in JSON Lines and CSV: base64 or hex.")
    var bytes: BytesEncoding = .base64

    @Flag(help: "CSV: a first line that names the columns.")
    var header = false

    @Option(help: "CSV: the field delimiter, one character or tab.")
    var delimiter: Delimiter?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print what was written as JSON (on standard error when the data goes to standard output).")
    var json = false

    func run() throws {
        try reportingErrors("export") {
            var collection = self.collection, file = self.file
            if all && file == nil && collection != nil { file = collection; collection = nil }  // export STORE --all FILE
            let path = file ?? "-"
            var options = ExportOptions(format: format ?? InterchangeFormat(fileName: path) ?? .mdbDump, collection: collection)
            options.allDatabases = all
            options.start = start
            options.end = end
            options.limit = limit
            options.printable = self.print
            options.bytes = bytes
            options.header = header
            if let delimiter { options.delimiter = delimiter.byte } else if path.lowercased().hasSuffix(".tsv") { options.delimiter = 0x09 }
            let exporter = try Exporter(store: store, options: options)
            let output = try OutputFile(path: path)
            let bar = ProgressBar("exporting", quiet: quiet || json)
            let report = try exporter.run(into: output, progress: bar.update)
            bar.finish()
            let toStandardOutput = path == "-"
            for warning in report.warnings where !quiet { printError("diskcoll export: warning: \(warning)") }
            var text: String?
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                text = String(decoding: try encoder.encode(report), as: UTF8.self)
            } else if !quiet && (!toStandardOutput || isatty(2) == 1) {
                let rate = report.seconds > 0 ? String(format: ", %.0f records/s", Double(report.records) / report.seconds) : ""
                text = "exported \(report.records) records (\(report.bytes) bytes) to \(report.output) in \(String(format: "%.2f", report.seconds)) s\(rate)"
            }
            if let text { if toStandardOutput { printError(text) } else { Swift.print(text) } }
        }
    }
}
