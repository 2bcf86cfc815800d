import DiskCollections
import Foundation
import LMDB

/// The kinds of collection an import can fill.
public enum CollectionKind: String, CaseIterable, Sendable, Codable {
    case map, set, array, queue, multimap
}

/// A CSV column: by its 1-based position, or by its name in the header row.
public enum ColumnChoice: Sendable, Hashable, CustomStringConvertible {
    case position(Int)
    case name(String)

    /// `"2"` is a position, anything else a header name.
    public init(_ text: String) {
        if let n = Int(text) { self = .position(n) } else { self = .name(text) }
    }

    public var description: String {
        switch self {
        case .position(let n): return "column \(n)"
        case .name(let s): return "column '\(s)'"
        }
    }
}

/// The input formats.
public enum InterchangeFormat: String, CaseIterable, Sendable, Codable {
    case mdbDump = "mdb-dump"
    case jsonl
    case csv

    /// The format a file name suggests (`.jsonl`, `.ndjson`, `.csv`, `.tsv`, `.dump`, `.mdb`), or `nil`.
    public init?(fileName: String) {
        let lower = fileName.lowercased()
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") { self = .jsonl }
        else if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") { self = .csv }
        else if lower.hasSuffix(".dump") || lower.hasSuffix(".mdb-dump") || lower.hasSuffix(".mdbdump") { self = .mdbDump }
        else { return nil }
    }
}

/// What an import does (docs/cli.md#import).
public struct ImportOptions: Sendable {
    public var format: InterchangeFormat
    /// The collection to fill; `nil` with ``allDatabases``.
    public var collection: String?
    /// Of a dump that holds several databases, the one to import (its `database=` name).
    public var database: String?
    /// Import every database of a dump under its own name (a store's whole dump: `mdb_dump -a`).
    public var allDatabases = false
    /// The kind of a new collection (default: a map, or a set when only a key type is given).
    public var kind: CollectionKind?
    public var keyType: FieldType?
    public var valueType: FieldType?
    /// Replace the collection's entries instead of adding to them.
    public var replace = false
    /// How `bytes` and raw fields are written in JSON Lines and CSV.
    public var bytes: BytesEncoding = .base64
    /// CSV: the first record names the columns (and is not imported).
    public var header = false
    /// CSV: the key's column (default 1), the value's (default 2; for sets, arrays and queues the
    /// element's, default 1).
    public var keyColumn: ColumnChoice?
    public var valueColumn: ColumnChoice?
    /// CSV: the field delimiter (default `,`).
    public var delimiter: UInt8 = UInt8(ascii: ",")
    /// Read and check everything, then commit nothing.
    public var dryRun = false
    /// A new map, array or queue stores each value with a CRC-32C (``Checksummed``, codec `crc32c:`…).
    public var checksums = false
    /// Address space (not disk) to reserve for the import's transaction, in bytes beyond the store's
    /// data. Default: 16 bytes per byte of a file input (at least 1 GiB), 64 GiB for a pipe. If a file
    /// input needs more, the map grows and the import runs again from the file's start; a pipe cannot
    /// be read again, so such an import stops with nothing written.
    public var mapReservation: Int?

    public init(format: InterchangeFormat, collection: String?) {
        self.format = format
        self.collection = collection
    }
}

/// What an import did.
public struct ImportReport: Codable, Sendable {
    public struct Collection: Codable, Sendable {
        public var name: String
        /// `map`, `set`, … or `raw` (a database without a catalog entry).
        public var kind: String
        public var keyCodec: String?
        public var valueCodec: String?
        /// Records read for it.
        public var records: Int
        public var entriesBefore: Int
        public var entriesAfter: Int
        public var replaced: Bool
    }
    public var store: String
    public var input: String
    public var format: String
    public var collections: [Collection] = []
    public var records = 0
    public var bytes = 0
    public var seconds = 0.0
    public var dryRun = false
    public var createdStore = false
    public var warnings: [String] = []
}

/// How far a long command has come, for a progress bar.
public struct WorkProgress: Sendable {
    public var records: Int
    public var bytes: Int
    /// The whole input's size, or the whole export's entries, if known.
    public var totalBytes: Int?
    public var totalRecords: Int?
    public var seconds: Double
    /// A step after the records, such as the commit, when there is one.
    public var phase: String? = nil
}

/// Reads an mdb_dump, JSON Lines or CSV input into a store in one LMDB write transaction: everything
/// is committed, then synced, or nothing is (a malformed line, a full disk, a kill). Memory stays
/// bounded: the input is read through a fixed buffer, and LMDB holds the transaction's new pages
/// until it commits (it writes the oldest out once they pass 512 MiB).
public final class Importer {
    public let path: String
    public let options: ImportOptions
    public let input: LineReader

    private var report: ImportReport
    private let clock = ContinuousClock()
    private var started: ContinuousClock.Instant
    private var progress: ((WorkProgress) -> Void)?
    private var nextProgress = 0

    // Reused per record.
    private let key = ByteBuffer(capacity: 512)
    private let value = ByteBuffer(capacity: 4096)
    private let scratch = ByteBuffer(capacity: 4096)
    private let names = ByteBuffer(capacity: 64)
    private let positionKey = ByteBuffer(capacity: 8)

    /// - Throws: ``InterchangeError`` (`usage`) for options that do not fit each other.
    public init(store path: String, input: LineReader, options: ImportOptions) throws {
        self.path = path
        self.input = input
        self.options = options
        report = ImportReport(store: path, input: input.name, format: options.format.rawValue)
        started = clock.now
        if options.allDatabases {
            guard options.format == .mdbDump else { throw usage("--all reads an mdb_dump file's databases; it needs --format mdb-dump") }
            guard options.collection == nil && options.database == nil else { throw usage("--all imports every database under its own name: give no collection and no --database") }
            guard options.kind == nil && options.keyType == nil && options.valueType == nil else {
                throw usage("--all restores databases as the dump has them; --kind and the types do not apply")
            }
        } else if options.collection == nil {
            throw usage("give the collection to import into, or --all for every database of a dump")
        }
        if options.database != nil && options.format != .mdbDump { throw usage("--database picks a database of an mdb_dump file") }
        if options.keyType == .json { throw usage("json is a value type: a JSON text has no key order") }
        if options.kind == .set && options.valueType != nil { throw usage("a set has no values: give --key-type only") }
        if (options.kind == .array || options.kind == .queue) && options.keyType != nil {
            throw usage("an \(options.kind!.rawValue)'s keys are its positions: give --value-type only")
        }
        if options.format != .csv && (options.header || options.keyColumn != nil || options.valueColumn != nil) {
            throw usage("--header and the column options are for --format csv")
        }
    }

    private func usage(_ message: String) -> InterchangeError { InterchangeError(.usage, message) }

    private func bad(_ message: String, line: Int? = nil, advice: String? = nil) -> InterchangeError {
        InterchangeError(.badInput, source: input.name, line: line ?? input.lineNumber, message, advice: advice)
    }

    /// Runs the import.
    /// - Returns: what was imported (with ``ImportOptions/dryRun``, what would have been).
    /// - Throws: ``InterchangeError`` for bad input (nothing committed), ``LMDBError`` for the store
    ///   (a full disk: nothing committed), ``DiskCollectionsError`` for a collection that does not fit.
    public func run(progress: ((WorkProgress) -> Void)? = nil) throws -> ImportReport {
        self.progress = progress
        started = clock.now
        let storeExisted = FileManager.default.fileExists(atPath: path + "/data.mdb")
        let directoryExisted = FileManager.default.fileExists(atPath: path)
        let lockExisted = FileManager.default.fileExists(atPath: path + "/lock.mdb")
        var committed = false
        defer {
            // A failed import into a store it created leaves nothing behind.
            if !committed && !storeExisted {
                if directoryExisted {
                    unlink(path + "/data.mdb")
                    if !lockExisted { unlink(path + "/lock.mdb") }
                } else {
                    try? FileManager.default.removeItem(atPath: path)
                }
            }
        }
        // The transaction cannot grow the map while it runs (LMDB grows it between transactions), so
        // reserve address space up front: the file takes only the pages written.
        let meta = try DataFile.meta(in: path)
        let used = meta.map { ($0.lastPage + 1) * $0.pageSize } ?? 0
        let reserve = options.mapReservation.map { used + max(4096, $0) }
            ?? input.totalBytes.map { max(1 << 30, used + 16 * $0 + (256 << 20)) } ?? max(64 << 30, 2 * used)
        var environmentOptions = Environment.Options(
            mapSize: max(reserve, meta?.mapSize ?? 0), maximumDatabases: 32_767, durability: .noSync)
        environmentOptions.readOnly = false
        let env = try Environment(path: path, options: environmentOptions)
        defer { env.close() }
        report.createdStore = !storeExisted

        struct DryRunDone: Error {}
        var attempts = 0
        do {
            try env.write { txn in
                attempts += 1
                if attempts > 1 {
                    guard input.canRewind else {
                        throw InterchangeError(.io, source: input.name,
                            "the import outgrew the address space reserved for it, and \(input.name) cannot be read again to replay it",
                            advice: "import from a file instead of a pipe, or reserve more with --reserve (e.g. --reserve 256GB)")
                    }
                    try input.rewind()
                }
                report.collections = []
                report.records = 0
                report.warnings = []
                nextProgress = 0
                switch options.format {
                case .mdbDump: try importDump(txn)
                case .jsonl: try importJSONLines(txn)
                case .csv: try importCSV(txn)
                }
                for i in report.collections.indices {
                    if let db = try txn.openExistingDatabase(report.collections[i].name) ?? (report.collections[i].name == "" ? txn.openDatabase(nil) : nil) {
                        report.collections[i].entriesAfter = try txn.count(db)
                    }
                }
                if options.dryRun { throw DryRunDone() }
                progress?(WorkProgress(records: report.records, bytes: input.consumed, totalBytes: input.totalBytes,
                                       seconds: seconds(), phase: "committing and syncing"))
            }
            try env.sync(force: true)
            committed = true
        } catch is DryRunDone {
            report.dryRun = true
        }
        report.bytes = input.consumed
        report.seconds = seconds()
        return report
    }

    private func seconds() -> Double {
        let d = clock.now - started
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    private func tick() {
        report.records += 1
        if _slowPath(report.records >= nextProgress), let progress {
            nextProgress = report.records + 16_384
            progress(WorkProgress(records: report.records, bytes: input.consumed, totalBytes: input.totalBytes, seconds: seconds()))
        }
    }

    // MARK: Targets

    /// A collection being filled: its database, how its keys and values are read, where it appends.
    final class Target {
        let name: String
        let database: Database
        let kind: String
        let keyCoder: FieldCoder
        let valueCoder: FieldCoder?
        let isDuplicateSorted: Bool
        let reportIndex: Int
        /// The next position of an array or queue.
        var nextPosition: UInt64 = 0
        /// Keys have come in increasing order above every stored key: write with MDB_APPEND.
        var appending: Bool
        let lastKey = ByteBuffer(capacity: 512)

        init(name: String, database: Database, kind: String, keyCoder: FieldCoder, valueCoder: FieldCoder?,
             isDuplicateSorted: Bool, reportIndex: Int, appending: Bool) {
            self.name = name
            self.database = database
            self.kind = kind
            self.keyCoder = keyCoder
            self.valueCoder = valueCoder
            self.isDuplicateSorted = isDuplicateSorted
            self.reportIndex = reportIndex
            self.appending = appending
        }

        var isPositional: Bool { kind == "array" || kind == "queue" }
        var isSet: Bool { kind == "set" }
    }

    /// Opens (or creates) the collection `name` for this import. `dumpFlags` are the flags of the dump
    /// section being read, if any.
    private func target(_ name: String?, _ txn: Transaction, dumpFlags: Database.Flags?) throws -> Target {
        let bytes = options.bytes
        let catalog = try Store.catalogEntries(in: txn)
        let wantsTypes = options.kind != nil || options.keyType != nil || options.valueType != nil
        var database: Database
        var kind = "raw"
        var keyCoder = FieldCoder(.raw, .key, bytes: bytes)
        var valueCoder: FieldCoder? = FieldCoder(.raw, .value, bytes: bytes)

        if options.allDatabases {
            // A whole dump restores byte for byte, the catalog with the rest.
            database = try name.map { try txn.openExistingDatabase($0) ?? txn.openDatabase($0, flags: dumpFlags ?? [])! }
                ?? txn.openDatabase(nil)!
        } else if let name, let existing = catalog[name] {
            guard let collectionKind = CollectionKind(rawValue: existing.kind) else {
                throw usage("'\(name)' is a \(existing.description); an import fills maps, sets, arrays, queues and multimaps")
            }
            // Types given must match the stored ones: the library's typeMismatch says so.
            let descriptor = wantsTypes ? try requestedDescriptor(name, defaultKind: collectionKind) : existing
            database = try Store.openCollection(name, as: descriptor, in: txn, create: false)!
            (kind, keyCoder, valueCoder) = coders(for: existing)
        } else if let name, let plain = try txn.openExistingDatabase(name) {
            if wantsTypes {  // the library's error: a database not made by DiskCollections
                _ = try Store.openCollection(name, as: try requestedDescriptor(name, defaultKind: nil), in: txn, create: true)
            }
            database = plain  // a plain LMDB database: bytes as they are
        } else if name == nil {
            database = try txn.openDatabase(nil)!  // a dump's main database (mdb_dump without -s)
        } else if let name, wantsTypes {
            let descriptor = try requestedDescriptor(name, defaultKind: nil)
            database = try Store.openCollection(name, as: descriptor, in: txn, create: true)!
            (kind, keyCoder, valueCoder) = coders(for: descriptor)
        } else if let name, let dumpFlags {
            // A new plain database with the dump's flags, as mdb_load makes it.
            if name.hasPrefix("__"), name != Store.catalogName, !name.hasPrefix("__search.") {
                throw usage("names starting with __ are reserved for DiskCollections; import '\(name)' under another name")
            }
            database = try txn.openDatabase(name, flags: dumpFlags)!
        } else {
            throw usage("'\(name ?? "")' does not exist in \(path): give the types of the collection to create (--key-type and --value-type, or --kind set|array|queue with one of them)")
        }

        if let dumpFlags {
            if database.flags.contains(.dupSort) != dumpFlags.contains(.dupSort) {
                let has = dumpFlags.contains(.dupSort) ? "has dupsort=1 (several values a key)" : "has one value a key"
                throw bad("the dump's \(name.map { "database '\($0)'" } ?? "main database") \(has), but '\(name ?? "main")' \(database.flags.contains(.dupSort) ? "sorts duplicates" : "does not")",
                          advice: "import it into a \(dumpFlags.contains(.dupSort) ? "multimap" : "map") or a new name")
            }
        }
        if options.replace { try txn.clear(database) }
        let before = try txn.count(database)
        // Appends go after the last stored key (or position).
        let target = Target(name: name ?? "", database: database, kind: kind, keyCoder: keyCoder, valueCoder: valueCoder,
                            isDuplicateSorted: database.flags.contains(.dupSort), reportIndex: report.collections.count,
                            appending: !database.flags.contains(.dupSort))
        if before > 0 {
            try txn.withCursor(database) { cursor in
                if let last = try cursor.last() {
                    target.lastKey.append(last.key)
                    if target.isPositional, last.key.count == 8 {
                        target.nextPosition = UInt64(bigEndian: last.key.loadUnaligned(as: UInt64.self)) + 1
                    }
                }
            }
            if target.kind == "array" { target.nextPosition = UInt64(before) }
        }
        report.collections.append(.init(name: target.name, kind: kind, keyCodec: kind == "raw" ? nil : keyCoder.type.keyCodec,
                                        valueCodec: kind == "raw" ? nil : valueCoder.flatMap { kind == "multimap" ? $0.type.keyCodec : ($0.checksummed ? CRC32C.codecPrefix : "") + ($0.type.valueCodec ?? "?") },
                                        records: 0, entriesBefore: before, entriesAfter: before, replaced: options.replace))
        return target
    }

    /// The descriptor the options ask for.
    private func requestedDescriptor(_ name: String, defaultKind: CollectionKind?) throws -> CollectionDescriptor {
        let kind = options.kind ?? defaultKind ?? (options.valueType == nil ? .set : .map)
        if options.checksums && (kind == .set || kind == .multimap) {
            throw usage("--checksum covers values: a \(kind.rawValue)'s values are sorted keys (or none), so it cannot take one")
        }
        func checked(_ codec: String) -> String { options.checksums ? CRC32C.codecPrefix + codec : codec }
        func need(_ type: FieldType?, _ option: String) throws -> FieldType {
            guard let type else { throw usage("a new \(kind.rawValue) '\(name)' needs \(option)") }
            return type
        }
        switch kind {
        case .set:
            let k = try need(options.keyType, "--key-type")
            return CollectionDescriptor(kind: "set", key: k.keyCodec!, value: "none")
        case .array, .queue:
            let v = try need(options.valueType, "--value-type")
            return CollectionDescriptor(kind: kind.rawValue, key: "uint64", value: checked(v.valueCodec!))
        case .map:
            let k = try need(options.keyType, "--key-type"), v = try need(options.valueType, "--value-type")
            return CollectionDescriptor(kind: "map", key: k.keyCodec!, value: checked(v.valueCodec!))
        case .multimap:
            let k = try need(options.keyType, "--key-type"), v = try need(options.valueType, "--value-type")
            guard let codec = v.keyCodec else { throw usage("a multimap's values are sorted, so they cannot be \(v.rawValue)") }
            return CollectionDescriptor(kind: "multimap", key: k.keyCodec!, value: codec)
        }
    }

    /// How the keys and values of a catalogued collection are read: by their codecs, or as raw bytes
    /// for codecs diskcoll does not know.
    private func coders(for d: CollectionDescriptor) -> (String, FieldCoder, FieldCoder?) {
        let bytes = options.bytes
        let key = FieldCoder(FieldType(keyCodec: d.key) ?? .raw, .key, bytes: bytes)
        switch d.kind {
        case "set": return ("set", key, nil)
        case "multimap": return ("multimap", key, FieldCoder(FieldType(keyCodec: d.value) ?? .raw, .key, bytes: bytes))
        default: return (d.kind, key, FieldCoder(valueCodec: d.value, bytes: bytes))
        }
    }

    // MARK: Writing one record

    /// Writes the record in `key` and `value` (already in stored form) to `target`.
    private func write(_ target: Target, _ txn: Transaction, line: Int) throws {
        let maximum = txn.maximumKeySize
        var keyBytes = key.bytes
        if target.isPositional {
            positionKey.removeAll()
            withUnsafeBytes(of: target.nextPosition.bigEndian) { positionKey.append($0) }
            keyBytes = positionKey.bytes
        } else if keyBytes.isEmpty || keyBytes.count > maximum {
            throw bad("the key is \(keyBytes.count) bytes; LMDB keys are 1 to \(maximum) bytes", line: line,
                      advice: keyBytes.isEmpty ? nil : "shorten or hash long keys")
        }
        if target.isDuplicateSorted && value.count > maximum {
            throw bad("the value is \(value.count) bytes; a multimap's values are at most \(maximum) bytes (LMDB sorts them like keys)", line: line)
        }
        let valueBytes = target.isSet ? UnsafeRawBufferPointer(start: value.bytes.baseAddress, count: 0) : value.bytes
        if target.isDuplicateSorted {
            try txn.put(target.database, key: keyBytes, value: valueBytes, flags: .noDuplicate)
        } else if target.appending && (target.lastKey.count == 0 || keyBytes.compare(target.lastKey.bytes) > 0) {
            try txn.put(target.database, key: keyBytes, value: valueBytes, flags: .append)
            target.lastKey.removeAll()
            target.lastKey.append(keyBytes)
        } else {
            target.appending = false
            try txn.put(target.database, key: keyBytes, value: valueBytes)
        }
        if target.isPositional { target.nextPosition += 1 }
        report.collections[target.reportIndex].records += 1
        tick()
    }

    private func encodeFailed(_ error: any Error, _ what: String, line: Int) -> InterchangeError {
        bad("\(what): \((error as? FieldError)?.message ?? "\(error)")", line: line)
    }

    // MARK: mdb_dump

    private func importDump(_ txn: Transaction) throws {
        let reader = MDBDump.Reader(lines: input)
        var imported: [String?] = []
        while let section = try reader.nextSection() {
            let selected: Bool
            let name: String?
            if options.allDatabases {
                selected = true
                name = section.database
            } else if let wanted = options.database {
                selected = section.database == wanted
                name = options.collection
                if selected && !imported.isEmpty { throw bad("the dump holds database '\(wanted)' twice", line: section.line) }
            } else {
                selected = true
                name = options.collection
                if !imported.isEmpty {
                    let earlier = imported.map { $0.map { "'\($0)'" } ?? "the main database" }.joined(separator: ", ")
                    throw bad("the dump holds more than one database (\(earlier), then \(section.displayName))", line: section.line,
                              advice: "give --database NAME to import one of them, or --all to import each under its own name")
                }
            }
            guard selected else {
                while try reader.nextRecord(key: key, value: value) {}
                continue
            }
            if options.allDatabases, imported.contains(where: { $0 == name }) {
                throw bad("the dump holds \(section.displayName) twice", line: section.line)
            }
            imported.append(section.database)
            let target = try target(name, txn, dumpFlags: section.flags)
            let validates = target.kind != "raw"
            while try reader.nextRecord(key: key, value: value) {
                let line = reader.recordLine
                if validates {
                    // The dump holds stored bytes: they must be what the library would store.
                    if target.isPositional {
                        guard key.count == 8 else { throw bad("key: an \(target.kind)'s keys are 8-byte positions, found \(key.count) bytes", line: line) }
                    } else {
                        do { try target.keyCoder.validate(stored: key.bytes, scratch: scratch) } catch { throw encodeFailed(error, "key", line: line) }
                    }
                    if let coder = target.valueCoder {
                        do { try coder.validate(stored: value.bytes, scratch: scratch) } catch { throw encodeFailed(error, "value", line: line + 1) }
                    } else if value.count != 0 {
                        throw bad("value: a set's values are empty, found \(value.count) bytes", line: line + 1)
                    }
                }
                try write(target, txn, line: line)
            }
        }
        if !options.allDatabases, let wanted = options.database, imported.isEmpty {
            throw bad("the dump has no database '\(wanted)'", line: nil, advice: "list a dump's databases with: grep ^database= FILE")
        }
        report.warnings += reader.warnings
    }

    // MARK: JSON Lines

    private func importJSONLines(_ txn: Transaction) throws {
        let target = try target(options.collection!, txn, dumpFlags: nil)
        let wantsKey = !target.isPositional
        let wantsValue = target.valueCoder != nil
        let shape = target.isSet ? "{\"key\": ...}" : target.isPositional ? "{\"value\": ...}" : "{\"key\": ..., \"value\": ...}"
        var sawLine = false
        while let line = try input.nextLine() {
            let number = input.lineNumber
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }  // blank lines
            sawLine = true
            key.removeAll()
            value.removeAll()
            var hasKey = false, hasValue = false
            do {
                try JSON.forEachMember(in: line, names: names) { name, span in
                    if wantsKey && name.equals("key") {
                        guard !hasKey else { throw bad("the field \"key\" appears twice", line: number) }
                        hasKey = true
                        do { try target.keyCoder.encode(json: span, in: line, scratch: scratch, into: key) } catch { throw encodeFailed(error, "key", line: number) }
                    } else if wantsValue && name.equals("value") {
                        guard !hasValue else { throw bad("the field \"value\" appears twice", line: number) }
                        hasValue = true
                        do { try target.valueCoder!.encode(json: span, in: line, scratch: scratch, into: value) } catch { throw encodeFailed(error, "value", line: number) }
                    } else {
                        throw bad("unexpected field \(InterchangeError.quote(name)): a \(target.kind == "raw" ? "database" : target.kind)'s line is \(shape)", line: number)
                    }
                }
            } catch let e as JSON.SyntaxError {
                throw bad("invalid JSON at column \(e.column): \(e.message)", line: number,
                          advice: input.lineNumber == 1 && line.first == UInt8(ascii: "V") ? "is this an mdb_dump file? Give --format mdb-dump" : nil)
            }
            if wantsKey && !hasKey { throw bad("the line has no \"key\": a \(target.kind)'s line is \(shape)", line: number) }
            if wantsValue && !hasValue { throw bad("the line has no \"value\": a \(target.kind)'s line is \(shape)", line: number) }
            try write(target, txn, line: number)
        }
        if !sawLine { throw emptyInput() }
    }

    private func emptyInput() -> InterchangeError {
        InterchangeError(.badInput, source: input.name, input.consumed == 0 ? "the input is empty (0 bytes)" : "the input has no records, only blank lines",
                         advice: "check that the file was written completely")
    }

    // MARK: CSV

    private func importCSV(_ txn: Transaction) throws {
        let target = try target(options.collection!, txn, dumpFlags: nil)
        let reader = CSV.Reader(lines: input, delimiter: options.delimiter)
        var header: [String] = []
        if options.header {
            guard try reader.nextRecord() else { throw emptyInput() }
            header = (0..<reader.fieldCount).map { String(decoding: reader.field($0), as: UTF8.self) }
        }
        func column(_ choice: ColumnChoice?, default position: Int, _ role: String) throws -> Int {
            switch choice ?? .position(position) {
            case .position(let n):
                guard n >= 1 else { throw usage("\(role) column \(n): columns are numbered from 1") }
                return n - 1
            case .name(let name):
                guard options.header else { throw usage("the \(role) column is named '\(name)', but the input has no header (give --header, or the column's number)") }
                guard let i = header.firstIndex(of: name) else {
                    throw usage("the header has no column '\(name)' for the \(role); it has \(header.map { "'\($0)'" }.joined(separator: ", "))")
                }
                return i
            }
        }
        let keyColumn = target.isPositional ? -1 : try column(options.keyColumn, default: 1, "key")
        let valueColumn = target.valueCoder == nil ? -1
            : try column(options.valueColumn, default: target.isPositional ? 1 : 2, "value")
        var columns = header.isEmpty ? 0 : header.count
        var sawRecord = !header.isEmpty
        while try reader.nextRecord() {
            let line = reader.recordLine
            if columns == 0 { columns = reader.fieldCount }
            guard reader.fieldCount == columns else {
                throw bad("\(reader.fieldCount) column\(reader.fieldCount == 1 ? "" : "s"), but \(options.header ? "the header has" : "the first record has") \(columns)", line: line,
                          advice: "every record has the same number of fields; quote fields that hold the delimiter")
            }
            let needed = max(keyColumn, valueColumn) + 1
            guard needed <= columns else {
                throw usage("the input has \(columns) column\(columns == 1 ? "" : "s"), but the \(keyColumn >= valueColumn ? "key" : "value") is to come from column \(needed)")
            }
            sawRecord = true
            key.removeAll()
            value.removeAll()
            // A first line that does not convert may be a header the options did not announce.
            let hint = line == 1 && !options.header ? "if the first line names the columns, give --header" : nil
            if keyColumn >= 0 {
                do { try target.keyCoder.encode(text: reader.field(keyColumn), into: key) } catch {
                    throw bad("column \(keyColumn + 1) (key): \(error.message)", line: line, advice: hint)
                }
            }
            if valueColumn >= 0 {
                do { try target.valueCoder!.encode(text: reader.field(valueColumn), into: value) } catch {
                    throw bad("column \(valueColumn + 1) (value): \(error.message)", line: line, advice: hint)
                }
            }
            try write(target, txn, line: line)
        }
        if !sawRecord { throw emptyInput() }
    }
}

@available(*, unavailable, message: "an Importer runs on one thread")
extension Importer: Sendable {}
