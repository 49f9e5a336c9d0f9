#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: CppUnit unit tests and
# the end-to-end tests (nginx + exportd on 127.0.0.1) through CTest, then the
# same under AddressSanitizer + UndefinedBehaviorSanitizer, the fuzzers for a
# bounded time, the browser test, the Debian package check, shellcheck of every
# shell script, and the quickstart on a fresh Debian root (tests/fresh/run.sh).
# Ends with the summary of all of it: "N passed, N failed, N skipped" (a step
# that exits 77 was skipped: it could not run here, e.g. no Debian mirror).
#   EXPORTD_SKIP_SANITIZERS=1, EXPORTD_SKIP_FRESH=1 leave those steps out.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 1
umask 022
jobs=$(nproc)

"$here/deploy/install-deps.sh" --test || exit 1

passed=0
failed=0
skipped=0
summary=()
record() { # name rc (77: skipped)
  if [[ $2 -eq 0 ]]; then passed=$((passed + 1)); summary+=("PASS $1")
  elif [[ $2 -eq 77 ]]; then skipped=$((skipped + 1)); summary+=("SKIP $1")
  else failed=$((failed + 1)); summary+=("FAIL $1"); fi
}
totals() { echo "$passed passed, $failed failed, $skipped skipped"; }

# Judged by the exit status of cmake itself (a failed build leaves the previous
# binaries in place), then by the two programs the tests need being there.
build() { # dir extra-cmake-args...
  local dir=$1 rc; shift
  cmake -S "$here" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON "$@" >/dev/null ||
    { echo "cmake configure of ${dir#"$here"/} failed"; return 1; }
  cmake --build "$dir" -j"$jobs" 2>&1 | grep -Ev '^\[ *[0-9]+%\]|^Consolidate|^Scanning|^Built target'
  rc=${PIPESTATUS[0]}
  [[ $rc -eq 0 ]] || { echo "cmake --build ${dir#"$here"/} failed (exit $rc)"; return 1; }
  [[ -x $dir/fcgi_app/exportd && -x $dir/tests/unit_tests ]] ||
    { echo "${dir#"$here"/}: exportd or unit_tests missing after the build (libcppunit-dev not installed?)"; return 1; }
}

# Every shell script git knows (by extension or shebang: deploy/, tests/, bench/,
# .ci/run, the package's maintainer scripts), or of the tree when this is no checkout.
shell_scripts() {
  local f first
  { git -C "$here" ls-files 2>/dev/null ||
      find . \( -path ./node_modules -o -path './build*' -o -path ./.git \) -prune -o -type f -print | sed 's#^\./##'; } |
    while IFS= read -r f; do
      [[ -f $f ]] || continue
      first=
      IFS= read -r first <"$f" 2>/dev/null
      if [[ $f == *.sh || $first =~ ^\#\!(/usr/bin/env\ )?(/bin/|/usr/bin/)?(ba|da)?sh([[:space:]]|$) ]]; then
        echo "$f"
      fi
    done
}

echo "== build"
build "$here/build"; rc=$?
record build $rc
if [[ $rc -ne 0 ]]; then
  echo "build failed"; totals; exit 1
fi

echo "== unit and end-to-end tests"
ctest --test-dir "$here/build" --output-on-failure --timeout 900
record ctest $?

# The cluster tests (label cluster, about four minutes of timed faults) run once,
# in the first build: under the sanitizers their timings would not hold. The
# PostgreSQL datasets' test reads a 100,000-row table there instead of 1,000,000
# (the same paths, a tenth of the time).
if [[ ${EXPORTD_SKIP_SANITIZERS:-0} != 1 ]]; then
  echo "== AddressSanitizer + UndefinedBehaviorSanitizer"
  if build "$here/build-asan" -DEXPORTD_SANITIZE=ON; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      EXPORTD_TEST_PG_ROWS=100000 ctest --test-dir "$here/build-asan" --output-on-failure --timeout 900 -LE cluster
    record sanitizers $?
  else
    record sanitizer-build 1
  fi
fi

for extra in "$here"/tests/fuzz/run.sh "$here"/tests/browser/run.sh "$here"/tests/package/check_deb.sh; do
  if [[ -x $extra ]]; then
    echo "== ${extra#"$here"/}"
    EXPORTD_BUILD_DIR="$here/build" "$extra"
    record "${extra#"$here"/}" $?
  fi
done

echo "== shellcheck"
mapfile -t scripts < <(shell_scripts)
if command -v shellcheck >/dev/null; then
  echo "${#scripts[@]} scripts: ${scripts[*]}"
  shellcheck "${scripts[@]}"
  record shellcheck $?
else
  echo "shellcheck is not installed"; record shellcheck 77
fi

echo "== tests/fresh/run.sh (the quickstart on a fresh Debian root)"
if [[ ${EXPORTD_SKIP_FRESH:-0} == 1 ]]; then
  echo "skipped (EXPORTD_SKIP_FRESH=1)"; record tests/fresh/run.sh 77
else
  "$here/tests/fresh/run.sh"
  record tests/fresh/run.sh $?
fi

echo
printf '%s\n' "${summary[@]}"
totals
[[ $failed -eq 0 ]]
