#!/usr/bin/python3
"""Returning patients (docs/import.md, "Returning patients"): `dqr serve`
against Orthanc holding three generated patients of two studies each. A
patient imported once is proposed the same label by the query answers and
the CSV preview; a new project enforces it (a different label is 409 at
the request, and, when the request names no PatientID, at the receiver),
'propose' is an explicit choice; two patients may not share a label; force
works and is audited; the per-patient date shift is the same
for every study of a patient and differs between patients; the
re-identification key is for admins with the phi permission only; and no
planted PatientID reaches the data directory in clear.
Usage: returning_patients.py DQR WORKDIR"""
import datetime
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import (Api, Checks, Procs, dqr_store, free_port, generate, scan_for, serve_env, start_orthanc,  # noqa: E402
                   wait_port)

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

data = WORK + "/studies"
generate(ROOT, data, "--patients", "3", "--studies", "2", "--series", "1", "--instances", "2", "--rows", "8",
         "--cols", "8")
studies_of = {}  # PatientID -> its StudyInstanceUIDs
for f in glob.glob(data + "/**/*.dcm", recursive=True):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    studies_of.setdefault(d.PatientID, set()).add(d.StudyInstanceUID)
pids = sorted(studies_of)
A, B, C = ([sorted(studies_of[p]) for p in pids] + [[], [], []])[:3]

http_port, dicom_port = free_port(), free_port()
OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
if not wait_port(OD) or len(pids) != 3:
    print("FAIL peers or data did not come up\n0 passed, 1 failed")
    sys.exit(1)
dqr_store(DQR, "ORTHANC", OD, data)
env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1")
api = Api(http_port)
# StudyDate made constant, then moved by the patient's offset: what comes
# out is the offset itself, whatever the original dates were
SCRIPT = 'version "6.3"\n(0008,0020) := "20000101"\n(0008,0020) := shiftDateByIncrement[(0008,0020), subject_date_shift]\n'


def study(uid, subject, session, pid=None):
    s = {"StudyInstanceUID": uid, "subject": subject, "session": session}
    if pid:
        s["PatientID"] = pid
    return s


def post_import(studies, **extra):
    body = dict({"pacs": PACS, "project": "P1", "studies": studies}, **extra)
    return api.call("POST", "/api/v1/imports", body, token=T)


def imported(studies, **extra):
    st, b, _ = post_import(studies, **extra)
    return api.wait_import(T, b.get("id")) if st == 201 else dict(b, http=st)


def dates(subject, session):
    files = glob.glob(f"{WORK}/var/archive/P1/{subject}/{session}/**/*.dcm", recursive=True)
    return {pydicom.dcmread(f).StudyDate for f in files}


def known(results):
    """PatientID -> the known_subject of its answers (None when unknown)."""
    return {r.get("PatientID"): r.get("known_subject") for r in results}


def query():
    st, b, _ = api.call("POST", "/api/v1/query", {"pacs": PACS, "level": "STUDY", "project": "P1",
                                                 "keys": {"PatientID": "*"}}, token=T)
    return known(b.get("results", [])) if st == 200 else {"error": b}


try:
    procs.start([DQR, "serve"], open(WORK + "/serve.log", "ab"), env)
    wait_port(http_port) and wait_port(dicom_port)
    T = api.login("admin", "gateway-secret-1")
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD}, token=T)
    PACS = b["id"]
    api.call("POST", "/api/v1/projects", {"id": "P1", "dqr_enabled": True, "script": SCRIPT}, token=T)
    st, b, _ = api.call("GET", "/api/v1/projects/P1/registry", token=T)
    check("a new project enforces known labels and shifts no date", st == 200 and b.get("returning_patients") ==
          "enforce" and b.get("date_shift") == "none", b)
    st, b, _ = api.call("PUT", "/api/v1/projects/P1/registry", {"date_shift": "per_patient", "min_days": -3650,
                                                                "max_days": -1}, token=T)
    check("still enforced, with a per-patient date shift", st == 200 and b.get("returning_patients") == "enforce" and
          b.get("date_shift") == "per_patient" and b.get("min_days") == -3650, b)
    st, b, _ = api.call("PUT", "/api/v1/projects/P1/registry", {"date_shift": "per_patient", "min_days": 5,
                                                                "max_days": 1}, token=T)
    check("a range upside down: 400", st == 400, b)

    check("nobody is known before the first import", query() == {p: None for p in pids}, query())
    b = imported([study(A[0], "S001", "S001_1", pids[0])])
    check("patient A imported as S001", b.get("state") == "done" and b.get("archived") == 2, b)
    k = query()
    check("the query proposes S001 for both studies of A, nothing for B and C",
          k == {pids[0]: "S001", pids[1]: None, pids[2]: None}, k)

    st, b, _ = api.call("POST", "/api/v1/projects/P1/registry/lookup", {"patients": [{"PatientID": pids[0]},
                                                                                   {"PatientID": pids[1]}]}, token=T)
    check("the import form's lookup: A is S001, B unknown", st == 200 and b.get("known_subjects") == ["S001", None], b)
    st, b, _ = post_import([study(A[1], "S009", "S009_2", pids[0])])
    check("A under another label: 409 naming the known subject",
          st == 409 and b.get("known_subject") == "S001" and b.get("registry") is True and
          "known as subject S001" in b.get("error", ""), b)
    b = imported([study(A[1], "S009", "S009_2")])  # no PatientID: the receiver finds out
    check("A under another label without its PatientID: refused by the receiver, nothing archived",
          b.get("state") == "failed" and b.get("archived") == 0 and "known as subject S001" in str(b.get("error")), b)
    check("... and no file under S009", not glob.glob(f"{WORK}/var/archive/P1/S009/**/*.dcm", recursive=True))
    b = imported([study(A[1], "S001", "S001_2", pids[0])])
    check("A's second study under S001", b.get("state") == "done" and b.get("archived") == 2, b)
    da1, da2 = dates("S001", "S001_1"), dates("S001", "S001_2")
    check("one date offset for both studies of A (and not zero)", len(da1) == 1 and da1 == da2 and
          da1 != {"20000101"}, (da1, da2))

    st, b, _ = post_import([study(B[0], "S001", "S001_3", pids[1])])
    check("B under A's label: 409", st == 409 and "another patient" in b.get("error", ""), b)
    st, b, _ = post_import([study(B[0], "S002", "S002_1", pids[1]), study(C[0], "S002", "S002_2", pids[2])])
    check("two patients under one label in one request: 409", st == 409 and "two different patients" in
          b.get("error", ""), b)
    b = imported([study(B[0], "S002", "S002_1", pids[1]), study(C[0], "S003", "S003_1", pids[2])])
    check("B as S002 and C as S003", b.get("state") == "done", b)
    db, dc = dates("S002", "S002_1"), dates("S003", "S003_1")
    check("the offsets differ between patients", len(db) == len(dc) == 1 and not (db == da1 and dc == da1),
          (da1, db, dc))

    b = imported([study(B[1], "S007", "S007_1", pids[1])], force=True)
    check("force: B's second study under S007", b.get("state") == "done" and b.get("archived") == 2, b)
    check("... with B's own date offset", dates("S007", "S007_1") == db, (dates("S007", "S007_1"), db))
    st, b, _ = api.call("GET", "/api/v1/audit?action=subject_label_forced", token=T)
    check("force is audited", st == 200 and any(e.get("target") == "P1/S007_1" for e in b.get("events", [])), b)
    check("the registry keeps B's first label", query().get(pids[1]) == "S002", query())

    csv = f"Patient ID,Subject\n{pids[0]},S005\n{pids[1]},S002\n"
    st, b, _ = api.call("POST", "/api/v1/imports/csv/preview", {"pacs": PACS, "project": "P1", "csv": csv}, token=T)
    rows = b.get("rows", []) if st == 200 else []
    m0 = rows[0]["matches"] if rows else []
    m1 = rows[1]["matches"] if len(rows) > 1 else []
    check("CSV preview: A's row shows known subject S001 and is flagged",
          m0 and all(m.get("known_subject") == "S001" and "conflict" in m for m in m0) and "error" in rows[0], b)
    check("CSV preview: B's row under its known label is fine",
          m1 and all(m.get("known_subject") == "S002" and "conflict" not in m for m in m1) and "error" not in rows[1],
          b)
    st, b, _ = api.call("POST", "/api/v1/imports/csv/preview", {"pacs": PACS, "project": "P1", "csv": csv,
                                                                "force": True}, token=T)
    check("CSV preview with force: flagged, not an error", st == 200 and b.get("errors") == 0 and
          "conflict" in b["rows"][0]["matches"][0], b)

    # ---- a project that only proposes (an explicit choice) ---------------------------
    api.call("POST", "/api/v1/projects", {"id": "P2", "dqr_enabled": True}, token=T)
    st, b, _ = api.call("PUT", "/api/v1/projects/P2/registry", {"returning_patients": "propose"}, token=T)
    check("'propose' chosen for P2", st == 200 and b.get("returning_patients") == "propose", b)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": PACS, "project": "P2", "studies": [
        study(A[0], "X1", "X1_1", pids[0])]}, token=T)
    api.wait_import(T, b.get("id"))
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": PACS, "project": "P2", "studies": [
        study(A[1], "X2", "X2_1", pids[0])]}, token=T)
    b = api.wait_import(T, b.get("id")) if st == 201 else dict(b, http=st)
    check("'propose': a known patient under another label is imported", b.get("state") == "done", b)
    st, b, _ = api.call("POST", "/api/v1/query", {"pacs": PACS, "level": "STUDY", "project": "P2",
                                                 "keys": {"PatientID": pids[0]}}, token=T)
    check("... and its first label is proposed (each project its own registry)",
          st == 200 and {r.get("known_subject") for r in b["results"]} == {"X1"}, b)

    # ---- the re-identification key -------------------------------------------------
    for name, role, phi in (("carol", "user", False), ("dave", "admin", False), ("erin", "admin", True)):
        api.call("POST", "/api/v1/users", {"username": name, "password": "registry-pass-42", "role": role, "phi": phi},
                 token=T)
    tok = {n: api.login(n, "registry-pass-42") for n in ("carol", "dave", "erin")}
    st1, _, _ = api.call("GET", "/api/v1/projects/P1/reidentification", token=tok["carol"])
    st2, b2, _ = api.call("GET", "/api/v1/projects/P1/reidentification", token=tok["dave"])
    check("export: 403 for a user and for an admin without phi", st1 == 403 and st2 == 403, (st1, b2))
    st, b, _ = api.call("GET", "/api/v1/projects/P1/reidentification", token=tok["erin"])
    got = {s["subject"]: s["PatientID"] for s in b.get("subjects", [])} if st == 200 else {}
    check("export for a phi admin: each subject's original PatientID",
          got == {"S001": pids[0], "S002": pids[1], "S003": pids[2]}, b)
    shifts = {s["subject"]: s.get("date_shift") for s in b.get("subjects", [])} if st == 200 else {}
    shifted = {s: (datetime.date(2000, 1, 1) + datetime.timedelta(days=d)).strftime("%Y%m%d")
               for s, d in shifts.items() if isinstance(d, int)}
    check("the offsets lie in the project's range", shifts and all(isinstance(v, int) and -3650 <= v <= -1
                                                                   for v in shifts.values()), shifts)
    check("the exported offsets are the ones applied", len(shifted) == 3 and {shifted["S001"]} == da1 and
          {shifted["S002"]} == db and {shifted["S003"]} == dc, (shifts, da1, db, dc))
    st, text, r = api.call("GET", "/api/v1/projects/P1/reidentification?format=csv", token=tok["erin"])
    check("export as CSV", st == 200 and text.startswith("subject,PatientID,IssuerOfPatientID,date_shift\n") and
          f"S002,{pids[1]},,{shifts.get('S002')}\n" in text, text)
    st, b, _ = api.call("GET", "/api/v1/audit?action=phi_export_reidentification", token=T)
    ev = b.get("events", []) if st == 200 else []
    check("exports and refusals are audited", len(ev) >= 3 and all(e["target"] == "P1" for e in ev), b)
finally:
    procs.stop()

check("the scan finds the PatientIDs where they are in clear (Orthanc's storage)",
      len({h.rsplit(": ", 1)[1] for h in scan_for([WORK + "/orthanc-db"], [p.encode() for p in pids])}) == 3)
also = [os.environ["DQR_TEST_SCAN_ALSO"]] if os.environ.get("DQR_TEST_SCAN_ALSO") else []  # a PostgreSQL catalog's files
hits = scan_for([WORK + "/var", WORK + "/serve.log"] + also, [p.encode() for p in pids])
check("no planted PatientID in clear under the data directory (catalog, logs, archive)", not hits, hits[:5])
sys.exit(check.finish())
