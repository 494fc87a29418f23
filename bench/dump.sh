#!/bin/sh
# Benchmark: `dqr dump` vs DCMTK `dcmdump` over the same 1,000 CT files
# (512x512, 16-bit, from tools/gen_studies.py), in one run, with hyperfine.
# Usage: bench/dump.sh [N_FILES] [WORKDIR]       (defaults: 1000, bench/out)
# Prints the hyperfine table and the ratios; copy them into docs/benchmarks.md.
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup dump "$@"
find "$data" -name '*.dcm' | sort >"$work/files.txt"
export DCMDICTPATH=${DCMDICTPATH:-/usr/share/libdcmtk17/dicom.dic}
hyperfine --warmup 1 --runs 5 --export-markdown "$work/dump.md" \
    -n "dcmdump, one process per file" "xargs -n1 dcmdump <$work/files.txt >/dev/null" \
    -n "dqr dump, one process per file" "xargs -n1 $dqr dump <$work/files.txt >/dev/null" \
    -n "dqr dump --json, one process per file" "xargs -n1 $dqr dump --json <$work/files.txt >/dev/null" \
    -n "dcmdump, all files in one process" "xargs dcmdump <$work/files.txt >/dev/null" \
    -n "dqr dump, all files in one process" "xargs $dqr dump <$work/files.txt >/dev/null" \
    -n "dqr dump --json, all files in one process" "xargs $dqr dump --json <$work/files.txt >/dev/null"
cat "$work/dump.md"
