import DiskCollectionsTools
import Foundation
import TestSupport

/// An input for a parser: `bytes` in a file of its own, read through a buffer of `bufferSize`.
final class Input {
    let directory = TemporaryDirectory("input")
    let path: String
    let reader: LineReader

    init(_ bytes: [UInt8], name: String = "input", bufferSize: Int = 1 << 20) throws {
        path = directory.appending(name)
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        reader = try LineReader(path: path, bufferSize: bufferSize)
    }

    convenience init(_ text: String, name: String = "input", bufferSize: Int = 1 << 20) throws {
        try self.init(Array(text.utf8), name: name, bufferSize: bufferSize)
    }
}

/// The bytes a ByteBuffer holds.
extension ByteBuffer {
    var string: String { String(decoding: bytes, as: UTF8.self) }
}

/// Runs `body` and returns the InterchangeError it throws, or nil.
func interchangeError(_ body: () throws -> Void) -> InterchangeError? {
    do { try body() } catch let e as InterchangeError { return e } catch { return nil }
    return nil
}
