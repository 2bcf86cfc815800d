#!/usr/bin/env python3
"""The README's benchmark summary, from the same results files as docs/benchmarks.md.

usage: headline.py RESULTS_DIR
Prints a Markdown paragraph; Benchmarks/render.py puts it between the README's
<!-- benchmarks:begin --> and <!-- benchmarks:end --> lines.
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from runinfo import header


def load(results, path):
    p = os.path.join(results, path)
    return json.load(open(p)) if os.path.exists(p) else None


def main():
    results = sys.argv[1]
    lines = []
    peers = load(results, "peers/results.json")
    if peers and "throughput-raw-c" in peers["runs"] and "throughput-diskmap" in peers["runs"]:
        raw, ours = peers["runs"]["throughput-raw-c"], peers["runs"]["throughput-diskmap"]
        r = lambda k: f"{ours[k] / raw[k]:.2f}×"
        line = (f"At N = {raw['n']:,}, against raw LMDB in C in the same run, `DiskMap<UInt64, UInt64>` loads at "
                f"{r('append_load_per_s')}, puts at {r('random_put_per_s')}, gets at {r('random_get_per_s')} and scans at "
                f"{r('scan_per_s')} raw C's rate")
        if "memory-set" in peers["runs"] and "memory-diskset" in peers["runs"]:
            s, d = peers["runs"]["memory-set"], peers["runs"]["memory-diskset"]
            line += (f"; {d['n']:,} inserts into a `DiskSet` peak at {d['peak_rss_anon_mb']:,.0f} MiB of heap where `Set` "
                     f"takes {s['peak_rss_anon_mb']:,.0f} MiB")
        lines.append(line + f" ({header(peers)}).")
    memory = load(results, "memory/results.json")
    if memory:
        runs = memory["runs"]
        disk = [r["peak_rss_anon_mb"] for n, r in runs.items() if "-disk-" in n]
        heap = [r["peak_rss_anon_mb"] for n, r in runs.items() if "-heap" in n]
        if disk and heap:
            lines.append(f"Built, searched and dropped in a long-running process, a default store peaks at "
                         f"{max(disk):,.0f} MB of heap against {min(heap):,.0f} to {max(heap):,.0f} MB for the same data in the heap "
                         f"under glibc, jemalloc, mimalloc and tcmalloc ([the plot](docs/memory-timeline.svg); {header(memory)}).")
    search = load(results, "search/results.json")
    if search:
        best = None
        for name, r in search["runs"].items():
            if name.startswith("pancake") and r.get("heap") and r.get("matches"):
                states = sum(r["levels"])
                if best is None or states > best[1]:
                    best = (name, states, r)
        if best:
            name, states, r = best
            d, h = r["disk"], r["heap"]
            lines.append(f"`BreadthFirstSearch` on {name} ({states:,} states) took {d['seconds']:.1f} s at "
                         f"{d['peakAnonymous'] / 1e6:,.0f} MB of peak heap against {h['seconds']:.1f} s and "
                         f"{h['peakAnonymous'] / 1e6:,.0f} MB for `Set<UInt64>` + `[UInt64]` ({header(search)}).")
    distributed = load(results, "distributed/results.json")
    if distributed:
        runs = distributed["runs"]
        sizes = sorted({int(n.split("-")[1]) for n in runs if n.startswith("pancake-")})
        for size in reversed(sizes):
            one, two = runs.get(f"pancake-{size}-process-jobs-1"), runs.get(f"pancake-{size}-ranks-2")
            if one and two and two.get("matches"):
                lines.append(f"Over MPI, 2 ranks of one thread each searched pancake-{size} in {two['disk']['seconds']:.1f} s against "
                             f"{one['disk']['seconds']:.1f} s for one process with one thread "
                             f"({one['disk']['seconds'] / two['disk']['seconds']:.2f}×; [distributed.md](docs/distributed.md); {header(distributed)}).")
                break
    print(" ".join(lines))


if __name__ == "__main__":
    main()
