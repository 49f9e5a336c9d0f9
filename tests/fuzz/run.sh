#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined)
# into build-fuzz/ through CMake (tests/fuzz/CMakeLists.txt), and runs each
# for a bounded time on a copy of its seed corpus (tests/fuzz/corpus/<target>/),
# so the repository never gains files. Prints executions and coverage per target;
# exits non-zero on a crash, a sanitizer report or a broken invariant (the
# input is kept under build-fuzz/artifacts/).
#   EXPORTD_FUZZ_SECONDS (30 per target), EXPORTD_FUZZ_BUILD_DIR (build-fuzz),
#   EXPORTD_FUZZ_TARGETS ("export_request sql_builder")
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
fuzz_dir=$here/tests/fuzz
out=${EXPORTD_FUZZ_BUILD_DIR:-$here/build-fuzz}
seconds=${EXPORTD_FUZZ_SECONDS:-30}
read -ra targets <<<"${EXPORTD_FUZZ_TARGETS:-export_request sql_builder}"
cxx=${EXPORTD_FUZZ_CXX:-clang++}

command -v "$cxx" >/dev/null || { echo "fuzz: $cxx not found (apt-get install clang libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$out/artifacts"

# A build directory of its own, configured for clang with every library
# instrumented (EXPORTD_FUZZ in the top-level CMakeLists.txt); only the fuzzers
# and the libraries they link (exportd_export, cleanup) are built.
echo "fuzz: building into $out"
cmake -S "$here" -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER=clang \
  -DEXPORTD_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null || { echo "fuzz: cmake configure failed" >&2; exit 1; }
build_targets=()
for t in "${targets[@]}"; do build_targets+=(--target "fuzz_$t"); done
cmake --build "$out" -j"$(nproc)" "${build_targets[@]}" 2>&1 |
  grep -Ev '^\[ *[0-9]+%\]|^Consolidate|^Scanning|^Built target'
[[ ${PIPESTATUS[0]} -eq 0 ]] || { echo "fuzz: build failed" >&2; exit 1; }

status=0
summary=()
for t in "${targets[@]}"; do
  work=$(mktemp -d "${TMPDIR:-/tmp}/exportd-fuzz-$t.XXXXXX")
  mkdir -p "$work/corpus"
  cp -r "$fuzz_dir/corpus/$t/." "$work/corpus/"
  seeds=$(find "$work/corpus" -type f | wc -l)
  echo "== fuzz_$t: ${seconds}s from $seeds seeds"
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
  UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
    "$out/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
      -dict="$fuzz_dir/json.dict" -print_final_stats=1 -artifact_prefix="$work/" \
      "$work/corpus" >"$work/log" 2>&1
  rc=$?
  # "#123456 DONE cov: 1234 ft: 2345 corp: ..." is libFuzzer's last status line.
  done_line=$(grep -E '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE|INITED)' "$work/log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$work/log" | tail -1)
  cov=$(grep -oE 'cov: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+')
  ft=$(grep -oE 'ft: [0-9]+' <<<"$done_line" | grep -oE '[0-9]+')
  corp=$(grep -oE 'corp: [0-9]+/[0-9]+[a-zA-Z]*' <<<"$done_line" | sed 's/corp: //')
  line="fuzz_$t: ${execs:-?} executions in ${seconds}s, cov: ${cov:-?} edges, ft: ${ft:-?} features, corpus ${corp:-?}"
  if [[ $rc -ne 0 ]]; then
    status=1
    line="FAIL $line (exit $rc)"
    grep -E 'ERROR|FUZZ INVARIANT|runtime error|SUMMARY|Test unit written|==[0-9]+==' "$work/log" | head -40
    tail -60 "$work/log"
    for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
      [[ -e $a ]] && cp "$a" "$out/artifacts/$t-$(basename "$a")" && echo "fuzz: input kept in $out/artifacts/$t-$(basename "$a")"
    done
  fi
  echo "$line"
  summary+=("$line")
  rm -rf "$work"
done
echo
printf '%s\n' "${summary[@]}"
exit $status
