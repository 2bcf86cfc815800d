import Foundation

/// The result of running a program to its end.
public struct ProcessResult: Sendable {
    public var status: Int32
    /// Whether the process ended by a signal (a trap, or SIGKILL).
    public var signalled: Bool
    public var standardOutput: String
    public var standardError: String
}

/// Paths of executables built beside the test bundle (`.build/debug/NAME`).
public func builtExecutable(_ name: String) -> String {
    let candidates = [
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
        Bundle.main.bundleURL,
        Bundle.main.bundleURL.deletingLastPathComponent(),
    ]
    for dir in candidates {
        let path = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    return candidates[0].appendingPathComponent(name).path
}

/// Starts `executable` with `arguments`; the caller waits or kills.
public func launch(_ executable: String, _ arguments: [String]) throws -> (Process, Pipe, Pipe) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = childEnvironment
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    return (process, out, err)
}

/// The children's environment: this process's, and under a sanitizer without Swift's crash
/// backtracer (its stack reader trips the address sanitizer and the child hangs instead of trapping).
private var childEnvironment: [String: String] {
    var environment = ProcessInfo.processInfo.environment
    if runsUnderASanitizer { environment["SWIFT_BACKTRACE"] = "enable=no" }
    return environment
}

/// Runs `executable` with `arguments` to its end and captures its output.
public func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> ProcessResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = childEnvironment
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    if let input {
        let inPipe = Pipe()
        process.standardInput = inPipe
        try process.run()
        inPipe.fileHandleForWriting.write(Data(input.utf8))
        try inPipe.fileHandleForWriting.close()
    } else {
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }
    // Read both pipes at once: a child that fills the stderr pipe (a crash backtrace is larger than
    // a pipe's 64 KiB) while we wait for stdout's end would block forever.
    let errBox = DataBox()
    let errReader = Thread { errBox.data = err.fileHandleForReading.readDataToEndOfFile(); errBox.done.signal() }
    errReader.start()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    errBox.done.wait()
    let errData = errBox.data
    process.waitUntilExit()
    return ProcessResult(status: process.terminationStatus,
                         signalled: process.terminationReason == .uncaughtSignal,
                         standardOutput: String(decoding: outData, as: UTF8.self),
                         standardError: String(decoding: errData, as: UTF8.self))
}

/// The standard error of a child, read on a thread of its own.
private final class DataBox: @unchecked Sendable {
    // `data` is written by the reader thread before it signals `done`, and read only after `wait()`.
    var data = Data()
    let done = DispatchSemaphore(value: 0)
}
