import DiskCollectionsTools
import Foundation
import Testing
import TestSupport

@Suite struct LineReaderTests {
    @Test func linesTerminatorsAndLineNumbers() throws {
        let input = try Input("a\nbb\r\n\nlast")
        var lines: [String] = []
        var terminators: [LineReader.Terminator] = []
        while let line = try input.reader.nextLine() {
            lines.append(String(decoding: line, as: UTF8.self))
            terminators.append(input.reader.terminator)
        }
        #expect(lines == ["a", "bb", "", "last"])
        #expect(terminators == [.newline, .carriageReturnNewline, .newline, .endOfInput])
        #expect(input.reader.lineNumber == 4)
        #expect(input.reader.consumed == 11)
        #expect(input.reader.totalBytes == 11)
    }

    /// Lines longer than the buffer, and lines that cross its refills, come out whole.
    @Test func linesAcrossRefillsAndLongerThanTheBuffer() throws {
        var rng = SplitMix64(seed: 5)
        var expected: [String] = []
        for _ in 0..<2_000 {
            let length = Int(rng.next() % 50) == 0 ? 9_000 + Int(rng.next() % 3_000) : Int(rng.next() % 200)
            expected.append(String(repeating: "x", count: length) + "\(expected.count)")
        }
        let input = try Input(expected.joined(separator: "\n") + "\n", bufferSize: 4096)
        var got: [String] = []
        while let line = try input.reader.nextLine() { got.append(String(decoding: line, as: UTF8.self)) }
        #expect(got == expected)
    }

    @Test func rewindStartsAgain() throws {
        let input = try Input("one\ntwo\n")
        _ = try input.reader.nextLine()
        #expect(input.reader.canRewind)
        try input.reader.rewind()
        #expect(try input.reader.nextLine().map { String(decoding: $0, as: UTF8.self) } == "one")
        #expect(input.reader.lineNumber == 1)
    }

    @Test func aMissingFileAndADirectoryAreNoInput() {
        let dir = TemporaryDirectory()
        let missing = interchangeError { _ = try LineReader(path: dir.appending("nope")) }
        #expect(missing?.kind == .noInput)
        #expect(missing?.description.contains("No such file") == true)
        let directory = interchangeError { _ = try LineReader(path: dir.path) }
        #expect(directory?.kind == .noInput)
        #expect(directory?.description.contains("is a directory") == true)
    }
}
