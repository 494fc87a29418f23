#!/usr/bin/python3
"""Write round trip: dqr's output checked by DCMTK (dcmdump) and pydicom.

Usage: roundtrip.py DQR WORKDIR [DIR...]   (default DIRs: pydicom's test files)

For every DICOM file dqr reads:
  1. `dqr convert F same.dcm` (same transfer syntax): byte-identical to F,
     unless F is listed in NOT_CANONICAL (input that dqr normalizes, why given).
  2. dcmdump reads same.dcm without error, and pydicom reads the same values
     from it as from F.
  3. For files with native pixel data, each of implicit, explicit, big-endian
     and deflated: convert F to it, check with dcmdump and pydicom, then convert
     back to F's syntax: the bytes must equal same.dcm.
Prints one line per file and "N passed, N failed".
"""
import os
import subprocess
import sys
import warnings

import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import harness  # noqa: E402

warnings.simplefilter("ignore")

# Keep UN as bytes: pydicom would otherwise decode UN through its private
# dictionary with the file's byte order, a guess that is wrong for UN data
# in big endian files (UN bytes are never swapped).
pydicom.config.replace_un_with_known_vr = False

# pydicom cannot read what PS3.5 6.2.2 prescribes for UN of undefined length
# in a big endian file (items in Implicit VR Little Endian); DCMTK reads it.
PYDICOM_CANNOT = {
    ("UN_sequence.dcm", "big"), ("nested_priv_SQ.dcm", "big"), ("meta_missing_tsyntax.dcm", "big"),
}

# Inputs whose rewrite differs from the input on purpose.
NOT_CANONICAL = {
    "rtstruct.dcm": "no preamble/meta: dqr writes a Part 10 file",
    "ExplVR_LitEndNoMeta.dcm": "no preamble/meta: dqr writes a Part 10 file",
    "ExplVR_BigEndNoMeta.dcm": "no preamble/meta: dqr writes a Part 10 file",
    "no_meta_group_length.dcm": "meta without (0002,0000): dqr writes it",
    "meta_missing_tsyntax.dcm": "meta without (0002,0010): dqr writes it",
    "image_dfl.dcm": "deflated: zlib output differs from the original compressor's",
    "SC_rgb_jpeg.dcm": "declared explicit VR but encoded implicit: dqr writes the declared syntax",
    "693_J2KI.dcm": "wrong group length (0008,0000): dqr writes the correct one",
    "chrJapMulti.dcm": "wrong group length (0010,0000): dqr writes the correct one",
    "chrKoreanMulti.dcm": "wrong group length (0010,0000): dqr writes the correct one",
    "DICOMDIR-nooffset": "sequence longer than the file: dqr writes the true length",
}

SYNTAXES = {
    "implicit": "1.2.840.10008.1.2",
    "explicit": "1.2.840.10008.1.2.1",
    "big": "1.2.840.10008.1.2.2",
    "deflate": "1.2.840.10008.1.2.1.99",
}


def run(*cmd):
    return subprocess.run(cmd, capture_output=True, timeout=60)


def dcmdump_ok(path):
    p = run("dcmdump", "-q", path)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0 or "E: " in err:
        return f"dcmdump failed: {err.strip()[:200]}"
    return None


def dataset_bytes(path):
    """The bytes after the File Meta Information (the meta is rewritten with
    dqr's implementation UID when the transfer syntax changes)."""
    b = open(path, "rb").read()
    if b[128:132] != b"DICM":
        return b
    meta_len = int.from_bytes(b[140:144], "little")
    return b[144 + meta_len:]


SWAP_UNIT = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def le_bytes(v, vr, little_endian):
    """pydicom keeps OW/OF/... bytes in file order: bring them to LE to compare."""
    n = SWAP_UNIT.get(vr, 1)
    if little_endian or n == 1:
        return v
    return b"".join(v[i:i + n][::-1] for i in range(0, len(v) - len(v) % n, n))


def values(path, lossy=False):
    """(tag, value) of every element, in order, as pydicom reads them. With
    lossy, private values compare by presence only: Implicit VR cannot carry
    their VRs, so one side holds bytes and the other numbers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True)
        out = []
        for elem in ds.iterall():
            if elem.tag.element == 0 or elem.tag.group == 2:
                continue  # group lengths are recomputed; meta is rewritten
            v = elem.value
            if elem.VR == "SQ":
                v = len(v)
            elif lossy and elem.tag.is_private and elem.tag.element >= 0x100:
                v = "(private)"
            elif isinstance(v, bytes):
                v = le_bytes(v, elem.VR, ds.is_little_endian)
            elif v is None:
                v = ""  # an empty value: None or '' depending on the VR pydicom chose
            out.append((elem.tag, v if isinstance(v, bytes) else str(v)))
        return out


def same_values(a, b, lossy=False):
    va, vb = values(a, lossy), values(b, lossy)
    if len(va) != len(vb):
        return f"pydicom sees {len(va)} elements in the input, {len(vb)} in the output"
    for (ta, x), (tb, y) in zip(va, vb):
        if ta != tb or x != y:
            return f"pydicom: {ta} {str(x)[:60]!r} != {tb} {str(y)[:60]!r}"
    return None


def is_dicomdir(path):
    ds = pydicom.dcmread(path, stop_before_pixels=True, force=True)
    return getattr(ds.file_meta, "MediaStorageSOPClassUID", "") == "1.2.840.10008.1.3.10"


def ts_of(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds = pydicom.dcmread(path, force=True, stop_before_pixels=False)
    native = "PixelData" not in ds or not getattr(ds.file_meta, "TransferSyntaxUID", None) or \
        not ds.file_meta.TransferSyntaxUID.is_compressed
    return native


def check(dqr, work, path):
    name = os.path.basename(path)
    same = os.path.join(work, "same.dcm")
    p = run(dqr, "convert", path, same)
    if p.returncode != 0:
        return None, "dqr does not read it (covered by the conformance test)"
    if name not in NOT_CANONICAL:
        if open(path, "rb").read() != open(same, "rb").read():
            return False, "rewrite in the same syntax is not byte-identical"
    for problem in (dcmdump_ok(same), same_values(path, same)):
        if problem:
            return False, "same syntax: " + problem
    if not ts_of(path) or is_dicomdir(same):
        # Compressed pixel data stays in its syntax; a DICOMDIR's records are
        # byte offsets that a change of encoding would invalidate.
        return True, "identical" if name not in NOT_CANONICAL else "normalized: " + NOT_CANONICAL[name]
    # the syntax `same` is in, to convert back to
    back_ts = pydicom.dcmread(same, stop_before_pixels=True).file_meta.TransferSyntaxUID
    origin_implicit = back_ts == SYNTAXES["implicit"]
    for label, uid in SYNTAXES.items():
        conv = os.path.join(work, label + ".dcm")
        back = os.path.join(work, label + ".back.dcm")
        p = run(dqr, "convert", "--ts", uid, path, conv)
        if p.returncode != 0:
            return False, f"{label}: convert failed: {p.stderr.decode()[:200]}"
        lossy = label == "implicit" and not origin_implicit
        problems = [dcmdump_ok(conv)]
        if (name, label) not in PYDICOM_CANNOT:
            problems.append(same_values(path, conv, lossy))
        for problem in problems:
            if problem:
                return False, f"{label}: {problem}"
        p = run(dqr, "convert", "--ts", str(back_ts), conv, back)
        if p.returncode != 0:
            return False, f"{label}: convert back failed: {p.stderr.decode()[:200]}"
        # Implicit VR drops the VRs that the dictionary cannot restore (private
        # tags, OB-or-OW): through it and back is exact only from implicit.
        if lossy:
            continue
        if dataset_bytes(back) != dataset_bytes(same):
            return False, f"{label}: converting back does not give the same dataset bytes"
    return True, "identical, and through 4 transfer syntaxes and back"


def main():
    dqr, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    dirs = sys.argv[3:] or harness.pydicom_data_dirs()
    return harness.run_over_files(dirs, lambda path: check(dqr, work, path))


if __name__ == "__main__":
    sys.exit(main())
