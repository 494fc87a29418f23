#!/bin/sh
# Benchmark: the CSV import preview (POST /api/v1/imports/csv/preview) of
# ROWS rows against Orthanc holding STUDIES studies, by Accession Number and
# by Patient ID + Study Date, ROUNDS times, through bench/csv_preview.py
# (which fills Orthanc first and times it). THREADS is the PACS window's
# threads (default 4); PEER=quirky asks the project's quirky_scp instead of
# Orthanc (the same studies, matched in memory); KEEP=1 reuses the peer's
# studies from the last run in WORKDIR. Not part of ctest. Runs under nice. Usage:
#   bench/csv_preview.sh [STUDIES] [ROWS[,ROWS...]] [ROUNDS] [WORKDIR]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
studies=${1:-10000} rows=${2:-10000} rounds=${3:-1} work=${4:-$root/bench/out/csv_preview}
dqr=${DQR:-$root/build/dqr}
export QUIRKY=${QUIRKY:-$root/build/tests/quirky_scp}
[ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
nice -n 10 /usr/bin/python3 "$root/bench/csv_preview.py" "$dqr" "$work" "$studies" "$rows" "$rounds"
