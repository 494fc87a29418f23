#!/usr/bin/python3
"""Rendering frames to PNG over HTTP: dqr's WADO-RS rendered and thumbnail
resources (what the web UI's viewer asks) vs
Orthanc's /preview and /rendered on the same CT instances, in one run.
Generates N CT instances (tools/gen_studies.py, 512x512 16-bit), stores them
in Orthanc, imports them into dqr, then asks each server for every
instance's full-size PNG and a 128-pixel one, sequentially, one connection
per request (the same client for both). Prints a markdown table.
Usage: bench/render.py [N] [WORKDIR]   (nice it: it uses both cores)"""
import http.client
import json
import os
import shutil
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "pylib"))
from peers import Api, Procs, dqr_store, free_port, generate, serve_env, start_orthanc, wait_port  # noqa: E402

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100
WORK = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else ROOT + "/bench/out/render")
DQR = os.environ.get("DQR", ROOT + "/build/dqr")
PW = "gateway-secret-1"


def get(port, path, headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"{path}: {r.status} {body[:200]}")
    return body


def timed(port, paths, headers=None):
    t0 = time.perf_counter()
    size = sum(len(get(port, p, headers)) for p in paths)
    return (time.perf_counter() - t0) * 1000 / len(paths), size / len(paths)


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
generate(ROOT, WORK + "/studies", "--instances", str(N))
procs = Procs()
http_port, dicom_port = free_port(), free_port()
try:
    OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
    wait_port(OD) and wait_port(OH)
    dqr_store(DQR, "ORTHANC", OD, WORK + "/studies")
    procs.start([DQR, "serve"], open(WORK + "/serve.stderr", "w"), serve_env(WORK, PW, http_port, dicom_port,
                                                                               DQR_IMPORT_POLL_SECONDS="1"))
    wait_port(http_port)
    api = Api(http_port)
    T = api.login("admin", PW)
    pacs = api.call("POST", "/api/v1/pacs", {"label": "O", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD}, token=T)[1]["id"]
    api.call("POST", "/api/v1/projects", {"id": "B", "name": "bench", "dqr_enabled": True}, token=T)
    studies = json.loads(get(OH, "/studies"))
    uid = json.loads(get(OH, f"/studies/{studies[0]}"))["MainDicomTags"]["StudyInstanceUID"]
    imp = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "B", "studies": [
        {"StudyInstanceUID": uid, "subject": "S1", "session": "S1_CT"}]}, token=T)[1]
    api.wait_import(T, imp["id"], secs=600)
    auth = {"Authorization": "Bearer " + T}
    base = "/api/v1/projects/B/sessions/S1_CT"
    series = json.loads(get(http_port, base, auth))["series"][0]
    insts = json.loads(get(http_port, f"{base}/series/{series['uid']}/instances", auth))["instances"]
    sops = [i["sop_uid"] for i in insts]
    png = dict(auth, Accept="image/png")
    rendered = [f"/dicom-web/projects/B/studies/{i['study_uid']}/series/{i['series_uid']}/instances/{i['sop_uid']}"
                "/frames/1/rendered" for i in insts]
    orth = json.loads(get(OH, "/instances"))
    assert len(sops) == len(orth) == N, (len(sops), len(orth))
    rows = [
        ("dqr instance JSON (no pixels: the HTTP, login and header cost)", timed(http_port, [f"{base}/instances/{s}" for s in sops], auth)),
        ("Orthanc `/instances/{id}` JSON", timed(OH, [f"/instances/{o}" for o in orth])),
        ("dqr WADO-RS `frames/1/rendered` PNG (full size, dataset window)", timed(http_port, rendered, png)),
        ("Orthanc `/instances/{id}/preview` (full size)", timed(OH, [f"/instances/{o}/preview" for o in orth])),
        ("dqr WADO-RS series `thumbnail` PNG (128 px) x N", timed(http_port, [series["thumbnail"]] * N, png)),
        ("Orthanc `/instances/{id}/frames/0/rendered?width=128&height=128`",
         timed(OH, [f"/instances/{o}/frames/0/rendered?width=128&height=128" for o in orth])),
    ]
    print(f"| {N} CT instances 512x512 | ms per image | bytes per image |\n|---|---:|---:|")
    for name, (ms, size) in rows:
        print(f"| {name} | {ms:.1f} | {size:,.0f} |")
    print(f"\nfull size: Orthanc / dqr = {rows[3][1][0] / rows[2][1][0]:.2f}x; "
          f"128 px: Orthanc / dqr = {rows[5][1][0] / rows[4][1][0]:.2f}x")
finally:
    procs.stop()
