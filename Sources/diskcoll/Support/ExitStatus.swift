import ArgumentParser
import DiskCollections
import DiskCollectionsTools
import Foundation
import LMDB

/// diskcoll's exit statuses (docs/cli.md#exit-status), after BSD's sysexits.h.
enum ExitStatus {
    static let failure: Int32 = 1        // the store failed, or verify found damage
    static let usage: Int32 = 64         // options that do not fit each other or the store
    static let dataError: Int32 = 65     // a malformed input line; nothing imported
    static let noInput: Int32 = 66       // no such input file or store
    static let cannotCreate: Int32 = 73  // the output cannot be created
    static let ioError: Int32 = 74       // reading or writing failed: a full disk, a file size limit
    static let temporaryFailure: Int32 = 75  // the store is in use; run it again later
    static let permission: Int32 = 77    // permission denied

    /// The status for `error`.
    static func of(_ error: any Error) -> Int32 {
        switch error {
        case let e as InterchangeError:
            switch e.kind {
            case .usage: return usage
            case .badInput: return dataError
            case .noInput: return noInput
            case .cannotCreate: return cannotCreate
            case .io: return ioError
            }
        case let e as LMDBError:
            switch e.code {
            case .noSpace, .ioError, .fileTooLarge, .readOnlyFileSystem, .mapFull: return ioError
            case .permissionDenied: return permission
            case .noSuchFile, .notDirectory, .isDirectory, .nameTooLong: return noInput
            case .inUse, .alreadyOpen: return temporaryFailure
            default: return failure
            }
        case let e as DiskCollectionsError:
            switch e {
            case .typeMismatch, .invalidName, .keyTooLong: return usage
            case .readOnlyStore: return permission
            default: return failure
            }
        case is ValidationError: return usage
        default: return failure
        }
    }
}

/// Runs a command's work; on an error prints `diskcoll COMMAND: error: …` to standard error and exits
/// with its status (ArgumentParser would print every error with status 1).
func reportingErrors<R>(_ command: String, _ body: () throws -> R) throws -> R {
    do {
        return try body()
    } catch let e as ExitCode {
        throw e
    } catch {
        FileHandle.standardError.write(Data("diskcoll \(command): error: \(error)\n".utf8))
        throw ExitCode(ExitStatus.of(error))
    }
}

/// Writes `text` and a newline to standard error.
func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
