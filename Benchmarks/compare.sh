#!/usr/bin/env bash
# Runs the peers' workload (raw LMDB in C, py-lmdb) and ours side by side, on the same N, in one run,
# and prints each rate with its ratio to raw C.  usage: Benchmarks/compare.sh [N] [lmdb|diskmap|diskmap-checksummed ...]
# MEMORY=0 skips the DiskSet-vs-Set memory runs; BATCH sets the DiskSet batch size (default 8192);
# CACHE=0 skips the cache and memory-governor runs; SEARCH=0 skips the obvious-way pocket-cube search.
# PEERS may name the peers' folder (default: ../shared/peers beside the repository).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
N="${1:-10000000}"; shift || true
impls=(lmdb diskmap)
[ $# -eq 0 ] || impls=("$@")
PEERS="${PEERS:-$(dirname "$repo")/shared/peers}"
[ -f "$PEERS/raw_lmdb.c" ] || { echo "no peers at $PEERS (set PEERS=...)" >&2; exit 2; }
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT

cc -O2 -o "$work/raw_lmdb" "$PEERS/raw_lmdb.c" -llmdb
swift build -c release --package-path "$here" --product PeerComparison >&2
bin="$(swift build -c release --package-path "$here" --show-bin-path)/PeerComparison"

fresh() { local d="$work/$1"; rm -rf "$d"; mkdir -p "$d"; echo "$d"; }
results="$work/results.jsonl"
"$work/raw_lmdb" "$(fresh c)" "$N" | tee -a "$results"
rm -rf "$work/c"
for impl in "${impls[@]}"; do
  "$bin" "$impl" "$(fresh "$impl")" "$N" | tee -a "$results"
  rm -rf "$work/$impl"
done
if python3 -c "import lmdb" 2>/dev/null; then
  python3 "$PEERS/pylmdb_peer.py" "$(fresh py)" "$N" | tee -a "$results"
  rm -rf "$work/py"
fi
python3 - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
base = next(r for r in rows if r["impl"] == "raw-c")
cols = ["append_load_per_s", "random_put_per_s", "random_get_per_s", "scan_per_s"]
print(f"\nN = {base['n']:,}; rates in M ops/s, ratio to raw C in brackets")
print(f"{'impl':<14}" + "".join(f"{c.replace('_per_s',''):>22}" for c in cols))
for r in rows:
    cells = []
    for c in cols:
        if c in r: cells.append(f"{r[c]/1e6:9.2f} ({r[c]/base[c]:5.2f}x)")
        else: cells.append("—")
    print(f"{r['impl']:<14}" + "".join(f"{x:>22}" for x in cells))
for r in rows:
    if "checksum" in r and r is not base and r["impl"] != "py-lmdb":
        ok = r["checksum"] == base["checksum"] and r["count"] == base["count"]
        print(f"{r['impl']}: count and checksum {'match raw C' if ok else 'DIFFER FROM RAW C'}")
PY

# Memory: DiskSet<UInt64> against Set<UInt64>, each in its own process, peak RssAnon and RssFile.
if [ "${MEMORY:-1}" = 1 ]; then
  echo
  echo "memory: inserting N xorshift keys (DiskSet in batches of ${BATCH:-8192} via insert(contentsOf:))"
  for m in memory-set memory-diskset; do
    "$bin" "$m" "$(fresh "$m")" "$N" "${BATCH:-8192}"
    rm -rf "$work/$m"
  done
fi

# The cache and the memory governor (CACHE=0 skips): Zipf reads, buffered puts, the seed scenario,
# and the write path's memory bound with a 16 MB budget.
if [ "${CACHE:-1}" = 1 ]; then
  echo
  echo "cache: Zipf(0.99) reads (cold, second and warm passes) and buffered random puts, N=$N"
  "$bin" cache-zipf "$(fresh zipf)" "$N" | tee -a "$work/cache.jsonl"; rm -rf "$work/zipf"
  "$bin" cache-put "$(fresh put)" "$N" | tee -a "$work/cache.jsonl"; rm -rf "$work/put"
  python3 - "$results" "$work/cache.jsonl" <<'PY'
import json, sys
raw = next(json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["impl"] == "raw-c")
rows = [json.loads(l) for l in open(sys.argv[2])]
zipf = next(r for r in rows if r["workload"].startswith("zipf"))
put = next(r for r in rows if r["workload"] == "random-put")
print(f"Zipf warm pass through the cache: {zipf['diskmap_warm_per_s']/1e6:.2f}M/s = "
      f"{zipf['diskmap_warm_per_s']/raw['random_get_per_s']:.2f}x raw C's random get ({raw['random_get_per_s']/1e6:.2f}M/s), "
      f"{zipf['warm_ratio']:.2f}x the LMDB module on the same keys; hit rate {zipf['warm_hit_rate']:.1%}")
print(f"buffered random puts: {put['diskmap_cached_per_s']/1e6:.2f}M/s = "
      f"{put['diskmap_cached_per_s']/raw['random_put_per_s']:.2f}x raw C's random put ({raw['random_put_per_s']/1e6:.2f}M/s), "
      f"{put['ratio']:.2f}x the LMDB module's")
PY
  echo
  echo "seed scenario: build N entries, look them all up, drop them, idle 2 s"
  for m in seed-dictionary seed-dictionary-trim seed-diskmap; do
    "$bin" "$m" "$(fresh "$m")" "$N"; rm -rf "$work/$m"
  done
  echo
  echo "budget: N random entries written through a DiskMap with a 16 MB cache budget, then read back"
  swift build -c release --package-path "$repo" --product MemoryProbe >&2
  "$(swift build -c release --package-path "$repo" --show-bin-path)/MemoryProbe" budget "$(fresh budget)" "$N" 16
  rm -rf "$work/budget"
fi

# The obvious-way search (SEARCH=0 skips): the pocket cube with a DiskSet + DiskQueue on a default
# Store(at:) beside Set + [UInt64], alternating twice per metric, so the ratios come from one window.
if [ "${SEARCH:-1}" = 1 ]; then
  echo
  echo "the obvious-way search: pocket cube, DiskSet<UInt64> + DiskQueue<UInt64> (default store) vs Set + [UInt64]"
  for metric in 0 1; do
    for round in 1 2; do
      for m in search-heap search-obvious; do
        "$bin" "$m" "$(fresh "$m")" "$metric" | tee -a "$work/search.jsonl"; rm -rf "$work/$m"
      done
    done
  done
  python3 - "$work/search.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
for i in range(0, len(rows), 2):
    heap, disk = rows[i], rows[i + 1]
    print(f"{disk['puzzle']}: {disk['seconds']:.1f} s vs {heap['seconds']:.1f} s = {disk['seconds']/heap['seconds']:.2f}x the Set's time; "
          f"peak RssAnon {disk['peak_rss_anon_mb']} MB vs {heap['peak_rss_anon_mb']} MB; final {disk['final_rss_anon_mb']} MB; "
          f"{disk['misses']:,} LMDB lookups, {disk['flushes']} flushes in {disk['flush_transactions']} transactions; "
          f"tables {'match' if disk['matches_published'] and heap['matches_published'] else 'DIFFER FROM'} the published ones")
PY
fi
