#!/usr/bin/env bash
# The package-benchmark suites (CollectionOperations, Cache, Codecs; docs/benchmarks.md, "Suites"):
# one run stored as the baseline "suites", exported to Benchmarks/suites/results.json with the
# machine and commit, and the table regenerated from it.
#
#   Benchmarks/suites/run.sh                        # about 4 minutes
#   UPDATE_THRESHOLDS=1 Benchmarks/suites/run.sh    # also rewrites Benchmarks/Thresholds from this run
#
# The regression guard: `make bench-check` (swift package benchmark thresholds check) runs the suites
# and fails (exit 2) where a median is more than 25% (p90 35%) slower, or mallocs 10% more, than
# the committed thresholds.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root/Benchmarks"
out=${OUT:-suites/results.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
swift package --allow-writing-to-package-directory benchmark baseline update suites --no-progress >&2
swift package --allow-writing-to-package-directory benchmark baseline read suites --format jmh --path "$tmp" --no-progress >&2
if [ "${UPDATE_THRESHOLDS:-0}" = 1 ]; then
    rm -rf Thresholds
    swift package --allow-writing-to-package-directory benchmark thresholds update suites --no-progress >&2
fi
python3 - "$tmp" "$out" <<'PY'
import glob, json, os, sys
sys.path.insert(0, os.getcwd())  # Benchmarks/: runinfo.py
from runinfo import machine
tmp, out = sys.argv[1], sys.argv[2]
def strip(x):  # every sample is in the baseline (.benchmarkBaselines); keep the percentiles
    if isinstance(x, dict): return {k: strip(v) for k, v in x.items() if k != "rawData"}
    return x
result = machine()
result["jmh"] = [strip(entry) for f in glob.glob(os.path.join(tmp, "*.json")) for entry in json.load(open(f))]
json.dump(result, open(out, "w"), indent=1, sort_keys=True)
print("wrote", out, file=sys.stderr)
PY
[ "${REPORT:-1}" = 0 ] || python3 suites/report.py "$out"
