#!/usr/bin/python3
"""The archive as a Query/Retrieve SCP at dqr's own AE and port, driven by
real clients: DCMTK findscu (Study and Patient Root, every level, wildcard
and range keys), movescu to a storescp started here, getscu; Orthanc with
dqr as a DicomModality querying and retrieving (C-FIND, then C-MOVE to
Orthanc itself); a client registered for project A never sees project B;
a move destination that is not a registered client is refused; an
unknown AE is refused at association. Orthanc is also the PACS the two
studies are imported from, so one AE is both an import source and a Q/R
client. A catalog whose query columns are empty (rows from before
migration 13) is filled again from the archived files at the next start,
and C-FIND and QIDO-RS see its instances again. Text is answered in UTF-8
from a Latin-1 archive (ISO_IR 192 in C-FIND answers, JSON in QIDO-RS),
keys match in either character set, and a catalog from before migration 20
(Latin-1 bytes) is indexed again in UTF-8. Usage: archive_qr.py DQR WORKDIR"""
import glob
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import (Api, Checks, Procs, dqr_store, free_port, generate, serve_env, start_orthanc,  # noqa: E402
                   wait_port)

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
DESC = "Schädel über"  # written by project A's script into Latin-1 (ISO_IR 100) instances
UTF8_MIGRATION = 20  # src/store/schema.c: the catalog's text in UTF-8
# what the migrations after it add, undone with it so that all apply again
# (a new migration that cannot run twice belongs here)
AFTER_UTF8 = ["ALTER TABLE import_sessions DROP COLUMN slots"]  # 21
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

src = WORK + "/src"
generate(ROOT, src, "--patients", "2", "--studies", "1", "--series", "2", "--instances", "3", "--rows", "16",
         "--cols", "16")
originals = {}
for f in glob.glob(src + "/**/*.dcm", recursive=True):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    originals.setdefault(d.StudyInstanceUID, []).append(d)
study_a, study_b = sorted(originals)

http_port, dicom_port, ss_port = free_port(), free_port(), free_port()
OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
os.makedirs(WORK + "/storescp")
procs.start(["storescp", "-aet", "QRDEST", "-od", WORK + "/storescp", str(ss_port)], open(WORK + "/storescp.log", "w"))
if not (wait_port(OD) and wait_port(ss_port)):
    print("FAIL peers did not start\n0 passed, 1 failed")
    sys.exit(1)
dqr_store(DQR, "ORTHANC", OD, src)

env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1")
api = Api(http_port)


def dcmtk(tool, *args, aet="QRCLIENT", out=None):
    """Run a DCMTK SCU against dqr; returns (exit status, output, responses extracted)."""
    if out:
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
    argv = [tool, "-aet", aet, "-aec", "DQR"] + list(args) + ["127.0.0.1", str(dicom_port)]
    p = subprocess.run(argv, capture_output=True, text=True, errors="replace", timeout=120, cwd=out or WORK)
    files = sorted(glob.glob((out or WORK) + "/*")) if out else []
    return p.returncode, p.stdout + p.stderr, [pydicom.dcmread(f) for f in files]


def find(model, level, keys, aet="QRCLIENT"):
    args = [model, "-v", "-X", "-k", f"QueryRetrieveLevel={level}"]
    for k in keys:
        args += ["-k", k]
    return dcmtk("findscu", *args, aet=aet, out=WORK + "/find")


def orthanc(method, path, body=None):
    req = urllib.request.Request(f"http://127.0.0.1:{OH}{path}", method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read() or b"null")


def start_dqr():
    p = procs.start([DQR, "serve"], open(WORK + "/serve.log", "ab"), env)
    wait_port(http_port) and wait_port(dicom_port)
    return p


try:
    serve = start_dqr()
    T = api.login("admin", "gateway-secret-1")
    H = {"token": T}
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD}, **H)
    pacs = b["id"]
    for pid in ("PA", "PB"):  # a study date kept in A (the default profile empties it), for range matching
        api.call("POST", "/api/v1/projects", {"id": pid, "name": pid, "dqr_enabled": True, "script":
                                              'version "6.3"\n(0008,0020) := "20200115"\n'
                                              f'(0008,1030) := "{DESC}"\n' if pid == "PA" else ""},
                 **H)
    for pid, uid, subj in (("PA", study_a, "SA"), ("PB", study_b, "SB")):
        st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": pid, "studies": [
            {"StudyInstanceUID": uid, "subject": subj, "session": subj + "_CT"}]}, **H)
        b = api.wait_import(T, b.get("id"))
        check(f"import into {pid} done", b.get("state") == "done" and b.get("archived") == 6, b)
    arch = {p: [pydicom.dcmread(f, stop_before_pixels=True)
                for f in glob.glob(f"{WORK}/var/archive/{p}/**/*.dcm", recursive=True)] for p in ("PA", "PB")}
    uid_a, uid_b = arch["PA"][0].StudyInstanceUID, arch["PB"][0].StudyInstanceUID
    series_a = sorted({d.SeriesInstanceUID for d in arch["PA"]})

    # ---- registration --------------------------------------------------------------------------
    st, b, _ = api.call("POST", "/api/v1/dicom-clients", {"aet": "QRCLIENT", "host": "127.0.0.1", "port": 1,
                                                          "projects": ["PA"]}, **H)
    check("POST /dicom-clients: 201 with projects", st == 201 and b["projects"] == ["PA"] and b["tls"] is False, b)
    qc = b.get("id")
    st, b, _ = api.call("POST", "/api/v1/dicom-clients", {"aet": "QRCLIENT", "host": "h", "port": 1,
                                                          "projects": []}, **H)
    check("the same AE title twice: 409", st == 409, b)
    st, b, _ = api.call("POST", "/api/v1/dicom-clients", {"aet": "X", "host": "h", "port": 1, "projects": ["NO"]}, **H)
    check("an unknown project: 400", st == 400 and "NO" in b.get("error", ""), b)
    st, b, _ = api.call("POST", "/api/v1/dicom-clients", {"aet": "QRB", "host": "127.0.0.1", "port": 1,
                                                          "projects": ["PB"]}, **H)
    st, b, _ = api.call("POST", "/api/v1/dicom-clients", {"aet": "QRDEST", "host": "127.0.0.1", "port": ss_port,
                                                          "projects": ["PA"]}, **H)
    st, b, _ = api.call("POST", "/api/v1/dicom-clients", {"aet": "ORTHANC", "host": "127.0.0.1", "port": OD,
                                                          "projects": ["PA"]}, **H)
    st, b, _ = api.call("PUT", f"/api/v1/dicom-clients/{qc}", {"host": "localhost"}, **H)
    check("PUT changes one field, keeps the rest", st == 200 and b["host"] == "localhost" and
          b["projects"] == ["PA"], b)
    st, b, _ = api.call("GET", "/api/v1/dicom-clients", **H)
    check("GET list", st == 200 and sorted(c["aet"] for c in b["dicom_clients"]) ==
          ["ORTHANC", "QRB", "QRCLIENT", "QRDEST"], b)
    st, b, _ = api.call("GET", "/api/v1/audit?action=dicom_client_create", **H)
    check("creating a client is audited", st == 200 and "QRCLIENT" in json.dumps(b), str(b)[:300])
    api.call("POST", "/api/v1/users", {"username": "plain", "password": "wonderland-42x", "role": "user"}, **H)
    st, b, _ = api.call("GET", "/api/v1/dicom-clients", token=api.login("plain", "wonderland-42x"))
    check("a non-admin may not list DICOM clients: 403", st == 403, b)

    # ---- C-FIND, Study Root -------------------------------------------------------------------
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID", "PatientID", "NumberOfStudyRelatedInstances",
                                      "ModalitiesInStudy", "StudyDate"])
    check("findscu STUDY: only project A's study, with counts", rc == 0 and len(r) == 1 and
          r[0].StudyInstanceUID == uid_a and int(r[0].NumberOfStudyRelatedInstances) == 6 and
          r[0].PatientID == "SA_CT", out[-400:])
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID", f"PatientName=S*"])
    check("wildcard PatientName S*", len(r) == 1, out[-300:])
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID", "PatientName=Z*"])
    check("wildcard that matches nothing: no response", rc == 0 and r == [], out[-300:])
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID", "StudyDate=20200101-20200131"])
    rc2, out2, r2 = find("-S", "STUDY", ["StudyInstanceUID", "StudyDate=-19991231"])
    check("date range matching", [x.StudyDate for x in r] == ["20200115"] and r2 == [], out[-300:] + out2[-300:])
    rc, out, r = find("-S", "SERIES", [f"StudyInstanceUID={uid_a}", "SeriesInstanceUID",
                                       "NumberOfSeriesRelatedInstances"])
    check("findscu SERIES: both series, 3 instances each", sorted(x.SeriesInstanceUID for x in r) == series_a and
          all(int(x.NumberOfSeriesRelatedInstances) == 3 for x in r), out[-400:])
    rc, out, r = find("-S", "IMAGE", [f"StudyInstanceUID={uid_a}", f"SeriesInstanceUID={series_a[0]}",
                                      "SOPInstanceUID"])
    want = sorted(d.SOPInstanceUID for d in arch["PA"] if d.SeriesInstanceUID == series_a[0])
    check("findscu IMAGE: the series' instances", sorted(x.SOPInstanceUID for x in r) == want, out[-400:])
    rc, out, r = find("-S", "PATIENT", ["PatientID"])
    check("Study Root has no PATIENT level: failure, no match", r == [] and "datasetdoesnotmatchsopclass" in out.lower(), out)

    # ---- C-FIND, Patient Root -----------------------------------------------------------------
    rc, out, r = find("-P", "PATIENT", ["PatientID", "PatientName"])
    check("findscu Patient Root PATIENT", [x.PatientID for x in r] == ["SA_CT"], out[-400:])
    rc, out, r = find("-P", "STUDY", ["PatientID=SA_CT", "StudyInstanceUID"])
    check("findscu Patient Root STUDY", [x.StudyInstanceUID for x in r] == [uid_a], out[-400:])
    rc, out, r = find("-P", "SERIES", ["PatientID=SA_CT", f"StudyInstanceUID={uid_a}", "SeriesInstanceUID"])
    check("findscu Patient Root SERIES", sorted(x.SeriesInstanceUID for x in r) == series_a, out[-400:])
    rc, out, r = find("-P", "IMAGE", ["PatientID=SA_CT", f"StudyInstanceUID={uid_a}",
                                      f"SeriesInstanceUID={series_a[1]}", "SOPInstanceUID"])
    check("findscu Patient Root IMAGE", len(r) == 3, out[-400:])

    # ---- character sets: the archive is Latin-1, the catalog UTF-8 ----------------------------------
    check("the archived files hold the script's text in their own character set (ISO_IR 100)",
          all(d.StudyDescription == DESC and d.SpecificCharacterSet == "ISO_IR 100" for d in arch["PA"]),
          [(d.get("SpecificCharacterSet"), d.get("StudyDescription")) for d in arch["PA"][:1]])
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID", "StudyDescription"])
    check("C-FIND answers non-ASCII text in UTF-8 and says ISO_IR 192", len(r) == 1 and
          r[0].get("SpecificCharacterSet") == "ISO_IR 192" and r[0].StudyDescription == DESC, out[-400:])
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID", "PatientID"])
    check("an answer of ASCII text names no character set", len(r) == 1 and "SpecificCharacterSet" not in r[0],
          out[-300:])
    for cs, enc in (("ISO_IR 100", "latin-1"), ("ISO_IR 192", "utf-8")):
        rc, out, r = find("-S", "STUDY", [f"SpecificCharacterSet={cs}", "StudyInstanceUID",
                                          ("StudyDescription=Schädel*").encode(enc)])
        check(f"a key in {cs} matches the catalog's text", [x.StudyInstanceUID for x in r] == [uid_a], out[-300:])
    st, b, _ = api.call("GET", f"/dicom-web/projects/PA/studies?StudyInstanceUID={uid_a}"
                               "&includefield=StudyDescription", **H)
    got = (((b or [{}])[0].get("00081030") or {}).get("Value") or [None])[0] if st == 200 else None
    check("QIDO-RS returns the text in its JSON", got == DESC, str(b)[:300])

    # ---- backfill: rows indexed before migration 13 have no query columns --------------------------
    # (the rows are emptied with sqlite3: on PostgreSQL, store_postgres, the same code runs through
    # the store layer, so this part runs on SQLite only)
    if not os.environ.get("DQR_CATALOG", "").startswith("postgres"):
        procs.stop_one(serve)
        cols = ("study_uid", "study_time", "accession", "study_id", "study_description", "patient_name", "patient_id",
                "patient_birth_date", "patient_sex", "sop_class_uid", "instance_number", "rows_n", "columns_n",
                "frames_n", "bits_allocated", "transfer_syntax")
        db = sqlite3.connect(WORK + "/var/catalog.db")
        db.execute("UPDATE archive_instances SET " + ", ".join(c + " = NULL" for c in cols))
        db.commit()
        db.close()
        serve = start_dqr()
        T = api.login("admin", "gateway-secret-1")
        H = {"token": T}
        left = 12
        for _ in range(100):
            db = sqlite3.connect(WORK + "/var/catalog.db")
            left = db.execute("SELECT COUNT(*) FROM archive_instances WHERE study_uid IS NULL").fetchone()[0]
            db.close()
            if left == 0:
                break
            time.sleep(0.2)
        time.sleep(0.3)  # the pass logs its counts once done
        log = open(WORK + "/var/logs/dqr.log").read() if os.path.exists(WORK + "/var/logs/dqr.log") else ""
        check("the backfill fills every emptied row at start, and logs its counts", left == 0 and
              "filled=12 unreadable=0" in log, [left] + [x for x in log.splitlines() if "reindex" in x][-2:])
        rc, out, r = find("-S", "STUDY", ["StudyInstanceUID", "PatientID", "NumberOfStudyRelatedInstances"])
        check("after the backfill C-FIND sees the study again, with its counts", [x.StudyInstanceUID for x in r] ==
              [uid_a] and int(r[0].NumberOfStudyRelatedInstances) == 6 and r[0].PatientID == "SA_CT", out[-400:])
        st, b, _ = api.call("GET", f"/dicom-web/projects/PA/studies?StudyInstanceUID={uid_a}", **H)
        check("after the backfill QIDO-RS sees it too", st == 200 and len(b) == 1, str(b)[:300])

        # a catalog from before the UTF-8 migration holds the files' Latin-1 bytes
        procs.stop_one(serve)
        db = sqlite3.connect(WORK + "/var/catalog.db")
        db.execute("UPDATE archive_instances SET study_description = CAST(? AS TEXT) WHERE project = 'PA'",
                   (DESC.encode("latin-1"),))
        db.execute("DELETE FROM schema_version WHERE version >= ?", (UTF8_MIGRATION,))
        for sql in AFTER_UTF8:
            db.execute(sql)
        db.commit()
        db.close()
        serve = start_dqr()
        T = api.login("admin", "gateway-secret-1")
        H = {"token": T}
        got = None
        for _ in range(100):
            st, b, _ = api.call("GET", f"/dicom-web/projects/PA/studies?StudyInstanceUID={uid_a}"
                                       "&includefield=StudyDescription", **H)
            got = (((b or [{}])[0].get("00081030") or {}).get("Value") or [None])[0] if st == 200 and b else None
            if got == DESC:
                break
            time.sleep(0.2)
        check(f"migration {UTF8_MIGRATION}: Latin-1 catalog text is indexed again, in UTF-8, at start", got == DESC,
              [got])

    # ---- permissions --------------------------------------------------------------------------
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID"], aet="QRB")
    check("the client of project B sees B's study only", [x.StudyInstanceUID for x in r] == [uid_b], out[-300:])
    rc, out, r = find("-S", "STUDY", [f"StudyInstanceUID={uid_b}"])
    check("project A's client never sees B's study, even by its UID", r == [], out[-300:])
    rc, out, r = find("-S", "STUDY", ["StudyInstanceUID"], aet="STRANGER")
    check("an unknown AE is refused at association", rc != 0 and r == [] and
          "calling ae title not recognized" in out.lower(), out[-400:])

    # ---- C-MOVE to a storescp, C-GET ----------------------------------------------------------
    rc, out, _ = dcmtk("movescu", "-S", "-aem", "QRDEST", "-k", "QueryRetrieveLevel=STUDY", "-k",
                       f"StudyInstanceUID={uid_a}")
    time.sleep(0.5)
    got = [pydicom.dcmread(f) for f in glob.glob(WORK + "/storescp/*")]
    check("movescu: the study reaches the storescp", rc == 0 and
          sorted(d.SOPInstanceUID for d in got) == sorted(d.SOPInstanceUID for d in arch["PA"]), out[-400:])
    rc, out, _ = dcmtk("movescu", "-S", "-aem", "QRDEST", "-k", "QueryRetrieveLevel=STUDY", "-k",
                       f"StudyInstanceUID={uid_b}")
    check("movescu of B's study by A's client moves nothing",
          len(glob.glob(WORK + "/storescp/*")) == 6, out[-400:])
    rc, out, _ = dcmtk("movescu", "-S", "-aem", "NOWHERE", "-k", "QueryRetrieveLevel=STUDY", "-k",
                       f"StudyInstanceUID={uid_a}")
    check("a destination that is no registered client: Move Destination unknown", "movedestinationunknown" in out.lower(), out[-400:])
    rc, out, r = dcmtk("getscu", "-S", "-k", "QueryRetrieveLevel=SERIES", "-k", f"StudyInstanceUID={uid_a}", "-k",
                       f"SeriesInstanceUID={series_a[0]}", out=WORK + "/get")
    check("getscu: the series comes back on the association", rc == 0 and
          sorted(d.SOPInstanceUID for d in r) == want and all(d.PixelData for d in r), out[-400:])

    # ---- C-MOVE to a client with tls: DICOM TLS to a storescp that speaks TLS only --------------
    t = WORK + "/tls"
    os.makedirs(t + "/rx")
    ssl = lambda *a: subprocess.run(["openssl"] + list(a), cwd=t, check=True, capture_output=True)  # noqa: E731
    for ca in ("ca", "other"):
        ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out", ca + ".crt", "-subj",
            "/CN=" + ca, "-days", "2")
    open(t + "/ext.cnf", "w").write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr", "-subj",
            "/CN=" + name)
        ssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out",
            name + ".crt", "-days", "2", "-extfile", "ext.cnf")
        os.chmod(f"{t}/{name}.key", 0o600)
    tls_port = free_port()
    procs.start(["storescp", "+tls", t + "/server.key", t + "/server.crt", "+cf", t + "/ca.crt", "-aet", "QRTLS",
                 "-od", t + "/rx", str(tls_port)], open(t + "/storescp.log", "w"))
    wait_port(tls_port)
    for aet, ca in (("QRTLS", "ca"), ("QRTLSBAD", "other")):
        st, b, _ = api.call("POST", "/api/v1/dicom-clients", {
            "aet": aet, "host": "127.0.0.1", "port": tls_port, "projects": ["PA"], "tls": True,
            "tls_ca": f"{t}/{ca}.crt", "tls_cert": t + "/client.crt", "tls_key": t + "/client.key"}, **H)
    rc, out, _ = dcmtk("movescu", "-v", "-S", "-aem", "QRTLS", "-k", "QueryRetrieveLevel=STUDY", "-k",
                       f"StudyInstanceUID={uid_a}")
    check("C-MOVE to a client with tls: the study arrives over DICOM TLS", len(glob.glob(t + "/rx/*")) == 6,
          out[-400:])
    rc, out, _ = dcmtk("movescu", "-v", "-S", "-aem", "QRTLSBAD", "-k", "QueryRetrieveLevel=STUDY", "-k",
                       f"StudyInstanceUID={uid_a}")
    check("a destination whose certificate its tls_ca does not trust: nothing sent, the move fails",
          len(glob.glob(t + "/rx/*")) == 6 and "outofresourcessuboperations" in out.lower(),
          out[-400:])

    # ---- Orthanc with dqr as a DicomModality -----------------------------------------------------
    q = orthanc("POST", "/modalities/dqr/query", {"Level": "Study", "Query": {"StudyInstanceUID": ""}})
    answers = orthanc("GET", f"/queries/{q['ID']}/answers?expand")
    uids = [a.get("0020,000d", {}).get("Value") for a in answers]
    check("Orthanc's C-FIND to dqr sees project A's study", uids == [uid_a], answers)
    orthanc("POST", f"/queries/{q['ID']}/retrieve", {"TargetAet": "ORTHANC", "Synchronous": True})
    found = orthanc("POST", "/tools/find", {"Level": "Study", "Query": {"StudyInstanceUID": uid_a}})
    inst = orthanc("GET", f"/studies/{found[0]}/instances") if found else []
    check("Orthanc's C-MOVE from dqr to itself: the de-identified study arrives", len(inst) == 6, found)
finally:
    procs.stop()
sys.exit(check.finish())
