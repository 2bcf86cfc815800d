#if canImport(Glibc)
import Glibc
#endif

/// Comma-separated values as RFC 4180 has them: fields in double quotes may hold the delimiter, line
/// breaks and doubled quotes (`""`); a header row is optional.
///
/// Reading is strict where a lenient reader would guess: a quote inside an unquoted field, or text
/// after a closing quote, is an error with its line and column. Blank lines are skipped, a UTF-8 byte
/// order mark at the start is dropped, and lines may end in LF or CRLF. Writing quotes a field that
/// holds the delimiter, a quote or a line break, and every empty field (so a record of one empty field
/// is `""`, not a blank line); lines end in LF.
public enum CSV {
    /// Reads records from a ``LineReader``.
    public final class Reader {
        public let lines: LineReader
        public let delimiter: UInt8
        /// The line the current record starts on.
        public private(set) var recordLine = 0

        private let storage = ByteBuffer(capacity: 1024)
        private var bounds: [Range<Int>] = []
        private var first = true

        public init(lines: LineReader, delimiter: UInt8 = UInt8(ascii: ",")) {
            self.lines = lines
            self.delimiter = delimiter
        }

        /// The number of fields in the current record.
        public var fieldCount: Int { bounds.count }

        /// Field `index` of the current record, quotes removed; valid until the next record.
        public func field(_ index: Int) -> UnsafeRawBufferPointer {
            UnsafeRawBufferPointer(rebasing: storage.bytes[bounds[index]])
        }

        private func error(_ message: String, line: Int? = nil, column: Int? = nil, advice: String? = nil) -> InterchangeError {
            let at = column.map { ", column \($0)" } ?? ""
            return InterchangeError(.badInput, source: lines.name, line: line ?? lines.lineNumber,
                                    message + (at.isEmpty ? "" : " (\(at.dropFirst(2)))"), advice: advice)
        }

        /// Reads the next record; returns `false` at the end of the input.
        /// - Throws: ``InterchangeError`` for a malformed record.
        public func nextRecord() throws -> Bool {
            storage.removeAll()
            bounds.removeAll(keepingCapacity: true)
            var line: UnsafeRawBufferPointer
            repeat {
                guard let next = try lines.nextLine() else { return false }
                line = next
                if first {
                    first = false
                    if line.count >= 3, line[0] == 0xEF, line[1] == 0xBB, line[2] == 0xBF {
                        line = UnsafeRawBufferPointer(rebasing: line[3...])
                    }
                }
            } while line.isEmpty
            recordLine = lines.lineNumber
            let quote = UInt8(ascii: "\"")
            var i = 0
            fields: while true {
                let fieldStart = storage.count
                if i < line.count && line[i] == quote {
                    let openedOn = lines.lineNumber
                    i += 1
                    while true {
                        guard i < line.count, let q = memchr(line.baseAddress! + i, Int32(quote), line.count - i) else {
                            // The field goes on past this line: keep its line break.
                            storage.append(UnsafeRawBufferPointer(rebasing: line[i...]))
                            switch lines.terminator {
                            case .newline: storage.append(0x0A)
                            case .carriageReturnNewline: storage.append(0x0D); storage.append(0x0A)
                            case .endOfInput: break
                            }
                            guard lines.terminator != .endOfInput, let next = try lines.nextLine() else {
                                throw error("the input ends inside a quoted field that starts on line \(openedOn): its closing quote is missing",
                                            line: openedOn, advice: "the file may be truncated")
                            }
                            line = next
                            i = 0
                            continue
                        }
                        let at = line.baseAddress!.distance(to: q)
                        storage.append(UnsafeRawBufferPointer(rebasing: line[i..<at]))
                        i = at + 1
                        if i < line.count && line[i] == quote {  // "" inside quotes: one quote
                            storage.append(quote)
                            i += 1
                            continue
                        }
                        bounds.append(fieldStart..<storage.count)
                        if i == line.count { break fields }
                        if line[i] == delimiter { i += 1; continue fields }
                        throw error("expected the delimiter or the end of the line after a closing quote, found \(InterchangeError.quote(UnsafeRawBufferPointer(rebasing: line[i...]), limit: 12))",
                                    column: i + 1, advice: "a quote inside a quoted field is written twice (\"\")")
                    }
                }
                var end = line.count
                if i < line.count, let d = memchr(line.baseAddress! + i, Int32(delimiter), line.count - i) {
                    end = line.baseAddress!.distance(to: d)
                }
                let text = UnsafeRawBufferPointer(rebasing: line[i..<end])
                if let q = text.firstIndex(of: quote) {
                    throw error("a double quote inside an unquoted field", column: i + (q - text.startIndex) + 1,
                                advice: "quote the field and double its quotes, as RFC 4180 says: \"a \"\"b\"\" c\"")
                }
                storage.append(text)
                bounds.append(fieldStart..<storage.count)
                if end == line.count { break }
                i = end + 1
            }
            return true
        }
    }

    /// Appends `bytes` as one field, quoted if it holds `delimiter`, a quote or a line break, or is empty.
    public static func appendField(_ bytes: UnsafeRawBufferPointer, delimiter: UInt8, into out: ByteBuffer) {
        let quote = UInt8(ascii: "\"")
        let needsQuotes = bytes.isEmpty || bytes.contains { $0 == delimiter || $0 == quote || $0 == 0x0A || $0 == 0x0D }
        guard needsQuotes else { out.append(bytes); return }
        out.append(quote)
        for b in bytes {
            if b == quote { out.append(quote) }
            out.append(b)
        }
        out.append(quote)
    }
}
