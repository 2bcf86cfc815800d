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
    @exclusivity(unchecked) var outbox: [[UInt64]]
    /// The most states the outboxes may hold together after a round (chunks are sized to keep to it).
    let outboxCapacity: Int

    init(capacity: Int, chunkCapacity: Int, partitions: Int = 1, rank: Int = 0, outboxCapacity: Int = 0) {
        self.capacity = capacity
        self.chunkCapacity = chunkCapacity
        self.partitions = partitions
        self.rank = rank
        self.outboxCapacity = outboxCapacity
        outbox = Array(repeating: [], count: partitions)
        buffer = .allocate(capacity: capacity)
        chunk = .allocate(capacity: chunkCapacity)
    }

    deinit {
        buffer.deallocate()
        chunk.deallocate()
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
                let partitions = self.partitions, rank = self.rank
                for i in 0..<chunkCount {
                    let before = emitted
                    try successors(chunk[i]) { state in
                        self.emitted &+= 1
                        let owner = SearchPartition.owner(ofEncoded: state, size: partitions)
                        if owner == rank { self.collect(state) } else { self.outbox[owner].append(state) }
                    }
                    maximumBranching = max(maximumBranching, emitted - before)
                    expanded += 1
                }
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
    func absorb(_ states: ArraySlice<UInt64>) {
        saturated = false
        for state in states { collect(state) }
        if capacity - count < capacity / 8 { compact() }
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
