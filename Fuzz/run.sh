#!/usr/bin/env bash
# Builds the decoders' libFuzzer target with the address sanitizer and runs it.
# usage: Fuzz/run.sh [RUNS]   (default 500000, about half a minute; the long run: 50000000)
# A crash leaves crash-* (the input) in Fuzz/ and a non-zero exit; make each one a regression test.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
runs="${1:-500000}"
# `--sanitize=fuzzer --sanitize=address` would pass two -sanitize= flags in an order that varies from
# build to build, and swiftc keeps only the last: half the builds had no coverage instrumentation.
# One -sanitize=fuzzer,address after SwiftPM's own flag (which makes it link libFuzzer's main) is stable.
flags=(--package-path "$here" --sanitize=fuzzer -Xswiftc -sanitize=fuzzer,address)
swift build "${flags[@]}" 2>&1 | grep -v "ld.gold: warning: Cannot export local symbol '__asan" >&2
bin="$(swift build "${flags[@]}" --show-bin-path)/DiskCollectionsFuzz"
corpus="$here/.corpus"; mkdir -p "$corpus"
cd "$here"
log="$(mktemp)"; trap 'rm -f "$log"' EXIT
set +e
"$bin" -runs="$runs" -max_len=512 -print_final_stats=1 "$corpus" 2>&1 | tee "$log" | grep -E "^(#[0-9]+ +DONE|Done|stat::|==[0-9]+==ERROR)|crash-"
status=${PIPESTATUS[0]}
set -e
[ "$status" = 0 ] || { echo "fuzzing found a failure (exit $status): see above and Fuzz/crash-*" >&2; exit "$status"; }
if grep -q "no interesting inputs were found" "$log"; then
  echo "the fuzz target is not instrumented for coverage: the run proves nothing" >&2; exit 1
fi
