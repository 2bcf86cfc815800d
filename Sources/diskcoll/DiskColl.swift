import ArgumentParser

@main
struct DiskColl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diskcoll",
        abstract: "Inspect, import and export DiskCollections stores (LMDB environments).",
        discussion: """
        Examples:
          diskcoll import data.store parent parent.csv --key-type uint64 --value-type uint32
          diskcoll export data.store parent parent.jsonl
          diskcoll verify data.store
          diskcoll compact data.store
          diskcoll stat data.store
          diskcoll search pancake 11 --compare-heap

        Every command's options and examples: diskcoll help COMMAND. The manual: docs/cli.md.
        """,
        version: DiskCollectionsVersion.string,
        subcommands: [Import.self, Export.self, Verify.self, Compact.self, Stat.self, Search.self, Demo.self]
    )
}

/// The version `diskcoll --version` prints.
enum DiskCollectionsVersion {
    static let string = "0.1.0"
}
