#!/usr/bin/env bash
# The concurrency benchmarks of docs/benchmarks.md ("Concurrency"): random gets from 1 and 2 tasks
# (PeerComparison concurrent-gets: the LMDB module, DiskMap without and with the cache, uniform and
# Zipf keys), and how late a 1 ms timer task wakes while other tasks commit durable transactions
# (PeerComparison async-responsiveness), on a disk whose fsync takes 10 ms (Benchmarks/concurrency/
# slowsync, an LD_PRELOAD shim) with 2 and 8 writers, and on this machine's own disk with 2.
# Writes one JSON file with the machine and commit, then the tables are printed from it.
#
#   Benchmarks/concurrency/run.sh             # N = 10M keys for the gets; about 3 minutes
#   N=1000000 Benchmarks/concurrency/run.sh   # a quick run
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --package-path Benchmarks --product PeerComparison >&2
bin=$(swift build -c release --package-path Benchmarks --show-bin-path)/PeerComparison
out=${OUT:-Benchmarks/concurrency/results.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cc -O2 -shared -fPIC -o "$tmp/slowsync.so" Benchmarks/concurrency/slowsync/slowsync.c -ldl

runs=()
run() {  # run NAME ENV... -- ARGS...: one process on a fresh store, its JSON kept as NAME
    local name=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    echo "== $name" >&2
    rm -rf "$tmp/store"
    env "${envs[@]}" "$bin" "$@" > "$tmp/$name.json"
    runs+=("$name")
}
run concurrent-gets -- concurrent-gets "$tmp/store" "${N:-10000000}"
run responsiveness-slow-2 SLOWSYNC_MS=10 LD_PRELOAD="$tmp/slowsync.so" -- async-responsiveness "$tmp/store" 2
run responsiveness-slow-8 SLOWSYNC_MS=10 LD_PRELOAD="$tmp/slowsync.so" -- async-responsiveness "$tmp/store" 8
run responsiveness-native-2 -- async-responsiveness "$tmp/store" 2

python3 Benchmarks/runinfo.py "$tmp" "$out" "${runs[@]}"
[ "${REPORT:-1}" = 0 ] || python3 Benchmarks/concurrency/report.py "$out"
