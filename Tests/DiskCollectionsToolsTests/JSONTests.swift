import DiskCollectionsTools
import Foundation
import Testing
import TestSupport

@Suite struct JSONTests {
    /// The members of the object on `line`: name, kind and text.
    private func members(_ line: String) throws -> [(String, JSON.Kind, String)] {
        var out: [(String, JSON.Kind, String)] = []
        let names = ByteBuffer()
        var bytes = Array(line.utf8)
        try bytes.withUnsafeMutableBytes { raw in
            let b = UnsafeRawBufferPointer(raw)
            try JSON.forEachMember(in: b, names: names) { name, span in
                out.append((String(decoding: name, as: UTF8.self), span.kind, String(decoding: b[span.start..<span.end], as: UTF8.self)))
            }
        }
        return out
    }

    private func syntaxError(_ line: String) -> JSON.SyntaxError? {
        do { _ = try members(line) } catch let e as JSON.SyntaxError { return e } catch { return nil }
        return nil
    }

    @Test func membersKeepNumbersAsTheirText() throws {
        let m = try members(#"  {"key": 18446744073709551615, "value" : {"a": [1, -2.5e-3, true, null, "x"]}, "\u006Bey2": -0}  "#)
        #expect(m.map(\.0) == ["key", "value", "key2"])
        #expect(m.map(\.1) == [.number, .object, .number])
        #expect(m[0].2 == "18446744073709551615")
        #expect(m[1].2 == #"{"a": [1, -2.5e-3, true, null, "x"]}"#)
    }

    @Test func stringsDecodeEscapesAndSurrogatePairs() throws {
        let text = #"{"s": "a\"b\\c\/d\n\t\r\b\f\u00e9\ud83d\ude00\u0000é"}"#
        var bytes = Array(text.utf8)
        let out = ByteBuffer()
        try bytes.withUnsafeMutableBytes { raw in
            let b = UnsafeRawBufferPointer(raw)
            try JSON.forEachMember(in: b, names: ByteBuffer()) { _, span in
                #expect(span.hasEscapes)
                try JSON.decodeString(span, in: b, into: out)
            }
        }
        #expect(out.array == Array("a\"b\\c/d\n\t\r\u{8}\u{C}é😀\u{0}é".utf8))
    }

    @Test func appendStringRoundTripsThroughTheScanner() throws {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<500 {
            let scalars = (0..<Int(rng.next() % 30)).compactMap { _ -> Character? in
                let pick = rng.next() % 4
                let v: UInt32 = pick == 0 ? UInt32(rng.next() % 0x20) : pick == 1 ? UInt32(rng.next() % 0x80) : pick == 2 ? UInt32(0x80 + rng.next() % 0x800) : UInt32(0x10000 + rng.next() % 0x1000)
                return Unicode.Scalar(v).map(Character.init)
            }
            let s = String(scalars)
            let out = ByteBuffer()
            out.append("{\"s\":")
            Array(s.utf8).withUnsafeBytes { JSON.appendString($0, into: out) }
            out.append("}")
            let decoded = ByteBuffer()
            try JSON.forEachMember(in: out.bytes, names: ByteBuffer()) { _, span in try JSON.decodeString(span, in: out.bytes, into: decoded) }
            #expect(decoded.string == s)
            // Foundation's parser agrees it is JSON.
            #expect((try? JSONSerialization.jsonObject(with: Data(out.array))) != nil)
        }
    }

    @Test func minifyDropsOnlyWhitespaceBetweenTokens() throws {
        let text = "{ \"a\" : [ 1 , \"x y\\\" z\" , { } ] }"
        var bytes = Array(text.utf8)
        let out = ByteBuffer()
        try bytes.withUnsafeMutableBytes { raw in
            let b = UnsafeRawBufferPointer(raw)
            JSON.appendMinified(try JSON.value(in: b), in: b, into: out)
        }
        #expect(out.string == "{\"a\":[1,\"x y\\\" z\",{}]}")
    }

    @Test func syntaxErrorsSayWhereAndWhat() {
        let cases: [(String, Int, String)] = [
            ("", 1, "expected an object"),
            ("[1]", 1, "expected an object"),
            (#"{"key": 1"#, 10, "expected ',' or '}'"),
            (#"{"key": 01}"#, 9, "leading zero"),
            (#"{"key": 1.}"#, 11, "a digit after the decimal point"),
            (#"{"key": "abc}"#, 9, "does not end on its line"),
            (#"{"key": "a\qb"}"#, 11, #"unknown escape \q"#),
            (#"{"key": "\ud800"}"#, 10, "without its low surrogate"),
            (#"{"key": "\udc00"}"#, 10, "lone low surrogate"),
            (#"{"key": tru}"#, 9, "expected a JSON value"),
            (#"{"key": 1} x"#, 12, "the end of the line"),
            (#"{key: 1}"#, 2, "a member name in double quotes"),
            ("{\"key\": \"a\u{1}b\"}", 11, "a control character"),
        ]
        for (line, column, words) in cases {
            let e = syntaxError(line)
            #expect(e?.column == column, "\(line): column \(String(describing: e?.column)), \(String(describing: e?.message))")
            #expect(e?.message.contains(words) == true, "\(line): \(String(describing: e?.message))")
        }
        // Invalid UTF-8 inside a string.
        var bytes: [UInt8] = Array(#"{"key": "a"#.utf8) + [0xC3, 0x28] + Array(#""}"#.utf8)
        let e = bytes.withUnsafeMutableBytes { raw -> JSON.SyntaxError? in
            do { try JSON.forEachMember(in: UnsafeRawBufferPointer(raw), names: ByteBuffer()) { _, _ in } } catch let e as JSON.SyntaxError { return e } catch { return nil }
            return nil
        }
        #expect(e?.message.contains("invalid UTF-8") == true)
        #expect(e?.column == 11)
    }

    @Test func nestingDeeperThanTheLimitIsAnErrorNotACrash() {
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(syntaxError("{\"v\": \(deep)}")?.message.contains("nested more than") == true)
    }

    /// The UTF-8 check agrees with Swift's own validation, byte string by byte string.
    @Test func utf8ValidationAgreesWithSwift() {
        var rng = SplitMix64(seed: 11)
        for _ in 0..<20_000 {
            let n = Int(rng.next() % 12)
            let bytes = (0..<n).map { _ -> UInt8 in
                let r = rng.next() % 8
                return r < 3 ? UInt8(truncatingIfNeeded: rng.next() % 0x80) : r < 6 ? UInt8(0x80 + rng.next() % 0x40) : UInt8(0xC0 + rng.next() % 0x40)
            }
            let swift = String(validating: bytes, as: UTF8.self) != nil
            #expect(bytes.withUnsafeBytes { isValidUTF8($0) } == swift, "\(bytes)")
        }
    }
}
