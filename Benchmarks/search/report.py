#!/usr/bin/env python3
"""Tables and the scaling plot of docs/benchmarks.md's search section, from Benchmarks/search/run.sh's JSON.

usage: report.py [results.json] [--plot docs/search-scaling.svg]
Prints a Markdown table (paste-free: docs/benchmarks.md quotes this output) and draws a log-log plot
of time and peak RssAnon against states for the disk and the in-heap searches (needs matplotlib).
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, pyplot

# The in-heap pancake 12 search is too large to rerun casually (37 minutes, 14.5 GB): when the JSON has
# no heap run for it, its measurement from the search issue is drawn as a separate, labelled point.
HEAP12_RECORDED = {"seconds": 37 * 60, "peakAnonymous": 14.5e9}

def mb(b): return f"{b / 1e6:,.1f} MB"

def main():
    args = sys.argv[1:]
    path = args[0] if args and not args[0].startswith("--") else "Benchmarks/search/results.json"
    plot = args[args.index("--plot") + 1] if "--plot" in args else "docs/search-scaling.svg"
    data = json.load(open(path))
    print(header(data) + "\n")
    print("| search | states | disk time | heap time | time ratio | disk peak RssAnon | heap peak RssAnon | peak ratio | disk final | heap final | store at its largest | disk states/s | table |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    points = []
    order = lambda item: (item[0].rstrip("0123456789-"), sum(item[1]["levels"]))
    for name, r in sorted(data["runs"].items(), key=order):
        d, h = r["disk"], r.get("heap")
        states = sum(r["levels"])
        row = [name, f"{states:,}", f"{d['seconds']:.1f} s", f"{h['seconds']:.1f} s" if h else "—",
               f"{d['seconds'] / h['seconds']:.2f}×" if h else "—", mb(d["peakAnonymous"]),
               mb(h["peakAnonymous"]) if h else "—",
               f"{d['peakAnonymous'] / h['peakAnonymous']:.3f}×" if h else "—",
               mb(d["finalAnonymous"]), mb(h["finalAnonymous"]) if h else "—",
               mb(d.get("storeBytes") or 0), f"{states / d['seconds'] / 1e6:.1f}M",
               "equal" if r["matches"] else "DIFFERENT"]
        print("| " + " | ".join(row) + " |")
        points.append((name, states, d, h))
    plt = pyplot()
    if plt is None:
        return
    pancakes = sorted((p for p in points if p[0].startswith("pancake")), key=lambda p: p[1])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in ((ax1, "seconds", "time (s)"), (ax2, "peakAnonymous", "peak RssAnon (bytes)")):
        xs = [p[1] for p in pancakes]
        ax.loglog(xs, [p[2][key] for p in pancakes], "o-", label="BreadthFirstSearch (disk)")
        heap = [(p[1], p[3][key]) for p in pancakes if p[3]]
        if heap:
            ax.loglog(*zip(*heap), "s-", label="Set<UInt64> + [UInt64] (heap)")
        if not any(p[0] == "pancake-12" and p[3] for p in pancakes):
            ax.loglog([479001600], [HEAP12_RECORDED[key]], "s", mfc="none", color="C1",
                      label="heap, pancake 12 (recorded earlier)")
        ax.set_xlabel("states (pancakes 9 to 12)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    fig.suptitle(f"Breadth-first search of the pancake graphs, {data['cores']} cores, commit {data['commit']}")
    fig.tight_layout()
    fig.savefig(plot)
    print(f"\nwrote {plot}", file=sys.stderr)

main()
