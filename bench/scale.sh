#!/bin/sh
# Benchmark: the archive's catalog growing to INSTANCES instance rows in
# SESSIONS sessions (default 1,000,000 in 10,000), on SQLite and on
# PostgreSQL, through bench/scale.py: rows/s per 10 % slice, p95 of archive
# browsing, import list and history pages as it grows, a real import
# through Orthanc and the receiver before and after (and paired against a
# twin catalog of 50,000 rows), the scheduler's pass
# over 10,000 queued sessions (env QUEUED), dqr fsck over it all.
# Not part of ctest. Runs under nice. Usage:
#   bench/scale.sh [INSTANCES] [SESSIONS] [sqlite|postgres|both] [WORKDIR]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
instances=${1:-1000000} sessions=${2:-10000} backends=${3:-both} work=${4:-$root/bench/out/scale}
dqr=${DQR:-$root/build/dqr}
[ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
[ "$backends" = both ] && backends="sqlite postgres"
export TCP_NODELAY=1
for b in $backends; do
    rm -rf "$work/$b"
    echo "== $b: $instances instances in $sessions sessions"
    nice -n 10 /usr/bin/python3 "$root/bench/scale.py" "$dqr" "$work/$b" "$b" "$instances" "$sessions"
done
