#!/usr/bin/python3
"""End-to-end import tests of `dqr serve` against real peers it starts here
(Orthanc, DCMTK dcmqrscp) loaded with the project's generated studies with
planted canary PHI: query, import with relabels by C-MOVE and C-GET, the
archive's files and index, re-import, CSV bulk import, retries against a
dead PACS, availability windows, cancel and retry, kill -9 mid-import,
unrequested instances, history, zip download, delete, and a scan of every
byte under the data directory for the canaries. Usage: import_e2e.py DQR WORKDIR"""
import base64
import glob
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import (Api, Checks, Procs, Throttle, all_day, canary_needles, dqr_store, free_port, generate, scan_for,  # noqa: E402
                   serve_env, start_dcmqrscp, start_orthanc, wait_port)

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
os.environ["TCP_NODELAY"] = "1"

# ---- data: small studies for most steps, one large study for kill -9 ----------
small, big = WORK + "/small", WORK + "/big"
canaries = generate(ROOT, small, "--patients", "3", "--studies", "2", "--series", "2", "--instances", "3",
                    "--rows", "16", "--cols", "16")
canaries += generate(ROOT, big, "--patients", "1", "--studies", "1", "--series", "2", "--instances", "1000",
                     "--rows", "32", "--cols", "32", "--seed", "7")
meta = {}
for f in glob.glob(small + "/**/*.dcm", recursive=True) + glob.glob(big + "/**/*.dcm", recursive=True):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    meta.setdefault(d.StudyInstanceUID, []).append(d)
small_studies = sorted(u for u, ds in meta.items() if len(ds) < 100)
big_study = [u for u, ds in meta.items() if len(ds) >= 100][0]
needles = canary_needles(canaries)
# Each patient has one subject label, as a project's pseudonym registry
# enforces (docs/import.md, "Returning patients"): the small studies'
# three patients are S01..S03 in the order of their first study; the big
# study's generator (another seed) may give its patient the PatientID of
# one of them: then it is that patient, returning (S20 otherwise).
# Sessions stay one per study.
first_of = {}
for u in small_studies:
    first_of.setdefault(meta[u][0].PatientID, u)
label_of = {p: f"S0{i + 1}" for i, p in enumerate(sorted(first_of, key=first_of.get))}
label_of.setdefault(meta[big_study][0].PatientID, "S20")


def subj(uid):
    """The subject label of the patient of study uid."""
    return label_of[meta[uid][0].PatientID]


http_port, dicom_port, dicom_port_b = free_port(), free_port(), free_port()
OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]},
                       {"Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
                        "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}})
orthanc = procs.list[-1]
QR = start_dcmqrscp(procs, WORK, "DCMQRSCP", {"dqr": ("DQR", dicom_port), "dqrb": ("DQRB", dicom_port_b)})
if not (wait_port(OD) and wait_port(QR)):
    print("FAIL peers did not start\n0 passed, 1 failed")
    sys.exit(1)
for aet, port in (("ORTHANC", OD), ("DCMQRSCP", QR)):
    dqr_store(DQR, aet, port, small)
dqr_store(DQR, "ORTHANC", OD, big)

env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port,
           DQR_IMPORT_POLL_SECONDS="1", DQR_IMPORT_RETRY_SECONDS="1", DQR_IMPORT_MAX_ATTEMPTS="2",
           DQR_RECEIVERS=f"DQRB@127.0.0.1:{dicom_port_b}")
log = open(WORK + "/serve.stderr", "ab")


def start_serve():
    p = procs.start([DQR, "serve"], log, env)
    wait_port(http_port) and wait_port(dicom_port) and wait_port(dicom_port_b)
    return p


api = Api(http_port)



def import_done(pacs, studies, project="P1"):
    """POST /imports, then wait for the request's end state."""
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": project, "studies": studies}, token=T)
    return api.wait_import(T, b.get("id"))


def archive_files(*parts):
    return sorted(glob.glob(os.path.join(WORK, "var", "archive", *parts, "**", "*.dcm"), recursive=True))


try:
    serve = start_serve()
    T = api.login("admin", "gateway-secret-1")
    H = {"token": T}
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD, "default_qr": True}, **H)
    P_ORTH = b["id"]
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "dcmqrscp", "aet": "DCMQRSCP", "host": "127.0.0.1",
                                                 "port": QR, "retrieve": "get"}, **H)
    P_QR = b["id"]
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "dead", "aet": "NOBODY", "host": "127.0.0.1",
                                                 "port": free_port()}, **H)
    P_DEAD = b["id"]
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Study one", "dqr_enabled": True,
                                          "script": 'version "6.3"\n(0008,1030) := "P1 study"\n'}, **H)
    api.call("POST", "/api/v1/projects", {"id": "OFF", "name": "Not enabled"}, **H)

    # ---- request checks -------------------------------------------------------------
    one = {"StudyInstanceUID": small_studies[0], "subject": "S01", "session": "S01_CT"}
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "OFF", "studies": [one]}, **H)
    check("import into a project that is not DQR-enabled: 409", st == 409, b)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "P1", "studies": [
        dict(one, subject="../etc")]}, **H)
    check("a label that is not a folder name: 400", st == 400 and "subject" in b["error"], b)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "P1", "studies": [
        dict(one, overrides={"StationName": "X"})]}, **H)
    check("overrides only of the six remapped fields: 400", st == 400 and "overrides" in b["error"], b)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "P1", "studies": [one, one]}, **H)
    check("a session label twice: 400", st == 400 and "twice" in b["error"], b)

    # ---- query, then import three studies with relabels (C-MOVE from Orthanc) ----------------
    st, b, _ = api.call("POST", "/api/v1/query", {"pacs": P_ORTH, "level": "STUDY", "keys": {"PatientID": "*"}}, **H)
    found = {x["StudyInstanceUID"] for x in b.get("results", [])}
    check("query finds every study", st == 200 and found == set(small_studies) | {big_study}, b)
    pick = sorted(first_of.values())  # one study of each patient
    studies = [{"StudyInstanceUID": u, "subject": subj(u), "session": f"{subj(u)}_CT"} for u in pick]
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "P1", "studies": studies}, **H)
    check("import of 3 studies: 201 with id and state", st == 201 and b["id"] and
          b["state"] in ("queued", "running"), b)
    b = api.wait_import(T, b.get("id"))
    expected = sum(len(meta[u]) for u in pick)
    check("C-MOVE import done: expected = received = archived",
          b.get("state") == "done" and b["expected"] == b["received"] == b["archived"] == expected, b)
    # the list carries each request's summary and its first sessions; the rest are paged
    full = b
    st, lst, _ = api.call("GET", "/api/v1/imports?limit=5&sessions=1", **H)
    mine = [x for x in lst.get("imports", []) if x["id"] == full["id"]]
    check("list: the request's summary and sums, its first session only",
          st == 200 and mine and mine[0]["sessions_total"] == 3 and mine[0]["sessions"] == full["sessions"][:1] and
          all(mine[0][k] == full[k] for k in ("state", "expected", "received", "archived", "bytes")), lst)
    st, pg, _ = api.call("GET", "/api/v1/imports/%d/sessions?limit=2&offset=1" % full["id"], **H)
    check("a request's sessions paged", st == 200 and pg["total"] == 3 and pg["sessions"] == full["sessions"][1:3],
          pg)
    ok = True
    for s in studies:
        files = archive_files("P1", s["subject"], s["session"])
        ds = [pydicom.dcmread(f) for f in files]
        orig_sops = {d.SOPInstanceUID for d in meta[s["StudyInstanceUID"]]}
        ok = ok and len(files) == len(meta[s["StudyInstanceUID"]]) and all(
            str(d.PatientName) == s["subject"] and d.PatientID == s["session"] and
            d.StudyDescription == "P1 study" and d.PatientIdentityRemoved == "YES" and
            d.SOPInstanceUID not in orig_sops and d.StudyInstanceUID != s["StudyInstanceUID"] and
            os.path.basename(f) == d.SOPInstanceUID + ".dcm" for d, f in zip(ds, files))
    check("archive: exactly the instances, relabelled, de-identified, project script last", ok)
    st, b, _ = api.call("GET", "/api/v1/projects/P1/subjects", **H)
    check("browse subjects", st == 200 and [x["label"] for x in b["subjects"]] == ["S01", "S02", "S03"], b)

    def subjects_agree(when):
        """The subject list (from the per-session summary) sums what each
        subject's sessions (read from the instance rows) say."""
        st, b, _ = api.call("GET", "/api/v1/projects/P1/subjects", **H)
        bad = []
        for x in b.get("subjects", []):
            ses = api.call("GET", "/api/v1/projects/P1/subjects/%s/sessions" % x["label"], **H)[1]["sessions"]
            want = (len(ses), sum(y["instances"] for y in ses), sum(y["bytes"] for y in ses),
                    max(y["updated"] for y in ses))
            if (x["sessions"], x["instances"], x["bytes"], x["updated"]) != want:
                bad.append((x, want))
        check("subject list agrees with the sessions " + when, st == 200 and b["subjects"] and not bad, (b, bad))
    subjects_agree("after the imports")
    st, b, _ = api.call("GET", "/api/v1/projects/P1/subjects/S01/sessions", **H)
    check("browse sessions", st == 200 and b["sessions"][0]["label"] == "S01_CT" and
          b["sessions"][0]["instances"] == len(meta[pick[0]]), b)
    st, b, _ = api.call("GET", "/api/v1/projects/P1/subjects/S01/sessions/S01_CT", **H)
    check("session with series and counts", st == 200 and len(b["series"]) == 2 and
          sum(x["instances"] for x in b["series"]) == len(meta[pick[0]]), b)

    # ---- re-import the same study into the same session: updates, never duplicates --------------
    b = import_done(P_ORTH, [studies[0]])
    st2, s2, _ = api.call("GET", "/api/v1/projects/P1/sessions/S01_CT", **H)
    check("re-import: same files, same count", b.get("state") == "done" and
          len(archive_files("P1", "S01", "S01_CT")) == len(meta[pick[0]]) == s2["instances"], (b, s2))
    subjects_agree("after a re-import")

    # ---- C-GET from DCMTK dcmqrscp ----------------------------------------------------------------
    b = import_done(P_QR, [{"StudyInstanceUID": small_studies[1], "subject": subj(small_studies[1]),
                            "session": "S04_CT",
                            "series": [meta[small_studies[1]][0].SeriesInstanceUID]}])
    one_series = [d for d in meta[small_studies[1]] if d.SeriesInstanceUID == meta[small_studies[1]][0].SeriesInstanceUID]
    check("C-GET from dcmqrscp, one chosen series", b.get("state") == "done" and
          len(archive_files("P1", subj(small_studies[1]), "S04_CT")) == len(one_series) == b["archived"], b)

    # ---- WADO-RS from Orthanc's DICOMweb plugin: a whole study, and one chosen series -----------------
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc-web", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD, "protocol": "dicomweb",
                                                 "url": f"http://127.0.0.1:{OH}/dicom-web/"}, **H)
    P_WEB = b["id"]
    one_series_uid = meta[small_studies[5]][0].SeriesInstanceUID
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_WEB, "project": "P1", "studies": [
        {"StudyInstanceUID": small_studies[2], "subject": subj(small_studies[2]), "session": "W01_CT"},
        {"StudyInstanceUID": small_studies[5], "subject": subj(small_studies[5]), "session": "W02_CT",
         "series": [one_series_uid]}]},
                        **H)
    b = api.wait_import(T, b.get("id"))
    n_series = len([d for d in meta[small_studies[5]] if d.SeriesInstanceUID == one_series_uid])
    files = archive_files("P1", subj(small_studies[2]), "W01_CT")
    check("WADO-RS import: whole study and one series, de-identified", b.get("state") == "done" and
          len(files) == len(meta[small_studies[2]]) and len(archive_files("P1", subj(small_studies[5]), "W02_CT")) == n_series and
          b["archived"] == b["expected"] == len(files) + n_series and
          all(str(pydicom.dcmread(f).PatientName) == subj(small_studies[2]) for f in files), b)

    # ---- C-MOVE from dcmqrscp to a second receiver; a PACS naming a receiver dqr does not run ----------
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "dcmqrscp-move", "aet": "DCMQRSCP", "host": "127.0.0.1",
                                                 "port": QR, "receiver_aet": "DQRB"}, **H)
    b = import_done(b["id"], [{"StudyInstanceUID": small_studies[3], "subject": subj(small_studies[3]),
                               "session": "S08_CT"}])
    check("C-MOVE from dcmqrscp to the second receiver (DQRB)", b.get("state") == "done" and
          len(archive_files("P1", subj(small_studies[3]), "S08_CT")) == len(meta[small_studies[3]]) == b["archived"], b)
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "nowhere", "aet": "DCMQRSCP", "host": "127.0.0.1",
                                                 "port": QR, "receiver_aet": "NOSUCH"}, **H)
    b = import_done(b["id"], [{"StudyInstanceUID": small_studies[3], "subject": subj(small_studies[3]),
                               "session": "S08_X"}])
    check("a receiver dqr does not run: failed, saying so", b.get("state") == "failed" and
          "NOSUCH" in (b.get("error") or ""), b)

    # ---- CSV bulk import ---------------------------------------------------------------------------
    big_pid = meta[big_study][0].PatientID
    pid = [meta[u][0].PatientID for u in small_studies if meta[u][0].PatientID != big_pid][0]  # has two studies
    csv = ("Patient ID,Study Date,Subject,Session\n"
           f"{pid},,{label_of[pid]},S05_CT\n"
           "NO-SUCH-PATIENT,,S06,S06_CT\n"
           f"{pid},2020-01-01,{label_of[pid]},S07_CT\n")
    st, b, _ = api.call("POST", "/api/v1/imports/csv/preview", {"pacs": P_ORTH, "project": "P1", "csv": csv}, **H)
    rows = {r["line"]: r for r in b.get("rows", [])}
    check("CSV preview: two matches get _1 and _2", st == 200 and
          sorted(m["session"] for m in rows[2]["matches"]) == ["S05_CT_1", "S05_CT_2"], b)
    check("CSV preview: no match reported with its line", "error" in rows.get(3, {}) and
          "no study" in rows[3]["error"], rows.get(3))
    check("CSV preview: malformed date reported with its line", "Study Date" in rows.get(4, {}).get("error", ""),
          rows.get(4))
    st, b, _ = api.call("POST", "/api/v1/imports/csv", {"pacs": P_ORTH, "project": "P1", "csv": csv}, **H)
    check("CSV with errors queues nothing: 400", st == 400 and b["errors"] == 2, b)
    st, b, _ = api.call("POST", "/api/v1/imports/csv", {"pacs": P_ORTH, "project": "P1",
                                                        "csv": "Patient ID,Subject,Session\r\n" + f"{pid},{label_of[pid]},S05_CT\r\n"},
                        **H)
    check("CSV import queued as bulk", st == 201 and b["bulk"] is True and len(b["sessions"]) == 2, b)
    b = api.wait_import(T, b.get("id"))
    check("CSV import done", b.get("state") == "done" and b["archived"] == sum(len(meta[u]) for u in small_studies
                                                                                if meta[u][0].PatientID == pid), b)

    # ---- scripts that reject or fail: nothing written, the request says why -----------------------------
    api.call("POST", "/api/v1/projects", {"id": "REJ", "dqr_enabled": True,
                                          "script": 'version "6.3"\n(0008,0060) = "CT" ? reject[]\n'}, **H)
    api.call("POST", "/api/v1/projects", {"id": "ERR", "dqr_enabled": True, "script":
                                          'version "6.3"\nalterPixels["circle", "l=0,t=0,r=10,b=10", "solid", "v=0"]\n'},
             **H)
    b = import_done(P_ORTH, [{"StudyInstanceUID": small_studies[0], "subject": "R01", "session": "R01_CT"}],
                    project="REJ")
    check("a script's reject: instances dropped and counted", b.get("state") == "done" and
          b["rejected"] == len(meta[small_studies[0]]) and b["archived"] == 0 and not archive_files("REJ"), b)
    b = import_done(P_ORTH, [{"StudyInstanceUID": small_studies[0], "subject": "E01", "session": "E01_CT"}],
                    project="ERR")
    check("a script error: nothing written, the request names the script line", b.get("state") == "failed" and
          b["failed"] == len(meta[small_studies[0]]) and not archive_files("ERR") and
          "project script:2:" in (b.get("error") or ""), b)

    # ---- a PACS that does not answer: retried, then failed with the reason ------------------------------
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_DEAD, "project": "P1", "studies": [
        {"StudyInstanceUID": "1.2.3.4", "subject": "S09", "session": "S09_X"}]}, **H)
    b = api.wait_import(T, b.get("id"), secs=30)
    check("dead PACS: retried, then failed with a clear reason", b.get("state") == "failed" and
          "gave up after 2 attempts" in (b.get("error") or "") and "connect" in b["error"] and
          b["sessions"][0]["attempts"] == 2, b)

    # ---- availability window closed: waits; cancel and retry; runs when the window opens ------------------
    # open only on a day three days from today (UTC): closed now, whatever the hour
    week = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    days = {week[(time.gmtime().tm_wday + 3) % 7]: [{"start": "00:00", "end": "24:00"}]}
    st, b, _ = api.call("PUT", f"/api/v1/pacs/{P_ORTH}/schedule", {"timezone": "UTC", "days": days}, **H)
    check("closing the window", st == 200, b)
    st, a, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "P1", "studies": [
        {"StudyInstanceUID": small_studies[5], "subject": subj(small_studies[5]), "session": "S10_CT"}]}, **H)
    st, c, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "P1", "studies": [
        {"StudyInstanceUID": small_studies[1], "subject": subj(small_studies[1]), "session": "S11_CT"}]}, **H)
    a = api.wait_import(T, a["id"], states=("waiting-window",), secs=10)
    check("outside the window: waiting-window with the next opening", a.get("state") == "waiting-window" and
          a["sessions"][0]["next_window"], a)
    st, c2, _ = api.call("POST", f"/api/v1/imports/{c['id']}/cancel", **H)
    check("cancel a waiting request", st == 200 and c2["state"] == "cancelled", c2)
    st, c2, _ = api.call("POST", f"/api/v1/imports/{c['id']}/retry", **H)
    check("retry a cancelled request", st == 200 and c2["state"] in ("queued", "waiting-window"), c2)
    time.sleep(1.5)
    check("still waiting while the window is closed",
          api.call("GET", f"/api/v1/imports/{a['id']}", **H)[1]["state"] == "waiting-window")
    # a new schedule moves the opening: the waiting sessions are told (the scheduler writes them only then)
    told = a["sessions"][0]["next_window"]
    later = {week[(time.gmtime().tm_wday + 5) % 7]: [{"start": "00:00", "end": "24:00"}]}
    st, b, _ = api.call("PUT", f"/api/v1/pacs/{P_ORTH}/schedule", {"timezone": "UTC", "days": later}, **H)
    t_end, now_told = time.time() + 10, told
    while time.time() < t_end and now_told == told:
        time.sleep(0.3)
        now_told = api.call("GET", f"/api/v1/imports/{a['id']}", **H)[1]["sessions"][0]["next_window"]
    check("a new schedule: the waiting session's next opening follows", st == 200 and now_told and now_told > told,
          (told, now_told))
    st, b, _ = api.call("PUT", f"/api/v1/pacs/{P_ORTH}/schedule", all_day(2), **H)
    a, c = api.wait_import(T, a["id"]), api.wait_import(T, c["id"])
    check("the window opens: both run to done", a.get("state") == "done" and c.get("state") == "done", (a, c))

    # ---- kill -9 mid-import, restart: completes, no duplicate, no partial file ---------------------------
    # Orthanc throttled: unthrottled, the 2,000 instances once went from under
    # 10 archived to done between two 20-ms polls (progress reaches the catalog
    # every 250 ms)
    slow = Throttle(orthanc)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P_ORTH, "project": "P1", "studies": [
        {"StudyInstanceUID": big_study, "subject": subj(big_study), "session": "S20_CT"}]}, **H)
    big_id = b["id"]
    end, mid = time.time() + 60, None
    while time.time() < end:
        mid = api.call("GET", f"/api/v1/imports/{big_id}", **H)[1]
        if mid["state"] == "running" and mid["archived"] >= 10 or mid["state"] in ("done", "failed"):
            break
        time.sleep(0.02)
    serve.send_signal(signal.SIGKILL)
    serve.wait()
    slow.stop()
    check("killed mid-import", mid["state"] == "running" and 0 < mid["archived"] < len(meta[big_study]), mid)
    serve = start_serve()
    b = api.wait_import(T, big_id, secs=120)
    files = archive_files("P1", subj(big_study), "S20_CT")
    st, s, _ = api.call("GET", "/api/v1/projects/P1/sessions/S20_CT", **H)
    tmp = glob.glob(WORK + "/var/archive/**/*.tmp.*", recursive=True)
    check("after restart: done, every instance once, no partial file", b.get("state") == "done" and
          len(files) == len(meta[big_study]) == s["instances"] and not tmp and
          b["sessions"][0]["attempts"] == 2, (b.get("state"), len(files), s.get("instances"), tmp[:3]))
    bad = []
    for f in files[:: max(1, len(files) // 20)]:
        try:
            pydicom.dcmread(f).pixel_array
        except Exception as e:  # a truncated file shows here
            bad.append(f"{f}: {e}")
    check("archived files read whole (pydicom, pixel data)", not bad, bad[:3])

    # ---- an instance nobody asked for ---------------------------------------------------------------------
    # from a registered PACS (any other calling AE is refused at association: tests/security/peers.py)
    p = subprocess.run([DQR, "store", "--aet", "ORTHANC", "--call", "DQR", "127.0.0.1", str(dicom_port),
                        glob.glob(small + "/**/*.dcm", recursive=True)[0]], capture_output=True, text=True)
    check("unrequested instance refused", p.returncode != 0 and "0x0124" in p.stdout + p.stderr, p.stdout + p.stderr)

    # ---- histories, identifiers, download, delete ----------------------------------------------------------
    st, h, _ = api.call("GET", "/api/v1/history/imports", **H)
    row = [x for x in h.get("imports", []) if x["session"] == "S01_CT"][-1]
    check("import history: who, when, PACS, project, labels, counts, durations",
          st == 200 and row["user"] == "admin" and row["pacs_label"] == "orthanc" and row["project"] == "P1" and
          row["archived"] == len(meta[pick[0]]) and row["finished"] and "ms" in row and row["has_identifiers"], row)
    st, ids, _ = api.call("GET", f"/api/v1/history/imports/{row['id']}/identifiers", **H)
    orig = meta[pick[0]][0]
    check("original identifiers unsealed for phi users", st == 200 and
          ids["identifiers"]["PatientID"] == orig.PatientID and
          ids["identifiers"]["AccessionNumber"] == orig.AccessionNumber, ids)
    api.call("POST", "/api/v1/users", {"username": "bob", "password": "builder-pw-77", "role": "user"}, **H)
    api.call("PUT", "/api/v1/users/2/grants", {"pacs": [P_ORTH], "projects": ["P1"]}, **H)
    bob = api.login("bob", "builder-pw-77")
    st, b, _ = api.call("GET", f"/api/v1/history/imports/{row['id']}/identifiers", token=bob)
    check("no phi permission: 403", st == 403, b)
    st, b, _ = api.call("GET", "/api/v1/history/imports", token=bob)
    check("users see their own import history", st == 200 and b["imports"] == [], b)
    st, b, _ = api.call("GET", f"/api/v1/imports/{big_id}", token=bob)
    check("another user's import: 404", st == 404, b)
    st, b, _ = api.call("GET", f"/api/v1/imports/{big_id}/sessions", token=bob)
    check("another user's import's sessions: 404", st == 404, b)
    st, data, r = api.call("GET", "/api/v1/projects/P1/sessions/S01_CT/download", binary=True, **H)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist() if st == 200 else []
    check("download a session as a zip", st == 200 and r.getheader("Content-Type") == "application/zip" and
          len(names) == len(meta[pick[0]]) and all(n.startswith("S01_CT/") and n.endswith(".dcm") for n in names),
          names[:3])
    # ---- dry run of the scripts, and sending a session to a storable PACS ------------------------------------
    st, b, _ = api.call("POST", "/api/v1/projects/P1/dry-run", {}, **H)
    ch = {c["keyword"]: c for c in b.get("changes", [])}
    check("dry run on the built-in sample: before -> after", st == 200 and
          ch["PatientName"]["before"] == "SAMPLE^PATIENT" and ch["PatientName"]["after"] == "SUBJECT" and
          ch["StudyDescription"]["after"] == "P1 study" and ch["PatientIdentityRemoved"]["change"] == "added", b)
    sample = base64.b64encode(open(glob.glob(small + "/**/*.dcm", recursive=True)[0], "rb").read()).decode()
    st, b, _ = api.call("POST", "/api/v1/projects/P1/dry-run", {"instance": sample,
                                                               "script": 'version "6.3"\n(0010,0010) := "X"\n'}, **H)
    ch = {c["keyword"]: c for c in b.get("changes", [])}
    check("dry run on an uploaded instance with an unsaved script", st == 200 and b["sample"] == "uploaded" and
          ch["PatientName"]["after"] == "X" and ch["PatientName"]["before"].startswith("DQRCANARY"), b)
    st, b, _ = api.call("POST", "/api/v1/projects/P1/dry-run", {"script": 'version "6.3"\n(0010,0010) := \n'}, **H)
    check("dry run of a broken script: 400 at line:column", st == 400 and b.get("line") == 2, b)
    api.call("PUT", f"/api/v1/pacs/{P_QR}", {"storable": True}, **H)
    st, b, _ = api.call("POST", "/api/v1/projects/P1/sessions/S01_CT/send", {"pacs": P_QR}, **H)
    sid = b.get("id")
    for _ in range(100):
        st, b, _ = api.call("GET", f"/api/v1/sends/{sid}", **H)
        if b.get("state") != "running":
            break
        time.sleep(0.1)
    check("send a session to a storable PACS: per-instance results", st == 200 and b["state"] == "done" and
          b["sent"] == b["total"] == len(meta[pick[0]]) and all(x["ok"] for x in b["results"]), b)
    st, b, _ = api.call("POST", "/api/v1/projects/P1/sessions/S01_CT/send", {"pacs": P_ORTH}, **H)
    check("send to a PACS not marked storable: 409", st == 409, b)

    st, b, _ = api.call("DELETE", "/api/v1/projects/P1/sessions/S02_CT", token=bob)
    check("delete needs an admin: 403", st == 403, b)
    others = [f for f in archive_files("P1", "S02") if "/S02_CT/" not in f]  # the subject's other sessions
    st, b, _ = api.call("DELETE", "/api/v1/projects/P1/sessions/S02_CT", **H)
    check("admin deletes a session: files and index", st == 200 and not archive_files("P1", "S02", "S02_CT") and
          api.call("GET", "/api/v1/projects/P1/sessions/S02_CT", **H)[0] == 404, b)
    check("... and only that session: the subject's others stay", all(os.path.exists(f) for f in others), others)
    subjects_agree("after a session's delete")

    # ---- no canary anywhere under the data directory, in the log or on standard error --------------------------
    procs.stop_one(serve)
    check("SIGTERM: clean stop, exit 0 (under ASan: no leak)", serve.returncode == 0, serve.returncode)
    log.flush()
    hits = scan_for([WORK + "/var"] + [p for p in [os.environ.get("DQR_TEST_SCAN_ALSO")] if p], needles) + [f"stderr: {x}" for x in needles
                                                if x in open(WORK + "/serve.stderr", "rb").read()]
    check("no canary in the archive, catalog, WAL, logs, temp files or stderr", not hits, hits[:5])
    st = os.stat(WORK + "/var")
    check("data_dir is private (0700)", oct(st.st_mode & 0o777) == "0o700", oct(st.st_mode))
finally:
    procs.stop()
sys.exit(check.finish())
