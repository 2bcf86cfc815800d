/// One thread's share of a level's expansion: it runs the successor function over a chunk of the
/// frontier and collects the successors in its own fixed buffer, sorting and deduplicating it in place
/// when it fills (delayed duplicate detection: no state is looked up anywhere).
///
/// `@unchecked Sendable`, and why that is sound: `DispatchQueue.concurrentPerform` hands iteration `w`
/// to worker `w` alone, so during a round each worker is touched by exactly one thread; the
/// coordinating thread reads and resets it only between rounds, after `concurrentPerform` has returned
/// (which orders every write of the round before those reads). For the same reason the hot properties
/// skip dynamic exclusivity checks (`@exclusivity(unchecked)`): no two accesses can overlap.
final class ExpansionWorker: @unchecked Sendable {
    /// Successors collected, at most `capacity` of them.
    let buffer: UnsafeMutablePointer<UInt64>
    let capacity: Int
    @exclusivity(unchecked) var count = 0
    /// Successors that found the buffer full even after a compaction (rare: chunks are sized from the
    /// largest branching seen). The coordinator writes them out after the round.
    @exclusivity(unchecked) var overflow: [UInt64] = []
    /// Whether `buffer[0..<count]` is sorted and distinct.
    @exclusivity(unchecked) var isCompact = true
    /// The frontier states this round expands.
    let chunk: UnsafeMutablePointer<UInt64>
    let chunkCapacity: Int
    @exclusivity(unchecked) var chunkCount = 0
    /// The largest number of successors one state had so far.
    @exclusivity(unchecked) var maximumBranching = 1
    @exclusivity(unchecked) var emitted = 0
    @exclusivity(unchecked) var expanded = 0
    var error: (any Error)?
    @exclusivity(unchecked) private var saturated = false
    /// In a partitioned search, the number of partitions (ranks) and this worker's rank; 1 and 0 otherwise.
    let partitions: Int
    let rank: Int
    /// In a partitioned search: successors owned by other ranks, by owner, until the coordinator sends them.
    let outbox: UnsafeMutablePointer<Outbox>
    /// The most states the outboxes may hold together after a round (chunks are sized to keep to it).
    let outboxCapacity: Int

    init(capacity: Int, chunkCapacity: Int, partitions: Int = 1, rank: Int = 0, outboxCapacity: Int = 0) {
        self.capacity = capacity
        self.chunkCapacity = chunkCapacity
        self.partitions = partitions
        self.rank = rank
        self.outboxCapacity = outboxCapacity
        outbox = .allocate(capacity: partitions)
        for p in 0..<partitions { (outbox + p).initialize(to: Outbox(capacity: partitions == 1 ? 1 : 1 << 10)) }
        buffer = .allocate(capacity: capacity)
        chunk = .allocate(capacity: chunkCapacity)
    }

    deinit {
        buffer.deallocate()
        chunk.deallocate()
        for p in 0..<partitions { outbox[p].deallocate() }
        outbox.deallocate()
    }

    /// How many frontier states the next round can give this worker without the buffer overflowing.
    /// In a partitioned search, also without the outboxes growing past `outboxCapacity`.
    var nextChunkSize: Int {
        let room = partitions == 1 ? capacity - count : min(capacity - count, outboxCapacity)
        return max(1, min(chunkCapacity, room / maximumBranching))
    }

    /// Expands the chunk. Errors of the successor function are kept in `error` for the coordinator.
    func expand(_ successors: SearchEngine.Successors) {
        guard error == nil else { return }
        saturated = false
        do {
            if partitions == 1 {
                for i in 0..<chunkCount {
                    let before = emitted
                    try successors(chunk[i]) { state in
                        self.emitted &+= 1
                        self.collect(state)
                    }
                    maximumBranching = max(maximumBranching, emitted - before)
                    expanded += 1
                }
            } else {
                // Every successor goes to its owner's outbox, this rank's own included, and this rank's
                // are collected after the chunk: a branch on the owner, taken at random half the time or
                // more, costs more than copying them.
                let partitions = self.partitions, outbox = self.outbox
                for i in 0..<chunkCount {
                    let before = emitted
                    try successors(chunk[i]) { state in
                        self.emitted &+= 1
                        outbox[SearchPartition.owner(ofEncoded: state, size: partitions)].append(state)
                    }
                    maximumBranching = max(maximumBranching, emitted - before)
                    expanded += 1
                }
                collect(outbox[rank].states)
                outbox[rank].removeAll()
            }
        } catch {
            self.error = error
        }
        chunkCount = 0
        // Sort here, on this worker's thread, when the buffer is nearly full, so that the coordinator
        // only writes the run.
        if capacity - count < capacity / 8 { compact() }
    }

    /// Adds a successor to the buffer, compacting it when it fills; what does not fit goes to the overflow.
    @inline(__always)
    func collect(_ state: UInt64) {
        if count == capacity, !saturated { compact() }
        if count < capacity {
            buffer[count] = state
            count &+= 1
            isCompact = false
        } else {
            overflow.append(state)
        }
    }

    /// Adds states another rank sent this one (the coordinator, between rounds).
    func absorb(_ states: UnsafeBufferPointer<UInt64>) {
        saturated = false
        collect(states)
        if capacity - count < capacity / 8 { compact() }
    }

    /// Adds states to the buffer as `collect(_:)` does one at a time, copying them in runs.
    func collect(_ states: UnsafeBufferPointer<UInt64>) {
        var next = 0
        while next < states.count {
            if count == capacity, !saturated { compact() }
            let room = min(capacity - count, states.count - next)
            guard room > 0 else {
                overflow.append(contentsOf: states[next...])
                return
            }
            (buffer + count).update(from: states.baseAddress! + next, count: room)
            count += room
            next += room
            isCompact = false
        }
    }

    /// Sorts and deduplicates the buffer in place.
    func compact() {
        if !isCompact {
            count = RadixSort.sortAndDeduplicate(buffer, count: count)
            isCompact = true
        }
        // A buffer that stays over half full after compaction holds mostly distinct states: sorting
        // it again after a few more would sort the same states many times over (measured: 85 ns a
        // successor on the pancakes, against 30 with this rule). Send the rest of the chunk to the
        // overflow and spill instead.
        if count > capacity / 2 { saturated = true }
    }

    /// Whether the coordinator should write the buffer out as a run before the next round.
    /// That is when a compaction left it over half full, or it overflowed.
    var needsSpill: Bool { !overflow.isEmpty || (isCompact && count > capacity / 2) }
}

/// A worker's states bound for one other rank, in a buffer that grows as needed. A struct the worker
/// keeps in raw memory, so that the successor loop appends with no reference counting or
/// copy-on-write checks (which cost more than the rest of the append).
struct Outbox {
    private(set) var base: UnsafeMutablePointer<UInt64>
    private var capacity: Int
    private(set) var count = 0

    init(capacity: Int = 1 << 10) {
        self.capacity = capacity
        base = .allocate(capacity: capacity)
    }

    func deallocate() { base.deallocate() }

    @inline(__always)
    mutating func append(_ state: UInt64) {
        if count == capacity { grow() }
        base[count] = state
        count &+= 1
    }

    @inline(never)
    private mutating func grow() {
        let larger = UnsafeMutablePointer<UInt64>.allocate(capacity: capacity * 2)
        larger.moveInitialize(from: base, count: count)
        base.deallocate()
        base = larger
        capacity *= 2
    }

    var states: UnsafeBufferPointer<UInt64> { UnsafeBufferPointer(start: base, count: count) }
    var isEmpty: Bool { count == 0 }
    mutating func removeAll() { count = 0 }
}
