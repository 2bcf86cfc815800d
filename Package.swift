// swift-tools-version: 6.1
import Foundation
import PackageDescription

/// Whether Open MPI's headers are installed (Debian: libopenmpi-dev): then the package has the
/// DiskCollectionsMPI library, `diskcoll search --distributed` and their tests; without them it builds
/// and tests without MPI. DISKCOLLECTIONS_MPI=0 or 1 overrides the check. After installing MPI into
/// an existing checkout, touch Package.swift (SwiftPM caches this manifest's evaluation).
let mpiAvailable: Bool = {
    if let forced = ProcessInfo.processInfo.environment["DISKCOLLECTIONS_MPI"] { return forced == "1" }
    return ["x86_64-linux-gnu", "aarch64-linux-gnu"].contains {
        FileManager.default.fileExists(atPath: "/usr/lib/\($0)/openmpi/include/mpi.h")
    }
}()

let package = Package(
    name: "DiskCollections",
    products: [
        .library(name: "DiskCollections", targets: ["DiskCollections"]),
        .library(name: "LMDB", targets: ["LMDB"]),
        // What diskcoll is made of: the mdb_dump, JSON Lines and CSV formats, import, export, verify, compact.
        .library(name: "DiskCollectionsTools", targets: ["DiskCollectionsTools"]),
        .executable(name: "diskcoll", targets: ["diskcoll"]),
        // Built-in state spaces (pocket cube, 8-puzzle, pancakes) for diskcoll search, the tests and the benchmarks.
        .library(name: "SearchPuzzles", targets: ["SearchPuzzles"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64", from: "1.2.0"),
    ],
    targets: [
        // The system liblmdb (Debian: liblmdb-dev). Only the LMDB target imports it.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // <malloc.h> (mallinfo2, malloc_trim), which Swift's Glibc module does not expose.
        .systemLibrary(name: "CMalloc"),
        // CRC-32C for Checksummed values (the SSE4.2 instruction where the processor has it).
        .target(name: "CChecksum"),
        .target(name: "LMDB", dependencies: ["CLMDB"]),
        .target(
            name: "DiskCollections",
            dependencies: [
                "LMDB",
                "CMalloc",
                "CChecksum",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(name: "SearchPuzzles"),
        .target(
            name: "DiskCollectionsTools",
            dependencies: ["DiskCollections", "LMDB", .product(name: "ExtrasBase64", package: "swift-extras-base64")]
        ),
        .executableTarget(
            name: "diskcoll",
            dependencies: [
                "DiskCollections",
                "DiskCollectionsTools",
                "SearchPuzzles",
                "LMDB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // docs/search.md's complete example: a search of a puzzle of its own (Towers of Hanoi, four pegs).
        .executableTarget(name: "hanoi-search", dependencies: ["DiskCollections"], path: "Examples/HanoiSearch"),
        // A helper process for tests that must crash, fork or be killed.
        .executableTarget(name: "LMDBTestHelper", dependencies: ["LMDB"], path: "Tests/LMDBTestHelper"),
        // A process of its own for memory measurements (RssAnon) that parallel tests would disturb.
        .executableTarget(name: "MemoryProbe", dependencies: ["DiskCollections"], path: "Tests/MemoryProbe"),
        .target(name: "TestSupport", dependencies: ["DiskCollections", "LMDB"], path: "Tests/TestSupport"),
        .testTarget(name: "LMDBTests", dependencies: ["LMDB", "TestSupport", "LMDBTestHelper"]),
        .testTarget(name: "DiskCollectionsToolsTests", dependencies: ["DiskCollectionsTools", "DiskCollections", "LMDB", "TestSupport", "diskcoll", "LMDBTestHelper"]),
        .testTarget(name: "DiskCollectionsTests", dependencies: ["DiskCollections", "LMDB", "TestSupport", "SearchPuzzles", "diskcoll", "MemoryProbe", "hanoi-search"]),
    ],
    swiftLanguageModes: [.v6]
)

// MPI (issue 15): a separate library and its tests, present only where MPI is installed.
if mpiAvailable {
    package.products.append(.library(name: "DiskCollectionsMPI", targets: ["DiskCollectionsMPI"]))
    package.targets += [
        // Open MPI (Debian: libopenmpi-dev, openmpi-bin), found through `pkg-config ompi-c`.
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"])]),
        .target(name: "DiskCollectionsMPI", dependencies: ["DiskCollections", "CMPI"]),
        .executableTarget(name: "MPISearchProbe", dependencies: ["DiskCollections", "DiskCollectionsMPI", "TestSupport"],
                          path: "Tests/MPISearchProbe"),
        .testTarget(name: "DiskCollectionsMPITests",
                    dependencies: ["DiskCollections", "TestSupport", "SearchPuzzles", "diskcoll", "MPISearchProbe"]),
    ]
    for target in package.targets where target.name == "diskcoll" {
        target.dependencies.append("DiskCollectionsMPI")
    }
}
