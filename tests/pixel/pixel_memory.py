#!/usr/bin/python3
"""Memory of the pixel layer: decoding every frame of a 200 MiB multi-frame
file (native, and RLE) must peak under 32 MiB, since frames are decoded one
at a time (docs/pixel.md, "Memory"); and so must `dqr anonymize` with an
alterPixels script on the same files (decode, fill, encode frame by frame
while the file is written), when DQR is given.

Usage: pixel_memory.py PX_DECODE WORKDIR [DQR]
"""
import os
import subprocess
import sys

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

FRAMES, SIDE, LIMIT_KIB = 400, 512, 32 * 1024


def write(path, ts, frames_bytes):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ts
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", ds.file_meta.MediaStorageSOPInstanceUID
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.Rows = ds.Columns = SIDE
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.NumberOfFrames = FRAMES
    ds.PixelData = frames_bytes
    ds.save_as(path, write_like_original=False)


def rle_frame(frame):
    """One 16-bit frame as RLE: two segments (high, low bytes) of literal runs."""
    segs = []
    for plane in (frame >> 8, frame & 0xFF):
        raw = plane.astype(np.uint8).tobytes()
        out = bytearray()
        for r in range(0, len(raw), SIDE):
            row = raw[r:r + SIDE]
            for i in range(0, len(row), 128):
                chunk = row[i:i + 128]
                out += bytes([len(chunk) - 1]) + chunk
        if len(out) % 2:
            out.append(0x80)
        segs.append(bytes(out))
    header = (2).to_bytes(4, "little") + (64).to_bytes(4, "little") + \
        (64 + len(segs[0])).to_bytes(4, "little") + bytes(52)
    return header + segs[0] + segs[1]


def peak_kib(px_decode, path, argv=None):
    """Peak RSS of px_decode (or of argv), measured by /usr/bin/time: our own
    rusage of children would count the fork of this large Python process."""
    with open(os.devnull, "wb") as null:
        r = subprocess.run(["/usr/bin/time", "-f", "%M"] + (argv or [px_decode, path]), stdout=null,
                           stderr=subprocess.PIPE)
    err = r.stderr.decode(errors="replace").strip().splitlines()
    if r.returncode or not err:
        raise SystemExit("FAIL %s: %s" % (path, " ".join(err)))
    return int(err[-1])


def main():
    px_decode, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    frame = (np.arange(SIDE * SIDE, dtype=np.uint32) % 4096).astype(np.uint16).reshape(SIDE, SIDE)
    native = os.path.join(work, "big_native.dcm")
    write(native, ExplicitVRLittleEndian, np.tile(frame.ravel(), FRAMES).tobytes())
    rle = os.path.join(work, "big_rle.dcm")
    one = rle_frame(frame)
    write(rle, RLELossless, encapsulate([one] * FRAMES, has_bot=False))
    failed = runs = 0
    dqr = sys.argv[3] if len(sys.argv) > 3 else None
    script = os.path.join(work, "alter.das")
    open(script, "w").write('version "6.3"\nalterPixels["rectangle", "l=0, t=0, r=512, b=40", "solid", "v=0"]\n')
    secret = os.path.join(work, "uid-secret")
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
        f.write(os.urandom(32))
    for path in (native, rle):
        jobs = [("decode", None)]
        if dqr:
            out = path + ".out"
            jobs.append(("dqr anonymize alterPixels", [dqr, "anonymize", "-q", "--no-sync", "--uid-secret", secret,
                                                       "--script", script, path, out]))
        for what, argv in jobs:
            kib = peak_kib(px_decode, path, argv)
            ok = kib < LIMIT_KIB
            if argv:  # the cleaned file is all there: it decodes, every frame, and says it was cleaned
                peak_kib(px_decode, out)
                ds = pydicom.dcmread(out, stop_before_pixels=True)
                ok = ok and ds.BurnedInAnnotation == "NO"
                os.remove(out)
            failed += not ok
            runs += 1
            print(("ok   " if ok else "FAIL ") + "%s %s (%d MiB): peak %d KiB, limit %d KiB"
                  % (what, os.path.basename(path), os.path.getsize(path) >> 20, kib, LIMIT_KIB))
        os.remove(path)
    print("%d passed, %d failed" % (runs - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
