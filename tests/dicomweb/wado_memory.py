#!/usr/bin/python3
"""WADO-RS streams a study with bounded memory (docs/dicomweb.md): a study of
~120 MiB imported from Orthanc is retrieved whole, as stored and re-encoded
(Implicit VR LE, one instance in memory at a time); the peak resident size
of `dqr serve` (VmHWM) may grow by much less than the study's size.
Usage: wado_memory.py DQR WORKDIR"""
import glob
import http.client
import os
import shutil
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import Api, Checks, Procs, dqr_store, free_port, generate, serve_env, start_orthanc, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

big = WORK + "/big"
generate(ROOT, big, "--patients", "1", "--studies", "1", "--series", "2", "--instances", "30",
         "--rows", "512", "--cols", "512", "--frames", "4")
files = glob.glob(big + "/**/*.dcm", recursive=True)
study_bytes = sum(os.path.getsize(f) for f in files)
study = pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID

http_port, dicom_port = free_port(), free_port()
OD, _ = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
wait_port(OD)
dqr_store(DQR, "ORTHANC", OD, big)
api = Api(http_port)


def peak_kb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def drain(path, token, accept=None):
    """GET path, reading the answer in 64 KiB pieces: (status, bytes read)."""
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=300)
    h = {"Authorization": "Bearer " + token}
    if accept:
        h["Accept"] = accept
    c.request("GET", path, headers=h)
    r = c.getresponse()
    n = 0
    while True:
        piece = r.read(65536)
        if not piece:
            break
        n += len(piece)
    c.close()
    return r.status, n


try:
    serve = procs.start([DQR, "serve"], open(WORK + "/serve.stderr", "ab"),
                        serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1"))
    wait_port(http_port)
    T = api.login("admin", "gateway-secret-1")
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD}, token=T)
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "P1", "dqr_enabled": True}, token=T)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": b["id"], "project": "P1", "studies": [
        {"StudyInstanceUID": study, "subject": "S01", "session": "S01_BIG"}]}, token=T)
    b = api.wait_import(T, b.get("id"), secs=110)
    check("the large study is imported", b.get("state") == "done" and b.get("archived") == len(files), b)
    # a fresh process: the import's own peak (instances held while received) says nothing of WADO
    procs.stop_one(serve)
    http_port, dicom_port = free_port(), free_port()  # fresh ports: the old ones may be taken meanwhile
    api = Api(http_port)
    serve = procs.start([DQR, "serve"], open(WORK + "/serve.stderr", "ab"),
                        serve_env(WORK, "gateway-secret-1", http_port, dicom_port))
    check("dqr serve starts again", wait_port(http_port), "")
    st, res, _ = api.call("GET", "/dicom-web/studies?PatientName=S01", token=T)
    uid = res[0]["0020000D"]["Value"][0] if st == 200 and res else "none"
    st, series, _ = api.call("GET", f"/dicom-web/studies/{uid}/series", token=T)
    first = series[0]["0020000E"]["Value"][0] if st == 200 and series else "none"
    st, inst, _ = api.call("GET", f"/dicom-web/studies/{uid}/series/{first}/instances", token=T)
    one = inst[0]["00080018"]["Value"][0] if st == 200 and inst else "none"
    # warm up: one instance through both paths, so the baseline holds the code and caches
    drain(f"/dicom-web/studies/{uid}/series/{first}/instances/{one}", T)
    drain(f"/dicom-web/studies/{uid}/series/{first}/instances/{one}", T,
          'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2')
    base = peak_kb(serve.pid)
    st, n = drain(f"/dicom-web/studies/{uid}", T, 'multipart/related; type="application/dicom"; transfer-syntax=*')
    as_stored = peak_kb(serve.pid)
    check(f"the whole study as stored: {n >> 20} MiB sent", st == 200 and n >= study_bytes * 0.9, (st, n, study_bytes))
    st, n2 = drain(f"/dicom-web/studies/{uid}", T,
                   'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2')
    reencoded = peak_kb(serve.pid)
    check(f"the whole study re-encoded to Implicit VR LE: {n2 >> 20} MiB sent", st == 200 and n2 >= study_bytes * 0.9,
          (st, n2))
    limit = study_bytes // 1024 // 4  # a quarter of the study: buffering it would pass this
    check(f"peak RSS grew by {(as_stored - base) >> 10} MiB sending {study_bytes >> 20} MiB as stored "
          f"(limit {limit >> 10} MiB)", as_stored - base < limit, (base, as_stored))
    check(f"peak RSS grew by {(reencoded - base) >> 10} MiB sending it re-encoded (limit {limit >> 10} MiB)",
          reencoded - base < limit, (base, reencoded))
except Exception as e:  # a test that breaks is a failure, not an error exit
    import traceback
    traceback.print_exc()
    check("test ran to the end", False, repr(e))
finally:
    procs.stop()
    shutil.rmtree(WORK + "/var/archive", ignore_errors=True)
    shutil.rmtree(WORK + "/orthanc-db", ignore_errors=True)
    shutil.rmtree(big, ignore_errors=True)

sys.exit(check.finish())
