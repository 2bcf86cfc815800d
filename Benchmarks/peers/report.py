#!/usr/bin/env python3
"""The tables of docs/benchmarks.md that come from Benchmarks/compare.sh's results (the peers'
workload against raw LMDB in C and py-lmdb, the memory, cache, seed, budget and obvious-way search runs).

usage: report.py [results.json] [SECTION...]
SECTION is one of throughput, targets, checksums, memory, cache, seed, budget, search (default: all).
Sections whose runs are not in the file print nothing.
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, print_sections, report_arguments

COLUMNS = [("append_load_per_s", "append load"), ("random_put_per_s", "random put"),
           ("random_get_per_s", "random get"), ("scan_per_s", "scan")]
NAMES = {"raw-c": "raw LMDB in C", "lmdb": "`LMDB` module", "diskmap": "`DiskMap<UInt64, UInt64>`",
         "diskmap-checksummed": "`DiskMap<UInt64, Checksummed<UInt64>>`", "py-lmdb": "py-lmdb"}
# The targets, as ratios to raw C in the same run.
TARGETS = {"lmdb": 0.98, "diskmap": 0.95}


def throughput_runs(runs):
    return [(name[len("throughput-"):], r) for name, r in runs.items() if name.startswith("throughput-")]


def order(item):
    impl = item[0].rsplit("-", 1)[0] if item[0][-1].isdigit() and "-" in item[0] else item[0]
    keys = list(NAMES)
    return (keys.index(impl) if impl in keys else len(keys), item[0])


def label(impl):
    base, _, k = impl.rpartition("-")
    if base in NAMES and k.isdigit():
        return f"{NAMES[base]}, run {k}"
    return NAMES.get(impl, impl)


def throughput(data):
    runs = data["runs"]
    raw = runs.get("throughput-raw-c")
    if raw is None:
        return
    print(f"{header(data)}; N = {raw['n']:,}; rates in M operations a second, ratio to raw C in brackets\n")
    print("| implementation | " + " | ".join(c[1] for c in COLUMNS) + " | entries and checksum |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for impl, r in sorted(throughput_runs(runs), key=order):
        cells = []
        for key, _ in COLUMNS:
            cells.append(f"{r[key] / 1e6:.2f} ({r[key] / raw[key]:.2f}×)" if key in r else "—")
        if impl == "raw-c":
            check = "the reference"
        elif "checksum" in r:
            check = "equal to raw C's" if (r["checksum"], r["count"]) == (raw["checksum"], raw["count"]) else "**DIFFERENT**"
        else:
            check = "not reported"
        print(f"| {label(impl)} | " + " | ".join(cells) + f" | {check} |")


def targets(data):
    runs = data["runs"]
    raw = runs.get("throughput-raw-c")
    if raw is None:
        return
    print("| implementation | target | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 2) + "|")
    for impl, target in TARGETS.items():
        r = runs.get(f"throughput-{impl}")
        if r is None:
            continue
        cells = []
        for key, _ in COLUMNS:
            ratio = r[key] / raw[key]
            cells.append(f"{ratio:.3f}× met" if ratio >= target else f"**{ratio:.3f}× missed by {(target - ratio) / target:.1%}**")
        print(f"| {NAMES[impl]} | {target:.2f}× | " + " | ".join(cells) + " |")


def checksums(data):
    runs = data["runs"]
    plain, summed = runs.get("throughput-diskmap"), runs.get("throughput-diskmap-checksummed")
    if plain is None or summed is None:
        return
    print("| | " + " | ".join(c[1] for c in COLUMNS) + " |")
    print("|---" * (len(COLUMNS) + 1) + "|")
    print("| `Checksummed` values against plain ones, same run | "
          + " | ".join(f"{summed[k] / plain[k]:.2f}×" for k, _ in COLUMNS) + " |")


def memory(data):
    runs = data["runs"]
    heap, disk = runs.get("memory-set"), runs.get("memory-diskset")
    if heap is None or disk is None:
        return
    print(f"N = {heap['n']:,} xorshift64 keys; MiB = 2²⁰ bytes\n")
    print("| implementation | peak RssAnon | peak RssFile | RssAnon at the end | inserts/s |")
    print("|---|---|---|---|---|")
    print(f"| `Set<UInt64>` (in the heap) | {heap['peak_rss_anon_mb']:,.1f} MiB | {heap['peak_rss_file_mb']:,.1f} MiB | "
          f"{heap['final_rss_anon_mb']:,.1f} MiB (after the set is freed) | {heap['inserts_per_s'] / 1e6:.2f}M |")
    print(f"| `DiskSet<UInt64>`, `insert(contentsOf:)` in batches of {disk['batch']:,} | {disk['peak_rss_anon_mb']:,.1f} MiB | "
          f"{disk['peak_rss_file_mb']:,.1f} MiB | {disk['final_rss_anon_mb']:,.1f} MiB | {disk['inserts_per_s'] / 1e6:.2f}M |")


def cache(data):
    runs = data["runs"]
    raw, zipf, put = runs.get("throughput-raw-c"), runs.get("cache-zipf"), runs.get("cache-put")
    if zipf is None or put is None:
        return
    get = raw["random_get_per_s"] if raw else None
    print(f"**Zipf(0.99) reads** over {zipf['n']:,} keys, a default `Store(at:)` (cache budget at the end "
          f"{zipf['budget_mb']:.1f} MiB, {zipf['cache_mb']:.1f} MiB of it used); warm hit rate {zipf['warm_hit_rate']:.1%}:\n")
    print("| pass | `LMDB` module, same keys | `DiskMap` through the cache | to the `LMDB` module | to raw C's random get |")
    print("|---|---|---|---|---|")
    for name, lmdb, ours in [("cold", zipf["lmdb_cold_per_s"], zipf["diskmap_cold_per_s"]),
                             ("second", None, zipf["diskmap_second_per_s"]),
                             ("warm", zipf["lmdb_warm_per_s"], zipf["diskmap_warm_per_s"])]:
        to_lmdb = f"{ours / lmdb:.2f}×" if lmdb else "—"
        to_raw = f"{ours / get:.2f}×" if get else "—"
        print(f"| {name} | {f'{lmdb / 1e6:.2f}M/s' if lmdb else '—'} | {ours / 1e6:.2f}M/s | {to_lmdb} | {to_raw} |")
    raw_put = raw["random_put_per_s"] if raw else None
    print(f"\n**Random puts** ({put['n'] // 10:,} xorshift keys modulo 2N into the {put['n']:,}-entry map, the final flush "
          f"included; budget {put['budget_mb']:.1f} MiB, peak RssAnon {put['peak_rss_anon_mb']:.1f} MiB):\n")
    print("| raw C, one transaction | `LMDB` module, one transaction | `DiskMap.setValue`, buffered | to raw C | to the `LMDB` module |")
    print("|---|---|---|---|---|")
    ours = put["diskmap_cached_per_s"]
    print(f"| {f'{raw_put / 1e6:.2f}M/s' if raw_put else '—'} | {put['lmdb_per_s'] / 1e6:.2f}M/s | {ours / 1e6:.2f}M/s | "
          f"{f'{ours / raw_put:.2f}×' if raw_put else '—'} | {put['ratio']:.2f}× |")


def seed(data):
    runs = data["runs"]
    rows = [(n, runs[f"seed-{n}"]) for n in ["dictionary", "dictionary-trim", "diskmap"] if f"seed-{n}" in runs]
    if not rows:
        return
    labels = {"dictionary": "Swift `Dictionary<UInt64, UInt64>`", "dictionary-trim": "`Dictionary` + `malloc_trim`",
              "diskmap": "`DiskMap`, default `Store(at:)`"}
    heap = dict(rows).get("dictionary")
    print(f"N = {rows[0][1]['n']:,}; MiB = 2²⁰ bytes\n")
    print("| implementation | peak RssAnon | final RssAnon | peak RssFile | time | peak RssAnon / `Dictionary`'s | time / `Dictionary`'s |")
    print("|---|---|---|---|---|---|---|")
    for n, r in rows:
        ratios = (f"{r['peak_rss_anon_mb'] / heap['peak_rss_anon_mb']:.2f}× | {r['seconds'] / heap['seconds']:.1f}×"
                  if heap and n != "dictionary" else "— | —")
        print(f"| {labels[n]} | {r['peak_rss_anon_mb']:,.1f} MiB | {r['final_rss_anon_mb']:,.1f} MiB | "
              f"{r['peak_rss_file_mb']:,.1f} MiB | {r['seconds']:.1f} s | {ratios} |")


def budget(data):
    r = data["runs"].get("budget-16mib")
    if r is None:
        return
    mib = 1 << 20
    n = data["runs"].get("throughput-raw-c", {}).get("n")
    print(f"{f'{n:,}' if n else 'N'} random entries written through a `DiskMap` with `cacheBudget: .bytes(16 MiB)`, "
          "flushed, then read back after reopening:\n")
    print("| budget | RssAnon at the start | peak RssAnon | growth | growth / budget | flushes | values read back | wrong |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {r['budget'] / mib:.0f} MiB | {r['baseline'] / mib:.1f} MiB | {r['peak'] / mib:.1f} MiB | "
          f"{(r['peak'] - r['baseline']) / mib:.1f} MiB | {(r['peak'] - r['baseline']) / r['budget']:.2f}× | "
          f"{r['flushes']:,} | {r['checked']:,} | {r['mismatches']:,} |")


def search(data):
    runs = data["runs"]
    names = sorted(n for n in runs if n.startswith("search-obvious-"))
    if not names:
        return
    print("MiB = 2²⁰ bytes; each round runs the `Set` version, then the disk version\n")
    print("| puzzle | round | `Set` + `[UInt64]` | `DiskSet` + `DiskQueue` | time ratio | peak RssAnon, `Set` / ours | "
          "final RssAnon, ours | LMDB lookups | flushes (transactions) | tables |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        metric_round = name[len("search-obvious-"):]
        disk, heap = runs[name], runs.get(f"search-heap-{metric_round}")
        if heap is None:
            continue
        equal = "equal the published ones" if disk["matches_published"] and heap["matches_published"] else "**DIFFER**"
        print(f"| {disk['puzzle']} | {metric_round.split('-')[1]} | {heap['seconds']:.1f} s | {disk['seconds']:.1f} s | "
              f"{disk['seconds'] / heap['seconds']:.2f}× | {heap['peak_rss_anon_mb']:,.1f} / {disk['peak_rss_anon_mb']:,.1f} MiB | "
              f"{disk['final_rss_anon_mb']:,.1f} MiB | {disk.get('misses') or 0:,} | {disk.get('flushes') or 0} "
              f"({disk.get('flush_transactions') or 0}) | {equal} |")


SECTIONS = {"throughput": throughput, "targets": targets, "checksums": checksums, "memory": memory,
            "cache": cache, "seed": seed, "budget": budget, "search": search}


def main():
    path, _, names = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    print_sections(SECTIONS, json.load(open(path)), names)


if __name__ == "__main__":
    main()
