#!/usr/bin/env bash
# The search benchmarks of docs/benchmarks.md: each puzzle through `diskcoll search --compare-heap`
# (BreadthFirstSearch on disk, then Set<UInt64> + [UInt64] in a child process, one after the other),
# written as one JSON file with the machine and commit, then the table and plot regenerated from it.
#
#   Benchmarks/search/run.sh                 # pocket cube (both metrics), pancakes 9-11
#   PANCAKE12=1 Benchmarks/search/run.sh     # also pancake 12 on disk (about 6 minutes, 200 MB budget);
#                                            # its in-heap run (about 37 minutes, 14.5 GB) with HEAP12=1
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product diskcoll >&2
bin=.build/release/diskcoll
out=${OUT:-Benchmarks/search/results.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

runs=()
add() {  # add NAME ARGS...: one run, its JSON report kept under NAME
    local name=$1; shift
    echo "== $name: diskcoll search $*" >&2
    "$bin" search "$@" --json > "$tmp/$name.json"
    runs+=("$name")
}
add pocket-cube-htm pocket-cube --metric htm --compare-heap
add pocket-cube-qtm pocket-cube --metric qtm --compare-heap
add pancake-9 pancake 9 --compare-heap
add pancake-10 pancake 10 --compare-heap
[ "${SEARCH_QUICK:-0}" = 1 ] || add pancake-11 pancake 11 --compare-heap  # SEARCH_QUICK=1: up to pancake 10
if [ "${PANCAKE12:-0}" = 1 ]; then
    if [ "${HEAP12:-0}" = 1 ]; then add pancake-12 pancake 12 --memory 200MB --compare-heap
    else add pancake-12 pancake 12 --memory 200MB; fi
fi

# INCLUDE="name=report.json ...": reports of runs made separately (e.g. a long pancake 12), added as is.
for item in ${INCLUDE:-}; do
    cp "${item#*=}" "$tmp/${item%%=*}.json"
    runs+=("${item%%=*}")
done

python3 Benchmarks/runinfo.py "$tmp" "$out" "${runs[@]}"
[ "${REPORT:-1}" = 0 ] || python3 Benchmarks/search/report.py "$out" --plot docs/search-scaling.svg
