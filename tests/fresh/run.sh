#!/usr/bin/env bash
# "First contact": do the README's two commands work on a machine that has
# nothing? Builds a fresh Debian 12 root (mmdebstrap --variant=apt bookworm),
# copies the checkout into it (the files git knows, so no build directories),
# and inside it, through chroot with /proc, /sys and /dev mounted:
#   1. as an ordinary user, before any package is installed, both commands
#      (deploy/quickstart.sh, tests/run.sh) must stop with one sentence naming
#      what to install, and a non-zero exit;
#   2. as root, ./deploy/quickstart.sh from a clone in /root installs, builds,
#      creates the demo dataset and starts exportd + nginx.
# The root shares this machine's network: /api/health is asked from outside,
# with a deadline, then one small CSV export is made, polled and downloaded
# from outside. Everything started in the root is stopped, and the root is
# removed, on every exit path.
#
# Exit: 0 passed, 1 failed, 77 skipped (not root, a tool missing, or the
# Debian mirror cannot be reached: nothing was shown either way).
#   EXPORTD_FRESH_DIR (where the root is made, default /var/tmp),
#   EXPORTD_FRESH_SUITE (bookworm), EXPORTD_FRESH_MIRROR (mmdebstrap's default
#   when empty), EXPORTD_FRESH_DEADLINE_SECONDS (1800: the
#   quickstart, package installation and build included, must be healthy by then)
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
suite=${EXPORTD_FRESH_SUITE:-bookworm}
mirror=${EXPORTD_FRESH_MIRROR:-}
deadline_seconds=${EXPORTD_FRESH_DEADLINE_SECONDS:-1800}
SKIPPED=77

skip() { echo "fresh: SKIPPED: $*"; exit "$SKIPPED"; }
fail() { echo "fresh: FAILED: $*"; exit 1; }

[[ $(id -u) -eq 0 ]] || skip "needs root (mmdebstrap, chroot, mounts)"
for tool in mmdebstrap unshare chroot setpriv curl python3 git tar; do
  command -v "$tool" >/dev/null || skip "$tool is not installed (deploy/install-deps.sh --test installs it)"
done

work=$(mktemp -d "${EXPORTD_FRESH_DIR:-/var/tmp}/exportd-fresh-XXXXXX") || fail "cannot create a work directory"
root=$work/root
qs_pid=
mm_pid=

# Messages of apt and mmdebstrap that mean the mirror could not be reached.
mirror_unreachable='Failed to fetch|Temporary failure resolving|Could not resolve|Unable to connect|Could not connect|Connection failed|Connection timed out|Network is unreachable|No route to host|Some index files failed to download'

# Every process whose root directory is inside ours.
processes_in_root() {
  local p
  for p in /proc/[0-9]*; do
    [[ $(readlink "$p/root" 2>/dev/null) == "$root"* ]] && echo "${p#/proc/}"
  done
}

cleanup() {
  local rc=$? pids
  trap - EXIT INT TERM
  if [[ -n $mm_pid ]] && kill -0 "$mm_pid" 2>/dev/null; then
    kill -TERM "$mm_pid" 2>/dev/null
    wait "$mm_pid" 2>/dev/null
  fi
  if [[ -n $qs_pid ]] && kill -0 "$qs_pid" 2>/dev/null; then
    kill -TERM -- "-$qs_pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$qs_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$qs_pid" 2>/dev/null
  fi
  for _ in 1 2 3; do
    pids=$(processes_in_root)
    [[ -z $pids ]] && break
    # shellcheck disable=SC2086 # one pid per word
    kill -KILL $pids 2>/dev/null
    sleep 0.5
  done
  wait 2>/dev/null
  # The mounts live in the private mount namespace of the processes above and
  # went with them; never remove the root while anything is still mounted in it.
  if grep -qF " $root/" /proc/self/mountinfo; then
    echo "fresh: something is still mounted under $root; left in place"
  else
    rm -rf --one-file-system "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "fresh: interrupted; cleaning up"; exit 1' INT TERM

# A fresh Debian root in $1 (the one place that makes it), with apt's sources
# from mmdebstrap, the host's resolver, and no services started by packages:
# the root shares this machine's network and has no init.
make_rootfs() { # dir log
  local dir=$1 log=$2
  # In the background: a signal to this script is handled at once, not after it.
  mmdebstrap --variant=apt "$suite" "$dir" ${mirror:+"$mirror"} </dev/null >"$log" 2>&1 &
  mm_pid=$!
  if ! wait "$mm_pid"; then
    grep -qE "$mirror_unreachable" "$log" && { tail -5 "$log"; skip "the Debian mirror cannot be reached (mmdebstrap)"; }
    tail -20 "$log"; fail "mmdebstrap failed"
  fi
  cp -L /etc/resolv.conf "$dir/etc/resolv.conf" 2>/dev/null || true
  printf '#!/bin/sh\nexit 101\n' >"$dir/usr/sbin/policy-rc.d"
  chmod 0755 "$dir/usr/sbin/policy-rc.d"
}

# Copies the files git knows of this checkout (as they are in the work tree) to $1.
copy_checkout() { # dir-inside-root
  mkdir -p "$1"
  git -C "$here" ls-files -z | tar -C "$here" --null --ignore-failed-read -T - -cf - | tar -C "$1" -xf - ||
    fail "copying the checkout failed"
}

# Runs a command in the root, in a private mount namespace that holds its
# /proc, /sys and /dev (they go when its last process does), with the clean
# environment of a login. exec all the way: the caller's $! is the command.
in_root() { # [VAR=value...] command...
  # shellcheck disable=SC2016 # expanded by the inner shell
  unshare --mount --propagation private -- /bin/sh -c '
    root=$1; shift
    mount -t proc proc "$root/proc" && mount --bind /sys "$root/sys" && mount --bind /dev "$root/dev" &&
      exec chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        HOME=/root LANG=C.UTF-8 TERM=dumb "$@"' in_root "$root" "$@"
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# --- the root --------------------------------------------------------------
echo "fresh: mmdebstrap --variant=apt $suite into $root"
t0=$SECONDS
make_rootfs "$root" "$work/mmdebstrap.log"
t_mmdebstrap=$((SECONDS - t0))
echo "fresh: mmdebstrap took ${t_mmdebstrap} s ($(du -sm "$root" | cut -f1) MB)"
copy_checkout "$root/root/exportd"
copy_checkout "$root/tmp/exportd-user"
chmod -R a+rX "$root/tmp/exportd-user"

# --- 1. an ordinary user, nothing installed ---------------------------------
one_sentence() { # name command...
  local name=$1 out rc lines; shift
  out=$(in_root setpriv --reuid=nobody --regid=nogroup --clear-groups "$@" 2>&1); rc=$?
  lines=$(printf '%s\n' "$out" | grep -c .)
  if [[ $rc -ne 0 && $lines -eq 1 && $out == *"apt-get install"*build-essential* ]]; then
    echo "fresh: ok: $name as nobody without packages: exit $rc, \"$out\""
  else
    printf '%s\n' "$out" | tail -20
    fail "$name as nobody without packages: want one sentence naming the packages and a non-zero exit, got exit $rc and $lines lines"
  fi
}
one_sentence "deploy/quickstart.sh" /tmp/exportd-user/deploy/quickstart.sh
one_sentence "tests/run.sh" /tmp/exportd-user/tests/run.sh

# --- 2. root: the quickstart from nothing -----------------------------------
port=$(free_port) || fail "no free port"
base=http://127.0.0.1:$port
echo "fresh: ./deploy/quickstart.sh as root in the root, EXPORTD_PORT=$port (log: $work/quickstart.log)"
t0=$SECONDS
# setsid: the quickstart leads its own process group (it is not one already,
# being a background job of a script), which cleanup() signals.
in_root EXPORTD_PORT="$port" EXPORTD_DEMO_ROWS=1000 \
  setsid /bin/bash -c 'cd /root/exportd && exec ./deploy/quickstart.sh' >"$work/quickstart.log" 2>&1 </dev/null &
qs_pid=$!

until curl -fsS --noproxy '*' --max-time 3 -o /dev/null "$base/api/health" 2>/dev/null; do
  if ! kill -0 "$qs_pid" 2>/dev/null; then
    wait "$qs_pid"; rc=$?
    tail -30 "$work/quickstart.log"
    grep -qE "$mirror_unreachable" "$work/quickstart.log" &&
      skip "the Debian mirror cannot be reached from the root (apt-get)"
    fail "the quickstart exited ($rc) before $base/api/health answered"
  fi
  if ((SECONDS - t0 >= deadline_seconds)); then
    tail -30 "$work/quickstart.log"
    fail "$base/api/health did not answer 200 within $deadline_seconds s"
  fi
  sleep 2
done
t_healthy=$((SECONDS - t0))
echo "fresh: healthy after ${t_healthy} s (quickstart start to /api/health 200 through nginx)"
for _ in $(seq 25); do grep -qF "open $base/" "$work/quickstart.log" && break; sleep 0.2; done
grep -qF "open $base/" "$work/quickstart.log" || fail "the quickstart did not print the URL to open"

# --- one export, end to end, from outside -----------------------------------
jar=$work/cookies
api() { curl -sS --noproxy '*' --max-time 10 -c "$jar" -b "$jar" "$@"; }
json_field() { python3 -c 'import json, sys; v = json.load(sys.stdin); print(v.get(sys.argv[1], ""))' "$1"; }

id=$(api -f -H 'Content-Type: application/json' -d '{"dataset":"orders","format":"csv","filters":{"status":["paid","shipped"]}}' \
  "$base/api/exports" | json_field id) || fail "POST /api/exports failed"
[[ $id =~ ^[A-Za-z0-9_-]+$ ]] || fail "POST /api/exports answered no id"
status=
for _ in $(seq 60); do
  status=$(api -f "$base/api/exports/$id" | json_field status)
  [[ $status == ready || $status == failed ]] && break
  sleep 0.5
done
[[ $status == ready ]] || fail "export $id is '$status', not ready, after 30 s"
headers=$(api -f -o "$work/export.csv" -D - "$base/api/exports/$id/download") || fail "the download of $id failed"
grep -qi '^content-type: text/csv' <<<"$headers" || fail "the download is not text/csv"
rows=$(python3 - "$work/export.csv" <<'PY'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    table = list(csv.reader(f))
header, body = table[0], table[1:]
status = header.index("status") if "status" in header else None
if header[:2] != ["id", "created_at"] or status is None or not body:
    sys.exit("not the orders CSV: header %r, %d rows" % (header, len(body)))
if any(row[status] not in ("paid", "shipped") for row in body):
    sys.exit("rows the filter excludes")
print(len(body))
PY
) || fail "the download is not the filtered orders CSV"
echo "fresh: ok: export $id downloaded from outside: text/csv, $rows rows"

echo "fresh: PASSED (mmdebstrap ${t_mmdebstrap} s, quickstart to healthy ${t_healthy} s)"
