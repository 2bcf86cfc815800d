// The import parsers: mdb_dump text, a JSON Lines line, CSV, and the field types' text. Each may reject
// its input with a typed error but never crash, and what it accepts must come out of the matching
// writer and read back the same.
import DiskCollectionsTools

/// An mdb_dump input: whatever parses, written back in both formats, parses to the same records.
func fuzzDump(_ bytes: UnsafeRawBufferPointer) {
    guard let sections = try? readDump(LineReader(bytes: bytes)) else { return }
    for format in [MDBDump.Format.bytevalue, .print] {
        let out = ByteBuffer()
        for (section, records) in sections {
            MDBDump.writeHeader(format, database: section.database, mapSize: 1 << 20, maximumReaders: 126,
                                flags: section.flags, pageSize: 4096, into: out)
            for (k, v) in records {
                k.withUnsafeBytes { MDBDump.writeData($0, format, into: out) }
                v.withUnsafeBytes { MDBDump.writeData($0, format, into: out) }
            }
            MDBDump.writeFooter(into: out)
        }
        guard let again = try? readDump(LineReader(bytes: out.bytes)),
              again.count == sections.count,
              zip(again, sections).allSatisfy({ $0.0.database == $1.0.database && $0.0.flags == $1.0.flags && $0.1.elementsEqual($1.1, by: ==) })
        else { fatalError("an mdb_dump input does not round-trip in format \(format): \(Array(bytes))") }
    }
}

func readDump(_ lines: LineReader) throws -> [(MDBDump.Section, [([UInt8], [UInt8])])] {
    let reader = MDBDump.Reader(lines: lines)
    var out: [(MDBDump.Section, [([UInt8], [UInt8])])] = []
    let key = ByteBuffer(), value = ByteBuffer()
    while let section = try reader.nextSection() {
        var records: [([UInt8], [UInt8])] = []
        while try reader.nextRecord(key: key, value: value) { records.append((key.array, value.array)) }
        out.append((section, records))
    }
    return out
}

/// A JSON Lines line: whatever the scanner accepts, minified, scans again to the same members, and
/// its strings decode to valid UTF-8.
func fuzzJSONLine(_ bytes: UnsafeRawBufferPointer) {
    guard let members = try? jsonMembers(bytes) else { return }
    let minified = ByteBuffer()
    minified.append(UInt8(ascii: "{"))
    for (i, (name, text)) in members.enumerated() {
        if i > 0 { minified.append(UInt8(ascii: ",")) }
        name.withUnsafeBytes { JSON.appendString($0, into: minified) }
        minified.append(UInt8(ascii: ":"))
        minified.append(contentsOf: text)
    }
    minified.append(UInt8(ascii: "}"))
    guard let again = try? jsonMembers(minified.bytes), again.elementsEqual(members, by: ==) else {
        fatalError("a JSON line does not scan again after minifying: \(Array(bytes))")
    }
}

func jsonMembers(_ line: UnsafeRawBufferPointer) throws -> [([UInt8], [UInt8])] {
    var out: [([UInt8], [UInt8])] = []
    try JSON.forEachMember(in: line, names: ByteBuffer()) { name, span in
        let text = ByteBuffer()
        JSON.appendMinified(span, in: line, into: text)
        if span.kind == .string {
            let decoded = ByteBuffer()
            try JSON.decodeString(span, in: line, into: decoded)
            if !isValidUTF8(decoded.bytes) { fatalError("a JSON string decodes to invalid UTF-8: \(Array(line))") }
        }
        out.append((Array(name), text.array))
    }
    return out
}

/// CSV: whatever parses, written back, parses to the same records.
func fuzzCSV(_ bytes: UnsafeRawBufferPointer) {
    guard let records = try? readCSV(LineReader(bytes: bytes)) else { return }
    let out = ByteBuffer()
    for record in records {
        for (i, field) in record.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            field.withUnsafeBytes { CSV.appendField($0, delimiter: UInt8(ascii: ","), into: out) }
        }
        out.append(UInt8(ascii: "\n"))
    }
    guard let again = try? readCSV(LineReader(bytes: out.bytes)), again == records else {
        fatalError("a CSV input does not round-trip: \(Array(bytes))")
    }
}

func readCSV(_ lines: LineReader) throws -> [[[UInt8]]] {
    let reader = CSV.Reader(lines: lines)
    var out: [[[UInt8]]] = []
    while try reader.nextRecord() {
        // A record of one empty field written back is `""`; a blank line is skipped on the way in.
        out.append((0..<reader.fieldCount).map { Array(reader.field($0)) })
    }
    // The reader drops a byte order mark at the start; a first field that still begins with one would
    // lose it when read again, so such inputs are not compared.
    if out.first?.first?.starts(with: [0xEF, 0xBB, 0xBF]) == true { throw NotCompared() }
    return out
}

struct NotCompared: Error {}

/// The field types' text: whatever a type accepts encodes to stored bytes whose text encodes to the
/// same bytes again, as key and as value.
func fuzzFields(_ bytes: UnsafeRawBufferPointer) {
    guard let first = bytes.first else { return }
    let types = FieldType.allCases
    let type = types[Int(first) % types.count]
    let text = UnsafeRawBufferPointer(rebasing: bytes.dropFirst())
    for role in [FieldCoder.Role.key, .value] where role == .value || type.keyCodec != nil || type == .raw {
        for (encoding, checksummed) in [(BytesEncoding.base64, false), (.hex, false), (.base64, true)] {
            let coder = FieldCoder(type, role, bytes: encoding, checksummed: checksummed)
            let stored = ByteBuffer()
            guard (try? coder.encode(text: text, into: stored)) != nil else { continue }
            let back = ByteBuffer(), again = ByteBuffer()
            guard (try? coder.appendText(stored: stored.bytes, into: back)) != nil,
                  (try? coder.encode(text: back.bytes, into: again)) != nil,
                  again.bytes.elementsEqual(stored.bytes)
            else { fatalError("\(type) \(role) text does not round-trip: \(Array(text))") }
            try? coder.validate(stored: stored.bytes, scratch: ByteBuffer())
        }
    }
}
