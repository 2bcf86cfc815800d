import DiskCollections
import Foundation
import Testing
import TestSupport

@Suite struct DiskJSONTests {
    struct Point: Codable, Equatable { var x: Double; var y: Double; var tag: String? }

    @Test func storesItsTextAndDecodesIntoACodableType() throws {
        let fixture = try StoreFixture()
        let docs = try fixture.store.map("docs", key: String.self, value: DiskJSON.self)
        try docs.setValue(try DiskJSON(encoding: Point(x: 1.5, y: -2, tag: "a")), forKey: "p")
        try docs.setValue(try DiskJSON(validating: #"[1, {"big": 18446744073709551615}, null]"#), forKey: "q")
        try fixture.reopen()
        let reopened = try fixture.store.map("docs", key: String.self, value: DiskJSON.self)
        #expect(try reopened["p"]?.decode(Point.self) == Point(x: 1.5, y: -2, tag: "a"))
        // The text is kept as given: a 64-bit integer is not rounded through a Double.
        #expect(try reopened["q"]?.text == #"[1, {"big": 18446744073709551615}, null]"#)
        #expect(try fixture.store.collections().first { $0.name == "docs" }?.descriptor.value == "json")
    }

    @Test func invalidTextIsATypedError() {
        for text in ["", "{", "[1,]", "{'a': 1}", "nul"] {
            let error = #expect(throws: DiskCollectionsError.self) { _ = try DiskJSON(validating: text) }
            #expect(error.map { "\($0)".contains("is not a JSON value") } == true, "\(text)")
        }
        #expect((try? DiskJSON(validating: "\"just a string\"")) != nil)
        #expect((try? DiskJSON(validating: " 42 ")) != nil)
    }

    @Test func storedBytesThatAreNotUTF8AreCorrupt() {
        let error = #expect(throws: DiskCollectionsError.self) {
            _ = try [UInt8]([0x7B, 0xFF, 0x7D]).withUnsafeBytes { try DiskJSON(diskValueBytes: $0) }
        }
        #expect(error.map { "\($0)".contains("not valid UTF-8") } == true)
    }
}
