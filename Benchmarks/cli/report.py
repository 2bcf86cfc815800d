#!/usr/bin/env python3
"""The command-line table of docs/benchmarks.md, from Benchmarks/cli/run.sh's JSON.

usage: report.py [Benchmarks/cli/results.json]
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, report_arguments

def main():
    path, _, _ = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    data = json.load(open(path))
    r = data["runs"]
    n = data["entries"]
    print(f"{header(data)}, "
          f"{data['lmdb']}; {n:,} entries of a `DiskMap<UInt64, UInt64>`, keys in order; "
          f"the dump is {data['dumpBytes'] / 1e6:,.0f} MB, the JSON Lines {data['jsonlBytes'] / 1e6:,.0f} MB; "
          f"our export {'is' if data['exportIdenticalToMdbDump'] else 'is NOT'} byte for byte mdb_dump's.\n")
    print("Each run is a process of its own, after a `sync`; the mdb-dump exports and imports alternate over three "
          "rounds and the median is shown (mdb_load once: it takes half a minute). Exports write to standard output "
          "redirected to a file, as `mdb_dump > file` does, except the one that writes a file itself (synced, then "
          "renamed into place). mdb_load commits every 100 records and never syncs; diskcoll commits once and syncs.\n")
    print("| run | time | records/s | against Debian's tool | peak RssAnon | peak RssFile |")
    print("|---|---|---|---|---|---|")
    peers = {"import mdb-dump": "import mdb-dump: mdb_load", "export mdb-dump": "export mdb-dump: mdb_dump"}
    for name, run in r.items():
        peer = next((r[p] for prefix, p in peers.items() if name.startswith(prefix) and p != name), None)
        ratio = f"{peer['seconds'] / run['seconds']:.2f}× as fast" if peer else "—"
        print(f"| {name} | {run['seconds']:.2f} s | {run['recordsPerSecond'] / 1e6:.2f}M | {ratio} | "
              f"{run['peakAnonymous'] / 1e6:,.1f} MB | {run['peakFile'] / 1e6:,.1f} MB |")

main()
