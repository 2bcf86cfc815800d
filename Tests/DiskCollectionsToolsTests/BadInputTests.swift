import DiskCollections
import DiskCollectionsTools
import Foundation
import LMDB
import Testing
import TestSupport

/// Every malformed input the issue names gets an error that says where (line), what was expected and
/// what was found, and the store is left exactly as it was: nothing of the import is committed, and a
/// store the import would have created does not exist afterwards.
@Suite struct BadInputTests {
    struct Case: CustomStringConvertible, Sendable {
        var name: String
        var format: InterchangeFormat
        var input: [UInt8]
        var collection = "target"
        var kind: CollectionKind? = nil
        var keyType: FieldType? = .uint64
        var valueType: FieldType? = .string
        var header = false
        var line: Int?
        var words: String
        var description: String { name }
    }

    static let dumpHeader = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
    static let good149 = (1...149).map { "{\"key\": \($0), \"value\": \"v\($0)\"}" }.joined(separator: "\n") + "\n"

    static let cases: [Case] = [
        Case(name: "missing HEADER=END", format: .mdbDump, input: Array("VERSION=3\nformat=bytevalue\n 6b\n 76\nDATA=END\n".utf8),
             keyType: nil, valueType: nil, line: 3, words: "HEADER=END is missing"),
        Case(name: "missing DATA=END", format: .mdbDump, input: Array((dumpHeader + " 6b\n 76\n").utf8), keyType: nil, valueType: nil,
             line: 6, words: "before DATA=END: the dump is truncated"),
        Case(name: "non-hex", format: .mdbDump, input: Array((dumpHeader + " 6g\n 76\nDATA=END\n").utf8), keyType: nil, valueType: nil,
             line: 5, words: "'g' in the key (column 3) is not a hex digit"),
        Case(name: "odd-length hex", format: .mdbDump, input: Array((dumpHeader + " 6b\n 7\nDATA=END\n").utf8), keyType: nil, valueType: nil,
             line: 6, words: "odd number of hex digits"),
        Case(name: "truncated dump", format: .mdbDump, input: Array((dumpHeader + " 6b\n 76\n 6c\n").utf8), keyType: nil, valueType: nil,
             line: 7, words: "after a key, before its value"),
        Case(name: "key over 511 bytes (dump)", format: .mdbDump,
             input: Array((dumpHeader + " 01\n 02\n " + String(repeating: "ab", count: 512) + "\n 76\nDATA=END\n").utf8), keyType: nil, valueType: nil,
             line: 7, words: "the key is 512 bytes; LMDB keys are 1 to 511 bytes"),
        Case(name: "empty key (dump)", format: .mdbDump, input: Array((dumpHeader + " \n 76\nDATA=END\n").utf8), keyType: nil, valueType: nil,
             line: 5, words: "the key is 0 bytes"),
        Case(name: "a dump's key that is not a uint64", format: .mdbDump, input: Array((dumpHeader + " 0102\n 76\nDATA=END\n").utf8),
             line: 5, words: "key: a uint64 key is 8 bytes, found 2"),
        Case(name: "invalid UTF-8 in a dump's string value", format: .mdbDump,
             input: Array((dumpHeader + " 0000000000000001\n 61ff\nDATA=END\n").utf8), line: 6, words: "not valid UTF-8"),
        Case(name: "empty dump", format: .mdbDump, input: [], keyType: nil, valueType: nil, line: nil, words: "the input is empty"),
        Case(name: "empty JSON Lines", format: .jsonl, input: [], line: nil, words: "the input is empty (0 bytes)"),
        Case(name: "blank JSON Lines", format: .jsonl, input: Array("\n  \n".utf8), line: nil, words: "no records, only blank lines"),
        Case(name: "invalid JSON", format: .jsonl, input: Array("{\"key\": 1, \"value\": \"a\"}\n{\"key\": 2 \"value\": \"b\"}\n".utf8),
             line: 2, words: "invalid JSON at column 11: expected ',' or '}' after a member"),
        Case(name: "invalid UTF-8 in JSON", format: .jsonl, input: Array("{\"key\": 1, \"value\": \"a".utf8) + [0xFF] + Array("\"}\n".utf8),
             line: 1, words: "invalid UTF-8"),
        Case(name: "a number that does not fit the key type", format: .jsonl, input: Array("{\"key\": 300, \"value\": \"x\"}\n".utf8),
             keyType: .uint8, line: 1, words: "key: 300 does not fit uint8 (0...255)"),
        Case(name: "a negative number for an unsigned key", format: .jsonl, input: Array("{\"key\": -1, \"value\": \"x\"}\n".utf8),
             line: 1, words: "key: -1 does not fit uint64"),
        Case(name: "a fraction for an integer key", format: .jsonl, input: Array("{\"key\": 1.5, \"value\": \"x\"}\n".utf8),
             line: 1, words: "expected an unsigned integer (uint64), found the number \"1.5\""),
        Case(name: "a string for a string-less value", format: .jsonl, input: Array("{\"key\": 1, \"value\": 5}\n".utf8),
             line: 1, words: "value: expected a string as a JSON string, found a number"),
        Case(name: "key over 511 bytes (JSON)", format: .jsonl,
             input: Array("{\"key\": \"\(String(repeating: "k", count: 600))\", \"value\": \"x\"}\n".utf8), keyType: .string,
             line: 1, words: "the key is 600 bytes"),
        Case(name: "a missing value", format: .jsonl, input: Array("{\"key\": 1}\n".utf8), line: 1,
             words: "the line has no \"value\": a map's line is {\"key\": ..., \"value\": ...}"),
        Case(name: "an unexpected field", format: .jsonl, input: Array("{\"key\": 1, \"valeu\": \"x\"}\n".utf8), line: 1,
             words: "unexpected field \"valeu\""),
        Case(name: "a field twice", format: .jsonl, input: Array("{\"key\": 1, \"key\": 2, \"value\": \"x\"}\n".utf8), line: 1,
             words: "the field \"key\" appears twice"),
        Case(name: "a truncated JSON line", format: .jsonl, input: Array("{\"key\": 1, \"value\": \"x\"}\n{\"key\": 2, \"value\": \"y".utf8),
             line: 2, words: "does not end on its line"),
        Case(name: "bad line 150 after 149 good ones", format: .jsonl, input: Array((good149 + "{\"key\": \"x\", \"value\": \"v\"}\n").utf8),
             line: 150, words: "key: expected an unsigned integer (uint64), found \"x\""),
        Case(name: "empty CSV", format: .csv, input: [], line: nil, words: "the input is empty"),
        Case(name: "a wrong column count", format: .csv, input: Array("1,a\n2,b,extra\n".utf8), line: 2,
             words: "3 columns, but the first record has 2"),
        Case(name: "a wrong column count after a header", format: .csv, input: Array("k,v\n1\n".utf8), header: true, line: 2,
             words: "1 column, but the header has 2"),
        Case(name: "invalid UTF-8 in CSV", format: .csv, input: Array("1,".utf8) + [0xC0, 0x80] + [0x0A], line: 1,
             words: "column 2 (value): a string that is not valid UTF-8"),
        Case(name: "a number that does not fit (CSV)", format: .csv, input: Array("1,a\n-5,b\n".utf8), keyType: .uint32, line: 2,
             words: "column 1 (key): -5 does not fit uint32"),
        Case(name: "a header read as data", format: .csv, input: Array("id,name\n1,a\n".utf8), line: 1,
             words: "column 1 (key): expected an unsigned integer (uint64), found \"id\". If the first line names the columns, give --header"),
        Case(name: "a truncated CSV (open quote)", format: .csv, input: Array("1,a\n2,\"b\n".utf8), line: 2,
             words: "closing quote is missing"),
        Case(name: "a quote in an unquoted CSV field", format: .csv, input: Array("1,a\"b\n".utf8), line: 1,
             words: "a double quote inside an unquoted field"),
    ]

    /// A store with data, so "left as it was" means something: the target collection exists with the
    /// types most cases use, and a plain database for the dump cases.
    private func makeStore(_ path: String) throws {
        let store = try Store(at: path)
        try store.map("target", key: UInt64.self, value: String.self).setValue("kept", forKey: 42)
        store.close()
    }

    @Test(arguments: cases)
    func badInputLeavesTheStoreAsItWas(_ c: Case) throws {
        let dir = TemporaryDirectory()
        for existing in [true, false] {
            let path = dir.appending(existing ? "store" : "new-\(UUID().uuidString)")
            if existing { try makeStore(path) }
            let before = try StoreSnapshot(path)
            let input = try Input(c.input, name: "in")
            var options = ImportOptions(format: c.format, collection: c.collection)
            // The dump cases without types go to a plain database.
            if c.keyType == nil && c.valueType == nil { options.collection = "plain" } else {
                options.kind = c.kind; options.keyType = c.keyType; options.valueType = c.valueType
            }
            if c.keyType == .uint8 || c.keyType == .string || c.keyType == .uint32 { options.collection = "other" }
            options.header = c.header
            let error = interchangeError { _ = try Importer(store: path, input: input.reader, options: options).run() }
            #expect(error?.kind == .badInput, "\(c.name): \(String(describing: error))")
            #expect(error?.line == c.line, "\(c.name): line \(String(describing: error?.line)) in \(String(describing: error))")
            #expect(error?.description.contains(c.words) == true, "\(c.name): \(String(describing: error)) should say \(c.words)")
            #expect(error?.description.contains("Nothing was imported") == true)
            if existing {
                #expect(try StoreSnapshot(path) == before, "\(c.name): the store changed")
            } else {
                #expect(!FileManager.default.fileExists(atPath: path), "\(c.name): a store was left behind")
            }
        }
    }

    /// A dump with several databases needs --database or --all; one named twice is an error.
    @Test func severalDatabasesNeedAChoice() throws {
        let dir = TemporaryDirectory()
        let two = "VERSION=3\nformat=bytevalue\ndatabase=a\ntype=btree\nHEADER=END\n 01\n 02\nDATA=END\nVERSION=3\nformat=bytevalue\ndatabase=b\ntype=btree\nHEADER=END\n 03\n 04\nDATA=END\n"
        let e = interchangeError { try runImport(dir.path, try Input(two)) { $0.collection = "x" } }
        #expect(e?.line == 9 && e?.description.contains("more than one database ('a', then database 'b')") == true, "\(String(describing: e))")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/data.mdb"))
        try runImport(dir.path, try Input(two)) { $0.collection = "x"; $0.database = "b" }
        #expect(try StoreSnapshot(dir.path).entries("x").map(\.0) == [[3]])
        let missing = interchangeError { try runImport(dir.path, try Input(two)) { $0.collection = "y"; $0.database = "c" } }
        #expect(missing?.description.contains("no database 'c'") == true)
    }

    /// Options that do not fit each other are usage errors, before anything is read.
    @Test func optionsThatDoNotFit() throws {
        let dir = TemporaryDirectory()
        let input = try Input("1,2\n", name: "x.csv")
        func usage(_ configure: (inout ImportOptions) -> Void) -> String? {
            var o = ImportOptions(format: .csv, collection: "c")
            configure(&o)
            do { _ = try Importer(store: dir.path, input: input.reader, options: o).run() } catch let e as InterchangeError where e.kind == .usage {
                return e.description
            } catch { return "other: \(error)" }
            return nil
        }
        #expect(usage { _ in }?.contains("give the types of the collection to create") == true)
        #expect(usage { $0.keyType = .uint8 ; $0.valueType = nil; $0.kind = .map }?.contains("a new map 'c' needs --value-type") == true)
        #expect(usage { $0.keyType = .json }?.contains("json is a value type") == true)
        #expect(usage { $0.kind = .set; $0.keyType = .uint8; $0.valueType = .uint8 }?.contains("a set has no values") == true)
        #expect(usage { $0.kind = .array; $0.keyType = .uint8 }?.contains("keys are its positions") == true)
        #expect(usage { $0.keyType = .uint8; $0.valueType = .uint8; $0.keyColumn = .name("id") }?.contains("the input has no header") == true)
        #expect(usage { $0.keyType = .uint8; $0.valueType = .uint8; $0.valueColumn = .position(3) }?.contains("the value is to come from column 3") == true)
        #expect(usage { $0.kind = .multimap; $0.keyType = .uint8; $0.valueType = .json }?.contains("cannot be json") == true)
        #expect(usage { $0.allDatabases = true }?.contains("--all") == true)
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/data.mdb"))
    }
}
