#!/usr/bin/env bash
# The side-by-side comparison (docs/benchmarks.md, "Throughput against raw LMDB" and after): the
# peers' workload through raw LMDB in C, the LMDB module, DiskMap (and DiskMap with checksummed
# values) and py-lmdb, on the same N in one run; then the DiskSet-against-Set memory run, the cache
# (Zipf reads, buffered puts), the seed scenario, the 16 MiB budget, and the obvious-way search.
# Every run's JSON goes into one results file with the date, commit, cores and memory, and
# Benchmarks/peers/report.py prints the tables from it.
#
#   Benchmarks/compare.sh [N] [lmdb|diskmap|diskmap-checksummed ...]     (make bench: N = 10M)
#
# MEMORY=0 skips the DiskSet-vs-Set memory runs (BATCH sets its batch size, default 8192); CACHE=0 the
# cache, seed and budget runs; SEARCH=0 the obvious-way search. PEERS names the peers' folder (default
# ../shared/peers beside the repository). OUT names the results file: Benchmarks/peers/results.json
# for a run of the default implementations, a temporary file otherwise (unless OUT is set).
# REPORT=0 skips the printed tables.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
N="${1:-10000000}"; shift || true
impls=(lmdb diskmap diskmap-checksummed)
[ $# -eq 0 ] || impls=("$@")
PEERS="${PEERS:-$(dirname "$repo")/shared/peers}"
[ -f "$PEERS/raw_lmdb.c" ] || { echo "no peers at $PEERS (set PEERS=...)" >&2; exit 2; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
if [ -z "${OUT:-}" ]; then
  if [ $# -eq 0 ]; then OUT="$here/peers/results.json"; else OUT="$work/results.json"; fi
fi

cc -O2 -o "$work/raw_lmdb" "$PEERS/raw_lmdb.c" -llmdb
swift build -c release --package-path "$here" --product PeerComparison >&2
bin="$(swift build -c release --package-path "$here" --show-bin-path)/PeerComparison"
swift build -c release --package-path "$repo" --product MemoryProbe >&2
probe="$(swift build -c release --package-path "$repo" --show-bin-path)/MemoryProbe"

runs=()
# run NAME COMMAND...: one process on a fresh directory ($store), its JSON line kept as NAME.
run() {
  local name=$1; shift
  echo "== $name" >&2
  rm -rf "$work/store"; mkdir -p "$work/store"
  "$@" > "$work/$name.json"
  runs+=("$name")
  rm -rf "$work/store"
}
store="$work/store"
# Throughput: raw C first, then ours, then py-lmdb. A repeated implementation gets a suffix (-2, -3).
run throughput-raw-c "$work/raw_lmdb" "$store" "$N"
declare -A seen=()
for impl in "${impls[@]}"; do
  seen[$impl]=$(( ${seen[$impl]:-0} + 1 ))
  suffix=$([ "${seen[$impl]}" = 1 ] || echo "-${seen[$impl]}")
  run "throughput-$impl$suffix" "$bin" "$impl" "$store" "$N"
done
if python3 -c "import lmdb" 2>/dev/null; then
  run throughput-py-lmdb python3 "$PEERS/pylmdb_peer.py" "$store" "$N"
fi

# Memory: DiskSet<UInt64> against Set<UInt64>, each in its own process, peak RssAnon and RssFile.
if [ "${MEMORY:-1}" = 1 ]; then
  for m in memory-set memory-diskset; do run "$m" "$bin" "$m" "$store" "$N" "${BATCH:-8192}"; done
fi

# The cache and the memory governor: Zipf reads, buffered puts, the seed scenario, and the write
# path's memory bound with a 16 MiB budget.
if [ "${CACHE:-1}" = 1 ]; then
  run cache-zipf "$bin" cache-zipf "$store" "$N"
  run cache-put "$bin" cache-put "$store" "$N"
  for m in seed-dictionary seed-dictionary-trim seed-diskmap; do run "$m" "$bin" "$m" "$store" "$N"; done
  run budget-16mib "$probe" budget "$store" "$N" 16
fi

# The obvious-way search: the pocket cube with a DiskSet + DiskQueue on a default Store(at:) beside
# Set + [UInt64], alternating twice per metric (0 half-turn, 1 quarter-turn), so the ratios come
# from one window.
if [ "${SEARCH:-1}" = 1 ]; then
  for metric in 0 1; do
    for round in 1 2; do
      for m in search-heap search-obvious; do run "$m-$metric-$round" "$bin" "$m" "$store" "$metric"; done
    done
  done
fi

mkdir -p "$(dirname "$OUT")"
python3 "$here/runinfo.py" "$work" "$OUT" "${runs[@]}"
[ "${REPORT:-1}" = 0 ] || python3 "$here/peers/report.py" "$OUT"
