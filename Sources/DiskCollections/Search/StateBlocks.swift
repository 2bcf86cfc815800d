import LMDB

/// Sorted states stored as delta-encoded blocks: the layout of a search's levels and runs.
///
/// A block is one LMDB entry. Its key is an optional 4-byte big-endian prefix (the run number, in the
/// runs database) and then the block's first state as 8 big-endian bytes, so blocks sort in state
/// order. Its value is the differences between each following state and the one before it, each as an
/// unsigned LEB128 number (7 bits a byte, low group first, high bit set on all bytes but the last).
/// Values stay under ``maximumValueBytes`` so that LMDB keeps them inline on 4 KiB leaf pages (no
/// overflow pages), and a state costs one to three bytes on disk instead of an entry's 8 + 8 + 8.
/// See docs/on-disk-format.md.
enum StateBlocks {
    /// The largest encoded value of a block; under LMDB's inline limit for a 4 KiB page (2,022 bytes).
    static let maximumValueBytes = 2000
    /// A block writer commits when this many bytes of blocks are pending: small write transactions keep
    /// LMDB's dirty pages (which live in the heap without `MDB_WRITEMAP`) to a few MiB.
    static let commitBytes = 1 << 20

    @inline(__always)
    static func loadBigEndian64(_ p: UnsafeRawPointer) -> UInt64 {
        UInt64(bigEndian: p.loadUnaligned(as: UInt64.self))
    }

    /// Calls `body` with a block's states in order: `first`, then each LEB128 delta added to the
    /// state before, until `body` returns `false`.
    @inline(__always)
    static func decode(first: UInt64, deltas: UnsafeRawBufferPointer, _ body: (UInt64) -> Bool) {
        var state = first
        guard body(state) else { return }
        var delta: UInt64 = 0
        var shift: UInt64 = 0
        for byte in deltas {
            delta |= UInt64(byte & 0x7f) &<< shift
            if byte & 0x80 == 0 {
                state &+= delta
                guard body(state) else { return }
                delta = 0
                shift = 0
            } else {
                shift += 7
            }
        }
    }
}

/// Writes ascending distinct states as blocks into one database, committing every
/// ``StateBlocks/commitBytes`` in its own write transaction.
///
/// Not thread-safe: one writer, used by the engine's coordinating thread only.
///
/// The hot properties skip dynamic exclusivity checks (`@exclusivity(unchecked)`): one thread uses a
/// writer or reader at a time and no access to one overlaps another (no `inout` of a property
/// across a call), so the checks could never fire; they cost a third of the merge's time.
final class StateBlockWriter {
    private let environment: Environment
    private let database: Database
    private let prefix: UInt32?
    private let keyWidth: Int
    /// Pending blocks: key then value, one after the other; `entries` marks where each starts.
    @exclusivity(unchecked) private var pending: [UInt8] = []
    @exclusivity(unchecked) private var entries: [(start: Int, valueCount: Int)] = []
    @exclusivity(unchecked) private var blockFirst: UInt64 = 0
    @exclusivity(unchecked) private var blockValueCount = 0
    @exclusivity(unchecked) private var previous: UInt64 = 0
    @exclusivity(unchecked) private var inBlock = false
    /// States written so far.
    @exclusivity(unchecked) private(set) var count = 0

    init(environment: Environment, database: Database, prefix: UInt32? = nil) {
        self.environment = environment
        self.database = database
        self.prefix = prefix
        keyWidth = prefix == nil ? 8 : 12
        pending.reserveCapacity(StateBlocks.commitBytes + 4096)
    }

    /// Appends `state`, which must be greater than every state appended before.
    @inline(__always)
    func append(_ state: UInt64) throws {
        count += 1
        if inBlock {
            var delta = state &- previous
            previous = state
            if blockValueCount + 10 > StateBlocks.maximumValueBytes {
                try finishBlock()
                startBlock(state)
                return
            }
            while delta >= 0x80 {
                pending.append(UInt8(truncatingIfNeeded: delta) | 0x80)
                delta &>>= 7
            }
            pending.append(UInt8(truncatingIfNeeded: delta))
            blockValueCount = pending.count - entries[entries.count - 1].start - keyWidth
        } else {
            startBlock(state)
        }
    }

    /// Appends `count` ascending states from `base`.
    func append(_ base: UnsafePointer<UInt64>, count: Int) throws {
        for i in 0..<count { try append(base[i]) }
    }

    private func startBlock(_ state: UInt64) {
        inBlock = true
        previous = state
        blockFirst = state
        blockValueCount = 0
        entries.append((start: pending.count, valueCount: 0))
        if let prefix { withUnsafeBytes(of: prefix.bigEndian) { pending.append(contentsOf: $0) } }
        withUnsafeBytes(of: state.bigEndian) { pending.append(contentsOf: $0) }
    }

    private func finishBlock() throws {
        guard inBlock else { return }
        entries[entries.count - 1].valueCount = blockValueCount
        inBlock = false
        if pending.count >= StateBlocks.commitBytes { try commit() }
    }

    /// Writes the pending blocks in one write transaction with `MDB_APPEND` (they follow every key
    /// in the database). Safe to retry: the environment replays the closure after growing the map.
    private func commit() throws {
        guard !entries.isEmpty else { return }
        let keyWidth = self.keyWidth
        try pending.withUnsafeBytes { bytes in
            try environment.write { txn in
                try txn.withCursor(database) { cursor in
                    for entry in entries {
                        let key = UnsafeRawBufferPointer(rebasing: bytes[entry.start ..< entry.start + keyWidth])
                        let value = UnsafeRawBufferPointer(rebasing: bytes[entry.start + keyWidth ..< entry.start + keyWidth + entry.valueCount])
                        _ = try cursor.put(key: key, value: value, flags: .append)
                    }
                }
            }
        }
        pending.removeAll(keepingCapacity: true)
        entries.removeAll(keepingCapacity: true)
    }

    /// Writes what is pending. Call once, after the last state.
    func finish() throws {
        try finishBlock()
        try commit()
    }
}

/// Reads ascending states back from blocks, refilling a small decoded buffer in short read
/// transactions (re-seeking past the last block read), so no snapshot stays open while the engine
/// writes and the map can grow at any time.
final class StateBlockReader {
    private let environment: Environment?
    private let database: Database?
    private let ownsBuffer: Bool
    private let prefix: UInt32?
    private let capacity: Int
    private let buffer: UnsafeMutablePointer<UInt64>
    @exclusivity(unchecked) private var filled = 0
    @exclusivity(unchecked) private var index = 0
    /// The key of the last block decoded, to seek past on the next refill.
    @exclusivity(unchecked) private var resumeKey: [UInt8]
    @exclusivity(unchecked) private var started = false
    @exclusivity(unchecked) private(set) var isExhausted = false
    /// The current state; valid while `!isExhausted`.
    @exclusivity(unchecked) private(set) var head: UInt64 = 0

    init(environment: Environment, database: Database, prefix: UInt32? = nil, bufferStates: Int) throws {
        self.environment = environment
        self.database = database
        self.prefix = prefix
        capacity = max(bufferStates, StateBlocks.maximumValueBytes + 1)
        buffer = .allocate(capacity: capacity)
        ownsBuffer = true
        resumeKey = []
        if let prefix { withUnsafeBytes(of: prefix.bigEndian) { resumeKey.append(contentsOf: $0) } }
        try refill()
    }

    /// A reader over `count` ascending states in memory (a worker's sorted buffer), which it borrows:
    /// the memory must outlive the reader.
    init(memory: UnsafeMutablePointer<UInt64>, count: Int) {
        environment = nil
        database = nil
        prefix = nil
        capacity = count
        buffer = memory
        ownsBuffer = false
        resumeKey = []
        filled = count
        started = true
        if count == 0 { isExhausted = true } else { head = memory[0] }
    }

    deinit { if ownsBuffer { buffer.deallocate() } }

    /// Moves to the next state.
    @inline(__always)
    func advance() throws {
        index += 1
        if index < filled { head = buffer[index] } else { try refill() }
    }

    /// Copies up to `limit` states into `out`, advancing past them; returns how many.
    func take(into out: UnsafeMutablePointer<UInt64>, limit: Int) throws -> Int {
        var n = 0
        while n < limit && !isExhausted {
            let run = min(limit - n, filled - index)
            (out + n).update(from: buffer + index, count: run)
            n += run
            index += run - 1
            try advance()
        }
        return n
    }

    private func refill() throws {
        guard !isExhausted else { return }
        guard let environment, let database else {
            isExhausted = true
            return
        }
        filled = 0
        index = 0
        let keyWidth = prefix == nil ? 8 : 12
        let prefix = self.prefix
        let capacity = self.capacity
        let buffer = self.buffer
        var n = 0
        var lastKey: [UInt8]? = nil
        let first = !started
        let seekKey = resumeKey
        try environment.read { txn in
            try txn.withCursor(database) { cursor in
                var entry = seekKey.isEmpty ? try cursor.first()
                    : try seekKey.withUnsafeBytes { key in try cursor.seek(atLeast: key) }
                if !first, let e = entry, e.key.elementsEqual(seekKey) { entry = try cursor.next() }
                while let e = entry {
                    guard e.key.count == keyWidth else {
                        throw DiskCollectionsError.corrupt(collection: "", detail: "a search block key of \(e.key.count) bytes")
                    }
                    if let prefix, UInt32(bigEndian: e.key.loadUnaligned(as: UInt32.self)) != prefix { break }
                    // A block decodes to at most value.count + 1 states; stop before one could overflow.
                    if n + e.value.count + 1 > capacity { break }
                    StateBlocks.decode(first: StateBlocks.loadBigEndian64(e.key.baseAddress! + (keyWidth - 8)), deltas: e.value) { state in
                        buffer[n] = state
                        n += 1
                        return true
                    }
                    lastKey = Array(e.key)
                    entry = try cursor.next()
                }
            }
        }
        started = true
        if let lastKey { resumeKey = lastKey }
        filled = n
        if n == 0 { isExhausted = true } else { head = buffer[0] }
    }
}

extension StateBlocks {
    /// Whether `state` is in the unprefixed block database `database`: one seek to the last block
    /// whose first state is at most `state`, then a decode of that block.
    static func contains(_ state: UInt64, in database: Database, _ txn: Transaction) throws -> Bool {
        try txn.withCursor(database) { cursor in
            let key = withUnsafeBytes(of: state.bigEndian) { Array($0) }
            let atLeast = try key.withUnsafeBytes { k in try cursor.seek(atLeast: k) }
            if let atLeast, atLeast.key.elementsEqual(key) { return true }
            guard let block = try (atLeast == nil ? cursor.last() : cursor.previous()) else { return false }
            guard block.key.count == 8 else {
                throw DiskCollectionsError.corrupt(collection: "", detail: "a search block key of \(block.key.count) bytes")
            }
            var found = false
            decode(first: loadBigEndian64(block.key.baseAddress!), deltas: block.value) { current in
                if current >= state { found = current == state; return false }
                return true
            }
            return found
        }
    }
}
