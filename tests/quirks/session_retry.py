#!/usr/bin/python3
"""A whole session's retry policy per PACS (docs/api.md, PACS fields
session_attempts and session_retry_seconds): two PACS nobody answers at.
The one with session_attempts 2 and session_retry_seconds 1 fails after 2
attempts within seconds, although the global settings (4 attempts, 60 s
first wait) would still be waiting; the other, without a policy of its own,
keeps the global one: queued again after its first attempt, 60 s ahead.
Usage: session_retry.py DQR WORKDIR"""
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, Procs, free_port, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
PW = "gateway-secret-1"

http_port, dicom_port = free_port(), free_port()
env = serve_env(WORK, PW, http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1", DQR_IMPORT_RETRY_SECONDS="60",
                DQR_IMPORT_MAX_ATTEMPTS="4")
try:
    procs.start([DQR, "serve"], open(WORK + "/serve.log", "wb"), env)
    wait_port(http_port)
    api = Api(http_port)
    H = {"token": api.login("admin", PW)}
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Retry", "dqr_enabled": True}, **H)
    dead = free_port()  # nothing listens there: every association is refused at once
    st, own, _ = api.call("POST", "/api/v1/pacs", {"label": "own-policy", "aet": "DOWN1", "host": "127.0.0.1",
                                                   "port": dead, "session_attempts": 2,
                                                   "session_retry_seconds": 1}, **H)
    st2, glob, _ = api.call("POST", "/api/v1/pacs", {"label": "global-policy", "aet": "DOWN2", "host": "127.0.0.1",
                                                     "port": dead}, **H)
    shown = api.call("GET", f"/api/v1/pacs/{own.get('id')}", **H)[1]
    check("the PACS keeps its session retry policy", shown.get("session_attempts") == 2 and
          shown.get("session_retry_seconds") == 1, shown)
    check("a PACS without one shows null (the global settings)",
          api.call("GET", f"/api/v1/pacs/{glob.get('id')}", **H)[1].get("session_attempts", 0) is None)
    st, bad, _ = api.call("PUT", f"/api/v1/pacs/{glob.get('id')}", {"session_attempts": 0}, **H)
    check("session_attempts 0 is refused, naming the field", st == 400 and "session_attempts" in str(bad), bad)

    def queue(pacs, n):
        st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "P1", "studies": [
            {"StudyInstanceUID": f"1.2.826.0.1.3680043.10.1573.99.{n}", "subject": f"S{n}", "session": f"E{n}"}]},
            **H)
        return b.get("id")

    t0 = time.time()
    a, b = queue(own["id"], 1), queue(glob["id"], 2)
    got = api.wait_import(H["token"], a, secs=20)
    took = time.time() - t0
    s = (got.get("sessions") or [{}])[0]
    check(f"the PACS's policy: failed after 2 attempts ({took:.1f} s; the global policy would wait 60 s)",
          got.get("state") == "failed" and s.get("attempts") == 2 and "after 2 attempts" in str(s.get("error")),
          got)
    other = api.call("GET", f"/api/v1/imports/{b}", **H)[1]
    o = (other.get("sessions") or [{}])[0]
    check("without a policy of its own, the global one: queued again after 1 attempt",
          o.get("state") == "queued" and o.get("attempts") == 1, other)
finally:
    procs.stop()
sys.exit(check.finish())
