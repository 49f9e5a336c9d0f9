#!/usr/bin/env bash
# Runs exportd and nginx in the foreground on the embedded SQLite default:
#   http://127.0.0.1:${EXPORTD_PORT:-8080}/      the web page
#   http://127.0.0.1:${EXPORTD_PORT:-8080}/api/  the API
# Ctrl-C stops both. Restartable: stale sockets and pid files of a killed run
# are dealt with, and exportd's start-up sweep removes what expired meanwhile.
#
# Environment: EXPORTD_PORT (8080), EXPORTD_RETENTION_SECONDS (60),
# EXPORTD_DATA_DIR, EXPORTD_DEMO_ROWS (100000), EXPORTD_HTPASSWD (an htpasswd
# file: nginx asks for basic auth and passes the user as the owner).
# Any other exportd key can be set as EXPORTD_<KEY> too.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
port=${EXPORTD_PORT:-8080}
rows=${EXPORTD_DEMO_ROWS:-100000}
htpasswd=${EXPORTD_HTPASSWD:-}
if [[ $(id -u) -eq 0 ]]; then
  default_data=/var/tmp/exportd-quickstart
  group=www-data
else
  default_data=${TMPDIR:-/tmp}/exportd-quickstart-$(id -un)
  group=$(id -gn)
fi
data_dir=${EXPORTD_DATA_DIR:-$default_data}
export EXPORTD_DATA_DIR=$data_dir

"$here/deploy/install-deps.sh"
build=${EXPORTD_BUILD_DIR:-$here/build}
if [[ ! -x $build/fcgi_app/exportd || -n $(find "$here/fcgi_app" "$here/cleanup" -newer "$build/fcgi_app/exportd" -name '*.[ch]*' -print -quit) ]]; then
  cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" --target exportd -j"$(nproc)"
fi

# nginx's workers (www-data when run as root) must reach the socket, the page
# and the export files: everything lives under a data directory they can enter.
mkdir -p "$data_dir" "$data_dir/run" "$data_dir/www"
chgrp "$group" "$data_dir" "$data_dir/run" "$data_dir/www"
chmod 0750 "$data_dir" "$data_dir/run" "$data_dir/www"
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
PROPS

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
  "$data_dir/exports" "$htpasswd" "unix:$data_dir/run/exportd.sock"
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
echo "exportd: http://127.0.0.1:$port/ (data in $data_dir; Ctrl-C stops)"
wait -n "${pids[@]}" || true
