#!/usr/bin/python3
"""A WADO-RS study answered as stored carries a Content-Length taken from
the catalog's sizes (docs/dicomweb.md): an archive file whose size no
longer matches its catalog row (changed, or gone, after it was archived)
must cut the answer (a short body, the connection closed), never send a
body of the announced length with wrong bytes in it, and log the file
under the archive (no PHI) with a pointer to `dqr fsck`. Such an answer's
socket gets the send buffer of http_send_buffer_kib (docs/configuration.md),
as `ss` shows it.
Usage: wado_size.py DQR WORKDIR"""
import glob
import http.client
import json
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, Procs, canary_needles, free_port, generate, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

data = WORK + "/data"
canaries = generate(ROOT, data, "--patients", "1", "--studies", "1", "--series", "2", "--instances", "3",
                    "--rows", "16", "--cols", "16")
files = sorted(glob.glob(data + "/**/*.dcm", recursive=True))
http_port, dicom_port = free_port(), free_port()
api = Api(http_port)
LOG = WORK + "/var/logs/dqr.log"
ACCEPT = 'multipart/related; type="application/dicom"; transfer-syntax=*'


def retrieve(path, token):
    """GET path as stored: (status, Content-Length, bytes received, body with its boundary as B, whether it
    came whole)."""
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
    c.request("GET", path, headers={"Authorization": "Bearer " + token, "Accept": ACCEPT})
    r = c.getresponse()
    try:
        body, whole = r.read(), True
    except http.client.IncompleteRead as e:
        body, whole = e.partial, False
    c.close()
    n = len(body)
    m = re.search(r"boundary=([^;\s]+)", r.getheader("Content-Type", ""))
    if m:
        body = body.replace(m.group(1).encode(), b"B")
    return r.status, int(r.getheader("Content-Length", "-1")), n, body, whole


def send_buffers(token, path):
    """GET path as stored on a connection kept open: the server's socket send buffer(s) as `ss -tm` shows them."""
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
    c.request("GET", path, headers={"Authorization": "Bearer " + token, "Accept": ACCEPT})
    c.getresponse().read()
    out = subprocess.run(["ss", "-tmnH", "state", "established", f"sport = :{http_port}"], capture_output=True,
                         text=True).stdout
    c.close()
    return [int(x) for x in re.findall(r"\btb(\d+)", out)]


def log_text():
    try:
        return open(LOG, "rb").read()
    except OSError:
        return b""


try:
    procs.start([DQR, "serve"], open(WORK + "/serve.stderr", "ab"), serve_env(WORK, "gateway-secret-1", http_port,
                                                                                 dicom_port))
    check("dqr serve starts", wait_port(http_port), "")
    T = api.login("admin", "gateway-secret-1")
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "P1", "dqr_enabled": True}, token=T)
    body = b"".join(b"--B\r\nContent-Type: application/dicom\r\n\r\n" + open(f, "rb").read() + b"\r\n" for f in files)
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=60)
    c.request("POST", "/dicom-web/projects/P1/studies?subject=S01&session=S01_A", body=body + b"--B--\r\n",
              headers={"Authorization": "Bearer " + T,
                       "Content-Type": 'multipart/related; type="application/dicom"; boundary=B'})
    r = c.getresponse()
    st, ans = r.status, json.loads(r.read() or b"{}")
    c.close()
    stored = len(ans.get("00081199", {}).get("Value", [])) if isinstance(ans, dict) else 0
    check(f"STOW-RS archived the {len(files)} instances", st == 200 and stored == len(files), (st, ans))
    st, res, _ = api.call("GET", "/dicom-web/studies", token=T)
    uid = res[0]["0020000D"]["Value"][0] if st == 200 and res else "none"
    study = f"/dicom-web/studies/{uid}"

    st, length, n, good, whole = retrieve(study, T)
    check("the intact study comes whole, of its Content-Length", st == 200 and whole and n == length > 0,
          (st, length, n, whole))
    tb = send_buffers(T, study)
    check("its socket has the send buffer of http_send_buffer_kib (512 KiB, doubled by Linux)", tb == [1 << 20], tb)
    archived = sorted(glob.glob(WORK + "/var/archive/**/*.dcm", recursive=True))
    check("the archive holds the files", len(archived) == len(files), archived)

    # a file rewritten with the same start and more bytes in its middle: the first catalog-size bytes of it are
    # not the archived instance, so sending them would be a body of the right length with wrong bytes in it
    victim = archived[len(archived) // 2]
    orig = open(victim, "rb").read()
    with open(victim, "wb") as f:
        f.write(orig[:200] + b"\xa5" * 64 + orig[200:])
    st, length2, n, got, whole = retrieve(study, T)
    check("a file grown since it was archived: the answer is cut (short, connection closed)",
          st == 200 and length2 == length and not whole and n < length, (st, length2, n, whole))
    check("... and every byte that came is the intact answer's", len(got) > 0 and good.startswith(got),
          (len(got), len(good)))
    rel = os.path.relpath(victim, WORK + "/var")
    lines = [x for x in log_text().splitlines() if b"wado_size_mismatch" in x]
    check("... logged with the file under the archive, both sizes and dqr fsck",
          any(rel.encode() in x and f"bytes={len(orig) + 64}".encode() in x and f"catalog={len(orig)}".encode() in x
              and b"dqr fsck" in x for x in lines), (rel, lines))

    # a file gone: the answer announced it, so it is cut there too
    with open(victim, "wb") as f:
        f.write(orig)
    os.remove(archived[-1])
    st, length3, n, got, whole = retrieve(study, T)
    check("a file gone since it was archived: the answer is cut",
          st == 200 and length3 == length and not whole and n < length and good.startswith(got),
          (st, length3, n, whole))
    rel = os.path.relpath(archived[-1], WORK + "/var")
    check("... logged with the file under the archive and dqr fsck",
          any(b"wado_missing" in x and rel.encode() in x and b"dqr fsck" in x for x in log_text().splitlines()),
          log_text()[-2000:])
    hits = [n for n in canary_needles(canaries) if n in log_text()]
    check("the log holds no PHI", not hits, hits)
except Exception as e:  # a test that breaks is a failure, not an error exit
    import traceback
    traceback.print_exc()
    check("test ran to the end", False, repr(e))
finally:
    procs.stop()

sys.exit(check.finish())
