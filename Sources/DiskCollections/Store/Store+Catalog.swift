import Foundation
import LMDB

/// What the catalog records about a collection, stored as JSON under the collection's name in the
/// `__diskcollections_catalog` database (see docs/on-disk-format.md).
public struct CollectionDescriptor: Codable, Hashable, Sendable, CustomStringConvertible {
    /// The collection's kind: `map`, `set`, `array`, `queue` or `multimap`.
    public var kind: String
    /// The key codec (for sets, arrays and queues the element's, see docs/on-disk-format.md).
    public var key: String
    /// The value codec (`none` for sets).
    public var value: String
    /// The format version.
    public var version: Int

    public var description: String {
        switch kind {
        case "set": return "DiskSet<\(key)>"
        case "array": return "DiskArray<\(value)>"
        case "queue": return "DiskQueue<\(value)>"
        case "map": return "DiskMap<\(key), \(value)>"
        case "multimap": return "DiskMultimap<\(key), \(value)>"
        case "search": return "BreadthFirstSearch<\(key)>"
        default: return "\(kind)<\(key), \(value)>"
        }
    }
}

/// A collection as ``Store/collections()`` lists it.
public struct CollectionInfo: Codable, Hashable, Sendable {
    public var name: String
    public var descriptor: CollectionDescriptor
    /// Entries in the collection's database (for a multimap, key/value pairs).
    public var count: Int
}

extension Store {
    /// Opens or creates collection `name` as `descriptor`, checking the catalog.
    func open(_ name: String, _ descriptor: CollectionDescriptor, flags: Database.Flags) throws -> Database {
        try Self.validateName(name)
        let catalog = self.catalog
        if let db = try withRead({ txn in try Self.openCollection(name, as: descriptor, in: txn, catalog: catalog, create: nil) }) {
            return db
        }
        // The catalog's commit adds no keys to any set: complete presence tables stay complete.
        return try ownCommit { try withWrite { txn in
            try Self.openCollection(name, as: descriptor, in: txn, catalog: catalog, create: flags)!
        } }
    }

    /// Throws ``DiskCollectionsError/invalidName(_:reason:)`` for a name a collection cannot have.
    static func validateName(_ name: String) throws {
        guard !name.isEmpty, name.utf8.count <= 200 else {
            throw DiskCollectionsError.invalidName(name, reason: "a name has 1 to 200 bytes")
        }
        guard !name.hasPrefix("__") else {
            throw DiskCollectionsError.invalidName(name, reason: "names starting with __ are reserved")
        }
    }

    /// The one path that opens a collection against the catalog: the stored record's version, kind and
    /// types must match `descriptor`, and its database must exist. With `create` (the new database's
    /// flags) a missing collection is created, its catalog entry and database in `txn`.
    static func openCollection(_ name: String, as descriptor: CollectionDescriptor, in txn: Transaction,
                               catalog: Database, create flags: Database.Flags?) throws -> Database? {
        if let existing = try Self.descriptor(of: name, in: txn, catalog: catalog) {
            guard existing.version <= Store.formatVersion else {
                throw DiskCollectionsError.unsupportedFormat(collection: name, version: existing.version, supported: Store.formatVersion)
            }
            guard existing.kind == descriptor.kind, existing.key == descriptor.key, existing.value == descriptor.value else {
                throw DiskCollectionsError.typeMismatch(collection: name, stored: existing.description, requested: descriptor.description)
            }
            // Never a silently empty collection in place of one the catalog says exists.
            guard let database = try txn.openExistingDatabase(name) else { throw Self.missingDatabase(name, existing) }
            return database
        }
        guard let flags, !txn.isReadOnly else { return nil }
        try validateName(name)
        if try txn.openExistingDatabase(name) != nil {
            throw DiskCollectionsError.typeMismatch(collection: name, stored: "database not made by DiskCollections",
                                                    requested: descriptor.description)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        try txn.put(catalog, key: Array(name.utf8), value: Array(try encoder.encode(descriptor)))
        return try txn.openDatabase(name, flags: flags)!
    }

    /// The catalog's record of `name` in `txn`, or `nil` if it has none.
    static func descriptor(of name: String, in txn: Transaction, catalog: Database) throws -> CollectionDescriptor? {
        guard let stored = try txn.get(catalog, key: Array(name.utf8)) else { return nil }
        return try Self.descriptor(of: name, from: stored)
    }

    /// The catalog's record of collection `name`; a record that does not decode is a typed error.
    static func descriptor(of name: String, from bytes: some Collection<UInt8>) throws -> CollectionDescriptor {
        do {
            return try JSONDecoder().decode(CollectionDescriptor.self, from: Data(bytes))
        } catch {
            throw DiskCollectionsError.corrupt(collection: name, detail:
                "its catalog entry (\(bytes.count) bytes) is not a collection record: the store's catalog is damaged")
        }
    }

    static func missingDatabase(_ name: String, _ descriptor: CollectionDescriptor) -> DiskCollectionsError {
        .corrupt(collection: name, detail: "the catalog records a \(descriptor.description) but its LMDB database is missing: the store is damaged")
    }

    /// Every collection in the store, with its kind, types and count, sorted by name.
    public func collections() throws -> [CollectionInfo] {
        try withRead { txn in
            var result: [CollectionInfo] = []
            try txn.withCursor(catalog) { cursor in
                for (k, v) in cursor.entries() {
                    let name = String(decoding: k, as: UTF8.self)
                    let d = try Self.descriptor(of: name, from: v)
                    guard let database = try txn.openExistingDatabase(name) else { throw Self.missingDatabase(name, d) }
                    result.append(CollectionInfo(name: name, descriptor: d, count: try txn.count(database)))
                }
            }
            return result
        }
    }

    /// Removes collection `name` and its contents (for a ``BreadthFirstSearch``, its levels too).
    /// Returns whether it existed.
    @discardableResult
    public func removeCollection(_ name: String) throws -> Bool {
        try withWrite { txn in
            guard try txn.delete(catalog, key: Array(name.utf8)) else { return false }
            if let db = try txn.openExistingDatabase(name) {
                cache?.forget(database: db.handleID)
                cache?.dropPresence(db.handleID)
                dropQueueBuffer(db.handleID)
                try txn.clear(db, deleteDatabase: true)
            }
            let internalPrefix = SearchEngine.internalPrefix(name)
            for dbName in try txn.databaseNames() where dbName.hasPrefix(internalPrefix) {
                if let db = try txn.openExistingDatabase(dbName) { try txn.clear(db, deleteDatabase: true) }
            }
            return true
        }
    }

    // MARK: Factories

    /// The set `name` of `Element`s, created if missing.
    /// - Throws: ``DiskCollectionsError/typeMismatch(collection:stored:requested:)`` if `name` exists as
    ///   anything else.
    public func set<Element: DiskKey>(_ name: String, of: Element.Type = Element.self) throws -> DiskSet<Element> {
        let d = CollectionDescriptor(kind: "set", key: Element.diskKeyCodec, value: "none", version: Store.formatVersion)
        let database = try open(name, d, flags: [])
        if let width = (Element.self as? any FixedWidthDiskKey.Type)?.diskKeyWidth, width <= 8 {
            if let cache {
                // Complete from the start only if the set is empty in a committed snapshot (not in a
                // transaction that may still abort).
                let inTransaction = currentTransaction != nil
                let emptyAt = inTransaction ? nil
                    : try environment.read { txn in try txn.count(database) == 0 ? txn.id : nil }
                let register = { cache.registerPresence(database.handleID, width: width, emptyAt: emptyAt) }
                // Inside a read's closure the lock is not waited for (see StoreLock.withLockIfFree):
                // if busy, the table comes with the next `set(_:)` outside.
                if environment.callerIsInTransaction { lock.withLockIfFree(register) } else { lock.withLockOutsideTransactions(register) }
            }
        }
        return DiskSet(store: self, name: name, database: database)
    }

    /// The map `name` from `Key` to `Value`, created if missing.
    public func map<Key: DiskKey, Value: DiskValue>(_ name: String, key: Key.Type = Key.self,
                                                    value: Value.Type = Value.self) throws -> DiskMap<Key, Value> {
        let d = CollectionDescriptor(kind: "map", key: Key.diskKeyCodec, value: Value.diskValueCodec, version: Store.formatVersion)
        return DiskMap(store: self, name: name, database: try open(name, d, flags: []))
    }

    /// The array `name` of `Element`s, created if missing.
    public func array<Element: DiskValue>(_ name: String, of: Element.Type = Element.self) throws -> DiskArray<Element> {
        let d = CollectionDescriptor(kind: "array", key: "uint64", value: Element.diskValueCodec, version: Store.formatVersion)
        return DiskArray(store: self, name: name, database: try open(name, d, flags: []))
    }

    /// The FIFO queue `name` of `Element`s, created if missing.
    public func queue<Element: DiskValue>(_ name: String, of: Element.Type = Element.self) throws -> DiskQueue<Element> {
        let d = CollectionDescriptor(kind: "queue", key: "uint64", value: Element.diskValueCodec, version: Store.formatVersion)
        return DiskQueue(store: self, name: name, database: try open(name, d, flags: []))
    }

    /// The multimap `name` from `Key` to sorted `Value`s, created if missing. Values are ordered by
    /// their key encoding, so `Value` is a ``DiskKey``; fixed-width values are stored packed (`dupFixed`).
    public func multimap<Key: DiskKey, Value: DiskKey>(_ name: String, key: Key.Type = Key.self,
                                                       value: Value.Type = Value.self) throws -> DiskMultimap<Key, Value> {
        let d = CollectionDescriptor(kind: "multimap", key: Key.diskKeyCodec, value: Value.diskKeyCodec, version: Store.formatVersion)
        let flags: Database.Flags = Value.self is any FixedWidthDiskKey.Type ? [.dupSort, .dupFixed] : [.dupSort]
        return DiskMultimap(store: self, name: name, database: try open(name, d, flags: flags))
    }
}

// MARK: For tools that work at the LMDB level

extension Store {
    /// The catalog database of the environment `txn` belongs to, or `nil` if it has none (a plain LMDB
    /// environment) and `create` is false or `txn` is read-only.
    ///
    /// For tools that work on an `Environment` directly (`diskcoll import`, `export`, `verify`); programs
    /// use a `Store`.
    public static func catalog(in txn: Transaction, create: Bool = false) throws -> Database? {
        try create && !txn.isReadOnly ? txn.openDatabase(catalogName) : txn.openExistingDatabase(catalogName)
    }

    /// Every catalog entry in `txn`, by collection name.
    /// - Throws: ``DiskCollectionsError/corrupt(collection:detail:)`` for an entry that is not a record.
    public static func catalogEntries(in txn: Transaction) throws -> [String: CollectionDescriptor] {
        guard let catalog = try catalog(in: txn) else { return [:] }
        return try txn.withCursor(catalog) { cursor in
            var entries: [String: CollectionDescriptor] = [:]
            for (k, v) in cursor.entries() {
                let name = String(decoding: k, as: UTF8.self)
                entries[name] = try descriptor(of: name, from: v)
            }
            return entries
        }
    }

    /// Opens collection `name` as `descriptor` in `txn` with the checks of ``map(_:key:value:)`` and the
    /// other factories (name, format version, kind and types), creating it (catalog entry and database,
    /// in `txn`) if `create` is true and it is missing.
    ///
    /// - Returns: the collection's database, or `nil` if it does not exist and is not created.
    /// - Throws: ``DiskCollectionsError/typeMismatch(collection:stored:requested:)`` (also for a plain
    ///   LMDB database of that name), ``DiskCollectionsError/corrupt(collection:detail:)`` for a catalog
    ///   entry without its database, ``DiskCollectionsError/invalidName(_:reason:)``, ``LMDBError``.
    public static func openCollection(_ name: String, as descriptor: CollectionDescriptor, in txn: Transaction,
                                      create: Bool) throws -> Database? {
        guard let catalog = try catalog(in: txn, create: create) else { return nil }
        return try openCollection(name, as: descriptor, in: txn, catalog: catalog,
                                  create: create ? descriptor.databaseFlags : nil)
    }
}

extension CollectionDescriptor {
    /// A descriptor of the current format version.
    public init(kind: String, key: String, value: String) {
        self.init(kind: kind, key: key, value: value, version: Store.formatVersion)
    }

    /// The encoded width of the built-in fixed-width key codecs (`uint64`: 8, `uuid`: 16, ...), or
    /// `nil` for variable-width and composite codecs.
    public static func keyWidth(ofCodec codec: String) -> Int? {
        switch codec {
        case "uint8", "int8", "bool": return 1
        case "uint16", "int16": return 2
        case "uint32", "int32", "float32": return 4
        case "uint64", "int64", "float64": return 8
        case "uuid": return 16
        default: return nil
        }
    }

    /// The LMDB flags a new database of this collection gets: `dupSort` for a multimap, with `dupFixed`
    /// when its values (stored in their key codec) have a fixed width; none for the other kinds.
    public var databaseFlags: Database.Flags {
        guard kind == "multimap" else { return [] }
        return Self.keyWidth(ofCodec: value) != nil ? [.dupSort, .dupFixed] : [.dupSort]
    }
}
