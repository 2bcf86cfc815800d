import DiskCollections

/// The same workload through `DiskMap<UInt64, UInt64>` (filled in with the typed collections).
func runDiskMap() throws -> Result {
    fatalError("DiskMap workload not built yet")
}
