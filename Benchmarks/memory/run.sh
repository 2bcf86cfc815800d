#!/usr/bin/env bash
# The seed scenario over time (docs/benchmarks.md, "Memory over time"): a process builds a large
# structure, searches it, drops it and idles, while RssAnon and RssFile are sampled every 100 ms.
# Two shapes of data (one big UInt64 table; many small [UInt8] objects in a set), each in the heap
# under glibc's malloc (with and without malloc_trim after the drop) and under jemalloc, mimalloc and
# tcmalloc (LD_PRELOAD), and on disk with a default Store(at:). Writes one JSON file with the machine
# and commit, then the table and the plot (docs/memory-timeline.svg) are regenerated from it.
#
#   Benchmarks/memory/run.sh                    # 10M table entries, 4M objects
#   TABLE_N=1000000 OBJECTS_N=400000 Benchmarks/memory/run.sh   # a quick run
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
if ! ls /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/x86_64-linux-gnu/libmimalloc.so.2 \
        /usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4 >/dev/null 2>&1; then
    echo "installing the allocators (libjemalloc2, libmimalloc2.0, libtcmalloc-minimal4)" >&2
    sudo=$([ "$(id -u)" = 0 ] || echo sudo)
    $sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libjemalloc2 libmimalloc2.0 libtcmalloc-minimal4
fi
python3 -c "import matplotlib" 2>/dev/null || python3 -m pip install --quiet matplotlib 2>/dev/null \
    || python3 -m pip install --quiet --break-system-packages matplotlib
swift build -c release --package-path Benchmarks --product PeerComparison >&2
bin=$(swift build -c release --package-path Benchmarks --show-bin-path)/PeerComparison
out=${OUT:-Benchmarks/memory/results.json}
lib=/usr/lib/x86_64-linux-gnu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

runs=()
run() {  # run SHAPE WAY ALLOCATOR N
    local name="$1-$2-$3"
    local preload=""
    case $3 in
        jemalloc) preload=$lib/libjemalloc.so.2 ;;
        mimalloc) preload=$lib/libmimalloc.so.2 ;;
        tcmalloc) preload=$lib/libtcmalloc_minimal.so.4 ;;
    esac
    echo "== $name (N=$4)" >&2
    rm -rf "$tmp/store"
    ALLOCATOR=$3 LD_PRELOAD=$preload "$bin" "timeline-$1-$2" "$tmp/store" "$4" > "$tmp/$name.json"
    runs+=("$name")
}
for shape in table objects; do
    n=$([ $shape = table ] && echo "${TABLE_N:-10000000}" || echo "${OBJECTS_N:-4000000}")
    run $shape heap glibc "$n"
    run $shape heap-trim glibc "$n"
    for allocator in jemalloc mimalloc tcmalloc; do run $shape heap $allocator "$n"; done
    run $shape disk glibc "$n"
done

python3 Benchmarks/runinfo.py "$tmp" "$out" "${runs[@]}"
[ "${REPORT:-1}" = 0 ] || python3 Benchmarks/memory/report.py "$out" --plot docs/memory-timeline.svg
