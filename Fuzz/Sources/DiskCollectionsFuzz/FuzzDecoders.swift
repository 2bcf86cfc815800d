// One libFuzzer entry point for every decoder of stored bytes and every parser of the import formats
// (FuzzParsers.swift): the first input byte picks one, the rest are the bytes. A decoder may throw (a typed error) but never crash, and what it accepts
// must encode and decode again to an equal value.
@testable import DiskCollections
import Foundation

struct Record: Codable, Equatable {
    enum Kind: Codable, Equatable { case leaf, node(children: [Int32]), named(String) }
    var id: UInt64
    var score: Double?
    var tags: [String]
    var kind: Kind
    var table: [String: Int]
    var blob: [UInt8]
}

struct Pair: DiskCompositeKey, Equatable {
    var name: String
    var rank: Int32
    var bytes: [UInt8]
    static var diskKeyCodec: String { "pair(string,int32,bytes)" }
    func encodeComponents(into key: inout DiskKeyEncoder) { key.append(name); key.append(rank); key.append(bytes) }
    init(components key: inout DiskKeyDecoder) throws { name = try key.next(); rank = try key.next(); bytes = try key.next() }
}

/// Decodes `bytes` as a `K` key; if it decodes, its encoding must decode to an equal key.
func roundTripKey<K: DiskKey & Equatable>(_ type: K.Type, _ bytes: UnsafeRawBufferPointer) {
    guard let k = try? K(diskKeyBytes: bytes) else { return }
    let again = k.withDiskKeyBytes { try? K(diskKeyBytes: $0) }
    if again != k { fatalError("key \(K.self) does not round-trip: \(Array(bytes))") }
}

func roundTripValue<V: DiskValue & Equatable>(_ type: V.Type, _ bytes: UnsafeRawBufferPointer) {
    guard let v = try? V(diskValueBytes: bytes) else { return }
    let again = try? v.withDiskValueBytes { try V(diskValueBytes: $0) }
    if again != v { fatalError("value \(V.self) does not round-trip: \(Array(bytes))") }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    guard size > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    switch data[0] % 15 {
    case 0: roundTripKey(UInt64.self, bytes); roundTripKey(Int64.self, bytes)
    case 1: roundTripKey(UInt32.self, bytes); roundTripKey(Int16.self, bytes); roundTripKey(UInt8.self, bytes)
    case 2: roundTripKey(String.self, bytes)
    case 3: roundTripKey([UInt8].self, bytes)
    case 4: roundTripKey(Pair.self, bytes)
    case 5:
        if let d = try? Double(diskKeyBytes: bytes), !d.isNaN, let again = d.withDiskKeyBytes({ try? Double(diskKeyBytes: $0) }), again != d {
            fatalError("Double key does not round-trip")
        }
    case 6: roundTripValue(String.self, bytes); roundTripValue([UInt8].self, bytes); roundTripValue(Checksummed<String>.self, bytes)
    case 7: roundTripValue(UInt64.self, bytes); roundTripValue(Int32.self, bytes)
    case 10: fuzzDump(bytes)
    case 11: fuzzJSONLine(bytes)
    case 12: fuzzCSV(bytes)
    case 13: fuzzFields(bytes)
    case 14: fuzzCatalogRecord(bytes)
    default:
        // CBOR, the codec of Codable values.
        if let r = try? CBORDecoder().decode(Record.self, from: bytes), r.score.map({ !$0.isNaN }) ?? true {
            guard let encoded = try? CBOREncoder().encode(r), let again = try? CBORDecoder().decode(Record.self, from: encoded), again == r else {
                fatalError("CBOR record does not round-trip")
            }
        }
        _ = try? CBORDecoder().decode([String: [Int64]].self, from: bytes)
    }
    return 0
}

/// A catalog entry, as `Store` reads it when a collection opens: a record that decodes is a
/// `CollectionDescriptor` that writes and reads back the same; anything else is a typed `corrupt`
/// error naming the collection, never a crash.
func fuzzCatalogRecord(_ bytes: UnsafeRawBufferPointer) {
    do {
        let d = try Store.descriptor(of: "fuzzed", from: bytes)
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        guard let again = try? Store.descriptor(of: "fuzzed", from: encoder.encode(d)), again == d else {
            fatalError("a catalog record does not round-trip: \(Array(bytes))")
        }
    } catch let error as DiskCollectionsError {
        guard case .corrupt(let name, _) = error, name == "fuzzed" else { fatalError("unexpected error \(error)") }
    } catch {
        fatalError("a catalog record's error is not typed: \(error)")
    }
}
