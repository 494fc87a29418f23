#!/bin/sh
# Fuzz smoke: run a fuzzer for SECONDS from its seed corpus: for part10,
# small DICOM files (the repo's seeds and pydicom's test files, if
# installed); for script, the repo's DicomEdit scripts; for pdu, A-ASSOCIATE
# bodies and a DIMSE command; for json, REST request bodies; for
# pixel_rules, CTP pixel-cleaning rule files; for multipart, dimse, csv
# and config, the WADO-RS bodies, PACS answers to C-FIND/C-MOVE, bulk-import
# CSVs and settings files in the folder of that name + -seeds.
# Fails on any crash, leak, sanitizer report or timeout the fuzzer finds.
# The mutations follow a fixed seed (FUZZ_SEED, default 1) for a fixed
# number of inputs (FUZZ_RUNS, default 50000; SECONDS is only a cap), so a
# CI run is repeatable on any machine: the same code and seeds explore the
# same inputs, and a failure is the code's, not the dice's or the clock's. tools/fuzz_long.sh explores with
# random seeds for hours; what it finds is committed under corpus/.
# Usage: run_fuzz.sh FUZZER WORKDIR [SECONDS] [part10|script|pdu|json|pixel_rules|multipart|dimse|csv|config]
set -eu
fuzzer=$1 work=$2 seconds=${3:-60} kind=${4:-part10}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
case $kind in
    script) cp "$here"/script-seeds/* "$work/corpus/" ;;
    pdu) cp "$here"/pdu-seeds/* "$work/corpus/" ;;
    json) cp "$here"/json-seeds/* "$work/corpus/" ;;
    pixel_rules) cp "$here"/pixel-rules-seeds/* "$work/corpus/" ;;
    multipart | dimse | csv | config) cp "$here"/$kind-seeds/* "$work/corpus/" ;;
    *) cp "$here"/seeds/* "$work/corpus/" ;;
esac
# and what the long runs found (tools/fuzz_long.sh), by target name
target=$(basename "$fuzzer" | sed 's/^fuzz_//')
[ -d "$here/corpus/$target" ] && cp "$here/corpus/$target"/* "$work/corpus/" 2>/dev/null || true
[ "$kind" = part10 ] && for d in /usr/lib/python3/dist-packages/pydicom/data/test_files /usr/lib/python3/dist-packages/pydicom/data/charset_files; do
    [ -d "$d" ] || continue
    find "$d" -type f -size -64k | while read -r f; do
        cp "$f" "$work/corpus/$(echo "$f" | md5sum | cut -c1-16)"
    done
done
echo "fuzz: $(ls "$work/corpus" | wc -l) seeds, ${seconds}s"
max_len=65536
[ "$kind" = part10 ] || max_len=4096
"$fuzzer" -seed="${FUZZ_SEED:-1}" -runs="${FUZZ_RUNS:-50000}" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=$max_len \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" 2>"$work/fuzz.log" || {
    tail -40 "$work/fuzz.log"
    echo "fuzz: FAILED, reproducer in $work/artifacts/"
    exit 1
}
grep -E "stat::number_of_executed_units|cov:" "$work/fuzz.log" | tail -2
echo "fuzz: no crash (seed ${FUZZ_SEED:-1}, at most ${FUZZ_RUNS:-50000} inputs or ${seconds}s)"
