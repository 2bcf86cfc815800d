import LMDB

/// The buffered state of one ``DiskQueue`` outside transactions: appends not yet committed, a batch of
/// committed items read ahead, and how many of those were popped (deleted at the next flush).
///
/// The queue's committed items always come before its pending appends (their sequence numbers are
/// larger), so FIFO order holds: `popFirst` serves the read-ahead batch, then reads the next batch,
/// and only when no committed item is left takes pending appends, which then never reach the disk.
/// A flush deletes the popped items from the front and appends the pending ones with `MDB_APPEND`,
/// in one write transaction. Used under its store's lock.
@usableFromInline final class QueueBuffer {
    let database: Database
    /// The sequence number the next append gets.
    var nextSequence: UInt64 = 0
    /// Committed items not yet popped (read ahead or not).
    var committedRemaining = 0
    /// Committed items popped since the last flush: they are the first ones on disk.
    var poppedCommitted = 0
    /// Read-ahead batch of committed items, and the next one to pop.
    var ahead: [[UInt8]] = []
    var aheadIndex = 0
    /// The first sequence number the next read-ahead starts from.
    var aheadFrom: UInt64 = 0
    /// Appends not yet committed, oldest first, their sequence numbers consecutive from
    /// `pendingFirstSequence`: their bytes one after another in `pendingArena`, item i ending at
    /// `pendingEnds[i]`; `pendingIndex` of them were already popped. (Flat, so that an 8-byte state
    /// costs 16 bytes here, not the 56 of an array per item.)
    private(set) var pendingArena: [UInt8] = []
    private(set) var pendingEnds: [Int] = []
    var pendingIndex = 0
    var pendingFirstSequence: UInt64 = 0

    /// Items a read-ahead fetches at once.
    static let batch = 1024

    init(database: Database) { self.database = database }

    var count: Int { committedRemaining + pendingEnds.count - pendingIndex }
    var hasChanges: Bool { poppedCommitted > 0 || pendingIndex < pendingEnds.count }
    /// Heap bytes the pending appends hold (what the store's write buffer counts for the queue).
    var pendingBytes: Int { pendingArena.capacity + pendingEnds.capacity * MemoryLayout<Int>.stride }
    /// Pending appends not yet popped.
    var pendingCount: Int { pendingEnds.count - pendingIndex }

    func appendPending(_ value: UnsafeRawBufferPointer) {
        pendingArena.append(contentsOf: value)
        pendingEnds.append(pendingArena.count)
    }

    /// The bytes of pending item `i`.
    func pendingItem(_ i: Int) -> ArraySlice<UInt8> {
        pendingArena[(i == 0 ? 0 : pendingEnds[i - 1])..<pendingEnds[i]]
    }

    /// Forgets the pending appends (written or all popped); `keepingCapacity` to refill them soon.
    func removePending(keepingCapacity: Bool) {
        pendingArena.removeAll(keepingCapacity: keepingCapacity)
        pendingEnds.removeAll(keepingCapacity: keepingCapacity)
        pendingIndex = 0
    }
}

// The queue's point path: like the maps' (Store+Points.swift), decided here and nowhere else. Inside an
// explicit transaction a queue operation runs in it; outside, with a cache, it is buffered; without a
// cache it is a transaction of its own.

extension Store {
    /// The number of items in the queue in `database`.
    @usableFromInline
    func queueCount(_ database: Database) throws -> Int {
        if let cache, currentTransaction == nil {
            try checkCurrent(database)
            return try lock.withLock {
                revalidate(cache)
                return try queueBuffer(database).count
            }
        }
        return try withRead(database) { txn in try txn.count(database) }
    }

    /// The front item of the queue in `database`, decoded by `decode`, or `nil`: from the buffer
    /// outside a transaction (no flush), else from the transaction.
    @usableFromInline
    func queueFirst<R>(_ database: Database, _ decode: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        if let cache, currentTransaction == nil {
            try checkCurrent(database)
            return try lock.withLock {
                revalidate(cache)
                let q = try queueBuffer(database)
                if q.aheadIndex == q.ahead.count, q.committedRemaining > 0 { try readAhead(q) }
                if q.aheadIndex < q.ahead.count { return try q.ahead[q.aheadIndex].withUnsafeBytes(decode) }
                guard q.pendingIndex < q.pendingEnds.count else { return nil }
                return try q.pendingItem(q.pendingIndex).withUnsafeBytes(decode)
            }
        }
        return try withRead(database) { txn in
            try txn.withCursor(database) { cursor in try cursor.first().map { try decode($0.value) } }
        }
    }

    /// Appends to the queue in `database` every value `body` pushes, in order.
    @usableFromInline
    func queueAppend(_ database: Database, _ body: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        if cache != nil, currentWrite == nil {
            if currentRead != nil { throw DiskCollectionsError.writeInsideRead }
            // The whole batch under the store's lock: its items stay together, in order.
            return try lock.withLock { try body { try bufferedAppend(database, $0) } }
        }
        try withWrite(database) { txn in
            try txn.withCursor(database) { cursor in
                var next: UInt64 = try cursor.last().map { try UInt64(diskKeyBytes: $0.key) + 1 } ?? 0
                try body { v in
                    try withUnsafeBytes(of: next.bigEndian) { k in _ = try cursor.put(key: k, value: v, flags: .append) }
                    next += 1
                }
            }
        }
    }

    /// Removes up to `maximum` items from the front of the queue in `database`, passing each to `body`,
    /// oldest first. If `body` throws (an item that does not decode), the items before it are removed;
    /// in a transaction of its own nothing is.
    @usableFromInline
    func queuePop(_ database: Database, maximum: Int, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        if let cache, currentWrite == nil {
            if currentRead != nil { throw DiskCollectionsError.writeInsideRead }
            // Under the store's lock: two threads never pop the same item. (`body` only decodes.)
            return try lock.withLock {
                revalidate(cache)
                var popped = 0
                while popped < maximum, let bytes = try bufferedPopFirst(database) {
                    try bytes.withUnsafeBytes { try body($0) }
                    popped += 1
                }
            }
        }
        try withWrite(database) { txn in
            try txn.withCursor(database) { cursor in
                var popped = 0
                var entry = try cursor.first()
                while popped < maximum, let (_, v) = entry {
                    try body(v)
                    try cursor.deleteCurrent()
                    popped += 1
                    entry = try cursor.first()  // the new front; its pages are hot, so the descent is cheap
                }
            }
        }
    }

    /// The buffered state of the queue in `database`, loaded on first use. Under `lock`.
    func queueBuffer(_ database: Database) throws -> QueueBuffer {
        if let q = queueBuffers[database.handleID] { return q }
        try checkCurrent(database)
        let q = QueueBuffer(database: database)
        try environment.read { txn in
            q.committedRemaining = try txn.count(database)
            try txn.withCursor(database) { cursor in
                if let first = try cursor.first() { q.aheadFrom = try UInt64(diskKeyBytes: first.key) }
                if let last = try cursor.last() { q.nextSequence = try UInt64(diskKeyBytes: last.key) + 1 }
            }
        }
        q.pendingFirstSequence = q.nextSequence
        queueBuffers[database.handleID] = q
        return q
    }

    /// Buffers an append to the queue in `database`; its bytes count with the store's write buffer,
    /// which flushes (maps, sets and queues together) when the whole passes its share of the budget.
    func bufferedAppend(_ database: Database, _ value: UnsafeRawBufferPointer) throws {
        guard let cache else { return }
        guard !environment.options.readOnly else { throw DiskCollectionsError.readOnlyStore(path: path) }
        try checkCurrent(database)
        let q = try queueBuffer(database)
        if q.pendingEnds.isEmpty { q.pendingFirstSequence = q.nextSequence }
        let before = q.pendingBytes
        q.appendPending(value)
        q.nextSequence += 1
        cache.queueBytes += q.pendingBytes - before
        try cache.countOperation(self)
        if cache.needsFlush { try flushBuffers() }
    }

    /// Pops the front of the queue in `database` from the buffer (reading a batch ahead when needed).
    func bufferedPopFirst(_ database: Database) throws -> [UInt8]? {
        guard !environment.options.readOnly else { throw DiskCollectionsError.readOnlyStore(path: path) }
        try checkCurrent(database)
        let q = try queueBuffer(database)
        if q.aheadIndex == q.ahead.count, q.committedRemaining > 0 { try readAhead(q) }
        if q.aheadIndex < q.ahead.count {
            let value = q.ahead[q.aheadIndex]
            q.ahead[q.aheadIndex] = []
            q.aheadIndex += 1
            q.committedRemaining -= 1
            q.poppedCommitted += 1
            return value
        }
        guard q.pendingIndex < q.pendingEnds.count else { return nil }
        let value = Array(q.pendingItem(q.pendingIndex))
        q.pendingIndex += 1
        if q.pendingIndex == q.pendingEnds.count {  // every pending append was popped: none will be written
            q.removePending(keepingCapacity: true)
        }
        return value
    }

    private func readAhead(_ q: QueueBuffer) throws {
        q.ahead.removeAll(keepingCapacity: true)
        q.aheadIndex = 0
        let from = q.aheadFrom
        try environment.read { txn in
            try txn.withCursor(q.database) { cursor in
                var entry = try withUnsafeBytes(of: from.bigEndian) { try cursor.seek(atLeast: $0) }
                while let e = entry, q.ahead.count < QueueBuffer.batch {
                    q.ahead.append(Array(e.value))
                    q.aheadFrom = try UInt64(diskKeyBytes: e.key) + 1
                    entry = try cursor.next()
                }
            }
        }
        guard !q.ahead.isEmpty else {
            throw DiskCollectionsError.corrupt(collection: q.database.name ?? "", detail:
                "the queue holds fewer items than counted; was it changed by another process?")
        }
    }

    /// Commits the buffered changes of every queue (see ``QueueBuffer``), each in one transaction.
    @discardableResult
    func flushQueues() throws -> Bool {
        var any = false
        for q in queueBuffers.values where q.hasChanges { try flushQueue(q); any = true }
        return any
    }

    func flushQueue(_ q: QueueBuffer) throws {
        guard q.hasChanges else { return }
        let popped = q.poppedCommitted
        let first = q.pendingFirstSequence + UInt64(q.pendingIndex)
        let written = q.pendingCount
        try ownCommit { try environment.write { txn in
            try txn.withCursor(q.database) { cursor in
                var removed = 0
                while removed < popped, try cursor.first() != nil {
                    try cursor.deleteCurrent()
                    removed += 1
                }
                var sequence = first
                try q.pendingArena.withUnsafeBytes { arena in
                    var start = q.pendingIndex == 0 ? 0 : q.pendingEnds[q.pendingIndex - 1]
                    for end in q.pendingEnds[q.pendingIndex...] {
                        try withUnsafeBytes(of: sequence.bigEndian) { k in
                            _ = try cursor.put(key: k, value: UnsafeRawBufferPointer(rebasing: arena[start..<end]), flags: .append)
                        }
                        start = end
                        sequence += 1
                    }
                }
            }
        } }
        cache?.statistics.flushTransactions += 1
        q.committedRemaining += written
        q.poppedCommitted = 0
        let before = q.pendingBytes
        q.removePending(keepingCapacity: false)
        cache?.queueBytes += q.pendingBytes - before
        q.pendingFirstSequence = q.nextSequence
    }

    /// Flushes the queue in `database` before a transaction uses it; `forget` drops its buffered
    /// state, which a write in that transaction may change.
    @usableFromInline
    func settleQueue(_ database: Database, forget: Bool) throws {
        guard let q = queueBuffers[database.handleID] else { return }
        if currentWrite == nil, currentRead == nil { try flushQueue(q) }
        if forget { dropQueueBuffer(database.handleID) }
    }

    /// Forgets the buffered state of the queue with handle `id`, and its bytes.
    func dropQueueBuffer(_ id: UInt32) {
        guard let q = queueBuffers.removeValue(forKey: id) else { return }
        cache?.queueBytes -= q.pendingBytes
    }
}
