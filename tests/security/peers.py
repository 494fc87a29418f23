#!/usr/bin/python3
"""Only registered peers may send, and no client can exhaust the DICOM port
(issue #12, items 3 and 6): `dqr serve` with Orthanc, driven as an attacker
on the same network would. Checks: unregistered AE titles and registered
ones from another address are refused (counted, logged, audited); a PACS
added through the API is accepted within two seconds; 32 idle connections
from one address do not lock Orthanc out of an import; a connection that
sends no association request is closed after the ARTIM time; an instance
for a running import sent by another registered PACS is refused and the
import's originals stay unset; an instance over max_instance_bytes is
answered 0xA700 and the association goes on; a newline in a calling AE
title or a PACS label does not make a second log line, in `dqr serve` and
in `dqr listen`. Usage: peers.py DQR WORKDIR"""
import glob
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import (Api, Checks, Procs, canary_needles, dqr_store, free_port, generate, scan_for,  # noqa: E402
                   serve_env, start_orthanc, wait_port)

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
ATTACKER = "127.0.0.2"  # the whole of 127/8 is loopback: another address for the per-address limit
ARTIM = 5


# ---- a raw A-ASSOCIATE-RQ (Verification), with any calling AE bytes ---------------------------
def item(t, body):
    return struct.pack(">BBH", t, 0, len(body)) + body


def associate_rq(called, calling, abstract=b"1.2.840.10008.1.1", ts=b"1.2.840.10008.1.2"):
    pc = item(0x20, bytes([1, 0, 0, 0]) + item(0x30, abstract) + item(0x40, ts))
    body = (struct.pack(">HH", 1, 0) + called.ljust(16, b" ") + calling.ljust(16, b" ") + bytes(32) +
            item(0x10, b"1.2.840.10008.3.1.1.1") + pc + item(0x50, item(0x51, struct.pack(">I", 16384))))
    return struct.pack(">BBI", 1, 0, len(body)) + body


def c_store_rq(sop_class, sop_inst, msgid=7):
    """A C-STORE-RQ command set (Implicit VR LE), dataset following."""
    def el(e, v):
        return struct.pack("<HHI", 0, e, len(v)) + v
    def ui(u):
        u = u.encode()
        return u + b"\0" * (len(u) % 2)
    body = (el(0x0002, ui(sop_class)) + el(0x0100, struct.pack("<H", 1)) + el(0x0110, struct.pack("<H", msgid)) +
            el(0x0700, struct.pack("<H", 0)) + el(0x0800, struct.pack("<H", 0)) + el(0x1000, ui(sop_inst)))
    return el(0x0000, struct.pack("<I", len(body))) + body


def pdv(pcid, control, data):
    return struct.pack(">BBIIBB", 4, 0, len(data) + 6, len(data) + 2, pcid, control) + data


def descending_dataset(n):
    """A dataset whose elements come in descending tag order (a parser's worst case), of a study no one asked for."""
    def el(g, e, vr, v):
        v += b"\0" * (len(v) % 2)
        return struct.pack("<HH", g, e) + vr + struct.pack("<H", len(v)) + v
    tags = [(g, e) for g in (0x0013, 0x0011) for e in range(0xFFFF, 0xFFFF - n // 2, -1)]
    return (el(0x0020, 0x000D, b"UI", b"1.2.3.999") + b"".join(el(g, e, b"LO", b"x") for g, e in tags) +
            el(0x0008, 0x0018, b"UI", b"1.2.3.999.1") + el(0x0008, 0x0016, b"UI", b"1.2.840.10008.5.1.4.1.1.7"))


def connect_from(src, port):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s


def ask(port, called, calling, src="127.0.0.1"):
    """Send an A-ASSOCIATE-RQ; the answer's PDU type and, for a rejection, (result, source, reason)."""
    try:
        s = connect_from(src, port)
        s.settimeout(10)
        s.sendall(associate_rq(called, calling))
        head = s.recv(10)
        s.close()
    except OSError as e:
        return str(e), None
    return (head[0], tuple(head[7:10])) if len(head) >= 10 else (None, None)


def store(aet, port, *paths):
    p = subprocess.run([DQR, "store", "--aet", aet, "--call", "DQR", "127.0.0.1", str(port)] + list(paths),
                       capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def log_lines(path):
    return open(path, "rb").read().decode(errors="replace").splitlines()


def hold_server():
    """A 'PACS' that accepts TCP and never answers: its import stays running until query_timeout."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    held = []

    def loop():
        while True:
            try:
                held.append(srv.accept()[0])
            except OSError:
                return
    threading.Thread(target=loop, daemon=True).start()
    return srv, srv.getsockname()[1]


# ---- data and peers ------------------------------------------------------------------------------
studies = WORK + "/studies"
canaries = generate(ROOT, studies, "--patients", "1", "--studies", "2", "--series", "1", "--instances", "3",
                    "--rows", "16", "--cols", "16")
canaries += generate(ROOT, WORK + "/large", "--patients", "1", "--studies", "1", "--series", "1", "--instances", "1",
                     "--rows", "256", "--cols", "256", "--seed", "5")
meta = {}
for f in sorted(glob.glob(studies + "/**/*.dcm", recursive=True)):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    meta.setdefault(d.StudyInstanceUID, []).append((f, d))
s_import, s_hold = sorted(meta)
large = glob.glob(WORK + "/large/**/*.dcm", recursive=True)[0]
small = meta[s_import][0][0]

http_port, dicom_port = free_port(), free_port()
OD, _ = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
hold, hold_port = hold_server()
env = serve_env(WORK, "Security-test-pw-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1",
           DQR_IMPORT_MAX_ATTEMPTS="1", DQR_QUERY_TIMEOUT="8", DQR_DICOM_ASSOC_TIMEOUT_S=str(ARTIM),
           DQR_DICOM_MAX_PER_ADDRESS="8", DQR_MAX_INSTANCE_BYTES="65536")
LOG = WORK + "/var/logs/dqr.log"
api = Api(http_port)



def metric(name):
    m = re.search(rf"^{name} (\d+)$", api.call("GET", "/metrics")[1], re.M)
    return int(m.group(1)) if m else -1


try:
    if not wait_port(OD):
        raise SystemExit("FAIL Orthanc did not start\n0 passed, 1 failed")
    dqr_store(DQR, "ORTHANC", OD, studies)
    serve = procs.start([DQR, "serve"], open(WORK + "/serve.stderr", "w"), env)
    wait_port(http_port) and wait_port(dicom_port)
    T = api.login("admin", "Security-test-pw-1")
    H = {"token": T}
    pacs = {}
    for label, aet, host, port in (("orthanc", "ORTHANC", "127.0.0.1", OD), ("other", "OTHERPACS", "127.0.0.1", 104),
                                   ("hold", "HOLDPACS", "127.0.0.1", hold_port),
                                   ("faraway", "FARAWAY", "127.0.0.3", 104)):
        st, b, _ = api.call("POST", "/api/v1/pacs", {"label": label, "aet": aet, "host": host, "port": port}, **H)
        pacs[label] = b.get("id")
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "P1", "dqr_enabled": True}, **H)

    # ---- who may associate -------------------------------------------------------------------------
    rc, out = store("NOTREG", dicom_port, small)
    check("an unregistered calling AE: refused (calling AE title not recognized)",
          rc != 0 and "calling AE title not recognized" in out, out)
    rc, out = store("FARAWAY", dicom_port, small)
    check("a registered AE title from another address than its PACS's host: refused",
          rc != 0 and "calling AE title not recognized" in out, out)
    rc, out = store("ORTHANC", dicom_port, small)
    check("a registered PACS associates (no import asked for it: 0x0124)", "0x0124" in out, out)
    api.call("POST", "/api/v1/pacs", {"label": "late", "aet": "LATEPACS", "host": "localhost", "port": 104}, **H)
    time.sleep(2)
    rc, out = store("LATEPACS", dicom_port, small)
    check("a PACS added through the API (host name localhost) is accepted within two seconds", "0x0124" in out, out)
    refused = metric("dqr_dicom_associations_refused_total")
    check("refused associations are counted", refused >= 2, refused)
    lines = log_lines(LOG)
    check("refusals logged and audited as AE@address", any("event=association_refused" in x and "NOTREG@127.0.0.1"
                                                            in x for x in lines) and
          any("action=association_refused" in x and "target=FARAWAY@127.0.0.1" in x for x in lines),
          [x for x in lines if "refused" in x][:4])

    for _ in range(5):
        store("NOTREG", dicom_port, small)
    again = metric("dqr_dicom_associations_refused_total")
    logged = [x for x in log_lines(LOG) if "event=association_refused" in x and "NOTREG@" in x]
    check("a peer retrying: every refusal counted, logged once a minute", again == refused + 5 and len(logged) == 1,
          (refused, again, logged))

    # ---- one address cannot lock the receiver: 32 idle connections, then an import from Orthanc ----------
    idle = [connect_from(ATTACKER, dicom_port) for _ in range(32)]
    t_open = time.time()
    time.sleep(0.3)
    rejected = 0
    for s in idle:
        s.settimeout(0.05)
        try:
            head = s.recv(10)
            rejected += len(head) == 10 and head[0] == 3 and tuple(head[7:10]) == (2, 3, 2)
        except socket.timeout:
            pass
    check("beyond 8 connections from one address: A-ASSOCIATE-RJ local limit exceeded", rejected == 24, rejected)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs["orthanc"], "project": "P1", "studies": [
        {"StudyInstanceUID": s_import, "subject": "S01", "session": "S01_CT"}]}, **H)
    b = api.wait_import(T, b.get("id"), ("done", "partial", "failed"), secs=ARTIM * 3)
    during = time.time() - t_open < ARTIM
    check("with 32 idle connections open from one address, Orthanc's C-MOVE import completes",
          b.get("state") == "done" and b["archived"] == len(meta[s_import]), b)
    # the 8 admitted connections never sent an association request: closed after the ARTIM time
    closed_after, deadline = [], t_open + ARTIM + 5
    for s in idle:
        s.settimeout(max(0.05, deadline - time.time()))
        try:
            closed = s.recv(10) == b""
        except (socket.timeout, ConnectionResetError):
            closed = False
        closed_after.append(time.time() - t_open if closed else None)
        s.close()
    waited = [x for x in closed_after if x is not None]
    check(f"idle connections closed after the ARTIM time ({ARTIM} s), the import ran while they were open",
          during and len(waited) == 32 and max(waited) < ARTIM + 3, (during, closed_after))

    # ---- an instance for a running import, from another registered PACS -------------------------------
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs["hold"], "project": "P1", "studies": [
        {"StudyInstanceUID": s_hold, "subject": "S02", "session": "S02_CT"}]}, **H)
    hold_id = b.get("id")
    running = api.wait_import(T, hold_id, ("running",), secs=10)
    time.sleep(0.5)  # the job is registered before the C-MOVE goes out
    forged = pydicom.dcmread(meta[s_hold][0][0])
    forged.PatientName = "FORGED^ORIGINAL"
    forged.SOPInstanceUID = forged.SOPInstanceUID + ".9"
    forged.save_as(WORK + "/forged.dcm")
    rc, out = store("OTHERPACS", dicom_port, WORK + "/forged.dcm")
    check("an instance for a running import from another registered PACS: refused 0x0124",
          running.get("state") == "running" and "0x0124" in out, (running, out))
    b = api.wait_import(T, hold_id, ("done", "partial", "failed"), secs=30)
    foreign = metric("dqr_instances_refused_foreign_total")
    check("... counted as refused foreign", foreign == 1, foreign)
    hist = [x for x in api.call("GET", "/api/v1/history/imports", **H)[1].get("imports", [])
            if x["session"] == "S02_CT"]
    st, ids, _ = api.call("GET", f"/api/v1/history/imports/{hist[-1]['id']}/identifiers", **H) if hist else (0, {}, 0)
    check("... the import's originals are not the sender's, nothing archived",
          b.get("archived") == 0 and not glob.glob(WORK + "/var/archive/P1/S02/**/*.dcm", recursive=True) and
          not (hist and hist[-1].get("has_identifiers")) and "FORGED" not in str(ids), (b, hist[-1:], ids))

    # ---- max_instance_bytes: 0xA700, and the association goes on ----------------------------------------
    rc, out = store("ORTHANC", dicom_port, large, small)
    check("an instance over max_instance_bytes: 0xA700; the next one on the association is answered",
          re.search(r"large.*: 0xA700", out) is not None and re.search(r"studies.*: 0x0124", out) is not None, out)
    check("... counted", metric("dqr_instances_too_large_total") == 1)

    # ---- no parsing under the jobs lock: a slow instance does not stall the queue ----------------------------
    sock = connect_from("127.0.0.1", dicom_port)
    sock.settimeout(60)
    sock.sendall(associate_rq(b"DQR", b"ORTHANC", b"1.2.840.10008.5.1.4.1.1.7", b"1.2.840.10008.1.2.1"))
    accepted = sock.recv(4096)[:1] == b"\x02"
    data = descending_dataset(100000)
    sock.sendall(pdv(1, 3, c_store_rq("1.2.840.10008.5.1.4.1.1.7", "1.2.3.999.1")))
    for i in range(0, len(data), 16000):
        sock.sendall(pdv(1, 2 if i + 16000 >= len(data) else 0, data[i:i + 16000]))
    t_sent = time.time()
    answered = {}
    threading.Thread(target=lambda: answered.update(rsp=sock.recv(4096), at=time.time()), daemon=True).start()
    time.sleep(0.2)
    t0 = time.time()
    api.call("POST", f"/api/v1/imports/{hold_id}/retry", **H)  # wakes the scheduler: takes the jobs lock
    waited = time.time() - t0
    end = time.time() + 60
    while "rsp" not in answered and time.time() < end:
        time.sleep(0.05)
    sock.close()
    check("while a receiver parses a slow instance, the jobs lock stays free (the queue answers in < 1 s)",
          accepted and waited < 1.0 and "rsp" in answered, (accepted, round(waited, 2),
                                                            round(answered.get("at", end) - t_sent, 2)))

    # ---- log injection -----------------------------------------------------------------------------------
    kind, why = ask(dicom_port, b"DQR", b"X\nevent=forged")
    check("a calling AE with a newline: refused", kind == 3 and why == (1, 1, 3), (kind, why))
    api.call("POST", "/api/v1/pacs", {"label": "pwn\n2026-01-01T00:00:00Z level=info event=forged", "aet": "PWN",
                                      "host": "127.0.0.1", "port": 104}, **H)
    time.sleep(0.3)
    lines = log_lines(LOG)
    stamp = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ level=\w+ event=\w+")
    forged_lines = [x for x in lines if "forged" in x]
    check("dqr serve: every log line is one event; the newline shows as \\x0A",
          all(stamp.match(x) for x in lines) and len(forged_lines) >= 3 and
          all("\\x0A" in x for x in forged_lines),
          [x for x in lines if not stamp.match(x)][:3] + forged_lines)

    lport = free_port()
    lerr = open(WORK + "/listen.stderr", "w")
    listen = procs.start([DQR, "listen", "--port", str(lport), "--aet", "LST", "--out", WORK + "/rx",
                          "--allow-aet", "STORESCU"], lerr)
    wait_port(lport)
    kind, why = ask(lport, b"LST", b"Y\nforged line")
    kind2, _ = ask(lport, b"LST", b"STORESCU")
    procs.stop_one(listen)
    lerr.close()
    llines = open(WORK + "/listen.stderr").read().splitlines()
    check("dqr listen --allow-aet: other AEs refused, the allowed one accepted", kind == 3 and why == (1, 1, 3) and
          kind2 == 2, (kind, why, kind2))
    check("dqr listen: the newline in a calling AE is escaped, no forged line",
          all(x.startswith("dqr: listen: ") or x.startswith("listen: ") for x in llines) and
          any("Y\\x0Aforged line" in x for x in llines), llines)

    # ---- nothing of the refused instances kept; a clean stop ------------------------------------------------
    procs.stop_one(serve)
    check("SIGTERM: clean stop, exit 0 (under ASan: no leak)", serve.returncode == 0, serve.returncode)
    hits = scan_for([WORK + "/var"], canary_needles(canaries) + [b"FORGED"])
    check("no canary and nothing of the forged instance under the data directory", not hits, hits[:5])
finally:
    procs.stop()
    try:
        hold.close()
    except NameError:
        pass
sys.exit(check.finish())
