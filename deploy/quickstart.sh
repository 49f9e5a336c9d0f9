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
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
deploy_settings quickstart
port=${EXPORTD_PORT:-8080}
registry=${EXPORTD_REGISTRY:-}

# nginx's workers (www-data when run as root) must reach the socket, the page
# and the export files: everything lives under directories they can enter.
deploy_private_dirs "$data_dir" "$data_dir/run" "$data_dir/www" "$exports_dir"
deploy_check_reachable "$worker" "nginx's workers" \
  "$data_dir/run|EXPORTD_DATA_DIR|every API request would fail with 502" \
  "$data_dir/www|EXPORTD_DATA_DIR|the page would not load" \
  "$exports_dir|EXPORTD_EXPORTS_DIR|no download would work"

# shellcheck disable=SC2119 # no install-deps.sh options: the quickstart's set
deploy_build_exportd
deploy_page_and_demo
deploy_htpasswd "$data_dir/run"
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

deploy_refuse_running "$data_dir/run/exportd.pid" "$data_dir/run/nginx.pid"

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
deploy_wait_healthy "http://127.0.0.1:$port/api/health" "nginx's log: $data_dir/run/nginx-error.log" "${pids[@]}"
echo "exportd: open http://127.0.0.1:$port/ (data in $data_dir; Ctrl-C stops)"
wait -n "${pids[@]}" || true
