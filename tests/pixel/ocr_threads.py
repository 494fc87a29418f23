#!/usr/bin/python3
"""`dqr serve` runs with OMP_THREAD_LIMIT=1 when the variable is not set
(Debian's Tesseract uses OpenMP; libgomp reads its environment when it is
loaded, so dqr serve runs itself again with it set): the serving process's
environment (/proc/PID/environ, what exec gave it) has it, libgomp reports
it (OMP_DISPLAY_ENV), and a value the environment sets is kept.
Usage: ocr_threads.py DQR WORKDIR"""
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Checks, Procs, free_port, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)


def serve(name, **extra):
    """Start dqr serve; its environment and libgomp's report of the thread limit."""
    work = f"{WORK}/{name}"
    os.makedirs(work)
    http_port = free_port()
    env = serve_env(work, "gateway-secret-1", http_port, free_port(), OMP_DISPLAY_ENV="true", **extra)
    if "OMP_THREAD_LIMIT" not in extra:
        env.pop("OMP_THREAD_LIMIT", None)
    log = f"{work}/serve.log"
    p = procs.start([DQR, "serve"], open(log, "w"), env)
    up = wait_port(http_port)
    time.sleep(0.3)
    environ = open(f"/proc/{p.pid}/environ", "rb").read().split(b"\0") if up else []
    limits = re.findall(r"OMP_THREAD_LIMIT = '(\d+)'", open(log).read())
    procs.stop_one(p)
    return up, environ, limits


up, environ, limits = serve("unset")
check("dqr serve started (OMP_THREAD_LIMIT unset)", up)
check("the serving process has OMP_THREAD_LIMIT=1 in its environment", b"OMP_THREAD_LIMIT=1" in environ,
      [e for e in environ if e.startswith(b"OMP")])
check("libgomp, as loaded by the serving process, reports the limit 1", limits[-1:] == ["1"], limits)
up, environ, limits = serve("set", OMP_THREAD_LIMIT="2")
check("dqr serve started (OMP_THREAD_LIMIT=2)", up)
check("a limit the environment sets is kept", b"OMP_THREAD_LIMIT=2" in environ and limits == ["2"], limits)
procs.stop()
sys.exit(check.finish())
