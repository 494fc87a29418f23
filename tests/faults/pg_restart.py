#!/usr/bin/python3
"""PostgreSQL (the catalog) restarted as after a crash (pg_ctl -m immediate)
in the middle of an import by `dqr serve`: the import either completes or
fails with a clear reason; in either case no partial file is left, fsck
is clean (catalog = files), and a retry completes with every instance
exactly once. Usage: pg_restart.py DQR WORKDIR"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import Postgres, Rig  # noqa: E402
from peers import Checks, Throttle  # noqa: E402

check = Checks()
work = os.path.abspath(sys.argv[2])
pg = None
try:
    os.makedirs(work + "-pg", exist_ok=True)
    pg = Postgres(work + "-pg")
except Exception as e:  # noqa: BLE001
    print(f"SKIP PostgreSQL: {e}")
    sys.exit(77)
rig = Rig(sys.argv[1], work, ["--patients", "1", "--studies", "2", "--series", "3", "--instances", "100",
                              "--rows", "32", "--cols", "32"], {"DQR_CATALOG": pg.url})
try:
    rig.start()
    rig.setup()
    uids = sorted(rig.studies)
    total = sum(rig.studies.values())
    slow = Throttle(rig.orthanc)  # so that the restart lands mid-import on any machine
    iid = rig.request(uids)
    end = time.time() + 60
    while time.time() < end and rig.session(iid).get("received", 0) < 30:
        time.sleep(0.05)
    at = rig.session(iid).get("received")
    t0 = time.time()
    pg.restart()
    slow.stop()
    print(f"PostgreSQL restarted in {time.time() - t0:.1f} s, at {at} of {total} received", flush=True)
    b = {}
    end = time.time() + 120
    while time.time() < end:  # the server may answer 500 while its catalog is away
        try:
            b = rig.session(iid)
        except OSError:
            b = {}
        if b.get("state") in ("done", "partial", "failed", "cancelled"):
            break
        time.sleep(0.5)
    errors = " | ".join(s.get("error") or "" for s in b.get("sessions", []))
    check("the import completes or ends with a reason",
          b.get("state") == "done" or (b.get("state") in ("partial", "failed") and errors), b)
    print(f"state after the restart: {b.get('state')} ({errors[:200]})")
    rig.stop()
    rc, rep = rig.fsck("--deep")
    check("fsck --deep clean after the restart", rc == 0 and rep["problems"] == 0 and rep["in_flight"] == 0, rep)
    rig.start()
    if b.get("state") != "done":
        rig.call("POST", f"/api/v1/imports/{iid}/retry")
    b = rig.wait(iid, 120)
    rig.stop()
    check("in the end every instance is archived", b.get("state") == "done" and b.get("archived") == total, b)
    rc, rep = rig.fsck("--deep")
    check("nothing doubled: one row and one file per instance",
          rc == 0 and rep["problems"] == 0 and rep["rows"] == rep["files"] == total, rep)
finally:
    rig.close()
    pg.close()
sys.exit(check.finish())
