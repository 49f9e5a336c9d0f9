#!/usr/bin/env bash
# exportd's benchmarks, one command: installs what is missing, builds a Release
# exportd with the bench programs into build-bench/, runs every benchmark
# against a baseline measured in the same run (bench/bench.py), writes
# bench/RESULTS.md and bench/cleanup-lag.png, and prints a summary.
#   ./bench/run.sh            the full run (about 6 minutes on 2 cores after the build;
#                             the first run also makes the demo databases)
#   ./bench/run.sh --quick    a smoke run of a minute or two (report in bench/output/)
#   ./bench/run.sh --only polls,pgpolls,registry,exports,downloads,big,pgsource,cleanup,pgcleanup
# Everything listens on 127.0.0.1 only and every load run is bounded in time.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
umask 022

"$here/bench/install-deps.sh"

build="${EXPORTD_BENCH_BUILD_DIR:-$here/build-bench}"
echo "== building Release into ${build#"$here"/}"
cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=Release -DEXPORTD_BUILD_BENCH=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target exportd fcgi_responder cleanup_bench 2>&1 |
  grep -Ev '^\[ *[0-9]+%\]|^Consolidate|^Scanning|^Built target' || true

export EXPORTD_BUILD_DIR="$build"
# Bounded as a whole too: a wedged run stops by itself.
exec timeout --signal=INT --kill-after=30 1800 python3 "$here/bench/bench.py" "$@"
