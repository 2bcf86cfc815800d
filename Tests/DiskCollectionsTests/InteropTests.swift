import DiskCollections
import Foundation
import Testing
import TestSupport

/// Another language reads our files: Python with py-lmdb, following docs/on-disk-format.md only.
@Suite struct InteropTests {
    struct Visit: CodableDiskValue, Equatable {
        var depth: Int
        var path: [String]
    }

    @Test func pythonReadsAStoreWithPyLMDB() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.write { () throws in
                try store.map("parent", key: UInt64.self, value: UInt32.self).setValue(7, forKey: 42)
                try store.map("signed", key: Int64.self, value: Double.self).setValue(-2.5, forKey: -3)
                try store.set("words", of: String.self).insert(contentsOf: ["", "b", "a", "\0z"])
                try store.array("costs", of: Double.self).append(contentsOf: [1.5, -0.0])
                try store.queue("frontier", of: UInt64.self).append(contentsOf: [9, 8])
                try store.multimap("postings", key: String.self, value: UInt32.self).insert(contentsOf: [3, 1], forKey: "swift")
                try store.map("visits", key: Double.self, value: Visit.self).setValue(Visit(depth: 2, path: ["a", "b"]), forKey: -1.5)
            }
            try store.checkpoint()
            store.close()
        }
        let script = #"""
        import json, struct, sys, lmdb
        env = lmdb.open(sys.argv[1], max_dbs=300, readonly=True, lock=False)
        catalog = env.open_db(b"__diskcollections_catalog")
        out = {}
        with env.begin() as txn:
            kinds = {k.decode(): json.loads(v) for k, v in txn.cursor(db=catalog)}
            out["kinds"] = {n: d["kind"] + ":" + d["key"] + ":" + d["value"] for n, d in kinds.items()}
            def db(name, **kw): return env.open_db(name.encode(), txn=txn, create=False, **kw)
            def string_key(b): return (b[1:] if b[:1] == b"\0" else b).decode()
            def int64_key(b): return struct.unpack(">Q", b)[0] - (1 << 63)
            def float64_key(b):
                u = struct.unpack(">Q", b)[0]
                u = u & ~(1 << 63) if u >> 63 else ~u & (2**64 - 1)
                return struct.unpack("<d", struct.pack("<Q", u))[0]
            out["parent"] = [[struct.unpack(">Q", k)[0], struct.unpack("<I", v)[0]] for k, v in txn.cursor(db=db("parent"))]
            out["signed"] = [[int64_key(k), struct.unpack("<d", v)[0]] for k, v in txn.cursor(db=db("signed"))]
            out["words"] = [string_key(k) for k, _ in txn.cursor(db=db("words"))]
            out["costs"] = [[struct.unpack(">Q", k)[0], struct.unpack("<d", v)[0]] for k, v in txn.cursor(db=db("costs"))]
            out["frontier"] = [struct.unpack("<Q", v)[0] for _, v in txn.cursor(db=db("frontier"))]
            out["postings"] = [[string_key(k), struct.unpack(">I", v)[0]] for k, v in txn.cursor(db=db("postings", dupsort=True))]
            try:
                import cbor2
                out["visits"] = [[float64_key(k), cbor2.loads(v)] for k, v in txn.cursor(db=db("visits"))]
            except ImportError:
                out["visits"] = "no cbor2"
        print(json.dumps(out, sort_keys=True))
        """#
        let result = try run("/usr/bin/env", ["python3", "-c", script, dir.path])
        #expect(result.status == 0, "python failed: \(result.standardError)")
        let out = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any] ?? [:]
        let kinds = out["kinds"] as? [String: String]
        #expect(kinds?["parent"] == "map:uint64:uint32le")
        #expect(kinds?["words"] == "set:string:none")
        #expect(kinds?["visits"] == "map:float64:cbor:Visit")
        #expect(out["parent"] as? [[Int]] == [[42, 7]])
        #expect((out["signed"] as? [[Double]]) == [[-3, -2.5]])
        #expect(out["words"] as? [String] == ["", "\0z", "a", "b"])
        #expect((out["costs"] as? [[Double]])?.map { $0[1] } == [1.5, 0])
        #expect(out["frontier"] as? [Int] == [9, 8])
        #expect((out["postings"] as? [[Any]])?.map { "\($0[0]):\($0[1])" } == ["swift:1", "swift:3"])
        let visits = out["visits"] as? [[Any]]
        #expect(visits?.first?[0] as? Double == -1.5)
        let visit = visits?.first?[1] as? [String: Any]
        #expect(visit?["depth"] as? Int == 2)
        #expect(visit?["path"] as? [String] == ["a", "b"])
    }

    @Test func pythonReadsASearchsLevelsAndMetadata() throws {
        let dir = TemporaryDirectory()
        var expected: [UInt64] = []
        var levels: [Int] = []
        do {
            let store = try Store(at: dir.path)
            // Sparse states, so that deltas take several LEB128 bytes and blocks split.
            let bfs = try BreadthFirstSearch(store: store, name: "sparse", of: UInt64.self, options: .init(undirected: false))
            levels = try bfs.run(from: [1]) { s, emit in
                if s < 1 << 40 { emit(s &* 3 &+ 1); emit(s &* 5 &+ 77_777) }
            }.levels
            try bfs.forEachState(atDepth: levels.indices.max { levels[$0] < levels[$1] }!) { expected.append($0) }
            store.close()
        }
        let script = #"""
        import json, sys, lmdb
        env = lmdb.open(sys.argv[1], max_dbs=300, readonly=True, lock=False)
        with env.begin() as txn:
            meta = json.loads(txn.get(b"meta", db=env.open_db(b"sparse", txn=txn, create=False)))
            depth = max(range(len(meta["levels"])), key=lambda d: meta["levels"][d])
            db = env.open_db(b"__search.sparse.level.%d" % depth, txn=txn, create=False)
            def states():
                for key, value in txn.cursor(db=db):
                    state = int.from_bytes(key[-8:], "big"); yield state
                    delta = shift = 0
                    for byte in value:
                        delta |= (byte & 0x7F) << shift; shift += 7
                        if byte < 0x80:
                            state += delta; yield state
                            delta = shift = 0
            print(json.dumps({"levels": meta["levels"], "finished": meta["finished"], "last": list(states())}))
        """#
        let result = try run("/usr/bin/env", ["python3", "-c", script, dir.path])
        #expect(result.status == 0, "python failed: \(result.standardError)")
        let out = try JSONSerialization.jsonObject(with: Data(result.standardOutput.utf8)) as? [String: Any] ?? [:]
        #expect(out["levels"] as? [Int] == levels)
        #expect(out["finished"] as? Bool == true)
        #expect((out["last"] as? [NSNumber])?.map(\.uint64Value) == expected)
        #expect(expected.count > 2_000)
    }

    /// A point read outside a transaction keeps its LMDB snapshot between misses; `flush()` ends it,
    /// so another process's commit shows in the next miss.
    @Test func anotherProcessesCommitShowsAfterFlush() throws {
        let dir = TemporaryDirectory()
        do {
            let store = try Store(at: dir.path)
            try store.map("m", key: UInt64.self, value: UInt64.self).setValue(1, forKey: 1)
            store.close()
        }
        let store = try Store(at: dir.path)
        let m = try store.map("m", key: UInt64.self, value: UInt64.self)
        #expect(try m[1] == 1)  // a miss: the snapshot is kept
        let script = #"""
        import struct, sys, lmdb
        env = lmdb.open(sys.argv[1], max_dbs=300)
        with env.begin(write=True) as txn:
            txn.put(struct.pack(">Q", 2), struct.pack("<Q", 5), db=env.open_db(b"m", txn=txn, create=False))
        """#
        let result = try run("/usr/bin/env", ["python3", "-c", script, dir.path])
        #expect(result.status == 0, "python failed: \(result.standardError)")
        try store.flush()
        #expect(try m[2] == 5)
    }
}
