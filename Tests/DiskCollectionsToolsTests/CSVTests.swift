import DiskCollectionsTools
import Foundation
import Testing
import TestSupport

@Suite struct CSVTests {
    private func records(_ text: String, delimiter: UInt8 = UInt8(ascii: ",")) throws -> [(line: Int, fields: [String])] {
        let input = try Input(text)
        let reader = CSV.Reader(lines: input.reader, delimiter: delimiter)
        var out: [(Int, [String])] = []
        while try reader.nextRecord() {
            out.append((reader.recordLine, (0..<reader.fieldCount).map { String(decoding: reader.field($0), as: UTF8.self) }))
        }
        return out
    }

    @Test func rfc4180QuotedFieldsAcrossLines() throws {
        let text = "\u{FEFF}a,b,c\n\"x,1\",\"he said \"\"hi\"\"\",\"two\nlines\"\r\n\n,\"\",\"crlf\r\ninside\"\nlast,,end"
        let r = try records(text)
        #expect(r.map(\.fields) == [["a", "b", "c"], ["x,1", "he said \"hi\"", "two\nlines"], ["", "", "crlf\r\ninside"], ["last", "", "end"]])
        #expect(r.map(\.line) == [1, 2, 5, 7])
    }

    @Test func otherDelimiters() throws {
        #expect(try records("a\tb;c\n", delimiter: 0x09).map(\.fields) == [["a", "b;c"]])
    }

    @Test func malformedRecordsSayWhereAndWhat() {
        let cases: [(String, Int, String)] = [
            ("a,b\n1,\"open\n2,3\n", 2, "closing quote is missing"),
            ("a,b\n1,x\"y\n", 2, "a double quote inside an unquoted field (column 4)"),
            ("a,b\n\"q\"x,1\n", 2, "after a closing quote, found \"x,1\" (column 4)"),
        ]
        for (text, line, words) in cases {
            let e = interchangeError { _ = try records(text) }
            #expect(e?.kind == .badInput)
            #expect(e?.line == line, "\(words): \(String(describing: e))")
            #expect(e?.description.contains(words) == true, "\(String(describing: e)) should say \(words)")
        }
    }

    /// Whatever the writer writes, the reader reads back: fields with delimiters, quotes, line breaks,
    /// empty fields (and a record of one empty field, which must not become a skipped blank line).
    @Test func writerAndReaderRoundTrip() throws {
        var rng = SplitMix64(seed: 21)
        let alphabet: [String] = ["a", "b", ",", "\"", "\n", "\r\n", " ", "é", "\t", ""]
        var rows: [[String]] = [[""], ["", ""]]
        for _ in 0..<400 {
            let columns = Int(rng.next() % 3) + 1
            rows.append((0..<columns).map { _ in (0..<Int(rng.next() % 6)).map { _ in alphabet[Int(rng.next() % UInt64(alphabet.count))] }.joined() })
        }
        let out = ByteBuffer()
        for row in rows {
            for (i, field) in row.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                Array(field.utf8).withUnsafeBytes { CSV.appendField($0, delimiter: UInt8(ascii: ","), into: out) }
            }
            out.append(UInt8(ascii: "\n"))
        }
        #expect(try records(out.string).map(\.fields) == rows)
    }
}
