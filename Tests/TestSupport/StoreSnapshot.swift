import LMDB

/// Everything an LMDB environment holds, read byte for byte: every named database's entries and the
/// last committed transaction. Two snapshots are equal when nothing was committed in between.
public struct StoreSnapshot: Equatable, CustomStringConvertible {
    /// The last committed transaction's id.
    public var transaction: Int
    /// Every named database's entries, key and value bytes in order.
    public var databases: [String: [[UInt8]]]

    /// Reads the environment in `path` (read-only, at the map size the file records); an absent store
    /// is an empty snapshot.
    public init(_ path: String) throws {
        guard let meta = try DataFile.meta(in: path) else {
            transaction = -1
            databases = [:]
            return
        }
        transaction = meta.transaction
        var options = Environment.Options(mapSize: 0, maximumDatabases: 32_767)
        options.readOnly = true
        let env = try Environment(path: path, options: options)
        defer { env.close() }
        var all: [String: [[UInt8]]] = [:]
        try env.read { txn in
            for name in try txn.databaseNames() {
                guard let db = try txn.openExistingDatabase(name) else { continue }
                try txn.withCursor(db) { cursor in
                    var entries: [[UInt8]] = []
                    for (k, v) in cursor.entries() { entries.append(Array(k)); entries.append(Array(v)) }
                    all[name] = entries
                }
            }
        }
        databases = all
    }

    /// The entries of database `name`, as (key, value) pairs.
    public func entries(_ name: String) -> [([UInt8], [UInt8])] {
        let flat = databases[name] ?? []
        return stride(from: 0, to: flat.count, by: 2).map { (flat[$0], flat[$0 + 1]) }
    }

    public var description: String {
        "transaction \(transaction): " + databases.keys.sorted().map { "\($0) (\(databases[$0]!.count / 2))" }.joined(separator: ", ")
    }
}
