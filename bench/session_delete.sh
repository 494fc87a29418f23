#!/bin/sh
# Benchmark: one DELETE of a whole archive session on PostgreSQL, the
# catalog of BEFORE_DQR against AFTER_DQR (migration 19's statement
# triggers against migration 18's row triggers: build an earlier commit
# into another folder), then single-row upserts on both; bench/
# session_delete.py says what is measured. Not part of ctest. Runs under
# nice. Usage:
#   bench/session_delete.sh BEFORE_DQR [AFTER_DQR] [ROUNDS] [BIG_ROUNDS] [SIZES] [WORKDIR]
#   (defaults: build/dqr, 5 rounds, 1 round at 100,000 rows and more, sizes "1000 10000 100000")
# With row triggers, one 100,000-row DELETE takes minutes: BIG_ROUNDS 1
# keeps the default run near 5 minutes.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
before=${1:?usage: session_delete.sh BEFORE_DQR [AFTER_DQR] [ROUNDS] [BIG_ROUNDS] [SIZES] [WORKDIR]}
after=${2:-$root/build/dqr}
work=${6:-$root/bench/out/session_delete}
rm -rf "$work"
# shellcheck disable=SC2086
exec nice -n 10 /usr/bin/python3 "$root/bench/session_delete.py" "$before" "$after" "$work" "${3:-5}" "${4:-1}" \
    ${5:-1000 10000 100000}
