import LMDB

/// LMDB's dump format, as `mdb_dump` writes and `mdb_load` reads it (docs/cli.md#mdb-dump).
///
/// A dump holds one or more sections, one per database:
/// ```
/// VERSION=3
/// format=bytevalue          (or print)
/// database=NAME             (absent for the main database)
/// type=btree
/// mapsize=1073741824
/// maxreaders=126
/// duplicates=1              (mdb_dump writes it beside dupsort=1)
/// dupsort=1                 (and the other flags: reversekey, integerkey, dupfixed, integerdup, reversedup)
/// db_pagesize=4096
/// HEADER=END
///  6b6579                   a key: one space, then the bytes in hex (bytevalue) or printable (print)
///  76616c7565               its value, the same way
/// DATA=END
/// ```
public enum MDBDump {
    /// How a section writes its keys and values.
    public enum Format: String, Sendable, Codable {
        /// Every byte as two hex digits.
        case bytevalue
        /// Printable ASCII as itself, every other byte (and `\`) as `\` and two hex digits.
        case print
    }

    /// A section's header.
    public struct Section: Sendable {
        public var format: Format = .bytevalue
        /// The database's name, or `nil` for the main database.
        public var database: String?
        /// The database's flags (`dupsort=1` and the others).
        public var flags: Database.Flags = []
        /// The map size the dump recorded (`mapsize=`).
        public var mapSize: Int?
        /// The line of the section's first header line.
        public var line: Int

        /// The database's name for messages.
        public var displayName: String { database.map { "database '\($0)'" } ?? "the main database" }
    }

    /// The header flags, in `mdb_dump`'s order.
    static let flagNames: [(Database.Flags, StaticString)] = [
        (.reverseKey, "reversekey"), (.dupSort, "dupsort"), (.integerKey, "integerkey"),
        (.dupFixed, "dupfixed"), (.integerDup, "integerdup"), (.reverseDup, "reversedup"),
    ]

    @usableFromInline static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Hex digit values, 0xFF for bytes that are not hex digits.
    static let hexValues: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "0123456789".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        for (i, c) in "abcdef".utf8.enumerated() { table[Int(c)] = UInt8(10 + i) }
        for (i, c) in "ABCDEF".utf8.enumerated() { table[Int(c)] = UInt8(10 + i) }
        return table
    }()
}

// MARK: Reading

extension MDBDump {
    /// Reads a dump section by section and record by record, from a ``LineReader``.
    ///
    /// Every malformed line is an ``InterchangeError`` with its line number; the caller commits
    /// nothing it read from a dump that fails.
    public final class Reader {
        public let lines: LineReader
        /// Things worth saying that are not errors: unknown header keywords (ignored, as `mdb_load`
        /// does) and backslashes that LMDB 0.9.24's `mdb_dump -p` did not escape.
        public private(set) var warnings: [String] = []
        /// The line of the current record's key.
        public private(set) var recordLine = 0

        private var section: Section?
        private var sawSection = false
        /// This section showed a backslash that is not an escape (LMDB 0.9.24's -p output).
        private var sawBareBackslash = false

        public init(lines: LineReader) { self.lines = lines }

        private func error(_ message: String, advice: String? = nil, line: Int? = nil) -> InterchangeError {
            InterchangeError(.badInput, source: lines.name, line: line ?? lines.lineNumber, message, advice: advice)
        }

        /// Reads the next section's header, or returns `nil` at the end of the input.
        /// - Throws: ``InterchangeError`` for an empty input, a malformed header, or a header that
        ///   comes before the previous section's `DATA=END`.
        public func nextSection() throws -> Section? {
            precondition(section == nil, "read the current section's records to DATA=END first")
            guard let first = try lines.nextLine() else {
                if sawSection { return nil }
                throw InterchangeError(.badInput, source: lines.name, "the input is empty: an mdb_dump file starts with VERSION=3",
                                       advice: "check that the file was written completely")
            }
            if first.isEmpty && lines.terminator == .endOfInput && sawSection { return nil }
            var current = Section(line: lines.lineNumber)
            var line = first
            var isFirst = true
            while true {
                if line.equals("HEADER=END") { break }
                if line.first == UInt8(ascii: " ") {
                    throw error(isFirst ? "expected an mdb_dump header (VERSION=3), found a data line"
                                        : "a data line inside the header of \(current.displayName): HEADER=END is missing",
                                advice: isFirst ? "is a section's header missing?" : nil)
                }
                guard let equals = line.firstIndex(of: UInt8(ascii: "=")) else {
                    let found = InterchangeError.quote(line)
                    throw error("expected a header line KEY=VALUE\(isFirst ? " (VERSION=3)" : " or HEADER=END"), found \(found)",
                                advice: isFirst ? "is this JSON Lines or CSV? Give --format jsonl or --format csv" : nil)
                }
                let keyword = String(decoding: line[..<equals], as: UTF8.self)
                let value = UnsafeRawBufferPointer(rebasing: line[(equals + 1)...])
                try apply(keyword, value, to: &current)
                isFirst = false
                guard let next = try lines.nextLine() else {
                    throw error("the input ends in the header of \(current.displayName), before HEADER=END: the dump is truncated",
                                line: lines.lineNumber)
                }
                line = next
            }
            section = current
            sawSection = true
            sawBareBackslash = false
            return current
        }

        private func apply(_ keyword: String, _ value: UnsafeRawBufferPointer, to section: inout Section) throws {
            let text = String(decoding: value, as: UTF8.self)
            switch keyword {
            case "VERSION":
                guard text == "3" || text == "2" || text == "1" else {
                    throw error("unsupported VERSION=\(text): this reads mdb_dump's VERSION=3")
                }
            case "format":
                guard let format = Format(rawValue: text) else {
                    throw error("format=\(text) is not bytevalue or print")
                }
                section.format = format
            case "database":
                guard let name = String(validating: value, as: UTF8.self), !name.isEmpty else {
                    throw error("database= names no database, or not in UTF-8")
                }
                section.database = name
            case "type":
                guard text == "btree" else { throw error("type=\(text) is not supported: LMDB databases are type=btree") }
            case "mapsize":
                guard let size = Int(text), size > 0 else { throw error("mapsize=\(text) is not a size in bytes") }
                section.mapSize = size
            case "mapaddr", "maxreaders", "db_pagesize":
                break  // facts about the dumped environment; nothing to load
            case "duplicates":
                if text != "0" { section.flags.insert(.dupSort) }
            default:
                if let (flag, _) = MDBDump.flagNames.first(where: { "\($0.1)" == keyword }) {
                    if text != "0" { section.flags.insert(flag) }
                } else {
                    warnings.append("\(lines.name), line \(lines.lineNumber): unknown header keyword \(keyword) ignored")
                }
            }
        }

        /// Reads the current section's next record into `key` and `value`; returns `false` at its `DATA=END`.
        /// - Throws: ``InterchangeError`` for a malformed data line, a key without its value, or an
        ///   input that ends before `DATA=END`.
        public func nextRecord(key: ByteBuffer, value: ByteBuffer) throws -> Bool {
            guard let current = section else { preconditionFailure("nextSection() first") }
            guard let keyLine = try lines.nextLine() else {
                throw error("the input ends inside the data of \(current.displayName), before DATA=END: the dump is truncated")
            }
            if keyLine.equals("DATA=END") {
                section = nil
                return false
            }
            recordLine = lines.lineNumber
            try decode(keyLine, into: key, current.format, what: "key")
            guard let valueLine = try lines.nextLine() else {
                throw error("the input ends after a key, before its value: the dump is truncated")
            }
            if valueLine.equals("DATA=END") { throw error("DATA=END after a key without its value") }
            try decode(valueLine, into: value, current.format, what: "value")
            return true
        }

        /// Decodes one data line: a space, then the bytes.
        private func decode(_ line: UnsafeRawBufferPointer, into out: ByteBuffer, _ format: Format, what: String) throws {
            guard line.first == UInt8(ascii: " ") else {
                let found = line.isEmpty ? "an empty line" : InterchangeError.quote(line)
                throw error("expected a \(what) line (a space, then the bytes) or DATA=END, found \(found)",
                            advice: line.starts(with: "VERSION=".utf8) ? "the previous section has no DATA=END" : nil)
            }
            out.removeAll()
            let body = UnsafeRawBufferPointer(rebasing: line[1...])
            switch format {
            case .bytevalue: try decodeHex(body, into: out, what: what)
            case .print: try decodePrintable(body, into: out, what: what)
            }
        }

        private func decodeHex(_ body: UnsafeRawBufferPointer, into out: ByteBuffer, what: String) throws {
            guard body.count % 2 == 0 else {
                throw error("the \(what) has an odd number of hex digits (\(body.count)): a byte is two digits")
            }
            let table = MDBDump.hexValues
            let n = body.count / 2
            var bad = -1
            table.withUnsafeBufferPointer { values in
                out.append(writing: n) { dst in
                    for i in 0..<n {
                        let hi = values[Int(body[2 * i])], lo = values[Int(body[2 * i + 1])]
                        if (hi | lo) & 0xF0 != 0 { bad = 2 * i + (hi > 15 ? 0 : 1); return }
                        dst[i] = hi << 4 | lo
                    }
                }
            }
            if bad >= 0 {
                let c = body[bad]
                let shown = (0x21..<0x7F).contains(c) ? "'\(Character(Unicode.Scalar(c)))'" : "byte 0x\(String(c, radix: 16))"
                throw error("\(shown) in the \(what) (column \(bad + 2)) is not a hex digit",
                            advice: "a format=bytevalue dump has two hex digits a byte; is this a format=print dump with a wrong header?")
            }
        }

        /// Reads a `format=print` line as any mdb_dump wrote it. Every version escapes a non-printable
        /// byte as `\\` and two hex digits; 0.9.25 and later also escape `\\` itself as `\\5c`, while
        /// 0.9.24 (Debian 12's) leaves backslashes bare (ITS#9068). So `\\hh` of a non-printable byte
        /// is that byte; `\\5c` is a backslash, unless this section has shown a bare backslash before
        /// (then it is a bare one followed by "5c"); any other backslash is bare. See docs/cli.md for
        /// the sequences a 0.9.24 dump leaves ambiguous.
        private func decodePrintable(_ body: UnsafeRawBufferPointer, into out: ByteBuffer, what: String) throws {
            let table = MDBDump.hexValues
            var i = 0
            while i < body.count {
                let c = body[i]
                guard c == UInt8(ascii: "\\") else { out.append(c); i += 1; continue }
                if i + 2 < body.count, table[Int(body[i + 1])] < 16, table[Int(body[i + 2])] < 16 {
                    let byte = table[Int(body[i + 1])] << 4 | table[Int(body[i + 2])]
                    if byte < 0x20 || byte >= 0x7F || (byte == UInt8(ascii: "\\") && !sawBareBackslash) {
                        out.append(byte)
                        i += 3
                        continue
                    }
                }
                // A bare backslash: LMDB 0.9.24's mdb_dump -p wrote backslashes as themselves.
                if !sawBareBackslash {
                    sawBareBackslash = true
                    warnings.append("\(lines.name), line \(lines.lineNumber): a bare backslash: this dump was written by LMDB 0.9.24's mdb_dump -p, which does not escape backslashes; it is read as docs/cli.md says, and a backslash in the data followed by two hex digits of a non-printable byte cannot be told from an escape (dump such data without -p)")
                }
                out.append(c)
                i += 1
            }
        }
    }
}

// MARK: Writing

extension MDBDump {
    /// Appends a section header as `mdb_dump` writes it.
    public static func writeHeader(_ format: Format, database: String?, mapSize: Int, maximumReaders: Int,
                                   flags: Database.Flags, pageSize: Int, into out: ByteBuffer) {
        out.append("VERSION=3\nformat=")
        out.append(format.rawValue)
        if let database { out.append("\ndatabase="); out.append(database) }
        out.append("\ntype=btree\nmapsize=")
        out.appendDecimal(mapSize)
        out.append("\nmaxreaders=")
        out.appendDecimal(maximumReaders)
        out.append("\n")
        if flags.contains(.dupSort) { out.append("duplicates=1\n") }
        for (flag, name) in flagNames where flags.contains(flag) {
            out.append(name)
            out.append("=1\n")
        }
        out.append("db_pagesize=")
        out.appendDecimal(pageSize)
        out.append("\nHEADER=END\n")
    }

    /// Appends one data line: a space, `bytes` in `format`, a newline.
    ///
    /// `print` escapes `\` as `\5c`, as LMDB 0.9.25 and later do (0.9.24 left it bare, so its
    /// output did not load back).
    @inlinable
    public static func writeData(_ bytes: UnsafeRawBufferPointer, _ format: Format, into out: ByteBuffer) {
        switch format {
        case .bytevalue:
            out.append(writing: 2 * bytes.count + 2) { dst in
                dst[0] = UInt8(ascii: " ")
                hexDigits.withUnsafeBufferPointer { hex in
                    var j = 1
                    for b in bytes {
                        dst[j] = hex[Int(b >> 4)]
                        dst[j + 1] = hex[Int(b & 0xF)]
                        j += 2
                    }
                }
                dst[2 * bytes.count + 1] = UInt8(ascii: "\n")
            }
        case .print:
            out.append(UInt8(ascii: " "))
            for b in bytes {
                if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") {
                    out.append(b)
                } else {
                    out.append(UInt8(ascii: "\\"))
                    out.append(hexDigits[Int(b >> 4)])
                    out.append(hexDigits[Int(b & 0xF)])
                }
            }
            out.append(UInt8(ascii: "\n"))
        }
    }

    /// Appends a section's end.
    public static func writeFooter(into out: ByteBuffer) { out.append("DATA=END\n") }
}
