#!/usr/bin/python3
"""Archive writes that fail as a full or failing disk makes them fail: `dqr
serve` runs under the failwrite LD_PRELOAD shim (tests/faults/failwrite.c)
while it imports from Orthanc, with ENOSPC or EIO injected into the
instance writes, their renames and the archive's sync, and into the zip of
a download. After each: the import ends with a clear reason, no partial
file is left, `dqr fsck --deep` is clean, and once the disk is "fixed" (the
shim gone) a retry completes with nothing doubled.
Usage: write_faults.py DQR SHIM WORKDIR"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import Rig  # noqa: E402
from peers import Checks  # noqa: E402

DQR, SHIM, WORK = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
check = Checks()
rig = Rig(DQR, WORK, ["--patients", "1", "--studies", "4", "--series", "2", "--instances", "10",
                      "--rows", "16", "--cols", "16"])
UIDS = sorted(rig.studies)
PER = rig.studies[UIDS[0]]


def shim(op, after, err, match="/var/archive"):
    return {"LD_PRELOAD": SHIM, "FAILWRITE_MATCH": match, "FAILWRITE_OP": op, "FAILWRITE_AFTER": str(after),
            "FAILWRITE_ERRNO": err}


def temp_files():
    """Partial files in the archive, and anything left in data_dir/tmp."""
    tmp = os.listdir(rig.data + "/tmp") if os.path.isdir(rig.data + "/tmp") else []
    return [f for f in rig.archive_files() if ".tmp." in f] + tmp


def session_errors(b):
    return " | ".join(s.get("error") or "" for s in b.get("sessions", []))


def clean(what, rows=None):
    rc, rep = rig.fsck("--deep")
    ok = rc == 0 and rep.get("problems") == 0 and rep.get("in_flight") == 0 and rep.get("rows") == rep.get("files")
    check(f"{what}: fsck --deep clean, catalog = files", ok and (rows is None or rep["rows"] == rows), rep)


def fault(name, env, uid, prefix, want_error, secs=60):
    """One import under the fault; returns its request id."""
    rig.start(env)
    iid = rig.request([uid], prefix)
    b = rig.wait(iid, secs)
    rig.stop()
    check(f"{name}: the import ends {b.get('state')} with the reason", b.get("state") in ("partial", "failed") and
          want_error in session_errors(b), b)
    check(f"{name}: no partial file left", not temp_files(), temp_files())
    return iid


def retry(name, iid, rows):
    rig.start()
    st, b, _ = rig.call("POST", f"/api/v1/imports/{iid}/retry")
    b = rig.wait(iid)
    rig.stop()
    check(f"{name}: a retry once the disk is fine completes", st == 200 and b.get("state") == "done" and
          b.get("archived") == PER, (st, b))
    clean(f"{name}: after the retry", rows)


try:
    rig.start()
    rig.setup()
    rig.stop()
    iid = fault("ENOSPC after 30 kB of instance writes", shim("write", 30000, "ENOSPC"), UIDS[0], "A",
                "No space left on device")
    clean("ENOSPC")
    retry("ENOSPC", iid, PER)
    iid = fault("EIO on every instance write", shim("write", 0, "EIO"), UIDS[1], "B", "Input/output error")
    clean("EIO", PER)
    retry("EIO", iid, 2 * PER)
    iid = fault("EIO on the 6th rename", shim("rename", 5, "EIO"), UIDS[2], "C", "rename: Input/output error")
    clean("rename EIO")
    retry("rename EIO", iid, 3 * PER)
    iid = fault("EIO on the archive's sync", shim("fsync", 0, "EIO"), UIDS[3], "D", "could not be synced", secs=90)
    rig.start()
    st, b, _ = rig.call("GET", f"/api/v1/imports/{iid}")
    rig.stop()
    check("sync EIO: every attempt failed, none said done",
          b["sessions"][0]["attempts"] >= 3 and b["state"] == "failed", b)
    retry("sync EIO", iid, 4 * PER)

    rig.start(shim("write", 10000, "ENOSPC", match="/var/tmp/"))
    st, body, _ = rig.api.call("GET", "/api/v1/projects/P1/sessions/A000_MR/download", token=rig.token, binary=True)
    left = os.listdir(rig.data + "/tmp") if os.path.isdir(rig.data + "/tmp") else []
    rig.stop()
    check("disk full while a download's zip is built: 500 with the reason, nothing left in tmp",
          st == 500 and "zip" in str(body) and not left, (st, str(body)[:200], left))
    rig.start()
    st, body, _ = rig.api.call("GET", "/api/v1/projects/P1/sessions/A000_MR/download", token=rig.token, binary=True)
    rig.stop()
    check("the same download with room: 200", st == 200)
    clean("at the end", 4 * PER)
finally:
    rig.close()
sys.exit(check.finish())
