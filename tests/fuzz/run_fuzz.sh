#!/bin/sh
# Fuzz smoke: run the Part 10 fuzzer for SECONDS from a seed corpus of small
# DICOM files (pydicom's test files, if installed, and the repo's seeds).
# Fails on any crash, leak, sanitizer report or timeout the fuzzer finds.
set -eu
fuzzer=$1 work=$2 seconds=${3:-60}
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work" && mkdir -p "$work/corpus" "$work/artifacts"
cp "$here"/seeds/* "$work/corpus/" 2>/dev/null || true
for d in /usr/lib/python3/dist-packages/pydicom/data/test_files /usr/lib/python3/dist-packages/pydicom/data/charset_files; do
    [ -d "$d" ] || continue
    find "$d" -type f -size -64k | while read -r f; do
        cp "$f" "$work/corpus/$(echo "$f" | md5sum | cut -c1-16)"
    done
done
echo "fuzz: $(ls "$work/corpus" | wc -l) seeds, ${seconds}s"
"$fuzzer" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$work/corpus" 2>"$work/fuzz.log" || {
    tail -40 "$work/fuzz.log"
    echo "fuzz: FAILED, reproducer in $work/artifacts/"
    exit 1
}
grep -E "stat::number_of_executed_units|cov:" "$work/fuzz.log" | tail -2
echo "fuzz: no crash in ${seconds}s"
