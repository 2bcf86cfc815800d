#if canImport(Glibc)
import Glibc
#endif

/// Reads an input (a file or standard input) line by line through one buffer: memory stays at the
/// buffer's size (1 MiB, more only for a longer line) however long the input.
///
/// A line is handed out without its terminator; ``terminator`` says which it had (`\n`, `\r\n`, or
/// none for a last line without one). The bytes are valid until the next call.
public final class LineReader {
    /// How the last line returned ended.
    public enum Terminator: Sendable {
        case newline
        case carriageReturnNewline
        /// The input ended without a newline after this line.
        case endOfInput
    }

    /// The input's name for messages: its path, or "standard input".
    public let name: String
    /// The input's size in bytes if it is a regular file (for progress), else `nil`.
    public let totalBytes: Int?
    /// The 1-based number of the last line returned (0 before the first).
    public private(set) var lineNumber = 0
    /// Bytes of the input consumed so far.
    public private(set) var consumed = 0
    /// The terminator of the last line returned.
    public private(set) var terminator: Terminator = .newline

    private let descriptor: Int32
    private let ownsDescriptor: Bool
    private let isSeekable: Bool
    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var start = 0
    private var end = 0
    private var atEnd = false

    /// Opens `path` for reading; `"-"` is standard input.
    /// - Throws: ``InterchangeError`` (`noInput` for a missing file or a directory, `io` otherwise).
    public convenience init(path: String, bufferSize: Int = 1 << 20) throws {
        if path == "-" {
            self.init(descriptor: 0, name: "standard input", ownsDescriptor: false, bufferSize: bufferSize)
            return
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            throw InterchangeError(code == ENOENT ? .noInput : .io, source: path,
                                   "cannot open the input: \(String(cString: strerror(code)))",
                                   advice: code == ENOENT ? "check the path, or give - to read standard input" : nil)
        }
        var st = stat()
        if fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR {
            Glibc.close(fd)
            throw InterchangeError(.noInput, source: path, "the input is a directory", advice: "give the file to read")
        }
        self.init(descriptor: fd, name: path, ownsDescriptor: true, bufferSize: bufferSize)
    }

    /// Reads from an open descriptor.
    public init(descriptor: Int32, name: String, ownsDescriptor: Bool, bufferSize: Int = 1 << 20) {
        self.descriptor = descriptor
        self.name = name
        self.ownsDescriptor = ownsDescriptor
        var st = stat()
        let regular = fstat(descriptor, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        totalBytes = regular ? Int(st.st_size) : nil
        isSeekable = regular && lseek(descriptor, 0, SEEK_CUR) == 0
        capacity = max(4096, bufferSize)
        buffer = .allocate(byteCount: capacity, alignment: 16)
    }

    /// Reads `bytes` held in memory (for tests and fuzzing).
    public init(bytes: some Collection<UInt8>, name: String = "input") {
        descriptor = -1
        self.name = name
        ownsDescriptor = false
        totalBytes = bytes.count
        isSeekable = true
        capacity = max(4096, bytes.count)
        buffer = .allocate(byteCount: capacity, alignment: 16)
        UnsafeMutableRawBufferPointer(start: buffer, count: capacity).copyBytes(from: bytes)
        end = bytes.count
        atEnd = true
    }

    deinit {
        buffer.deallocate()
        if ownsDescriptor { Glibc.close(descriptor) }
    }

    /// The next line without its terminator, or `nil` at the end of the input.
    /// - Throws: ``InterchangeError`` with kind `io` if reading fails.
    public func nextLine() throws -> UnsafeRawBufferPointer? {
        var searchFrom = start
        while true {
            if searchFrom < end, let nl = memchr(buffer + searchFrom, 0x0A, end - searchFrom) {
                let newline = buffer.distance(to: nl)
                var lineEnd = newline
                terminator = .newline
                if lineEnd > start && buffer.load(fromByteOffset: lineEnd - 1, as: UInt8.self) == 0x0D {
                    lineEnd -= 1
                    terminator = .carriageReturnNewline
                }
                let line = UnsafeRawBufferPointer(start: buffer + start, count: lineEnd - start)
                consumed += newline + 1 - start
                start = newline + 1
                lineNumber += 1
                return line
            }
            if atEnd {
                guard start < end else { return nil }
                let line = UnsafeRawBufferPointer(start: buffer + start, count: end - start)
                consumed += end - start
                start = end
                lineNumber += 1
                terminator = .endOfInput
                return line
            }
            searchFrom = end - start  // after the move below, the unsearched bytes begin here
            try refill()
        }
    }

    /// Moves the unread bytes to the front, grows the buffer if a line fills it, and reads more.
    private func refill() throws {
        if start > 0 {
            if end > start { memmove(buffer, buffer + start, end - start) }
            end -= start
            start = 0
        }
        if end == capacity {
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
            bigger.copyMemory(from: buffer, byteCount: end)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        while true {
            let n = read(descriptor, buffer + end, capacity - end)
            if n > 0 { end += n; return }
            if n == 0 { atEnd = true; return }
            if errno == EINTR { continue }
            throw InterchangeError(.io, source: name, line: lineNumber + 1, "reading the input failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Whether ``rewind()`` can start the input again (a regular file read from its start).
    public var canRewind: Bool { isSeekable }

    /// Starts the input again from its first line (an import replays its transaction after the map grew).
    /// - Throws: ``InterchangeError`` if the input is a pipe or terminal.
    public func rewind() throws {
        if descriptor < 0 {  // in memory: the bytes are all still in the buffer
            end = totalBytes ?? end
            start = 0; lineNumber = 0; consumed = 0
            return
        }
        guard isSeekable, lseek(descriptor, 0, SEEK_SET) == 0 else {
            throw InterchangeError(.io, source: name, "the input cannot be read a second time (it is a pipe)")
        }
        start = 0; end = 0; atEnd = false; lineNumber = 0; consumed = 0
    }
}

@available(*, unavailable, message: "a LineReader belongs to one parser")
extension LineReader: Sendable {}
