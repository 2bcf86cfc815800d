import Foundation

/// A value shared by test threads, guarded by an `NSLock` (a pthread mutex the thread sanitizer sees).
public final class Locked<Value>: @unchecked Sendable {
    // Sendable: every access to `value` is under `lock`.
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
