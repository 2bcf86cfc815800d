import LMDB

// What users of DiskCollections need from the LMDB layer, without importing it.

/// An error from LMDB or the operating system; see `LMDB.LMDBError`.
public typealias LMDBError = LMDB.LMDBError
/// How much a commit flushes to disk; see `LMDB.Environment.Durability`.
public typealias Durability = LMDB.Environment.Durability
