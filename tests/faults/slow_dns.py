#!/usr/bin/python3
"""A slow DNS must not hold up the receivers (src/gateway/pacs/peers.c). With
receiver_check_address on, a PACS registered by host name is admitted only
from an address that name resolves to. `dqr serve` runs under the slowdns
LD_PRELOAD shim (tests/faults/slowdns.c): names under slow.invalid take
4 s to fail, as when a DNS server does not answer. While an association
from the PACS whose name is slow waits for its lookup (and is refused in
the end, its name not resolving), associations from a PACS registered by
address are admitted at once, and so are they from one whose name resolves
(localhost). Usage: slow_dns.py DQR SHIM WORKDIR"""
import os
import shutil
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, Procs, free_port, serve_env, wait_port  # noqa: E402

DQR, SHIM, WORK = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
SLOW_MS = 4000
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
http_port, dicom_port = free_port(), free_port()


def echo(aet):
    """C-ECHO from aet to dqr's receivers: (admitted, seconds)."""
    t0 = time.monotonic()
    p = subprocess.run(["echoscu", "-aet", aet, "-aec", "DQR", "127.0.0.1", str(dicom_port)], capture_output=True,
                       text=True, timeout=60)
    return p.returncode == 0, time.monotonic() - t0


try:
    env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_RECEIVER_CHECK_ADDRESS="1",
                    LD_PRELOAD=SHIM, SLOWDNS_MATCH="slow.invalid", SLOWDNS_MS=str(SLOW_MS))
    procs.start([DQR, "serve"], open(WORK + "/serve.log", "wb"), env)
    if not (wait_port(http_port) and wait_port(dicom_port)):
        raise SystemExit("FAIL dqr serve did not start\n0 passed, 1 failed")
    api = Api(http_port)
    H = {"token": api.login("admin", "gateway-secret-1")}
    for label, aet, host in (("fast", "FASTPACS", "127.0.0.1"), ("named", "NAMEDPACS", "localhost"),
                             ("slow", "SLOWPACS", "pacs.slow.invalid")):
        st, b, _ = api.call("POST", "/api/v1/pacs", {"label": label, "aet": aet, "host": host, "port": 104}, **H)
        check(f"PACS {label} ({host}) registered", st == 201, b)
    time.sleep(1.2)  # the registry is read again by the next association
    ok, secs = echo("FASTPACS")
    check(f"a PACS registered by address is admitted at once ({secs:.2f} s)", ok and secs < 1.5, secs)
    ok, secs = echo("NAMEDPACS")
    check(f"a PACS whose name resolves is admitted at once ({secs:.2f} s)", ok and secs < 1.5, secs)

    slow = {}
    t = threading.Thread(target=lambda: slow.update(zip(("ok", "secs"), echo("SLOWPACS"))))
    t.start()
    time.sleep(0.5)  # the slow association is waiting for its lookup now
    fast = [echo("FASTPACS"), echo("NAMEDPACS")]
    t.join()
    check(f"the PACS whose name does not resolve waits for its lookup and is refused ({slow.get('secs', 0):.2f} s)",
          slow.get("ok") is False and slow.get("secs", 0) >= SLOW_MS / 1000 - 0.5, slow)
    check(f"meanwhile the others are admitted at once ({fast[0][1]:.2f} s, {fast[1][1]:.2f} s; the lookup takes "
          f"{SLOW_MS / 1000:.0f} s)", all(ok and secs < 1.5 for ok, secs in fast), fast)
    ok, secs = echo("SLOWPACS")
    check(f"a name that did not resolve is not looked up again within the minute: refused at once ({secs:.2f} s)",
          not ok and secs < 1.5, secs)
finally:
    procs.stop()
sys.exit(check.finish())
