import DiskCollectionsTools
import Foundation

/// A one-line progress display on standard error, drawn only when standard error is a terminal (never
/// into a pipe or a log), at most ten times a second, and erased when the work ends.
final class ProgressBar {
    private let enabled: Bool
    private let verb: String
    private var lastDraw = -1.0
    private var drawn = false

    init(_ verb: String, quiet: Bool) {
        self.verb = verb
        enabled = !quiet && isatty(2) == 1 && ProcessInfo.processInfo.environment["TERM"] != "dumb"
    }

    func update(_ p: WorkProgress) {
        if let phase = p.phase, enabled {
            FileHandle.standardError.write(Data(("\r\u{1B}[2K\(verb) \(Self.count(p.records)) records: \(phase)").utf8))
            drawn = true
            return
        }
        guard enabled, p.seconds - lastDraw >= 0.1 else { return }
        lastDraw = p.seconds
        var parts = ["\(verb) \(Self.count(p.records)) records", Self.bytes(p.bytes)]
        var fraction: Double?
        if let total = p.totalBytes, total > 0 { fraction = Double(p.bytes) / Double(total); parts[1] += " of " + Self.bytes(total) }
        if let total = p.totalRecords, total > 0 { fraction = Double(p.records) / Double(total) }
        if p.seconds > 0 { parts.append("\(Self.count(Int(Double(p.records) / p.seconds)))/s") }
        if let f = fraction, f > 0.01, f <= 1 {
            let width = 20, full = Int(f * Double(width))
            parts.insert(String(repeating: "█", count: full) + String(repeating: "░", count: width - full) + String(format: " %3.0f%%", f * 100), at: 1)
            let eta = p.seconds * (1 - f) / f
            parts.append(String(format: "ETA %d:%02d", Int(eta) / 60, Int(eta) % 60))
        }
        FileHandle.standardError.write(Data(("\r\u{1B}[2K" + parts.joined(separator: "  ")).utf8))
        drawn = true
    }

    func finish() {
        if drawn { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
        drawn = false
    }

    static func count(_ n: Int) -> String {
        switch n {
        case ..<10_000: return "\(n)"
        case ..<1_000_000: return String(format: "%.1fk", Double(n) / 1e3)
        default: return String(format: "%.2fM", Double(n) / 1e6)
        }
    }

    static func bytes(_ n: Int) -> String {
        switch n {
        case ..<(1 << 20): return String(format: "%.1f KB", Double(n) / 1024)
        case ..<(1 << 30): return String(format: "%.1f MB", Double(n) / 1_048_576)
        default: return String(format: "%.2f GB", Double(n) / 1_073_741_824)
        }
    }
}
