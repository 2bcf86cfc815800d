import DiskCollections
import ExtrasBase64
import Foundation

/// The type of a key or value in a text format (`--key-type`, `--value-type`), and its conversions
/// between text or JSON and the bytes a collection stores. Every conversion goes through the library's
/// own codecs (``DiskKey``, ``DiskValue``), so what an import writes is what a program reads.
public enum FieldType: String, CaseIterable, Sendable, Codable {
    case uint8, uint16, uint32, uint64, int8, int16, int32, int64
    /// `Double`.
    case double
    /// `Float`.
    case float
    case bool, string, bytes, uuid
    /// A JSON document (values only): ``DiskJSON``, stored as its minified text.
    case json
    /// The stored bytes themselves: a database without a catalog entry (made by `mdb_load`, say), or a
    /// codec diskcoll does not know (a composite key, a `CodableDiskValue`). Written as base64 or hex.
    case raw

    /// The types a user names on the command line.
    public static var namedTypes: [FieldType] { allCases.filter { $0 != .raw } }

    /// The codec a collection records for keys (and set, multimap-value elements) of this type, or
    /// `nil` if it cannot be a key.
    public var keyCodec: String? {
        switch self {
        case .double: return Double.diskKeyCodec
        case .float: return Float.diskKeyCodec
        case .json, .raw: return nil
        default: return witness.key
        }
    }

    /// The codec a collection records for values of this type, or `nil` for ``raw``.
    public var valueCodec: String? {
        switch self {
        case .raw: return nil
        case .json: return DiskJSON.diskValueCodec
        default: return witness.value
        }
    }

    /// The type whose key codec is `codec`, or `nil` for codecs diskcoll does not know.
    public init?(keyCodec codec: String) {
        guard let t = FieldType.namedTypes.first(where: { $0.keyCodec == codec }) else { return nil }
        self = t
    }

    /// The type whose value codec is `codec`, or `nil`.
    public init?(valueCodec codec: String) {
        guard let t = FieldType.namedTypes.first(where: { $0.valueCodec == codec }) else { return nil }
        self = t
    }

    private var witness: (key: String, value: String) {
        switch self {
        case .uint8: return (UInt8.diskKeyCodec, UInt8.diskValueCodec)
        case .uint16: return (UInt16.diskKeyCodec, UInt16.diskValueCodec)
        case .uint32: return (UInt32.diskKeyCodec, UInt32.diskValueCodec)
        case .uint64: return (UInt64.diskKeyCodec, UInt64.diskValueCodec)
        case .int8: return (Int8.diskKeyCodec, Int8.diskValueCodec)
        case .int16: return (Int16.diskKeyCodec, Int16.diskValueCodec)
        case .int32: return (Int32.diskKeyCodec, Int32.diskValueCodec)
        case .int64: return (Int64.diskKeyCodec, Int64.diskValueCodec)
        case .double: return (Double.diskKeyCodec, Double.diskValueCodec)
        case .float: return (Float.diskKeyCodec, Float.diskValueCodec)
        case .bool: return (Bool.diskKeyCodec, Bool.diskValueCodec)
        case .string: return (String.diskKeyCodec, String.diskValueCodec)
        case .bytes: return ([UInt8].diskKeyCodec, [UInt8].diskValueCodec)
        case .uuid: return (UUID.diskKeyCodec, UUID.diskValueCodec)
        case .json: return ("", DiskJSON.diskValueCodec)
        case .raw: return ("", "")
        }
    }

    /// The type in words, for messages.
    var noun: String {
        switch self {
        case .uint8, .uint16, .uint32, .uint64: return "an unsigned integer (\(rawValue))"
        case .int8, .int16, .int32, .int64: return "an integer (\(rawValue))"
        case .double, .float: return "a number (\(rawValue))"
        case .bool: return "true or false"
        case .string: return "a string"
        case .bytes, .raw: return "bytes"
        case .uuid: return "a UUID"
        case .json: return "a JSON value"
        }
    }
}

/// How bytes (`bytes` and `raw` fields) are written as text.
public enum BytesEncoding: String, CaseIterable, Sendable, Codable {
    /// RFC 4648 base64 with padding.
    case base64
    /// Two lowercase hex digits a byte (either case is read).
    case hex
}

/// A field that does not convert: what was expected and what was found. The importer adds where.
public struct FieldError: Error, Sendable {
    public var message: String
    init(_ message: String) { self.message = message }
}

/// Converts one side (key or value) of a collection's entries between text, JSON and stored bytes.
public struct FieldCoder: Sendable {
    public enum Role: String, Sendable { case key, value }

    public let type: FieldType
    public let role: Role
    public let bytesEncoding: BytesEncoding
    /// Stored values carry a CRC-32C after their encoding (a `crc32c:` codec, ``Checksummed``): it is
    /// appended on the way in, and checked and removed on the way out.
    public let checksummed: Bool

    public init(_ type: FieldType, _ role: Role, bytes: BytesEncoding = .base64, checksummed: Bool = false) {
        self.type = type
        self.role = role
        self.bytesEncoding = bytes
        self.checksummed = checksummed && role == .value
    }

    /// The coder of values stored in `codec` (raw bytes for a codec diskcoll does not know), with the
    /// checksum of a `crc32c:` codec.
    public init(valueCodec codec: String, bytes: BytesEncoding = .base64) {
        let checksummed = codec.hasPrefix(CRC32C.codecPrefix)
        let inner = checksummed ? String(codec.dropFirst(CRC32C.codecPrefix.count)) : codec
        self.init(FieldType(valueCodec: inner) ?? .raw, .value, bytes: bytes, checksummed: checksummed)
    }

    /// Whether values of `codec` are known to diskcoll (else they are written as their stored bytes).
    public static func knows(valueCodec codec: String) -> Bool {
        FieldType(valueCodec: codec.hasPrefix(CRC32C.codecPrefix) ? String(codec.dropFirst(CRC32C.codecPrefix.count)) : codec) != nil
    }

    /// Appends the checksum of what `encode` wrote from `start` on.
    private func appendChecksum(_ out: ByteBuffer, from start: Int) {
        guard checksummed else { return }
        let crc = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: out.bytes[start...])).littleEndian
        withUnsafeBytes(of: crc) { out.append($0) }
    }

    /// The value's own bytes of `stored`, its checksum checked, when values are checksummed.
    private func unwrap(_ stored: UnsafeRawBufferPointer) throws(FieldError) -> UnsafeRawBufferPointer {
        guard checksummed else { return stored }
        do { return try CRC32C.checkedValue(stored) } catch {
            if case let .corrupt(_, detail) = error as? DiskCollectionsError { throw FieldError(detail) }
            throw FieldError("\(error)")
        }
    }

    // MARK: Text and JSON to stored bytes

    /// Appends the stored encoding of `text` (a CSV field, a command-line argument) to `out`.
    public func encode(text: UnsafeRawBufferPointer, into out: ByteBuffer) throws(FieldError) {
        let start = out.count
        try encodeBare(text: text, into: out)
        appendChecksum(out, from: start)
    }

    private func encodeBare(text: UnsafeRawBufferPointer, into out: ByteBuffer) throws(FieldError) {
        switch type {
        case .uint8: try encodeInteger(UInt8.self, text, out)
        case .uint16: try encodeInteger(UInt16.self, text, out)
        case .uint32: try encodeInteger(UInt32.self, text, out)
        case .uint64: try encodeInteger(UInt64.self, text, out)
        case .int8: try encodeInteger(Int8.self, text, out)
        case .int16: try encodeInteger(Int16.self, text, out)
        case .int32: try encodeInteger(Int32.self, text, out)
        case .int64: try encodeInteger(Int64.self, text, out)
        case .double: try store(try parseFloatingPoint(text, as: Double.self), out)
        case .float: try store(try parseFloatingPoint(text, as: Float.self), out)
        case .bool:
            let t = trimmed(text)
            if t.equals("true") || t.equals("1") { try store(true, out) }
            else if t.equals("false") || t.equals("0") { try store(false, out) }
            else { throw FieldError("expected true or false, found \(InterchangeError.quote(text))") }
        case .string: try encodeString(text, out)
        case .bytes: try store(try decodeBytes(text), out)
        case .raw: try decodeBytes(text).withUnsafeBytes { out.append($0) }
        case .uuid:
            guard let uuid = UUID(uuidString: String(decoding: trimmed(text), as: UTF8.self)) else {
                throw FieldError("expected a UUID (8-4-4-4-12 hex digits), found \(InterchangeError.quote(text))")
            }
            try store(uuid, out)
        case .json:
            do {
                let span = try JSON.value(in: text)
                JSON.appendMinified(span, in: text, into: out)
            } catch let e as JSON.SyntaxError {
                throw FieldError("not a JSON value: \(e.message) at byte \(e.column)")
            } catch {
                throw FieldError("not a JSON value")
            }
        }
    }

    /// Appends the stored encoding of the JSON value at `span` of `line` to `out`; `scratch` is reused.
    public func encode(json span: JSON.Span, in line: UnsafeRawBufferPointer, scratch: ByteBuffer,
                       into out: ByteBuffer) throws(FieldError) {
        let start = out.count
        try encodeBare(json: span, in: line, scratch: scratch, into: out)
        appendChecksum(out, from: start)
    }

    private func encodeBare(json span: JSON.Span, in line: UnsafeRawBufferPointer, scratch: ByteBuffer,
                            into out: ByteBuffer) throws(FieldError) {
        let body = UnsafeRawBufferPointer(rebasing: line[span.start..<span.end])
        switch type {
        case .json:
            JSON.appendMinified(span, in: line, into: out)
        case .uint8, .uint16, .uint32, .uint64, .int8, .int16, .int32, .int64:
            switch span.kind {
            case .number:
                guard span.isInteger else { throw FieldError("expected \(type.noun), found the number \(InterchangeError.quote(body))") }
                try encodeBare(text: body, into: out)
            case .string:  // 64-bit integers are often quoted: "18446744073709551615"
                scratch.removeAll()
                try decodeJSONString(span, line, scratch)
                try encodeBare(text: scratch.bytes, into: out)
            default: throw FieldError("expected \(type.noun), found \(span.kind.name)")
            }
        case .double, .float:
            switch span.kind {
            case .number: try encodeBare(text: body, into: out)
            case .string:  // "NaN", "Infinity", "-Infinity": JSON has no words for them
                scratch.removeAll()
                try decodeJSONString(span, line, scratch)
                try encodeBare(text: scratch.bytes, into: out)
            default: throw FieldError("expected \(type.noun), found \(span.kind.name)")
            }
        case .bool:
            switch span.kind {
            case .true: try store(true, out)
            case .false: try store(false, out)
            default: throw FieldError("expected true or false, found \(span.kind.name)")
            }
        case .string, .bytes, .raw, .uuid:
            guard span.kind == .string else { throw FieldError("expected \(type.noun) as a JSON string, found \(span.kind.name)") }
            scratch.removeAll()
            try decodeJSONString(span, line, scratch)
            try encodeBare(text: scratch.bytes, into: out)
        }
    }

    private func decodeJSONString(_ span: JSON.Span, _ line: UnsafeRawBufferPointer, _ out: ByteBuffer) throws(FieldError) {
        do { try JSON.decodeString(span, in: line, into: out) } catch { throw FieldError("a string that does not decode") }
    }

    private func store<T: DiskKey & DiskValue>(_ value: T, _ out: ByteBuffer) throws(FieldError) {
        do {
            if role == .key { value.withDiskKeyBytes { out.append($0) } } else { try value.withDiskValueBytes { out.append($0) } }
        } catch {
            throw FieldError("\(error)")
        }
    }

    private func encodeInteger<T: FixedWidthInteger & DiskKey & DiskValue>(_: T.Type, _ text: UnsafeRawBufferPointer, _ out: ByteBuffer) throws(FieldError) {
        try store(try parseInteger(text, as: T.self), out)
    }

    private func encodeString(_ text: UnsafeRawBufferPointer, _ out: ByteBuffer) throws(FieldError) {
        if role == .value {
            guard isValidUTF8(text) else { throw FieldError("a string that is not valid UTF-8") }
            out.append(text)
            return
        }
        guard let s = String(validating: text, as: UTF8.self) else { throw FieldError("a string that is not valid UTF-8") }
        s.withDiskKeyBytes { out.append($0) }  // NFC, and the leading-00 rule
    }

    // MARK: Stored bytes to text and JSON

    /// Checks that `stored` decodes as this type, and is the form the library writes (a string key in
    /// NFC, a bool 0 or 1, a double key's one NaN): the check of an import from an mdb_dump file into a
    /// typed collection, and of `verify`. Decodes with the library's codec and encodes again, without
    /// text in between.
    public func validate(stored raw: UnsafeRawBufferPointer, scratch: ByteBuffer) throws(FieldError) {
        let stored = try unwrap(raw)
        switch type {
        case .uint8: try roundTrip(UInt8.self, stored)
        case .uint16: try roundTrip(UInt16.self, stored)
        case .uint32: try roundTrip(UInt32.self, stored)
        case .uint64: try roundTrip(UInt64.self, stored)
        case .int8: try roundTrip(Int8.self, stored)
        case .int16: try roundTrip(Int16.self, stored)
        case .int32: try roundTrip(Int32.self, stored)
        case .int64: try roundTrip(Int64.self, stored)
        case .double: try roundTrip(Double.self, stored)
        case .float: try roundTrip(Float.self, stored)
        case .bool: try roundTrip(Bool.self, stored)
        case .uuid: try roundTrip(UUID.self, stored)
        case .bytes: try roundTrip([UInt8].self, stored)
        case .string:
            if role == .value {
                guard isValidUTF8(stored) else { throw FieldError("a string value that is not valid UTF-8") }
            } else {
                try roundTrip(String.self, stored)
            }
        case .json:
            guard isValidUTF8(stored) else { throw FieldError("a json value that is not valid UTF-8") }
            do { _ = try JSON.value(in: stored) } catch { throw FieldError("a json value that is not one JSON value") }
        case .raw: break
        }
    }

    private func roundTrip<T: DiskKey & DiskValue>(_: T.Type, _ stored: UnsafeRawBufferPointer) throws(FieldError) {
        let value = try load(T.self, stored)
        let same: Bool
        do {
            same = role == .key ? value.withDiskKeyBytes { $0.equals(stored) } : try value.withDiskValueBytes { $0.equals(stored) }
        } catch {
            throw FieldError("\(error)")
        }
        guard same else {
            let again = ByteBuffer()
            try? store(value, again)
            throw FieldError("\(InterchangeError.quote(stored)) is not the form the library stores \(type.noun) in (it would store \(InterchangeError.quote(again.bytes)))")
        }
    }

    /// Appends `stored` as text (a CSV field): decimal numbers, the string itself, base64 or hex bytes,
    /// the JSON text.
    public func appendText(stored raw: UnsafeRawBufferPointer, into out: ByteBuffer) throws(FieldError) {
        try appendTextBare(stored: try unwrap(raw), into: out)
    }

    private func appendTextBare(stored: UnsafeRawBufferPointer, into out: ByteBuffer) throws(FieldError) {
        switch type {
        case .uint8: out.appendDecimal(try load(UInt8.self, stored))
        case .uint16: out.appendDecimal(try load(UInt16.self, stored))
        case .uint32: out.appendDecimal(try load(UInt32.self, stored))
        case .uint64: out.appendDecimal(try load(UInt64.self, stored))
        case .int8: out.appendDecimal(try load(Int8.self, stored))
        case .int16: out.appendDecimal(try load(Int16.self, stored))
        case .int32: out.appendDecimal(try load(Int32.self, stored))
        case .int64: out.appendDecimal(try load(Int64.self, stored))
        case .double: appendFloatingPoint(try load(Double.self, stored), out)
        case .float: appendFloatingPoint(try load(Float.self, stored), out)
        case .bool: out.append(try load(Bool.self, stored) ? "true" : "false")
        case .string:
            if role == .key { out.append(try load(String.self, stored)) } else {
                guard isValidUTF8(stored) else { throw FieldError("a string value that is not valid UTF-8") }
                out.append(stored)
            }
        case .bytes: appendBytes(try load([UInt8].self, stored), out)
        case .raw: appendBytes(stored, out)
        case .uuid: out.append(try load(UUID.self, stored).uuidString)
        case .json:
            guard isValidUTF8(stored) else { throw FieldError("a json value that is not valid UTF-8") }
            out.append(stored)
        }
    }

    /// Appends `stored` as a JSON value: numbers bare (integers exact at any size), `NaN` and the
    /// infinities as strings, strings and bytes as JSON strings, json values as themselves.
    public func appendJSON(stored raw: UnsafeRawBufferPointer, into out: ByteBuffer, scratch: ByteBuffer) throws(FieldError) {
        let stored = try unwrap(raw)
        switch type {
        case .uint8, .uint16, .uint32, .uint64, .int8, .int16, .int32, .int64, .bool:
            try appendTextBare(stored: stored, into: out)
        case .double, .float:
            let d = type == .double ? try load(Double.self, stored) : Double(try load(Float.self, stored))
            if d.isFinite { try appendTextBare(stored: stored, into: out) } else {
                scratch.removeAll()
                try appendTextBare(stored: stored, into: scratch)
                JSON.appendString(scratch.bytes, into: out)
            }
        case .json:
            do { _ = try JSON.value(in: stored) } catch { throw FieldError("a json value that is not one JSON value") }
            out.append(stored)
        case .string, .bytes, .raw, .uuid:
            scratch.removeAll()
            try appendTextBare(stored: stored, into: scratch)
            JSON.appendString(scratch.bytes, into: out)
        }
    }

    private func load<T: DiskKey & DiskValue>(_: T.Type, _ stored: UnsafeRawBufferPointer) throws(FieldError) -> T {
        do { return role == .key ? try T(diskKeyBytes: stored) : try T(diskValueBytes: stored) } catch {
            if case let .corrupt(_, detail) = error as? DiskCollectionsError { throw FieldError(detail) }
            throw FieldError("\(error)")
        }
    }

    private func appendFloatingPoint<F: BinaryFloatingPoint & CustomStringConvertible>(_ x: F, _ out: ByteBuffer) {
        if x.isNaN { out.append("NaN") } else if x.isInfinite { out.append(x < 0 ? "-Infinity" : "Infinity") } else {
            out.append(x.description)  // the shortest text that reads back as the same number
        }
    }

    private func appendBytes(_ bytes: some Collection<UInt8>, _ out: ByteBuffer) {
        switch bytesEncoding {
        case .base64: out.append(contentsOf: Base64.encodeToBytes(bytes: bytes))
        case .hex:
            for b in bytes {
                out.append(MDBDump.hexDigits[Int(b >> 4)])
                out.append(MDBDump.hexDigits[Int(b & 0xF)])
            }
        }
    }

    // MARK: Parsing text

    private func trimmed(_ text: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var s = text.startIndex, e = text.endIndex
        while s < e && (text[s] == 0x20 || text[s] == 0x09) { s += 1 }
        while e > s && (text[e - 1] == 0x20 || text[e - 1] == 0x09) { e -= 1 }
        return UnsafeRawBufferPointer(rebasing: text[s..<e])
    }

    private func parseInteger<T: FixedWidthInteger>(_ raw: UnsafeRawBufferPointer, as: T.Type) throws(FieldError) -> T {
        let text = trimmed(raw)
        var i = 0
        var negative = false
        if text.first == UInt8(ascii: "-") { negative = true; i = 1 } else if text.first == UInt8(ascii: "+") { i = 1 }
        guard i < text.count else { throw FieldError("expected \(type.noun), found \(raw.isEmpty ? "an empty field" : InterchangeError.quote(raw))") }
        var magnitude: UInt64 = 0
        var overflow = false
        while i < text.count {
            let d = text[i] &- UInt8(ascii: "0")
            guard d < 10 else { throw FieldError("expected \(type.noun), found \(InterchangeError.quote(raw))") }
            let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(UInt64(d))
            overflow = overflow || o1 || o2
            magnitude = a
            i += 1
        }
        let range = "\(T.min)...\(T.max)"
        guard !overflow else { throw FieldError("\(String(decoding: text, as: UTF8.self)) does not fit \(type.rawValue) (\(range))") }
        if negative {
            guard T.isSigned, magnitude <= UInt64(T.max) + 1 else {
                if magnitude == 0 { return 0 }
                throw FieldError("\(String(decoding: text, as: UTF8.self)) does not fit \(type.rawValue) (\(range))")
            }
            return magnitude == UInt64(T.max) + 1 ? T.min : 0 - T(magnitude)
        }
        guard magnitude <= UInt64(T.max) else {
            throw FieldError("\(String(decoding: text, as: UTF8.self)) does not fit \(type.rawValue) (\(range))")
        }
        return T(magnitude)
    }

    private func parseFloatingPoint<F: BinaryFloatingPoint & LosslessStringConvertible>(_ raw: UnsafeRawBufferPointer, as: F.Type) throws(FieldError) -> F {
        let text = trimmed(raw)
        let word = String(decoding: text, as: UTF8.self)
        switch word.lowercased() {
        case "nan": return .nan
        case "infinity", "inf", "+infinity", "+inf": return .infinity
        case "-infinity", "-inf": return -.infinity
        default: break
        }
        // Only decimal numbers: Swift's parser would also take hexadecimal floats and "nan(0x1)".
        let decimal = !text.isEmpty && text.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2E || $0 == 0x2D || $0 == 0x2B || $0 == 0x65 || $0 == 0x45 }
        guard decimal, let x = F(word) else {
            throw FieldError("expected \(type.noun), found \(raw.isEmpty ? "an empty field" : InterchangeError.quote(raw))")
        }
        if x.isInfinite { throw FieldError("\(word) is too large for \(type.rawValue)") }
        return x
    }

    private func decodeBytes(_ text: UnsafeRawBufferPointer) throws(FieldError) -> [UInt8] {
        switch bytesEncoding {
        case .base64:
            do { return try Base64.decode(bytes: text) } catch {
                throw FieldError("expected bytes in base64, found \(InterchangeError.quote(text))")
            }
        case .hex:
            guard text.count % 2 == 0 else { throw FieldError("expected bytes in hex, found an odd number of digits (\(text.count))") }
            var out = [UInt8](repeating: 0, count: text.count / 2)
            for i in out.indices {
                let hi = MDBDump.hexValues[Int(text[2 * i])], lo = MDBDump.hexValues[Int(text[2 * i + 1])]
                guard hi < 16 && lo < 16 else { throw FieldError("expected bytes in hex, found \(InterchangeError.quote(text))") }
                out[i] = hi << 4 | lo
            }
            return out
        }
    }
}
