#!/bin/sh
# The gateway's REST and import suites with the catalog in PostgreSQL, and
# two nodes sharing it (scale_out.py):
# starts a throwaway PostgreSQL 15 cluster (Debian's postgresql package) on
# a free localhost port, as the postgres user when run as root, then runs
# rest_api.py, import_e2e.py and security/accounts.py with DQR_CATALOG
# pointing at it. The PHI scans of those suites also read the cluster's
# files.
# Usage: postgres.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
rm -rf "$work" && mkdir -p "$work"
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -x "$bin/initdb" ] || { echo "FAIL PostgreSQL is not installed (make deps)"; echo "0 passed, 1 failed"; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres "$work"
port=$(free_port)
as_pg "$bin/initdb" -D "$work/pg" -U dqr --auth=trust -E UTF8 >"$work/initdb.log" 2>&1 || { cat "$work/initdb.log"; bad "initdb"; finish; exit 1; }
# pg_ctl starts and stops it: a signal to runuser would not reach the server
trap 'as_pg "$bin/pg_ctl" -D "$work/pg" -m fast -w stop >/dev/null 2>&1; stop_pids' EXIT
as_pg "$bin/pg_ctl" -D "$work/pg" -l "$work/postgres.log" -w \
    -o "-p $port -k $work -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null \
    || { tail -5 "$work/postgres.log"; bad "postgres did not start"; finish; exit 1; }
wait_port "$port" || { tail -5 "$work/postgres.log"; bad "postgres did not start"; finish; exit 1; }
for db in dqr dqr2 dqr3; do
    as_pg "$bin/createdb" -h 127.0.0.1 -p "$port" -U dqr "$db" || bad "createdb $db"
done
ok "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on port $port"
export DQR_CATALOG="postgresql://dqr@127.0.0.1:$port/dqr"
export DQR_TEST_SCAN_ALSO="$work/pg"
for suite in gateway/rest_api.py gateway/import_e2e.py store/scale_out.py security/accounts.py; do
    name=$(basename "$suite" .py)
    # each suite gets a clean database
    as_pg "$bin/psql" -q -h 127.0.0.1 -p "$port" -U dqr -d postgres -c "DROP DATABASE IF EXISTS dqr" -c "CREATE DATABASE dqr" \
        -c "DROP DATABASE IF EXISTS dqr2" -c "CREATE DATABASE dqr2" >/dev/null
    if /usr/bin/python3 "$here/../$suite" "$dqr" "$work/$name" >"$work/$name.out" 2>&1; then
        ok "$name on PostgreSQL: $(tail -1 "$work/$name.out")"
    else
        grep -E '^FAIL' "$work/$name.out" | head -10 >"$work/err"; tail -3 "$work/$name.out" >>"$work/err"
        bad "$name on PostgreSQL"
    fi
done
finish
