#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: CppUnit unit tests and
# the end-to-end tests (nginx + exportd on 127.0.0.1) through CTest, then the
# same under AddressSanitizer + UndefinedBehaviorSanitizer, the fuzzers for a
# bounded time and the browser test. Ends with the summary of all of it.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
umask 022
jobs=$(nproc)

"$here/deploy/install-deps.sh" --test || exit 1

passed=0
failed=0
summary=()
record() { # name rc
  if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); summary+=("PASS $1"); else failed=$((failed + 1)); summary+=("FAIL $1"); fi
}

build() { # dir extra-cmake-args...
  local dir=$1; shift
  cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null &&
    cmake --build "$dir" -j"$jobs" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^Consolidate|^Scanning|^Built target' || true
  [[ -x $dir/fcgi_app/exportd && -x $dir/tests/unit_tests ]]
}

echo "== build"
build "$here/build"; rc=$?
record build $rc
if [[ $rc -ne 0 ]]; then
  echo "build failed"; echo "0 passed, 1 failed"; exit 1
fi

echo "== unit and end-to-end tests"
ctest --test-dir "$here/build" --output-on-failure --timeout 900
record ctest $?

if [[ ${EXPORTD_SKIP_SANITIZERS:-0} != 1 ]]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
  if build "$here/build-asan" -DEXPORTD_SANITIZE=ON; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      ctest --test-dir "$here/build-asan" --output-on-failure --timeout 900
    record sanitizers $?
  else
    record sanitizer-build 1
  fi
fi

for extra in "$here"/tests/fuzz/run.sh "$here"/tests/browser/run.sh "$here"/tests/package/check_deb.sh; do
  if [[ -x $extra ]]; then
    echo "== ${extra#$here/}"
    EXPORTD_BUILD_DIR="$here/build" "$extra"
    record "${extra#$here/}" $?
  fi
done

echo
printf '%s\n' "${summary[@]}"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
