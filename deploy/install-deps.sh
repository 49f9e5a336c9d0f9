#!/usr/bin/env bash
# Installs the Debian packages exportd needs to build, run and test, when any
# is missing. Non-interactive; needs root (or does nothing and says what is missing).
#   install-deps.sh [--test]   (--test adds what the test suite needs)
set -euo pipefail
packages=(build-essential cmake pkg-config libfcgi-dev libpoco-dev libjsoncpp-dev
          libsqlite3-dev libxlsxwriter-dev liburing-dev libssl-dev nginx sqlite3 openssl ca-certificates)
if [[ ${1:-} == --test ]]; then
  packages+=(libcppunit-dev python3 curl unzip spawn-fcgi clang libclang-rt-14-dev
             apache2-utils e2fsprogs procps psmisc strace systemd shellcheck util-linux)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "exportd: missing Debian packages (run as root to install): ${missing[*]}" >&2
  exit 1
fi
echo "exportd: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
