#!/usr/bin/python3
"""Secrets and files of `dqr serve` (issue #12, items 7 and 8), against a
real Orthanc: every file and folder under the data directory is private
after an import (also with a data dir made 0755 before and umask 022); a
session label is not given to a second subject (API, one request, CSV
preview); the catalog holds neither the original StudyInstanceUID nor an
override's birth date in clear; the retention purge runs with no one
opening a history page; retrying an import rechecks grants and the
scheduler fails imports of disabled users; a deleted vault key is not
regenerated over sealed values; a UID secret readable by others is
refused; --print-config masks passwords. Usage: sealed_and_private.py DQR WORKDIR"""
import sys

# This file's name is the standard library's `secrets` (numpy imports it):
# its folder must not come first on the module path.
del sys.path[0]
import glob  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sqlite3  # noqa: E402
import stat  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import Api, Checks, Procs, dqr_store, every_day, free_port, generate, start_orthanc, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
os.umask(0o022)  # what a shell or service manager usually passes on: dqr must not rely on it

data = WORK + "/data"
generate(ROOT, data, "--patients", "2", "--studies", "1", "--series", "1", "--instances", "2",
         "--rows", "8", "--cols", "8")
studies = {}
for f in glob.glob(data + "/**/*.dcm", recursive=True):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    studies[d.StudyInstanceUID] = d.PatientID
A, B = sorted(studies)
BIRTH = "19330303"  # an override's birth date: PHI the catalog must not hold in clear

http_port, dicom_port = free_port(), free_port()
OD, _ = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
if not wait_port(OD):
    print("FAIL Orthanc did not start\n0 passed, 1 failed")
    sys.exit(1)
dqr_store(DQR, "ORTHANC", OD, data)

VAR, KEY, SECRET = WORK + "/var", WORK + "/keys/vault.key", WORK + "/keys/uid-secret"
os.makedirs(VAR)
os.chmod(VAR, 0o755)  # made by someone else, open to all: dqr tightens it
env = dict(os.environ, DQR_DATA_DIR=VAR, DQR_VAULT_KEY_FILE=KEY, DQR_UID_SECRET_FILE=SECRET,
           DQR_HTTP_PORT=str(http_port), DQR_DICOM_PORT=str(dicom_port), DQR_ADMIN_PASSWORD="gateway-secret-1",
           HOME=WORK + "/home", DQR_IMPORT_POLL_SECONDS="1", DQR_IMPORT_RETRY_SECONDS="1",
           DQR_IMPORT_MAX_ATTEMPTS="1", DQR_HISTORY_RETENTION_DAYS="1", DQR_HISTORY_PURGE_SECONDS="1")
LOG = WORK + "/serve.log"
api = Api(http_port)


def start_serve():
    p = procs.start([DQR, "serve"], open(LOG, "ab"), env)
    wait_port(http_port) and wait_port(dicom_port)
    return p


def start_refused():
    """dqr serve must refuse to start: (exit code, what it said); (None, ...)
    when it started instead (then it is stopped here)."""
    p = subprocess.Popen([DQR, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        return p.wait(15), p.stderr.read()
    except subprocess.TimeoutExpired:
        procs.stop_one(p)
        return None, "it started: " + p.stderr.read()



def loose_modes(top):
    """Every folder or file under top (top too) that group or others may use."""
    out = []
    for root, dirs, files in os.walk(top):
        for p in [root] + [os.path.join(root, n) for n in files]:
            m = stat.S_IMODE(os.lstat(p).st_mode)
            if m & 0o077:
                out.append(f"{p} {oct(m)}")
    return out


def catalog_bytes():
    """The catalog as SQL text plus the raw bytes of its files (-wal too)."""
    con = sqlite3.connect(VAR + "/catalog.db", timeout=10)
    text = "\n".join(con.iterdump()).encode()
    con.close()
    return text + b"".join(open(f, "rb").read() for f in glob.glob(VAR + "/catalog.db*"))


try:
    serve = start_serve()
    T = api.login("admin", "gateway-secret-1")
    H = {"token": T}
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD}, **H)
    P = b["id"]
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "dead", "aet": "NOBODY", "host": "127.0.0.1",
                                                 "port": free_port()}, **H)
    DEAD = b["id"]
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "One", "dqr_enabled": True}, **H)

    # ---- an import with an override, then the modes of everything it made ----------------
    first = {"StudyInstanceUID": A, "subject": "S01", "session": "S01_CT",
             "overrides": {"PatientBirthDate": BIRTH}}
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [first]}, **H)
    b = api.wait_import(T, b.get("id"))
    check("import with an override: done", b.get("state") == "done" and b.get("archived") == 2, b)
    check("the request still shows its StudyInstanceUID to its owner",
          [s.get("StudyInstanceUID") for s in b.get("sessions", [])] == [A], b)
    api.call("GET", "/api/v1/projects/P1/sessions/S01_CT/download", binary=True, **H)  # makes tmp/ and a zip
    check("data dir made private although it was 0755", stat.S_IMODE(os.stat(VAR).st_mode) == 0o700,
          oct(os.stat(VAR).st_mode))
    check("the tightening is logged", "data_dir_private" in open(VAR + "/logs/dqr.log").read())
    check("catalog -wal and -shm exist while serving", os.path.exists(VAR + "/catalog.db-wal"))
    check("every folder and file under the data dir is private (umask 022 outside)", not loose_modes(VAR),
          loose_modes(VAR))

    # ---- the catalog holds no original study UID or override in clear -------------------------
    cat = catalog_bytes()
    check("catalog: no original StudyInstanceUID in clear", A.encode() not in cat)
    check("catalog: no override birth date in clear", BIRTH.encode() not in cat)

    # ---- sessions stay one patient ----------------------------------------------------------------
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [first]}, **H)
    b = api.wait_import(T, b.get("id")) if st == 201 else b
    check("re-import of the same study into the same subject and session: done", b.get("state") == "done", b)
    other = {"StudyInstanceUID": B, "subject": "S02", "session": "S01_CT"}
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [other]}, **H)
    check("a session of another subject: 409 with the sentence and the session",
          st == 409 and b.get("error") == "session S01_CT already belongs to subject S01 in project P1" and
          b.get("session") == "S01_CT", (st, b))
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [
        {"StudyInstanceUID": B, "subject": "S02", "session": "X1"},
        {"StudyInstanceUID": A, "subject": "S03", "session": "X1"}]}, **H)
    check("one request naming a session under two subjects: 409",
          st == 409 and "two subjects" in b.get("error", "") and b.get("session") == "X1", (st, b))
    st, b, _ = api.call("POST", "/api/v1/imports/csv/preview", {"pacs": P, "project": "P1",
                                                                "csv": f"Patient ID,Subject,Session\n{studies[B]},S02,S01_CT\n"}, **H)
    errs = [r.get("error", "") for r in b.get("rows", [])]
    check("CSV preview shows the session taken by another subject",
          st == 200 and b.get("errors", 0) >= 1 and
          "session S01_CT already belongs to subject S01 in project P1" in errs, (st, b))

    # ---- retry rechecks grants; the scheduler skips disabled users ---------------------------------
    st, u, _ = api.call("POST", "/api/v1/users", {"username": "carol", "password": "meadow-lark-4471", "role": "user"}, **H)
    U = u.get("id")
    api.call("PUT", f"/api/v1/users/{U}/grants", {"pacs": [P, DEAD], "projects": ["P1"]}, **H)
    C = api.login("carol", "meadow-lark-4471")
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": DEAD, "project": "P1", "studies": [
        {"StudyInstanceUID": B, "subject": "S05", "session": "S05_CT"}]}, token=C)
    failed = api.wait_import(C, b.get("id"))
    check("an import from a dead PACS fails", failed.get("state") == "failed", failed)
    api.call("PUT", f"/api/v1/users/{U}/grants", {"pacs": [P], "projects": ["P1"]}, **H)
    st, b, _ = api.call("POST", f"/api/v1/imports/{failed.get('id')}/retry", token=C)
    check("retry after the PACS grant was removed: 403", st == 403, (st, b))
    shut = (time.gmtime().tm_hour + 12) % 24  # a window half a day away: the import waits
    st, b, _ = api.call("PUT", f"/api/v1/pacs/{P}/schedule",
                        every_day([{"start": f"{shut:02d}:00", "end": f"{shut:02d}:30"}]), **H)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [
        {"StudyInstanceUID": B, "subject": "S06", "session": "S06_CT"}]}, token=C)
    waiting = b.get("id")
    b = api.wait_import(T, waiting, states=("waiting-window",), secs=10)
    check("with its PACS's window closed the import waits", b.get("state") == "waiting-window", b)
    api.call("PUT", f"/api/v1/users/{U}", {"disabled": True}, **H)
    api.call("PUT", f"/api/v1/pacs/{P}/schedule", every_day([{"start": "00:00", "end": "24:00"}]), **H)
    b = api.wait_import(T, waiting, secs=60)
    check("the scheduler fails the waiting import of a disabled user, saying why",
          b.get("state") == "failed" and "disabled" in (b.get("error") or "") and b.get("archived") == 0, b)

    # ---- retention purge on its timer, no history page opened --------------------------------------
    old = int(time.time()) - 3 * 86400
    con = sqlite3.connect(VAR + "/catalog.db", timeout=10)
    con.execute("INSERT INTO query_history(user_id, at, pacs_id, level, status) VALUES (1, ?, ?, 'STUDY', 'ok')",
                (old, P))
    con.execute("UPDATE import_sessions SET finished = ? WHERE session = 'S05_CT'", (old,))
    con.commit()
    left = None
    for _ in range(40):
        time.sleep(0.25)
        left = (con.execute("SELECT COUNT(*) FROM query_history WHERE at = ?", (old,)).fetchone()[0],
                con.execute("SELECT COUNT(*) FROM import_sessions WHERE session = 'S05_CT'").fetchone()[0])
        if left == (0, 0):
            break
    con.close()
    check("old query and import history purged by the timer, nobody opening history", left == (0, 0), left)

    procs.stop_one(serve)

    # ---- a catalog from before migration 6: its clear study and overrides are sealed at start ---------
    BIRTH2 = "19440404"
    con = sqlite3.connect(VAR + "/catalog.db", timeout=10)
    cur = con.execute("INSERT INTO import_requests(user_id, pacs_id, project, bulk, created) VALUES (1, ?, 'P1', 0, ?)",
                      (P, int(time.time())))
    con.execute("INSERT INTO import_sessions(request_id, pacs_id, project, study_uid, series, subject, session, "
                "overrides, state, queued, updated, finished) VALUES (?, ?, 'P1', ?, NULL, 'S01', 'S01_CT', ?, 'failed', "
                "?, ?, ?)", (cur.lastrowid, P, A, '{"PatientBirthDate":"%s"}' % BIRTH2) + (int(time.time()),) * 3)
    con.commit()
    con.close()
    serve = start_serve()
    T = api.login("admin", "gateway-secret-1")
    st, b, _ = api.call("GET", f"/api/v1/imports/{cur.lastrowid}", token=T)
    check("an old clear session still shows its StudyInstanceUID after start",
          st == 200 and [s.get("StudyInstanceUID") for s in b.get("sessions", [])] == [A], b)
    cat = catalog_bytes()
    check("... and its clear StudyInstanceUID and override are gone from the catalog's bytes",
          A.encode() not in cat and BIRTH2.encode() not in cat)
    procs.stop_one(serve)

    # ---- a missing vault key is not made anew over sealed values ----------------------------------
    os.rename(KEY, KEY + ".kept")
    code, err = start_refused()
    check("vault key deleted, sealed values in the catalog: start refused (exit 2) naming the key",
          code == 2 and KEY in err and "missing" in err and "sealed" in err, (code, err))
    check("... and no new key was made", not os.path.exists(KEY))
    os.rename(KEY + ".kept", KEY)

    # ---- the UID secret's mode is checked as the vault key's ---------------------------------------
    os.chmod(SECRET, 0o644)
    code, err = start_refused()
    check("UID secret 0644: start refused with the vault's message form",
          code == 2 and f"UID secret {SECRET} is readable by others: chmod 600 it" in err, (code, err))
    os.chmod(SECRET, 0o600)
    serve = start_serve()
    check("with the key back and the secret 0600 it starts again", api.login("admin", "gateway-secret-1") is not None)
    procs.stop_one(serve)

    # ---- --print-config masks passwords -----------------------------------------------------------
    for catalog, shown in (("postgresql://dqr:s3cret-pw@db.example:5432/dqr", "postgresql://dqr:***@db.example:5432/dqr"),
                           ("host=db.example password=s3cret-pw dbname=dqr", "host=db.example password=*** dbname=dqr"),
                           ("postgresql://db.example/dqr?user=dqr&password=s3cret-pw", "postgresql://db.example/dqr?user=dqr&password=***")):
        r = subprocess.run([DQR, "serve", "--print-config"], env=dict(env, DQR_CATALOG=catalog),
                           capture_output=True, text=True, timeout=30)
        check(f"--print-config masks the password in {shown}",
              r.returncode == 0 and "s3cret-pw" not in r.stdout and shown in r.stdout and
              "gateway-secret-1" not in r.stdout, r.stdout[-400:])
finally:
    procs.stop()
sys.exit(check.finish())
