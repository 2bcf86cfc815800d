import Foundation

/// Encodes `Encodable` values as CBOR; see ``CodableDiskValue``.
public struct CBOREncoder {
    public init() {}

    /// The CBOR bytes of `value`.
    public func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        var out: [UInt8] = []
        try CBOREncoding.item(value, codingPath: []).write(to: &out)
        return out
    }
}

/// Decodes CBOR into `Decodable` values; see ``CodableDiskValue``.
public struct CBORDecoder {
    public init() {}

    /// Decodes a `T` from `bytes`. Throws ``DiskCollectionsError/corrupt(collection:detail:)`` or a
    /// `DecodingError` when the bytes do not hold a `T`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: UnsafeRawBufferPointer) throws -> T {
        var i = 0
        let item = try CBOR.read(bytes, &i)
        guard i == bytes.count else { throw corrupt("\(bytes.count - i) bytes after a CBOR value") }
        return try CBORDecoding.value(T.self, from: item, codingPath: [])
    }

    /// Decodes a `T` from `bytes`.
    public func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        try bytes.withUnsafeBytes { try decode(type, from: $0) }
    }
}

// MARK: Encoding

/// A tree being built: containers are reference boxes so nested containers can fill them later.
///
/// A container's children live in the box's own stored arrays, appended in place: keeping them in an
/// enum payload (taken out, appended to, put back) copied the array on every append, which made
/// encoding quadratic (10 s for 40k elements).
final class CBORBox {
    enum Kind { case empty, item, array, map }
    private(set) var kind: Kind = .empty
    private var value: CBOR = .null
    /// The elements of an array, or the values of a map (in encoding order).
    private var children: [CBORBox] = []
    /// The keys of a map, parallel to `children`.
    private var keys: [String] = []

    var count: Int { kind == .array ? children.count : 0 }

    func set(_ item: CBOR) {
        kind = .item
        value = item
        children = []
        keys = []
    }

    func becomeMap() {
        guard kind != .map else { return }
        kind = .map
        children = []
        keys = []
    }

    func becomeArray() {
        guard kind != .array else { return }
        kind = .array
        children = []
        keys = []
    }

    /// A new value under `key` of this map (a detached box if this is not a map).
    func child(forKey key: String) -> CBORBox {
        let child = CBORBox()
        if kind == .map {
            keys.append(key)
            children.append(child)
        }
        return child
    }

    /// A new element at the end of this array (a detached box if this is not an array).
    func appendChild() -> CBORBox {
        let child = CBORBox()
        if kind == .array { children.append(child) }
        return child
    }

    var item: CBOR {
        switch kind {
        case .empty: return .null
        case .item: return value
        case .array: return .array(children.map(\.item))
        case .map: return .map(zip(keys, children).map { (.text($0), $1.item) })
        }
    }
}

enum CBOREncoding {
    static func item<T: Encodable>(_ value: T, codingPath: [any CodingKey]) throws -> CBOR {
        if let primitive = primitive(value) { return primitive }
        let encoder = CBOREncoderImpl(codingPath: codingPath)
        try value.encode(to: encoder)
        return encoder.box.item
    }

    static func primitive(_ value: Any) -> CBOR? {
        func int<I: BinaryInteger>(_ i: I) -> CBOR { i < 0 ? .negative(UInt64(-1 - Int64(i))) : .unsigned(UInt64(i)) }
        switch value {
        case let v as Bool: return .bool(v)
        case let v as String: return .text(v)
        case let v as Double: return .double(v)
        case let v as Float: return .double(Double(v))
        case let v as Int: return int(v)
        case let v as Int8: return int(v)
        case let v as Int16: return int(v)
        case let v as Int32: return int(v)
        case let v as Int64: return int(v)
        case let v as UInt: return .unsigned(UInt64(v))
        case let v as UInt8: return .unsigned(UInt64(v))
        case let v as UInt16: return .unsigned(UInt64(v))
        case let v as UInt32: return .unsigned(UInt64(v))
        case let v as UInt64: return .unsigned(v)
        case let v as Data: return .bytes(Array(v))
        default: return nil
        }
    }
}

final class CBOREncoderImpl: Encoder, SingleValueEncodingContainer {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let box: CBORBox

    init(codingPath: [any CodingKey], box: CBORBox = CBORBox()) {
        self.codingPath = codingPath
        self.box = box
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        box.becomeMap()
        return KeyedEncodingContainer(KeyedContainer<Key>(box: box, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        box.becomeArray()
        return UnkeyedContainer(box: box, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer { self }

    func encodeNil() throws { box.set(.null) }
    func encode<T: Encodable>(_ value: T) throws { box.set(try CBOREncoding.item(value, codingPath: codingPath)) }

    struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let box: CBORBox
        let codingPath: [any CodingKey]

        func child(_ key: Key) -> CBORBox { box.child(forKey: key.stringValue) }
        mutating func encodeNil(forKey key: Key) throws { child(key).set(.null) }
        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            let item = try CBOREncoding.item(value, codingPath: codingPath + [key])
            child(key).set(item)
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type, forKey key: Key) -> KeyedEncodingContainer<N> {
            CBOREncoderImpl(codingPath: codingPath + [key], box: child(key)).container(keyedBy: N.self)
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
            CBOREncoderImpl(codingPath: codingPath + [key], box: child(key)).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { CBOREncoderImpl(codingPath: codingPath, box: child(Key(stringValue: "super")!)) }
        mutating func superEncoder(forKey key: Key) -> any Encoder { CBOREncoderImpl(codingPath: codingPath + [key], box: child(key)) }
    }

    struct UnkeyedContainer: UnkeyedEncodingContainer {
        let box: CBORBox
        let codingPath: [any CodingKey]
        var count: Int { box.count }
        func child() -> CBORBox { box.appendChild() }
        mutating func encodeNil() throws { child().set(.null) }
        mutating func encode<T: Encodable>(_ value: T) throws {
            let item = try CBOREncoding.item(value, codingPath: codingPath)
            child().set(item)
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type) -> KeyedEncodingContainer<N> {
            CBOREncoderImpl(codingPath: codingPath, box: child()).container(keyedBy: N.self)
        }
        mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
            CBOREncoderImpl(codingPath: codingPath, box: child()).unkeyedContainer()
        }
        mutating func superEncoder() -> any Encoder { CBOREncoderImpl(codingPath: codingPath, box: child()) }
    }
}

// MARK: Decoding

enum CBORDecoding {
    static func mismatch(_ type: Any.Type, _ item: CBOR, _ path: [any CodingKey]) -> DecodingError {
        .typeMismatch(type, .init(codingPath: path, debugDescription: "found CBOR \(item)"))
    }

    static func integer<I: FixedWidthInteger>(_ type: I.Type, _ item: CBOR, _ path: [any CodingKey]) throws -> I {
        let result: I?
        switch item {
        case .unsigned(let n): result = I(exactly: n)
        case .negative(let n): result = n <= UInt64(Int64.max) ? I(exactly: -1 - Int64(n)) : nil
        default: throw mismatch(I.self, item, path)
        }
        guard let result else {
            throw DecodingError.dataCorrupted(.init(codingPath: path, debugDescription: "\(item) does not fit \(I.self)"))
        }
        return result
    }

    static func value<T: Decodable>(_ type: T.Type, from item: CBOR, codingPath: [any CodingKey]) throws -> T {
        // Strict: this encoder writes every Double and Float as a CBOR float, so an integer item was
        // written from an integer field, and reading it as a floating-point field is a layout
        // mismatch (a struct `P { x: Int }` stored, another `P { x: Double }` read), not a conversion.
        func double() throws -> Double {
            guard case .double(let d) = item else { throw mismatch(T.self, item, codingPath) }
            return d
        }
        switch type {
        case is Bool.Type:
            guard case .bool(let b) = item else { throw mismatch(T.self, item, codingPath) }
            return b as! T
        case is String.Type:
            guard case .text(let s) = item else { throw mismatch(T.self, item, codingPath) }
            return s as! T
        case is Double.Type: return try double() as! T
        case is Float.Type: return Float(try double()) as! T
        case is Int.Type: return try integer(Int.self, item, codingPath) as! T
        case is Int8.Type: return try integer(Int8.self, item, codingPath) as! T
        case is Int16.Type: return try integer(Int16.self, item, codingPath) as! T
        case is Int32.Type: return try integer(Int32.self, item, codingPath) as! T
        case is Int64.Type: return try integer(Int64.self, item, codingPath) as! T
        case is UInt.Type: return try integer(UInt.self, item, codingPath) as! T
        case is UInt8.Type: return try integer(UInt8.self, item, codingPath) as! T
        case is UInt16.Type: return try integer(UInt16.self, item, codingPath) as! T
        case is UInt32.Type: return try integer(UInt32.self, item, codingPath) as! T
        case is UInt64.Type: return try integer(UInt64.self, item, codingPath) as! T
        case is Data.Type:
            guard case .bytes(let b) = item else { throw mismatch(T.self, item, codingPath) }
            return Data(b) as! T
        default:
            return try T(from: CBORDecoderImpl(item: item, codingPath: codingPath))
        }
    }
}

struct CBORDecoderImpl: Decoder, SingleValueDecodingContainer {
    let item: CBOR
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .map(let pairs) = item else { throw CBORDecoding.mismatch([String: Any].self, item, codingPath) }
        var fields: [String: CBOR] = [:]
        for (k, v) in pairs {
            guard case .text(let name) = k else { throw CBORDecoding.mismatch(String.self, k, codingPath) }
            fields[name] = v
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(fields: fields, codingPath: codingPath))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let items) = item else { throw CBORDecoding.mismatch([Any].self, item, codingPath) }
        return UnkeyedContainer(items: items, codingPath: codingPath)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }
    func decodeNil() -> Bool { item == .null }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try CBORDecoding.value(T.self, from: item, codingPath: codingPath) }

    struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let fields: [String: CBOR]
        let codingPath: [any CodingKey]
        var allKeys: [Key] { fields.keys.compactMap { Key(stringValue: $0) } }
        func contains(_ key: Key) -> Bool { fields[key.stringValue] != nil }
        func field(_ key: Key) throws -> CBOR {
            guard let f = fields[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: codingPath, debugDescription: "no field \(key.stringValue)"))
            }
            return f
        }
        func decodeNil(forKey key: Key) throws -> Bool { try field(key) == .null }
        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            try CBORDecoding.value(T.self, from: try field(key), codingPath: codingPath + [key])
        }
        func nestedContainer<N: CodingKey>(keyedBy: N.Type, forKey key: Key) throws -> KeyedDecodingContainer<N> {
            try CBORDecoderImpl(item: try field(key), codingPath: codingPath + [key]).container(keyedBy: N.self)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
            try CBORDecoderImpl(item: try field(key), codingPath: codingPath + [key]).unkeyedContainer()
        }
        func superDecoder() throws -> any Decoder { CBORDecoderImpl(item: fields["super"] ?? .null, codingPath: codingPath) }
        func superDecoder(forKey key: Key) throws -> any Decoder { CBORDecoderImpl(item: try field(key), codingPath: codingPath + [key]) }
    }

    struct UnkeyedContainer: UnkeyedDecodingContainer {
        let items: [CBOR]
        let codingPath: [any CodingKey]
        var currentIndex = 0
        var count: Int? { items.count }
        var isAtEnd: Bool { currentIndex >= items.count }
        mutating func next() throws -> CBOR {
            guard !isAtEnd else {
                throw DecodingError.valueNotFound(Any.self, .init(codingPath: codingPath, debugDescription: "array ended"))
            }
            defer { currentIndex += 1 }
            return items[currentIndex]
        }
        mutating func decodeNil() throws -> Bool {
            guard !isAtEnd, items[currentIndex] == .null else { return false }
            currentIndex += 1
            return true
        }
        mutating func decode<T: Decodable>(_ type: T.Type) throws -> T {
            try CBORDecoding.value(T.self, from: try next(), codingPath: codingPath)
        }
        mutating func nestedContainer<N: CodingKey>(keyedBy: N.Type) throws -> KeyedDecodingContainer<N> {
            try CBORDecoderImpl(item: try next(), codingPath: codingPath).container(keyedBy: N.self)
        }
        mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
            try CBORDecoderImpl(item: try next(), codingPath: codingPath).unkeyedContainer()
        }
        mutating func superDecoder() throws -> any Decoder { CBORDecoderImpl(item: try next(), codingPath: codingPath) }
    }
}
