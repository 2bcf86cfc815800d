#if canImport(Glibc)
import Glibc
#endif

/// A buffered output: standard output, or a file written whole or not at all.
///
/// A file is written under a temporary name beside it and renamed over `path` only by ``finish()``,
/// after an `fsync`, so a failed or interrupted export never leaves half a file behind.
public final class OutputFile {
    /// The output's name for messages: its path, or "standard output".
    public let name: String
    /// Bytes written so far.
    public private(set) var written = 0
    /// The buffer: append to it, then call ``flushIfFull()``.
    public let buffer = ByteBuffer(capacity: 1 << 20)

    private let descriptor: Int32
    private let path: String?
    private let temporaryPath: String?
    private var finished = false

    /// Standard output.
    public init() {
        descriptor = 1
        name = "standard output"
        path = nil
        temporaryPath = nil
    }

    /// A new file at `path` (replacing one that exists, when ``finish()`` succeeds); `"-"` is standard output.
    /// - Throws: ``InterchangeError`` with kind `cannotCreate`.
    public convenience init(path: String) throws {
        if path == "-" { self.init(); return }
        try self.init(file: path)
    }

    private init(file: String) throws {
        let temporary = file + ".partial-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw InterchangeError(.cannotCreate, source: file, "cannot create the output: \(String(cString: strerror(errno)))",
                                   advice: "check that the directory exists and is writable")
        }
        descriptor = fd
        name = file
        path = file
        temporaryPath = temporary
    }

    deinit {
        if let temporaryPath, !finished {
            Glibc.close(descriptor)
            unlink(temporaryPath)
        }
    }

    /// Writes the buffer out once it holds 1 MiB.
    @inlinable @inline(__always)
    public func flushIfFull() throws {
        if buffer.count >= 1 << 20 { try flush() }
    }

    /// Writes the buffer out.
    public func flush() throws {
        var offset = 0
        let bytes = buffer.bytes
        while offset < bytes.count {
            let n = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                throw InterchangeError(.io, source: name, "writing the output failed: \(String(cString: strerror(code)))",
                                       advice: code == EPIPE ? nil : "free disk space and run the export again")
            }
            offset += n
        }
        written += bytes.count
        buffer.removeAll()
    }

    /// Writes what is buffered; for a file, syncs it and renames it into place.
    public func finish() throws {
        try flush()
        guard let path, let temporaryPath, !finished else { return }
        guard fsync(descriptor) == 0 else {
            throw InterchangeError(.io, source: path, "syncing the output failed: \(String(cString: strerror(errno)))")
        }
        Glibc.close(descriptor)
        finished = true
        guard rename(temporaryPath, path) == 0 else {
            let code = errno
            unlink(temporaryPath)
            throw InterchangeError(.cannotCreate, source: path, "cannot put the output in place: \(String(cString: strerror(code)))")
        }
    }
}

@available(*, unavailable, message: "an OutputFile belongs to one writer")
extension OutputFile: Sendable {}
