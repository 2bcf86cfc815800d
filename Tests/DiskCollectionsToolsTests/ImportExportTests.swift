import DiskCollections
import DiskCollectionsTools
import Foundation
import LMDB
import Testing
import TestSupport

/// Runs an import of `input` into `store` and returns its report.
@discardableResult
func runImport(_ store: String, _ input: Input, _ configure: (inout ImportOptions) -> Void) throws -> ImportReport {
    var options = ImportOptions(format: InterchangeFormat(fileName: input.path) ?? .mdbDump, collection: nil)
    configure(&options)
    return try Importer(store: store, input: input.reader, options: options).run()
}

/// Runs an export into a file and returns its text.
func runExport(_ store: String, _ configure: (inout ExportOptions) -> Void) throws -> String {
    let dir = TemporaryDirectory("export")
    var options = ExportOptions(format: .mdbDump, collection: nil)
    configure(&options)
    let output = try OutputFile(path: dir.appending("out"))
    _ = try Exporter(store: store, options: options).run(into: output)
    return try String(contentsOfFile: dir.appending("out"), encoding: .utf8)
}

@Suite struct ImportExportTests {
    /// A store with one collection of each kind and many types, values chosen to be awkward.
    static func makeStore(_ path: String) throws {
        let store = try Store(at: path)
        defer { store.close() }
        var rng = SplitMix64(seed: 77)
        let awkward = ["", "a,b", "quote \" and \\ backslash", "new\nline", "crlf\r\n", "tab\t", "é e\u{301} 😀", "\0lead", "x"]
        func text(_ i: Int) -> String { awkward[i % awkward.count] + "\(i)" }
        try store.write {
            let m = try store.map("m", key: UInt64.self, value: String.self)
            for i in 0..<300 { try m.setValue(text(i), forKey: rng.next()) }
            try m.setValue("max", forKey: .max)
            let s = try store.set("s", of: String.self)
            for i in 0..<200 { try s.insert(text(i)) }
            let si = try store.set("si", of: Int32.self)
            for _ in 0..<200 { try si.insert(Int32(truncatingIfNeeded: rng.next())) }
            try si.insert(.min); try si.insert(.max)
            let sd = try store.set("sd", of: Double.self)
            for x in [0.0, -1.5, .infinity, -.infinity, .nan, 1e-300, .pi, Double.greatestFiniteMagnitude] { try sd.insert(x) }
            let b = try store.map("b", key: [UInt8].self, value: [UInt8].self)
            try b.setValue([], forKey: [])
            try b.setValue([0], forKey: [0])
            for _ in 0..<100 { try b.setValue((0..<Int(rng.next() % 20)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }, forKey: (0..<Int(rng.next() % 20 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }) }
            let a = try store.array("a", of: Float.self)
            for i in 0..<100 { try a.append(Float(i) / 7) }
            try a.append(-0.0)
            let mm = try store.multimap("mm", key: String.self, value: UInt32.self)
            for i in 0..<100 { try mm.insert(UInt32(truncatingIfNeeded: rng.next()), forKey: text(i % 13)) }
            let j = try store.map("j", key: Int64.self, value: DiskJSON.self)
            try j.setValue(try DiskJSON(validating: #"{"a":[1,2.5,null,"x\ny"],"big":18446744073709551615}"#), forKey: -1)
            try j.setValue(try DiskJSON(validating: "\"text\""), forKey: 2)
            let u = try store.map("u", key: UUID.self, value: Bool.self)
            for i in 0..<20 { try u.setValue(i % 2 == 0, forKey: UUID()) }
        }
        let q = try store.queue("q", of: UInt16.self)
        try q.append(contentsOf: (0..<50).map { UInt16($0 * 1000 % 65536) })
        _ = try q.popFirst(5)  // sequence numbers now start at 5
        try store.checkpoint()
    }

    static let collections = ["m", "s", "si", "sd", "b", "a", "mm", "j", "u", "q"]

    /// Exports every collection in `format`, imports each into a new store with the types the catalog
    /// records, and compares byte for byte (a queue by its items: positions start again at 0).
    @Test(arguments: [InterchangeFormat.jsonl, .csv, .mdbDump])
    func typedRoundTrips(format: InterchangeFormat) throws {
        let source = TemporaryDirectory(), target = TemporaryDirectory()
        try Self.makeStore(source.path)
        let catalog = try Self.catalog(source.path)
        for bytes in [BytesEncoding.base64, .hex] {
            let destination = target.appending("copy-\(bytes)")
            for name in Self.collections {
                let text = try runExport(source.path) { $0.format = format; $0.collection = name; $0.bytes = bytes; $0.header = format == .csv }
                let d = catalog[name]!
                let input = try Input(text, name: "in." + (format == .mdbDump ? "dump" : format.rawValue))
                try runImport(destination, input) { o in
                    o.collection = name
                    o.bytes = bytes
                    o.header = format == .csv
                    o.kind = CollectionKind(rawValue: d.kind)
                    switch d.kind {
                    case "set": o.keyType = FieldType(keyCodec: d.key)
                    case "array", "queue": o.valueType = FieldType(valueCodec: d.value)
                    case "multimap": o.keyType = FieldType(keyCodec: d.key); o.valueType = FieldType(keyCodec: d.value)
                    default: o.keyType = FieldType(keyCodec: d.key); o.valueType = FieldType(valueCodec: d.value)
                    }
                }
            }
            let before = try StoreSnapshot(source.path), after = try StoreSnapshot(destination)
            for name in Self.collections where name != "q" {
                #expect(after.databases[name] == before.databases[name], "\(format) \(bytes): '\(name)' differs")
            }
            #expect(try Self.catalog(destination) == catalog)
            #expect(after.entries("q").map(\.1) == before.entries("q").map(\.1))
            #expect(after.entries("q").first?.0 == UInt64(0).diskKeyBytes)
        }
    }

    static func catalog(_ path: String) throws -> [String: CollectionDescriptor] {
        let store = try Store(at: path, readOnly: true)
        defer { store.close() }
        return Dictionary(uniqueKeysWithValues: try store.collections().map { ($0.name, $0.descriptor) })
    }

    /// `--all` restores a whole store byte for byte, catalog included, from one dump.
    @Test func aWholeDumpRestoresEveryDatabase() throws {
        let source = TemporaryDirectory(), target = TemporaryDirectory()
        try Self.makeStore(source.path)
        let text = try runExport(source.path) { $0.allDatabases = true }
        let report = try runImport(target.appending("copy"), try Input(text)) { $0.allDatabases = true }
        #expect(report.collections.count == Self.collections.count + 1)
        #expect(try StoreSnapshot(target.appending("copy")).databases == (try StoreSnapshot(source.path)).databases)
        // The copy opens as typed collections.
        let store = try Store(at: target.appending("copy"))
        defer { store.close() }
        #expect(try store.map("m", key: UInt64.self, value: String.self)[.max] == "max")
        #expect(try store.queue("q", of: UInt16.self).first == 5000)
    }

    @Test func appendAndReplace() throws {
        let dir = TemporaryDirectory()
        let input = try Input("{\"key\": 3, \"value\": \"three\"}\n{\"key\": 1, \"value\": \"one\"}\n", name: "x.jsonl")
        try runImport(dir.path, input) { $0.collection = "m"; $0.keyType = .uint64; $0.valueType = .string }
        // Types are read from the catalog: no need to give them again.
        let more = try Input("{\"key\": 2, \"value\": \"two\"}\n{\"key\": 3, \"value\": \"THREE\"}\n", name: "y.jsonl")
        let report = try runImport(dir.path, more) { $0.collection = "m" }
        #expect(report.collections[0].entriesBefore == 2 && report.collections[0].entriesAfter == 3)
        do {
            let store = try Store(at: dir.path)
            let m = try store.map("m", key: UInt64.self, value: String.self)
            #expect(try m.entries().map { "\($0.key)=\($0.value)" } == ["1=one", "2=two", "3=THREE"])
            store.close()
        }
        let replacement = try Input("{\"key\": 9, \"value\": \"nine\"}\n", name: "z.jsonl")
        try runImport(dir.path, replacement) { $0.collection = "m"; $0.replace = true }
        let store = try Store(at: dir.path)
        defer { store.close() }
        #expect(try store.map("m", key: UInt64.self, value: String.self).keys() == [9])
    }

    /// Arrays and queues continue after their last position; sets and multimaps add what is new.
    @Test func appendsToEveryKind() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.array("a", of: Int64.self).append(contentsOf: [10, 20])
            let q = try store.queue("q", of: String.self)
            try q.append(contentsOf: ["x", "y", "z"])
            _ = try q.popFirst()
            try store.set("s", of: UInt32.self).insert(contentsOf: [1, 2])
            try store.multimap("mm", key: String.self, value: UInt8.self).insert(1, forKey: "k")
            store.close()
        }
        try runImport(dir.path, try Input("{\"value\": 30}\n{\"value\": -40}\n", name: "a.jsonl")) { $0.collection = "a" }
        try runImport(dir.path, try Input("w\n", name: "q.csv")) { $0.collection = "q" }
        try runImport(dir.path, try Input("2\n3\n", name: "s.csv")) { $0.collection = "s" }
        try runImport(dir.path, try Input("k,1\nk,2\nj,1\n", name: "mm.csv")) { $0.collection = "mm" }
        let store = try Store(at: dir.path)
        defer { store.close() }
        #expect(try store.array("a", of: Int64.self).elements() == [10, 20, 30, -40])
        #expect(try store.queue("q", of: String.self).elements() == ["y", "z", "w"])
        #expect(try store.set("s", of: UInt32.self).elements() == [1, 2, 3])
        #expect(try store.multimap("mm", key: String.self, value: UInt8.self).values(forKey: "k") == [1, 2])
        #expect(try store.multimap("mm", key: String.self, value: UInt8.self).count == 3)
    }

    /// Keys in any order land right: the import appends (MDB_APPEND) while they ascend, then puts.
    @Test func keysInAnyOrder() throws {
        let dir = TemporaryDirectory()
        var rng = SplitMix64(seed: 8)
        var model: [UInt32: UInt32] = [:]
        var lines = ""
        for i in 0..<5_000 {
            let k = i < 2_000 ? UInt32(i * 3) : UInt32(truncatingIfNeeded: rng.next() % 20_000)
            let v = UInt32(truncatingIfNeeded: rng.next())
            model[k] = v
            lines += "\(k),\(v)\n"
        }
        try runImport(dir.path, try Input(lines, name: "k.csv")) { $0.collection = "m"; $0.keyType = .uint32; $0.valueType = .uint32 }
        let store = try Store(at: dir.path)
        defer { store.close() }
        let m = try store.map("m", key: UInt32.self, value: UInt32.self)
        #expect(try m.count == model.count)
        #expect(Dictionary(uniqueKeysWithValues: try m.entries().map { ($0.key, $0.value) }) == model)
    }

    /// `--checksum` makes a new map of Checksummed values: stored with their CRC-32C, exported without it.
    @Test func checksummedValuesImportAndExport() throws {
        let dir = TemporaryDirectory()
        let lines = "{\"key\":1,\"value\":\"one\"}\n{\"key\":2,\"value\":\"two\"}\n"
        let report = try runImport(dir.path, try Input(lines, name: "c.jsonl")) { o in
            o.collection = "m"; o.keyType = .uint8; o.valueType = .string; o.checksums = true
        }
        #expect(report.collections[0].valueCodec == "crc32c:string")
        let stored = try StoreSnapshot(dir.path).entries("m")
        #expect(stored[0].1 == Array("one".utf8) + withUnsafeBytes(of: Array("one".utf8).withUnsafeBytes { CRC32C.checksum($0) }.littleEndian) { Array($0) })
        #expect(try runExport(dir.path) { $0.format = .jsonl; $0.collection = "m" } == lines)
        do {
            let store = try Store(at: dir.path)
            #expect(try store.map("m", key: UInt8.self, value: Checksummed<String>.self)[2]?.value == "two")
            store.close()
        }
        let e = interchangeError { try runImport(dir.path, try Input("1,x\n", name: "s.csv")) { $0.collection = "s"; $0.kind = .set; $0.keyType = .uint8; $0.checksums = true } }
        #expect(e?.kind == .usage && e?.description.contains("--checksum covers values") == true)
    }

    /// Windows line endings are accepted in every format (the dump reader's own test has CRLF too).
    @Test func crlfLineEndings() throws {
        let dir = TemporaryDirectory()
        try runImport(dir.path, try Input("{\"key\": 1, \"value\": \"a\"}\r\n{\"key\": 2, \"value\": \"b\"}\r\n", name: "w.jsonl")) { o in
            o.collection = "j"; o.keyType = .uint8; o.valueType = .string
        }
        try runImport(dir.path, try Input("k,v\r\n1,\"x\r\ny\"\r\n2,z\r\n", name: "w.csv")) { o in
            o.collection = "c"; o.header = true; o.keyType = .uint8; o.valueType = .string
        }
        let store = try Store(at: dir.path)
        defer { store.close() }
        #expect(try store.map("j", key: UInt8.self, value: String.self).entries().map(\.value) == ["a", "b"])
        // Inside quotes the line break is data, CRLF as written.
        #expect(try store.map("c", key: UInt8.self, value: String.self).entries().map(\.value) == ["x\r\ny", "z"])
    }

    @Test func csvColumnsByNameAndNumber() throws {
        let dir = TemporaryDirectory()
        let input = try Input("id;name;score\n7;seven;1.5\n8;eight;-2\n", name: "c.csv")
        try runImport(dir.path, input) { o in
            o.collection = "scores"; o.header = true; o.delimiter = UInt8(ascii: ";")
            o.keyColumn = ColumnChoice("name"); o.valueColumn = ColumnChoice("3"); o.keyType = .string; o.valueType = .double
        }
        let store = try Store(at: dir.path)
        defer { store.close() }
        #expect(try store.map("scores", key: String.self, value: Double.self)["seven"] == 1.5)
        #expect(try store.map("scores", key: String.self, value: Double.self)["eight"] == -2)
    }

    /// Exports of a key range and a limit.
    @Test func exportRangeAndLimit() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.write { for i in 0..<100 as Range<UInt64> { try store.map("m", key: UInt64.self, value: UInt64.self).setValue(i * i, forKey: i) } }
            store.close()
        }
        let text = try runExport(dir.path) { $0.format = .csv; $0.collection = "m"; $0.start = "10"; $0.end = "15" }
        #expect(text == "10,100\n11,121\n12,144\n13,169\n14,196\n")
        let limited = try runExport(dir.path) { $0.format = .jsonl; $0.collection = "m"; $0.start = "98"; $0.limit = 5 }
        #expect(limited == "{\"key\":98,\"value\":9604}\n{\"key\":99,\"value\":9801}\n")
        let e = interchangeError { _ = try runExport(dir.path) { $0.format = .csv; $0.collection = "m"; $0.start = "x" } }
        #expect(e?.kind == .usage && e?.description.contains("--start x") == true)
        let missing = interchangeError { _ = try runExport(dir.path) { $0.collection = "nope" } }
        #expect(missing?.kind == .noInput && missing?.description.contains("has 'm'") == true)
    }

    /// A transaction that fills its reserved map grows it and runs again from the file's start; from
    /// a pipe it cannot, and nothing is written.
    @Test func aMapThatFillsReplaysFromAFileAndStopsCleanlyFromAPipe() throws {
        let dir = TemporaryDirectory()
        let lines = (0..<60_000).map { "{\"key\": \($0), \"value\": \"value number \($0)\"}" }.joined(separator: "\n") + "\n"
        let input = try Input(lines, name: "big.jsonl")
        let report = try runImport(dir.appending("file"), input) { o in
            o.collection = "m"; o.keyType = .uint64; o.valueType = .string; o.mapReservation = 64 << 10
        }
        #expect(report.records == 60_000)
        #expect(try StoreSnapshot(dir.appending("file")).entries("m").count == 60_000)

        let pipe = Pipe()
        let writer = Thread { pipe.fileHandleForWriting.write(Data(lines.utf8)); try? pipe.fileHandleForWriting.close() }
        writer.start()
        let reader = LineReader(descriptor: pipe.fileHandleForReading.fileDescriptor, name: "standard input", ownsDescriptor: false)
        var options = ImportOptions(format: .jsonl, collection: "m")
        options.keyType = .uint64; options.valueType = .string; options.mapReservation = 64 << 10
        let e = interchangeError { _ = try Importer(store: dir.appending("pipe"), input: reader, options: options).run() }
        #expect(e?.kind == .io && e?.description.contains("cannot be read again") == true, "\(String(describing: e))")
        #expect(!FileManager.default.fileExists(atPath: dir.appending("pipe")))
        while (try? reader.nextLine()) != nil {}  // let the writer finish
    }

    @Test func aDryRunWritesNothing() throws {
        let dir = TemporaryDirectory()
        let report = try runImport(dir.appending("new"), try Input("1,2\n", name: "d.csv")) { o in
            o.collection = "m"; o.keyType = .uint8; o.valueType = .uint8; o.dryRun = true
        }
        #expect(report.dryRun && report.records == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.appending("new")))
    }

    @Test func typesThatDoNotMatchAreTheLibrarysError() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.map("m", key: UInt64.self, value: String.self).setValue("a", forKey: 1)
            store.close()
        }
        let env = try Environment(path: dir.path)
        try env.write { txn in _ = try txn.put(try txn.openDatabase("plain")!, key: [1], value: [2]) }
        env.close()
        let before = try StoreSnapshot(dir.path)
        let mismatch = #expect(throws: DiskCollectionsError.self) {
            try runImport(dir.path, try Input("1,2\n", name: "t.csv")) { $0.collection = "m"; $0.valueType = .uint32; $0.keyType = .uint64 }
        }
        #expect(mismatch.map { "\($0)".contains("is a DiskMap<uint64, string>, not a DiskMap<uint64, uint32le>") } == true)
        let plain = #expect(throws: DiskCollectionsError.self) {
            try runImport(dir.path, try Input("1,2\n", name: "t.csv")) { $0.collection = "plain"; $0.valueType = .uint32; $0.keyType = .uint64 }
        }
        #expect(plain.map { "\($0)".contains("database not made by DiskCollections") } == true)
        #expect(try StoreSnapshot(dir.path) == before)
        // Without types, a plain database takes a dump's bytes as they are.
        let dump = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n 02\n 03\nDATA=END\n"
        try runImport(dir.path, try Input(dump)) { $0.collection = "plain" }
        #expect(try StoreSnapshot(dir.path).entries("plain").map(\.0) == [[1], [2]])
    }
}
