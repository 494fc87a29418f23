#!/usr/bin/python3
"""Two `dqr serve` nodes that both run the queue, on one PostgreSQL catalog
and one data directory, each receiving what it moves (its own AE title;
Orthanc knows both):
1. the PACS's window (threads 1) holds for both nodes together: never two
   of its sessions running at once, though each node alone would start one;
2. a node that starts again takes back only its own interrupted sessions:
   node B started while node A has a session running leaves it alone,
   where B used to queue it again at start (and it was moved twice); a
   real session of A while B restarts is done once, each instance once;
3. the window's threads count associations, not sessions, for both nodes:
   with threads 2, a session of 2 series running on one node holds both
   (its series at once); a second session asked of the other node waits
   for them, and the PACS (quirky_scp, which counts) never has more than 2
   open. Before, the other node counted one session and started its own.
Run by postgres.sh with DQR_CATALOG set. Usage: nodes_shared.py DQR WORKDIR"""
import glob
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import (Api, Checks, Procs, all_day, dqr_store, free_port, generate, quirky_stats, start_orthanc,  # noqa: E402
                   start_quirky, wait_port)

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PW = "gateway-secret-1"
check, procs = Checks(), Procs()
if not os.environ.get("DQR_CATALOG", "").startswith("postgresql:"):
    print("FAIL nodes_shared.py needs DQR_CATALOG=postgresql://... (postgres.sh sets it)\n0 passed, 1 failed")
    sys.exit(1)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
generate(ROOT, WORK + "/small", "--patients", "4", "--studies", "1", "--series", "2", "--instances", "6",
         "--rows", "16", "--cols", "16")
generate(ROOT, WORK + "/big", "--patients", "1", "--studies", "1", "--series", "4", "--instances", "150",
         "--rows", "32", "--cols", "32", "--seed", "2")
generate(ROOT, WORK + "/par", "--patients", "2", "--studies", "1", "--series", "2", "--instances", "20",
         "--rows", "16", "--cols", "16", "--seed", "4")
QUIRKY = os.path.join(os.path.dirname(os.path.abspath(DQR)), "tests", "quirky_scp")  # the build's test peer


def studies_of(folder):
    import pydicom
    out = {}
    for f in glob.glob(folder + "/**/*.dcm", recursive=True):
        d = pydicom.dcmread(f, stop_before_pixels=True)
        out.setdefault(d.StudyInstanceUID, [d.PatientID, 0])[1] += 1
    return out


small, big, par = studies_of(WORK + "/small"), studies_of(WORK + "/big"), studies_of(WORK + "/par")
http_a, http_b, rx_a, rx_b = free_port(), free_port(), free_port(), free_port()
OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", rx_a],
                                                          "dqrb": ["DQRB", "127.0.0.1", rx_b]})
wait_port(OD)
dqr_store(DQR, "ORTHANC", OD, WORK + "/small")
dqr_store(DQR, "ORTHANC", OD, WORK + "/big")
common = dict(os.environ, DQR_DATA_DIR=WORK + "/var", DQR_VAULT_KEY_FILE=WORK + "/keys/vault.key",
              DQR_UID_SECRET_FILE=WORK + "/keys/uid-secret", DQR_ADMIN_PASSWORD=PW, HOME=WORK + "/home",
              DQR_IMPORT_POLL_SECONDS="1")
env_a = dict(common, DQR_HTTP_PORT=str(http_a), DQR_DICOM_PORT=str(rx_a), DQR_AET="DQR")
env_b = dict(common, DQR_HTTP_PORT=str(http_b), DQR_DICOM_PORT=str(rx_b), DQR_AET="DQRB")


def psql(sql):
    """sql on the catalog (DQR_CATALOG), by Debian's psql; its output."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql")) or ["psql"]
    return subprocess.run([bins[-1], os.environ["DQR_CATALOG"], "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          check=True, capture_output=True, text=True, cwd="/").stdout


def start(env, log):
    p = procs.start([DQR, "serve"], open(WORK + "/" + log, "a"), env)
    wait_port(int(env["DQR_HTTP_PORT"]))
    wait_port(int(env["DQR_DICOM_PORT"]))
    return p


def sessions(api, token, iid):
    return api.call("GET", f"/api/v1/imports/{iid}", token=token)[1].get("sessions", [])


def request(api, token, pacs, uids, prefix, subjects):
    st, r, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "P1", "studies": [
        {"StudyInstanceUID": u, "subject": subjects[u], "session": f"{prefix}{i}_CT"} for i, u in enumerate(uids)]},
        token=token)
    check(f"import {prefix} queued", st == 201, r)
    return r.get("id")


try:
    node_a = start(env_a, "a.stderr")
    node_b = start(env_b, "b.stderr")
    a, b = Api(http_a), Api(http_b)
    T = a.login("admin", PW)
    st, p, _ = a.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD},
                      token=T)
    pacs = p["id"]
    a.call("POST", "/api/v1/projects", {"id": "P1", "dqr_enabled": True}, token=T)
    # the PACS of step 3, registered now: the receivers reload the registry at most once a second
    qport = start_quirky(procs, QUIRKY, WORK, "QUIRKY", WORK + "/par", {"DQR": rx_a, "DQRB": rx_b},
                         "--store-delay-ms", "100")
    wait_port(qport)
    st, q, _ = a.call("POST", "/api/v1/pacs", {"label": "quirky", "aet": "QUIRKY", "host": "127.0.0.1",
                                               "port": qport}, token=T)
    a.call("PUT", f"/api/v1/pacs/{q['id']}/schedule", all_day(2), token=T)
    subjects = {u: f"PT{i}" for i, u in enumerate(sorted(small) + sorted(big))}

    # 1. one window for both nodes
    iid = request(a, T, pacs, sorted(small), "W", subjects)
    most, end, state = 0, time.time() + 120, ""
    while time.time() < end:
        s = sessions(b, T, iid)
        most = max(most, sum(1 for x in s if x.get("state") == "running"))
        if s and all(x.get("state") in ("done", "partial", "failed") for x in s):
            state = "ended"
            break
        time.sleep(0.05)
    s = sessions(a, T, iid)
    check("the window's one thread held across both nodes: never two sessions running at once", most == 1, most)
    check("every session of the window test done, each instance once",
          state == "ended" and all(x.get("state") == "done" and x.get("archived") == small[x_uid][1]
                                   for x, x_uid in zip(sorted(s, key=lambda x: x["session"]), sorted(small))), s)
    logs = [open(WORK + n).read() for n in ("/a.stderr", "/b.stderr")]
    ran = [sum(1 for line in log.splitlines() if "event=import " in line and "state=done" in line) for log in logs]
    check("the nodes ran the four sessions between them, each once", ran[0] + ran[1] == 4, ran)

    # 2. node B starts again while node A runs a session. A real session is
    # over in under a second on a quiet machine, too soon to restart B in
    # the middle of it every time, so one of node A's sessions is marked
    # running by A in the catalog (A is alive: it beats every second), as a
    # claim by A leaves it; B must leave it alone at its start.
    done_one = sorted(s, key=lambda x: x["session"])[0]["id"]
    host = socket.gethostname()
    psql(f"UPDATE import_sessions SET state = 'running', node = '{host}:{http_a}:{rx_a}' WHERE id = {done_one}")
    procs.stop_one(node_b)
    procs.list.remove(node_b)
    before = open(WORK + "/b.stderr").read()
    node_b = start(env_b, "b.stderr")
    time.sleep(2.5)  # B's start-up and two scheduler passes of each node
    after = open(WORK + "/b.stderr").read()[len(before):]
    check("node B, starting again, queued nothing of node A's", "event=requeued" not in after, after[-300:])
    state = psql(f"SELECT state || ' ' || attempts FROM import_sessions WHERE id = {done_one}").strip()
    check("node A's running session left to node A: still running, not tried again", state == "running 1", state)
    psql(f"UPDATE import_sessions SET state = 'done', node = NULL WHERE id = {done_one}")

    # and a real session of A while B restarts: done once, every instance once
    procs.stop_one(node_b)
    procs.list.remove(node_b)
    iid = request(a, T, pacs, sorted(big), "R", subjects)
    node_b = start(env_b, "b.stderr")
    r = a.wait_import(T, iid, secs=180)
    x = (r.get("sessions") or [{}])[0]
    total = sum(n for _, n in big.values())
    check("node A's big session done once: attempts 1, every instance counted once",
          x.get("state") == "done" and x.get("attempts") == 1 and x.get("archived") == total, x)
    files = glob.glob(WORK + "/var/archive/P1/PT4/**/*.dcm", recursive=True)
    check("the shared archive holds each of its instances once", len(files) == total, len(files))

    # 3. threads 2 for both nodes together, counted in associations
    first, second = sorted(par)
    iid = request(a, T, q["id"], [first], "Q", {first: "Q0"})
    end, node = time.time() + 60, ""
    while time.time() < end and not node:  # running, its series moving (2 s: 40 instances, 100 ms each, 2 at once)
        s1 = (sessions(a, T, iid) or [{}])[0]
        if s1.get("state") == "running" and s1.get("received", 0) > 0:
            node = psql(f"SELECT node FROM import_sessions WHERE id = {s1['id']}").strip()
        time.sleep(0.05)
    other = b if node.endswith(f":{http_a}:{rx_a}") else a
    iid2 = request(other, T, q["id"], [second], "Q1", {second: "Q1"})
    r, r2 = a.wait_import(T, iid, secs=120), a.wait_import(T, iid2, secs=120)
    peer = quirky_stats(WORK, "QUIRKY")
    print(f"threads 2 over two nodes: the first session on {node}, the second asked of the other; at most "
          f"{peer.get('max')} associations at the PACS at once ({peer.get('spans')})")
    check("threads 2 over two nodes: at most 2 associations at the PACS at once, and 2 at times "
          f"(saw {peer.get('max')})",
          node and r.get("state") == r2.get("state") == "done" and peer.get("max") == "2" and
          r.get("archived") + r2.get("archived") == sum(n for _, n in par.values()), (node, r, r2, peer))
finally:
    procs.stop()
sys.exit(check.finish())
