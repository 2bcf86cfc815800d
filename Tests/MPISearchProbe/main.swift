// One rank of a partitioned search of a random implicit graph, for DistributedSearchTests: run it as
// `mpirun -np N MPISearchProbe STORE directed|undirected N SEED MEMORY`. Each rank keeps its part in
// STORE/rank-R-of-N; rank 0 prints the levels' counts, one line of JSON. The test reads the stores
// and compares every level, state by state, with an in-heap search of the same graph.
import DiskCollections
import DiskCollectionsMPI
import Foundation
import TestSupport

let arguments = CommandLine.arguments
guard arguments.count == 6, let n = UInt64(arguments[3]), let seed = UInt64(arguments[4]), let memory = Int(arguments[5]),
      ["directed", "undirected"].contains(arguments[2]) else {
    FileHandle.standardError.write(Data("usage: MPISearchProbe STORE directed|undirected N SEED MEMORY\n".utf8))
    exit(2)
}
let directed = arguments[2] == "directed"
let successors = directed ? RandomGraph.directed(n: n, seed: seed) : RandomGraph.undirectedProbeGraph(n: n)
do {
    let mpi = try MPICommunicator.start()
    defer { mpi.finish() }
    mpi.sendsInFlight = mpi.sendsInFlight(forMemory: memory)
    let store = try Store(at: "\(arguments[1])/rank-\(mpi.rank)-of-\(mpi.size)")
    defer { store.close() }
    let search = try BreadthFirstSearch(store: store, name: "graph", of: UInt64.self,
                                        options: .init(undirected: !directed, memory: memory))
    let result = try search.run(from: RandomGraph.probeStart(n: n, seed: seed), communicator: mpi, successors: successors)
    if mpi.rank == 0 { print("{\"levels\":\(result.levels)}") }
} catch {
    FileHandle.standardError.write(Data("MPISearchProbe: \(error)\n".utf8))
    exit(1)
}
