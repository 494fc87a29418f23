#!/usr/bin/python3
"""`dqr backup` while `dqr serve` runs and answers queries, then `dqr
restore` onto a fresh data dir and fresh key paths, and `dqr serve` on the
restored catalog reads the same sealed query history back (GET
/api/v1/history/queries/{id}/keys as the admin) and lists the same import.
The backup folder is 0700 with 0600 files and holds the keys; restore
writes them 0600 and refuses a catalog or key path already in use unless
--force. With DQR_CATALOG=postgresql://.../NAME (tests/store/postgres.sh)
the source is that database and the restore target the database NAME2 of
the same server, which must be empty. Needs no PACS: queries and imports
aim at a closed port, which still records them. Usage: backup.py DQR WORKDIR"""
import json
import sqlite3
import os
import shutil
import stat
import subprocess
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, free_port, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
check = Checks()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
ADMIN_PW = "backup-secret-1"
PG = os.environ.get("DQR_CATALOG", "")
PG = PG if PG.startswith("postgres") else ""
running = []


def env_for(name):
    e = dict(os.environ, DQR_DATA_DIR=f"{WORK}/{name}/var", DQR_VAULT_KEY_FILE=f"{WORK}/{name}/keys/vault.key",
             DQR_UID_SECRET_FILE=f"{WORK}/{name}/keys/uid-secret", DQR_HTTP_PORT=str(free_port()),
             DQR_DICOM_PORT=str(free_port()), DQR_ADMIN_PASSWORD=ADMIN_PW, HOME=f"{WORK}/{name}",
             DQR_LOG_FILE="-")
    e.pop("DQR_CATALOG", None)
    if PG:
        e["DQR_CATALOG"] = PG if name == "a" else PG + "2"
    return e


def start(env, name):
    p = subprocess.Popen([DQR, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/{name}.stderr", "w"))
    running.append(p)
    port = int(env["DQR_HTTP_PORT"])
    check(f"dqr serve ({name}) starts", wait_port(port), open(f"{WORK}/{name}.stderr").read()[-400:])
    return p, Api(port)


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(30)


def dqr(env, *args):
    return subprocess.run([DQR, *args], env=env, capture_output=True, text=True, timeout=120)


def private(path, mode):
    return stat.S_IMODE(os.stat(path).st_mode) == mode


try:
    # ---- a running gateway with sealed history ---------------------------------------------
    A = env_for("a")
    serve_a, api = start(A, "a")
    T = api.login("admin", ADMIN_PW)
    check("admin logs in", T)
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "closed", "aet": "CLOSED", "host": "127.0.0.1",
                                                 "port": free_port()}, token=T)
    P = b.get("id")
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "One", "dqr_enabled": True}, token=T)
    keys = {"PatientName": "BACKUP^CANARY*", "PatientID": "BK-4711"}
    api.call("POST", "/api/v1/query", {"pacs": P, "level": "STUDY", "keys": keys}, token=T)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [
        {"StudyInstanceUID": "1.2.826.0.1.3680043.2.1143.77", "subject": "S01", "session": "S01_MR1"}]}, token=T)
    check("an import request is recorded", st == 201, b)
    imp = b.get("id")
    st, h, _ = api.call("GET", "/api/v1/history/queries", token=T)
    qid = h["queries"][0]["id"] if st == 200 and h.get("queries") else 0
    st, sealed, _ = api.call("GET", f"/api/v1/history/queries/{qid}/keys", token=T)
    check("the sealed query keys read back before the backup", st == 200 and sealed.get("keys", {}).get(
        "PatientName") == keys["PatientName"], sealed)

    # ---- backup while serving (and while queries keep writing) -----------------------------
    stop_writes = threading.Event()

    def keep_querying():
        while not stop_writes.is_set():
            api.call("POST", "/api/v1/query", {"pacs": P, "level": "STUDY", "keys": {"PatientName": "BUSY*"}}, token=T)

    writer = threading.Thread(target=keep_querying)
    writer.start()
    out = f"{WORK}/backup"
    r = dqr(A, "backup", out)
    stop_writes.set()
    writer.join()
    check("dqr backup while serving: exit 0", r.returncode == 0, r.stderr)
    check("dqr backup warns that it holds the key", "key" in r.stderr, r.stderr)
    check("the backup folder is 0700", os.path.isdir(out) and private(out, 0o700))
    names = sorted(os.listdir(out)) if os.path.isdir(out) else []
    check("every file in it is 0600", names and all(private(f"{out}/{n}", 0o600) for n in names), names)
    man = json.load(open(f"{out}/manifest.json")) if "manifest.json" in names else {}
    check("the manifest names the backend, schema, catalog and both secrets",
          man.get("backend") == ("postgresql" if PG else "sqlite") and man.get("schema", 0) >= 1 and
          man.get("catalog") in names and sorted(man.get("secrets", [])) == ["uid-secret", "vault.key"], man)
    check("the backup holds the vault key", open(f"{out}/vault.key", "rb").read() ==
          open(A["DQR_VAULT_KEY_FILE"], "rb").read())
    check("serve kept running during the backup", serve_a.poll() is None)
    r = dqr(A, "backup", out)
    check("a second backup into the same folder is refused", r.returncode != 0 and "exist" in r.stderr, r.stderr)
    h = dqr(A, "backup", "--help").stdout
    check("backup --help says loudly that it holds the vault key", "HOLDS THE VAULT KEY" in h, h)
    stop(serve_a)

    # ---- a backup never migrates: a catalog an older dqr left keeps its version -------------
    if not PG:
        O = env_for("old")
        os.makedirs(O["DQR_DATA_DIR"], mode=0o700)
        shutil.copy(f"{A['DQR_DATA_DIR']}/catalog.db", f"{O['DQR_DATA_DIR']}/catalog.db")
        db = sqlite3.connect(f"{O['DQR_DATA_DIR']}/catalog.db")
        top = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        db.execute("DELETE FROM schema_version WHERE version = ?", (top,))  # as if made before the last one
        db.commit()
        db.close()
        r = dqr(O, "backup", f"{WORK}/old-backup")
        db = sqlite3.connect(f"{O['DQR_DATA_DIR']}/catalog.db")
        after = db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
        db.close()
        om = json.load(open(f"{WORK}/old-backup/manifest.json")) if r.returncode == 0 else {}
        check("a backup of an older catalog leaves it unmigrated", r.returncode == 0 and after == top - 1 and
              om.get("schema") == top - 1, (r.stderr, after, om))

    # ---- restore onto a fresh data dir and fresh key paths ---------------------------------
    B = env_for("b")
    r = dqr(B, "restore", out)
    check("dqr restore: exit 0", r.returncode == 0, r.stderr)
    for k in ("DQR_VAULT_KEY_FILE", "DQR_UID_SECRET_FILE"):
        check(f"restore wrote {k} 0600 with the same bytes", os.path.exists(B[k]) and private(B[k], 0o600) and
              open(B[k], "rb").read() == open(A[k], "rb").read())
    if not PG:
        check("the restored catalog is 0600", private(f"{B['DQR_DATA_DIR']}/catalog.db", 0o600))
    r = dqr(B, "restore", out)
    check("restore onto used key paths or catalog is refused", r.returncode != 0 and "--force" in r.stderr, r.stderr)
    os.unlink(B["DQR_VAULT_KEY_FILE"]), os.unlink(B["DQR_UID_SECRET_FILE"])
    r = dqr(B, "restore", out)
    check("restore onto a catalog that is not empty is refused", r.returncode != 0 and "not empty" in r.stderr,
          r.stderr)
    r = dqr(B, "restore", "--force", out)
    check("restore --force replaces them", r.returncode == 0, r.stderr)

    serve_b, api = start(B, "b")
    T = api.login("admin", ADMIN_PW)
    check("the restored admin logs in", T)
    st, got, _ = api.call("GET", f"/api/v1/history/queries/{qid}/keys", token=T)
    check("the restored server unseals the same query keys", st == 200 and got.get("keys") == sealed.get("keys"),
          (got, sealed))
    st, b, _ = api.call("GET", f"/api/v1/imports/{imp}", token=T)
    check("the restored server has the import request", st == 200 and b.get("id") == imp, b)
    stop(serve_b)
finally:
    for p in running:
        stop(p)
sys.exit(check.finish())
