#!/bin/sh
# Benchmark: import throughput with one `dqr serve` node and with two on
# one PostgreSQL catalog and one data directory (bench/nodes.py says what
# is measured). Not part of ctest. Runs under nice. Usage:
#   bench/nodes.sh [STUDIES] [INSTANCES_PER_STUDY] [ROUNDS] [THREADS] [WORKDIR]
#   (defaults: 16 studies of 100 instances, 3 rounds, the PACS window 2 threads, bench/out/nodes)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dqr=${DQR:-$root/build/dqr}
[ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
work=${5:-$root/bench/out/nodes}
rm -rf "$work"
exec nice -n 10 /usr/bin/python3 "$root/bench/nodes.py" "$dqr" "$work" "${1:-16}" "${2:-100}" "${3:-3}" "${4:-2}"
