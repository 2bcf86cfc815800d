#!/usr/bin/env bash
# Every benchmark of docs/benchmarks.md, then the page itself: `make benchmarks`.
#
# Runs, one after the other (each writes its JSON with the date, commit, cores and memory):
#   Benchmarks/compare.sh            peers' workload against raw C and py-lmdb, memory, cache, seed,
#                                    budget, obvious-way search        -> Benchmarks/peers/results.json
#   Benchmarks/concurrency/run.sh    1 and 2 tasks; durable commits    -> Benchmarks/concurrency/results.json
#   Benchmarks/memory/run.sh         memory over time, 4 allocators    -> Benchmarks/memory/results.json
#   Benchmarks/memory/scaling.sh     time and heap against size        -> Benchmarks/memory/scaling.json
#   Benchmarks/search/run.sh         BreadthFirstSearch against Set    -> Benchmarks/search/results.json
#   Benchmarks/distributed/run.sh    the search over 1, 2, 4 MPI ranks -> Benchmarks/distributed/results.json
#   Benchmarks/distributed/bandwidth.sh  2 ranks through a limited link -> Benchmarks/distributed/bandwidth.json
#   Benchmarks/cli/run.sh            diskcoll import/export            -> Benchmarks/cli/results.json
#   Benchmarks/suites/run.sh         package-benchmark suites          -> Benchmarks/suites/results.json
# then Benchmarks/render.py writes docs/benchmarks.md from Benchmarks/benchmarks.md.in and those
# files, and redraws the plots in docs/. About an hour on 2 cores (27 minutes on 2026-12-06 before
# the distributed part, which adds about 25);
# nothing else should run. Do not edit these scripts while a run is going: bash reads them as it goes.
#
#   Benchmarks/all.sh                 # the full run; the page and plots are rewritten
#   QUICK=1 Benchmarks/all.sh         # small sizes, no suites (their committed results are used):
#                                     # checks the pipeline in about 5 minutes; writes to a
#                                     # temporary folder, not to docs/
#   BIG=1 Benchmarks/all.sh           # also the 100M scaling row (about 20 minutes, 6 GB of heap)
#   ONLY="peers search" Benchmarks/all.sh   # rerun some parts, render with the others' results
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
parts=${ONLY:-"peers concurrency memory scaling search distributed cli suites"}
readme=()
if [ "${QUICK:-0}" = 1 ]; then
    results=$(mktemp -d)
    docs="$results/docs"
    mkdir -p "$docs"
    # Start from the committed results, so that parts not rerun still render.
    for f in peers/results.json concurrency/results.json memory/results.json memory/scaling.json \
             search/results.json search/pancake-12-heap.json distributed/results.json distributed/bandwidth.json cli/results.json \
             suites/results.json; do
        mkdir -p "$results/$(dirname "$f")"
        [ ! -f "Benchmarks/$f" ] || cp "Benchmarks/$f" "$results/$f"
    done
    parts=${ONLY:-"peers concurrency memory scaling search distributed cli"}
    export N_PEERS=200000 N_CONC=1000000 TABLE_N=1000000 OBJECTS_N=400000 IDLE_S=2 SCALING_SIZES="100000 1000000" \
           N_CLI=200000 SEARCH_QUICK=1
else
    results="$root/Benchmarks"
    docs="$root/docs"
    readme=(--readme "$root/README.md")
fi
export REPORT=0
has() { case " $parts " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
start=$(date +%s)
step() { echo; echo "=== $1 ($(( $(date +%s) - start )) s in)" >&2; }

has peers && { step peers; OUT="$results/peers/results.json" Benchmarks/compare.sh "${N_PEERS:-10000000}"; }
has concurrency && { step concurrency; N=${N_CONC:-10000000} OUT="$results/concurrency/results.json" Benchmarks/concurrency/run.sh; }
has memory && { step memory; OUT="$results/memory/results.json" Benchmarks/memory/run.sh; }
has scaling && { step scaling; OUT="$results/memory/scaling.json" Benchmarks/memory/scaling.sh; }
has search && { step search; PANCAKE12=${PANCAKE12:-$([ "${SEARCH_QUICK:-0}" = 1 ] && echo 0 || echo 1)} \
    OUT="$results/search/results.json" Benchmarks/search/run.sh; }
has distributed && { step distributed; PANCAKE12=${PANCAKE12:-$([ "${SEARCH_QUICK:-0}" = 1 ] && echo 0 || echo 1)} \
    OUT="$results/distributed/results.json" Benchmarks/distributed/run.sh
    SIZE=$([ "${SEARCH_QUICK:-0}" = 1 ] && echo 10 || echo 11) OUT="$results/distributed/bandwidth.json" \
    Benchmarks/distributed/bandwidth.sh; }
has cli && { step cli; N=${N_CLI:-10000000} OUT="$results/cli/results.json" Benchmarks/cli/run.sh; }
has suites && { step suites; OUT="$results/suites/results.json" Benchmarks/suites/run.sh; }

step render
python3 Benchmarks/render.py --results "$results" --docs "$docs" "${readme[@]}"
echo "done in $(( $(date +%s) - start )) s; the page: $docs/benchmarks.md" >&2
