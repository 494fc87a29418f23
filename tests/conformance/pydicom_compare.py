#!/usr/bin/python3
"""Conformance: dqr's DICOM JSON equals pydicom's reading, element by element.

Usage: pydicom_compare.py DQR [DIR...]
Default DIRs: the test_files and charset_files of Debian's python3-pydicom.

For every file under the DIRs:
  * pydicom reads it  -> `dqr dump --json` must succeed and every element
    must match (tag set, VR, values; sequences recursively).
  * pydicom can't     -> dqr must fail cleanly: exit status 1 and one
    "dqr: " line on stderr (no crash, no sanitizer report).
  * listed in KNOWN   -> pydicom reads it but dqr refuses it on purpose; dqr
    must fail cleanly, and the reason is in docs/conformance.md.

Prints one line per file and ends with "N passed, N failed".
"""
import base64
import json
import math
import os
import subprocess
import sys
import warnings

import pydicom
from pydicom.valuerep import PersonName

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import harness  # noqa: E402

# pydicom accepts these; dqr refuses them with a clear error, by design.
KNOWN = {
    "MR_truncated.dcm": "pixel data value is shorter than its length: dqr refuses truncated values",
    "rtplan_truncated.dcm": "a value is cut short by the end of file: dqr refuses truncated values",
}

NUMERIC_BIN = {"US", "SS", "UL", "SL", "SV", "UV"}
FLOAT_BIN = {"FL", "FD"}
BYTES_VR = {"OB", "OW", "OD", "OF", "OL", "OV", "UN", "OB or OW", "US or OW", "US or SS or OW"}


class Mismatch(Exception):
    pass


def as_list(v):
    if v is None:
        return []
    if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue":
        return list(v)
    return [v]


def close(a, b, rel):
    if a == b:
        return True
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return abs(a - b) <= rel * max(abs(a), abs(b), 1e-300)


def cmp_strings(path, vr, py, dq):
    # Trailing spaces are padding in every string VR (PS3.5 6.2); pydicom
    # strips them from the whole value only, dqr from each value.
    pyv = [("" if x is None else str(x)) for x in as_list(py)]
    dqv = [("" if x is None else x) for x in dq]
    if vr not in ("IS", "DS"):
        pyv = [x.rstrip(" ") for x in pyv]
    if vr in ("IS", "DS"):
        for a, b in zip(pyv, dqv):
            if a == "" and b == "":
                continue
            try:
                fa = float(a)
            except ValueError:
                fa = a
            fb = float(b) if isinstance(b, (int, float)) else b
            if isinstance(fa, float) and isinstance(fb, float):
                if not close(fa, fb, 1e-12):
                    raise Mismatch(f"{path}: {vr} {a!r} != {b!r}")
            elif str(fa).strip() != str(fb).strip():
                raise Mismatch(f"{path}: {vr} {a!r} != {b!r}")
        if len(pyv) != len(dqv):
            raise Mismatch(f"{path}: {vr} VM {len(pyv)} != {len(dqv)}")
        return
    if pyv != dqv:
        raise Mismatch(f"{path}: {vr} {pyv!r} != {dqv!r}")


def cmp_pn(path, py, dq):
    pyv = as_list(py)
    if len(pyv) != len(dq):
        raise Mismatch(f"{path}: PN VM {len(pyv)} != {len(dq)}")
    for a, b in zip(pyv, dq):
        comps = list(a.components) if isinstance(a, PersonName) else [str(a)]
        while comps and comps[-1] == "":
            comps.pop()
        got = [] if b is None else [b.get(k, "") for k in ("Alphabetic", "Ideographic", "Phonetic")]
        while got and got[-1] == "":
            got.pop()
        if comps != got:
            raise Mismatch(f"{path}: PN {comps!r} != {got!r}")


def cmp_element(path, elem, js, implicit):
    dvr = js.get("vr")
    pvr = elem.VR
    if elem.tag == 0x7FE00010 or "BulkDataURI" in js:
        return  # pixel data: a placeholder in dqr's JSON; bytes are checked by the round trip
    if pvr == "SQ" or dvr == "SQ" or (dvr == "UN" and isinstance(js.get("Value"), list)
                                       and js["Value"] and isinstance(js["Value"][0], dict)
                                       and "vr" not in js["Value"][0]):
        items = elem.value if pvr == "SQ" else None
        dq_items = js.get("Value", [])
        if items is None:
            raise Mismatch(f"{path}: dqr parsed a sequence, pydicom has {pvr}")
        if len(items) != len(dq_items):
            raise Mismatch(f"{path}: {len(items)} items != {len(dq_items)}")
        for i, (a, b) in enumerate(zip(items, dq_items)):
            cmp_dataset(f"{path}[{i}]", a, b, implicit)
        return
    if dvr != pvr:
        ambiguous = " or " in pvr or pvr in ("US", "SS", "OB", "OW") and dvr in ("US", "SS", "OB", "OW")
        private_implicit = dvr == "UN" and elem.tag.is_private
        un_known = dvr == "UN"  # pydicom replaces UN by the dictionary VR; dqr keeps UN as sent
        if not (ambiguous or private_implicit or un_known):
            raise Mismatch(f"{path}: VR {pvr} != {dvr}")
        if dvr == "UN":
            want = elem.value if isinstance(elem.value, bytes) else None
            if want is None:
                # pydicom decoded it through its VR; compare dqr's bytes re-read through that VR
                dqb = base64.b64decode(js.get("InlineBinary", ""))
                el2 = pydicom.dataelem.RawDataElement(elem.tag, pvr, len(dqb), dqb, 0, implicit, True)
                conv = pydicom.dataelem.DataElement_from_raw(el2)
                if str(conv.value) != str(elem.value):
                    raise Mismatch(f"{path}: UN bytes read as {pvr}: {conv.value!r} != {elem.value!r}")
                return
            if base64.b64decode(js.get("InlineBinary", "")) != want:
                raise Mismatch(f"{path}: UN bytes differ")
            return
    vr = dvr
    empty = elem.value is None or elem.value == b"" or elem.value == "" or (
        isinstance(elem.value, (list, tuple)) or type(elem.value).__name__ == "MultiValue") and len(elem.value) == 0
    if "Value" not in js and "InlineBinary" not in js:
        if not empty and not (vr in ("PN",) and str(elem.value) == ""):
            raise Mismatch(f"{path}: dqr has no value, pydicom has {elem.value!r}")
        return
    if vr in BYTES_VR or "InlineBinary" in js:
        got = base64.b64decode(js.get("InlineBinary", ""))
        want = elem.value
        if not isinstance(want, bytes):
            raise Mismatch(f"{path}: {vr} pydicom value is {type(want).__name__}")
        if got != want:
            raise Mismatch(f"{path}: {vr} bytes differ ({len(got)} vs {len(want)})")
        return
    dq = js["Value"]
    if vr == "PN":
        cmp_pn(path, elem.value, dq)
    elif vr in NUMERIC_BIN:
        if [int(x) for x in as_list(elem.value)] != dq:
            raise Mismatch(f"{path}: {vr} {as_list(elem.value)!r} != {dq!r}")
    elif vr in FLOAT_BIN:
        pv = [float(x) for x in as_list(elem.value)]
        if len(pv) != len(dq) or not all(
                close(a, float(b), 1e-6 if vr == "FL" else 1e-15) for a, b in zip(pv, dq)):
            raise Mismatch(f"{path}: {vr} {pv!r} != {dq!r}")
    elif vr == "AT":
        pv = ["%08X" % int(x) for x in as_list(elem.value)]
        if pv != dq:
            raise Mismatch(f"{path}: AT {pv!r} != {dq!r}")
    else:
        cmp_strings(path, vr, elem.value, dq)


def cmp_dataset(path, ds, js, implicit):
    py_tags = {}
    for elem in ds:
        if elem.tag.group == 0x0002:
            continue
        py_tags["%08X" % int(elem.tag)] = elem
    dq_tags = {k: v for k, v in js.items() if not k.startswith("0002")}
    if set(py_tags) != set(dq_tags):
        only_py = sorted(set(py_tags) - set(dq_tags))[:5]
        only_dq = sorted(set(dq_tags) - set(py_tags))[:5]
        raise Mismatch(f"{path}: tag sets differ: pydicom only {only_py}, dqr only {only_dq}")
    for key, elem in py_tags.items():
        cmp_element(f"{path}({key[:4]},{key[4:]})", elem, dq_tags[key], implicit)


def run_dqr(dqr, path):
    p = subprocess.run([dqr, "dump", "--json", path], capture_output=True, timeout=60)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def clean_failure(rc, err):
    lines = [l for l in err.splitlines() if l.strip()]
    return rc == 1 and len(lines) == 1 and lines[0].startswith("dqr: ")


def read_pydicom(path):
    """pydicom's reading, or (None, why). Files without the DICM prefix are
    read with force=True, as pydicom's users must; a forced read that finds
    no plausible dataset, or fails on access, counts as unreadable."""
    try:
        ds = pydicom.dcmread(path)
    except pydicom.errors.InvalidDicomError:
        try:
            ds = pydicom.dcmread(path, force=True)
        except Exception as e:
            return None, f"{type(e).__name__}: {e}"
        tags = [e.tag for e in ds if e.tag.group != 2]
        # A forced read parses anything (a text file becomes one element
        # (6554,7473)); it counts only if it starts like a dataset does.
        if not tags or tags[0].group > 0x0010:
            return None, "not DICOM (a forced read finds no plausible dataset)"
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"
    try:
        ds.decode()
        for elem in ds.iterall():
            elem.value  # noqa: B018 - force conversion of raw elements
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"
    return ds, None


def check_file(dqr, path):
    name = os.path.basename(path)
    rc, out, err = run_dqr(dqr, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds, py_err = read_pydicom(path)
        py_ok = ds is not None
    if name in KNOWN or not py_ok:
        why = KNOWN.get(name) or f"pydicom: {py_err[:80]}"
        if clean_failure(rc, err):
            return True, f"fails cleanly as expected ({why}): {err.strip()[:120]}"
        return False, f"expected a clean failure ({why}); got exit {rc}: {err.strip()[:300]}"
    if rc != 0:
        return False, f"dqr failed (exit {rc}): {err.strip()[:300]}"
    try:
        js = json.loads(out)
    except ValueError as e:
        return False, f"dqr printed invalid JSON: {e}"
    implicit = ds.is_implicit_VR
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            cmp_dataset("", ds, js, implicit)
        except Mismatch as m:
            return False, f"mismatch {m}"
    return True, f"matches ({len(js)} elements)"


def main():
    dqr = sys.argv[1]
    dirs = sys.argv[2:] or harness.pydicom_data_dirs()
    return harness.run_over_files(dirs, lambda path: check_file(dqr, path),
                                  lambda path: os.path.relpath(path, os.path.dirname(os.path.dirname(path))))


if __name__ == "__main__":
    sys.exit(main())
