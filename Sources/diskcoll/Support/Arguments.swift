import ArgumentParser
import DiskCollectionsTools

extension InterchangeFormat: ExpressibleByArgument {}
extension CollectionKind: ExpressibleByArgument {}
extension BytesEncoding: ExpressibleByArgument {}

extension FieldType: ExpressibleByArgument {
    public init?(argument: String) {
        guard let t = FieldType(rawValue: argument), t != .raw else { return nil }
        self = t
    }
    public static var allValueStrings: [String] { namedTypes.map(\.rawValue) }
}

/// `--delimiter`: one ASCII character, or `tab`.
struct Delimiter: ExpressibleByArgument {
    let byte: UInt8
    init?(argument: String) {
        switch argument {
        case "tab", "\\t", "\t": byte = 0x09
        default:
            guard argument.utf8.count == 1, let b = argument.utf8.first, b != UInt8(ascii: "\""), b != 0x0A, b != 0x0D else { return nil }
            byte = b
        }
    }
    static var defaultCompletionKind: CompletionKind { .list([",", ";", "tab", "|"]) }
}
