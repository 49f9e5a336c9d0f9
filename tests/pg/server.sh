#!/usr/bin/env bash
# A throw-away PostgreSQL server for the tests (and deploy/cluster.sh): no
# systemd, no durability (fsync off), trust authentication, a unix socket of
# its own, a database named exportd.
#   server.sh start DIR   initialises DIR on first use, starts the server
#                         (if not running) and prints its libpq URI
#   server.sh stop DIR    stops it; nothing to do when it is not running
#   server.sh uri DIR     prints the URI of a started server
# Run as root, the server runs as the postgres user (initdb refuses root).
# EXPORTD_PG_LISTEN=ADDR also listens on TCP at ADDR (port EXPORTD_PG_PORT,
# default 5432, remembered in DIR) and trusts every client: for hosts in network namespaces of
# this machine only, never for a reachable address.
set -euo pipefail

usage() {
  echo "usage: $0 start|stop|uri DIR" >&2
  exit 2
}
[[ $# -eq 2 ]] || usage
action=$1
dir=$(realpath -m "$2")
# The port of a server already made is the one it was made with.
if [[ -f $dir/port ]]; then
  port=$(cat "$dir/port")
else
  port=${EXPORTD_PG_PORT:-5432}
fi
bin=${EXPORTD_PG_BIN:-$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -1)}
if [[ -z $bin || ! -x $bin/pg_ctl ]]; then
  echo "server.sh: no PostgreSQL server found under /usr/lib/postgresql (Debian: apt-get install postgresql)" >&2
  exit 1
fi
data=$dir/data

# The socket's path must stay under 108 bytes: a deep DIR gets a short
# directory under /tmp instead, remembered in DIR/socket-dir.
socket_dir() {
  if [[ -f $dir/socket-dir ]]; then
    cat "$dir/socket-dir"
  elif (( ${#dir} + 20 < 100 )); then
    echo "$dir/sock"
  else
    mktemp -d /tmp/exportd-pg.XXXXXX | tee "$dir/socket-dir"
  fi
}

as_server_user() {
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

uri() {
  local query="host=$1&user=postgres"
  [[ $port == 5432 ]] || query+="&port=$port"
  echo "postgresql:///exportd?$query"
}

running() {
  [[ -f $data/postmaster.pid ]] && as_server_user "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1
}

case $action in
start)
  mkdir -p "$dir"
  sock=$(socket_dir)
  mkdir -p "$sock"
  if [[ $(id -u) -eq 0 ]]; then
    chown postgres: "$dir" "$sock"
    if ! runuser -u postgres -- test -x "$dir"; then
      echo "server.sh: the postgres user cannot reach $dir (a parent directory is closed to it)" >&2
      exit 1
    fi
  fi
  if [[ ! -f $data/PG_VERSION ]]; then
    rm -rf "$data"
    as_server_user "$bin/initdb" -D "$data" -A trust -U postgres --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
      cat "$dir/initdb.log" >&2
      exit 1
    }
    listen="''"
    if [[ -n ${EXPORTD_PG_LISTEN:-} ]]; then
      listen="'$EXPORTD_PG_LISTEN'"
      echo "host all all all trust" >>"$data/pg_hba.conf"
    fi
    echo "$port" >"$dir/port"
    cat >>"$data/postgresql.conf" <<EOF
listen_addresses = $listen
port = $port
unix_socket_directories = '$sock'
fsync = off
full_page_writes = off
max_connections = 300
EOF
  fi
  if ! running; then
    as_server_user "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 30 start >/dev/null || {
      tail -20 "$dir/server.log" >&2
      exit 1
    }
  fi
  if [[ -z $(as_server_user "$bin/psql" -h "$sock" -p "$port" -U postgres -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'exportd'") ]]; then
    # A linguistic collation (ICU, en-US), as a production database often
    # has: what must compare byte-wise says so (COLLATE "C"), and the tests see it.
    as_server_user "$bin/createdb" -h "$sock" -p "$port" -U postgres -T template0 -E UTF8 \
      --locale-provider=icu --icu-locale=en-US exportd
  fi
  uri "$sock"
  ;;
stop)
  if running; then
    as_server_user "$bin/pg_ctl" -D "$data" -m fast -w -t 30 stop >/dev/null
  fi
  ;;
uri)
  [[ -d $dir ]] || usage
  uri "$(socket_dir)"
  ;;
*)
  usage
  ;;
esac
