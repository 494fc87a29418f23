#!/usr/bin/python3
"""Browser tests of the web UI: starts Orthanc (loaded with generated
studies, one patient named like an XSS attack) and `dqr serve`, sets up
users, PACS and a project over the REST API, then runs browser.mjs in
Debian's headless Chromium (playwright-core) and reports its steps. A
session imported from the project's quirky_scp (QUIRKY_SCP in the
environment), which refuses STUDY-level C-MOVE, shows in the history the
level that worked and what dqr did about it.
Usage: ui_e2e.py DQR WORKDIR [SCREENSHOT_DIR]"""
import glob
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import pydicom  # noqa: E402
from peers import Api, Checks, Procs, dqr_store, free_port, generate, start_orthanc, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
SHOTS = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else WORK + "/screens"
ROOT = os.path.dirname(os.path.dirname(HERE))
XSS = "<img src=x onerror=alert(1)>"
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
os.makedirs(SHOTS, exist_ok=True)
if not os.path.exists("/usr/bin/chromium") or not os.path.isdir(HERE + "/node_modules/playwright-core"):
    print("FAIL chromium or playwright-core missing: run make deps-test\n0 passed, 1 failed")
    sys.exit(1)

studies = WORK + "/studies"
generate(ROOT, studies, "--patients", "3", "--studies", "2", "--series", "2", "--instances", "2", "--rows", "16",
         "--cols", "16")
files = sorted(glob.glob(studies + "/**/*.dcm", recursive=True))
ds = {f: pydicom.dcmread(f) for f in files}
xss_pid = ds[files[-1]].PatientID
for f, d in ds.items():  # the last patient's name is markup: it must show as text
    if d.PatientID == xss_pid:
        d.PatientName = XSS
        d.save_as(f)
names = sorted({str(d.PatientName) for d in ds.values()})
dates = sorted({d.StudyDate for d in ds.values()})
http_port, dicom_port = free_port(), free_port()
OD, _ = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
OD2, _ = start_orthanc(procs, WORK, "other", "OTHER", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
QP = free_port()
procs.start([os.environ["QUIRKY_SCP"], "--port", str(QP), "--aet", "QUIRKY", "--dir", studies, "--dest",
             f"DQR=127.0.0.1:{dicom_port}", "--refuse-study-level"], open(WORK + "/quirky.log", "w"))
wait_port(OD) and wait_port(OD2) and wait_port(QP)
dqr_store(DQR, "ORTHANC", OD, studies)
env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1")
try:
    procs.start([DQR, "serve"], open(WORK + "/serve.stderr", "w"), env)
    wait_port(http_port)
    api = Api(http_port)
    T = api.login("admin", "gateway-secret-1")
    p1 = api.call("POST", "/api/v1/pacs", {"label": "Hospital PACS", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD,
                                           "default_qr": True, "storable": True}, token=T)[1]["id"]
    p2 = api.call("POST", "/api/v1/pacs", {"label": "Other PACS", "aet": "OTHER", "host": "127.0.0.1", "port": OD2},
                  token=T)[1]["id"]
    p3 = api.call("POST", "/api/v1/pacs", {"label": "Down PACS", "aet": "DOWN", "host": "127.0.0.1", "port": free_port()},
                  token=T)[1]["id"]
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Brain study", "dqr_enabled": True}, token=T)
    # a session whose PACS refused the STUDY level: the history says so
    pq = api.call("POST", "/api/v1/pacs", {"label": "Quirky PACS", "aet": "QUIRKY", "host": "127.0.0.1", "port": QP},
                  token=T)[1]["id"]
    quirky_study = sorted({d.StudyInstanceUID for d in ds.values()})[0]
    b = api.call("POST", "/api/v1/imports", {"pacs": pq, "project": "P1", "studies": [
        {"StudyInstanceUID": quirky_study, "subject": "QK01", "session": "QK01_CT"}]}, token=T)[1]
    b = api.wait_import(T, b.get("id"))
    check("the quirky PACS's session was imported at SERIES level", b.get("state") == "done" and
          (b.get("sessions") or [{}])[0].get("retrieve_level") == "SERIES", b)
    for u in ("alice", "bob"):
        api.call("POST", "/api/v1/users", {"username": u, "password": {"alice": "wonderland-42x", "bob": "builder-pw-77"}[u], "role": "user"}, token=T)
    api.call("PUT", "/api/v1/users/2/grants", {"pacs": [p1, p2, p3], "projects": ["P1"]}, token=T)
    api.call("PUT", "/api/v1/users/3/grants", {"pacs": [p1], "projects": ["P1"]}, token=T)
    cfg = {"base": f"http://127.0.0.1:{http_port}", "shots": SHOTS, "xss": XSS, "xss_pid": xss_pid,
           "name_prefix": names[0].split("^")[0][:12] + "*", "name_count": len({d.StudyInstanceUID for d in ds.values()
                                                                              if str(d.PatientName).startswith(names[0].split("^")[0][:12])}),
           "date_from": dates[0], "date_to": dates[0],
           "date_count": len({d.StudyInstanceUID for d in ds.values() if d.StudyDate == dates[0]}),
           "users": {"admin": "gateway-secret-1", "alice": "wonderland-42x", "bob": "builder-pw-77"}}
    json.dump(cfg, open(WORK + "/config.json", "w"))
    p = subprocess.run(["node", HERE + "/browser.mjs", WORK + "/config.json"], capture_output=True, text=True,
                       timeout=600)
    for line in p.stdout.splitlines():
        if line.startswith("ok   "):
            check(line[5:], True)
        elif line.startswith("FAIL "):
            check(line[5:], False)
    check("browser run finished", p.returncode == 0, p.stderr[-1500:])
finally:
    procs.stop()
sys.exit(check.finish())
