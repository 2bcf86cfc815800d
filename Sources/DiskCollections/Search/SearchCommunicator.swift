/// The transport of a partitioned ``BreadthFirstSearch``: how its participants ("ranks") send each
/// other states and agree on counts. `DiskCollectionsMPI` implements it over MPI (one rank a process,
/// on one machine or several); any other transport that provides these operations works the same way.
///
/// During a level each rank streams batches of states to their owners (``send(_:to:deliver:)``)
/// while it goes on expanding, and takes in what has arrived between rounds (``receive(_:)``); when
/// its frontier is exhausted it calls ``endLevel(_:)``, which returns once every rank has ended the
/// level and every batch of the level has been delivered. Counts are agreed with ``sum(_:)`` and
/// ``minimum(_:)``, which are **collective**: every rank calls them in the same order, as MPI's
/// collectives. The search calls every method from the thread that called
/// ``BreadthFirstSearch/run(from:communicator:progress:successors:)``, one at a time.
///
/// `deliver` is called with each batch another rank sent this one (on the calling thread, the
/// buffer valid only during the call); an error it throws propagates out of the method.
///
/// A rank that fails (its successor function throws, its disk fills) calls ``abort(_:)`` before it
/// throws, so that the others do not wait for it forever: over MPI that ends the whole job (the
/// failure model of docs/distributed.md); the search resumes from the last level every rank committed.
public protocol SearchCommunicator: AnyObject {
    /// This participant's index, `0..<size`.
    var rank: Int { get }
    /// The number of participants.
    var size: Int { get }
    /// Sends `states` to rank `destination` (not this one) and returns once they are copied: they
    /// travel while the search goes on. A transport that bounds what is in flight first delivers
    /// arriving batches while it waits for room.
    func send(_ states: UnsafeBufferPointer<UInt64>, to destination: Int,
              deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws
    /// Delivers the batches that have arrived, without waiting for more.
    func receive(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws
    /// Ends this rank's sending for the current level, then delivers every batch still on its way,
    /// returning when every rank has ended the level and all it sent has arrived.
    func endLevel(_ deliver: (UnsafeBufferPointer<UInt64>) throws -> Void) throws
    /// The sum of `value` over every rank, returned to every rank.
    func sum(_ value: Int) throws -> Int
    /// The least `value` of any rank, returned to every rank.
    func minimum(_ value: Int) throws -> Int
    /// Ends the search on every rank after a failure on this one (MPI: `MPI_Abort`). The other ranks'
    /// next operation throws, or the job ends.
    func abort(_ error: any Error)
}

/// Which rank owns a state in a partitioned search: a fixed hash of the state's encoding (the
/// splitmix64 finalizer, then a multiply-shift onto `0..<size`), so that every rank, every run and
/// every resume agrees. Changing it would make stored partitioned searches unreadable, so it is part of
/// the on-disk format (docs/on-disk-format.md).
public enum SearchPartition {
    /// The rank, in `0..<size`, that owns the state whose order-preserving encoding is `encoded`.
    @inline(__always)
    public static func owner(ofEncoded encoded: UInt64, size: Int) -> Int {
        var z = encoded &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        return Int(z.multipliedFullWidth(by: UInt64(size)).high)
    }
}
