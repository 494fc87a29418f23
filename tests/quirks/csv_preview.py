#!/usr/bin/python3
"""A large-ish CSV import preview (docs/api.md, "CSV import"): 300 rows by
Accession Number, against Orthanc and against the project's quirky_scp
(tests/net/quirky_scp.c), both holding the same 300 one-instance studies.
Every row must come back right and in the file's order, with rows that
match nothing and malformed rows reported at their line; the answer must be
the same with the PACS window's threads at 1 and at 4; and at the peer, no
more associations open at once than the window's threads, several used when
it allows several, and far fewer associations than rows (many C-FINDs on
one association). The rows are asked as value lists first
(src/gateway/pacs/query_lists.c): against a PACS that matches lists
(Orthanc, quirky_scp --list-matching) far fewer C-FINDs than rows; against
one that reads a list as one literal value (quirky_scp) or stops at a
result limit (Orthanc with LimitFindResults) every row is still right.
Usage: csv_preview.py DQR QUIRKY_SCP WORKDIR"""
import glob
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import (Api, Checks, Procs, dqr_store, free_port, generate, quirky_stats, serve_env,  # noqa: E402
                   start_orthanc, start_quirky, wait_port)

DQR, QUIRKY, WORK = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
N = 300
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
PW = "gateway-secret-1"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")

data = WORK + "/data"
generate(ROOT, data, "--patients", str(N), "--studies", "1", "--series", "1", "--instances", "1", "--rows", "4",
         "--cols", "4")
study_of = {}
for f in glob.glob(data + "/**/*.dcm", recursive=True):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    study_of[str(d.AccessionNumber)] = str(d.StudyInstanceUID)
accessions = sorted(study_of)
# the file's order is not the PACS's: every 7th study first, then the rest
order = accessions[::7] + [a for i, a in enumerate(accessions) if i % 7]
rows = ["Accession Number,Subject,Session"]
expect = {}  # line -> accession, or None for a row that must be an error
for i, acc in enumerate(order):
    if i == 40:
        expect[len(rows) + 1] = None
        rows.append("NO-SUCH-ACC-1,S_NONE,E_NONE")
    if i == 200:
        expect[len(rows) + 1] = None
        rows.append("X,bad subject!,E_BAD")
    expect[len(rows) + 1] = acc
    rows.append(f"{acc},S{i:03d},E{i:03d}")
CSV = "\n".join(rows) + "\n"

http_port, dicom_port = free_port(), free_port()
OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
# a PACS with its own result limit, under the size of one value list
LD, LH = start_orthanc(procs, WORK, "orthanc-limited", "LIMITED", {"dqr": ["DQR", "127.0.0.1", dicom_port]},
                       {"LimitFindResults": 40})
PEERS = {"ORTHANC": OD, "LIMITED": LD}
for aet, flags in (("QUIRKY", []), ("LISTS", ["--list-matching"])):
    PEERS[aet] = start_quirky(procs, QUIRKY, WORK, aet, data, {"DQR": dicom_port}, *flags)


def stats(aet="QUIRKY"):
    return quirky_stats(WORK, aet)


def right(body):
    """Which lines came back wrong (empty when every row is right)."""
    wrong = []
    got = body.get("rows") or []
    if [r.get("line") for r in got] != sorted(expect):
        return ["the rows' lines or order: " + str([r.get("line") for r in got][:20])]
    for r in got:
        acc, m = expect[r["line"]], r.get("matches") or []
        if acc is None:
            ok = bool(r.get("error")) and not m
        else:
            i = order.index(acc)
            ok = (not r.get("error") and len(m) == 1 and m[0].get("StudyInstanceUID") == study_of[acc] and
                  m[0].get("AccessionNumber") == acc and m[0].get("session") == f"E{i:03d}" and
                  m[0].get("subject") == f"S{i:03d}")
        if not ok:
            wrong.append(r)
    return wrong


try:
    if not all(wait_port(port) for port in PEERS.values()):
        raise SystemExit("FAIL peers did not start\n0 passed, 1 failed")
    dqr_store(DQR, "ORTHANC", OD, data)
    dqr_store(DQR, "LIMITED", LD, data)
    env = serve_env(WORK, PW, http_port, dicom_port)
    procs.start([DQR, "serve"], open(WORK + "/serve.log", "wb"), env)
    wait_port(http_port)
    api = Api(http_port)
    T = api.login("admin", PW)
    H = {"token": T}
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "CSV", "dqr_enabled": True}, **H)
    ids = {}
    for aet, port in PEERS.items():
        st, b, _ = api.call("POST", "/api/v1/pacs", {"label": aet.lower(), "aet": aet, "host": "127.0.0.1",
                                                     "port": port}, **H)
        ids[aet] = b.get("id")

    def preview(aet, threads):
        window = {"timezone": "UTC", "days": {d: [{"start": "00:00", "end": "24:00", "threads": threads,
                                                   "utilization": 100}] for d in DAYS}}
        api.call("PUT", f"/api/v1/pacs/{ids[aet]}/schedule", window, **H)
        return api.call("POST", "/api/v1/imports/csv/preview", {"pacs": ids[aet], "project": "P1", "csv": CSV}, **H)

    answers = {}
    for aet in PEERS:
        finds = 0
        for threads in (1, 4):
            st, body, _ = preview(aet, threads)
            answers[aet, threads] = body
            wrong = right(body) if st == 200 else [st, body]
            check(f"{aet.lower()} threads={threads}: all {N + 2} rows right, in the file's order "
                  f"(errors {body.get('errors') if st == 200 else '?'})",
                  not wrong and body.get("errors") == 2 and body.get("sessions") == N, wrong[:3])
            if aet == "LISTS":
                asked, finds = int(stats(aet).get("finds", 0)) - finds, int(stats(aet).get("finds", 0))
                print(f"lists threads={threads}: {asked} C-FINDs for {N + 1} rows")
                check(f"lists threads={threads}: the rows asked as value lists ({asked} C-FINDs for {N + 1} rows)",
                      0 < asked <= 10, asked)
            if aet == "QUIRKY":
                s = stats()
                most, assocs, finds = int(s.get("max", 0)), int(s.get("assocs", 0)), int(s.get("finds", 0))
                print(f"quirky threads={threads}: at most {most} associations at once, {assocs} in all so far, "
                      f"{finds} C-FINDs")
                check(f"quirky threads={threads}: at most {threads} associations at once (saw {most})",
                      most <= threads and (threads == 1 or most > 1), s)
        check(f"{aet.lower()}: the same answer with threads 1 and 4", answers[aet, 1] == answers[aet, 4])
    s = stats()
    check(f"quirky: many C-FINDs on one association ({s.get('assocs')} associations for {s.get('finds')} C-FINDs)",
          int(s.get("finds", 0)) >= 2 * (N + 1) and int(s.get("assocs", 0)) <= 2 * 4, s)
    for aet in ("LIMITED", "QUIRKY", "LISTS"):
        check(f"the same answer from Orthanc and {aet.lower()} but for the PACS's own attributes",
              [[m.get("StudyInstanceUID") for m in r["matches"]] for r in answers["ORTHANC", 4]["rows"]] ==
              [[m.get("StudyInstanceUID") for m in r["matches"]] for r in answers[aet, 4]["rows"]])
finally:
    procs.stop()
sys.exit(check.finish())
