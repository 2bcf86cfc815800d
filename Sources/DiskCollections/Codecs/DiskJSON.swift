import Foundation

/// A JSON document as a collection value, stored as its UTF-8 text (codec `json`), so that every tool
/// reads it as it is (`mdb_dump -p`, py-lmdb with `json.loads`).
///
/// `diskcoll import --value-type json` writes these (each value minified), and a program reads them
/// with `store.map("docs", key: String.self, value: DiskJSON.self)`, decoding each into its own type:
///
/// ```swift
/// struct Point: Codable { var x: Double; var y: Double }
/// let points = try store.map("points", key: String.self, value: DiskJSON.self)
/// try points.setValue(DiskJSON(encoding: Point(x: 1, y: 2)), forKey: "a")
/// let p = try points["a"]?.decode(Point.self)
/// ```
///
/// For values only a Swift program reads, ``CodableDiskValue`` (CBOR) is smaller and faster.
public struct DiskJSON: DiskValue, Hashable, Sendable, CustomStringConvertible {
    /// The document's text.
    public let text: String

    /// A document from its text, checked with ``Syntax`` (RFC 8259, strictly: no trailing commas, no lone
    /// surrogates), the same check `diskcoll import` makes.
    /// - Throws: ``DiskCollectionsError/corrupt(collection:detail:)`` if `text` is not one JSON value.
    public init(validating text: String) throws {
        var t = text
        do {
            _ = try t.withUTF8 { try Syntax.value(in: UnsafeRawBufferPointer($0)) }
        } catch let error as Syntax.SyntaxError {
            throw DiskCollectionsError.corrupt(collection: "", detail: "the text is not a JSON value: \(error.message) at byte \(error.column)")
        }
        self.text = text
    }

    /// The document `encoder` makes of `value`.
    public init<T: Encodable>(encoding value: T, encoder: JSONEncoder = JSONEncoder()) throws {
        text = String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    /// Decodes the document as a `T`.
    /// - Throws: the `DecodingError` of `decoder`.
    public func decode<T: Decodable>(_ type: T.Type = T.self, decoder: JSONDecoder = JSONDecoder()) throws -> T {
        try decoder.decode(T.self, from: Data(text.utf8))
    }

    public var description: String { text }

    public static var diskValueCodec: String { "json" }

    public func withDiskValueBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R {
        var s = text
        return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }

    /// Reads stored text. Only its UTF-8 is checked here (a full parse per read would cost more than
    /// the read); `diskcoll import` and ``init(validating:)`` check the JSON when it is written.
    public init(diskValueBytes bytes: UnsafeRawBufferPointer) throws {
        guard let s = String(validating: bytes, as: UTF8.self) else { throw corrupt("a json value is not valid UTF-8") }
        text = s
    }
}
