#!/usr/bin/env python3
"""The "Memory over time" table and plot of docs/benchmarks.md, from Benchmarks/memory/run.sh's JSON.

usage: report.py [results.json] [--plot docs/memory-timeline.svg]
Prints a Markdown table per shape of data (docs/benchmarks.md quotes this output) and draws RssAnon
over time for every run, one panel per shape (needs matplotlib).
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, pyplot, report_arguments

SHAPES = {
    "table": "one big table: `Dictionary<UInt64, UInt64>` / `DiskMap<UInt64, UInt64>`",
    "objects": "many small objects: `Set<[UInt8]>` of 16-byte keys / `DiskSet<[UInt8]>`",
}
ORDER = ["heap-glibc", "heap-trim-glibc", "heap-jemalloc", "heap-mimalloc", "heap-tcmalloc", "disk-glibc"]


def label(r):
    if r["way"] == "disk":
        return "DiskCollections, default `Store(at:)`"
    container = "Dictionary" if r["shape"] == "table" else "Set"
    return f"{container}, {r['allocator']}" + (" + malloc_trim" if r["way"] == "heap-trim" else "")


def idle_anon(r):
    """RssAnon at the end of the idle phase: what the process keeps once it no longer needs the data
    (for the disk runs, with the store still open)."""
    return r["final_rss_anon_mb"]


def idle_seconds(r):
    return r["phases"]["end"] - r["phases"]["idle"]


def after_drop(r):
    """The first sample after the drop (within 100 ms of it), before any idle time passes."""
    t = r["phases"]["idle"]
    later = [s for s in r["samples"] if s[0] >= t]
    return later[0][1] if later else r["final_rss_anon_mb"]


def runs_of(data, shape):
    runs = {k[len(shape) + 1:]: v for k, v in data["runs"].items() if k.startswith(shape + "-")}
    return [(k, runs[k]) for k in ORDER if k in runs]


def main():
    path, plot, _ = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    data = json.load(open(path))
    print(header(data) + "\n")
    for shape, title in SHAPES.items():
        rows = runs_of(data, shape)
        if not rows:
            continue
        disk = dict(rows).get("disk-glibc")
        print(f"**{title}**, N = {rows[0][1]['n']:,}:\n")
        idle = round(idle_seconds(rows[0][1]))
        print(f"| way | peak RssAnon | RssAnon right after the drop | RssAnon after {idle} s idle | peak RssFile | time (with the idle) | peak RssAnon / ours |")
        print("|---|---|---|---|---|---|---|")
        for _, r in rows:
            ratio = f"{r['peak_rss_anon_mb'] / disk['peak_rss_anon_mb']:.1f}×" if disk else "—"
            print(f"| {label(r)} | {r['peak_rss_anon_mb']:,.1f} MB | {after_drop(r):,.1f} MB | {idle_anon(r):,.1f} MB | "
                  f"{r['peak_rss_file_mb']:,.1f} MB | {r['seconds']:.1f} s | {ratio} |")
        print()
    if not plot:
        return
    plt = pyplot()
    if plt is None:
        return
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, (shape, title) in zip(axes, SHAPES.items()):
        for _, r in runs_of(data, shape):
            t = [s[0] for s in r["samples"]]
            disk = r["way"] == "disk"
            ax.plot(t, [s[1] for s in r["samples"]], label=label(r).replace("`", "") + " (RssAnon)",
                    linewidth=2.2 if disk else 1.2, color="black" if disk else None)
            if disk:
                ax.plot(t, [s[2] for s in r["samples"]], ":", color="gray", label="DiskCollections (RssFile: page cache)")
        ax.set_title(title.replace("`", ""), fontsize=9)
        ax.set_xlabel("seconds")
        ax.set_ylabel("MB")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Build, search, drop, idle: resident memory every 100 ms", fontsize=10)
    fig.tight_layout()
    fig.savefig(plot, metadata={"Date": None})
    print(f"wrote {plot}", file=sys.stderr)


if __name__ == "__main__":
    main()
