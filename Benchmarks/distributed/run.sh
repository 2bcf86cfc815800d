#!/usr/bin/env bash
# The distributed search's scaling benchmark of docs/benchmarks.md (issue 15): pancake 11 (and 12)
# through `diskcoll search`, in one process and as an MPI job of 1, 2 and 4 ranks, one after the other
# on this machine, written as one JSON file with the machine and commit.
#
#   Benchmarks/distributed/run.sh                 # pancake 11 (about 2 minutes on 2 cores)
#   PANCAKE12=1 Benchmarks/distributed/run.sh     # also pancake 12, 200 MB a rank (about 25 minutes)
#
# Each rank runs with --jobs 1 (one thread), so that 2 ranks on 2 cores compare with one process that
# uses one core; one process with --jobs 2 (both cores, the default) is measured too. The "tcp" run
# is 2 ranks over TCP on the loopback device instead of shared memory (Open MPI's tcp BTL), the
# transport between machines. QUICK=1 (or SEARCH_QUICK=1): pancake 10 instead.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
swift build -c release --product diskcoll >&2
bin=$root/.build/release/diskcoll
out=${OUT:-Benchmarks/distributed/results.json}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Open MPI refuses root without these, and a container without ptrace permission has no
# single-copy transport (CMA); neither changes what is measured.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=${OMPI_MCA_btl_vader_single_copy_mechanism:-none}

runs=()
add() {  # add NAME [mpirun OPTIONS... --] diskcoll-search ARGS...: one run, its JSON report kept under NAME
    local name=$1; shift
    echo "== $name: $*" >&2
    "$@" --json > "$tmp/$name.json"
    runs+=("$name")
}
one() { local size=$1; shift; add "pancake-$size-process-jobs-$1" "$bin" search pancake "$size" --jobs "$1" "${@:2}"; }
ranks() {
    local size=$1 n=$2 name=$3; shift 3
    add "pancake-$size-$name" mpirun --oversubscribe -np "$n" "$@" "$bin" search pancake "$size" --jobs 1 --distributed "${memory[@]}"
}
sizes="11"
[ "${QUICK:-${SEARCH_QUICK:-0}}" = 1 ] && sizes="10"
[ "${PANCAKE12:-0}" = 1 ] && sizes="$sizes 12"
for size in $sizes; do
    memory=()
    [ "$size" = 12 ] && memory=(--memory 200MB)
    one "$size" 1 "${memory[@]}"
    one "$size" 2 "${memory[@]}"
    ranks "$size" 1 ranks-1
    ranks "$size" 2 ranks-2
    ranks "$size" 4 ranks-4
    ranks "$size" 2 ranks-2-tcp --mca btl tcp,self --mca btl_tcp_if_include lo
done

python3 Benchmarks/runinfo.py "$tmp" "$out" "${runs[@]}"
[ "${REPORT:-1}" = 0 ] || python3 Benchmarks/distributed/report.py "$out"
