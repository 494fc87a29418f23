#!/bin/sh
# The gateway's REST and import suites with the catalog in PostgreSQL, and
# two nodes sharing it (scale_out.py):
# starts a throwaway PostgreSQL 15 cluster (Debian's postgresql package) on
# a free localhost port, as the postgres user when run as root, then runs
# rest_api.py, import_e2e.py, nodes_shared.py, summary_concurrent.py
# (archive_sessions under concurrent writers), security/accounts.py, ops/backup.py (which
# restores into dqr2), scp/archive_qr.py (the archive's Q/R SCP),
# registry/returning_patients.py and dicomweb/dicomweb_rs.py with
# DQR_CATALOG pointing at it, and the catalog upgrade and summary tests of
# test_store (DQR_TEST_PG_URL). The PHI scans of those suites also read the cluster's
# files.
# Usage: postgres.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
rm -rf "$work" && mkdir -p "$work"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "FAIL PostgreSQL is not installed (make deps-test)"; echo "0 passed, 1 failed"; exit 1; }
# Run as root, the server runs as the postgres user, which may not reach
# $work (a checkout under root's 0700 home, or in a mktemp -d folder): the
# cluster, its socket and its log then live in a folder of their own under
# /tmp that the postgres user owns, removed at the end.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pgdir=$work
if [ "$(id -u)" -eq 0 ]; then
    pgdir=$(mktemp -d /tmp/dqr-pg.XXXXXX) && chown postgres "$pgdir"
fi
port=$(free_port)
(cd / && as_pg "$bin/initdb" -D "$pgdir/pg" -U dqr --auth=trust -E UTF8) >"$work/initdb.log" 2>&1 \
    || { cat "$work/initdb.log"; bad "initdb"; finish; exit 1; }
# pg_ctl starts and stops it: a signal to runuser would not reach the server
trap '(cd / && as_pg "$bin/pg_ctl" -D "$pgdir/pg" -m fast -w stop) >/dev/null 2>&1; stop_pids
      [ "$pgdir" != "$work" ] && rm -rf "$pgdir"' EXIT
(cd / && as_pg "$bin/pg_ctl" -D "$pgdir/pg" -l "$pgdir/postgres.log" -w \
    -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off" start) >/dev/null \
    || { tail -5 "$pgdir/postgres.log"; bad "postgres did not start"; finish; exit 1; }
wait_port "$port" || { tail -5 "$pgdir/postgres.log"; bad "postgres did not start"; finish; exit 1; }
for db in dqr dqr2 dqr3; do
    (cd / && as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U dqr "$db") || bad "createdb $db"
done
ok "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port"
export DQR_CATALOG="postgresql://dqr@127.0.0.1:$port/dqr"
export DQR_TEST_SCAN_ALSO="$pgdir/pg"
for suite in gateway/rest_api.py gateway/import_e2e.py store/scale_out.py store/nodes_shared.py store/summary_concurrent.py \
    security/accounts.py ops/backup.py \
    scp/archive_qr.py registry/returning_patients.py dicomweb/dicomweb_rs.py; do
    name=$(basename "$suite" .py)
    # each suite gets a clean database
    (cd / && as_pg "$bin/psql" -q -h 127.0.0.1 -p "$port" -U dqr -d postgres -c "DROP DATABASE IF EXISTS dqr" \
        -c "CREATE DATABASE dqr" -c "DROP DATABASE IF EXISTS dqr2" -c "CREATE DATABASE dqr2") >/dev/null
    if /usr/bin/python3 "$here/../$suite" "$dqr" "$work/$name" >"$work/$name.out" 2>&1; then
        ok "$name on PostgreSQL: $(tail -1 "$work/$name.out")"
    else
        grep -E '^FAIL' "$work/$name.out" | head -10 >"$work/err"; tail -3 "$work/$name.out" >>"$work/err"
        bad "$name on PostgreSQL"
    fi
done
# catalog upgrades from every earlier schema version, on PostgreSQL
units="$(dirname "$dqr")/tests/test_store"
if [ -x "$units" ]; then
    (cd / && as_pg "$bin/psql" -q -h 127.0.0.1 -p "$port" -U dqr -d postgres -c "DROP DATABASE IF EXISTS dqr_up" \
        -c "CREATE DATABASE dqr_up") >/dev/null
    if DQR_TEST_PG_URL="postgresql://dqr@127.0.0.1:$port/dqr_up" "$units" >"$work/test_store.out" 2>&1 &&
        grep -q "OK \] test_upgrade_from_every_version_pg" "$work/test_store.out"; then
        ok "catalog upgrades from every schema version on PostgreSQL"
    else
        tail -5 "$work/test_store.out" >"$work/err"
        bad "catalog upgrades from every schema version on PostgreSQL"
    fi
    # the archive summary's triggers (migration 19: statement-level deletes)
    if grep -q "OK \] test_archive_summary_pg" "$work/test_store.out"; then
        ok "archive and import summaries follow single and bulk writes on PostgreSQL"
    else
        grep -A3 "test_archive_summary_pg" "$work/test_store.out" | head -8 >"$work/err"
        bad "archive and import summaries follow single and bulk writes on PostgreSQL"
    fi
fi
finish
