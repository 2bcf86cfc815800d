// swift-tools-version: 6.0
// libFuzzer targets for the decoders and the import parsers (issue 13): build and run with Fuzz/run.sh.
import PackageDescription

let package = Package(
    name: "DiskCollectionsFuzz",
    dependencies: [.package(name: "DiskCollections", path: "..")],
    targets: [
        .executableTarget(
            name: "DiskCollectionsFuzz",
            dependencies: [
                .product(name: "DiskCollections", package: "DiskCollections"),
                .product(name: "DiskCollectionsTools", package: "DiskCollections"),
            ],
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
