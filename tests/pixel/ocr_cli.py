#!/usr/bin/python3
"""`dqr anonymize --ocr`: an ultrasound with fake PHI drawn into its pixels
(tests/pylib/burned_in.py) is refused by default (exit 3, not written),
written with BurnedInAnnotation YES under --ocr-policy warn, and written
masked and marked clean (NO, 113101) under --ocr-policy mask, where OCR of
the output finds none of the planted words; a clean CT is not read (not
marked), and without --ocr the US is written unread; `dqr listen --ocr`
writes the CT and not the US. No planted word is printed or logged.
Usage: ocr_cli.py DQR WORKDIR"""
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import Checks, Procs, free_port, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
check = Checks()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
subprocess.run(["/usr/bin/python3", HERE + "/../pylib/burned_in.py", WORK + "/in", "--us", "1", "--sc", "0",
                "--ct", "1", "--mr", "0", "--seed", "9"], check=True)
man = json.load(open(WORK + "/in/manifest.json"))
us, ct = man["burned"][0], man["clean"][0]
words = {p["text"] for p in us["phi"]}
env = dict(os.environ, OMP_THREAD_LIMIT="1", DQR_UID_SECRET_FILE=WORK + "/uid-secret")


def anonymize(src, out, *extra):
    r = subprocess.run([DQR, "anonymize", "--profile", "basic", *extra, src, out], capture_output=True, text=True,
                       env=env)
    return r.returncode, r.stdout + r.stderr


def record(path):
    d = pydicom.dcmread(path)
    return d.get("BurnedInAnnotation"), [c.CodeValue for c in d.get("DeidentificationMethodCodeSequence", [])]


def covered(planted, box):
    pl, pt, pw, ph = planted
    ix = max(0, min(pl + pw, box["left"] + box["width"]) - max(pl, box["left"]))
    iy = max(0, min(pt + ph, box["top"] + box["height"]) - max(pt, box["top"]))
    return ix * iy >= 0.3 * pw * ph


out = WORK + "/out"
os.makedirs(out)
rc, text = anonymize(us["file"], out + "/refused.dcm", "--ocr", "at_risk")
check("refuse (default policy): exit 3, not written", rc == 3 and not os.path.exists(out + "/refused.dcm"), text)
check("the message names counts, not words", "burned-in text" in text and not any(w in text for w in words), text)
rc, text = anonymize(us["file"], out + "/warned.dcm", "--ocr", "at_risk", "--ocr-policy", "warn")
check("warn: written with BurnedInAnnotation YES", rc == 0 and record(out + "/warned.dcm")[0] == "YES", text)
rc, text = anonymize(us["file"], out + "/masked.dcm", "--ocr", "at_risk", "--ocr-policy", "mask")
ok = rc == 0 and os.path.exists(out + "/masked.dcm")
bia, codes = record(out + "/masked.dcm") if ok else (None, [])
check("mask: written, BurnedInAnnotation NO and 113101", ok and bia == "NO" and "113101" in codes, (text, bia, codes))
r = subprocess.run([DQR, "phi-scan", "--pixels", "--json", out + "/masked.dcm"], capture_output=True, text=True,
                   env=env)
found = [w for f in (json.loads(r.stdout)[0]["frames"] if ok else []) for w in f["words"]]
left = [w for w in found if any(covered(p["box"], w) for p in us["phi"])]
check("mask: OCR of the output finds no planted word", ok and not left, left)
rc, text = anonymize(ct["file"], out + "/ct.dcm", "--ocr", "at_risk")
check("a CT is not at risk: written, not marked clean", rc == 0 and "113101" not in record(out + "/ct.dcm")[1], text)
rc, text = anonymize(us["file"], out + "/unread.dcm")
check("without --ocr the US is written unread", rc == 0 and record(out + "/unread.dcm")[0] == "YES", text)
rc, text = anonymize(us["file"], out + "/x.dcm", "--ocr", "sometimes")
check("--ocr with a bad mode: usage error", rc == 2, text)

# dqr listen --ocr: the US is answered but not written, the CT is written
procs, port = Procs(), free_port()
rx = WORK + "/rx"
os.makedirs(rx)
log = open(WORK + "/listen.log", "w")
try:
    procs.start([DQR, "listen", "--port", str(port), "--aet", "RX", "--out", rx, "--profile", "basic",
                 "--ocr", "at_risk"], log, env)
    wait_port(port)
    for f in (us["file"], ct["file"]):
        subprocess.run([DQR, "store", "--call", "RX", "127.0.0.1", str(port), f], capture_output=True, env=env)
finally:
    procs.stop()
log.close()
text = open(WORK + "/listen.log").read()
check("listen --ocr: only the CT is written", len(os.listdir(rx)) == 1, (os.listdir(rx), text[-400:]))
check("listen logs counts, not words", "burned-in text" in text and not any(w in text for w in words), text[-400:])
sys.exit(check.finish())
