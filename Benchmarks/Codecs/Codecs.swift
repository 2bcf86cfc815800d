// The codecs (issue 14, item 1): encoding and decoding 1,000 keys or values of each kind, the work a
// collection does around every LMDB call; wall clock, throughput and mallocs per 1,000.
// Run from Benchmarks/: `swift package benchmark --target Codecs`.
import Benchmark
import BenchmarkSupport
import DiskCollections
import Foundation


/// A composite key of a string, an integer and bytes.
struct Pair: DiskCompositeKey, Equatable {
    var name: String
    var rank: Int32
    var bytes: [UInt8]
    static var diskKeyCodec: String { "pair(string,int32,bytes)" }
    func encodeComponents(into key: inout DiskKeyEncoder) { key.append(name); key.append(rank); key.append(bytes) }
    init(components key: inout DiskKeyDecoder) throws { name = try key.next(); rank = try key.next(); bytes = try key.next() }
    init(name: String, rank: Int32, bytes: [UInt8]) { self.name = name; self.rank = rank; self.bytes = bytes }
}

/// A record as a Codable value stores it (CBOR).
struct Record: Codable, Equatable {
    var id: UInt64
    var score: Double?
    var tags: [String]
    var position: [Int32]
}

/// Encodes each key and decodes it back.
func roundTripKeys<K: DiskKey>(_ keys: [K]) throws {
    for k in keys { blackHole(try k.withDiskKeyBytes { try K(diskKeyBytes: $0) }) }
}

let benchmarks: @Sendable () -> Void = {
    let configuration = suiteConfiguration(measuresMemory: false, maxDuration: .seconds(1))
    let integers = (0..<1_000).map { UInt64($0) &* 0x9E37_79B9_7F4A_7C15 }
    let strings = (0..<1_000).map { "state-\($0)-\($0 &* 7919)" }
    let pairs = (0..<1_000).map { Pair(name: "level-\($0 % 17)", rank: Int32($0), bytes: [UInt8](repeating: UInt8($0 & 255), count: 8)) }
    let records: [Record] = (0..<1_000).map { (i: Int) -> Record in
        let score: Double? = i % 3 == 0 ? nil : Double(i) / 7
        return Record(id: UInt64(i), score: score, tags: ["a\(i % 5)", "b"], position: [Int32(i), 1, 2, 3])
    }

    Benchmark("UInt64-key-encode-and-decode", configuration: configuration) { _ in try roundTripKeys(integers) }
    Benchmark("String-key-encode-and-decode", configuration: configuration) { _ in try roundTripKeys(strings) }
    Benchmark("Composite-key-string-int32-bytes-encode-and-decode", configuration: configuration) { _ in try roundTripKeys(pairs) }
    Benchmark("CBOR-record-encode-and-decode", configuration: configuration) { _ in
        let encoder = CBOREncoder(), decoder = CBORDecoder()
        for r in records { blackHole(try decoder.decode(Record.self, from: try encoder.encode(r))) }
    }
    Benchmark("JSONEncoder-record-encode-and-decode", configuration: configuration) { _ in
        let encoder = JSONEncoder(), decoder = JSONDecoder()
        for r in records { blackHole(try decoder.decode(Record.self, from: try encoder.encode(r))) }
    }
}
