#!/usr/bin/env bash
# Runs a cluster of exportd hosts on this one machine, in the foreground, for
# trying and testing (README, "Several hosts"; docs/operations.md, Several hosts):
#   - a local PostgreSQL (data in $EXPORTD_DATA_DIR/pg): the registry of every
#     host, and the demo dataset's rows (database `demo`);
#   - EXPORTD_HOSTS (3) hosts, each an exportd with its own nginx in its own
#     network namespace (exd<PORT>h<n>), with two links to the root namespace:
#     eth0 on the front network (NET.0.0/24, the host at NET.0.<10+n>) and db0
#     on the database network (NET.1.0/24, PostgreSQL at NET.1.1), so that
#     `ip link set db0 down` inside a host cuts it off from PostgreSQL only;
#   - one export directory, $EXPORTD_DATA_DIR/exports, bind-mounted at each
#     host's exports_dir ($EXPORTD_DATA_DIR/hosts/<n>/exports), as a shared
#     filesystem is mounted on every host;
#   - a front nginx on 127.0.0.1:$EXPORTD_PORT serving the page and balancing
#     /api/ across the hosts' nginx.
# Ctrl-C (or SIGTERM) stops it all and removes the namespaces, links and mounts.
#
# Environment: the quickstart's (EXPORTD_PORT 8080, EXPORTD_RETENTION_SECONDS,
# EXPORTD_DATA_DIR, EXPORTD_DEMO_ROWS, EXPORTD_HTPASSWD, EXPORTD_REGISTRY to use
# another registry than the local PostgreSQL, EXPORTD_BUILD_DIR, any exportd key
# as EXPORTD_<KEY>), and:
#   EXPORTD_HOSTS              number of hosts (3)
#   EXPORTD_CLUSTER_NET        the first two octets of the cluster's networks (10.77)
#   EXPORTD_PG_PORT            PostgreSQL's TCP port on NET.1.1 (5432)
#   EXPORTD_HOST_<n>_WRAPPER   a command prefix for host n's exportd, e.g.
#     "faketime -f +30s" (a clock 30 s ahead); its pid file names exportd's pid.
# Needs root (namespaces, mounts).
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh"
if [[ $(id -u) -ne 0 ]]; then
  echo "exportd: deploy/cluster.sh needs root (it creates network namespaces and bind mounts); run it as root." >&2
  exit 1
fi
deploy_settings cluster
port=${EXPORTD_PORT:-8080}
hosts=${EXPORTD_HOSTS:-3}
net=${EXPORTD_CLUSTER_NET:-10.77}
pg_port=${EXPORTD_PG_PORT:-5432}
registry=${EXPORTD_REGISTRY:-}
[[ $hosts =~ ^[1-9][0-9]?$ ]] || { echo "EXPORTD_HOSTS: a number of hosts from 1 to 99" >&2; exit 2; }
[[ $net =~ ^[0-9]{1,3}\.[0-9]{1,3}$ ]] || { echo "EXPORTD_CLUSTER_NET: two octets, e.g. 10.77" >&2; exit 2; }
[[ $port =~ ^[0-9]+$ && $pg_port =~ ^[0-9]+$ ]] || { echo "EXPORTD_PORT and EXPORTD_PG_PORT: port numbers" >&2; exit 2; }
# The shared directory is always $data_dir/exports; each host's data_dir and
# exports_dir are its own (hosts/<n>), so exportd must not see the quickstart's
# values of these two in its environment (they would override its file).
exports_dir=$data_dir/exports
export -n EXPORTD_DATA_DIR EXPORTD_EXPORTS_DIR
tag=exd$port                  # names of the namespaces, links and bridges
front_bridge=${tag}f db_bridge=${tag}d
front_ip=$net.0.1 pg_ip=$net.1.1
pg_dir=$data_dir/pg
pg_bins=(/usr/lib/postgresql/*/bin)
pg_bin=${pg_bins[-1]}
host_ip() { echo "$net.0.$((10 + $1))"; }
host_db_ip() { echo "$net.1.$((10 + $1))"; }
host_dir() { echo "$data_dir/hosts/$1"; }

# nginx's workers reach each host's socket, the page and the files; PostgreSQL
# (user postgres) enters the data directory to reach its own (o+x: enter, not list).
deploy_private_dirs "$data_dir" "$data_dir/run" "$data_dir/www" "$exports_dir" "$data_dir/hosts"
chmod o+x "$data_dir"
for n in $(seq "$hosts"); do
  deploy_private_dirs "$(host_dir "$n")" "$(host_dir "$n")/exports"
done
deploy_check_reachable "$worker" "nginx's workers" \
  "$(host_dir 1)|EXPORTD_DATA_DIR|every API request would fail with 502" \
  "$data_dir/www|EXPORTD_DATA_DIR|the page would not load" \
  "$exports_dir|EXPORTD_DATA_DIR|no download would work"
deploy_check_reachable postgres "PostgreSQL's server" "$data_dir|EXPORTD_DATA_DIR|PostgreSQL could not start"

pidfiles=("$data_dir/run/nginx.pid")
for n in $(seq "$hosts"); do
  pidfiles+=("$(host_dir "$n")/exportd.pid" "$(host_dir "$n")/nginx.pid")
done
deploy_refuse_running "${pidfiles[@]}"

deploy_build_exportd --cluster
[[ -x $pg_bin/pg_ctl ]] || { echo "exportd: PostgreSQL's server is not installed (deploy/install-deps.sh --cluster installs it)" >&2; exit 1; }
deploy_page_and_demo
deploy_htpasswd "$data_dir/run"

# Everything a previous run left (it was killed with SIGKILL), and everything
# this run made, in reverse order. Each step is harmless when there is nothing.
teardown() {
  local ns mp
  for ns in $(ip netns list | awk -v t="${tag}h" 'index($1, t) == 1 { print $1 }'); do
    ip netns pids "$ns" | xargs -r kill -KILL 2>/dev/null || true
    ip netns del "$ns"
  done
  for mp in "$data_dir"/hosts/*/exports; do
    if mountpoint -q "$mp"; then umount -l "$mp"; fi
  done
  ip link del "$front_bridge" 2>/dev/null || true
  ip link del "$db_bridge" 2>/dev/null || true
  if [[ -s $pg_dir/data/postmaster.pid ]]; then
    as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}
# postgres may not enter the current directory: run its programs from /.
as_postgres() { (cd / && runuser -u postgres -- "$@"); }
teardown

# --- PostgreSQL --------------------------------------------------------------
# Listens on the database network's root address (the hosts) and on a socket
# in $pg_dir/run, which only root and postgres can enter (trusted there).
# The hosts sign in as `exportd` with a password from a libpq passfile.
start_postgres() {
  mkdir -p "$pg_dir/run"
  chown postgres:postgres "$pg_dir" "$pg_dir/run"
  chmod 0700 "$pg_dir" "$pg_dir/run"
  if [[ ! -s $pg_dir/data/PG_VERSION ]]; then
    as_postgres "$pg_bin/initdb" -D "$pg_dir/data" --no-sync -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    cat >>"$pg_dir/data/postgresql.conf" <<CONF
# deploy/cluster.sh
listen_addresses = '$pg_ip'
port = $pg_port
unix_socket_directories = '$pg_dir/run'
max_connections = 300
logging_collector = off
# A host cut off in the middle of a transaction must not hold its locks (an
# owner's advisory lock, rows) until the kernel gives up on the connection.
idle_in_transaction_session_timeout = '5s'
tcp_keepalives_idle = 5
tcp_keepalives_interval = 2
tcp_keepalives_count = 2
tcp_user_timeout = 5000
CONF
    cat >"$pg_dir/data/pg_hba.conf" <<HBA
local all all trust
host exportd,demo exportd $net.1.0/24 scram-sha-256
HBA
  fi
  as_postgres "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w start >/dev/null
}
psql_admin() { # database, then psql arguments
  local db=$1
  shift
  psql -X -q -v ON_ERROR_STOP=1 -h "$pg_dir/run" -p "$pg_port" -U postgres -d "$db" "$@"
}
set_up_databases() {
  local password
  password=$(openssl rand -hex 24)
  # The passfile of the hosts' exportd (root's, 0600), rewritten each run with a new password.
  (umask 077; echo "$pg_ip:$pg_port:*:exportd:$password" >"$data_dir/run/registry.pgpass")
  psql_admin postgres <<SQL
SELECT 'CREATE ROLE exportd LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'exportd') \gexec
ALTER ROLE exportd PASSWORD '$password';
SELECT 'CREATE DATABASE exportd OWNER exportd' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'exportd') \gexec
SELECT 'CREATE DATABASE demo' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'demo') \gexec
SQL
  # The demo dataset: the rows of demo.db (deploy/make_demo_pg.sh makes the same
  # ones from the same seed, with native types), remade when the count differs;
  # exportd may only read it.
  local rows=${EXPORTD_DEMO_ROWS:-100000} have
  have=$(psql_admin demo -tA -c "SELECT count(*) FROM orders" 2>/dev/null || echo none)
  if [[ $have != "$rows" ]]; then
    echo "exportd: loading the demo dataset into PostgreSQL (database demo)"
    "$here/deploy/make_demo_pg.sh" "host=$pg_dir/run port=$pg_port user=postgres dbname=demo" "$rows"
  fi
  psql_admin demo -c "GRANT SELECT ON orders TO exportd"
  # The hosts read it from PostgreSQL: the datasets file with that source.
  sed -e "s#\"source\": \"sqlite:demo.db\"#\"source\": \"postgresql://exportd@$pg_ip:$pg_port/demo?passfile=$data_dir/run/registry.pgpass\"#" \
      -e 's#"date_storage": "iso8601-utc-text"#"date_storage": "timestamp"#' \
      "$here/deploy/datasets.json" >"$data_dir/datasets.json"
  grep -q '"source": "postgresql://' "$data_dir/datasets.json" ||
    { echo "exportd: deploy/datasets.json has no sqlite:demo.db source to point at PostgreSQL" >&2; exit 1; }
}

# --- network -----------------------------------------------------------------
make_bridge() { # name address/24
  ip link add "$1" type bridge
  ip addr add "$2" dev "$1"
  ip link set "$1" up
}
make_host_net() { # n
  local ns=$tag"h$1"
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  ip link add "${tag}f$1" type veth peer name eth0 netns "$ns"
  ip link add "${tag}d$1" type veth peer name db0 netns "$ns"
  ip link set "${tag}f$1" master "$front_bridge" up
  ip link set "${tag}d$1" master "$db_bridge" up
  ip -n "$ns" addr add "$(host_ip "$1")/24" dev eth0
  ip -n "$ns" addr add "$(host_db_ip "$1")/24" dev db0
  ip -n "$ns" link set eth0 up
  ip -n "$ns" link set db0 up
}

# --- hosts -------------------------------------------------------------------
write_host_config() { # n
  local dir
  dir=$(host_dir "$1")
  cat >"$dir/exportd.properties" <<PROPS
data_dir = $dir
datasets_file = $data_dir/datasets.json
listen = unix:$dir/exportd.sock
file_group = $group
require_identity = $require_identity
exports_dir = $dir/exports
registry = ${registry:-postgresql://exportd@$pg_ip:$pg_port/exportd?passfile=$data_dir/run/registry.pgpass}
PROPS
  rm -f "$dir/exportd.sock"
  "$here/deploy/render-nginx-conf.sh" --listen "$(host_ip "$1"):80" --listen 127.0.0.1:80 --real-ip-from "$front_ip" \
    80 "$dir" "$dir" "$data_dir/www" "$dir/exports" "$htpasswd" "unix:$dir/exportd.sock"
  ip netns exec "$tag"h"$1" nginx -t -q -c "$dir/nginx.conf" -p "$dir"
}

# The wrapper may fork (faketime does) or exec: the pid file names exportd itself.
exportd_pid() { # pid of what was started
  local p=$1 child
  for _ in $(seq 50); do
    [[ $(cat "/proc/$p/comm" 2>/dev/null) == exportd ]] && { echo "$p"; return 0; }
    child=$(pgrep -P "$p" -x exportd || true)
    [[ -n $child ]] && { echo "$child"; return 0; }
    sleep 0.1
  done
  echo "$p"
}

start_host() { # n
  local n=$1 dir ns wrapper_var wrapper=() started
  dir=$(host_dir "$n")
  ns=$tag"h$n"
  wrapper_var=EXPORTD_HOST_${n}_WRAPPER
  read -ra wrapper <<<"${!wrapper_var:-}"
  ip netns exec "$ns" "${wrapper[@]}" "$build/fcgi_app/exportd" --config "$dir/exportd.properties" \
    >>"$dir/exportd.log" 2>&1 &
  started=$!
  pids+=("$started")
  exportd_pid "$started" >"$dir/exportd.pid"
  for _ in $(seq 150); do
    [[ -S $dir/exportd.sock ]] && break
    kill -0 "$started" 2>/dev/null || { echo "exportd of host $n did not start (see $dir/exportd.log)" >&2; exit 1; }
    sleep 0.1
  done
  ip netns exec "$ns" nginx -c "$dir/nginx.conf" -p "$dir" &
  pids+=($!)
}

pids=()
stop() {
  trap - INT TERM EXIT
  local p f
  # exportd itself (a wrapper that forks may not pass signals on), then the rest.
  for f in "${pidfiles[@]}"; do
    if [[ -s $f ]]; then kill -TERM "$(cat "$f")" 2>/dev/null || true; fi
  done
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -f "${pidfiles[@]}"
  teardown
}
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

make_bridge "$front_bridge" "$front_ip/24"
make_bridge "$db_bridge" "$pg_ip/24"
start_postgres
set_up_databases
upstreams=()
for n in $(seq "$hosts"); do
  mount --bind "$exports_dir" "$(host_dir "$n")/exports"
  make_host_net "$n"
  write_host_config "$n"
  upstreams+=("$(host_ip "$n"):80 max_fails=1 fail_timeout=2s")
done
# The first host makes the registry's schema; the others start once it answers.
start_host 1
deploy_wait_healthy "http://$(host_ip 1)/api/health" "$(host_dir 1)/exportd.log" "${pids[@]}"
for n in $(seq 2 "$hosts"); do
  start_host "$n"
done

"$here/deploy/render-nginx-conf.sh" --front "$port" "$data_dir" "$data_dir/run" "$data_dir/www" "$exports_dir" "" "${upstreams[@]}"
nginx -t -q -c "$data_dir/run/nginx.conf" -p "$data_dir/run"
nginx -c "$data_dir/run/nginx.conf" -p "$data_dir/run" &
pids+=($!)

deploy_wait_healthy "http://127.0.0.1:$port/api/health" "the hosts' logs in $data_dir/hosts/*/" "${pids[@]}"
for n in $(seq "$hosts"); do
  deploy_wait_healthy "http://$(host_ip "$n")/api/health" "$(host_dir "$n")/exportd.log" "${pids[@]}"
done
echo "exportd: open http://127.0.0.1:$port/ ($hosts hosts; data in $data_dir; Ctrl-C stops)"

# A host that stops (say, killed to try failover) leaves the others running.
while true; do
  wait -n || true
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null && continue 2
  done
  echo "exportd: every process of the cluster has stopped" >&2
  exit 1
done
