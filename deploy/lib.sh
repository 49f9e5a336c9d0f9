# shellcheck shell=bash disable=SC2034 # the variables set here are the sourcing script's
# Shell shared by deploy/quickstart.sh and deploy/cluster.sh, sourced by both:
# the data directory and the checks that nginx's workers can reach it, the
# build of exportd, the demo dataset, the htpasswd file, the wait for health.
# Sourcing it only defines functions; each sets the variables its comment names.

# Sets here, worker, group, data_dir, exports_dir from the quickstart's
# variables (EXPORTD_DATA_DIR, EXPORTD_EXPORTS_DIR) and exports the last two.
#   deploy_settings NAME   (the default data directory's name: exportd-NAME)
deploy_settings() {
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local default_data
  if [[ $(id -u) -eq 0 ]]; then
    default_data=/var/tmp/exportd-$1
    worker=www-data
    group=www-data
  else
    default_data=${TMPDIR:-/tmp}/exportd-$1-$(id -un)
    worker=
    group=$(id -gn)
  fi
  data_dir=${EXPORTD_DATA_DIR:-$default_data}
  [[ $data_dir == /* ]] || data_dir=$PWD/$data_dir
  export EXPORTD_DATA_DIR=$data_dir
  exports_dir=${EXPORTD_EXPORTS_DIR:-$data_dir/exports}
  [[ $exports_dir == /* ]] || exports_dir=$PWD/$exports_dir
  export EXPORTD_EXPORTS_DIR=$exports_dir
}

# Makes each directory (group $group, 0750): nginx's workers reach what lives there.
deploy_private_dirs() { # dir...
  mkdir -p "$@"
  chgrp "$group" "$@"
  chmod 0750 "$@"
}

# Prints the first directory on the way to $1 that user $2 cannot enter,
# tried as that user itself (its own groups, as nginx and postgres set them).
deploy_first_blocked() { # dir user
  local prefix="" part parts
  IFS=/ read -ra parts <<<"${1#/}"
  for part in / "${parts[@]}"; do
    [[ -n $part ]] || continue
    if [[ $part == / ]]; then prefix=/; else prefix=${prefix%/}/$part; fi
    if ! setpriv --reuid="$2" --regid="$2" --init-groups test -x "$prefix" 2>/dev/null; then
      echo "$prefix"
      return 0
    fi
  done
}

# Stops with a sentence when USER (described as WHO, e.g. "nginx's workers")
# cannot enter a directory it needs. Each check is "DIR|SETTING|CONSEQUENCE";
# nothing is checked without a user.
deploy_check_reachable() { # user who check...
  local user=$1 who=$2 check dir setting consequence blocked
  shift 2
  [[ -n $user ]] || return 0
  id -u "$user" >/dev/null 2>&1 ||
    { echo "exportd: the user $user, which $who run as, does not exist (Debian's packages create it)." >&2; exit 1; }
  for check in "$@"; do
    IFS='|' read -r dir setting consequence <<<"$check"
    blocked=$(deploy_first_blocked "$dir" "$user")
    if [[ -n $blocked ]]; then
      echo "exportd: $who (user $user) cannot enter $blocked ($(stat -c '%A %U:%G' "$blocked")) on the way to $dir, so $consequence: chmod o+x $blocked, or choose $setting elsewhere." >&2
      exit 1
    fi
  done
}

# Installs what is missing (deploy/install-deps.sh with the given options) and
# builds only the exportd target: no test targets (their packages come with
# install-deps.sh --test). Sets build.
deploy_build_exportd() { # install-deps options...
  "$here/deploy/install-deps.sh" "$@"
  build=${EXPORTD_BUILD_DIR:-$here/build}
  if [[ ! -x $build/fcgi_app/exportd || -n $(find "$here/fcgi_app" "$here/cleanup" -newer "$build/fcgi_app/exportd" -name '*.[ch]*' -print -quit) ]]; then
    # A build directory configured already (the tests') keeps its options.
    if [[ ! -s $build/CMakeCache.txt ]]; then
      cmake -S "$here" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=OFF >/dev/null
    fi
    cmake --build "$build" --target exportd -j"$(nproc)"
  fi
}

# The web page, the demo dataset (EXPORTD_DEMO_ROWS rows, remade when the count
# differs) and the datasets file, in the data directory.
deploy_page_and_demo() {
  local rows=${EXPORTD_DEMO_ROWS:-100000}
  cp -r "$here/nginx/www/." "$data_dir/www/"
  chgrp -R "$group" "$data_dir/www"
  chmod -R g+rX,o-rwx "$data_dir/www"
  if [[ ! -s $data_dir/demo.db ]] || [[ $(sqlite3 "$data_dir/demo.db" 'SELECT count(*) FROM orders' 2>/dev/null || echo 0) != "$rows" ]]; then
    echo "exportd: creating the demo dataset ($rows rows)"
    "$here/deploy/make_demo_db.sh" "$data_dir/demo.db" "$rows"
  fi
  cp "$here/deploy/datasets.json" "$data_dir/datasets.json"
}

# EXPORTD_HTPASSWD's htpasswd file copied where nginx's workers read it. Sets
# htpasswd (the copy, or empty) and require_identity.
deploy_htpasswd() { # run_dir
  htpasswd=${EXPORTD_HTPASSWD:-}
  require_identity=false
  if [[ -n $htpasswd ]]; then
    [[ -r $htpasswd ]] || { echo "EXPORTD_HTPASSWD: cannot read $htpasswd" >&2; exit 2; }
    cp "$htpasswd" "$1/htpasswd"
    chgrp "$group" "$1/htpasswd"; chmod 0640 "$1/htpasswd"
    htpasswd=$1/htpasswd
    require_identity=true
  fi
}

# A previous run killed with SIGKILL leaves pid files behind; a live one is refused.
deploy_refuse_running() { # pidfile...
  local pidfile
  for pidfile in "$@"; do
    if [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "exportd: already running from $data_dir ($pidfile: pid $(cat "$pidfile"))" >&2
      exit 1
    fi
    rm -f "$pidfile"
  done
}

# Waits until URL answers 200 (EXPORTD_HEALTH_TIMEOUT_SECONDS, 60); stops with
# a sentence naming LOG when one of the processes ends first or time runs out.
deploy_wait_healthy() { # url log pid...
  local url=$1 log=$2 p timeout=${EXPORTD_HEALTH_TIMEOUT_SECONDS:-60}
  shift 2
  local deadline=$((SECONDS + timeout))
  until curl -fsS --noproxy '*' --max-time 2 -o /dev/null "$url" 2>/dev/null; do
    for p in "$@"; do
      kill -0 "$p" 2>/dev/null ||
        { echo "exportd: a process stopped before $url answered (see $log)" >&2; exit 1; }
    done
    if ((SECONDS >= deadline)); then
      echo "exportd: $url did not answer 200 within $timeout s (see $log)" >&2
      exit 1
    fi
    sleep 0.2
  done
}
