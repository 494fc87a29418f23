#!/bin/sh
# Peak memory on a 1 GiB multi-frame file: `dqr dump`, `dqr dump --json`,
# a rewrite in the same syntax and a rewrite to big endian must each stay
# under 64 MiB resident, and the rewrites must be correct.
# Usage: large_file.sh DQR WORKDIR [FRAMES]   (FRAMES=2048 -> 1 GiB of 512x512x16-bit)
set -eu
dqr=$1 work=$2 frames=${3:-2048}
here=$(cd "$(dirname "$0")" && pwd)
limit_kb=$((64 * 1024))
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/../../tools/gen_studies.py" "$work/in" --instances 1 --frames "$frames" >/dev/null
big=$work/in/p000/st00/se00/im0000.dcm
echo "input: $(du -h "$big" | cut -f1) ($frames frames of 512x512x16-bit)"
pass=0 fail=0

measure() { # NAME COMMAND...
    name=$1; shift
    if /usr/bin/time -f "%M %e" -o "$work/time" "$@" >"$work/out" 2>"$work/err"; then
        set -- $(cat "$work/time")
        if [ "$1" -lt "$limit_kb" ]; then
            pass=$((pass + 1)); echo "ok   $name: peak RSS $(($1 / 1024)) MiB, $2 s"
        else
            fail=$((fail + 1)); echo "FAIL $name: peak RSS $(($1 / 1024)) MiB >= 64 MiB"
        fi
    else
        fail=$((fail + 1)); echo "FAIL $name: $(cat "$work/err")"
    fi
}

measure "dump" "$dqr" dump "$big"
measure "dump --json" "$dqr" dump --json "$big"
measure "rewrite, same syntax" "$dqr" convert "$big" "$work/same.dcm"
if cmp -s "$big" "$work/same.dcm"; then pass=$((pass + 1)); echo "ok   rewrite is byte-identical"
else fail=$((fail + 1)); echo "FAIL rewrite differs from input"; fi
rm -f "$work/same.dcm"
measure "rewrite to big endian" "$dqr" convert --ts big "$big" "$work/be.dcm"
measure "rewrite back to little endian" "$dqr" convert --ts explicit "$work/be.dcm" "$work/le.dcm"
# The meta carries dqr's implementation UID after a change of syntax:
# compare everything after it, pixel data included.
dataset_offset() { echo $((144 + $(od -An -tu4 -j140 -N4 "$1"))); }
if cmp -s -i "$(dataset_offset "$big"):$(dataset_offset "$work/le.dcm")" "$big" "$work/le.dcm"; then
    pass=$((pass + 1)); echo "ok   LE -> BE -> LE gives every dataset byte back"
else
    fail=$((fail + 1)); echo "FAIL LE -> BE -> LE changed the dataset"
fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
