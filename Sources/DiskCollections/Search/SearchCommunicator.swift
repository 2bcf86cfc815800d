/// The transport of a partitioned ``BreadthFirstSearch``: how its participants ("ranks") exchange
/// states and agree on counts. `DiskCollectionsMPI` implements it over MPI (one rank a process, on one
/// machine or several); any other transport that provides these collectives works the same way.
///
/// Every method is **collective**: every rank calls it, in the same order, the same number of times,
/// as MPI's collectives are. The search calls them from the thread that called
/// ``BreadthFirstSearch/run(from:communicator:progress:successors:)``, one at a time.
///
/// A rank that fails (its successor function throws, its disk fills) calls ``abort(_:)`` before it
/// throws, so that the others do not wait for it forever: over MPI that ends the whole job (the
/// failure model of docs/distributed.md); the search resumes from the last level every rank committed.
public protocol SearchCommunicator: AnyObject {
    /// This participant's index, `0..<size`.
    var rank: Int { get }
    /// The number of participants.
    var size: Int { get }
    /// Sends `outgoing[r]` to rank `r` (for every `r`, this rank's own entry included, which is
    /// empty) and returns the states every rank sent to this one, concatenated in rank order.
    func exchange(_ outgoing: [[UInt64]]) throws -> [UInt64]
    /// The sum of `value` over every rank, returned to every rank.
    func sum(_ value: Int) throws -> Int
    /// The least `value` of any rank, returned to every rank.
    func minimum(_ value: Int) throws -> Int
    /// Ends the search on every rank after a failure on this one (MPI: `MPI_Abort`). The other ranks'
    /// next collective throws, or the job ends.
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
