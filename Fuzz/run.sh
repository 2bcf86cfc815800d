#!/usr/bin/env bash
# Builds the decoders' libFuzzer target with the address sanitizer and runs it.
# usage: Fuzz/run.sh [RUNS]   (default 500000, about half a minute; the long run: 50000000)
# A crash leaves crash-* (the input) in Fuzz/ and a non-zero exit; make each one a regression test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
runs="${1:-500000}"
swift build --package-path "$here" --sanitize=fuzzer --sanitize=address 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol '__asan" >&2
bin="$(swift build --package-path "$here" --sanitize=fuzzer --sanitize=address --show-bin-path)/DiskCollectionsFuzz"
corpus="$here/.corpus"; mkdir -p "$corpus"
cd "$here"
"$bin" -runs="$runs" -max_len=512 -print_final_stats=1 "$corpus"
