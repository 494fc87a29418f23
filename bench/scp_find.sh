#!/bin/sh
# Benchmark: the archive's C-FIND SCP of this build vs another build (OLD_DQR,
# e.g. one from before the catalog matcher) on the same catalog of STUDIES
# one-instance studies (bench/scp_find.py says what is measured). Runs under
# nice -n 10.
# Usage: OLD_DQR=/path/to/old/dqr bench/scp_find.sh [STUDIES] [WORKDIR]
#        (defaults: 2000, bench/out-scp)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dqr=${DQR:-$root/build/dqr}
[ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
[ -x "${OLD_DQR:-}" ] || { echo "bench: set OLD_DQR to the build to compare with" >&2; exit 1; }
exec nice -n 10 /usr/bin/python3 "$root/bench/scp_find.py" "$dqr" "$OLD_DQR" "${2:-$root/bench/out-scp}" "${1:-2000}"
