#!/usr/bin/python3
"""Two `dqr serve` nodes on one PostgreSQL catalog and one data directory:
node A runs the queue, node B only receives (import_scheduler 0), and the
PACS sends its C-MOVE results to B. The import must complete with every
instance counted once, archived by B, identifiers kept. Run by postgres.sh
with DQR_CATALOG set. Usage: scale_out.py DQR WORKDIR"""
import glob
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import Api, Checks, Procs, canary_needles, dqr_store, free_port, generate, scan_for, start_orthanc, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
if not os.environ.get("DQR_CATALOG", "").startswith("postgresql:"):
    print("FAIL scale_out.py needs DQR_CATALOG=postgresql://... (postgres.sh sets it)\n0 passed, 1 failed")
    sys.exit(1)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
canaries = generate(ROOT, WORK + "/studies", "--patients", "2", "--studies", "1", "--series", "2", "--instances", "5",
                    "--rows", "16", "--cols", "16")
meta = {}
for f in glob.glob(WORK + "/studies/**/*.dcm", recursive=True):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    meta.setdefault(d.StudyInstanceUID, []).append(d)
http_a, http_b, rx_a, rx_b = free_port(), free_port(), free_port(), free_port()
OD, _ = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", rx_b]})
wait_port(OD)
dqr_store(DQR, "ORTHANC", OD, WORK + "/studies")
common = dict(os.environ, DQR_DATA_DIR=WORK + "/var", DQR_VAULT_KEY_FILE=WORK + "/keys/vault.key",
              DQR_UID_SECRET_FILE=WORK + "/keys/uid-secret", DQR_ADMIN_PASSWORD="gateway-secret-1", HOME=WORK + "/home",
              DQR_IMPORT_POLL_SECONDS="1")
try:
    procs.start([DQR, "serve"], open(WORK + "/a.stderr", "w"),
                dict(common, DQR_HTTP_PORT=str(http_a), DQR_DICOM_PORT=str(rx_a), DQR_IMPORT_SCHEDULER="1"))
    wait_port(http_a)
    procs.start([DQR, "serve"], open(WORK + "/b.stderr", "w"),
                dict(common, DQR_HTTP_PORT=str(http_b), DQR_DICOM_PORT=str(rx_b), DQR_IMPORT_SCHEDULER="0"))
    wait_port(http_b)
    a, b = Api(http_a), Api(http_b)
    T = a.login("admin", "gateway-secret-1")
    check("one catalog: a token from node A works on node B", b.call("GET", "/api/v1/me", token=T)[0] == 200)
    pacs = a.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD},
                  token=T)[1]["id"]
    a.call("POST", "/api/v1/projects", {"id": "P1", "dqr_enabled": True}, token=T)
    studies = sorted(meta)
    st, r, _ = a.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "P1", "studies": [
        {"StudyInstanceUID": u, "subject": f"S{i}", "session": f"S{i}_CT"} for i, u in enumerate(studies)]}, token=T)
    check("import queued on node A", st == 201, r)
    iid, end = r.get("id"), time.time() + 60
    while time.time() < end:
        r = b.call("GET", f"/api/v1/imports/{iid}", token=T)[1]
        if r.get("state") in ("done", "partial", "failed"):
            break
        time.sleep(0.3)
    total = sum(len(v) for v in meta.values())
    check("node A's import, delivered to node B's receiver: done, every instance counted once",
          r.get("state") == "done" and r["expected"] == r["received"] == r["archived"] == total, r)
    files = glob.glob(WORK + "/var/archive/P1/**/*.dcm", recursive=True)
    check("the shared archive holds each instance once", len(files) == total and
          sum(b.call("GET", f"/api/v1/projects/P1/sessions/S{i}_CT", token=T)[1]["instances"]
              for i in range(len(studies))) == total, len(files))
    metric = lambda api: int(re.search(r"^dqr_instances_archived_total (\d+)$", api.call("GET", "/metrics")[1], re.M).group(1))
    check("node B archived them; node A (which moved them) none", metric(b) == total and metric(a) == 0,
          (metric(a), metric(b)))
    h = a.call("GET", "/api/v1/history/imports", token=T)[1]["imports"]
    ids = a.call("GET", f"/api/v1/history/imports/{h[0]['id']}/identifiers", token=T)[1]
    check("the originals B saw are kept sealed for the history", ids.get("identifiers", {}).get("PatientID", "") in
          {v[0].PatientID for v in meta.values()}, ids)
    procs.stop()
    hits = scan_for([WORK + "/var"] + [p for p in [os.environ.get("DQR_TEST_SCAN_ALSO")] if p], canary_needles(canaries))
    check("no canary under the shared data directory or the catalog's files", not hits, hits[:3])
finally:
    procs.stop()
sys.exit(check.finish())
