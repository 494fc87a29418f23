#!/usr/bin/python3
"""The burned-in text check of `dqr serve`'s import pipeline, against
DCMTK dcmqrscp (C-GET) loaded with generated ultrasound images that carry
fake names, dates and IDs drawn into their pixels (tests/pylib/burned_in.py)
and a clean CT: with the default settings the US is quarantined (sealed,
GET /api/v1/quarantine lists its frame with boxes over the planted words
and never the words), the CT is archived unread; with ocr_policy mask the
US is archived with the words blacked out (OCR of the archived file finds
none), marked clean (BurnedInAnnotation NO, 113101); with ocr off it is
archived as it came. Per-session frames_checked/_masked/_refused in the
import and the history; no planted word in the logs.
Usage: ocr_gateway.py DQR WORKDIR"""
import glob
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import Api, Checks, Procs, dqr_store, free_port, serve_env, start_dcmqrscp, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
HERE = os.path.dirname(os.path.abspath(__file__))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

data = WORK + "/data"
subprocess.run(["/usr/bin/python3", HERE + "/../pylib/burned_in.py", data, "--us", "3", "--sc", "0", "--ct", "1",
                "--mr", "0", "--seed", "5", "--syntaxes", "native"], check=True)
man = json.load(open(data + "/manifest.json"))
os.remove(data + "/manifest.json")
us = man["burned"]
ct = man["clean"][0]
study = {e["file"]: pydicom.dcmread(e["file"], stop_before_pixels=True).StudyInstanceUID for e in us + [ct]}
planted_words = {p["text"] for e in us for p in e["phi"]}

http_port, dicom_port = free_port(), free_port()
QR = start_dcmqrscp(procs, WORK, "DCMQRSCP", {"dqr": ("DQR", dicom_port)})
if not wait_port(QR):
    print("FAIL dcmqrscp did not start\n0 passed, 1 failed")
    sys.exit(1)
dqr_store(DQR, "DCMQRSCP", QR, data)
api = Api(http_port)
log = open(WORK + "/serve.stderr", "ab")


def serve(**extra):
    env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1",
                    OMP_THREAD_LIMIT="1", **extra)
    p = procs.start([DQR, "serve"], log, env)
    wait_port(http_port) and wait_port(dicom_port)
    return p, api.login("admin", "gateway-secret-1")


def import_one(token, pacs, f, session):
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "P1", "studies": [
        {"StudyInstanceUID": study[f], "subject": "S01", "session": session}]}, token=token)
    return api.wait_import(token, b.get("id"))


def covered(planted, box):
    pl, pt, pw, ph = planted
    ix = max(0, min(pl + pw, box["left"] + box["width"]) - max(pl, box["left"]))
    iy = max(0, min(pt + ph, box["top"] + box["height"]) - max(pt, box["top"]))
    return ix * iy >= 0.3 * pw * ph


def archived(session):
    return glob.glob(f"{WORK}/var/archive/P1/S01/{session}/**/*.dcm", recursive=True)


try:
    p, T = serve()
    H = {"token": T}
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "qr", "aet": "DCMQRSCP", "host": "127.0.0.1", "port": QR,
                                                 "retrieve": "get"}, **H)
    PACS = b["id"]
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "OCR", "dqr_enabled": True}, **H)

    # ---- defaults: ocr at_risk, policy refuse -------------------------------------------
    b = import_one(T, PACS, us[0]["file"], "US_REFUSE")
    s = b.get("sessions", [{}])[0] if b.get("sessions") else b
    check("refused US: nothing archived, 1 frame checked, 1 refused",
          b.get("archived") == 0 and b.get("frames_checked") == 1 and b.get("frames_refused") == 1 and
          not archived("US_REFUSE"), b)
    b = import_one(T, PACS, ct["file"], "CT_CLEAN")
    check("CT is not at risk: archived, no frame read",
          b.get("archived") == 1 and b.get("frames_checked") == 0 and len(archived("CT_CLEAN")) == 1, b)
    st, q, _ = api.call("GET", "/api/v1/quarantine", **H)
    rows = q.get("quarantine", []) if st == 200 else []
    check("GET /quarantine: one frame, of session US_REFUSE, frame 1",
          len(rows) == 1 and rows[0]["session_label"] == "US_REFUSE" and rows[0]["frame"] == 1, q)
    boxes = rows[0]["boxes"] if rows else []
    hit = [w for w in us[0]["phi"] if any(covered(w["box"], x) for x in boxes)]
    check("its boxes cover the planted words", len(hit) == len(us[0]["phi"]), (us[0]["phi"], boxes))
    text = json.dumps(q)
    check("the quarantine API carries no planted word", not any(w in text for w in planted_words), text[:300])
    st, one, _ = api.call("GET", f"/api/v1/quarantine/{rows[0]['id']}" if rows else "/api/v1/quarantine/1", **H)
    check("GET /quarantine/{id}: the same frame's boxes", st == 200 and one.get("boxes") == boxes, one)
    st, _, _ = api.call("GET", "/api/v1/quarantine/999999", **H)
    check("GET /quarantine/{unknown}: 404", st == 404, st)
    sealed = glob.glob(f"{WORK}/var/quarantine/*.sealed")
    check("the instance is sealed in the quarantine folder",
          len(sealed) == 1 and rows and os.path.basename(sealed[0]) == rows[0]["file"] + ".sealed", sealed)
    raw = open(sealed[0], "rb").read() if sealed else b""
    check("the sealed file holds no planted word in clear", not any(w.encode() in raw for w in planted_words))
    st, h, _ = api.call("GET", "/api/v1/history/imports", **H)
    row = [x for x in h.get("imports", []) if x["session"] == "US_REFUSE"]
    check("history shows frames_checked / frames_refused", row and row[0]["frames_checked"] == 1 and
          row[0]["frames_refused"] == 1 and row[0]["frames_masked"] == 0, row)
    # release: the boxes blacked out, archived into its session (the archive write the pipeline uses), indexed
    st, b, _ = api.call("POST", f"/api/v1/quarantine/{rows[0]['id'] if rows else 1}/release", {}, **H)
    files = archived("US_REFUSE")
    check("release: 200, archived into US_REFUSE, the entry gone", st == 200 and b.get("session") == "US_REFUSE" and
          len(files) == 1 and not api.call("GET", "/api/v1/quarantine", **H)[1].get("quarantine"), (st, b, files))
    if files:
        d = pydicom.dcmread(files[0])
        check("released instance marked clean, mode 0600", d.get("BurnedInAnnotation") == "NO" and
              os.stat(files[0]).st_mode & 0o777 == 0o600, (d.get("BurnedInAnnotation"), oct(os.stat(files[0]).st_mode)))
        st, _, _ = api.call("GET", f"/api/v1/projects/P1/sessions/US_REFUSE/instances/{d.SOPInstanceUID}", **H)
        check("released instance indexed in the catalog", st == 200, st)
    procs.stop_one(p)

    # ---- ocr_policy mask ---------------------------------------------------------------------
    p, T = serve(DQR_OCR_POLICY="mask")
    b = import_one(T, PACS, us[1]["file"], "US_MASK")
    files = archived("US_MASK")
    check("masked US: archived, 1 frame checked and masked",
          b.get("archived") == 1 and b.get("frames_checked") == 1 and b.get("frames_masked") == 1 and
          len(files) == 1, b)
    if files:
        d = pydicom.dcmread(files[0])
        codes = [c.CodeValue for c in d.get("DeidentificationMethodCodeSequence", [])]
        check("masked US marked clean: BurnedInAnnotation NO, code 113101",
              d.get("BurnedInAnnotation") == "NO" and "113101" in codes, (d.get("BurnedInAnnotation"), codes))
        r = subprocess.run([DQR, "phi-scan", "--pixels", "--json", files[0]], capture_output=True, text=True)
        frames = json.loads(r.stdout)[0]["frames"] if r.stdout.strip().startswith("[") else []
        left = [w for f in frames for w in f["words"]
                if any(covered(p["box"], w) for p in us[1]["phi"])]
        check("OCR of the archived file finds none of the planted words", r.returncode in (0, 1) and not left, left)
    procs.stop_one(p)

    # ---- ocr off: the check can be switched off (and then nothing is read) --------------------
    p, T = serve(DQR_OCR="off")
    b = import_one(T, PACS, us[2]["file"], "US_OFF")
    check("ocr off: archived as it came, no frame read",
          b.get("archived") == 1 and b.get("frames_checked") == 0 and len(archived("US_OFF")) == 1, b)
    procs.stop_one(p)
    logs = ""
    for f in glob.glob(f"{WORK}/var/logs/*") + [WORK + "/serve.stderr"]:
        logs += open(f, errors="replace").read()
    check("no planted word in the logs", not any(w in logs for w in planted_words))
    check("the log says what was quarantined, as counts", "ocr_quarantine" in logs and "words=" in logs)
finally:
    procs.stop()
check.finish()
