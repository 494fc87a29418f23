#!/bin/sh
# Benchmark: dqr's DICOMweb server vs Orthanc's DICOMweb plugin on localhost
# (bench/dicomweb.py says what is measured): STOW-RS of a study vs C-STORE
# into `dqr listen`, WADO-RS of the whole study, QIDO-RS p50/p95 on many
# studies. Runs under nice -n 10.
# Usage: bench/dicomweb.sh [N_INSTANCES] [STUDIES] [ORTHANC_STUDIES] [WORKDIR]
#        (defaults: 1000, 10000, 10000, bench/out)
# ONLY=wado: the WADO-RS part alone; DQR_BASE=PATH: another build of dqr
# measured in the same rounds (old/new); ROUNDS=N: WADO-RS runs (default 9).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
dqr=${DQR:-$root/build/dqr}
[ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
exec nice -n 10 /usr/bin/python3 "$root/bench/dicomweb.py" "$dqr" "${4:-$root/bench/out}" "${1:-1000}" \
    "${2:-10000}" "${3:-${2:-10000}}"
