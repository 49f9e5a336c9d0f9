#!/usr/bin/env bash
# Installs the Debian packages the benchmarks need on top of exportd's own
# (deploy/install-deps.sh): wrk for HTTP load, gnuplot for the plot, GNU time,
# and perf for profiling a missed target. Non-interactive; needs root (or does
# nothing and says what is missing).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/deploy/install-deps.sh"
packages=(wrk gnuplot-nox time python3 procps)
optional=(linux-perf)
# The same steps as deploy/install-deps.sh, for other packages and with one
# that may be missing from the mirror (linux-perf): alike on purpose.
missing=()
for p in "${packages[@]}" "${optional[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "bench: missing Debian packages (run as root to install): ${missing[*]}" >&2
  exit 1
fi
echo "bench: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# perf is only for profiling by hand; a machine without it still runs the benchmarks.
apt-get install -y -qq --no-install-recommends "${optional[@]}" >/dev/null 2>&1 ||
  echo "bench: linux-perf not installed (only needed for profiling)" >&2
