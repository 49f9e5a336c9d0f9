#!/usr/bin/env bash
# Browser end-to-end test of the web page (nginx/www) in headless Chromium.
# Called by tests/run.sh (with EXPORTD_BUILD_DIR); runs on its own as well:
#   tests/browser/run.sh
# Needs a built exportd (default build/fcgi_app/exportd), nginx, python3,
# sqlite3, openssl, node >= 20 and npm, and Debian's chromium package (installed
# here when missing and run as root). playwright-core comes from npm, pinned by
# package-lock.json (npm ci). Screenshots: tests/browser/output/ (or
# $EXPORTD_BROWSER_OUTPUT). The test starts its own stacks (serve_stack.py).
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export EXPORTD_BUILD_DIR=${EXPORTD_BUILD_DIR:-$root/build}
export CHROMIUM_PATH=${CHROMIUM_PATH:-/usr/bin/chromium}

fail() { echo "browser test: $*" >&2; echo "0 passed, 1 failed"; exit 1; }

if [[ ! -x $CHROMIUM_PATH ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "browser test: installing Debian's chromium" >&2
    { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }; } ||
      fail "could not install chromium"
  else
    fail "$CHROMIUM_PATH is missing (apt-get install chromium)"
  fi
fi
for tool in node npm python3 nginx sqlite3 openssl; do
  command -v "$tool" >/dev/null || fail "$tool is missing"
done
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' ||
  fail "node >= 20 is needed (found $(node --version))"
[[ -x $EXPORTD_BUILD_DIR/fcgi_app/exportd ]] || fail "no exportd at $EXPORTD_BUILD_DIR/fcgi_app/exportd: build first"

# playwright-core exactly as package-lock.json pins it.
wanted=$(node -p 'require(process.argv[1]).packages["node_modules/playwright-core"].version' "$here/package-lock.json")
installed=$(node -p 'try { require(process.argv[1]).version } catch (e) { "" }' \
  "$here/node_modules/playwright-core/package.json" 2>/dev/null)
if [[ $installed != "$wanted" ]]; then
  (cd "$here" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
fi

cd "$root" || fail "cannot enter $root"
timeout -k 10 420 node "$here/page.test.js"
rc=$?
if [[ $rc -eq 124 || $rc -eq 137 ]]; then
  echo "browser test: killed after 420 s"; echo "0 passed, 1 failed"
fi
exit $rc
