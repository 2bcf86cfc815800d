#!/usr/bin/env python3
"""The concurrency tables of docs/benchmarks.md, from Benchmarks/concurrency/run.sh's JSON.

usage: report.py [results.json] [scaling|responsiveness...]
"""
import json, os, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))  # Benchmarks/
from runinfo import header, print_sections, report_arguments

DISKS = {"slow": "10 ms fsync (`slowsync`)", "native": "this machine's"}


def scaling(data):
    r = data["runs"].get("concurrent-gets")
    if r is None:
        return
    print(f"{header(data)}; {r['n']:,} keys; best of two 2-second runs each way\n")
    print("| configuration | 1 task | 2 tasks | scaling |")
    print("|---|---|---|---|")
    for row in r["rows"]:
        print(f"| {row['configuration']} | {row['one_task_per_s'] / 1e6:.2f} M/s | {row['two_tasks_per_s'] / 1e6:.2f} M/s | "
              f"{row['scaling']:.2f}× |")


def responsiveness(data):
    names = [n for n in ["responsiveness-slow-2", "responsiveness-slow-8", "responsiveness-native-2"] if n in data["runs"]]
    if not names:
        return
    print("| disk | writers | writes | commits/s | timer wake-ups in 3 s | late p50 | late p99 | late max | timer task started after | threads added |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        r = data["runs"][name]
        disk = DISKS[name.split("-")[1]]
        for row in r["rows"]:
            print(f"| {disk} | {r['writers']} | {row['writes']} | {row['commits_per_s']:,.0f} | {row['ticks']:,} | "
                  f"{row['tick_late_p50_ms']:.2f} ms | {row['tick_late_p99_ms']:.2f} ms | {row['tick_late_max_ms']:.2f} ms | "
                  f"{row['timer_start_delay_ms']:.3f} ms | {row['threads_added']} |")


SECTIONS = {"scaling": scaling, "responsiveness": responsiveness}


def main():
    path, _, names = report_arguments(os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.json"))
    print_sections(SECTIONS, json.load(open(path)), names)


if __name__ == "__main__":
    main()
