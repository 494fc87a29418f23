#!/bin/sh
# Benchmark: blank two regions in 1,000 native 640x480 8-bit US frames (1,000
# single-frame files, generated here) with
#   dqr anonymize --script (alterPixels, the pixels filled as each file is written),
#   the same with --jobs 1 (one core, like the Python script),
#   a pydicom script doing it the way CTP's DicomPixelAnonymizer does it
#     (read the file, take the pixels, blank the rectangles, put them back, write).
# Neither syncs its output (dqr with --no-sync). What each writes goes to a
# tmpfs (a folder under /dev/shm made here, removed at the end) so that the
# tools are measured, not the disk: written to disk, each run left ~300 MB of
# dirty page cache whose writeback throttled the next run (13.8x, then 3.1x a
# minute later). Before the rounds, sync (what the data generation wrote);
# no cache is dropped. The three commands alternate over ROUNDS rounds (after
# one warm-up round), the output folder emptied before each command; the
# medians, each round's ratio and the load average are printed and written to
# WORKDIR/alter_pixels.md. If /dev/shm is missing or too small, the output goes
# under WORKDIR and the report says so.
# Usage: bench/alter_pixels.sh [N_FILES] [WORKDIR]   (ROUNDS=7 by default)
set -eu
n=${1:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-$root/bench/out}
dqr=${DQR:-$root/build/dqr}
[ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
data=$work/alter-data
mkdir -p "$work"
if [ "$(cat "$data.count" 2>/dev/null)" != "$n" ]; then
    rm -rf "$data" && mkdir -p "$data"
    /usr/bin/python3 - "$data" "$n" <<'PY'
import sys
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid
out, n = sys.argv[1], int(sys.argv[2])
y, x = np.mgrid[0:480, 0:640]
study = generate_uid()
for i in range(n):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, study + ".1"
    ds.PatientName, ds.PatientID, ds.Modality = "BENCH^US", "B-1", "US"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 480, 640, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    ds.PixelData = ((x + y + i) % 251).astype(np.uint8).tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(f"{out}/us{i:05d}.dcm", write_like_original=False)
PY
    echo "$n" >"$data.count"
fi
cat >"$work/alter.das" <<'DAS'
version "6.3"
alterPixels["rectangle", "l=0, t=0, r=639, b=39", "solid", "v=0"]
alterPixels["rectangle", "l=440, t=440, r=639, b=479", "solid", "v=0"]
DAS
cat >"$work/blank.py" <<'PY'
# CTP-style region blanking with pydicom: for each file, the pixels, the rectangles, the file.
import os, sys
import pydicom
src, dst = sys.argv[1], sys.argv[2]
regions = [(0, 0, 640, 40), (440, 440, 200, 40)]  # CTP's (x, y, w, h)
os.makedirs(dst, exist_ok=True)
for name in sorted(os.listdir(src)):
    ds = pydicom.dcmread(os.path.join(src, name))
    a = ds.pixel_array.copy()
    for x, y, w, h in regions:
        a[y:y + h, x:x + w] = 0
    ds.PixelData = a.tobytes()
    ds.BurnedInAnnotation = "NO"
    ds.save_as(os.path.join(dst, name))
PY
head -c 32 /dev/urandom >"$work/secret" && chmod 600 "$work/secret"
rounds=${ROUNDS:-7}
data_kb=$(du -sk "$data" | cut -f1)
shm_kb=$(df -Pk /dev/shm 2>/dev/null | awk 'NR == 2 { print $4 }')
if [ -n "$shm_kb" ] && [ "$shm_kb" -gt $((data_kb * 2)) ]; then
    out_root=$(mktemp -d /dev/shm/dqr-alter-bench.XXXXXX)
    where="tmpfs ($out_root)"
else
    out_root=$work/alter-out-root
    rm -rf "$out_root" && mkdir -p "$out_root"
    where="DISK ($out_root): /dev/shm has ${shm_kb:-no} KB free for ${data_kb} KB of output; runs include writeback"
fi
trap 'rm -rf "$out_root"' EXIT
trap 'exit 1' INT TERM
out=$out_root/out
echo "bench: $(find "$data" -name '*.dcm' | wc -l) files, $(du -sh "$data" | cut -f1); output on $where"

# name|command, in the order they alternate
cmds="dqr anonymize (alterPixels, 2 workers)|$dqr anonymize -q --no-sync --uid-secret $work/secret --script $work/alter.das $data $out
dqr anonymize --jobs 1 (alterPixels)|$dqr anonymize -q --no-sync --jobs 1 --uid-secret $work/secret --script $work/alter.das $data $out
pydicom region blanking (CTP-style)|/usr/bin/python3 $work/blank.py $data $out"

# run_one COMMAND: seconds it took, the output folder emptied before
run_one() {
    rm -rf "$out"
    t0=$(date +%s%N)
    sh -c "$1" </dev/null >/dev/null || { echo "bench: failed: $1" >&2; exit 1; }
    t1=$(date +%s%N)
    echo "$t0 $t1" | awk '{ printf "%.3f", ($2 - $1) / 1e9 }'
}

sync
times=$work/alter_pixels.times
: >"$times"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
r=0
while [ $r -le "$rounds" ]; do # round 0 is the warm-up, not recorded
    i=0
    while IFS='|' read -r name cmd; do # a here-document: the loop runs in this shell
        i=$((i + 1))
        s=$(run_one "$cmd") || exit 1
        [ $r -eq 0 ] || echo "$r $i $s" >>"$times"
    done <<EOF
$cmds
EOF
    [ $r -eq 0 ] || echo "round $r: $(awk -v r=$r '$1 == r { printf "%s ", $3 }' "$times")s (load $(cut -d' ' -f1 /proc/loadavg))"
    r=$((r + 1))
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# medians per command, and per round pydicom / dqr, median of those
report=$work/alter_pixels.md
{
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $rounds rounds after a warm-up, output on $where;"
    echo "load average $load_start at the start, $load_end at the end."
    echo
    echo "| command | median | min | max |"
    echo "|---|---:|---:|---:|"
    i=0
    echo "$cmds" | while IFS='|' read -r name cmd; do
        i=$((i + 1))
        awk -v i=$i '$2 == i { print $3 }' "$times" | sort -n | awk -v name="$name" '
            { v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                                 printf "| %s | %.3f s | %.3f s | %.3f s |\n", name, m, v[1], v[NR] }'
    done
    echo
    for d in 1 2; do
        awk -v d=$d '{ t[$1, $2] = $3; if ($1 > n) n = $1 }
            END { for (r = 1; r <= n; r++) print t[r, 3] / t[r, d] }' "$times" | sort -n | awk -v d=$d '
            { v[NR] = $1; all = all sprintf("%.1f ", $1) }
            END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
                  printf "pydicom / %s, per round (sorted): %s-> median **%.1fx**\n\n",
                         d == 1 ? "dqr (2 workers)" : "dqr --jobs 1", all, m }'
    done
} >"$report"
cat "$report"
