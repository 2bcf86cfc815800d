import Foundation

/// A CBOR (RFC 8949) data item: the compact binary form ``CodableDiskValue`` stores.
@usableFromInline
indirect enum CBOR: Equatable {
    case unsigned(UInt64)
    case negative(UInt64)  // the value is -1 - n
    case bytes([UInt8])
    case text(String)
    case array([CBOR])
    case map([(CBOR, CBOR)])
    case bool(Bool)
    case null
    case double(Double)

    @usableFromInline static func == (a: CBOR, b: CBOR) -> Bool {
        switch (a, b) {
        case let (.unsigned(x), .unsigned(y)), let (.negative(x), .negative(y)): return x == y
        case let (.bytes(x), .bytes(y)): return x == y
        case let (.text(x), .text(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.map(x), .map(y)): return x.count == y.count && zip(x, y).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        case let (.double(x), .double(y)): return x.bitPattern == y.bitPattern
        default: return false
        }
    }

    func write(to out: inout [UInt8]) {
        func head(_ major: UInt8, _ n: UInt64) {
            let m = major << 5
            switch n {
            case 0..<24: out.append(m | UInt8(n))
            case 24...0xFF: out += [m | 24, UInt8(n)]
            case 0x100...0xFFFF: out.append(m | 25); withUnsafeBytes(of: UInt16(n).bigEndian) { out += $0 }
            case 0x10000...0xFFFF_FFFF: out.append(m | 26); withUnsafeBytes(of: UInt32(n).bigEndian) { out += $0 }
            default: out.append(m | 27); withUnsafeBytes(of: n.bigEndian) { out += $0 }
            }
        }
        switch self {
        case .unsigned(let n): head(0, n)
        case .negative(let n): head(1, n)
        case .bytes(let b): head(2, UInt64(b.count)); out += b
        case .text(let s): head(3, UInt64(s.utf8.count)); out += s.utf8
        case .array(let items): head(4, UInt64(items.count)); for i in items { i.write(to: &out) }
        case .map(let pairs): head(5, UInt64(pairs.count)); for (k, v) in pairs { k.write(to: &out); v.write(to: &out) }
        case .bool(let b): out.append(b ? 0xF5 : 0xF4)
        case .null: out.append(0xF6)
        case .double(let d):
            if let f = Float(exactly: d) ?? (d.isNaN ? Float.nan : nil) {
                out.append(0xFA); withUnsafeBytes(of: f.bitPattern.bigEndian) { out += $0 }
            } else {
                out.append(0xFB); withUnsafeBytes(of: d.bitPattern.bigEndian) { out += $0 }
            }
        }
    }

    /// Parses one item from `bytes` starting at `i`; throws on anything malformed or unsupported.
    static func read(_ bytes: UnsafeRawBufferPointer, _ i: inout Int, depth: Int = 0) throws -> CBOR {
        guard depth < 512 else { throw corrupt("CBOR nested too deeply") }
        func take(_ n: Int) throws -> UnsafeRawBufferPointer {
            guard n >= 0, i + n <= bytes.count else { throw corrupt("CBOR value truncated") }
            defer { i += n }
            return UnsafeRawBufferPointer(rebasing: bytes[i..<(i + n)])
        }
        func number(_ b: UnsafeRawBufferPointer) -> UInt64 { b.reduce(0) { $0 << 8 | UInt64($1) } }
        let initial = try take(1)[0]
        let major = initial >> 5, info = initial & 0x1F
        if major == 7 {
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 25:
                let h = UInt16(number(try take(2)))
                return .double(Double(Float16Bits.decode(h)))
            case 26: return .double(Double(Float(bitPattern: UInt32(number(try take(4))))))
            case 27: return .double(Double(bitPattern: number(try take(8))))
            default: throw corrupt("unsupported CBOR simple value \(info)")
            }
        }
        let n: UInt64
        switch info {
        case 0..<24: n = UInt64(info)
        case 24: n = number(try take(1))
        case 25: n = number(try take(2))
        case 26: n = number(try take(4))
        case 27: n = number(try take(8))
        default: throw corrupt("unsupported CBOR length encoding \(info)")
        }
        func count() throws -> Int {
            guard n <= UInt64(bytes.count - i) else { throw corrupt("CBOR length \(n) exceeds the value") }
            return Int(n)
        }
        switch major {
        case 0: return .unsigned(n)
        case 1: return .negative(n)
        case 2: return .bytes(Array(try take(try count())))
        case 3:
            guard let s = String(validating: try take(try count()), as: UTF8.self) else { throw corrupt("CBOR text is not UTF-8") }
            return .text(s)
        case 4: return .array(try (0..<count()).map { _ in try read(bytes, &i, depth: depth + 1) })
        case 5: return .map(try (0..<count()).map { _ in (try read(bytes, &i, depth: depth + 1), try read(bytes, &i, depth: depth + 1)) })
        default: throw corrupt("unsupported CBOR major type \(major)")
        }
    }
}

/// IEEE half precision, for reading CBOR written by other encoders.
enum Float16Bits {
    static func decode(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exponent = Int((h >> 10) & 0x1F), mantissa = Float(h & 0x3FF)
        switch exponent {
        case 0: return sign * mantissa * Float(pow(2.0, -24.0))
        case 31: return mantissa == 0 ? sign * .infinity : .nan
        default: return sign * (1 + mantissa / 1024) * Float(pow(2.0, Double(exponent - 15)))
        }
    }
}
