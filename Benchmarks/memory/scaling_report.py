#!/usr/bin/env python3
"""The "Scaling" table and log-log plot of docs/benchmarks.md, from Benchmarks/memory/scaling.sh's JSON.

usage: scaling_report.py [scaling.json] [--plot docs/scaling.svg]
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, pyplot, report_arguments

NAMES = {("table", "heap"): "Dictionary<UInt64, UInt64>", ("table", "disk"): "DiskMap<UInt64, UInt64>",
         ("set", "heap"): "Set<UInt64>", ("set", "disk"): "DiskSet<UInt64>"}


def main():
    path, plot, _ = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "scaling.json"))
    data = json.load(open(path))
    print(header(data) + "\n")
    runs = data["runs"].values()
    sizes = sorted({r["n"] for r in runs})
    by = {(r["shape"], r["way"], r["n"]): r for r in runs}
    print("| N | structure | time (build + look up all) | peak RssAnon | peak RssFile | time / in-heap | peak RssAnon / in-heap |")
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        for shape in ("table", "set"):
            heap = by.get((shape, "heap", n))
            for way in ("heap", "disk"):
                r = by.get((shape, way, n))
                if not r:
                    continue
                work = r["phases"]["drop"]  # build and search, without the drop and the close
                rel_t = f"{work / heap['phases']['drop']:.1f}×" if heap and way == "disk" else "—"
                rel_m = f"{r['peak_rss_anon_mb'] / heap['peak_rss_anon_mb']:.3f}×" if heap and way == "disk" else "—"
                print(f"| {n:,} | `{NAMES[(shape, way)]}` | {work:.1f} s | {r['peak_rss_anon_mb']:,.1f} MB | "
                      f"{r['peak_rss_file_mb']:,.1f} MB | {rel_t} | {rel_m} |")
    if not plot:
        return
    plt = pyplot()
    if plt is None:
        return
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for (shape, way), name in NAMES.items():
        points = sorted((n, by[(shape, way, n)]) for n in sizes if (shape, way, n) in by)
        if not points:
            continue
        style = "o-" if way == "disk" else "s--"
        xs = [p[0] for p in points]
        ax1.loglog(xs, [p[1]["phases"]["drop"] for p in points], style, label=name)
        ax2.loglog(xs, [p[1]["peak_rss_anon_mb"] for p in points], style, label=name)
    ax1.set_title("time to build and look up every entry", fontsize=9)
    ax1.set_ylabel("seconds")
    ax2.set_title("peak RssAnon (heap)", fontsize=9)
    ax2.set_ylabel("MB")
    for ax in (ax1, ax2):
        ax.set_xlabel("entries")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plot, metadata={"Date": None})
    print(f"wrote {plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
