#!/usr/bin/env python3
"""The tables of docs/benchmarks.md's distributed search section: the scaling table from
Benchmarks/distributed/run.sh's JSON, the bandwidth table from bandwidth.sh's.

usage: report.py [results.json | bandwidth.json]
Scaling, for each pancake size: one process with 1 and 2 threads, then 1, 2 and 4 MPI ranks of one
thread each (and 2 over TCP): time, speedup against one process with one thread and against one
rank, the largest rank's peak and final RssAnon, the stores' size, and the states the ranks sent
each other. Bandwidth: 2 ranks over a loopback link limited to each rate, against the model.
"""
import json, os, re, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, report_arguments

LABELS = {
    "process-jobs-1": "one process, 1 thread",
    "process-jobs-2": "one process, 2 threads",
    "ranks-1": "1 rank",
    "ranks-2": "2 ranks",
    "ranks-4": "4 ranks",
    "ranks-2-tcp": "2 ranks over TCP (loopback)",
}


def mb(b): return f"{b / 1e6:,.1f} MB"


def bandwidth(data):
    """2 ranks through a loopback device limited to a rate, against the model: the larger of the
    computation (the unlimited run's time) and the exchange (every byte sent through the one device,
    which carries both directions, at the rate)."""
    runs = data["runs"]
    free = runs.get("rate-unlimited", {}).get("disk", {}).get("seconds")
    print("| link | time | states sent | bytes through the link | exchange alone at the rate | model: max(computation, exchange) | time / model | table |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in sorted(runs.items(), key=lambda item: -float(item[0][5:]) if item[0][5:].isdigit() else -1e18):
        d = r["disk"]
        rate = name[5:]
        sent = d["statesExchanged"]
        if rate.isdigit():
            exchange = sent * 8 / (float(rate) * 1e6 / 8)
            model = max(free or 0, exchange)
            cells = [f"{int(rate):,} Mbit/s", f"{exchange:.1f} s", f"{model:.1f} s", f"{d['seconds'] / model:.2f}"]
        else:
            cells = ["unlimited", "—", "—", "—"]
        row = [cells[0], f"{d['seconds']:.1f} s", f"{sent:,}", f"{sent * 8 / 1e6:,.0f} MB"] + cells[1:] + \
              ["equal" if r["matches"] else "DIFFERENT"]
        print("| " + " | ".join(row) + " |")


def main():
    path, _, _ = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    data = json.load(open(path))
    print(header(data) + "\n")
    if any(name.startswith("rate-") for name in data["runs"]):
        return bandwidth(data)
    print("| search | run | time | vs 1 thread | vs 1 rank | largest rank's peak RssAnon | final RssAnon | stores at their largest | states sent | sent per state found | table |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    by_size = {}
    for name, run in data["runs"].items():
        m = re.match(r"pancake-(\d+)-(.+)$", name)
        by_size.setdefault(int(m.group(1)), {})[m.group(2)] = run
    for size in sorted(by_size):
        runs = by_size[size]
        base = runs.get("process-jobs-1", {}).get("disk", {}).get("seconds")
        rank1 = runs.get("ranks-1", {}).get("disk", {}).get("seconds")
        for kind in LABELS:
            if kind not in runs:
                continue
            r = runs[kind]
            d = r["disk"]
            states = sum(r["levels"])
            sent = d.get("statesExchanged")
            row = [f"pancake {size}", LABELS[kind], f"{d['seconds']:.1f} s",
                   f"{base / d['seconds']:.2f}×" if base else "—",
                   f"{rank1 / d['seconds']:.2f}×" if rank1 and "ranks" in kind else "—",
                   mb(d["peakAnonymous"]), mb(d["finalAnonymous"]), mb(d.get("storeBytes") or 0),
                   f"{sent:,} ({sent * 8 / 1e6:,.0f} MB)" if sent is not None else "—",
                   f"{sent / states:.2f} ({sent * 8 / states:.0f} bytes)" if sent is not None else "—",
                   "equal" if r["matches"] else "DIFFERENT"]
            print("| " + " | ".join(row) + " |")


main()
