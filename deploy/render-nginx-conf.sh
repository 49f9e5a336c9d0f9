#!/usr/bin/env bash
# Renders nginx/quickstart.conf.in and a copy of the nginx/exportd.conf snippet
# pointed at one data directory. Used by the quickstart and the tests.
#   render-nginx-conf.sh PORT DATA_DIR RUN_DIR WWW_DIR EXPORTS_DIR HTPASSWD|"" UPSTREAM [UPSTREAM...]
# UPSTREAM is "unix:/path" or "127.0.0.1:9000". Writes RUN_DIR/nginx.conf.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# DATA_DIR ($2) is not needed: RUN_DIR, WWW_DIR and EXPORTS_DIR say where everything is.
port=$1 run_dir=$3 www_dir=$4 exports_dir=$5 htpasswd=$6
shift 6
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
awk -v port="$port" -v run="$run_dir" -v www="$www_dir" -v userline="$user_line" \
    -v auth="$auth" -v ups="${upstreams%$'\n'}" '
  { gsub(/@PORT@/, port); gsub(/@RUN_DIR@/, run); gsub(/@WWW_DIR@/, www);
    if ($0 ~ /@USER_LINE@/) { print userline; next }
    if ($0 ~ /@AUTH@/) { if (auth != "") print auth; next }
    if ($0 ~ /@UPSTREAM_SERVERS@/) { print ups; next }
    print }' "$here/nginx/quickstart.conf.in" >"$run_dir/nginx.conf"
