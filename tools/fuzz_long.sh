#!/bin/sh
# Long fuzzing outside CI (issue #15 item 6): run one fuzz target for
# SECONDS from its seeds plus the committed corpus (tests/fuzz/corpus/TARGET),
# then merge into that corpus only the inputs that add coverage (libFuzzer
# -merge=1), so the CI smoke starts from what the long run found.
# Usage: tools/fuzz_long.sh FUZZER_BINARY TARGET KIND SECONDS WORKDIR
#   KIND as run_fuzz.sh takes it (part10, script, pdu, json, pixel_rules,
#   multipart, dimse, csv, config).
# Prints the run's stats; exit 1 when the fuzzer found a crash (the
# reproducer is in WORKDIR/artifacts).
set -eu
fuzzer=$1 target=$2 kind=$3 seconds=$4 work=$5
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=$here/tests/fuzz/corpus/$target
mkdir -p "$corpus" "$work/run" "$work/artifacts"
case $kind in
    script) seeds=$here/tests/fuzz/script-seeds ;;
    pdu) seeds=$here/tests/fuzz/pdu-seeds ;;
    json) seeds=$here/tests/fuzz/json-seeds ;;
    pixel_rules) seeds=$here/tests/fuzz/pixel-rules-seeds ;;
    multipart | dimse | csv | config) seeds=$here/tests/fuzz/$kind-seeds ;;
    *) seeds=$here/tests/fuzz/seeds ;;
esac
[ -d "$seeds" ] && cp "$seeds"/* "$work/run/" 2>/dev/null || true
cp "$corpus"/* "$work/run/" 2>/dev/null || true
[ "$kind" = part10 ] && find /usr/lib/python3/dist-packages/pydicom/data/test_files -type f -size -64k 2>/dev/null |
    while read -r f; do cp "$f" "$work/run/$(echo "$f" | md5sum | cut -c1-16)"; done
max_len=65536
[ "$kind" = part10 ] || max_len=4096
start=$(date +%s)
rc=0
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/run" >"$work/fuzz.log" 2>&1 || rc=$?
end=$(date +%s)
before=$(ls "$corpus" | wc -l)
# keep in the committed corpus only what adds coverage to the seeds and to
# it: merge the run into a copy of both, then take the files that are new
base=$work/merge && rm -rf "$base" && mkdir -p "$base"
[ -d "$seeds" ] && cp "$seeds"/* "$base/" 2>/dev/null || true
[ "$kind" = part10 ] && find /usr/lib/python3/dist-packages/pydicom/data/test_files -type f -size -64k 2>/dev/null |
    while read -r f; do cp "$f" "$base/$(echo "$f" | md5sum | cut -c1-16)"; done
cp "$corpus"/* "$base/" 2>/dev/null || true
ls "$base" >"$work/base.list"
"$fuzzer" -merge=1 -max_len=$max_len "$base" "$work/run" >"$work/merge.log" 2>&1 || true
ls "$base" | grep -vxF -f "$work/base.list" | while read -r f; do cp "$base/$f" "$corpus/"; done
after=$(ls "$corpus" | wc -l)
execs=$(grep -o "stat::number_of_executed_units: [0-9]*" "$work/fuzz.log" | tail -1 | awk '{print $2}')
cov=$(grep -o "cov: [0-9]*" "$work/fuzz.log" | tail -1 | awk '{print $2}')
echo "fuzz_long: $target $((end - start)) s, ${execs:-?} executions, cov ${cov:-?}, corpus $before -> $after," \
     "crash: $([ $rc -eq 0 ] && echo none || echo "yes (exit $rc, see $work/artifacts)")"
exit $([ $rc -eq 0 ] && echo 0 || echo 1)
