#!/usr/bin/python3
"""Benchmark of dqr's DICOMweb server against Orthanc's DICOMweb plugin, in
one run on localhost (bench/dicomweb.sh runs it under nice):

1. STOW-RS of a study of N instances into dqr (batches of 100 per request,
   each instance through the whole pipeline: Basic profile, labels, atomic
   synced write, index) vs C-STORE of the same files into `dqr listen
   --profile basic` (the same de-identification, one association);
2. WADO-RS retrieval of that whole study from dqr vs from Orthanc (which
   holds the same study, stored by C-STORE), as stored (transfer-syntax=*),
   by curl, 9 runs alternating, medians;
3. QIDO-RS study searches on a catalog of STUDIES studies (dqr: synthetic
   rows inserted into the catalog; Orthanc: small instances uploaded through
   its REST API): p50 / p95 of 50 searches of each kind.

Usage: dicomweb.py DQR WORKDIR [N_INSTANCES] [STUDIES] [ORTHANC_STUDIES]
Environment: ONLY=wado runs the WADO-RS part alone (the study is still
stored into dqr by STOW-RS, untimed); DQR_BASE=PATH also measures that other
build of dqr (its own `dqr serve`, the same study), alternating with the
two others in every round, for old/new comparisons on a loaded machine;
ROUNDS=N WADO-RS runs of each (default 9)."""
import glob
import http.client
import io
import json
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pylib"))
import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from peers import Api, Procs, free_port, serve_env, start_orthanc, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
N = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
STUDIES = int(sys.argv[4]) if len(sys.argv) > 4 else 10000
O_STUDIES = int(sys.argv[5]) if len(sys.argv) > 5 else STUDIES
ONLY_WADO = os.environ.get("ONLY") == "wado"
BASE = os.environ.get("DQR_BASE")
ROUNDS = int(os.environ.get("ROUNDS", "9"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
procs = Procs()
for d in ("var", "keys", "home", "orthanc-db", "listen-out", "base"):
    shutil.rmtree(os.path.join(WORK, d), ignore_errors=True)
os.makedirs(WORK, exist_ok=True)
data = WORK + "/dicomweb-data"
if not os.path.exists(data + f".{N}"):
    shutil.rmtree(data, ignore_errors=True)
    subprocess.run(["/usr/bin/python3", ROOT + "/tools/gen_studies.py", data, "--instances", str(N), "--rows", "256",
                    "--cols", "256"], check=True, stdout=subprocess.DEVNULL)
    os.remove(data + "/manifest.json")
    open(data + f".{N}", "w").close()
files = sorted(glob.glob(data + "/**/*.dcm", recursive=True))
size = sum(os.path.getsize(f) for f in files)
study = pydicom.dcmread(files[0], stop_before_pixels=True).StudyInstanceUID
print(f"bench: {len(files)} instances of 256x256 16-bit, {size >> 20} MiB, one study")


def get_all(port, path, headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    n = 0
    while True:
        b = r.read(1 << 20)
        if not b:
            break
        n += len(b)
    c.close()
    return r.status, n


def curl(port, path, headers):
    """GET with curl (a client that does not slow the server down): (seconds, status, bytes)."""
    argv = ["curl", "-s", "-o", "/dev/null", "-w", "%{time_total} %{http_code} %{size_download}"]
    for k, v in headers.items():
        argv += ["-H", f"{k}: {v}"]
    t, code, n = subprocess.run(argv + [f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True,
                                check=True).stdout.split()
    return float(t), int(code), int(n)


def cpu_s(pid):
    """CPU seconds (user + system, all threads) process pid has used so far."""
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


http_port, dicom_port, listen_port = free_port(), free_port(), free_port()
OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {}, {
    "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
    "DicomWeb": {"Enable": True, "Root": "/dicom-web/"}, "DicomCheckCalledAet": False})
orthanc_pid = procs.list[-1].pid
serve = procs.start([DQR, "serve"], open(WORK + "/serve.log", "w"),
                    serve_env(WORK, "bench-secret-1", http_port, dicom_port, DQR_LOG_FILE="-"))
servers = [(http_port, "dqr")]
pids = {"dqr": serve.pid, "orthanc": orthanc_pid}
if BASE:
    base_port = free_port()
    os.makedirs(WORK + "/base")
    pids["dqr base"] = procs.start([BASE, "serve"], open(WORK + "/base/serve.log", "w"),
                                   serve_env(WORK + "/base", "bench-secret-1", base_port, free_port(),
                                             DQR_LOG_FILE="-")).pid
    servers.append((base_port, "dqr base"))
wait_port(OD), wait_port(OH)
tokens = {}
for port, _ in servers:
    wait_port(port)
    tokens[port] = Api(port).login("admin", "bench-secret-1")
    Api(port).call("POST", "/api/v1/projects", {"id": "BENCH", "name": "bench", "dqr_enabled": True},
                   token=tokens[port])
api = Api(http_port)
T = tokens[http_port]
AUTH = {"Authorization": "Bearer " + T}
rows = []
try:
    # ---- 1. STOW-RS into dqr vs C-STORE into dqr listen --------------------------------------
    subprocess.run([DQR, "store", "--call", "ORTHANC", "127.0.0.1", str(OD), data], check=True,
                   stdout=subprocess.DEVNULL)
    def stow_all(port=http_port, auth=AUTH):
        stored = 0
        for i in range(0, len(files), 100):
            body = io.BytesIO()
            for f in files[i:i + 100]:
                body.write(b"--B\r\nContent-Type: application/dicom\r\n\r\n")
                body.write(open(f, "rb").read())
                body.write(b"\r\n")
            body.write(b"--B--\r\n")
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
            c.request("POST", "/dicom-web/projects/BENCH/studies?subject=S&session=STOW", body=body.getvalue(),
                      headers=dict(auth, **{"Content-Type": 'multipart/related; type="application/dicom"; boundary=B'}))
            r = c.getresponse()
            ans = json.loads(r.read())
            c.close()
            stored += len(ans.get("00081199", {}).get("Value", []))
        return stored

    t_stow, stored = timed(stow_all)
    rows.append(("STOW-RS into dqr serve (pipeline, synced), batches of 100", t_stow, f"{stored} stored"))
    if BASE:
        stow_all(base_port, {"Authorization": "Bearer " + tokens[base_port]})
    if not ONLY_WADO:
        os.makedirs(WORK + "/keys", exist_ok=True)
        with open(WORK + "/keys/listen-secret", "wb") as f:
            f.write(os.urandom(32))
        os.chmod(WORK + "/keys/listen-secret", 0o600)
        procs.start([DQR, "listen", "--port", str(listen_port), "--aet", "LISTEN", "--out", WORK + "/listen-out",
                     "--profile", "basic", "--uid-secret", WORK + "/keys/listen-secret", "--quiet"],
                    open(WORK + "/listen.log", "w"))
        wait_port(listen_port)
        t_store, _ = timed(lambda: subprocess.run([DQR, "store", "--call", "LISTEN", "127.0.0.1", str(listen_port),
                                                   data], check=True, stdout=subprocess.DEVNULL))
        listened = len(glob.glob(WORK + "/listen-out/**/*.dcm", recursive=True))
        rows.append(("C-STORE into dqr listen --profile basic", t_store, f"{listened} written"))

    # ---- 2. WADO-RS retrieval of the whole study ---------------------------------------------
    acc = {"Accept": 'multipart/related; type="application/dicom"; transfer-syntax=*'}
    targets = []  # (who, port, path, headers)
    for port, who in servers:
        h = {"Authorization": "Bearer " + tokens[port]}
        st, res, _ = Api(port).call("GET", "/dicom-web/studies?PatientName=S", token=tokens[port])
        targets.append((who, port, f"/dicom-web/studies/{res[0]['0020000D']['Value'][0]}", dict(h, **acc)))
    targets.append(("orthanc", OH, f"/dicom-web/studies/{study}", acc))
    times = {who: [] for who, _, _, _ in targets}
    cpu = {who: 0.0 for who, _, _, _ in targets}  # the server's CPU over all its runs
    sizes = {}
    for i in range(ROUNDS):
        for who, port, path, h in targets[i % len(targets):] + targets[:i % len(targets)]:  # each goes first in turn
            c0 = cpu_s(pids[who])
            t, code, n = curl(port, path, h)
            cpu[who] += cpu_s(pids[who]) - c0
            times[who].append(t)
            sizes[who] = (code, n)
    med = {who: statistics.median(ts) for who, ts in times.items()}
    for who, _, _, _ in targets:
        name = "Orthanc DICOMweb plugin" if who == "orthanc" else f"{who} (transfer-syntax=*)"
        rows.append((f"WADO-RS study, {name}", med[who], f"{sizes[who][1] >> 20} MiB, {sizes[who][0]}, "
                     f"server CPU {cpu[who] / ROUNDS * 1000:.0f} ms a run (mean), "
                     f"runs {' '.join(f'{t:.3f}' for t in times[who])}"))
    ratios = [f"WADO-RS study {med['dqr'] / med['orthanc']:.2f}x"]
    if BASE:
        ratios.append(f"base build {med['dqr base'] / med['orthanc']:.2f}x; "
                      f"dqr / base {med['dqr'] / med['dqr base']:.2f}x")

    # ---- 3. QIDO-RS on many studies ----------------------------------------------------------
    if not ONLY_WADO:  # ONLY=wado: the QIDO-RS part is left out
        db = sqlite3.connect(WORK + "/var/catalog.db", timeout=30)
        now = int(time.time())
        rnd = random.Random(7)
        db.executemany(
            "INSERT INTO archive_instances(project, subject, session, series_uid, series_number, modality, "
            "study_date, sop_uid, study_uid, study_time, patient_name, patient_id, sop_class_uid, instance_number, "
            "rows_n, columns_n, path, bytes, updated) VALUES ('BENCH', ?, ?, ?, '1', ?, ?, ?, ?, '101500', ?, ?, "
            "'1.2.840.10008.5.1.4.1.1.2', '1', 16, 16, 'none', 0, ?)",
            [(f"S{i:05d}", f"E{i:05d}", f"2.25.2{i}", rnd.choice(("CT", "MR", "US")),
              f"20{rnd.randint(10, 24)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}", f"2.25.3{i}", f"2.25.1{i}",
              f"S{i:05d}", f"E{i:05d}", now) for i in range(STUDIES)])
        db.commit()
        db.close()

        def tiny(i):
            ds = Dataset()
            ds.file_meta = FileMetaDataset()
            ds.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
            ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = f"2.25.3{i}"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = f"2.25.1{i}", f"2.25.2{i}"
            ds.PatientName = ds.PatientID = f"S{i:05d}"
            ds.StudyDate = f"20{rnd.randint(10, 24)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}"
            ds.StudyTime, ds.Modality = "101500", rnd.choice(("CT", "MR", "US"))
            b = io.BytesIO()
            pydicom.dcmwrite(b, ds, write_like_original=False)
            return b.getvalue()

        t_fill, _ = timed(lambda: [Api(OH).call("POST", "/instances", raw=tiny(i)) for i in range(O_STUDIES)])
        print(f"bench: Orthanc filled with {O_STUDIES} small studies in {t_fill:.0f} s; "
              f"dqr's catalog with {STUDIES} rows")
        searches = [("all studies, limit 100", "/studies?limit=100"),
                    ("PatientName=S001* (100 studies)", "/studies?PatientName=S001*"),
                    ("StudyDate range (one month)", "/studies?StudyDate=20200101-20200131&limit=100"),
                    ("ModalitiesInStudy=MR, limit 100", "/studies?ModalitiesInStudy=MR&limit=100")]
        for what, q in searches:
            lat = {"dqr": [], "orthanc": []}
            for _ in range(50):
                t, _ = timed(lambda: get_all(http_port, "/dicom-web" + q, AUTH))
                lat["dqr"].append(t)
                t, _ = timed(lambda: get_all(OH, "/dicom-web" + q, {}))
                lat["orthanc"].append(t)
            for who in ("dqr", "orthanc"):
                rows.append((f"QIDO {what}, {who}: p50", pct(lat[who], 50), f"p95 {pct(lat[who], 95) * 1000:.1f} ms"))
            ratios.append(f"QIDO {what} p50 {pct(lat['dqr'], 50) / pct(lat['orthanc'], 50):.2f}x "
                          f"p95 {pct(lat['dqr'], 95) / pct(lat['orthanc'], 95):.2f}x")
finally:
    procs.stop()

print(f"\n| what | seconds | note |\n|---|---:|---|")
for what, t, note in rows:
    print(f"| {what} | {t:.4f} | {note} |")
print(f"\ndqr / Orthanc: {'; '.join(ratios)}; load average {os.getloadavg()[0]:.2f}")
