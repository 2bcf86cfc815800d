#!/usr/bin/env python3
"""What every results file under Benchmarks/ records beside its figures (date, commit, cores,
memory), and the collector the run scripts share.

usage: runinfo.py TMPDIR OUT [--no-samples] NAME...
Writes OUT: the machine, and under "runs" each TMPDIR/NAME.json as NAME (without its "samples" with
--no-samples). The run scripts import `machine()`, the reports `header()`, `pyplot()`,
`report_arguments()` and `print_sections()`.
"""
import datetime, json, os, subprocess, sys


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
    except OSError:
        return ""


def machine():
    meminfo = open("/proc/meminfo").read().split()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "commit": sh("git", "rev-parse", "--short", "HEAD"),
        "cores": os.cpu_count(),
        "memoryBytes": int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024,
    }


def header(data):
    """The line each report's tables start with: when, which commit, what machine."""
    return f"{data['date']}, commit {data['commit']}, {data['cores']} cores, {data['memoryBytes'] / 2**30:.0f} GiB"


def pyplot():
    """matplotlib's pyplot for files (the Agg backend, the same data drawing the same SVG), or None
    after saying so when matplotlib is missing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no plot: pip install matplotlib)", file=sys.stderr)
        return None
    matplotlib.rcParams["svg.hashsalt"] = "diskcollections"
    return plt


def report_arguments(default):
    """A report's command line, `[results.json] [--plot FILE] [SECTION...]`: the results file
    (`default` when none is named), the plot's path (None: no plot) and the sections asked for."""
    args = sys.argv[1:]
    plot = None
    if "--plot" in args:
        i = args.index("--plot")
        plot = args[i + 1]
        del args[i:i + 2]
    path = args.pop(0) if args and args[0].endswith(".json") else default
    return path, plot, args


def print_sections(sections, data, names):
    """Prints the sections named (all of them, a blank line apart, when none is)."""
    for i, name in enumerate(names or sections):
        if not names and i:
            print()
        sections[name](data)


def main():
    args = sys.argv[1:]
    no_samples = "--no-samples" in args
    args = [a for a in args if a != "--no-samples"]
    tmp, out, names = args[0], args[1], args[2:]

    def load(name):
        run = json.load(open(os.path.join(tmp, name + ".json")))
        if no_samples:
            run.pop("samples", None)
        return run

    result = machine()
    result["runs"] = {n: load(n) for n in names}
    json.dump(result, open(out, "w"), indent=1, sort_keys=True)
    print("wrote", out, file=sys.stderr)


if __name__ == "__main__":
    main()
