import DiskCollections
import DiskCollectionsTools
import Foundation
import LMDB
import Testing
import TestSupport

/// Round trips with Debian's lmdb-utils (`mdb_dump`, `mdb_load`; the test command installs them).
@Suite struct LMDBToolsTests {
    let diskcoll = builtExecutable("diskcoll")

    /// A plain LMDB environment with awkward keys and values: `\0`, `\xff`, newlines, backslashes (not
    /// followed by two hex digits of a non-printable byte, which 0.9.24's `mdb_dump -p` leaves
    /// ambiguous: docs/cli.md), a dupsort and a dupsort+dupfixed database.
    static func makeEnvironment(_ path: String) throws {
        let env = try Environment(path: path)
        defer { env.close() }
        var rng = SplitMix64(seed: 99)
        try env.write { txn in
            let plain = try txn.openDatabase("plain")!
            let dups = try txn.openDatabase("dups", flags: [.dupSort])!
            let fixed = try txn.openDatabase("fixed", flags: [.dupSort, .dupFixed])!
            let special: [[UInt8]] = [[0], [0xFF], Array("new\nline".utf8), Array("C:\\path\\to".utf8), Array(" lead".utf8), [0x5C],
                                      Array("a\\\\b\\41".utf8), Array("\\".utf8) + [0x0A]]
            func byte() -> UInt8 { let b = UInt8(truncatingIfNeeded: rng.next()); return b == 0x5C ? 0x5D : b }
            for (i, k) in special.enumerated() { try txn.put(plain, key: k, value: special[(i + 1) % special.count]) }
            try txn.put(plain, key: Array("empty".utf8), value: [])
            for _ in 0..<500 {
                let k = (0..<Int(rng.next() % 30 + 1)).map { _ in byte() }
                let v = (0..<Int(rng.next() % 60)).map { _ in byte() }
                try txn.put(plain, key: k, value: v)
                try txn.put(dups, key: Array(k.prefix(2)), value: Array(v.prefix(20)) + [1])
                try txn.put(fixed, key: Array(k.prefix(1)), value: withUnsafeBytes(of: rng.next()) { Array($0) })
            }
        }
    }

    private func tool(_ name: String, _ args: [String], input: String? = nil) throws -> ProcessResult {
        let r = try run("/usr/bin/" + name, args, input: input)
        #expect(r.status == 0, "\(name) \(args): \(r.standardError)")
        return r
    }

    private func diskcoll(_ args: [String], input: String? = nil) throws -> ProcessResult {
        try run(diskcoll, args, input: input)
    }

    /// `diskcoll export` writes what `mdb_dump` writes, byte for byte.
    @Test func exportIsByteForByteMDBDump() throws {
        let dir = TemporaryDirectory()
        try Self.makeEnvironment(dir.path)
        for name in ["plain", "dups", "fixed"] {
            let ours = try diskcoll(["export", dir.path, name])
            #expect(ours.status == 0, "\(ours.standardError)")
            #expect(ours.standardOutput == (try tool("mdb_dump", ["-s", name, dir.path])).standardOutput, "\(name)")
        }
        let all = try diskcoll(["export", dir.path, "--all"])
        #expect(all.standardOutput == (try tool("mdb_dump", ["-a", dir.path])).standardOutput)
        // format=print: the same but for backslashes, which 0.9.24 leaves bare and we escape as \5c.
        let print = try diskcoll(["export", dir.path, "plain", "--print"]).standardOutput
        let theirs = try tool("mdb_dump", ["-p", "-s", "plain", dir.path]).standardOutput
        #expect(print.replacingOccurrences(of: "\\5c", with: "\\") == theirs)
        #expect(print.contains("C:\\5cpath\\5cto"))
    }

    /// Files written by Debian's mdb_dump, in both formats, import byte for byte; so does `-a`.
    @Test func mdbDumpFilesImportByteForByte() throws {
        let dir = TemporaryDirectory()
        try Self.makeEnvironment(dir.appending("source"))
        let original = try StoreSnapshot(dir.appending("source"))
        for (i, flags) in [["-s"], ["-p", "-s"]].enumerated() {
            for name in ["plain", "dups", "fixed"] {
                let dump = try tool("mdb_dump", flags + [name, dir.appending("source")]).standardOutput
                let r = try diskcoll(["import", dir.appending("copy\(i)"), name, "-", "--quiet"], input: dump)
                #expect(r.status == 0, "\(r.standardError)")
            }
            #expect(try StoreSnapshot(dir.appending("copy\(i)")).databases == original.databases, "mdb_dump \(flags)")
        }
        let all = try tool("mdb_dump", ["-a", dir.appending("source")]).standardOutput
        #expect(try diskcoll(["import", dir.appending("all"), "--all", "-", "--quiet"], input: all).status == 0)
        #expect(try StoreSnapshot(dir.appending("all")).databases == original.databases)
    }

    /// What `diskcoll export` writes, Debian's mdb_load loads (both formats), byte for byte.
    @Test func mdbLoadLoadsOurExports() throws {
        let dir = TemporaryDirectory()
        try Self.makeEnvironment(dir.appending("source"))
        let original = try StoreSnapshot(dir.appending("source"))
        for (i, extra) in [[], ["--print"]].enumerated() {
            let target = dir.appending("loaded\(i)")
            try FileManager.default.createDirectory(atPath: target, withIntermediateDirectories: true)
            for name in ["plain", "dups", "fixed"] {
                let file = dir.appending("\(name)\(i).dump")
                #expect(try diskcoll(["export", dir.appending("source"), name, file, "--quiet"] + extra).status == 0)
                _ = try tool("mdb_load", ["-s", name, "-f", file, target])
            }
            #expect(try StoreSnapshot(target).databases == original.databases, "\(extra)")
        }
    }

    /// mdb_load stops with MDB_MAP_FULL past its default map (10 MiB) unless the dump says mapsize=:
    /// ours does, so a 30 MB collection loads; a typed store comes back as a store.
    @Test func aLargeExportLoadsBecauseItCarriesTheMapSize() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.appending("source"))
            let m = try store.map("big", key: UInt64.self, value: [UInt8].self)
            try store.write { for i in 0..<400_000 as Range<UInt64> { try m.setValue([UInt8](repeating: UInt8(i & 0xFF), count: 48), forKey: i) } }
            store.close()
        }
        let file = dir.appending("big.dump")
        #expect(try diskcoll(["export", dir.appending("source"), "--all", file, "--quiet"]).status == 0)
        let text = try String(contentsOfFile: file, encoding: .utf8)
        #expect(text.contains("mapsize=1073741824"))
        try FileManager.default.createDirectory(atPath: dir.appending("loaded"), withIntermediateDirectories: true)
        let load = try run("/usr/bin/mdb_load", ["-f", file, dir.appending("loaded")])
        #expect(load.status == 0, "\(load.standardError)")
        let store = try Store(at: dir.appending("loaded"))
        defer { store.close() }
        let m = try store.map("big", key: UInt64.self, value: [UInt8].self)
        #expect(try m.count == 400_000)
        #expect(try m[399_999] == [UInt8](repeating: 127, count: 48))  // 399,999 mod 256
    }

    /// The exit statuses docs/cli.md lists, with the message on standard error.
    @Test func exitStatusesAndMessages() throws {
        let dir = TemporaryDirectory()
        let store = dir.appending("s")
        #expect(try diskcoll(["import", store, "m", "-", "--format", "jsonl", "--key-type", "uint64", "--value-type", "string", "--quiet"],
                             input: "{\"key\": 1, \"value\": \"one\"}\n").status == 0)
        let bad = try diskcoll(["import", store, "m", "-", "--format", "jsonl"], input: "{\"key\": 2, \"value\": \"two\"}\n{\"key\": 3,}\n")
        #expect(bad.status == 65)
        #expect(bad.standardError.contains("diskcoll import: error: standard input, line 2: invalid JSON at column 11"), "\(bad.standardError)")
        #expect(bad.standardError.contains("Nothing was imported."))
        let mismatch = try diskcoll(["import", store, "m", "-", "--format", "jsonl", "--key-type", "uint64", "--value-type", "double"], input: "{}\n")
        #expect(mismatch.status == 64 && mismatch.standardError.contains("is a DiskMap<uint64, string>, not a DiskMap<uint64, float64le>"))
        let missing = try diskcoll(["import", store, "m", dir.appending("nope.jsonl")])
        #expect(missing.status == 66 && missing.standardError.contains("cannot open the input"))
        let noStore = try diskcoll(["export", dir.appending("nothing"), "m"])
        #expect(noStore.status == 66 && noStore.standardError.contains("no store here"))
        let noCollection = try diskcoll(["export", store, "other"])
        #expect(noCollection.status == 66 && noCollection.standardError.contains("no collection or database 'other'"))
        let cannotCreate = try diskcoll(["export", store, "m", dir.appending("no/such/dir/out.jsonl")])
        #expect(cannotCreate.status == 73)
        let usage = try diskcoll(["import", store, "m", "-", "--delimiter", "ab"])
        #expect(usage.status == 64)
        let json = try diskcoll(["export", store, "m", "--format", "jsonl"])
        #expect(json.standardOutput == "{\"key\":1,\"value\":\"one\"}\n")
        #expect(json.standardError.isEmpty, "a pipe gets no summary: \(json.standardError)")
        let summary = try diskcoll(["import", store, "m", "-", "--format", "jsonl", "--json"], input: "{\"key\": 5, \"value\": \"five\"}\n")
        let report = try JSONDecoder().decode(ImportReport.self, from: Data(summary.standardOutput.utf8))
        #expect(report.records == 1 && report.collections[0].entriesAfter == 2)
    }

    /// Every subcommand's help shows examples, and shell completions come from ArgumentParser.
    @Test func helpAndCompletions() throws {
        for command in ["import", "export", "verify", "compact", "stat"] {
            let help = try diskcoll([command, "--help"])
            #expect(help.status == 0)
            #expect(help.standardOutput.contains("Examples:"), "\(command)")
        }
        let completion = try diskcoll(["--generate-completion-script", "bash"])
        #expect(completion.status == 0 && completion.standardOutput.contains("_diskcoll"))
    }
}
