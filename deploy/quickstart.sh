#!/usr/bin/env bash
# Runs exportd and nginx in the foreground on the embedded SQLite default:
#   http://127.0.0.1:${EXPORTD_PORT:-8080}/      the web page
#   http://127.0.0.1:${EXPORTD_PORT:-8080}/api/  the API
# Ctrl-C stops both. Restartable: stale sockets and pid files of a killed run
# are dealt with, and exportd's start-up sweep removes what expired meanwhile.
#
# Environment: EXPORTD_PORT (8080), EXPORTD_RETENTION_SECONDS (60),
# EXPORTD_DATA_DIR, EXPORTD_DEMO_ROWS (100000), EXPORTD_HTPASSWD (an htpasswd
# file: nginx asks for basic auth and passes the user as the owner),
# EXPORTD_REGISTRY (written to the properties as `registry`), EXPORTD_BUILD_DIR.
# Any other exportd key can be set as EXPORTD_<KEY> too.
#
# Before it builds or starts anything it checks that nginx's workers (www-data
# when run as root) can enter every directory on the way to the socket, the
# page and the export files, and stops with a sentence naming the one that
# blocks (see README, "Two commands").
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
port=${EXPORTD_PORT:-8080}
rows=${EXPORTD_DEMO_ROWS:-100000}
htpasswd=${EXPORTD_HTPASSWD:-}
registry=${EXPORTD_REGISTRY:-}
if [[ $(id -u) -eq 0 ]]; then
  default_data=/var/tmp/exportd-quickstart
  worker=www-data
  group=www-data
else
  default_data=${TMPDIR:-/tmp}/exportd-quickstart-$(id -un)
  worker=
  group=$(id -gn)
fi
data_dir=${EXPORTD_DATA_DIR:-$default_data}
[[ $data_dir == /* ]] || data_dir=$PWD/$data_dir
export EXPORTD_DATA_DIR=$data_dir
exports_dir=${EXPORTD_EXPORTS_DIR:-$data_dir/exports}
[[ $exports_dir == /* ]] || exports_dir=$PWD/$exports_dir
export EXPORTD_EXPORTS_DIR=$exports_dir

# nginx's workers (www-data when run as root) must reach the socket, the page
# and the export files: everything lives under directories they can enter.
mkdir -p "$data_dir" "$data_dir/run" "$data_dir/www" "$exports_dir"
chgrp "$group" "$data_dir" "$data_dir/run" "$data_dir/www" "$exports_dir"
chmod 0750 "$data_dir" "$data_dir/run" "$data_dir/www" "$exports_dir"

# Prints the first directory on the way to $1 that nginx's workers cannot
# enter, tried as the worker user itself (its own groups, as nginx sets them).
first_blocked() { # dir
  local prefix="" part parts
  IFS=/ read -ra parts <<<"${1#/}"
  for part in / "${parts[@]}"; do
    [[ -n $part ]] || continue
    if [[ $part == / ]]; then prefix=/; else prefix=${prefix%/}/$part; fi
    if ! setpriv --reuid="$worker" --regid="$worker" --init-groups test -x "$prefix" 2>/dev/null; then
      echo "$prefix"
      return 0
    fi
  done
}
if [[ -n $worker ]]; then
  id -u "$worker" >/dev/null 2>&1 ||
    { echo "exportd: the user $worker, which nginx's workers run as, does not exist (Debian's base-passwd creates it)." >&2; exit 1; }
  for check in "$data_dir/run|EXPORTD_DATA_DIR|every API request would fail with 502" \
               "$data_dir/www|EXPORTD_DATA_DIR|the page would not load" \
               "$exports_dir|EXPORTD_EXPORTS_DIR|no download would work"; do
    IFS='|' read -r dir setting consequence <<<"$check"
    blocked=$(first_blocked "$dir")
    if [[ -n $blocked ]]; then
      echo "exportd: nginx's workers (user $worker) cannot enter $blocked ($(stat -c '%A %U:%G' "$blocked")) on the way to $dir, so $consequence: chmod o+x $blocked, or choose $setting elsewhere." >&2
      exit 1
    fi
  done
fi

"$here/deploy/install-deps.sh"
# Only what the quickstart runs: no test targets (their packages come with
# install-deps.sh --test).
build=${EXPORTD_BUILD_DIR:-$here/build}
if [[ ! -x $build/fcgi_app/exportd || -n $(find "$here/fcgi_app" "$here/cleanup" -newer "$build/fcgi_app/exportd" -name '*.[ch]*' -print -quit) ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
  cmake --build "$build" --target exportd -j"$(nproc)"
fi

cp -r "$here/nginx/www/." "$data_dir/www/"
chgrp -R "$group" "$data_dir/www"
chmod -R g+rX,o-rwx "$data_dir/www"

if [[ ! -s $data_dir/demo.db ]] || [[ $(sqlite3 "$data_dir/demo.db" 'SELECT count(*) FROM orders' 2>/dev/null || echo 0) != "$rows" ]]; then
  echo "exportd: creating the demo dataset ($rows rows)"
  "$here/deploy/make_demo_db.sh" "$data_dir/demo.db" "$rows"
fi
cp "$here/deploy/datasets.json" "$data_dir/datasets.json"

require_identity=false
if [[ -n $htpasswd ]]; then
  [[ -r $htpasswd ]] || { echo "EXPORTD_HTPASSWD: cannot read $htpasswd" >&2; exit 2; }
  cp "$htpasswd" "$data_dir/run/htpasswd"
  chgrp "$group" "$data_dir/run/htpasswd"; chmod 0640 "$data_dir/run/htpasswd"
  htpasswd=$data_dir/run/htpasswd
  require_identity=true
fi
cat >"$data_dir/exportd.properties" <<PROPS
data_dir = $data_dir
datasets_file = $data_dir/datasets.json
listen = unix:$data_dir/run/exportd.sock
file_group = $group
require_identity = $require_identity
exports_dir = $exports_dir
PROPS
if [[ -n $registry ]]; then
  echo "registry = $registry" >>"$data_dir/exportd.properties"
fi

# A previous run killed with SIGKILL leaves pid files behind; a live one is refused.
for name in exportd nginx; do
  pidfile=$data_dir/run/$name.pid
  if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    echo "exportd: a quickstart is already running from $data_dir ($name pid $(cat "$pidfile"))" >&2
    exit 1
  fi
  rm -f "$pidfile"
done

"$here/deploy/render-nginx-conf.sh" "$port" "$data_dir" "$data_dir/run" "$data_dir/www" \
  "$exports_dir" "$htpasswd" "unix:$data_dir/run/exportd.sock"
nginx -t -q -c "$data_dir/run/nginx.conf" -p "$data_dir/run"

pids=()
stop() {
  trap - INT TERM EXIT
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "$data_dir/run/exportd.pid"
}
trap stop INT TERM EXIT

"$build/fcgi_app/exportd" --config "$data_dir/exportd.properties" &
pids+=($!)
echo $! >"$data_dir/run/exportd.pid"
for _ in $(seq 100); do
  [[ -S $data_dir/run/exportd.sock ]] && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "exportd did not start" >&2; exit 1; }
  sleep 0.1
done
nginx -c "$data_dir/run/nginx.conf" -p "$data_dir/run" &
pids+=($!)

# Healthy means exportd answers /api/health through nginx.
health=http://127.0.0.1:$port/api/health
deadline=$((SECONDS + ${EXPORTD_HEALTH_TIMEOUT_SECONDS:-60}))
until curl -fsS --noproxy '*' --max-time 2 -o /dev/null "$health" 2>/dev/null; do
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null ||
      { echo "exportd: exportd or nginx stopped before $health answered (nginx's log: $data_dir/run/nginx-error.log)" >&2; exit 1; }
  done
  if ((SECONDS >= deadline)); then
    echo "exportd: $health did not answer 200 within ${EXPORTD_HEALTH_TIMEOUT_SECONDS:-60} s (nginx's log: $data_dir/run/nginx-error.log)" >&2
    exit 1
  fi
  sleep 0.2
done
echo "exportd: open http://127.0.0.1:$port/ (data in $data_dir; Ctrl-C stops)"
wait -n "${pids[@]}" || true
