# The README's two commands: `make demo` and `make test`. Each installs what it needs first.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: deps demo test asan tsan benchmarks bench bench-suites bench-check bench-memory fuzz clean

## deps: liblmdb-dev (with pkg-config) and lmdb-utils (mdb_dump, mdb_load: the CLI's round-trip tests)
## from Debian, Open MPI (libopenmpi-dev, openmpi-bin: DiskCollectionsMPI, diskcoll search
## --distributed and their tests; docs/distributed.md), and py-lmdb + cbor2 for the interop tests.
deps:
	@if ! (command -v pkg-config >/dev/null && pkg-config --exists lmdb && command -v mdb_load >/dev/null \
			&& pkg-config --exists ompi-c && command -v mpirun >/dev/null); then \
		echo "installing liblmdb-dev, lmdb-utils, pkg-config and Open MPI"; \
		$(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq liblmdb-dev lmdb-utils pkg-config libopenmpi-dev openmpi-bin; \
	fi
	@if ! python3 -c "import lmdb, cbor2" 2>/dev/null; then \
		echo "installing py-lmdb and cbor2"; \
		python3 -m pip install --quiet --disable-pip-version-check lmdb cbor2 2>/dev/null \
		|| python3 -m pip install --quiet --disable-pip-version-check --break-system-packages lmdb cbor2; \
	fi

## demo: the README's main job: a breadth-first search of the 11-pancake stacks on disk, then in the heap.
demo: deps
	swift run -c release diskcoll search pancake 11 --compare-heap

## test: the whole test suite, the same under the address sanitizer, then a short run of the
## decoders' fuzz target (about half a minute).
test: deps
	swift test
	$(ASAN_TEST)
	Fuzz/run.sh 300000

## asan: the whole suite under the address sanitizer (docs/durability.md; its own build folder,
## .build-asan). Leak detection is off: Foundation's Process.run leaks in the children tests start.
ASAN_TEST = ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan
asan: deps
	$(ASAN_TEST)

## fuzz: the decoders' libFuzzer target under the address sanitizer (RUNS=500000 by default).
fuzz: deps
	Fuzz/run.sh $(RUNS)

## tsan: the whole suite under the thread sanitizer (docs/concurrency.md; its own build folder, .build-tsan).
tsan: deps
	swift test --sanitize=thread --scratch-path .build-tsan

## benchmarks: every benchmark, then docs/benchmarks.md and its plots regenerated from the results
## (Benchmarks/all.sh; about an hour on 2 cores). QUICK=1: small sizes, page to a temporary folder.
benchmarks: deps
	Benchmarks/all.sh

## bench: the side-by-side comparison with raw LMDB in C and py-lmdb (N=10M by default).
bench: deps
	Benchmarks/compare.sh $(N)

## bench-suites: the package-benchmark suites (collections against Swift's own, the cache, the
## codecs), their results in Benchmarks/suites/results.json and their table (docs/benchmarks.md).
bench-suites: deps
	Benchmarks/suites/run.sh

## bench-check: the regression guard: runs the suites and compares them with the committed
## thresholds (Benchmarks/Thresholds); exit status 2 names a regression. Not in CI (noisy machines).
bench-check: deps
	cd Benchmarks && swift package benchmark thresholds check --no-progress

## bench-memory: resident memory over time (build, search, drop, idle) in the heap under four
## allocators and on disk, and the scaling with size; tables and plots in docs/.
bench-memory: deps
	Benchmarks/memory/run.sh
	Benchmarks/memory/scaling.sh

clean:
	rm -rf .build .build-asan .build-tsan Benchmarks/.build
