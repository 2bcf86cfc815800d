#!/usr/bin/env python3
"""Runs each import and export of Benchmarks/cli/run.sh as a process of its own, timing it and sampling
its RssAnon and RssFile (/proc/PID/status) every 20 ms, and writes the results as JSON.

usage: measure.py N DISKCOLL OUT.json
"""
import datetime, json, os, shutil, subprocess, sys, tempfile, time

def sample(pid):
    try:
        fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/status") if line.startswith(("RssAnon", "RssFile")))
        return {k: int(v.split()[0]) * 1024 for k, v in fields.items()}
    except (OSError, ValueError):
        return {}

def run(name, cmd, stdout=None, records=None, before=None):
    """One timed run: wall seconds, peak RssAnon and RssFile. The page cache's dirty pages are written
    first (sync), so one run does not pay for the writeback of the one before."""
    if before: before()
    subprocess.run(["sync"])
    print(f"== {name}: {' '.join(cmd)}", file=sys.stderr)
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.PIPE)
    peak = {"RssAnon": 0, "RssFile": 0}
    while p.poll() is None:
        for k, v in sample(p.pid).items():
            peak[k] = max(peak[k], v)
        time.sleep(0.02)
    seconds = time.perf_counter() - start
    err = p.stderr.read().decode()
    if p.returncode != 0:
        sys.exit(f"{name} failed ({p.returncode}): {err}")
    result = {"seconds": seconds, "peakAnonymous": peak["RssAnon"], "peakFile": peak["RssFile"], "command": " ".join(cmd)}
    if records:
        result["recordsPerSecond"] = records / seconds
    print(f"   {seconds:.2f} s, peak RssAnon {peak['RssAnon'] / 1e6:.1f} MB, RssFile {peak['RssFile'] / 1e6:.1f} MB", file=sys.stderr)
    return result

def main():
    n, diskcoll, out = int(sys.argv[1]), os.path.abspath(sys.argv[2]), sys.argv[3]
    tmp = tempfile.mkdtemp(prefix="diskcoll-cli-bench-")
    try:
        path = lambda *p: os.path.join(tmp, *p)
        with open(path("m.jsonl"), "w") as f:  # keys in order, as an export writes them
            for i in range(n):
                f.write('{"key":%d,"value":%d}\n' % (i, (i * 2654435761) % 2**64))
        with open(path("m.csv"), "w") as f:
            for i in range(n):
                f.write("%d,%d\n" % (i, (i * 2654435761) % 2**64))
        runs = {}
        def best_of(rounds, **commands):
            """Runs the commands in turn, `rounds` times, and keeps each one's median run."""
            results = {name: [] for name in commands}
            for _ in range(rounds):
                for name, (cmd, kwargs) in commands.items():
                    results[name].append(run(name, cmd, records=n, **kwargs))
            for name, rs in results.items():
                runs[name] = sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2]
        runs["import jsonl (typed)"] = run("import jsonl", [diskcoll, "import", path("src"), "m", path("m.jsonl"), "--key-type", "uint64", "--value-type", "uint64", "--quiet"], records=n)
        runs["import csv (typed)"] = run("import csv", [diskcoll, "import", path("csv"), "m", path("m.csv"), "--key-type", "uint64", "--value-type", "uint64", "--quiet"], records=n)
        best_of(3, **{
            "export mdb-dump: mdb_dump": (["mdb_dump", "-s", "m", path("src")], {"stdout": path("theirs.dump")}),
            "export mdb-dump: diskcoll": ([diskcoll, "export", path("src"), "m"], {"stdout": path("ours.dump")}),
            "export mdb-dump to a file, synced and renamed: diskcoll": ([diskcoll, "export", path("src"), "m", path("ours-file.dump"), "--quiet"], {}),
        })
        identical = open(path("ours.dump"), "rb").read() == open(path("theirs.dump"), "rb").read()
        best_of(1, **{
            "export jsonl": ([diskcoll, "export", path("src"), "m", "--format", "jsonl"], {"stdout": path("out.jsonl")}),
            "export csv": ([diskcoll, "export", path("src"), "m", "--format", "csv"], {"stdout": path("out.csv")}),
        })
        for d in ("loaded", "raw", "typed"):
            os.makedirs(path(d), exist_ok=True)
        def fresh(d):
            return lambda: (shutil.rmtree(path(d)), os.makedirs(path(d)))
        best_of(1, **{
            "import mdb-dump: mdb_load": (["mdb_load", "-s", "m", "-f", path("theirs.dump"), path("loaded")], {"before": fresh("loaded")}),
        })
        best_of(3, **{
            "import mdb-dump: diskcoll (plain database)": ([diskcoll, "import", path("raw"), "m", path("theirs.dump"), "--quiet"], {"before": fresh("raw")}),
            "import mdb-dump: diskcoll (typed map)": ([diskcoll, "import", path("typed"), "m", path("theirs.dump"), "--kind", "map", "--key-type", "uint64", "--value-type", "uint64", "--quiet"], {"before": fresh("typed")}),
        })
        def sh(*cmd):
            return subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
        meminfo = open("/proc/meminfo").read().split()
        result = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "commit": sh("git", "rev-parse", "--short", "HEAD"),
            "cores": os.cpu_count(),
            "memoryBytes": int(meminfo[meminfo.index("MemTotal:") + 1]) * 1024,
            "lmdb": sh("mdb_load", "-V"),
            "entries": n,
            "dumpBytes": os.path.getsize(path("theirs.dump")),
            "jsonlBytes": os.path.getsize(path("m.jsonl")),
            "exportIdenticalToMdbDump": identical,
            "runs": runs,
        }
        json.dump(result, open(out, "w"), indent=1, sort_keys=True)
        print("wrote", out, file=sys.stderr)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

main()
