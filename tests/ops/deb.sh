#!/bin/sh
# deb.sh — the Debian package end to end (make test-deb; label package, not
# in make check: it installs into this machine). Builds the .deb (make deb),
# runs lintian (no tag may be left), checks the package's contents, conffile
# and man page, then installs it into a minimal Debian 12 root made by
# debootstrap (or, without debootstrap, on this machine with dpkg -i), runs
# systemd-analyze verify on dqr.service, starts `dqr serve` as the dqr user
# (setpriv) with /etc/dqr/dqr.json on a free port, checks /api/v1/health and
# where the service put its data and keys, SIGHUP and SIGTERM, and purges
# the package (also on failure). On the host it refuses to run when a dqr
# package is already installed: the purge would take a site's data with it.
# Usage: DQR_TEST_DEB=1 deb.sh [SOURCE_DIR]   (run as root; without
# DQR_TEST_DEB=1 it skips with 77, so a plain ctest run installs nothing)
set -u
if [ "${DQR_TEST_DEB:-}" != 1 ]; then
    echo "deb.sh: skipped (installs a package into this machine: run it with make test-deb)"
    exit 77
fi
SRC=$(cd "${1:-$(dirname "$0")/../..}" && pwd)
DEB="$SRC/build-deb"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1${2:+: $2}"; }
check() { name=$1; shift; if "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }

[ "$(id -u)" -eq 0 ] || { echo "deb.sh: run as root (it installs the package)" >&2; exit 1; }

start=$(date +%s)
buildlog=$(mktemp)
if make -C "$SRC" --no-print-directory deb >"$buildlog" 2>&1; then ok "make deb builds the package"; else
    bad "make deb builds the package" "$(tail -20 "$buildlog")"; echo "$pass passed, $fail failed"; exit 1
fi
cp "$buildlog" "$DEB/build.log"; rm -f "$buildlog"
echo "     (built in $(($(date +%s) - start)) s)"
PKG=$(ls "$DEB"/dqr_*_*.deb | head -1)

tags=$(lintian --pedantic --info "$DEB"/dqr_*.changes 2>&1 | grep -E '^[EWIPX]: ')
if [ -z "$tags" ]; then ok "lintian: no tags (pedantic)"; else bad "lintian: no tags (pedantic)" "$tags"; fi

contents=$(dpkg-deb -c "$PKG" | awk '{print $6}')
for f in ./usr/bin/dqr ./etc/dqr/dqr.json ./lib/systemd/system/dqr.service ./usr/lib/sysusers.d/dqr.conf \
         ./usr/lib/tmpfiles.d/dqr.conf ./usr/share/man/man1/dqr.1.gz ./usr/share/doc/dqr/copyright \
         ./usr/share/doc/dqr/README.md.gz ./usr/share/doc/dqr/cli.md.gz; do
    if echo "$contents" | grep -qx "$f"; then ok "package holds $f"; else bad "package holds $f"; fi
done
conff=$(dpkg-deb -f "$PKG" Package >/dev/null; dpkg-deb --ctrl-tarfile "$PKG" | tar -xO ./conffiles)
check "/etc/dqr/dqr.json is a conffile" test "$conff" = /etc/dqr/dqr.json
man=$(dpkg-deb --fsys-tarfile "$PKG" | tar -xO ./usr/share/man/man1/dqr.1.gz | gunzip)
check "the man page has the serve section of docs/cli.md" sh -c "printf '%s' \"\$0\" | grep -q '^.SS dqr serve'" "$man"
warn=$(printf '%s' "$man" | LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l - 2>&1 >/dev/null)
if [ -z "$warn" ]; then ok "man --warnings: none"; else bad "man --warnings: none" "$warn"; fi


# ---- install into a clean root (or this machine), run as dqr, purge ----
# With debootstrap: a minimal Debian 12 root under build-deb/root, the
# package installed there with apt (which fetches its dependencies), the
# service run in it by chroot; the host is not touched. Without (or with
# DQR_TEST_DEB_HOST=1): dpkg -i on this machine, then dpkg --purge.
ROOT=""
MIRROR=${DQR_DEBIAN_MIRROR:-http://deb.debian.org/debian}
if [ "${DQR_TEST_DEB_HOST:-}" != 1 ] && command -v debootstrap >/dev/null 2>&1; then
    ROOT="$DEB/root"
fi
in_root() { if [ -n "$ROOT" ]; then chroot "$ROOT" "$@"; else "$@"; fi; }
rcheck() { name=$1; shift; if in_root sh -c "$@" >/dev/null 2>&1; then ok "$name"; else bad "$name"; fi; }

srv=""
had_user=1
cleanup() {
    [ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
    if [ -n "$ROOT" ]; then
        mountpoint -q "$ROOT/proc" && umount "$ROOT/proc"
        mountpoint -q "$ROOT/proc" || rm -rf "$ROOT"
    else
        dpkg --purge dqr >/dev/null 2>&1
        # the package leaves its system user (as Debian does); the test's own goes
        [ "$had_user" -eq 0 ] && id -u dqr >/dev/null 2>&1 && userdel dqr
    fi
}

if [ -n "$ROOT" ]; then
    t=$(date +%s)
    if debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >"$DEB/debootstrap.log" 2>&1; then
        ok "debootstrap: a minimal bookworm root ($(($(date +%s) - t)) s)"
    else
        bad "debootstrap: a minimal bookworm root" "$(tail -5 "$DEB/debootstrap.log")"; rm -rf "$ROOT"
        echo "$pass passed, $fail failed"; exit 1
    fi
    trap cleanup EXIT
    mount -t proc proc "$ROOT/proc"
    cp "$PKG" "$ROOT/tmp/dqr.deb"
    t=$(date +%s)
    if chroot "$ROOT" sh -c 'apt-get -qq update && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
            --no-install-recommends /tmp/dqr.deb' >"$DEB/install.log" 2>&1; then
        ok "apt installs it and its dependencies in the clean root ($(($(date +%s) - t)) s)"
    else bad "apt installs it in the clean root" "$(tail -20 "$DEB/install.log")"; fi
else
    if dpkg-query -W -f='${Status}' dqr 2>/dev/null | grep -q "installed"; then
        echo "deb.sh: a dqr package is installed already; not touching it" >&2
        exit 1
    fi
    id -u dqr >/dev/null 2>&1 || had_user=0
    trap cleanup EXIT
    if dpkg -i "$PKG" >"$DEB/install.log" 2>&1; then ok "dpkg -i installs it"; else
        bad "dpkg -i installs it" "$(cat "$DEB/install.log")"; fi
fi

# After the install, so that the unit's binary and its man: link resolve.
if [ -n "$ROOT" ]; then
    out=$(MANPATH="$ROOT/usr/share/man" systemd-analyze verify --root="$ROOT" /lib/systemd/system/dqr.service 2>&1)
else
    out=$(systemd-analyze verify /lib/systemd/system/dqr.service 2>&1)
fi
if [ -z "$out" ]; then ok "systemd-analyze verify dqr.service: clean"; else bad "systemd-analyze verify dqr.service: clean" "$out"; fi
for k in User=dqr ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes ProtectHome=yes \
         CapabilityBoundingSet=CAP_NET_BIND_SERVICE AmbientCapabilities=CAP_NET_BIND_SERVICE Restart=on-failure \
         "ExecReload=/bin/kill -HUP \$MAINPID" "ReadWritePaths=/var/lib/dqr /var/lib/dqr-keys"; do
    if grep -qxF "$k" "$ROOT/lib/systemd/system/dqr.service"; then ok "unit has $k"; else bad "unit has $k"; fi
done
rcheck "the dqr system user exists" 'id -u dqr && [ "$(id -u dqr)" -lt 1000 ]'
rcheck "its login shell is nologin" 'getent passwd dqr | grep -q nologin'
for d in /var/lib/dqr /var/lib/dqr-keys; do
    rcheck "$d: dqr, 0700" "[ \"\$(stat -c '%U %a' $d)\" = 'dqr 700' ]"
done
rcheck "/etc/dqr/dqr.json: root:dqr 0640" "[ \"\$(stat -c '%U:%G %a' /etc/dqr/dqr.json)\" = 'root:dqr 640' ]"
rcheck "the man page is installed" 'test -s /usr/share/man/man1/dqr.1.gz'

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd /
# setpriv execs dqr itself (runuser would stand between, and end it on
# SIGHUP), with the user, groups and bare environment the unit gives it;
# chroot execs too, so $! is dqr's pid either way (a shell function here
# would put a subshell in between).
if [ -n "$ROOT" ]; then set -- chroot "$ROOT"; else set --; fi
"$@" env -i PATH=/usr/bin:/bin HOME=/var/lib/dqr DQR_HTTP_PORT="$port" DQR_DICOM_PORT="$dport" \
    setpriv --reuid=dqr --regid=dqr --init-groups -- /usr/bin/dqr serve --config /etc/dqr/dqr.json \
    >"$DEB/serve.log" 2>&1 &
srv=$!
health=""
for _ in $(seq 1 100); do
    health=$(curl -s "http://127.0.0.1:$port/api/v1/health" 2>/dev/null) && [ -n "$health" ] && break
    sleep 0.1
done
if echo "$health" | grep -q '"status":"ok"'; then ok "dqr serve as dqr answers /api/v1/health"; else
    bad "dqr serve as dqr answers /api/v1/health" "$health $(tail -5 "$DEB/serve.log")"; fi
rcheck "the catalog is in /var/lib/dqr, the dqr user's" '[ "$(stat -c %U /var/lib/dqr/catalog.db)" = dqr ]'
rcheck "the vault key is in /var/lib/dqr-keys, mode 0600" '[ "$(stat -c "%U %a" /var/lib/dqr-keys/vault.key)" = "dqr 600" ]'
rcheck "no log file: the log goes to standard error (the journal)" '! test -e /var/lib/dqr/logs/dqr.log'
check "the log on standard error has the start" grep -q "event=start" "$DEB/serve.log"
kill -HUP "$srv"
sleep 1
check "SIGHUP (systemctl reload) keeps it serving and logs the reload" sh -c 'kill -0 "$0" && grep -q "event=reload " "$1"' "$srv" "$DEB/serve.log"
kill "$srv"; wait "$srv"; rc=$?; srv=""
check "SIGTERM stops it with 0" test "$rc" -eq 0

if in_root dpkg --purge dqr >"$DEB/purge.log" 2>&1; then ok "dpkg --purge removes it"; else
    bad "dpkg --purge removes it" "$(cat "$DEB/purge.log")"; fi
rcheck "purge removed /etc/dqr, /var/lib/dqr and /var/lib/dqr-keys" '! test -e /etc/dqr && ! test -e /var/lib/dqr && ! test -e /var/lib/dqr-keys'
rcheck "purge removed /usr/bin/dqr" '! test -e /usr/bin/dqr'
echo "     (whole test in $(($(date +%s) - start)) s)"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
