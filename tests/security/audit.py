#!/usr/bin/python3
"""The audit trail of `dqr serve` (docs/audit.md), against a real Orthanc
loaded with generated studies that carry planted canary PHI: a failed and a
successful login, a query, a reveal of its original keys, an import, a
download, a dry run on an uploaded sample, a send, GET /api/v1/audit as an
admin and as a user (403); then the audit file: mode 0600, one well-formed
DICOM AuditMessage per line in the PS3.15 A.5.1 element order with the
right EventIDs and outcomes, no canary, kept across a restart; the RFC 5424
datagrams a UDP listener received; and PHI withheld when the audit file
cannot be written. Usage: audit.py DQR WORKDIR"""
import base64
import glob
import json
import os
import re
import shutil
import socket
import stat
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import Api, Checks, Procs, canary_needles, dqr_store, free_port, generate, start_orthanc, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

studies = WORK + "/studies"
canaries = generate(ROOT, studies, "--patients", "1", "--studies", "1", "--series", "1", "--instances", "2",
                    "--rows", "8", "--cols", "8")
needles = canary_needles(canaries)
files = sorted(glob.glob(studies + "/**/*.dcm", recursive=True))
orig = pydicom.dcmread(files[0], stop_before_pixels=True)

http_port, dicom_port = free_port(), free_port()
OD, _ = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
if not wait_port(OD):
    print("FAIL Orthanc did not start\n0 passed, 1 failed")
    sys.exit(1)
dqr_store(DQR, "ORTHANC", OD, studies)

# a syslog collector: every datagram dqr sends to udp://127.0.0.1:PORT
syslog = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
syslog.bind(("127.0.0.1", 0))
syslog.settimeout(0.2)
datagrams, listening = [], True


def collect():
    while listening:
        try:
            datagrams.append(syslog.recv(65536))
        except socket.timeout:
            pass


threading.Thread(target=collect, daemon=True).start()

AUDIT = WORK + "/var/logs/audit.log"
ADMIN_PW, BOB_PW = "audit-secret-long-1", "river-stone-12345"
env = dict(os.environ, DQR_DATA_DIR=WORK + "/var", DQR_VAULT_KEY_FILE=WORK + "/keys/vault.key",
           DQR_UID_SECRET_FILE=WORK + "/keys/uid-secret", DQR_HTTP_PORT=str(http_port),
           DQR_DICOM_PORT=str(dicom_port), DQR_ADMIN_PASSWORD=ADMIN_PW, HOME=WORK + "/home",
           DQR_IMPORT_POLL_SECONDS="1", DQR_AUDIT_SYSLOG=f"udp://127.0.0.1:{syslog.getsockname()[1]}")
log = open(WORK + "/serve.stderr", "ab")
api = Api(http_port)


def start_serve():
    p = procs.start([DQR, "serve"], log, env)
    wait_port(http_port) and wait_port(dicom_port)
    return p



def read_audit():
    return open(AUDIT, "rb").read() if os.path.isfile(AUDIT) else b""


def messages():
    """The audit file's lines, each parsed (None where it does not parse)."""
    out = []
    for line in read_audit().decode("utf-8").split("\n")[:-1]:
        try:
            out.append(ET.fromstring(line))
        except ET.ParseError:
            out.append(None)
    return out


def action_of(m):
    return next((c.get("csd-code") for c in m.find("EventIdentification").findall("EventTypeCode")
                 if c.get("codeSystemName") == "DQR"), None)


def structure_ok(m):
    """The A.5.1 schema's order and mandatory parts (attributes and elements)."""
    kids = [c.tag for c in m]
    n_ap = kids.count("ActiveParticipant")
    order = (kids[0] == "EventIdentification" and kids[1:1 + n_ap] == ["ActiveParticipant"] * n_ap and n_ap >= 1 and
             kids[1 + n_ap] == "AuditSourceIdentification" and
             all(k == "ParticipantObjectIdentification" for k in kids[2 + n_ap:]))
    ev = m.find("EventIdentification")
    ev_ok = (ev.get("EventActionCode") in "CRUDE" and ev.get("EventOutcomeIndicator") in ("0", "4", "8", "12") and
             re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", ev.get("EventDateTime") or "") and
             ev[0].tag == "EventID" and ev[0].get("codeSystemName") == "DCM" and ev[0].get("csd-code") and
             ev[0].get("originalText"))
    ap_ok = all(a.get("UserID") and a.get("UserIsRequestor") in ("true", "false") for a in m.findall("ActiveParticipant"))
    src = m.find("AuditSourceIdentification")
    po_ok = all(p.get("ParticipantObjectID") and p[0].tag == "ParticipantObjectIDTypeCode" and
                p[1].tag in ("ParticipantObjectName", "ParticipantObjectQuery")
                for p in m.findall("ParticipantObjectIdentification"))
    return bool(order and ev_ok and ap_ok and src.get("AuditSourceID") == "DQR" and po_ok)


def events(msgs, action):
    return [m for m in msgs if m is not None and action_of(m) == action]


serve = None
try:
    serve = start_serve()
    st, b, _ = api.call("POST", "/api/v1/login", {"username": "admin", "password": "wrong-password-1"})
    check("failed login: 401", st == 401, b)
    st, b, _ = api.call("POST", "/api/v1/login", {"username": "nobody-here", "password": "wrong-password-1"})
    T = api.login("admin", ADMIN_PW)
    H = {"token": T}
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD,
                                                 "default_qr": True, "storable": True}, **H)
    P = b.get("id")
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "One", "dqr_enabled": True}, **H)
    api.call("POST", "/api/v1/users", {"username": "bob", "password": BOB_PW, "role": "user"}, **H)

    # ---- PHI accesses ------------------------------------------------------------------
    name = str(orig.PatientName)
    st, q, _ = api.call("POST", "/api/v1/query", {"pacs": P, "level": "STUDY", "keys": {"PatientName": name}}, **H)
    check("query with a canary name returns the study", st == 200 and len(q.get("results", [])) == 1, q)
    st, h, _ = api.call("GET", "/api/v1/history/queries", **H)
    qh = h["queries"][0]["id"] if st == 200 and h.get("queries") else 0
    st, keys, _ = api.call("GET", f"/api/v1/history/queries/{qh}/keys", **H)
    check("original search keys revealed", st == 200 and keys["keys"].get("PatientName") == name, keys)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [
        {"StudyInstanceUID": orig.StudyInstanceUID, "subject": "S01", "session": "S01_MR"}]}, **H)
    b = api.wait_import(T, b.get("id"))
    check("import done", b.get("state") == "done", b)
    st, data, _ = api.call("GET", "/api/v1/projects/P1/sessions/S01_MR/download", binary=True, **H)
    check("download", st == 200 and data[:2] == b"PK", st)
    sample = base64.b64encode(open(files[0], "rb").read()).decode()
    st, b, _ = api.call("POST", "/api/v1/projects/P1/dry-run", {"instance": sample}, **H)
    check("dry run on an uploaded sample", st == 200, b)
    st, b, _ = api.call("POST", "/api/v1/projects/P1/sessions/S01_MR/send", {"pacs": P}, **H)
    check("send to a PACS", st == 202, b)

    # ---- the REST view ------------------------------------------------------------------
    st, a, _ = api.call("GET", "/api/v1/audit?limit=500", **H)
    acts = [e["action"] for e in a.get("events", [])] if st == 200 else []
    check("GET /api/v1/audit as admin: the events, newest first",
          st == 200 and {"login_failure", "login_success", "query_results", "phi_view_query_keys",
                         "session_download", "dry_run", "session_send", "user_create"} <= set(acts) and
          [e["id"] for e in a["events"]] == sorted((e["id"] for e in a["events"]), reverse=True), acts)
    row = next((e for e in a.get("events", []) if e["action"] == "login_failure" and e["user"] == "admin"), {})
    check("rows carry their DICOM event", row.get("event", {}).get("id") == "110114" and row.get("target") == "admin", row)
    st, a2, _ = api.call("GET", "/api/v1/audit?limit=2", **H)
    st3, a3, _ = api.call("GET", a2.get("next", "/none"), **H) if st == 200 else (0, {}, None)
    check("paging by before=: the next page starts below", st == 200 and len(a2["events"]) == 2 and st3 == 200 and
          a3["events"] and a3["events"][0]["id"] < a2["events"][-1]["id"], (a2, a3))
    st, f, _ = api.call("GET", "/api/v1/audit?action=login_failure&user=0", **H)
    check("filters: action, and user 0 for no logged-in user", st == 200 and
          [(e["action"], e["target"], e["user_id"]) for e in f["events"]] == [("login_failure", "nobody-here", 0)], f)
    st, f, _ = api.call("GET", "/api/v1/audit?user=admin&action=login_success", **H)
    check("filter by user name", st == 200 and f["events"] and all(e["user"] == "admin" for e in f["events"]), f)
    st, b, _ = api.call("GET", "/api/v1/audit?limit=0", **H)
    check("bad limit: 400", st == 400, b)
    bob = api.login("bob", BOB_PW)
    st, b, _ = api.call("GET", "/api/v1/audit", token=bob)
    check("GET /api/v1/audit as a user: 403", st == 403, b)

    # ---- the file -------------------------------------------------------------------------
    mode = stat.S_IMODE(os.stat(AUDIT).st_mode) if os.path.isfile(AUDIT) else None
    check("audit file mode 0600", mode == 0o600, mode and oct(mode))
    msgs = messages()
    check("every line is one well-formed AuditMessage", msgs and all(m is not None and m.tag == "AuditMessage"
                                                                      for m in msgs), len(msgs))
    good = [m for m in msgs if m is not None]
    check("every message follows the A.5.1 structure", good and all(structure_ok(m) for m in good),
          [ET.tostring(m)[:300] for m in good if not structure_ok(m)][:1])

    def event(action):
        found = events(msgs, action)
        return found[-1].find("EventIdentification") if found else None

    want = {"login_failure": ("110114", "4"), "login_success": ("110114", "0"), "query_results": ("110112", "0"),
            "phi_view_query_keys": ("110110", "0"), "session_download": ("110106", "0"),
            "dry_run": ("110103", "0"), "session_send": ("110102", "0"), "audit_read": ("110101", "0"),
            "access_denied": ("110113", "4"), "user_create": ("110113", "0"), "pacs_create": ("110113", "0")}
    got = {a: (e[0].get("csd-code"), e.get("EventOutcomeIndicator")) if e is not None else None
           for a, e in ((a, event(a)) for a in want)}
    check("EventIDs and outcomes of each action", got == want, got)
    fail = events(msgs, "login_failure")[-1] if events(msgs, "login_failure") else None
    ap = fail.find("ActiveParticipant") if fail is not None else None
    check("the requestor's address is recorded", ap is not None and ap.get("NetworkAccessPointID") == "127.0.0.1" and
          ap.get("UserIsRequestor") == "true", ap.attrib if ap is not None else None)
    q_ev = events(msgs, "query_results")
    po = q_ev[-1].find("ParticipantObjectIdentification") if q_ev else None
    check("the query is named by its dqr id, not its keys",
          po is not None and po.get("ParticipantObjectID") == q.get("query_id") and po.find("ParticipantObjectQuery") is None,
          ET.tostring(po) if po is not None else None)
    raw = read_audit()
    leaks = [n.decode() for n in needles if n in raw] + [v for v in (name, str(orig.PatientID)) if v.encode() in raw]
    check("no canary PHI in the audit file (which holds the events)", raw and not leaks, leaks)

    # ---- syslog ---------------------------------------------------------------------------
    time.sleep(0.5)
    frame = re.compile(rb"<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S+ dqr \d+ (\d{6}) - \xef\xbb\xbf(<AuditMessage>.*)",
                       re.S)
    parsed = [frame.fullmatch(d) for d in datagrams]
    check("every datagram is an RFC 5424 message with the XML as MSG", datagrams and all(parsed), datagrams[:1])
    ok = [p for p in parsed if p]
    check("as many datagrams as lines, MSGID the EventID, authpriv",
          ok and len(ok) == len(msgs) and all(ET.fromstring(p.group(3)).find("EventIdentification")[0].get("csd-code") ==
                                       p.group(2).decode() and int(p.group(1)) // 8 == 10 for p in ok),
          (len(ok), len(msgs)))

    # ---- append-only across a restart; PHI withheld when the audit cannot be written -----
    procs.stop_one(serve)
    before = read_audit()
    serve = start_serve()
    T = api.login("admin", ADMIN_PW)
    after = read_audit()
    check("a restart appends: the old lines are kept as they were", after.startswith(before) and len(after) > len(before))
    check("the stop and the start are audited (110100 Application Stop, Start)",
          b"110121" in before.strip().splitlines()[-1] and b"110120" in after[len(before):], after[len(before):][:300])
    os.makedirs(os.path.dirname(AUDIT), exist_ok=True)
    os.replace(AUDIT, AUDIT + ".moved") if os.path.isfile(AUDIT) else None
    os.mkdir(AUDIT)  # nothing can open it for writing now, not even root
    st, b, _ = api.call("POST", "/api/v1/query", {"pacs": P, "level": "STUDY", "keys": {"PatientName": name}}, token=T)
    check("audit file unwritable: query results withheld (500)", st == 500 and "results" not in b and
          "audit" in b.get("error", ""), b)
    st, data, _ = api.call("GET", "/api/v1/projects/P1/sessions/S01_MR/download", binary=True, token=T)
    check("audit file unwritable: no download (500)", st == 500 and data[:2] != b"PK", st)
    st, b, _ = api.call("GET", f"/api/v1/history/queries/{qh}/keys", token=T)
    check("audit file unwritable: original search keys withheld (500)", st == 500 and "keys" not in b
          and name not in json.dumps(b), b)
    os.rmdir(AUDIT)
    os.replace(AUDIT + ".moved", AUDIT) if os.path.isfile(AUDIT + ".moved") else None
finally:
    listening = False
    procs.stop()
sys.exit(check.finish())
