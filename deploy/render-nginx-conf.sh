#!/usr/bin/env bash
# Renders nginx/quickstart.conf.in and a copy of the nginx/exportd.conf snippet
# pointed at one data directory. Used by the quickstart, the cluster and the tests.
#   render-nginx-conf.sh [OPTION...] PORT DATA_DIR RUN_DIR WWW_DIR EXPORTS_DIR HTPASSWD|"" UPSTREAM [UPSTREAM...]
# UPSTREAM is "unix:/path" or "127.0.0.1:9000" (then any `server` parameters,
# e.g. "10.77.0.11:80 max_fails=1"). Writes RUN_DIR/nginx.conf. Options:
#   --listen ADDR:PORT     listen there instead of 127.0.0.1:PORT (repeatable)
#   --real-ip-from ADDR    take the client's address from X-Real-IP when the
#                          request comes from ADDR (a front proxy)
#   --front                render nginx/cluster-front.conf.in instead: a proxy
#                          to the UPSTREAM nginx servers (deploy/cluster.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
template=$here/nginx/quickstart.conf.in
listen=()
real_ip=""
while [[ ${1:-} == --* ]]; do
  case $1 in
    --listen) listen+=("$2"); shift 2 ;;
    --real-ip-from) real_ip="        set_real_ip_from $2;"$'\n'"        real_ip_header X-Real-IP;"; shift 2 ;;
    --front) template=$here/nginx/cluster-front.conf.in; shift ;;
    *) echo "render-nginx-conf.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
# DATA_DIR ($2) is not needed: RUN_DIR, WWW_DIR and EXPORTS_DIR say where everything is.
port=$1 run_dir=$3 www_dir=$4 exports_dir=$5 htpasswd=$6
shift 6
[[ ${#listen[@]} -gt 0 ]] || listen=("127.0.0.1:$port")
listens=""
for l in "${listen[@]}"; do
  listens+="        listen $l;"$'\n'
done
upstreams=""
for u in "$@"; do
  upstreams+="        server $u;"$'\n'
done
user_line="# nginx runs unprivileged already"
if [[ $(id -u) -eq 0 ]]; then
  user_line="user www-data www-data;"
fi
auth=""
if [[ -n $htpasswd ]]; then
  auth="        auth_basic \"exportd\";
        auth_basic_user_file $htpasswd;"
fi
sed -e "s#/var/lib/exportd/exports/#${exports_dir%/}/#" -e "s#include fastcgi_params;#include /etc/nginx/fastcgi_params;#" "$here/nginx/exportd.conf" >"$run_dir/exportd-snippet.conf"
awk -v run="$run_dir" -v www="$www_dir" -v userline="$user_line" -v listens="${listens%$'\n'}" \
    -v realip="$real_ip" -v auth="$auth" -v ups="${upstreams%$'\n'}" '
  { gsub(/@RUN_DIR@/, run); gsub(/@WWW_DIR@/, www);
    if ($0 ~ /@USER_LINE@/) { print userline; next }
    if ($0 ~ /@LISTEN@/) { print listens; next }
    if ($0 ~ /@REAL_IP@/) { if (realip != "") print realip; next }
    if ($0 ~ /@AUTH@/) { if (auth != "") print auth; next }
    if ($0 ~ /@UPSTREAM_SERVERS@/) { print ups; next }
    print }' "$template" >"$run_dir/nginx.conf"
