import Foundation
import LMDB
import Testing
import TestSupport

/// Guards that need a second process: a killed reader, fork(), and a transaction that escapes.
@Suite struct ProcessGuardTests {
    let helper = builtExecutable("LMDBTestHelper")

    /// Starts the helper and waits for its first line.
    func start(_ command: String, _ path: String, until word: String) throws -> Process {
        let (process, out, _) = try launch(helper, [command, path])
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains(word) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            seen += chunk
        }
        #expect(String(decoding: seen, as: UTF8.self).contains(word))
        return process
    }

    func killAndWait(_ process: Process) {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// A reader killed while another process keeps the environment open leaves its slot behind
    /// (the first process to open a lock file resets the table, so the other process matters here);
    /// the next open clears it with mdb_reader_check.
    @Test func staleReaderOfAKilledProcessIsClearedAtOpen() throws {
        let dir = TemporaryDirectory()
        do { let env = try Environment(path: dir.path); try env.write { txn in _ = try txn.openDatabase("d") } }
        let keeper = try start("hold-open", dir.path, until: "open")
        defer { killAndWait(keeper) }
        let reader = try start("hold-reader", dir.path, until: "reading")
        killAndWait(reader)
        #expect(reader.terminationReason == .uncaughtSignal)
        let env = try Environment(path: dir.path)
        #expect(env.staleReadersCleared == 1)
        #expect(try env.clearStaleReaders() == 0)
        try env.read { _ in }
    }

    @Test func usingAnEnvironmentAfterForkIsATypedError() throws {
        let dir = TemporaryDirectory()
        let result = try run(helper, ["fork", dir.path])
        #expect(result.standardOutput.contains("child: usedAfterFork"), "\(result.standardOutput) \(result.standardError)")
        #expect(result.standardOutput.contains("parent: ok"))
        #expect(result.status == 0)
    }

    @Test func aTransactionUsedAfterItsClosureTrapsWithAMessage() throws {
        let dir = TemporaryDirectory()
        let result = try run(helper, ["escape-transaction", dir.path])
        #expect(result.signalled)
        #expect(result.standardOutput.contains("escaped"))
        #expect(!result.standardOutput.contains("not reached"))
        #expect(result.standardError.contains("Transaction used after its read { } or write { } closure ended"))
    }
}
