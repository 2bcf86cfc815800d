/// The strict JSON syntax (RFC 8259) that ``DiskJSON`` and `diskcoll import` share: one definition of
/// what a valid JSON text is. (Foundation's parsers on Linux accept more, a trailing comma and a lone
/// surrogate among it.)
///
/// A scan validates the text and hands out the spans of its values without building a tree or a
/// `String`: numbers stay text, so integers of any size are exact.
extension DiskJSON {
    public enum Syntax {
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

        /// A value's place in its text.
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

        /// A syntax error at a byte of the text.
        public struct SyntaxError: Error, Sendable {
            /// The 1-based column (byte) of the text.
            public var column: Int
            public var message: String
        }

        /// The most nested arrays and objects a value may have (a deeper one is an error, not a stack overflow).
        public static let maximumDepth = 512

        /// Scans `text` as exactly one JSON value (whitespace around it allowed) and returns its span.
        /// - Throws: ``SyntaxError`` saying where and what was expected.
        public static func value(in text: UnsafeRawBufferPointer) throws -> Span {
            var p = Parser(bytes: text)
            p.skipWhitespace()
            let span = try p.value(depth: 0)
            p.skipWhitespace()
            if p.i < text.count { throw p.expected("the end of the value") }
            return span
        }

        /// Scans `line` as one JSON object and calls `member` with each member's name (the span of its
        /// string, quotes included) and value, in order. Whitespace around the object is allowed.
        /// - Throws: ``SyntaxError`` for anything that is not one JSON object, or what `member` throws.
        public static func forEachMember(in line: UnsafeRawBufferPointer, _ member: (Span, Span) throws -> Void) throws {
            var p = Parser(bytes: line)
            p.skipWhitespace()
            guard p.peek == UInt8(ascii: "{") else { throw p.expected("an object {\"key\": ..., \"value\": ...}") }
            p.i += 1
            p.skipWhitespace()
            if p.peek == UInt8(ascii: "}") {
                p.i += 1
            } else {
                while true {
                    p.skipWhitespace()
                    guard p.peek == UInt8(ascii: "\"") else { throw p.expected("a member name in double quotes") }
                    let name = try p.string()
                    p.skipWhitespace()
                    guard p.peek == UInt8(ascii: ":") else { throw p.expected("':' after the member name") }
                    p.i += 1
                    p.skipWhitespace()
                    let value = try p.value(depth: 1)
                    try member(name, value)
                    p.skipWhitespace()
                    if p.peek == UInt8(ascii: ",") { p.i += 1; continue }
                    if p.peek == UInt8(ascii: "}") { p.i += 1; break }
                    throw p.expected("',' or '}' after a member")
                }
            }
            p.skipWhitespace()
            if p.i < line.count { throw p.expected("the end of the line after the object") }
        }

        /// Whether `bytes` are valid UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing past U+10FFFF).
        public static func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool {
            var i = 0
            let n = bytes.count
            while i < n {
                // Eight ASCII bytes at a time.
                while i + 8 <= n, bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self) & 0x8080_8080_8080_8080 == 0 { i += 8 }
                guard i < n else { return true }
                if bytes[i] < 0x80 { i += 1; continue }
                var p = Parser(bytes: bytes, i: i)
                guard (try? p.utf8Sequence()) != nil else { return false }
                i = p.i
            }
            return true
        }

        static func hexValue(_ c: UInt8) -> UInt8 {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
            default: return 0xFF
            }
        }

        /// A short, printable rendering of `bytes` for a message.
        static func quote(_ bytes: UnsafeRawBufferPointer) -> String {
            var out = "\""
            for (i, b) in bytes.enumerated() {
                if i == 12 { out += "…"; break }
                switch b {
                case UInt8(ascii: "\""): out += "\\\""
                case UInt8(ascii: "\\"): out += "\\\\"
                case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(b))
                default: out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
                }
            }
            return out + "\""
        }

        /// The scanner: an index into the line.
        struct Parser {
            init(bytes: UnsafeRawBufferPointer, i: Int = 0) {
                self.bytes = bytes
                self.i = i
            }

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
                let found = quote(UnsafeRawBufferPointer(rebasing: bytes[i...]))
                return SyntaxError(column: i + 1, message: "expected \(what), found \(found)")
            }

            func error(_ message: String, at column: Int) -> SyntaxError { SyntaxError(column: column + 1, message: message) }

            mutating func value(depth: Int) throws -> Span {
                guard depth <= Syntax.maximumDepth else { throw error("arrays and objects nested more than \(Syntax.maximumDepth) deep", at: i) }
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
                guard i + n <= bytes.count, UnsafeRawBufferPointer(start: word.utf8Start, count: n).elementsEqual(bytes[i..<(i + n)]) else {
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
                    let d = hexValue(bytes[i + k])
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
}
