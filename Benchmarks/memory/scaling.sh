#!/usr/bin/env bash
# Scaling (docs/benchmarks.md, "Scaling"): time and peak RssAnon against size for DiskMap<UInt64,
# UInt64> and DiskSet<UInt64> (default Store(at:)) against Dictionary and Set: each builds N entries
# and looks every one up, in a process of its own (PeerComparison timeline-{table,set}-{heap,disk}
# with no idle). Writes Benchmarks/memory/scaling.json with the machine and commit, then the table
# and the log-log plot (docs/scaling.svg) are regenerated from it.
#
#   Benchmarks/memory/scaling.sh            # N = 1M and 10M
#   BIG=1 Benchmarks/memory/scaling.sh      # also N = 100M (about 20 minutes more, 6 GB of heap)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install --quiet matplotlib 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages matplotlib
swift build -c release --package-path Benchmarks --product PeerComparison >&2
bin=$(swift build -c release --package-path Benchmarks --show-bin-path)/PeerComparison
out=${OUT:-Benchmarks/memory/scaling.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sizes=${SCALING_SIZES:-"1000000 10000000"}
[ "${BIG:-0}" = 1 ] && sizes="$sizes 100000000"

runs=()
for n in $sizes; do
    for shape in table set; do
        for way in heap disk; do
            name="$shape-$way-$n"
            echo "== $name" >&2
            rm -rf "$tmp/store"
            IDLE_S=0 "$bin" "timeline-$shape-$way" "$tmp/store" "$n" > "$tmp/$name.json"
            runs+=("$name")
        done
    done
done

python3 Benchmarks/runinfo.py "$tmp" "$out" --no-samples "${runs[@]}"
[ "${REPORT:-1}" = 0 ] || python3 Benchmarks/memory/scaling_report.py "$out" --plot docs/scaling.svg
