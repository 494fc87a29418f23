#!/usr/bin/python3
"""`dqr serve` with safe_private_file (DQR_SAFE_PRIVATE_FILE): the built-in
site step's Basic runs with Retain Safe Private, so a dry run of the sample
keeps the Table E.3.10-1 attribute and the site file's, and removes the
rest; a malformed file fails the dry run naming FILE:LINE.

Usage: gateway_safe_private.py DQR_BIN"""
import base64
import os
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from peers import Api, Checks, Procs, free_port, serve_env  # noqa: E402
from private_sample import SITE_FILE, sample  # noqa: E402

DQR = sys.argv[1]
check, procs = Checks(), Procs()
with tempfile.TemporaryDirectory() as work:
    site = os.path.join(work, "safe.txt")
    with open(site, "w") as f:
        f.write(SITE_FILE)
    src = os.path.join(work, "in.dcm")
    sample(src)
    port = free_port()
    env = serve_env(work, "gateway-secret-1", port, free_port(),
               DQR_SAFE_PRIVATE_FILE=site)
    log = open(work + "/serve.log", "w")
    try:
        procs.start([DQR, "serve"], log, env)
        api = Api(port)
        token = None
        for _ in range(100):
            try:
                token = api.login("admin", "gateway-secret-1")
                break
            except OSError:
                time.sleep(0.1)
        check("dqr serve starts with DQR_SAFE_PRIVATE_FILE", token is not None)
        st, b, _ = api.call("POST", "/api/v1/projects", {"id": "P1", "name": "P1", "dqr_enabled": True}, token)
        check("project created", st == 201, b)
        body = {"instance": base64.b64encode(open(src, "rb").read()).decode()}
        st, b, _ = api.call("POST", "/api/v1/projects/P1/dry-run", body, token)
        changes = {c["tag"]: c["change"] for c in b.get("changes", [])} if st == 200 else {}
        check("dry run ok", st == 200 and b.get("result") == "ok", b)
        check("Table E.3.10-1 attribute kept", "(0019,110C)" not in changes, changes.get("(0019,110C)"))
        check("site file attribute kept", "(0029,1001)" not in changes, changes.get("(0029,1001)"))
        check("unsafe private attributes removed",
              changes.get("(0019,1108)") == "removed" and changes.get("(0033,1001)") == "removed", changes)
        with open(site, "a") as f:
            f.write("not a tag line\n")
        st, b, _ = api.call("POST", "/api/v1/projects/P1/dry-run", body, token)
        check("a malformed site file fails the dry run with FILE:LINE",
              st >= 400 and "safe.txt:4:" in str(b), (st, b))
    finally:
        procs.stop()
        log.close()
sys.exit(check.finish())
