// swift-tools-version: 6.1
// The benchmarks, in a nested package so the main manifest stays light.
import PackageDescription

/// A package-benchmark suite: `Benchmarks/<Suite>/<Suite>.swift` (the plugin finds a target by its
/// folder's parent, Benchmarks).
func suite(_ name: String, _ dependencies: [Target.Dependency] = []) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            .product(name: "Benchmark", package: "benchmark"),
            .product(name: "DiskCollections", package: "DiskCollections"),
            "BenchmarkSupport",
        ] + dependencies,
        path: name,
        plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
}

let package = Package(
    name: "DiskCollectionsBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "DiskCollections", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
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
        // In-process suites (swift package benchmark): each collection against its in-heap
        // counterpart, the cache, the codecs.
        .target(name: "BenchmarkSupport", dependencies: [.product(name: "Benchmark", package: "benchmark")]),
        suite("CollectionOperations", [.product(name: "DequeModule", package: "swift-collections")]),
        suite("Cache"),
        suite("Codecs"),
    ],
    swiftLanguageModes: [.v6]
)
