import DiskCollections

/// A store in a fresh temporary directory, reopened on demand.
public final class StoreFixture {
    public let directory = TemporaryDirectory("store")
    public private(set) var store: Store

    public init() throws { store = try Store(at: directory.path) }

    /// Closes and reopens the store, as a new process would find it.
    public func reopen() throws {
        store.close()
        store = try Store(at: directory.path)
    }

    deinit { store.close() }
}
