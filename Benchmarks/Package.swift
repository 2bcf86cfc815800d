// swift-tools-version: 6.1
// The benchmarks, in a nested package so the main manifest stays light.
import PackageDescription

let package = Package(
    name: "DiskCollectionsBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "DiskCollections", path: ".."),
    ],
    targets: [
        // The peers' workload (../shared/peers) through our modules; compare.sh runs it beside the peers.
        .executableTarget(
            name: "PeerComparison",
            dependencies: [
                .product(name: "LMDB", package: "DiskCollections"),
                .product(name: "DiskCollections", package: "DiskCollections"),
                .product(name: "SearchPuzzles", package: "DiskCollections"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
