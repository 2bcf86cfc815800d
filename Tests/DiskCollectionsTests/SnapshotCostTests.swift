import DiskCollections
import Foundation
import Testing
import TestSupport

/// A long-lived snapshot is not silent: while another process holds one, 1,000 overwrite transactions
/// grow the file, and `statistics` shows the snapshot's age and the pages it pins (issue 13, item 5).
@Suite struct SnapshotCostTests {
    @Test func aLongLivedSnapshotShowsInStatistics() throws {
        let fixture = try StoreFixture()
        let store = fixture.store
        let m = try store.map("m", key: UInt64.self, value: [UInt8].self)
        try store.write { for i in 0..<2_000 as Range<UInt64> { try m.setValue([UInt8](repeating: 0, count: 100), forKey: i) } }
        try store.flush()
        // Overwrites reuse freed pages while nobody holds an old snapshot.
        for round in 0..<100 {
            try store.write { for i in 0..<2_000 as Range<UInt64> { try m.setValue([UInt8](repeating: UInt8(round), count: 100), forKey: i) } }
        }
        try store.flush()
        let settled = try #require(store.statistics.file)
        #expect(settled.pinnedPages == 0 && settled.oldestSnapshot == nil, "\(settled)")

        let (reader, out, _) = try launch(builtExecutable("LMDBTestHelper"), ["hold-reader", fixture.directory.path])
        defer { kill(reader.processIdentifier, SIGKILL); reader.waitUntilExit() }
        _ = out.fileHandleForReading.availableData  // "reading"
        for round in 0..<1_000 {
            try store.write { for i in stride(from: UInt64(0), to: 2_000, by: 7) { try m.setValue([UInt8](repeating: UInt8(truncatingIfNeeded: round), count: 100), forKey: i) } }
        }
        try store.flush()
        let pinned = try #require(store.statistics.file)
        #expect(pinned.snapshotLag.map { $0 >= 1_000 } == true, "\(pinned)")
        #expect(pinned.readers >= 1)
        #expect(pinned.pinnedPages > 1_000, "\(pinned)")
        #expect(pinned.bytes > settled.bytes * 3, "the file grew: \(settled.bytes) -> \(pinned.bytes)")

        kill(reader.processIdentifier, SIGKILL)
        reader.waitUntilExit()
        // The dead reader's slot is stale until a writer clears it (this process opened before it died).
        let stale = try #require(store.statistics.file)
        #expect(stale.staleReaders == 1, "\(stale)")
    }
}
