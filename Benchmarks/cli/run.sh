#!/usr/bin/env bash
# The command-line benchmarks of docs/benchmarks.md: diskcoll import and export beside Debian's
# mdb_load and mdb_dump on the same files, in one run, written as one JSON file with the machine and
# commit; then the table regenerated from it.
#
#   Benchmarks/cli/run.sh             # N = 10,000,000 entries (about 3 minutes, 1.5 GB of scratch files)
#   N=1000000 Benchmarks/cli/run.sh   # smaller
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product diskcoll >&2
out=${OUT:-Benchmarks/cli/results.json}
python3 Benchmarks/cli/measure.py "${N:-10000000}" .build/release/diskcoll "$out"
[ "${REPORT:-1}" = 0 ] || python3 Benchmarks/cli/report.py "$out"
