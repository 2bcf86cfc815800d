import DiskCollections
import DiskCollectionsTools
import Foundation
import Testing
import TestSupport

@Suite struct FieldTypeTests {
    private func encode(_ type: FieldType, _ role: FieldCoder.Role, _ text: String, bytes: BytesEncoding = .base64) throws -> [UInt8] {
        let out = ByteBuffer()
        var t = text
        try t.withUTF8 { try FieldCoder(type, role, bytes: bytes).encode(text: UnsafeRawBufferPointer($0), into: out) }
        return out.array
    }

    private func text(_ type: FieldType, _ role: FieldCoder.Role, _ stored: [UInt8], bytes: BytesEncoding = .base64) throws -> String {
        let out = ByteBuffer()
        try stored.withUnsafeBytes { try FieldCoder(type, role, bytes: bytes).appendText(stored: $0, into: out) }
        return out.string
    }

    private func failure(_ type: FieldType, _ role: FieldCoder.Role, _ text: String) -> String? {
        do { _ = try encode(type, role, text) } catch { return (error as? FieldError)?.message ?? "\(error)" }
        return nil
    }

    /// Text encodes to exactly what the library stores for the Swift value, and decodes back.
    @Test func textMatchesTheLibrarysEncodings() throws {
        #expect(try encode(.uint64, .key, "18446744073709551615") == UInt64.max.diskKeyBytes)
        #expect(try encode(.int64, .key, "-9223372036854775808") == Int64.min.diskKeyBytes)
        #expect(try encode(.int32, .value, "-5") == (try (-5 as Int32).withDiskValueBytes { Array($0) }))
        #expect(try encode(.uint8, .key, " 255 ") == [255])
        #expect(try encode(.double, .key, "-0.0") == (0.0 as Double).diskKeyBytes)
        #expect(try encode(.double, .value, "-0.0") == (try (-0.0 as Double).withDiskValueBytes { Array($0) }))
        #expect(try encode(.float, .value, "1.5") == (try (1.5 as Float).withDiskValueBytes { Array($0) }))
        #expect(try encode(.double, .key, "NaN") == Double.nan.diskKeyBytes)
        #expect(try encode(.double, .value, "-Infinity") == (try (-Double.infinity).withDiskValueBytes { Array($0) }))
        #expect(try encode(.bool, .key, "true") == [1])
        #expect(try encode(.string, .key, "e\u{301}") == "é".diskKeyBytes)  // NFC, as a key
        #expect(try encode(.string, .value, "e\u{301}") == Array("e\u{301}".utf8))  // as given, as a value
        #expect(try encode(.string, .key, "") == [0])  // the leading-00 rule
        #expect(try encode(.bytes, .key, "AAE=") == [0, 0, 1])
        #expect(try encode(.bytes, .key, "0001", bytes: .hex) == [0, 0, 1])
        #expect(try encode(.raw, .key, "0001", bytes: .hex) == [0, 1])
        let uuid = UUID()
        #expect(try encode(.uuid, .key, uuid.uuidString.lowercased()) == uuid.diskKeyBytes)
        #expect(try encode(.json, .value, " { \"a\" : [1, 2] } ") == Array("{\"a\":[1,2]}".utf8))

        #expect(try text(.int64, .key, Int64.min.diskKeyBytes) == "-9223372036854775808")
        #expect(try text(.double, .value, try 0.1.withDiskValueBytes { Array($0) }) == "0.1")
        #expect(try text(.double, .value, try Double.infinity.withDiskValueBytes { Array($0) }) == "Infinity")
        #expect(try text(.string, .key, [0]) == "")
        #expect(try text(.bytes, .key, [0, 0, 1]) == "AAE=")
        #expect(try text(.raw, .key, [0, 1], bytes: .hex) == "0001")
    }

    /// Raw bytes from base64 and hex text, of many sizes (regression: the fuzzer found the decoded
    /// bytes read after their array was freed; `swift test --sanitize=address` checks it directly).
    @Test func rawBytesFromText() throws {
        var rng = SplitMix64(seed: 31)
        for n in 0..<300 {
            let bytes = (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            for encoding in [BytesEncoding.base64, .hex] {
                let text = try text(.raw, .value, bytes, bytes: encoding)
                #expect(try encode(.raw, .value, text, bytes: encoding) == bytes)
            }
        }
    }

    /// Every double's text reads back as the same bits (NaN aside: one NaN).
    @Test func doublesRoundTripExactly() throws {
        var rng = SplitMix64(seed: 4)
        for _ in 0..<5_000 {
            let d = Double(bitPattern: rng.next())
            guard !d.isNaN else { continue }
            let stored = try d.withDiskValueBytes { Array($0) }
            #expect(try encode(.double, .value, try text(.double, .value, stored)) == stored)
        }
    }

    @Test func badTextSaysWhatWasExpectedAndFound() {
        #expect(failure(.uint8, .key, "256")?.contains("does not fit uint8 (0...255)") == true)
        #expect(failure(.int8, .key, "-129")?.contains("does not fit int8 (-128...127)") == true)
        #expect(failure(.uint64, .key, "18446744073709551616")?.contains("does not fit uint64") == true)
        #expect(failure(.uint32, .key, "-1")?.contains("does not fit uint32") == true)
        #expect(failure(.uint64, .key, "12a")?.contains("expected an unsigned integer (uint64), found \"12a\"") == true)
        #expect(failure(.int64, .key, "")?.contains("found an empty field") == true)
        #expect(failure(.double, .key, "1e400")?.contains("too large for double") == true)
        #expect(failure(.double, .key, "0x1p3")?.contains("expected a number (double)") == true)
        #expect(failure(.bool, .key, "yes")?.contains("expected true or false") == true)
        #expect(failure(.bytes, .key, "not base64!")?.contains("expected bytes in base64") == true)
        #expect(failure(.uuid, .key, "1234")?.contains("expected a UUID") == true)
        #expect(failure(.json, .value, "{\"a\": }")?.contains("not a JSON value") == true)
        for role in [FieldCoder.Role.key, .value] {  // invalid UTF-8 straight from an input's bytes
            let message: String? = [UInt8]([0x61, 0xFF]).withUnsafeBytes { raw in
                do { try FieldCoder(.string, role).encode(text: raw, into: ByteBuffer()) } catch { return (error as? FieldError)?.message }
                return nil
            }
            #expect(message?.contains("not valid UTF-8") == true)
        }
    }

    /// A stored key that is not the form the library writes (a string not in NFC, a bool of 2) fails
    /// validation: a program would never find it.
    @Test func validationRejectsNonCanonicalStoredForms() throws {
        func validate(_ type: FieldType, _ role: FieldCoder.Role, _ bytes: [UInt8]) -> String? {
            do { try bytes.withUnsafeBytes { try FieldCoder(type, role).validate(stored: $0, scratch: ByteBuffer()) } } catch { return (error as? FieldError)?.message ?? "\(error)" }
            return nil
        }
        #expect(validate(.string, .key, Array("e\u{301}".utf8))?.contains("not the form the library stores") == true)
        #expect(validate(.string, .key, Array("é".utf8)) == nil)
        #expect(validate(.string, .key, [0x61, 0xFF])?.contains("UTF-8") == true)
        #expect(validate(.uint64, .key, [1, 2, 3])?.contains("8 bytes") == true)
        #expect(validate(.bool, .value, [2]) != nil)
        #expect(validate(.json, .value, Array("{\"a\":".utf8)) != nil)
        #expect(validate(.bytes, .key, [0, 0x61]) != nil)  // the library writes "a" as 61
        #expect(validate(.bytes, .key, [0, 0, 0x61]) == nil)  // and "\0a" as 00 00 61
        #expect(validate(.bytes, .key, [0x61]) == nil)
    }
}
