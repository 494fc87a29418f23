#!/usr/bin/python3
"""dqr convert --ts between native and compressed syntaxes (issue #14
follow-up): generated instances (8-bit mono multi-frame, signed 12-bit,
16-bit, 8-bit RGB) written native -> RLE / JPEG-LS / JPEG 2000 lossless /
JPEG Lossless SV1 -> native by dqr, each compressed file decoded by a
reference decoder (pydicom for RLE, DCMTK dcmdjpls / dcmdjpeg, GDCM
gdcmconv --raw for JPEG 2000) and the round trip compared with pydicom's
pixel_array of the source; a JPEG baseline decoded by dqr equals dcmdjpeg's
decoding, stays marked lossy; lossy targets are refused; a plain
implicit/big/deflate rewrite of a compressed file decodes it.
Usage: convert_pixels.py DQR WORKDIR"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402
from peers import Checks  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
check = Checks()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
TARGETS = {"rle": "1.2.840.10008.1.2.5", "jpeg-ls": "1.2.840.10008.1.2.4.80",
           "j2k-lossless": "1.2.840.10008.1.2.4.90", "jpeg-lossless": "1.2.840.10008.1.2.4.70"}
NATIVE = {"explicit": "1.2.840.10008.1.2.1", "implicit": "1.2.840.10008.1.2", "deflate": "1.2.840.10008.1.2.1.99",
          "big": "1.2.840.10008.1.2.2"}


def make(path, bits=8, signed=False, rgb=False, frames=3, rows=64, cols=80):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    # the multi-frame secondary capture classes (GDCM refuses multi-frame in plain SC)
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7." + ("4" if rgb else "2" if bits <= 8 else "3")
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.Modality = generate_uid(), generate_uid(), "OT"
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, frames
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    alloc = 8 if bits <= 8 else 16
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = alloc, bits, bits - 1, int(signed)
    rng = np.random.default_rng(bits * 7 + signed + 3 * rgb)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    shape = (frames, rows, cols, 3) if rgb else (frames, rows, cols)
    y = np.mgrid[0:rows, 0:cols][0]
    base = (y[None, :, :, None] if rgb else y[None]) * (hi - lo) // rows + lo
    a = np.clip(base + rng.integers(-40, 40, size=shape), lo, hi)
    dt = {8: np.uint8, 16: np.uint16}[alloc] if not signed else {8: np.int8, 16: np.int16}[alloc]
    ds.PixelData = a.astype(dt).tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)
    return pydicom.dcmread(path).pixel_array


def samples(ds):
    """pixel_array with signed values sign-extended from Bits Stored: the bits above it are not part of the
    value (PS3.5 8.1.1), and JPEG Lossless coders (DCMTK's and dqr's) leave them 0."""
    a = ds.pixel_array
    if ds.PixelRepresentation == 1 and ds.BitsStored < ds.BitsAllocated:
        shift = ds.BitsAllocated - ds.BitsStored
        a = ((a.astype(np.int32) << shift).astype(np.int16) >> shift).astype(a.dtype)
    return a


def dqr(*args):
    return subprocess.run([DQR] + list(args), capture_output=True, text=True)


def reference(path, name):
    """The compressed file decoded by someone other than dqr."""
    ref = path + ".ref.dcm"
    tool = {"rle": None, "jpeg-ls": ["dcmdjpls", path, ref], "jpeg-lossless": ["dcmdjpeg", path, ref],
            "j2k-lossless": ["gdcmconv", "--raw", path, ref]}[name]
    if tool is None:
        return samples(pydicom.dcmread(path))
    subprocess.run(tool, check=True, capture_output=True)
    return samples(pydicom.dcmread(ref))


sources = {"mono8": dict(), "signed12": dict(bits=12, signed=True), "u16": dict(bits=16),
           "rgb8": dict(rgb=True)}
for sname, kw in sources.items():
    src = f"{WORK}/{sname}.dcm"
    want = make(src, **kw)
    for name, uid in TARGETS.items():
        comp = f"{WORK}/{sname}.{name}.dcm"
        r = dqr("convert", src, comp, "--ts", name)
        if kw.get("signed") and name == "jpeg-ls":
            check(f"{sname} -> {name}: refused (CharLS takes no signed samples), nothing written",
                  r.returncode == 1 and "cannot be written" in r.stderr and not os.path.exists(comp), r.stderr)
            continue
        if not check(f"{sname} -> {name}: exit 0", r.returncode == 0, r.stderr):
            continue
        ds = pydicom.dcmread(comp)
        check(f"{sname} -> {name}: transfer syntax {uid}", ds.file_meta.TransferSyntaxUID == uid,
              ds.file_meta.TransferSyntaxUID)
        got = reference(comp, name)
        if name == "j2k-lossless" and kw.get("rgb"):
            check(f"{sname} -> {name}: written YBR_RCT", ds.PhotometricInterpretation == "YBR_RCT")
        check(f"{sname} -> {name}: the reference decoder gives the source's samples", np.array_equal(got, want),
              int(np.sum(got != want)) if got.shape == want.shape else got.shape)
        back = f"{WORK}/{sname}.{name}.back.dcm"
        r = dqr("convert", comp, back, "--ts", "explicit")
        if check(f"{sname} -> {name} -> explicit: exit 0", r.returncode == 0, r.stderr):
            b = pydicom.dcmread(back)
            check(f"{sname} -> {name} -> explicit: Explicit VR LE, samples equal to the source",
                  b.file_meta.TransferSyntaxUID == NATIVE["explicit"] and np.array_equal(samples(b), want),
                  b.file_meta.TransferSyntaxUID)
            check(f"{sname} -> {name} -> explicit: not marked lossy", b.get("LossyImageCompression") in (None, "00"))

# compressed -> every native syntax (big endian and deflate included), and compressed -> compressed
src = f"{WORK}/mono8.jpeg-ls.dcm"
want = pydicom.dcmread(f"{WORK}/mono8.dcm").pixel_array
for name, uid in NATIVE.items():
    out = f"{WORK}/jls.{name}.dcm"
    r = dqr("convert", src, out, "--ts", name)
    if check(f"JPEG-LS -> {name}: exit 0", r.returncode == 0, r.stderr):
        b = pydicom.dcmread(out)
        check(f"JPEG-LS -> {name}: {uid}, samples equal", b.file_meta.TransferSyntaxUID == uid and
              np.array_equal(b.pixel_array, want), b.file_meta.TransferSyntaxUID)
r = dqr("convert", src, f"{WORK}/jls.rle.dcm", "--ts", "1.2.840.10008.1.2.5")
check("JPEG-LS -> RLE (by UID): samples equal", r.returncode == 0 and
      np.array_equal(pydicom.dcmread(f"{WORK}/jls.rle.dcm").pixel_array, want), r.stderr)

# JPEG baseline (DCMTK) -> explicit: the samples dcmdjpeg gives, still marked lossy
jpg, ref = f"{WORK}/base.jpeg.dcm", f"{WORK}/base.dcmdjpeg.dcm"
for rgb in (False, True):
    srcn = f"{WORK}/{'rgb8' if rgb else 'mono8'}.dcm"
    subprocess.run(["dcmcjpeg", "+eb", srcn, jpg], check=True)
    subprocess.run(["dcmdjpeg", jpg, ref], check=True)
    out = f"{WORK}/base.dqr.dcm"
    r = dqr("convert", jpg, out, "--ts", "explicit")
    what = "colour" if rgb else "grey"
    if check(f"JPEG baseline {what} -> explicit: exit 0", r.returncode == 0, r.stderr):
        a, b = pydicom.dcmread(out), pydicom.dcmread(ref)
        check(f"JPEG baseline {what} -> explicit: equal to dcmdjpeg's output", np.array_equal(a.pixel_array, b.pixel_array),
              int(np.sum(a.pixel_array != b.pixel_array)) if a.pixel_array.shape == b.pixel_array.shape else "shape")
        check(f"JPEG baseline {what} -> explicit: Lossy Image Compression stays 01", a.get("LossyImageCompression") == "01",
              a.get("LossyImageCompression"))
        if rgb:
            check("JPEG baseline colour -> explicit: RGB", a.PhotometricInterpretation == "RGB", a.PhotometricInterpretation)
    r = dqr("convert", jpg, f"{WORK}/base.jpeg-ls.dcm", "--ts", "jpeg-ls")
    check(f"JPEG baseline {what} -> jpeg-ls: written, still marked lossy", r.returncode == 0 and
          pydicom.dcmread(f"{WORK}/base.jpeg-ls.dcm").get("LossyImageCompression") == "01", r.stderr)

# lossy targets are refused, nothing written
for target in ("1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.91"):
    out = f"{WORK}/lossy.dcm"
    r = dqr("convert", f"{WORK}/mono8.dcm", out, "--ts", target)
    check(f"--ts {target}: refused as lossy, exit 1, nothing written",
          r.returncode == 1 and "is lossy" in r.stderr and not os.path.exists(out), r.stderr)
sys.exit(check.finish())
