#!/bin/sh
# Benchmark: blank two regions in 1,000 native 640x480 8-bit US frames (1,000
# single-frame files, generated here) with
#   dqr anonymize --script (alterPixels, the pixels filled as each file is written),
#   the same with --jobs 1 (one core, like the Python script),
#   a pydicom script doing it the way CTP's DicomPixelAnonymizer does it
#     (read the file, take the pixels, blank the rectangles, put them back, write),
# in one run with hyperfine (the output folder removed before each run). Neither
# syncs its output (dqr with --no-sync). Usage: bench/alter_pixels.sh [N_FILES] [WORKDIR]
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
out=$work/alter-out
echo "bench: $(find "$data" -name '*.dcm' | wc -l) files, $(du -sh "$data" | cut -f1)"
hyperfine --warmup 1 --runs 3 --prepare "rm -rf $out" --export-markdown "$work/alter_pixels.md" \
    -n "dqr anonymize (alterPixels)" "$dqr anonymize -q --no-sync --uid-secret $work/secret --script $work/alter.das $data $out" \
    -n "dqr anonymize --jobs 1 (alterPixels)" "$dqr anonymize -q --no-sync --jobs 1 --uid-secret $work/secret --script $work/alter.das $data $out" \
    -n "pydicom region blanking (CTP-style)" "/usr/bin/python3 $work/blank.py $data $out"
cat "$work/alter_pixels.md"
