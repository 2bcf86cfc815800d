import DiskCollections

/// JSON for JSON Lines: the library's strict scanner (``DiskJSON/Syntax``) with the helpers an import
/// and an export need on top of it (member names, string decoding, minifying, writing), so an import
/// reads a million lines a second and agrees with ``DiskJSON`` on what JSON is.
public enum JSON {
    public typealias Kind = DiskJSON.Syntax.Kind
    public typealias Span = DiskJSON.Syntax.Span
    public typealias SyntaxError = DiskJSON.Syntax.SyntaxError

    /// Parses `line` as one JSON object and calls `member` with each member's name (unescaped, valid
    /// until the next member) and value, in order. Whitespace around the object is allowed.
    /// - Throws: ``SyntaxError`` for anything that is not one JSON object, or what `member` throws.
    public static func forEachMember(in line: UnsafeRawBufferPointer, names: ByteBuffer,
                                     _ member: (UnsafeRawBufferPointer, Span) throws -> Void) throws {
        try DiskJSON.Syntax.forEachMember(in: line) { name, value in
            names.removeAll()
            try decodeString(name, in: line, into: names)
            try member(names.bytes, value)
        }
    }

    /// Parses `text` as exactly one JSON value (whitespace around it allowed) and returns its span.
    public static func value(in text: UnsafeRawBufferPointer) throws -> Span {
        try DiskJSON.Syntax.value(in: text)
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
}

/// Whether `bytes` are valid UTF-8 (RFC 3629).
public func isValidUTF8(_ bytes: UnsafeRawBufferPointer) -> Bool { DiskJSON.Syntax.isValidUTF8(bytes) }
