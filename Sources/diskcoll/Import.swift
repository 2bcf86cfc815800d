import ArgumentParser
import DiskCollectionsTools
import Foundation

/// `diskcoll import`: a file into a collection, all or nothing.
struct Import: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load an mdb_dump, JSON Lines or CSV file into a collection: all of it, or nothing.",
        discussion: """
        The import is one transaction, synced before success is reported: a malformed line, a full \
        disk or a kill leaves the store exactly as it was. A new collection needs its types; an \
        existing one is filled as its catalog entry says (given types must match). Without types, an \
        mdb_dump file loads byte for byte into a plain LMDB database, as mdb_load does.

        Examples:
          diskcoll import data.store visited visited.jsonl --kind set --key-type uint64
          diskcoll import data.store parent parent.csv --header --key-type uint64 --value-type uint32
          diskcoll import data.store names - --format jsonl --key-type string --value-type json < names.jsonl
          mdb_dump -s users old.db | diskcoll import data.store users -        # bytes as they are
          diskcoll import copy.store --all whole.dump                           # every database of mdb_dump -a
          diskcoll import data.store parent parent.csv --replace --dry-run      # check, write nothing

        Exit status: 0 imported; 64 options that do not fit; 65 a malformed input (nothing imported); \
        66 no such input; 74 a full disk or failed write (nothing imported); see docs/cli.md.
        """)

    @Argument(help: "The store directory (created if missing).")
    var store: String

    @Argument(help: "The collection to fill (with --all, omit it).")
    var collection: String?

    @Argument(help: "The input file, or - for standard input (the default).")
    var file: String?

    @Option(help: "mdb-dump, jsonl or csv (default: from the file name's ending, else mdb-dump).")
    var format: InterchangeFormat?

    @Option(help: "The kind of a new collection: map (default), set, array, queue or multimap.")
    var kind: CollectionKind?

    @Option(help: ArgumentHelp("The key type of a new collection.", valueName: "type"))
    var keyType: FieldType?

    @Option(help: ArgumentHelp("The value (or element) type of a new collection.", valueName: "type"))
    var valueType: FieldType?

    @Flag(help: "Replace the collection's entries instead of adding to them.")
    var replace = false

    @Option(help: "Of a dump with several databases, the one to import.")
    var database: String?

    @Flag(help: "Import every database of a dump under its own name (mdb_dump -a output).")
    var all = false

    @Option(help: "How bytes are written in JSON Lines and CSV: base64 or hex.")
    var bytes: BytesEncoding = .base64

    @Flag(help: "CSV: the first line names the columns and is not imported.")
    var header = false

    @Option(help: ArgumentHelp("CSV: the key's column, by number (from 1) or header name. Default 1.", valueName: "column"))
    var keyColumn: String?

    @Option(help: ArgumentHelp("CSV: the value's column. Default 2 (for sets, arrays and queues, 1).", valueName: "column"))
    var valueColumn: String?

    @Option(help: "CSV: the field delimiter, one character or tab.")
    var delimiter: Delimiter?

    @Flag(help: "Read and check everything, then write nothing.")
    var dryRun = false

    @Flag(help: "A new map, array or queue keeps a CRC-32C with each value, checked on every read (Checksummed values).")
    var checksum = false

    @Option(help: ArgumentHelp("Address space (not disk) to reserve for the import, e.g. 256GB. Default: from the file's size; 64GB from a pipe.", valueName: "size"))
    var reserve: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print what was imported as JSON.")
    var json = false

    func run() throws {
        try reportingErrors("import") {
            var collection = self.collection, file = self.file
            if all && file == nil { file = collection; collection = nil }  // import STORE --all FILE
            let path = file ?? "-"
            let format = self.format ?? InterchangeFormat(fileName: path) ?? .mdbDump
            var options = ImportOptions(format: format, collection: collection)
            options.database = database
            options.allDatabases = all
            options.kind = kind
            options.keyType = keyType
            options.valueType = valueType
            options.replace = replace
            options.bytes = bytes
            options.header = header
            options.keyColumn = keyColumn.map(ColumnChoice.init)
            options.valueColumn = valueColumn.map(ColumnChoice.init)
            if let delimiter { options.delimiter = delimiter.byte } else if path.lowercased().hasSuffix(".tsv") { options.delimiter = 0x09 }
            options.dryRun = dryRun
            options.checksums = checksum
            if let reserve {
                guard let bytes = parseBytes(reserve), bytes > 0 else { throw ValidationError("--reserve \(reserve) is not a size: write e.g. 64GB") }
                options.mapReservation = bytes
            }
            let input = try LineReader(path: path)
            let importer = try Importer(store: store, input: input, options: options)
            let bar = ProgressBar("importing", quiet: quiet || json)
            let report = try importer.run(progress: bar.update)
            bar.finish()
            for warning in report.warnings where !quiet { printError("diskcoll import: warning: \(warning)") }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.sortedKeys]
                print(String(decoding: try encoder.encode(report), as: UTF8.self))
            } else if !quiet {
                print(Self.summary(report))
            }
        }
    }

    static func summary(_ r: ImportReport) -> String {
        let rate = r.seconds > 0 ? String(format: ", %.0f records/s", Double(r.records) / r.seconds) : ""
        var lines = [r.dryRun
            ? "checked \(r.records) records from \(r.input) in \(String(format: "%.2f", r.seconds)) s\(rate): nothing written (--dry-run)"
            : "imported \(r.records) records from \(r.input) in \(String(format: "%.2f", r.seconds)) s\(rate); committed and synced"]
        for c in r.collections {
            let what = c.kind == "raw" ? "plain LMDB database" : "\(c.kind) of \(c.keyCodec ?? "?")\(c.valueCodec.map { ", \($0)" } ?? "")"
            let name = c.name.isEmpty ? "(main database)" : "'\(c.name)'"
            lines.append("  \(name) (\(what)): \(c.records) records read, \(c.entriesAfter) entries (was \(c.entriesBefore)\(c.replaced ? ", replaced" : ""))")
        }
        return lines.joined(separator: "\n")
    }
}
