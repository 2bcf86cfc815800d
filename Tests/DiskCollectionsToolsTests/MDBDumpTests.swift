import DiskCollectionsTools
import Foundation
import LMDB
import Testing
import TestSupport

@Suite struct MDBDumpTests {
    /// Reads every section and record of `text`.
    private func read(_ text: String) throws -> (sections: [MDBDump.Section], records: [[([UInt8], [UInt8])]], warnings: [String]) {
        let input = try Input(text)
        let reader = MDBDump.Reader(lines: input.reader)
        var sections: [MDBDump.Section] = []
        var records: [[([UInt8], [UInt8])]] = []
        let key = ByteBuffer(), value = ByteBuffer()
        while let section = try reader.nextSection() {
            sections.append(section)
            var these: [([UInt8], [UInt8])] = []
            while try reader.nextRecord(key: key, value: value) { these.append((key.array, value.array)) }
            records.append(these)
        }
        return (sections, records, reader.warnings)
    }

    private func error(_ text: String) -> InterchangeError? {
        interchangeError { _ = try read(text) }
    }

    static let header = "VERSION=3\nformat=bytevalue\ndatabase=d\ntype=btree\nmapsize=1048576\nmaxreaders=126\ndb_pagesize=4096\nHEADER=END\n"

    @Test func readsBothFormatsAndSeveralSections() throws {
        let text = Self.header + " 00ff0a5c\n \n 6b6579\n 76616c7565\nDATA=END\n"
            + "VERSION=3\nformat=print\ndatabase=p\ntype=btree\nduplicates=1\ndupsort=1\ndupfixed=1\nHEADER=END\n a\\5cb\\5cc\\0a\n x\\00y\\ffz\nDATA=END\n"
        let (sections, records, warnings) = try read(text)
        #expect(sections.map(\.database) == ["d", "p"])
        #expect(sections[0].format == .bytevalue && sections[0].mapSize == 1_048_576 && sections[0].flags == [])
        #expect(sections[1].format == .print && sections[1].flags == [.dupSort, .dupFixed])
        #expect(records[0].map(\.0) == [[0, 0xFF, 0x0A, 0x5C], Array("key".utf8)])
        #expect(records[0].map(\.1) == [[], Array("value".utf8)])
        #expect(records[1][0].0 == Array("a\\b\\c\n".utf8))
        #expect(records[1][0].1 == [UInt8(ascii: "x"), 0, UInt8(ascii: "y"), 0xFF, UInt8(ascii: "z")])
        #expect(warnings.isEmpty)
    }

    @Test func crlfLineEndingsAreAccepted() throws {
        let text = (Self.header + " 6b\n 76\nDATA=END\n").replacingOccurrences(of: "\n", with: "\r\n")
        let (_, records, _) = try read(text)
        #expect(records[0].map(\.0) == [[0x6B]] && records[0].map(\.1) == [[0x76]])
    }

    /// LMDB 0.9.24's mdb_dump -p left backslashes bare: such a backslash reads as itself, with one
    /// warning; escapes of non-printable bytes still read as bytes; `\5c` is a backslash until the
    /// section shows a bare one.
    @Test func bareBackslashesOfLMDB0924ReadAsThemselves() throws {
        let header = Self.header.replacingOccurrences(of: "bytevalue", with: "print")
        let newer = try read(header + " \\5cx\\0a\\ff\n \\5c\\5c\nDATA=END\n")
        #expect(newer.records[0][0].0 == Array("\\x\n".utf8) + [0xFF])
        #expect(newer.records[0][0].1 == Array("\\\\".utf8))
        #expect(newer.warnings.isEmpty)
        let older = try read(header + " C:\\path\\to\\\\x\n a\\41b\\5c\\0a\\\nDATA=END\n")
        #expect(older.records[0][0].0 == Array("C:\\path\\to\\\\x".utf8))
        #expect(older.records[0][0].1 == Array("a\\41b\\5c\n\\".utf8))
        #expect(older.warnings.count == 1 && older.warnings[0].contains("0.9.24"))
    }

    @Test func unknownHeaderKeywordsAreIgnoredWithAWarning() throws {
        let (sections, _, warnings) = try read(Self.header.replacingOccurrences(of: "type=btree", with: "type=btree\nfancy=1") + "DATA=END\n")
        #expect(sections.count == 1)
        #expect(warnings.count == 1 && warnings[0].contains("fancy"))
    }

    @Test func malformedDumpsNameTheLineAndWhatWasExpected() {
        let cases: [(String, Int?, String)] = [
            ("", nil, "the input is empty"),
            (" 6b\n", 1, "expected an mdb_dump header"),
            ("{\"key\": 1}\n", 1, "JSON Lines or CSV"),
            (Self.header.replacingOccurrences(of: "HEADER=END\n", with: "") + " 6b\n 76\nDATA=END\n", 8, "HEADER=END is missing"),
            ("VERSION=3\nformat=bytevalue\n", 2, "before HEADER=END: the dump is truncated"),
            (Self.header + " 6b\n 76\n", 10, "before DATA=END: the dump is truncated"),
            (Self.header + " 6b\n", 9, "after a key, before its value"),
            (Self.header + " 6b\nDATA=END\n", 10, "DATA=END after a key without its value"),
            (Self.header + " 6z\n 76\nDATA=END\n", 9, "'z' in the key (column 3) is not a hex digit"),
            (Self.header + " 6b\n 767\nDATA=END\n", 10, "odd number of hex digits (3)"),
            (Self.header + "6b\n 76\nDATA=END\n", 9, "expected a key line"),
            (Self.header + " 6b\n 76\n" + Self.header, 11, "previous section has no DATA=END"),
            (Self.header.replacingOccurrences(of: "VERSION=3", with: "VERSION=4"), 1, "unsupported VERSION=4"),
            (Self.header.replacingOccurrences(of: "bytevalue", with: "binary"), 2, "format=binary is not bytevalue or print"),
            (Self.header.replacingOccurrences(of: "btree", with: "hash"), 4, "type=hash is not supported"),
            (Self.header.replacingOccurrences(of: "maxreaders=126", with: "maxreaders"), 6, "expected a header line KEY=VALUE"),
        ]
        for (text, line, words) in cases {
            let e = error(text)
            #expect(e?.kind == .badInput, "\(words)")
            #expect(e?.line == line, "\(words): line \(String(describing: e?.line)) in \(String(describing: e))")
            #expect(e?.description.contains(words) == true, "\(String(describing: e)) should say \(words)")
            #expect(e?.description.hasSuffix("Nothing was imported.") == true)
        }
    }

    /// What the writer writes, the reader reads back, for every byte value, in both formats.
    @Test func writerAndReaderRoundTripEveryByte() throws {
        var rng = SplitMix64(seed: 9)
        var pairs: [([UInt8], [UInt8])] = [(Array(0...255), []), ([0x5C, 0x5C, 0x30, 0x30], Array("\\00".utf8))]
        for _ in 0..<300 {
            pairs.append(((0..<Int(rng.next() % 40 + 1)).map { _ in UInt8(truncatingIfNeeded: rng.next()) },
                          (0..<Int(rng.next() % 90)).map { _ in UInt8(truncatingIfNeeded: rng.next()) }))
        }
        for format in [MDBDump.Format.bytevalue, .print] {
            let out = ByteBuffer()
            MDBDump.writeHeader(format, database: "t", mapSize: 1 << 20, maximumReaders: 126, flags: [.dupSort], pageSize: 4096, into: out)
            for (k, v) in pairs {
                k.withUnsafeBytes { MDBDump.writeData($0, format, into: out) }
                v.withUnsafeBytes { MDBDump.writeData($0, format, into: out) }
            }
            MDBDump.writeFooter(into: out)
            if format == .print { #expect(!out.string.contains("\\\\"), "print escapes a backslash as \\5c") }
            let (sections, records, warnings) = try read(out.string)
            #expect(sections.count == 1 && sections[0].flags == [.dupSort] && sections[0].format == format)
            #expect(records[0].count == pairs.count)
            #expect(zip(records[0], pairs).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 })
            #expect(warnings.isEmpty)
        }
    }
}
