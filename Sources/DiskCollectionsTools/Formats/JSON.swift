/// A small JSON (RFC 8259) scanner for JSON Lines: it validates a line and hands out the spans of an
/// object's members without building a tree or a `String`, so an import reads a million lines a
/// second. Numbers stay text until a field type reads them, so integers beyond 2^53 are exact.
public enum JSON {
    /// What a value is.
    public enum Kind: Sendable, Equatable {
        case string, number, object, array, `true`, `false`, null

        /// The kind in words, for messages.
        public var name: String {
            switch self {
            case .string: return "a string"
            case .number: return "a number"
            case .object: return "an object"
            case .array: return "an array"
            case .true, .false: return "a boolean"
            case .null: return "null"
            }
        }
    }

    /// A value's place in its line.
    public struct Span: Sendable {
        public var kind: Kind
        /// The value's first byte (a string's opening quote).
        public var start: Int
        /// One past its last byte (a string's closing quote).
        public var end: Int
        /// A number without fraction or exponent.
        public var isInteger = false
        /// A string with a backslash escape.
        public var hasEscapes = false
    }

    /// A syntax error at a byte of the line.
    public struct SyntaxError: Error, Sendable {
        /// The 1-based column (byte) of the line.
        public var column: Int
        public var message: String
    }

    /// The most nested arrays and objects a value may have (a deeper one is an error, not a stack overflow).
    static let maximumDepth = 512

    /// Parses `line` as one JSON object and calls `member` with each member's name (unescaped, valid
    /// until the next member) and value, in order. Whitespace around the object is allowed.
    /// - Throws: ``SyntaxError`` for anything that is not one JSON object, or what `member` throws.
    public static func forEachMember(in line: UnsafeRawBufferPointer, names: ByteBuffer,
                                     _ member: (UnsafeRawBufferPointer, Span) throws -> Void) throws {
        var p = Parser(bytes: line)
        p.skipWhitespace()
        guard p.peek == UInt8(ascii: "{") else {
            throw p.expected("an object {\"key\": ..., \"value\": ...}")
        }
        p.i += 1
        p.skipWhitespace()
        if p.peek == UInt8(ascii: "}") {
            p.i += 1
        } else {
            while true {
                p.skipWhitespace()
                guard p.peek == UInt8(ascii: "\"") else { throw p.expected("a member name in double quotes") }
                let name = try p.string()
                names.removeAll()
                try decodeString(name, in: line, into: names)
                p.skipWhitespace()
                guard p.peek == UInt8(ascii: ":") else { throw p.expected("':' after the member name") }
                p.i += 1
                p.skipWhitespace()
                let value = try p.value(depth: 1)
                try member(names.bytes, value)
                p.skipWhitespace()
                if p.peek == UInt8(ascii: ",") { p.i += 1; continue }
                if p.peek == UInt8(ascii: "}") { p.i += 1; break }
                throw p.expected("',' or '}' after a member")
            }
        }
        p.skipWhitespace()
        if p.i < line.count { throw p.expected("the end of the line after the object") }
    }

    /// Parses `text` as exactly one JSON value (whitespace around it allowed) and returns its span.
    public static func value(in text: UnsafeRawBufferPointer) throws -> Span {
        var p = Parser(bytes: text)
        p.skipWhitespace()
        let span = try p.value(depth: 0)
        p.skipWhitespace()
        if p.i < text.count { throw p.expected("the end of the value") }
        return span
    }

    /// Appends the contents of the string at `span` (a scanned, valid string), escapes resolved, as UTF-8.
    public static func decodeString(_ span: Span, in bytes: UnsafeRawBufferPointer, into out: ByteBuffer) throws {
        let inner = UnsafeRawBufferPointer(rebasing: bytes[(span.start + 1)..<(span.end - 1)])
        guard span.hasEscapes else { out.append(inner); return }
        var i = 0
        while i < inner.count {
            let c = inner[i]
            guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
            let e = inner[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var scalar = hex4(inner, i)
                i += 4
                if (0xD800..<0xDC00).contains(scalar) {  // validated: a low surrogate follows
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (hex4(inner, i + 2) - 0xDC00)
                    i += 6
                }
                appendUTF8(scalar, into: out)
            default: out.append(e)  // " \ /
            }
        }
    }

    /// Appends the value at `span` without the whitespace between its tokens.
    public static func appendMinified(_ span: Span, in bytes: UnsafeRawBufferPointer, into out: ByteBuffer) {
        guard span.kind == .object || span.kind == .array else {
            out.append(UnsafeRawBufferPointer(rebasing: bytes[span.start..<span.end]))
            return
        }
        var i = span.start
        var inString = false
        while i < span.end {
            let c = bytes[i]
            if inString {
                out.append(c)
                if c == UInt8(ascii: "\\") { out.append(bytes[i + 1]); i += 2; continue }
                if c == UInt8(ascii: "\"") { inString = false }
            } else if c == UInt8(ascii: "\"") {
                inString = true
                out.append(c)
            } else if c != 0x20 && c != 0x09 && c != 0x0A && c != 0x0D {
                out.append(c)
            }
            i += 1
        }
    }

    /// Appends `text` (UTF-8) as a JSON string: quotes, and escapes for `"`, `\` and control characters.
    public static func appendString(_ text: UnsafeRawBufferPointer, into out: ByteBuffer) {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        for (i, c) in text.enumerated() where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
            out.append(UnsafeRawBufferPointer(rebasing: text[runStart..<i]))
            runStart = i + 1
            switch c {
            case UInt8(ascii: "\""): out.append("\\\"")
            case UInt8(ascii: "\\"): out.append("\\\\")
            case 0x0A: out.append("\\n")
            case 0x09: out.append("\\t")
            case 0x0D: out.append("\\r")
            default:
                out.append("\\u00")
                out.append(MDBDump.hexDigits[Int(c >> 4)])
                out.append(MDBDump.hexDigits[Int(c & 0xF)])
            }
        }
        out.append(UnsafeRawBufferPointer(rebasing: text[runStart...]))
        out.append(UInt8(ascii: "\""))
    }

    static func hex4(_ b: UnsafeRawBufferPointer, _ i: Int) -> UInt32 {
        var v: UInt32 = 0
        for k in 0..<4 { v = v << 4 | UInt32(MDBDump.hexValues[Int(b[i + k])]) }
        return v
    }

    static func appendUTF8(_ scalar: UInt32, into out: ByteBuffer) {
        switch scalar {
        case 0..<0x80: out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | scalar >> 6)); out.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | scalar >> 12)); out.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            out.append(UInt8(0x80 | scalar & 0x3F))
        default:
            out.append(UInt8(0xF0 | scalar >> 18)); out.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            out.append(UInt8(0x80 | scalar >> 6 & 0x3F)); out.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// The scanner: an index into the line.
    struct Parser {
        let bytes: UnsafeRawBufferPointer
        var i = 0

        var peek: UInt8 { i < bytes.count ? bytes[i] : 0 }

        mutating func skipWhitespace() {
            while i < bytes.count {
                let c = bytes[i]
                guard c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D else { return }
                i += 1
            }
        }

        func expected(_ what: String) -> SyntaxError {
            guard i < bytes.count else { return SyntaxError(column: i + 1, message: "expected \(what), found the end of the line") }
            let found = InterchangeError.quote(UnsafeRawBufferPointer(rebasing: bytes[i...]), limit: 12)
            return SyntaxError(column: i + 1, message: "expected \(what), found \(found)")
        }

        func error(_ message: String, at column: Int) -> SyntaxError { SyntaxError(column: column + 1, message: message) }

        mutating func value(depth: Int) throws -> Span {
            guard depth <= JSON.maximumDepth else { throw error("arrays and objects nested more than \(JSON.maximumDepth) deep", at: i) }
            switch peek {
            case UInt8(ascii: "\""): return try string()
            case UInt8(ascii: "{"): return try object(depth: depth)
            case UInt8(ascii: "["): return try array(depth: depth)
            case UInt8(ascii: "t"): return try literal("true", .true)
            case UInt8(ascii: "f"): return try literal("false", .false)
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw expected("a JSON value")
            }
        }

        mutating func literal(_ word: StaticString, _ kind: Kind) throws -> Span {
            let n = word.utf8CodeUnitCount
            guard i + n <= bytes.count, UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)]).equals(word) else {
                throw expected("a JSON value")
            }
            defer { i += n }
            return Span(kind: kind, start: i, end: i + n)
        }

        mutating func number() throws -> Span {
            let start = i
            var integer = true
            if peek == UInt8(ascii: "-") { i += 1 }
            func digits(_ p: inout Parser) -> Int {
                let s = p.i
                while p.i < p.bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(p.bytes[p.i]) { p.i += 1 }
                return p.i - s
            }
            if peek == UInt8(ascii: "0") {
                i += 1
                if (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(peek) { throw error("a number with a leading zero", at: start) }
            } else if digits(&self) == 0 {
                throw expected("a digit")
            }
            if peek == UInt8(ascii: ".") {
                integer = false
                i += 1
                guard digits(&self) > 0 else { throw expected("a digit after the decimal point") }
            }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                integer = false
                i += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { i += 1 }
                guard digits(&self) > 0 else { throw expected("a digit in the exponent") }
            }
            return Span(kind: .number, start: start, end: i, isInteger: integer)
        }

        mutating func string() throws -> Span {
            let start = i
            i += 1
            var escapes = false
            while true {
                // The common case: a run of plain ASCII.
                while i < bytes.count {
                    let c = bytes[i]
                    if c < 0x80 && c >= 0x20 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "\\") { i += 1 } else { break }
                }
                guard i < bytes.count else { throw error("a string that does not end on its line (no closing quote)", at: start) }
                let c = bytes[i]
                if c == UInt8(ascii: "\"") { i += 1; break }
                if c == UInt8(ascii: "\\") {
                    escapes = true
                    try escape()
                } else if c < 0x20 {
                    throw error("a control character (0x\(String(c, radix: 16))) inside a string: write it as an escape", at: i)
                } else {
                    try utf8Sequence()
                }
            }
            return Span(kind: .string, start: start, end: i, hasEscapes: escapes)
        }

        mutating func escape() throws {
            let at = i
            guard i + 1 < bytes.count else { throw error("a string that ends in a backslash", at: at) }
            let e = bytes[i + 1]
            i += 2
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                 UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                return
            case UInt8(ascii: "u"):
                let unit = try hex4()
                if (0xDC00..<0xE000).contains(unit) {
                    throw error("a lone low surrogate \\u\(String(unit, radix: 16)) (not valid Unicode)", at: at)
                }
                if (0xD800..<0xDC00).contains(unit) {
                    guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
                        throw error("a high surrogate \\u\(String(unit, radix: 16)) without its low surrogate (not valid Unicode)", at: at)
                    }
                    i += 2
                    let low = try hex4()
                    guard (0xDC00..<0xE000).contains(low) else {
                        throw error("a high surrogate \\u\(String(unit, radix: 16)) followed by \\u\(String(low, radix: 16)), not a low surrogate", at: at)
                    }
                }
            default:
                throw error("an unknown escape \\\(Character(Unicode.Scalar(e))) in a string", at: at)
            }
        }

        mutating func hex4() throws -> UInt32 {
            guard i + 4 <= bytes.count else { throw error("\\u needs four hex digits", at: i) }
            var v: UInt32 = 0
            for k in 0..<4 {
                let d = MDBDump.hexValues[Int(bytes[i + k])]
                guard d < 16 else { throw error("\\u needs four hex digits", at: i + k) }
                v = v << 4 | UInt32(d)
            }
            i += 4
            return v
        }

        /// Checks one multi-byte UTF-8 sequence at `i` (RFC 3629: no overlong forms, no surrogates,
        /// nothing past U+10FFFF) and steps over it.
        mutating func utf8Sequence() throws {
            let lead = bytes[i]
            func cont(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
                i + k < bytes.count && range.contains(bytes[i + k])
            }
            let n: Int
            switch lead {
            case 0xC2...0xDF: n = cont(1) ? 2 : 0
            case 0xE0: n = cont(1, 0xA0...0xBF) && cont(2) ? 3 : 0
            case 0xE1...0xEC, 0xEE...0xEF: n = cont(1) && cont(2) ? 3 : 0
            case 0xED: n = cont(1, 0x80...0x9F) && cont(2) ? 3 : 0
            case 0xF0: n = cont(1, 0x90...0xBF) && cont(2) && cont(3) ? 4 : 0
            case 0xF1...0xF3: n = cont(1) && cont(2) && cont(3) ? 4 : 0
            case 0xF4: n = cont(1, 0x80...0x8F) && cont(2) && cont(3) ? 4 : 0
            default: n = 0
            }
            guard n > 0 else { throw error("invalid UTF-8 (byte 0x\(String(lead, radix: 16)))", at: i) }
            i += n
        }

        mutating func array(depth: Int) throws -> Span {
            let start = i
            i += 1
            skipWhitespace()
            if peek == UInt8(ascii: "]") { i += 1; return Span(kind: .array, start: start, end: i) }
            while true {
                skipWhitespace()
                _ = try value(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                if peek == UInt8(ascii: "]") { i += 1; return Span(kind: .array, start: start, end: i) }
                throw expected("',' or ']' in an array")
            }
        }

        mutating func object(depth: Int) throws -> Span {
            let start = i
            i += 1
            skipWhitespace()
            if peek == UInt8(ascii: "}") { i += 1; return Span(kind: .object, start: start, end: i) }
            while true {
                skipWhitespace()
                guard peek == UInt8(ascii: "\"") else { throw expected("a member name in double quotes") }
                _ = try string()
                skipWhitespace()
                guard peek == UInt8(ascii: ":") else { throw expected("':' after the member name") }
                i += 1
                skipWhitespace()
                _ = try value(depth: depth + 1)
                skipWhitespace()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                if peek == UInt8(ascii: "}") { i += 1; return Span(kind: .object, start: start, end: i) }
                throw expected("',' or '}' in an object")
            }
        }
    }
}

/// Whether `bytes` are valid UTF-8 (RFC 3629).
public func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
    var i = 0
    let n = bytes.count
    while i < n {
        // Eight ASCII bytes at a time.
        while i + 8 <= n, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
        guard i < n else { return true }
        if bytes[i] < 0x80 { i += 1; continue }
        var p = JSON.Parser(bytes: bytes, i: i)
        guard (try? p.utf8Sequence()) != nil else { return false }
        i = p.i
    }
    return true
}
