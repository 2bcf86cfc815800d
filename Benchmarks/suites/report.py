#!/usr/bin/env python3
"""The "Suites" tables of docs/benchmarks.md, from Benchmarks/suites/run.sh's JSON (package-benchmark's
jmh export, percentiles only).

usage: report.py [results.json]
Each row is one operation: the median time per operation (a sample is 1,000 operations), mallocs per
operation and the peak resident memory of the process, ours beside Swift's in-heap counterpart.
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, report_arguments

PAIRS = [  # (ours, in-heap counterpart, what)
    ("DiskMap-lookup-hit", "Dictionary-lookup-hit", "map lookup, hit"),
    ("DiskMap-lookup-miss", "Dictionary-lookup-miss", "map lookup, miss"),
    ("DiskMap-update-flushed", "Dictionary-update", "map update (ours flushed)"),
    ("DiskMap-delete-flushed", "Dictionary-delete", "map delete (ours flushed)"),
    ("DiskMap-insert-random-keys-flushed", "Dictionary-insert-random-keys", "map insert, random keys, into an empty map (ours flushed)"),
    ("DiskMap-bulk-load-setValues-sorted", "Dictionary-bulk-load-uniqueKeysWithValues", "map bulk load of 1,000 sorted entries"),
    ("DiskMap-range-scan", "Dictionary-range-scan-over-sorted-keys", "map range scan, per entry (the Dictionary: lookups of a sorted key array)"),
    ("DiskSet-contains-hit", "Set-contains-hit", "set contains, hit"),
    ("DiskSet-contains-miss", "Set-contains-miss", "set contains, miss"),
    ("DiskSet-insert-new-flushed", "Set-insert-new", "set insert of a new element (ours flushed)"),
    ("DiskSet-remove-flushed", "Set-remove", "set remove (ours flushed)"),
    ("DiskArray-random-read", "Array-random-read", "array random read"),
    ("DiskArray-iterate", "Array-iterate", "array iteration, per element"),
    ("DiskArray-append-and-popLast", "Array-append-and-popLast", "array append and popLast"),
    ("DiskQueue-append-and-popFirst-flushed", "Deque-append-and-popFirst", "queue append and popFirst (ours flushed)"),
]
CACHE = [
    ("DiskMap-uniform-reads-default-cache", "DiskMap-uniform-reads-cache-disabled", "uniform random reads"),
    ("DiskMap-Zipf-reads-default-cache", "DiskMap-Zipf-reads-cache-disabled", "Zipf(0.99) reads"),
    ("DiskMap-random-puts-default-cache-buffered", "DiskMap-random-puts-cache-disabled", "random puts (buffered / a transaction each)"),
]
SCALE = {"ns": 1, "μs": 1e3, "\u03bcs": 1e3, "us": 1e3, "ms": 1e6, "s": 1e9}


def metric(entry, name, percentile="50.0"):
    m = entry["secondaryMetrics"].get(name)
    return None if m is None else (m["scorePercentiles"][percentile], m["scoreUnit"])


def ns_per_op(entry):
    value, unit = metric(entry, "Time (wall clock)")
    return value * SCALE[unit] / 1_000  # a sample is 1,000 operations


def mallocs_per_op(entry):
    m = metric(entry, "Malloc (total)")
    return None if m is None else m[0] / 1_000


def peak_mb(entry):
    m = metric(entry, "Memory (resident peak)")
    return None if m is None else m[0] / 1e6


def fmt_ns(x):
    return f"{x:,.0f} ns" if x >= 10 else f"{x:.1f} ns"


def main():
    path, _, _ = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    data = json.load(open(path))
    by = {e["benchmark"].rsplit(".", 1)[-1]: e for e in data["jmh"]}
    print(header(data) + "; "
          "medians of samples of 1,000 operations; a default `Store(at:)`, 100,000 entries\n")
    print("| operation | ours | Swift in-heap | ratio | mallocs per op, ours / in-heap | peak resident, ours / in-heap |")
    print("|---|---|---|---|---|---|")
    for ours, heap, what in PAIRS:
        if ours not in by or heap not in by:
            continue
        o, h = by[ours], by[heap]
        mo, mh = mallocs_per_op(o), mallocs_per_op(h)
        print(f"| {what} | {fmt_ns(ns_per_op(o))} | {fmt_ns(ns_per_op(h))} | {ns_per_op(o) / ns_per_op(h):,.1f}× | "
              f"{mo:.3f} / {mh:.3f} | {peak_mb(o):.0f} / {peak_mb(h):.0f} MB |")
    print("\nThe cache (`DiskMap<UInt64, UInt64>` of 1M entries, default `Store(at:)` against `cacheBudget: .disabled`):\n")
    print("| reads or writes | default cache | cache disabled | ratio | mallocs per op, cached / disabled |")
    print("|---|---|---|---|---|")
    for cached, disabled, what in CACHE:
        if cached not in by or disabled not in by:
            continue
        c, d = by[cached], by[disabled]
        print(f"| {what} | {fmt_ns(ns_per_op(c))} | {fmt_ns(ns_per_op(d))} | {ns_per_op(c) / ns_per_op(d):.2f}× | "
              f"{mallocs_per_op(c):.3f} / {mallocs_per_op(d):.3f} |")
    print("\nThe codecs (encode, then decode, one key or value):\n")
    print("| codec | time | mallocs |")
    print("|---|---|---|")
    for name, e in sorted(by.items()):
        if e["benchmark"].split(".")[-2] == "Codecs":
            print(f"| {name.replace('-', ' ')} | {fmt_ns(ns_per_op(e))} | {mallocs_per_op(e):.0f} |")


if __name__ == "__main__":
    main()
