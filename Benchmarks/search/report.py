#!/usr/bin/env python3
"""Tables and the scaling plot of docs/benchmarks.md's search section, from Benchmarks/search/run.sh's JSON.

usage: report.py [results.json] [--plot docs/search-scaling.svg]
Prints a Markdown table (paste-free: docs/benchmarks.md quotes this output) and draws a log-log plot
of time and peak RssAnon against states for the disk and the in-heap searches (needs matplotlib).
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, pyplot, report_arguments

# The in-heap pancake 12 search is too large to rerun casually (37 minutes, 14.5 GB): when the JSON has
# a pancake 12 run on disk only, the heap side comes from this file (its own date and commit, shown).
HEAP12 = os.path.join(os.path.dirname(os.path.abspath(__file__)), "pancake-12-heap.json")

def mb(b): return f"{b / 1e6:,.1f} MB"

def main():
    path, plot, _ = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    data = json.load(open(path))
    notes = []
    p12 = data["runs"].get("pancake-12")
    if p12 and not p12.get("heap") and os.path.exists(HEAP12):
        kept = json.load(open(HEAP12))
        p12["heap"] = kept["heap"]
        notes.append(f"pancake-12's heap side is the run of {kept['date']}, commit {kept['commit']} "
                     f"(`{kept['command']}`, Benchmarks/search/pancake-12-heap.json): 37 minutes and 15 GB, not rerun with the rest.")
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
    for note in notes:
        print(f"\n{note}")
    if plot is None:
        return
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
        ax.set_xlabel("states (pancakes 9 to 12)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    fig.suptitle(f"Breadth-first search of the pancake graphs, {data['cores']} cores, commit {data['commit']}")
    fig.tight_layout()
    fig.savefig(plot, metadata={"Date": None})
    print(f"\nwrote {plot}", file=sys.stderr)

main()
