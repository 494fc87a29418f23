#!/usr/bin/python3
"""dqr anonymize and dqr lint on real files: the record a script writes
stays (XNAT's AbstractMizer.addRecord adds only code items), a script with a
long name is recorded whole, D never leaves an empty value, and Retain Safe
Private keeps PS3.15 Table E.3.10-1 attributes and a site file's, in any
block, with the items of a safe sequence still de-identified.

Usage: record_private.py DQR_BIN"""
import os
import subprocess
import sys
import tempfile

import pydicom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from private_sample import SITE_FILE, sample  # noqa: E402

DQR = sys.argv[1]
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else f": {detail}"))
    failures += not cond


def run(*args):
    return subprocess.run([DQR, *args], capture_output=True, text=True, timeout=60)


with tempfile.TemporaryDirectory() as work:
    src = os.path.join(work, "in.dcm")
    sample(src)
    site = os.path.join(work, "site-safe.txt")
    with open(site, "w") as f:
        f.write(SITE_FILE)
    secret = os.path.join(work, "uid-secret")
    with open(secret, "wb") as f:
        f.write(b"0123456789abcdef0123456789abcdef")
    os.chmod(secret, 0o600)
    script = os.path.join(work, "a-long-site-anonymization.das")
    with open(script, "w") as f:
        f.write('version "6.3"\n(0012,0063) := "Site method v7"\n(0010,0010) := "S01"\n')

    out = os.path.join(work, "out.dcm")
    r = run("anonymize", "--quiet", "--uid-secret", secret, "--profile", "basic,retain-safe-private",
            "--safe-private", site, "--script", script, src, out)
    check("anonymize with --safe-private: exit 0", r.returncode == 0, r.stderr)
    d = pydicom.dcmread(out)
    check("a DeidentificationMethod the script wrote stays", d.get((0x0012, 0x0063)).value == "Site method v7",
          d.get((0x0012, 0x0063)))
    check("PatientIdentityRemoved YES", d.PatientIdentityRemoved == "YES")
    codes = d.DeidentificationMethodCodeSequence
    check("codes: Basic, Retain Safe Private, then the script",
          [c.get("CodeValue") for c in codes] == ["113100", "113111", None], [c.get("CodeValue") for c in codes])
    check("the script's long name whole in Long Code Value, meaning as XNAT's",
          codes[2].get((0x0008, 0x0119)).value == "a-long-site-anonymization.das" and
          codes[2].CodeMeaning == "XNAT DicomEdit 6 Script" and codes[2].CodingSchemeDesignator == "XNAT", codes[2])
    cert = d.get((0x0400, 0x0115))
    check("D on OB: a non-empty dummy", cert is not None and len(cert.value) > 0 and b"CANARY" not in cert.value,
          cert)
    pic = d.get((0x0040, 0x1101))
    check("D on a sequence: one item of dummies", pic is not None and len(pic.value) == 1 and
          pic[0].CodeValue == "ANONYMIZED", pic)
    check("Table E.3.10-1 attribute kept in block 0x11, with its creator",
          d.get((0x0019, 0x110C)) is not None and d.get((0x0019, 0x0011)).value == "SIEMENS MR HEADER")
    check("an unlisted attribute of the same creator removed", (0x0019, 0x1108) not in d)
    check("site file attributes kept", d.get((0x0029, 0x1001)).value == "SITE-VALUE" and (0x0029, 0x1002) in d)
    check("a safe private sequence's items still de-identified",
          str(d[0x00291002].value[0].get("PatientName", "")) == "", d[0x00291002].value[0])
    check("an unsafe block removed with its creator", (0x0033, 0x1001) not in d and (0x0033, 0x0010) not in d)
    raw = open(out, "rb").read()
    check("no canary in the output bytes", b"CANARY" not in raw and b"Doe^J" not in raw)

    r = run("anonymize", "--quiet", "--uid-secret", secret, "--profile", "basic", "--safe-private", site, src,
            os.path.join(work, "x.dcm"))
    check("--safe-private without retain-safe-private: usage error", r.returncode == 2, r.stderr)

    r = run("lint", "--sample", src, "--safe-private", site, script)
    lines = r.stdout.splitlines()
    check("lint --sample: exit 0", r.returncode == 0, r.stdout + r.stderr)
    check("lint lists a kept table attribute and its row",
          any("kept" in l and "(0019,110C)" in l and "PS3.15 Table E.3.10-1" in l for l in lines), r.stdout)
    check("lint names the site file line",
          any("kept" in l and "(0029,1001)" in l and "site-safe.txt:2" in l for l in lines), r.stdout)
    check("lint lists removed ones",
          any("removed" in l and "(0033,1001)" in l and "ACME" in l for l in lines), r.stdout)
    with open(site, "a") as f:
        f.write("(0028,xx10) EVEN GROUP\n")
    r = run("lint", "--sample", src, "--safe-private", site, script)
    check("a bad site file line is refused with file:line (exit 2)",
          r.returncode == 2 and "site-safe.txt:4:" in r.stderr, r.stderr)

print(f"{'all passed' if not failures else str(failures) + ' failed'}")
sys.exit(1 if failures else 0)
