import DiskCollections
import Foundation
import LMDB

/// What `diskcoll verify` found.
public struct VerifyReport: Codable, Sendable {
    public struct Problem: Codable, Sendable, Hashable, CustomStringConvertible {
        /// The collection or database, or `nil` for the file as a whole.
        public var collection: String?
        public var message: String
        public var description: String { collection.map { "'\($0)': \(message)" } ?? message }

        public init(collection: String? = nil, message: String) {
            self.collection = collection
            self.message = message
        }
    }

    public struct Checked: Codable, Sendable {
        public var name: String
        /// `map`, `set`, …, `search`, `catalog`, or `raw` for a database without a catalog entry.
        public var kind: String
        public var entries: Int
        public var pages: Int
        /// What was checked beyond order and count.
        public var checks: String
    }

    public var store: String
    public var fileBytes = 0
    public var pageSize = 0
    public var lastPage = 0
    public var transaction = 0
    /// Pages of every B+tree (the named databases, the main one, the free list's own).
    public var treePages = 0
    /// Pages on the free list.
    public var freePages = 0
    public var databases: [Checked] = []
    public var problems: [Problem] = []
    /// Set when the walk itself died (a signal in liblmdb reading a wild page): the store is damaged.
    public var crashed: String?

    public var isHealthy: Bool { problems.isEmpty && crashed == nil }

    public init(store: String) { self.store = store }
}

/// Walks a store, or any LMDB environment: the data file against its meta pages, every database's
/// entries in order and against its count, every collection's keys and values against its codecs and
/// its kind's layout, the catalog against the databases, and the pages against the file.
///
/// LMDB has no checksums: a flipped bit that still decodes is not found, and a wild page number can
/// crash liblmdb itself; `diskcoll verify` runs this walk in a child process so such a crash is
/// reported as damage (docs/cli.md#verify).
public enum Verifier {
    /// The most problems listed per database (the rest are counted).
    static let problemsPerDatabase = 10

    /// Verifies the store in `path`; `onDatabase` is called with each database's name before its walk.
    /// - Throws: only for a store that cannot be opened at all (``LMDBError``); damage is reported.
    public static func verify(store path: String, onDatabase: ((String) -> Void)? = nil) throws -> VerifyReport {
        var report = VerifyReport(store: path)
        guard FileManager.default.fileExists(atPath: path + "/data.mdb") else {
            throw InterchangeError(.noInput, source: path, "no store here: the directory has no data.mdb", advice: "give the directory a Store was created in")
        }
        if let damage = checkFile(path, &report) {
            report.problems.append(.init(message: damage))
            return report  // LMDB would read past the end of the file: walk no further
        }
        var options = Environment.Options(mapSize: 0, maximumDatabases: 32_767)
        options.readOnly = true
        let env = try Environment(path: path, options: options)
        defer { env.close() }
        // One snapshot for the catalog and the page count; each database is then walked in a read
        // transaction of its own, since an LMDB error (a page not found) ends the transaction it hits.
        var statistics: [String: Database.Statistics] = [:]
        var catalog: [String: CollectionDescriptor] = [:]
        let names: [String] = try env.read { txn in
            let names = try txn.databaseNames()
            catalog = checkCatalog(txn, names: Set(names), &report)
            let main = try txn.openDatabase(nil)!
            report.treePages = try txn.statistics(main).pages + (try txn.freeDatabaseStatistics()).pages
            report.freePages = try txn.freePageCount()
            for name in names {
                guard let db = try txn.openExistingDatabase(name) else { continue }
                let s = try txn.statistics(db)
                statistics[name] = s
                report.treePages += s.pages
            }
            return names
        }
        // Every page is a meta page, in a tree, or free: LMDB frees a transaction's old pages into
        // the free list in the same commit.
        let accounted = 2 + report.treePages + report.freePages
        if report.lastPage > 0 && accounted != report.lastPage + 1 {
            let what = accounted > report.lastPage + 1
                ? "\(accounted - report.lastPage - 1) pages are counted twice (in two trees, or in a tree and the free list)"
                : "\(report.lastPage + 1 - accounted) pages are neither in a tree nor on the free list (leaked)"
            report.problems.append(.init(message: "the file's \(report.lastPage + 1) pages do not add up: 2 meta, \(report.treePages) in trees, \(report.freePages) free; \(what)"))
        }
        for name in names {
            guard let s = statistics[name] else { continue }
            onDatabase?(name)
            let descriptor = name == Store.catalogName ? nil : catalog[name]
            let kind = name == Store.catalogName ? "catalog" : descriptor?.kind ?? "raw"
            var checks = "not read"
            do {
                checks = try env.read { txn in
                    guard let db = try txn.openExistingDatabase(name) else { return "gone" }
                    return try walk(name, db, descriptor, s, txn, &report)
                }
            } catch let error as LMDBError {
                report.problems.append(.init(collection: name, message: "reading it failed: \(error.operation): \(error.message)"))
            }
            report.databases.append(.init(name: name, kind: kind, entries: s.entries, pages: s.pages, checks: checks))
        }
        return report
    }

    /// Reads the meta pages into `report`; returns what makes the file unreadable, if anything.
    static func checkFile(_ path: String, _ report: inout VerifyReport) -> String? {
        do {
            if let meta = try DataFile.meta(in: path) {
                report.fileBytes = meta.fileSize
                report.pageSize = meta.pageSize
                report.lastPage = meta.lastPage
                report.transaction = meta.transaction
            }
            try DataFile.check(in: path)
            return nil
        } catch {
            return error.detail ?? "\(error)"
        }
    }

    /// Checks the catalog's entries; returns the ones that decode.
    static func checkCatalog(_ txn: Transaction, names: Set<String>, _ report: inout VerifyReport) -> [String: CollectionDescriptor] {
        var entries: [String: CollectionDescriptor] = [:]
        guard let catalog = try? Store.catalog(in: txn) else { return entries }
        do {
            try txn.withCursor(catalog) { cursor in
                for (k, v) in cursor.entries() {
                    let name = String(decoding: k, as: UTF8.self)
                    guard let d = try? JSONDecoder().decode(CollectionDescriptor.self, from: Data(v)) else {
                        report.problems.append(.init(collection: name, message: "its catalog entry (\(v.count) bytes) is not a collection record"))
                        continue
                    }
                    if !names.contains(name) {
                        report.problems.append(.init(collection: name, message: "the catalog records a \(d.description), but its database is missing"))
                    }
                    if d.version > Store.formatVersion {
                        report.problems.append(.init(collection: name, message: "format version \(d.version) is newer than this diskcoll reads (\(Store.formatVersion))"))
                    }
                    entries[name] = d
                }
            }
        } catch {
            report.problems.append(.init(collection: Store.catalogName, message: "reading the catalog failed: \(error)"))
        }
        return entries
    }

    /// Walks one database in order; returns what was checked beyond order and count.
    static func walk(_ name: String, _ db: Database, _ descriptor: CollectionDescriptor?, _ statistics: Database.Statistics,
                     _ txn: Transaction, _ report: inout VerifyReport) throws -> String {
        var found = Problems()
        let checks = try walk(name, db, descriptor, statistics, txn, &found)
        report.problems += found.list.prefix(problemsPerDatabase).map { .init(collection: name, message: $0) }
        if found.list.count > problemsPerDatabase {
            report.problems.append(.init(collection: name, message: "and \(found.list.count - problemsPerDatabase) more problems"))
        }
        return checks
    }

    struct Problems {
        var list: [String] = []
        mutating func add(_ message: String) { list.append(message) }
    }

    static func walk(_ name: String, _ db: Database, _ descriptor: CollectionDescriptor?, _ statistics: Database.Statistics,
                     _ txn: Transaction, _ found: inout Problems) throws -> String {
        var local = Problems()
        defer { found = local }
        func problem(_ message: String) { local.add(message) }
        let kind = descriptor?.kind
        let keyCoder: FieldCoder?
        let valueCoder: FieldCoder?
        var checks: [String] = []
        switch kind {
        case "set":
            keyCoder = FieldType(keyCodec: descriptor!.key).map { FieldCoder($0, .key) }
            valueCoder = nil
            checks.append("empty values")
        case "multimap":
            keyCoder = FieldType(keyCodec: descriptor!.key).map { FieldCoder($0, .key) }
            valueCoder = FieldType(keyCodec: descriptor!.value).map { FieldCoder($0, .key) }
            if !db.flags.contains(.dupSort) { problem("a multimap's database does not sort duplicates (flags 0x\(String(db.flags.rawValue, radix: 16)))") }
        case "map":
            keyCoder = FieldType(keyCodec: descriptor!.key).map { FieldCoder($0, .key) }
            valueCoder = FieldCoder.knows(valueCodec: descriptor!.value) ? FieldCoder(valueCodec: descriptor!.value) : nil
        case "array", "queue":
            keyCoder = nil
            valueCoder = FieldCoder.knows(valueCodec: descriptor!.value) ? FieldCoder(valueCodec: descriptor!.value) : nil
            checks.append(kind == "array" ? "positions 0..<count" : "consecutive sequence numbers")
        default:
            keyCoder = nil
            valueCoder = nil
        }
        if let keyCoder { checks.append("keys decode as \(keyCoder.type.rawValue)") }
        if let valueCoder { checks.append("values decode as \(valueCoder.type.rawValue)\(valueCoder.checksummed ? ", their CRC-32C checked" : "")") }
        if kind != nil && keyCoder == nil && kind != "array" && kind != "queue" && kind != "search" {
            checks.append("keys of codec \(descriptor!.key) not decoded")
        }
        if kind == "search" { checks.append("levels not decoded") }
        if (kind == "map" || kind == "multimap" || kind == "array" || kind == "queue") && valueCoder == nil {
            checks.append("values of codec \(descriptor!.value) not decoded")
        }
        if kind != nil && kind != "multimap" && db.flags.contains(.dupSort) {
            problem("a \(kind!)'s database sorts duplicates (flags 0x\(String(db.flags.rawValue, radix: 16))), as only a multimap's does")
        }

        let scratch = ByteBuffer()
        let keyText = ByteBuffer()
        /// A key for a message: in its codec's text form when it has one, else its bytes.
        func describe(_ key: UnsafeRawBufferPointer) -> String {
            let coder = keyCoder ?? ((kind == "array" || kind == "queue") ? FieldCoder(.uint64, .key) : nil)
            keyText.removeAll()
            if let coder, (try? coder.appendText(stored: key, into: keyText)) != nil {
                return coder.type == .string ? InterchangeError.quote(keyText.bytes, limit: 60) : String(decoding: keyText.bytes, as: UTF8.self)
            }
            return InterchangeError.quote(key)
        }
        let previous = ByteBuffer(capacity: 512)
        let previousValue = ByteBuffer()
        let sortsValuesByBytes = db.flags.isDisjoint(with: [.integerDup, .reverseDup])
        var count = 0
        var position: UInt64 = 0
        try txn.withCursor(db) { cursor in
            for (key, value) in cursor.entries() {
                if count > 0 {
                    let order = txn.compare(db, previous.bytes, key)
                    if order > 0 || (order == 0 && !db.flags.contains(.dupSort)) {
                        problem("keys out of order: \(InterchangeError.quote(key)) after \(InterchangeError.quote(previous.bytes))")
                    } else if order == 0 && sortsValuesByBytes && previousValue.bytes.compare(value) >= 0 {
                        problem("values of key \(describe(key)) out of order")
                    }
                }
                if let keyCoder {
                    do { try keyCoder.validate(stored: key, scratch: scratch) } catch {
                        problem("key \(InterchangeError.quote(key)): \((error as? FieldError)?.message ?? "\(error)")")
                    }
                }
                if let valueCoder {
                    do { try valueCoder.validate(stored: value, scratch: scratch) } catch {
                        problem("value of key \(describe(key)): \((error as? FieldError)?.message ?? "\(error)")")
                    }
                }
                if kind == "set" && !value.isEmpty { problem("key \(describe(key)) has a \(value.count)-byte value; a set's values are empty") }
                if kind == "array" || kind == "queue" {
                    if key.count != 8 {
                        problem("key \(InterchangeError.quote(key)) is not an 8-byte position")
                    } else {
                        let p = UInt64(bigEndian: key.loadUnaligned(as: UInt64.self))
                        if count == 0 && kind == "queue" { position = p }
                        if p != position { problem("position \(p) where \(position) was due: \(kind == "array" ? "an array has no holes" : "a queue's sequence numbers are consecutive")") }
                        position = p &+ 1
                    }
                }
                previous.removeAll(); previous.append(key)
                previousValue.removeAll(); previousValue.append(value)
                count += 1
            }
        }
        if count != statistics.entries { problem("the walk found \(count) entries; the database's count says \(statistics.entries)") }
        return checks.isEmpty ? "order and count" : "order and count; " + checks.joined(separator: "; ")
    }
}
