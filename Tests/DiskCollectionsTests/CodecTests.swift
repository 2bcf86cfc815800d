import DiskCollections
import Foundation
import Testing
import TestSupport

@Suite struct CodecTests {
    /// Regression: appending to a container copied its array, so encoding was quadratic (10.2 s for
    /// 40k elements; 1M never finished). A million elements, and a keyed container with many keys.
    @Test func cborEncodesLargeContainersInLinearTime() throws {
        struct Wide: Codable, Equatable {
            var values: [Int]
            var names: [String: Int]
        }
        let million = Array(0..<1_000_000)
        let bytes = try CBOREncoder().encode(million)
        #expect(bytes.count > 3_000_000)
        #expect(try CBORDecoder().decode([Int].self, from: bytes) == million)
        let wide = Wide(values: Array(repeating: -7, count: 100_000),
                        names: Dictionary(uniqueKeysWithValues: (0..<50_000).map { ("k\($0)", $0) }))
        #expect(try CBORDecoder().decode(Wide.self, from: try CBOREncoder().encode(wide)) == wide)
    }

    /// Encodes every value, checks the round trip, and checks byte order equals the values' order.
    func checkOrder<K: DiskKey & Comparable>(_ values: [K]) throws {
        try checkOrder(values, by: <, equal: ==)
    }

    func checkOrder<K: DiskKey>(_ values: [K], by less: (K, K) -> Bool, equal: (K, K) -> Bool) throws {
        for v in values {
            let back = try v.withDiskKeyBytes { try K(diskKeyBytes: $0) }
            #expect(equal(back, v), "round trip of \(v)")
        }
        let byBytes = values.sorted { $0.diskKeyBytes.lexicographicallyPrecedes($1.diskKeyBytes) }
        let byValue = values.sorted(by: less)
        #expect(zip(byBytes, byValue).allSatisfy { equal($0, $1) }, "order of \(K.self)")
    }

    func randomIntegers<I: FixedWidthInteger>(_: I.Type, _ rng: inout SplitMix64) -> [I] {
        [I.min, I.max, 0, 1, I.isSigned ? -1 : 2] + (0..<2_000).map { _ in I.random(in: I.min...I.max, using: &rng) }
    }

    @Test func integersKeepTheirOrder() throws {
        var rng = SplitMix64(seed: 1)
        try checkOrder(randomIntegers(UInt8.self, &rng))
        try checkOrder(randomIntegers(Int8.self, &rng))
        try checkOrder(randomIntegers(UInt16.self, &rng))
        try checkOrder(randomIntegers(Int16.self, &rng))
        try checkOrder(randomIntegers(UInt32.self, &rng))
        try checkOrder(randomIntegers(Int32.self, &rng))
        try checkOrder(randomIntegers(UInt64.self, &rng))
        try checkOrder(randomIntegers(Int64.self, &rng))
        try checkOrder(randomIntegers(Int.self, &rng))
        try checkOrder(randomIntegers(UInt.self, &rng))
        #expect(Int64(-1).diskKeyBytes == [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        #expect(UInt32(1).diskKeyBytes == [0, 0, 0, 1])
        #expect(Int.diskKeyCodec == Int64.diskKeyCodec)
    }

    @Test func floatingPointHasATotalOrderWithCanonicalZeroAndNaN() throws {
        var rng = SplitMix64(seed: 2)
        var doubles: [Double] = [-.infinity, -.greatestFiniteMagnitude, -1, -.leastNormalMagnitude, -.leastNonzeroMagnitude,
                                 0, .leastNonzeroMagnitude, .leastNormalMagnitude, 1, .greatestFiniteMagnitude, .infinity]
        doubles += (0..<2_000).map { _ in Double(bitPattern: rng.next()) }.filter { !$0.isNaN }
        try checkOrder(doubles)
        // -0.0 and +0.0 are one key, as Swift's == says; every NaN is one key, above +infinity.
        #expect((-0.0 as Double).diskKeyBytes == (0.0 as Double).diskKeyBytes)
        #expect(Double.nan.diskKeyBytes == Double(bitPattern: 0x7FF0_0000_0000_0001).diskKeyBytes)
        #expect(Double.nan.diskKeyBytes == (-Double.nan).diskKeyBytes)
        #expect(Double.infinity.diskKeyBytes.lexicographicallyPrecedes(Double.nan.diskKeyBytes))
        #expect(try Double.nan.withDiskKeyBytes { try Double(diskKeyBytes: $0) }.isNaN)
        let floats: [Float] = [-.infinity, -1.5, -0.0, .leastNonzeroMagnitude, 2.5, .infinity] + (0..<500).map { _ in Float(bitPattern: UInt32(truncatingIfNeeded: rng.next())) }.filter { !$0.isNaN }
        try checkOrder(floats)
        // As values, floating point keeps its exact bits.
        let negativeZero = try (-0.0 as Double).withDiskValueBytes { try Double(diskValueBytes: $0) }
        #expect(negativeZero.sign == .minus)
    }

    @Test func stringsKeepOrderIncludingEmptyNulAndUnicode() throws {
        var rng = SplitMix64(seed: 3)
        let alphabet: [Character] = ["\0", "a", "b", "z", "é", "ß", "中", "😀", "\u{1}", "\u{7F}", "A"]
        var strings = ["", "\0", "\0\0", "\0a", "a", "a\0", "a\0b", "ab", "b", String(repeating: "z", count: 300)]
        strings += (0..<2_000).map { _ in String((0..<Int.random(in: 0..<8, using: &rng)).map { _ in alphabet.randomElement(using: &rng)! }) }
        try checkOrder(strings)
        #expect("".diskKeyBytes == [0])
        #expect("\0".diskKeyBytes == [0, 0])
        #expect("abc".diskKeyBytes == Array("abc".utf8))
        // Canonically equal strings are one key.
        #expect("\u{E9}".diskKeyBytes == "e\u{301}".diskKeyBytes)
        let bytes: [[UInt8]] = [[], [0], [0, 0], [0, 1], [1], [1, 0], [255], [255, 255]]
        try checkOrder(bytes, by: { $0.lexicographicallyPrecedes($1) }, equal: ==)
    }

    @Test func boolAndUUIDRoundTrip() throws {
        try checkOrder([true, false, true], by: { !$0 && $1 }, equal: ==)
        let ids = (0..<100).map { _ in UUID() }
        for id in ids { #expect(try id.withDiskKeyBytes { try UUID(diskKeyBytes: $0) } == id) }
    }

    struct Edge: DiskCompositeKey, Comparable, Hashable {
        var from: Int32
        var label: String
        var to: UInt16
        static var diskKeyCodec: String { "edge(int32,string,uint16)" }
        func encodeComponents(into key: inout DiskKeyEncoder) { key.append(from); key.append(label); key.append(to) }
        init(components key: inout DiskKeyDecoder) throws { from = try key.next(); label = try key.next(); to = try key.next() }
        init(_ from: Int32, _ label: String, _ to: UInt16) { self.from = from; self.label = label; self.to = to }
        static func < (a: Edge, b: Edge) -> Bool { (a.from, a.label, a.to) < (b.from, b.label, b.to) }
    }

    @Test func compositeKeysOrderByComponents() throws {
        var rng = SplitMix64(seed: 4)
        let labels = ["", "\0", "a", "a\0", "ab", "b"]
        let edges = (0..<2_000).map { _ in
            Edge(Int32.random(in: -3...3, using: &rng), labels.randomElement(using: &rng)!, UInt16.random(in: 0...3, using: &rng))
        }
        try checkOrder(edges)
        #expect(throws: DiskCollectionsError.self) { try [UInt8]([0, 0, 0, 1, 0x61]).withUnsafeBytes { try Edge(diskKeyBytes: $0) } }
    }

    struct Point: CodableDiskValue, Equatable {
        var x: Double
        var y: Int
        var name: String?
        var tags: [String]
        var blob: Data
        var nested: [String: [Int64]]
    }

    @Test func codableValuesRoundTripAsCBOR() throws {
        let p = Point(x: -1.25, y: -70000, name: nil, tags: ["a", ""], blob: Data([0, 1, 255]),
                      nested: ["k": [Int64.min, Int64.max, 0]])
        let back = try p.withDiskValueBytes { try Point(diskValueBytes: $0) }
        #expect(back == p)
        #expect(Point.diskValueCodec == "cbor:Point")
        // RFC 8949 examples: {"a": 1} is A1 61 61 01; -1000 is 39 03 E7; 1.5 is FA 3F C0 00 00 (single).
        #expect(try CBOREncoder().encode(["a": 1]) == [0xA1, 0x61, 0x61, 0x01])
        #expect(try CBOREncoder().encode(-1000) == [0x39, 0x03, 0xE7])
        #expect(try CBOREncoder().encode(1.5) == [0xFA, 0x3F, 0xC0, 0x00, 0x00])
        #expect(try CBORDecoder().decode(Double.self, from: [0xF9, 0x3C, 0x00]) == 1.0)  // half precision
        // Malformed or truncated bytes are errors, never crashes.
        for bad: [UInt8] in [[], [0x61], [0xA1, 0x61], [0x9B, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0xFF], [0x01, 0x02]] {
            #expect(throws: (any Error).self) { try CBORDecoder().decode(Point.self, from: bad) }
        }
    }
}
