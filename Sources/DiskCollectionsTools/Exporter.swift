import DiskCollections
import Foundation
import LMDB

/// What an export writes (docs/cli.md#export).
public struct ExportOptions: Sendable {
    public var format: InterchangeFormat
    /// The collection (or plain LMDB database) to write; `nil` with ``allDatabases``.
    public var collection: String?
    /// Every named database, as `mdb_dump -a` (mdb-dump only).
    public var allDatabases = false
    /// The first key to write, in the key's text form (inclusive).
    public var start: String?
    /// The key to stop before (exclusive).
    public var end: String?
    /// The most records to write.
    public var limit: Int?
    /// How `bytes` and raw fields are written in JSON Lines and CSV.
    public var bytes: BytesEncoding = .base64
    /// mdb-dump: `format=print` (printable characters as themselves) instead of hex.
    public var printable = false
    /// CSV: a first line that names the columns.
    public var header = false
    /// CSV: the field delimiter.
    public var delimiter: UInt8 = UInt8(ascii: ",")

    public init(format: InterchangeFormat, collection: String?) {
        self.format = format
        self.collection = collection
    }
}

/// What an export wrote.
public struct ExportReport: Codable, Sendable {
    public struct Collection: Codable, Sendable {
        public var name: String
        public var kind: String
        public var records: Int
    }
    public var store: String
    public var output: String
    public var format: String
    public var collections: [Collection] = []
    public var records = 0
    public var bytes = 0
    public var seconds = 0.0
    public var warnings: [String] = []
}

/// Writes collections of a store, or any LMDB environment's databases, as mdb_dump text (byte for
/// byte what `mdb_dump` writes, but that `format=print` escapes `\`), JSON Lines or CSV. It reads one
/// snapshot and streams: memory stays at the output buffer's size.
public final class Exporter {
    public let path: String
    public let options: ExportOptions

    private let clock = ContinuousClock()
    private let scratch = ByteBuffer(capacity: 4096)

    /// - Throws: ``InterchangeError`` (`usage`) for options that do not fit each other.
    public init(store path: String, options: ExportOptions) throws {
        self.path = path
        self.options = options
        if options.allDatabases {
            guard options.format == .mdbDump else { throw InterchangeError(.usage, "--all writes every database as mdb_dump -a does; it needs --format mdb-dump") }
            guard options.collection == nil else { throw InterchangeError(.usage, "--all writes every database: give no collection") }
            guard options.start == nil && options.end == nil else { throw InterchangeError(.usage, "--start and --end are keys of one collection; they do not go with --all") }
        } else if options.collection == nil {
            throw InterchangeError(.usage, "give the collection to export, or --all for every database (mdb-dump)")
        }
        if options.printable && options.format != .mdbDump { throw InterchangeError(.usage, "--print is a form of mdb-dump") }
        if options.header && options.format != .csv { throw InterchangeError(.usage, "--header is for --format csv") }
        if let limit = options.limit, limit < 0 { throw InterchangeError(.usage, "--limit is a number of records, 0 or more") }
    }

    /// Runs the export into `output` (and finishes it: a file is synced and renamed into place).
    public func run(into output: OutputFile, progress: ((WorkProgress) -> Void)? = nil) throws -> ExportReport {
        let started = clock.now
        func seconds() -> Double {
            let d = clock.now - started
            return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        }
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw InterchangeError(.noInput, source: path, "no store here: the directory has no data.mdb", advice: "give the directory a Store was created in")
        }
        var options = Environment.Options(mapSize: 0, maximumDatabases: 32_767)  // 0: the map size the file records
        options.readOnly = true
        let env = try Environment(path: path, options: options)
        defer { env.close() }
        let info = try env.info()
        var report = ExportReport(store: path, output: output.name, format: self.options.format.rawValue)
        var nextProgress = 0
        try env.read { txn in
            let names: [String] = self.options.allDatabases ? try txn.databaseNames() : [self.options.collection!]
            // A damaged catalog does not stop a byte-level dump of everything.
            let catalog = self.options.allDatabases ? [:] : try Store.catalogEntries(in: txn)
            var total = 0
            var databases: [(String, Database)] = []
            for name in names {
                guard let db = try txn.openExistingDatabase(name) else {
                    let all = try txn.databaseNames().filter { $0 != Store.catalogName && !$0.hasPrefix("__search.") }
                    throw InterchangeError(.noInput, source: path, "no collection or database '\(name)' in the store",
                                           advice: all.isEmpty ? "the store has none" : "it has \(all.prefix(20).map { "'\($0)'" }.joined(separator: ", "))")
                }
                databases.append((name, db))
                total += try txn.count(db)
            }
            if let limit = self.options.limit { total = min(total, limit) }
            for (name, db) in databases {
                let descriptor = catalog[name]
                let layout = try layout(name: name, descriptor: descriptor, warnings: &report.warnings)
                let (lower, upper) = try bounds(layout)
                var count = 0
                report.collections.append(.init(name: name, kind: descriptor?.kind ?? "raw", records: 0))
                let out = output.buffer
                if self.options.format == .mdbDump {
                    let statistics = try txn.statistics(db)
                    MDBDump.writeHeader(self.options.printable ? .print : .bytevalue, database: name, mapSize: info.mapSize,
                                        maximumReaders: info.maximumReaders, flags: db.flags, pageSize: statistics.pageSize, into: out)
                } else if self.options.format == .csv && self.options.header {
                    var first = true
                    for column in layout.columns {
                        if !first { out.append(self.options.delimiter) }
                        first = false
                        out.append(column)
                    }
                    out.append(UInt8(ascii: "\n"))
                }
                try txn.withCursor(db) { cursor in
                    for (key, value) in cursor.entries(from: lower?.bytes, to: upper?.bytes) {
                        if let limit = self.options.limit, report.records >= limit { break }
                        try write(key, value, layout, out)
                        count += 1
                        report.records += 1
                        try output.flushIfFull()
                        if report.records >= nextProgress, let progress {
                            nextProgress = report.records + 16_384
                            progress(WorkProgress(records: report.records, bytes: output.written + out.count,
                                              totalRecords: total, seconds: seconds()))
                        }
                    }
                }
                if self.options.format == .mdbDump { MDBDump.writeFooter(into: out) }
                report.collections[report.collections.count - 1].records = count
            }
        }
        try output.finish()
        report.bytes = output.written
        report.seconds = seconds()
        return report
    }

    /// How one database's entries are written.
    struct Layout {
        var kind: String
        var key: FieldCoder?
        var value: FieldCoder?
        var columns: [String]
    }

    private func layout(name: String, descriptor: CollectionDescriptor?, warnings: inout [String]) throws -> Layout {
        let bytes = options.bytes
        guard let d = descriptor else {
            return Layout(kind: "raw", key: FieldCoder(.raw, .key, bytes: bytes), value: FieldCoder(.raw, .value, bytes: bytes), columns: ["key", "value"])
        }
        func known(_ type: FieldType?, _ codec: String, _ role: String) -> FieldType {
            if let type { return type }
            if options.format != .mdbDump {
                warnings.append("'\(name)': its \(role)s (codec \(codec)) are written as their stored bytes in \(bytes.rawValue)")
            }
            return .raw
        }
        let key = FieldCoder(known(FieldType(keyCodec: d.key), d.key, "key"), .key, bytes: bytes)
        func value(_ codec: String) -> FieldCoder {
            if !FieldCoder.knows(valueCodec: codec) { _ = known(nil, codec, "value") }
            return FieldCoder(valueCodec: codec, bytes: bytes)  // a checksummed value's checksum is checked and left out
        }
        switch d.kind {
        case "set": return Layout(kind: "set", key: key, value: nil, columns: ["key"])
        case "array", "queue":
            return Layout(kind: d.kind, key: FieldCoder(.uint64, .key), value: value(d.value), columns: ["value"])
        case "multimap":
            return Layout(kind: "multimap", key: key, value: FieldCoder(known(FieldType(keyCodec: d.value), d.value, "value"), .key, bytes: bytes), columns: ["key", "value"])
        case "map":
            return Layout(kind: "map", key: key, value: value(d.value), columns: ["key", "value"])
        default:  // a search's metadata, or a kind of a newer version
            if options.format != .mdbDump { warnings.append("'\(name)' is a \(d.description): written as stored bytes") }
            return Layout(kind: d.kind, key: FieldCoder(.raw, .key, bytes: bytes), value: FieldCoder(.raw, .value, bytes: bytes), columns: ["key", "value"])
        }
    }

    /// The stored forms of --start and --end.
    private func bounds(_ layout: Layout) throws -> (ByteBuffer?, ByteBuffer?) {
        func encode(_ text: String?, _ option: String) throws -> ByteBuffer? {
            guard let text, let coder = layout.key else { return nil }
            let out = ByteBuffer()
            var t = text
            do { try t.withUTF8 { try coder.encode(text: UnsafeRawBufferPointer($0), into: out) } } catch {
                throw InterchangeError(.usage, "\(option) \(text): \((error as? FieldError)?.message ?? "\(error)")")
            }
            guard out.count > 0 else { throw InterchangeError(.usage, "\(option) is empty; keys have at least one byte") }
            return out
        }
        return (try encode(options.start, "--start"), try encode(options.end, "--end"))
    }

    private func write(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer, _ layout: Layout, _ out: ByteBuffer) throws {
        func fail(_ error: any Error, _ role: String) -> InterchangeError {
            InterchangeError(.badInput, source: path, "a stored \(role) (key \(InterchangeError.quote(key))) does not decode: \((error as? FieldError)?.message ?? "\(error)")",
                             advice: "run diskcoll verify on the store; export it with --format mdb-dump to get the bytes as they are")
        }
        switch options.format {
        case .mdbDump:
            let format: MDBDump.Format = options.printable ? .print : .bytevalue
            MDBDump.writeData(key, format, into: out)
            MDBDump.writeData(value, format, into: out)
        case .jsonl:
            out.append(UInt8(ascii: "{"))
            let positional = layout.kind == "array" || layout.kind == "queue"
            if !positional {
                out.append("\"key\":")
                do { try layout.key!.appendJSON(stored: key, into: out, scratch: scratch) } catch { throw fail(error, "key") }
            }
            if let coder = layout.value {
                out.append(positional ? "\"value\":" : ",\"value\":")
                do { try coder.appendJSON(stored: value, into: out, scratch: scratch) } catch { throw fail(error, "value") }
            }
            out.append("}\n")
        case .csv:
            let positional = layout.kind == "array" || layout.kind == "queue"
            if !positional {
                scratch.removeAll()
                do { try layout.key!.appendText(stored: key, into: scratch) } catch { throw fail(error, "key") }
                CSV.appendField(scratch.bytes, delimiter: options.delimiter, into: out)
            }
            if let coder = layout.value {
                if !positional { out.append(options.delimiter) }
                scratch.removeAll()
                do { try coder.appendText(stored: value, into: scratch) } catch { throw fail(error, "value") }
                CSV.appendField(scratch.bytes, delimiter: options.delimiter, into: out)
            }
            out.append(UInt8(ascii: "\n"))
        }
    }
}

@available(*, unavailable, message: "an Exporter runs on one thread")
extension Exporter: Sendable {}
