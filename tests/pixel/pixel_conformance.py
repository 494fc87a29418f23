#!/usr/bin/python3
"""Conformance of the pixel layer: every frame dqr decodes equals the
reference decoding, sample for sample.

Usage: pixel_conformance.py PX_DECODE WORKDIR [DIR...]
Default DIRs: the test_files and charset_files of Debian's python3-pydicom.

For every file with Pixel Data:
  * the reference is pydicom's pixel_array where its Debian handlers (numpy,
    RLE) decode the file; else DCMTK's dcmdjpeg / dcmdjpls or GDCM's
    `gdcmconv --raw` turn it native and pydicom reads that;
  * px_decode (tests/pixel/px_decode.c) must give the same samples (masked
    to Bits Stored, sign-extended), colour converted to RGB where one side
    did and the other did not (lossy YBR: within 2 of each other);
  * px_decode exit 3 (unsupported transfer syntax or layout) is counted,
    not failed, except for what dqr must decode (must_decode: 12-bit JPEG
    Extended, decoded with GDCM's 12-bit IJG build); any other failure
    where a reference exists fails.

pydicom's files hold one JPEG Lossless image (8-bit RGB) and one JPEG-LS
image, so DCMTK's dcmcjpeg / dcmcjpls also make variants of its native
files (16-bit signed and unsigned, every predictor, multi-frame colour;
12-bit JPEG Extended grey and colour) in WORKDIR/generated, which are
checked the same way.

Every file that decodes equal is also encoded by px_rle_encode (px_decode
--rle) and the result decoded by pydicom's own RLE handler, which must give
the same samples back: the encoder checked by a decoder that is not ours.

Prints one line per file, the counts "equal / differ / unsupported", and
"N passed, N failed".
"""
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
from pydicom.encaps import encapsulate
from pydicom.uid import RLELossless
import pydicom
from pydicom.pixel_data_handlers.util import convert_color_space

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import harness  # noqa: E402

warnings.simplefilter("ignore")
JPEG_LS = {"1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"}
LOSSY = {"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.81",
         "1.2.840.10008.1.2.4.91"}
# dqr decodes these differently from every reference at hand, on purpose.
KNOWN = {
    "MR_truncated.dcm": "Pixel Data shorter than its length: the codec refuses truncated values",
    "SC_rgb_jpeg_lossy_gdcm.dcm": "labelled RGB but a 4:2:0 subsampled JPEG, so YCbCr: dqr converts "
                                  "it (clean primaries), DCMTK and GDCM keep it as RGB",
}
counts = {"rle re-encoded equal": 0, "equal": 0, "12-bit JPEG equal": 0, "differ": 0, "unsupported": 0,
          "no reference": 0}


def must_decode(ds):
    """JPEG Extended with more than 8 bits: no reference pydicom handler on
    Debian decodes it (Pillow is 8-bit), dcmdjpeg does; dqr must too, so
    'unsupported' here is a failure, not a count."""
    ts = str(ds.file_meta.get('TransferSyntaxUID', ''))
    return ts == "1.2.840.10008.1.2.4.51" and int(ds.get("BitsStored", 8)) > 8


def converted(path, ts, work):
    """A native copy of path made by DCMTK or GDCM, or None."""
    out = os.path.join(work, os.path.basename(path) + ".native.dcm")
    if ts in JPEG_LS:
        tools = [["dcmdjpls", path, out]]
    elif ts.startswith("1.2.840.10008.1.2.4.5") or ts.startswith("1.2.840.10008.1.2.4.7"):
        tools = [["dcmdjpeg", path, out]]
    else:
        tools = []
    tools.append(["gdcmconv", "--raw", path, out])
    for argv in tools:
        if shutil.which(argv[0]) and subprocess.run(argv, capture_output=True).returncode == 0:
            return out
    return None


def reference(path, ds, work):
    """(samples as int64 array (frames, rows, cols, spp), photometric) or None."""
    try:
        arr, src = ds.pixel_array, ds
    except Exception:
        native = converted(path, str(ds.file_meta.get('TransferSyntaxUID', '')), work)
        if not native:
            return None
        try:
            src = pydicom.dcmread(native)
            arr = src.pixel_array
        except Exception:
            return None
    spp = int(src.get("SamplesPerPixel", 1))
    frames = int(src.get("NumberOfFrames", 1) or 1)
    arr = arr.astype(np.int64).reshape(frames, int(src.Rows), int(src.Columns), spp)
    return arr, str(src.PhotometricInterpretation), int(src.BitsStored), int(src.PixelRepresentation)


def normalize(arr, bits, signed):
    arr = arr & ((1 << bits) - 1)
    if signed:
        arr = np.where(arr >= 1 << (bits - 1), arr - (1 << bits), arr)
    return arr


def ours(px_decode, path):
    r = subprocess.run([px_decode, path], capture_output=True)
    if r.returncode != 0:
        msg = r.stderr.decode(errors="replace").strip()
        if len(msg.splitlines()) != 1 or "Sanitizer" in msg or "runtime error" in msg:
            return -1, "not one clean error line: " + msg[:300]
        return r.returncode, msg
    head, _, body = r.stdout.partition(b"\n")
    rows, cols, frames, spp, alloc, stored, signed, *pi = head.decode().split()
    dtype = {8: "u1", 16: "<u2", 32: "<u4"}[int(alloc)]
    arr = np.frombuffer(body, dtype=dtype).astype(np.int64)
    arr = arr.reshape(int(frames), int(rows), int(cols), int(spp))
    return 0, (normalize(arr, int(stored), signed == "1"), " ".join(pi))


def rle_reencoded(px_decode, path, ds, arr, pi):
    """Our RLE encoding of each frame, decoded by pydicom, equals arr."""
    r = subprocess.run([px_decode, "--rle", path], capture_output=True)
    if r.returncode != 0:
        return False, "px_rle_encode failed: " + r.stderr.decode(errors="replace").strip()
    head, _, body = r.stdout.partition(b"\n")
    frames = []
    while body:
        n = int.from_bytes(body[:4], "little")
        frames.append(body[4:4 + n])
        body = body[4 + n:]
    alloc, stored, signed = (int(x) for x in head.split()[4:7])
    enc = pydicom.Dataset()
    enc.file_meta = pydicom.dataset.FileMetaDataset()
    enc.file_meta.TransferSyntaxUID = RLELossless
    enc.is_little_endian, enc.is_implicit_VR = True, False
    enc.Rows, enc.Columns = arr.shape[1], arr.shape[2]
    enc.SamplesPerPixel, enc.NumberOfFrames = arr.shape[3], arr.shape[0]
    enc.BitsAllocated, enc.BitsStored, enc.HighBit = alloc, stored, stored - 1
    enc.PixelRepresentation, enc.PlanarConfiguration = signed, 0
    enc.PhotometricInterpretation = pi
    enc.PixelData = encapsulate(frames)
    back = enc.pixel_array.astype(np.int64).reshape(arr.shape)
    if not np.array_equal(normalize(back, stored, bool(signed)), arr):
        return False, "px_rle_encode output decodes differently in pydicom"
    counts["rle re-encoded equal"] += 1
    return True, ""


def to_rgb(arr, pi):
    if pi.startswith("YBR"):
        return convert_color_space(arr.astype(np.uint8), "YBR_FULL", "RGB").astype(np.int64)
    return arr


def check(px_decode, work, path):
    try:
        ds = pydicom.dcmread(path)
    except Exception:
        return None, ""
    if "PixelData" not in ds or "FloatPixelData" in ds:
        return None, ""
    rc, got = ours(px_decode, path)
    if os.path.basename(path) in KNOWN:
        counts["known"] = counts.get("known", 0) + 1
        return rc != 3, "known: " + KNOWN[os.path.basename(path)]
    if rc == 4:
        return None, ""
    if rc == 3:
        if must_decode(ds):
            counts["differ"] += 1
            return False, "dqr must decode this 12-bit JPEG, says unsupported: " + got
        counts["unsupported"] += 1
        return True, "unsupported: " + got
    ref = reference(path, ds, work)
    if ref is None:
        counts["no reference"] += 1
        return (True, "no reference decoder; dqr: " + (got if rc else "decoded")) if rc in (0, 1) \
            else (False, got)
    if rc:
        counts["differ"] += 1
        return False, "reference decodes it, dqr fails: " + got
    arr, pi = got
    want, want_pi, bits, signed = ref
    want = normalize(want, bits, bool(signed))
    if arr.shape != want.shape:
        counts["differ"] += 1
        return False, f"shape {arr.shape} where the reference has {want.shape}"
    if (pi == "RGB") != (want_pi == "RGB") and arr.shape[3] == 3:
        arr, want = to_rgb(arr, pi), to_rgb(want, want_pi)
    # 12-bit: dcmdjpeg runs the same IJG 6b code as dqr, so nothing may differ
    lossy = str(ds.file_meta.get('TransferSyntaxUID', '')) in LOSSY and not must_decode(ds)
    tolerance = 2 if lossy else 0
    worst = int(np.abs(arr - want).max()) if arr.size else 0
    if worst > tolerance:
        counts["differ"] += 1
        return False, f"samples differ by up to {worst} ({pi} vs {want_pi})"
    counts["equal"] += 1
    if must_decode(ds):
        counts["12-bit JPEG equal"] += 1
    if arr.shape[3] == 1 or pi in ("RGB", "YBR_FULL"):
        ok, msg = rle_reencoded(px_decode, path, ds, arr, pi)
        if not ok:
            return False, msg
    return True, f"{arr.shape[0]} frame(s) {pi} equal" + (f" within {worst}" if worst else "")


# (output name, source in pydicom's test files, DCMTK command and options)
GENERATED = [("MR_small_sv%d.dcm" % sv, "MR_small.dcm", ["dcmcjpeg", "+el", "+sv", str(sv)])
             for sv in range(1, 8)] + [
    ("CT_small_sv1.dcm", "CT_small.dcm", ["dcmcjpeg", "+e1"]),
    ("SC_rgb_2frame_sv5.dcm", "SC_rgb_rle_2frame.dcm", ["dcmcjpeg", "+el", "+sv", "5"]),
    ("SC_rgb_16bit_sv1.dcm", "SC_rgb_rle_16bit.dcm", ["dcmcjpeg", "+e1"]),
    # 12-bit JPEG Extended (DCMTK scales 16-bit samples to 12; +bt makes 8-bit colour 12-bit)
    ("CT_small_e12.dcm", "CT_small.dcm", ["dcmcjpeg", "+ee"]),
    ("MR_small_e12.dcm", "MR_small.dcm", ["dcmcjpeg", "+ee"]),
    ("SC_rgb_e12.dcm", "SC_rgb_rle.dcm", ["dcmcjpeg", "+ee", "+bt"]),
    ("CT_small_jls.dcm", "CT_small.dcm", ["dcmcjpls", "+el"]),
    ("SC_rgb_2frame_jls_near.dcm", "SC_rgb_rle_2frame.dcm", ["dcmcjpls", "+en", "+md", "2"]),
    ("SC_rgb_2frame_jls_line.dcm", "SC_rgb_rle_2frame.dcm", ["dcmcjpls", "+el", "+il"]),
]


def generate(work):
    """Make the GENERATED files (those DCMTK can) in work/generated; returns the folder."""
    out = os.path.join(work, "generated")
    os.makedirs(out, exist_ok=True)
    base = harness.pydicom_data_dirs()[0]
    for name, src, argv in GENERATED:
        src = os.path.join(base, src)
        if "_rle" in src and shutil.which("dcmdrle"):  # DCMTK compresses only native input
            native = os.path.join(out, os.path.basename(src) + ".src")
            subprocess.run(["dcmdrle", src, native], capture_output=True)
            src = native
        if shutil.which(argv[0]):
            subprocess.run(argv + [src, os.path.join(out, name)], capture_output=True)
    return out


def main():
    px_decode, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    dirs = sys.argv[3:] or harness.pydicom_data_dirs() + [generate(work)]
    status = harness.run_over_files(dirs, lambda p: check(px_decode, work, p))
    print(" / ".join(f"{k} {v}" for k, v in counts.items()))
    return status


if __name__ == "__main__":
    sys.exit(main())
