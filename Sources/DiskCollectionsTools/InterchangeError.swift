/// A failure of an import, an export or a maintenance command that is not LMDB's or the store's: a
/// malformed input line, an option that does not fit the data, an input or output that cannot be used.
///
/// Its ``description`` says where (the input and the line), what was expected, what was found, and
/// what to do. Nothing of a failed import is committed.
public struct InterchangeError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of failure: each maps to its own exit status of `diskcoll` (docs/cli.md).
    public enum Kind: String, Hashable, Sendable, Codable {
        /// The input is malformed or does not fit the collection (exit status 65).
        case badInput
        /// The command's options do not fit each other or the store (exit status 64).
        case usage
        /// An input file or store does not exist (exit status 66).
        case noInput
        /// An output cannot be created (exit status 73).
        case cannotCreate
        /// Reading or writing failed (exit status 74).
        case io
    }

    public var kind: Kind
    /// The input's name (a path, or "standard input"), if the failure is in an input.
    public var source: String?
    /// The 1-based line of the input, if the failure is on a line.
    public var line: Int?
    /// What was expected and what was found.
    public var message: String
    /// What to do about it.
    public var advice: String?

    public init(_ kind: Kind, source: String? = nil, line: Int? = nil, _ message: String, advice: String? = nil) {
        self.kind = kind
        self.source = source
        self.line = line
        self.message = message
        self.advice = advice
    }

    public var description: String {
        var where_ = ""
        if let source { where_ = source }
        if let line { where_ += where_.isEmpty ? "line \(line)" : ", line \(line)" }
        var text = where_.isEmpty ? message : "\(where_): \(message)"
        if let advice { text += ". " + advice.prefix(1).uppercased() + advice.dropFirst() }
        if kind == .badInput { text += ". Nothing was imported" }
        return text + "."
    }

    /// A short, printable rendering of input bytes for a message: at most `limit` characters, with
    /// bytes that are not printable ASCII as `\xHH`.
    public static func quote(_ bytes: UnsafeRawBufferPointer, limit: Int = 40) -> String {
        var out = "\""
        for (i, b) in bytes.enumerated() {
            if i == limit { out += "…"; break }
            switch b {
            case UInt8(ascii: "\""): out += "\\\""
            case UInt8(ascii: "\\"): out += "\\\\"
            case 0x20..<0x7F: out.unicodeScalars.append(Unicode.Scalar(b))
            default: out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return out + "\""
    }
}
