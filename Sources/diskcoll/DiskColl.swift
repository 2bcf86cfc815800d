import ArgumentParser

@main
struct DiskColl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diskcoll",
        abstract: "Inspect, import and export DiskCollections stores (LMDB environments).",
        version: DiskCollectionsVersion.string,
        subcommands: [Import.self, Export.self, Verify.self, Compact.self, Stat.self, Search.self, Demo.self]
    )
}

/// The version `diskcoll --version` prints.
enum DiskCollectionsVersion {
    static let string = "0.1.0"
}
