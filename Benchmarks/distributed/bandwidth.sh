#!/usr/bin/env bash
# The network simulation of docs/distributed.md: 2 ranks over TCP in a network namespace of their own
# whose loopback device is limited to a bandwidth (tc's token bucket filter), so that the states the
# ranks send each other cross a link of known speed, as between two machines. Needs root (ip netns,
# tc); changes nothing outside the namespace, which it removes at the end.
#
#   Benchmarks/distributed/bandwidth.sh              # pancake 11; rates: unlimited 1000 400 200 Mbit/s
#   SIZE=10 RATES="unlimited 200" Benchmarks/distributed/bandwidth.sh
#
# Each rate's run records the search's time and the states sent; the report compares the time with
# the model of docs/distributed.md: the larger of the computation (the unlimited run's time) and
# the exchange (each rank's bytes through the link at the rate).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
[ "$(id -u)" = 0 ] || { echo "bandwidth.sh: needs root (ip netns, tc); skipped" >&2; exit 0; }
command -v tc >/dev/null && command -v ip >/dev/null || { echo "bandwidth.sh: needs iproute2 (ip, tc); skipped" >&2; exit 0; }
swift build -c release --product diskcoll >&2
bin=$root/.build/release/diskcoll
out=${OUT:-Benchmarks/distributed/bandwidth.json}
size=${SIZE:-11}
ns=diskcoll-bench-$$
tmp=$(mktemp -d)
cleanup() { ip netns delete "$ns" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
runs=()
for rate in ${RATES:-unlimited 1000 400 200}; do
    ip netns exec "$ns" tc qdisc del dev lo root 2>/dev/null || true
    # A token bucket of 1 MB: a burst of a few batches, then the rate.
    [ "$rate" = unlimited ] || ip netns exec "$ns" tc qdisc add dev lo root tbf rate "${rate}mbit" burst 1mb latency 100ms
    echo "== pancake $size, 2 ranks over TCP at $rate Mbit/s" >&2
    ip netns exec "$ns" mpirun --oversubscribe -np 2 --mca btl tcp,self --mca btl_tcp_if_include lo --mca oob_tcp_if_include lo \
        "$bin" search pancake "$size" --jobs 1 --distributed --json > "$tmp/rate-$rate.json"
    runs+=("rate-$rate")
done
python3 Benchmarks/runinfo.py "$tmp" "$out" "${runs[@]}"
[ "${REPORT:-1}" = 0 ] || python3 Benchmarks/distributed/report.py "$out"
