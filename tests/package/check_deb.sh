#!/usr/bin/env bash
# Builds the Debian package with CPack and checks it without installing it on
# this machine: its file list, modes, control fields, conffiles and maintainer
# scripts, then unpacks it into a scratch root (dpkg-deb -x) and runs what it
# ships there: exportd --version/--check-config on the packaged configuration,
# exportctl --version, systemd-analyze verify of the units. lintian must report
# no error (E:); its warnings are shown.
#   check_deb.sh            (EXPORTD_BUILD_DIR: the build directory, default build/)
set -uo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
build=${EXPORTD_BUILD_DIR:-$here/build}
work=$(mktemp -d "${TMPDIR:-/tmp}/exportd-deb-XXXXXX")
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

check() { # description command...
  local what=$1; shift
  if "$@" >"$work/out" 2>&1; then
    passed=$((passed + 1)); echo "ok   $what"
  else
    failed=$((failed + 1)); echo "FAIL $what"; sed 's/^/     /' "$work/out" | tail -20
  fi
}
skip() { echo "skip $1"; }

# --- build -----------------------------------------------------------------
cmake -S "$here" -B "$build" >/dev/null || { echo "cmake failed"; echo "0 passed, 1 failed"; exit 1; }
timeout 1200 cmake --build "$build" --target exportd exportctl -j"$(nproc)" >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log"; echo "0 passed, 1 failed"; exit 1; }
(cd "$build" && timeout 600 cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) ||
  { tail -30 "$work/cpack.log"; echo "0 passed, 1 failed"; exit 1; }
deb=$(find "$work/pkg" -maxdepth 1 -name 'exportd_*.deb' -print -quit)
[[ -n $deb ]] || { echo "no .deb produced"; echo "0 passed, 1 failed"; exit 1; }
echo "package: $(basename "$deb")"

dpkg-deb -c "$deb" | awk '{print $1, $2, $NF}' | sed 's#\./#/#' >"$work/contents"
dpkg-deb -I "$deb" >"$work/info"
mkdir -p "$work/control" "$work/root"
dpkg-deb -e "$deb" "$work/control"
dpkg-deb -x "$deb" "$work/root"
root=$work/root

# --- file list -------------------------------------------------------------
has_file() { # mode path
  grep -qxF -- "$1 root/root $2" "$work/contents" || { echo "want $1 root/root $2; have:"; grep -F " $2" "$work/contents"; return 1; }
}
for f in "-rwxr-xr-x /usr/bin/exportd" "-rwxr-xr-x /usr/bin/exportctl" \
         "-rw-r----- /etc/exportd/exportd.properties" "-rw-r----- /etc/exportd/datasets.json" \
         "-rw-r--r-- /lib/systemd/system/exportd.service" "-rw-r--r-- /lib/systemd/system/exportd.socket" \
         "-rw-r--r-- /lib/systemd/system/exportd-sweep.service" "-rw-r--r-- /lib/systemd/system/exportd-sweep.timer" \
         "-rw-r--r-- /etc/nginx/snippets/exportd.conf" "-rw-r--r-- /etc/nginx/conf.d/exportd-upstream.conf" \
         "-rwxr-xr-x /usr/share/exportd/make_demo_db.sh" "-rw-r--r-- /usr/share/exportd/www/index.html" \
         "-rw-r--r-- /usr/share/doc/exportd/copyright" "-rw-r--r-- /usr/share/doc/exportd/changelog.gz" \
         "-rw-r--r-- /usr/share/man/man8/exportd.8.gz" "-rw-r--r-- /usr/share/man/man1/exportctl.1.gz"; do
  check "ships ${f#* } (${f%% *})" has_file "${f% *}" "${f#* }"
done
only_expected() {
  ! grep -vE ' (/(etc|lib|usr)(/.*)?/|/usr/bin/(exportd|exportctl)|/etc/exportd/[a-z.]+|/lib/systemd/system/exportd(-sweep)?\.(service|socket|timer)|/etc/nginx/(snippets/exportd|conf\.d/exportd-upstream)\.conf|/usr/share/exportd/.*|/usr/share/doc/exportd/[A-Za-z.]+|/usr/share/man/man1/exportctl\.1\.gz|/usr/share/man/man8/exportd\.8\.gz|/usr/share/lintian/overrides/exportd)$' "$work/contents"
}
check "ships nothing else (no headers, static libraries, tests)" only_expected
check "no world-writable file" bash -c "! grep -E '^.{8}w' '$work/contents'"

# --- control ---------------------------------------------------------------
field() { sed -n "s/^ $1: //p" "$work/info"; }
check "Package: exportd" test "$(field Package)" = exportd
check "Version is the project's" grep -q "^project(exportd VERSION $(field Version) " "$here/CMakeLists.txt"
check "Depends on adduser and sqlite3" bash -c "[[ '$(field Depends)' == *adduser* && '$(field Depends)' == *sqlite3* ]]"
check "Depends has the shared libraries (dpkg-shlibdeps)" bash -c "[[ '$(field Depends)' == *libpoconet* && '$(field Depends)' == *libfcgi* && '$(field Depends)' == *liburing* ]]"
conffiles_match() {
  diff <(sort "$work/control/conffiles") \
       <(grep -E ' /etc/' "$work/contents" | grep -v '/$' | awk '{print $3}' | sort)
}
check "every file under /etc is a conffile" conffiles_match
for s in postinst prerm postrm; do
  check "$s is executable" test -x "$work/control/$s"
  check "$s parses (sh -n)" sh -n "$work/control/$s"
  if command -v shellcheck >/dev/null; then
    check "$s passes shellcheck" shellcheck -s sh "$work/control/$s"
  else
    skip "$s shellcheck (shellcheck is not installed)"
  fi
done
check "postinst creates the exportd system user" grep -q 'adduser --system.*exportd' "$work/control/postinst"
check "postinst makes exports/ group www-data 0750" grep -q 'install -d -o exportd -g www-data -m 0750 /var/lib/exportd/exports' "$work/control/postinst"
check "postinst enables and starts exportd.socket" grep -q 'deb-systemd-invoke start exportd.socket' "$work/control/postinst"
check "postinst enables and starts exportd-sweep.timer" grep -q 'deb-systemd-invoke start exportd-sweep.timer' "$work/control/postinst"
check "the sweep service runs exportd --sweep-once every minute" \
  sh -c "grep -q -- '--sweep-once' '$root/lib/systemd/system/exportd-sweep.service' && grep -qx 'OnUnitActiveSec=1min' '$root/lib/systemd/system/exportd-sweep.timer'"
check "postrm deletes export files on remove" grep -q 'find /var/lib/exportd/exports' "$work/control/postrm"

# --- lintian ---------------------------------------------------------------
man_renders() { # page.gz: man's own warnings count as failures
  local out
  out=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$1" 2>&1 >/dev/null) || return 1
  [[ -z $out ]] || { echo "$out"; return 1; }
}
for page in usr/share/man/man8/exportd.8.gz usr/share/man/man1/exportctl.1.gz; do
  check "$page names version $(field Version) (.TH)" bash -c "zcat '$work/root/$page' | grep -q '^\.TH .* \"exportd $(field Version)\"'"
  if command -v man >/dev/null; then
    check "$page renders without warnings" man_renders "$work/root/$page"
  else
    skip "$page rendering (man is not installed)"
  fi
done
if command -v lintian >/dev/null; then
  # lintian says as root that it would rather not run as root; that line is not a finding.
  timeout 600 lintian --fail-on none "$deb" 2>&1 | grep -v 'running with root privileges' >"$work/lintian"
  sed 's/^/     lintian: /' "$work/lintian"
  [[ -s $work/lintian ]] || echo "     lintian: no findings"
  check "lintian reports no error (E:)" bash -c "! grep -q '^E:' '$work/lintian'"
else
  skip "lintian (lintian is not installed)"
fi

# --- the unpacked tree -----------------------------------------------------
check "exportd --version runs from the package" bash -c "'$root/usr/bin/exportd' --version | grep -q '^exportd $(field Version)'"
check "exportctl --version runs from the package" bash -c "'$root/usr/bin/exportctl' --version | grep -q '^exportctl $(field Version)'"
check "exportctl --help documents the exit codes" bash -c "'$root/usr/bin/exportctl' --help | grep -q '5  the export expired'"

props=$root/etc/exportd/exportd.properties
value() { sed -n "s/^$1 *= *//p" "$props"; }
check "the packaged data_dir is /var/lib/exportd/data" test "$(value data_dir)" = /var/lib/exportd/data
check "the packaged exports_dir is the snippet's alias" \
  grep -qF "alias $(value exports_dir)/;" "$root/etc/nginx/snippets/exportd.conf"
check "the upstream points at the socket unit's ListenStream" \
  grep -qF "server unix:$(sed -n 's/^ListenStream=//p' "$root/lib/systemd/system/exportd.socket");" \
  "$root/etc/nginx/conf.d/exportd-upstream.conf"
check "datasets.json names an absolute demo database" grep -q '"sqlite:/var/lib/exportd/demo.db"' "$root/etc/exportd/datasets.json"

# --check-config of the packaged files, the demo database made as postinst makes it.
mkdir -p "$work/state"
"$root/usr/share/exportd/make_demo_db.sh" "$work/state/demo.db" 200 >/dev/null
sed "s#/var/lib/exportd/demo.db#$work/state/demo.db#" "$root/etc/exportd/datasets.json" >"$work/state/datasets.json"
check "exportd --check-config accepts the packaged configuration" \
  env EXPORTD_DATASETS_FILE="$work/state/datasets.json" EXPORTD_DATA_DIR="$work/state" \
  EXPORTD_EXPORTS_DIR="$work/state/exports" "$root/usr/bin/exportd" --config "$props" --check-config

if command -v systemd-analyze >/dev/null; then
  mkdir -p "$work/units"
  sed "s#/usr/bin/exportd#$root/usr/bin/exportd#" "$root/lib/systemd/system/exportd.service" >"$work/units/exportd.service"
  cp "$root/lib/systemd/system/exportd.socket" "$root/lib/systemd/system/exportd-sweep.timer" "$work/units/"
  sed "s#/usr/bin/exportd#$root/usr/bin/exportd#" "$root/lib/systemd/system/exportd-sweep.service" >"$work/units/exportd-sweep.service"
  check "systemd-analyze verify exportd.socket exportd.service exportd-sweep.timer exportd-sweep.service" \
    timeout 60 systemd-analyze verify "$work/units/exportd.socket" "$work/units/exportd.service" \
      "$work/units/exportd-sweep.timer" "$work/units/exportd-sweep.service"
else
  skip "systemd-analyze verify (systemd-analyze is not installed)"
fi
unit() { sed -n "s/^$2=//p" "$root/lib/systemd/system/exportd.$1"; }
check "the service takes the socket as fd 0 and logs to the journal" \
  test "$(unit service StandardInput)/$(unit service StandardOutput)/$(unit service StandardError)" = socket/journal/journal
check "the service runs as exportd with www-data as supplementary group" \
  test "$(unit service User)/$(unit service Group)/$(unit service SupplementaryGroups)" = exportd/exportd/www-data
check "the socket is root:www-data 0660" \
  test "$(unit socket SocketUser):$(unit socket SocketGroup) $(unit socket SocketMode)" = "root:www-data 0660"
check "the socket is not inside the service's RuntimeDirectory" \
  bash -c "[[ '$(unit socket ListenStream)' != /run/$(unit service RuntimeDirectory)/* ]]"
for h in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes StateDirectory=exportd; do
  check "the service sets $h" grep -qx "$h" "$root/lib/systemd/system/exportd.service"
done

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
