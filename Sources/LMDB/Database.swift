import CLMDB

/// A handle to one database (a B+tree) inside an ``Environment``: the unnamed main database or a named one.
///
/// Handles are opened with ``Transaction/openDatabase(_:flags:create:)`` and stay valid until the
/// environment closes or the database is deleted (``Transaction/clear(_:deleteDatabase:)``): after
/// that every use of the handle throws ``LMDBError/Code/badDatabase``, also once another database
/// has taken its slot. A `Database` is a small value: copy it freely; it does nothing by itself.
/// Reading and writing go through a ``Transaction`` or a ``Cursor``.
public struct Database: Hashable, Sendable {
    /// The name, or `nil` for the main database.
    public let name: String?
    /// The flags the database was created with.
    public let flags: Flags
    @usableFromInline let handle: MDB_dbi
    /// How many times the handle's slot had been deleted when this handle was opened: LMDB reuses a
    /// deleted database's slot for the next database opened, so an old handle must not reach it.
    @usableFromInline let generation: UInt32

    /// LMDB's free-page database (`FREE_DBI`): keys are transaction ids, values the pages each freed.
    static let freePages = Database(name: "(free pages)", flags: [], handle: 0)

    /// The handle's number, stable while the environment is open: a cheap identity for caches.
    @inlinable public var handleID: UInt32 { handle }

    @usableFromInline init(name: String?, flags: Flags, handle: MDB_dbi, generation: UInt32 = 0) {
        self.name = name
        self.flags = flags
        self.handle = handle
        self.generation = generation
    }

    /// Flags fixed when a database is created. The corresponding LMDB flags are `MDB_REVERSEKEY`,
    /// `MDB_DUPSORT`, `MDB_INTEGERKEY`, `MDB_DUPFIXED`, `MDB_INTEGERDUP` and `MDB_REVERSEDUP`.
    public struct Flags: OptionSet, Hashable, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        /// Keys compare as strings read backwards (`MDB_REVERSEKEY`).
        public static let reverseKey = Flags(rawValue: UInt32(MDB_REVERSEKEY))
        /// Several sorted values per key (`MDB_DUPSORT`). Values are then limited to
        /// ``Environment/maximumKeySize`` bytes, like keys.
        public static let dupSort = Flags(rawValue: UInt32(MDB_DUPSORT))
        /// Keys are native-endian `UInt32` or `Int` (`size_t`) and compare as numbers (`MDB_INTEGERKEY`).
        public static let integerKey = Flags(rawValue: UInt32(MDB_INTEGERKEY))
        /// With `dupSort`: every value of a key has the same size (`MDB_DUPFIXED`), stored packed.
        public static let dupFixed = Flags(rawValue: UInt32(MDB_DUPFIXED))
        /// With `dupSort`: values are native-endian integers (`MDB_INTEGERDUP`).
        public static let integerDup = Flags(rawValue: UInt32(MDB_INTEGERDUP))
        /// With `dupSort`: values compare as strings read backwards (`MDB_REVERSEDUP`).
        public static let reverseDup = Flags(rawValue: UInt32(MDB_REVERSEDUP))
    }

    /// Counts that describe a database's B+tree. The corresponding LMDB structure is `MDB_stat`.
    public struct Statistics: Hashable, Sendable, Codable {
        /// Size of a page in bytes.
        public var pageSize: Int
        /// Depth of the B+tree.
        public var depth: Int
        /// Internal (non-leaf) pages.
        public var branchPages: Int
        /// Leaf pages.
        public var leafPages: Int
        /// Overflow pages (values larger than about half a page).
        public var overflowPages: Int
        /// Number of entries (key/value pairs; each duplicate value counts).
        public var entries: Int

        init(_ s: MDB_stat) {
            pageSize = Int(s.ms_psize)
            depth = Int(s.ms_depth)
            branchPages = s.ms_branch_pages
            leafPages = s.ms_leaf_pages
            overflowPages = s.ms_overflow_pages
            entries = s.ms_entries
        }

        /// All pages the tree occupies.
        public var pages: Int { branchPages + leafPages + overflowPages }
    }
}

/// Flags for one write. The corresponding LMDB flags are `MDB_NOOVERWRITE`, `MDB_NODUPDATA`,
/// `MDB_APPEND` and `MDB_APPENDDUP`.
public struct PutFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    /// Do not replace an existing value; ``Transaction/put(_:key:value:flags:)`` then returns `false`.
    public static let noOverwrite = PutFlags(rawValue: UInt32(MDB_NOOVERWRITE))
    /// In a `dupSort` database, do not add a key/value pair that is already present (returns `false`).
    public static let noDuplicate = PutFlags(rawValue: UInt32(MDB_NODUPDATA))
    /// The key is greater than every key in the database: add it at the end, without a search.
    /// A key out of order fails with ``LMDBError/Code/keyExists``.
    public static let append = PutFlags(rawValue: UInt32(MDB_APPEND))
    /// Like `append`, for the values of one key in a `dupSort` database.
    public static let appendDuplicate = PutFlags(rawValue: UInt32(MDB_APPENDDUP))
}
