#!/usr/bin/python3
"""Memory of the pixel layer: decoding every frame of a 200 MiB multi-frame
file (native, and RLE) must peak under 32 MiB, since frames are decoded one
at a time (docs/pixel.md, "Memory").

Usage: pixel_memory.py PX_DECODE WORKDIR
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


def peak_kib(px_decode, path):
    """Peak RSS of px_decode, measured by /usr/bin/time: our own rusage of
    children would count the fork of this large Python process."""
    with open(os.devnull, "wb") as null:
        r = subprocess.run(["/usr/bin/time", "-f", "%M", px_decode, path], stdout=null,
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
    failed = 0
    for path in (native, rle):
        kib = peak_kib(px_decode, path)
        ok = kib < LIMIT_KIB
        failed += not ok
        print(("ok   " if ok else "FAIL ") + "%s (%d MiB): peak %d KiB, limit %d KiB"
              % (os.path.basename(path), os.path.getsize(path) >> 20, kib, LIMIT_KIB))
        os.remove(path)
    print("%d passed, %d failed" % (2 - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
