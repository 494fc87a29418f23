#!/bin/sh
# Decode N JPEG Lossless (process 14 SV1) CT frames, one file each, to
# native Explicit VR Little Endian: dqr vs DCMTK dcmdjpeg vs GDCM
# gdcmconv --raw, alternating tools over ROUNDS rounds, same files, same
# machine. Each tool is run once per file (how sites use them in scripts);
# dqr with --no-sync, as the other two do not fsync either.
# Usage: bench/pixel_decode.sh [N=1000] [ROUNDS=3]
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup pixel-decode "${1:-1000}"
rounds=${2:-3}
jl=$work/pixel-decode-jl
if [ "$(cat "$jl.count" 2>/dev/null)" != "$n" ]; then
    rm -rf "$jl" && mkdir -p "$jl"
    i=0
    find "$data" -name '*.dcm' | sort | while read -r f; do
        i=$((i + 1))
        dcmcjpeg +e1 "$f" "$jl/$i.dcm"
    done
    echo "$n" >"$jl.count"
fi
echo "bench: $(ls "$jl" | wc -l) JPEG Lossless SV1 files, $(du -sh "$jl" | cut -f1)"
out=$work/pixel-decode-out
run() { # tool: seconds for all files
    rm -rf "$out" && mkdir -p "$out"
    s=$(date +%s.%N)
    for f in "$jl"/*.dcm; do
        b=$out/$(basename "$f")
        case $1 in
            dqr) "$dqr" convert "$f" "$b" --ts explicit --no-sync ;;
            dcmdjpeg) dcmdjpeg "$f" "$b" ;;
            gdcm) gdcmconv --raw "$f" "$b" ;;
        esac
    done
    e=$(date +%s.%N)
    echo "$e - $s" | bc
}
# the three decoders must agree before any time means anything
f=$(ls "$jl"/*.dcm | head -1)
"$dqr" convert "$f" "$work/pd-dqr.dcm" --ts explicit
dcmdjpeg "$f" "$work/pd-dcmtk.dcm"
/usr/bin/python3 - "$work/pd-dqr.dcm" "$work/pd-dcmtk.dcm" <<'PY'
import sys, pydicom
a, b = (pydicom.dcmread(p) for p in sys.argv[1:3])
assert a.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1", a.file_meta.TransferSyntaxUID
assert a.PixelData == b.PixelData, "dqr and dcmdjpeg decode differently"
PY
for r in $(seq "$rounds"); do
    for t in dqr dcmdjpeg gdcm; do
        s=$(run $t)
        echo "round $r $t $s" | tee -a "$work/pixel-decode-runs.txt"
    done
done
