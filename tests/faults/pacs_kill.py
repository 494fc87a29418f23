#!/usr/bin/python3
"""The PACS (Orthanc) killed with SIGKILL in the middle of a C-MOVE to `dqr
serve`: the session ends partial or failed with a reason (the retries find
the PACS gone), nothing partial is left and fsck is clean; once Orthanc is
back, a retry completes with every instance archived exactly once.
Usage: pacs_kill.py DQR WORKDIR"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import Rig  # noqa: E402
from peers import Checks, Throttle  # noqa: E402

check = Checks()
# Orthanc throttled (peers.Throttle: running 20 ms of every 100) so the
# C-MOVE is still running when it is killed: unthrottled, 1,800 instances of
# 128x128 once all arrived on a loaded machine before the kill
rig = Rig(sys.argv[1], sys.argv[2], ["--patients", "1", "--studies", "1", "--series", "3", "--instances", "600",
                                     "--rows", "128", "--cols", "128"], {"DQR_IMPORT_MAX_ATTEMPTS": "2"})
try:
    rig.start()
    rig.setup()
    (uid,) = rig.studies
    total = rig.studies[uid]
    slow = Throttle(rig.orthanc)
    iid = rig.request([uid])
    end = time.time() + 60
    while time.time() < end and rig.session(iid).get("received", 0) < 20:
        time.sleep(0.05)
    slow.stop()
    rig.kill_orthanc()
    print(f"Orthanc killed at {rig.session(iid).get('received')} of {total} received")
    b = rig.wait(iid, 90)
    s = (b.get("sessions") or [{}])[0]
    check("PACS killed mid-transfer: the session ends partial or failed with a reason",
          b.get("state") in ("partial", "failed") and s.get("error") and b.get("archived", 0) < total, b)
    rig.stop()
    rc, rep = rig.fsck("--deep")
    check("fsck --deep clean after the PACS died", rc == 0 and rep["problems"] == 0 and rep["in_flight"] == 0, rep)
    check("what was received is archived and catalogued", rep["rows"] == rep["files"] == b.get("archived"), (rep, b))
    check("Orthanc is back", rig.start_orthanc())
    rig.start()
    st, _, _ = rig.call("POST", f"/api/v1/imports/{iid}/retry")
    b = rig.wait(iid, 120)
    rig.stop()
    check("the retry completes", st == 200 and b.get("state") == "done" and b.get("archived") == total, (st, b))
    rc, rep = rig.fsck("--deep")
    check("nothing doubled: one row and one file per instance",
          rc == 0 and rep["problems"] == 0 and rep["rows"] == rep["files"] == total, rep)
finally:
    rig.close()
sys.exit(check.finish())
