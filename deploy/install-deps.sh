#!/usr/bin/env bash
# Installs the Debian packages exportd needs to build, run and test, when any
# is missing. Non-interactive; needs root (or does nothing, says in one sentence
# what to install and exits 1). curl is a runtime need: the quickstart asks
# /api/health with it.
#   install-deps.sh [--cluster] [--test]
# --cluster adds what deploy/cluster.sh runs (PostgreSQL's server and client,
# ip for the network namespaces, mount); --test adds what the test suite needs,
# the cluster's set included (its tests start deploy/cluster.sh), and faketime
# (a host whose clock is off).
set -euo pipefail
packages=(build-essential cmake pkg-config libfcgi-dev libpoco-dev libjsoncpp-dev
          libsqlite3-dev libpq-dev libxlsxwriter-dev liburing-dev libssl-dev nginx sqlite3 openssl ca-certificates curl)
cluster=(postgresql postgresql-client iproute2 mount util-linux procps)
for option in "$@"; do
  case $option in
    --cluster) packages+=("${cluster[@]}") ;;
    --test) packages+=(libcppunit-dev python3 unzip spawn-fcgi clang libclang-rt-14-dev
                       apache2-utils e2fsprogs psmisc strace systemd shellcheck
                       lintian mmdebstrap faketime "${cluster[@]}") ;;
    *) echo "install-deps.sh: unknown option $option (--cluster, --test)" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [[ ${#missing[@]} -eq 0 ]]; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "exportd: these Debian packages are missing, install them as root (apt-get install ${missing[*]}) or run this command as root." >&2
  exit 1
fi
echo "exportd: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
