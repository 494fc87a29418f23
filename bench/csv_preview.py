#!/usr/bin/python3
"""Benchmark (bench/csv_preview.sh): POST /api/v1/imports/csv/preview with a
CSV of ROWS rows against Orthanc holding STUDIES studies, by Accession
Number and by Patient ID + Study Date. The studies are one tiny instance
each (8x8 CT, made here with pydicom from one template) POSTed to Orthanc's
/instances over 8 keep-alive connections at once; the fill is timed too.
Prints one line per run: rows, seconds, rows/s, and whether every row
matched exactly its own study, in the CSV's order.
With PEER=quirky, the peer is the project's quirky_scp (QUIRKY: its path)
over the same studies as files instead: what dqr does when the PACS answers
at once. KEEP=1 keeps the peer's studies from an earlier run.
Usage: csv_preview.py DQR WORKDIR STUDIES ROWS[,ROWS...] ROUNDS"""
import http.client
import io
import json
import os
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pylib"))
import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402
from peers import Api, Procs, all_day, free_port, serve_env, start_orthanc, wait_port  # noqa: E402

DQR, WORK, STUDIES = sys.argv[1], os.path.abspath(sys.argv[2]), int(sys.argv[3])
ROWS, ROUNDS = [int(x) for x in sys.argv[4].split(",")], int(sys.argv[5])
PEER, QUIRKY = os.environ.get("PEER", "orthanc"), os.environ.get("QUIRKY", "")
PW = "gateway-secret-1"
CT = "1.2.840.10008.5.1.4.1.1.2"


def study(i):
    """The i-th study's keys: accession, patient, date (10 patients a day)."""
    return f"BACC{i:06d}", f"BPID{i // 3:06d}", f"2020{1 + i // 300 % 12:02d}{1 + i % 28:02d}"


def instance(i):
    acc, pid, date = study(i)
    root = f"2.25.{7000000000 + i}"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = CT, root + ".3.1"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID = CT, root + ".3.1"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = root + ".1", root + ".2"
    ds.PatientID, ds.PatientName, ds.AccessionNumber, ds.StudyDate = pid, f"BENCH^P{i // 3}", acc, date
    ds.Modality, ds.SeriesNumber, ds.InstanceNumber, ds.StudyID = "CT", 1, 1, "1"
    ds.Rows = ds.Columns = 8
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = bytes(128)
    b = io.BytesIO()
    pydicom.dcmwrite(b, ds, write_like_original=False)
    return b.getvalue()


def fill(port):
    nxt, lock, bad = [0], threading.Lock(), []

    def worker():
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                i = nxt[0]
                nxt[0] += 1
            if i >= STUDIES:
                break
            c.request("POST", "/instances", body=instance(i), headers={"Content-Type": "application/dicom"})
            r = c.getresponse()
            r.read()
            if r.status != 200:
                bad.append(r.status)
        c.close()

    t = [threading.Thread(target=worker) for _ in range(8)]
    [x.start() for x in t]
    [x.join() for x in t]
    return bad


def cpu(proc):
    """CPU seconds (user + system) proc has used so far."""
    f = open(f"/proc/{proc.pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def csv_of(kind, n):
    step = max(1, STUDIES // n)
    picks = [(k * step) % STUDIES for k in range(n)]
    if kind == "accession":
        lines = ["Accession Number,Subject,Session"] + [f"{study(i)[0]},S{i},E{i}" for i in picks]
    else:
        lines = ["Patient ID,Study Date,Subject,Session"] + [f"{study(i)[1]},{study(i)[2]},S{i},E{i}" for i in picks]
    return "\n".join(lines) + "\n", picks


def right(body, picks):
    rows = body.get("rows") or []
    if len(rows) != len(picks) or body.get("errors"):
        return False
    for row, i in zip(rows, picks):
        m = row.get("matches") or []
        if len(m) != 1 or m[0].get("AccessionNumber") != study(i)[0] or m[0].get("session") != f"E{i}":
            return False
    return True


def start_filled_orthanc(procs, dicom_port, keep, filled):
    od, oh = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]},
                           dict({"StorageCompression": False, "DicomThreadsCount": 8},
                                **json.loads(os.environ.get("ORTHANC_CONFIG", "{}"))))
    peer = procs.list[-1]
    wait_port(oh, 60) and wait_port(od, 60)
    if keep:
        print(f"fill: {STUDIES} studies kept from an earlier run", flush=True)
    else:
        t0 = time.time()
        bad = fill(oh)
        print(f"fill: {STUDIES} studies into Orthanc in {time.time() - t0:.1f} s ({len(bad)} refused)", flush=True)
        open(filled, "w").close()
    return peer, "ORTHANC", od


def start_quirky(procs, dicom_port, keep, filled):
    """The project's test SCP (tests/net/quirky_scp.c) over the same studies as files: it matches in memory,
    so the time is dqr's and the network's rather than a PACS's index."""
    files = WORK + "/orthanc-db/files"
    if not keep:
        t0 = time.time()
        os.makedirs(files, exist_ok=True)
        for i in range(STUDIES):
            open(f"{files}/{i}.dcm", "wb").write(instance(i))
        open(filled, "w").close()
        print(f"fill: {STUDIES} studies written as files in {time.time() - t0:.1f} s", flush=True)
    port = free_port()
    peer = procs.start([QUIRKY, "--port", str(port), "--aet", "QUIRKY", "--dir", files, "--dest",
                        f"DQR=127.0.0.1:{dicom_port}"], open(WORK + "/quirky.log", "w"))
    wait_port(port, 60)
    return peer, "QUIRKY", port


def main():
    # KEEP=1 keeps an Orthanc filled by an earlier run with the same STUDIES (its storage and index)
    filled = f"{WORK}/filled-{PEER}-{STUDIES}"
    keep = os.environ.get("KEEP") == "1" and os.path.exists(filled)
    for name in os.listdir(WORK) if os.path.isdir(WORK) else []:
        if not (keep and name in ("orthanc-db", os.path.basename(filled))):
            shutil.rmtree(os.path.join(WORK, name), ignore_errors=True) if os.path.isdir(
                os.path.join(WORK, name)) else os.remove(os.path.join(WORK, name))
    os.makedirs(WORK, exist_ok=True)
    procs = Procs()
    try:
        http_port, dicom_port = free_port(), free_port()
        if PEER == "quirky":
            peer, aet, od = start_quirky(procs, dicom_port, keep, filled)
        else:
            peer, aet, od = start_filled_orthanc(procs, dicom_port, keep, filled)
        env = serve_env(WORK, PW, http_port, dicom_port)
        serve = procs.start([DQR, "serve"], open(WORK + "/serve.log", "wb"), env)
        wait_port(http_port, 60)
        api = Api(http_port)
        T = api.login("admin", PW)
        H = {"token": T}
        api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Bench", "dqr_enabled": True}, **H)
        st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "peer", "aet": aet, "host": "127.0.0.1",
                                                     "port": od}, **H)
        pacs = b["id"]
        threads = int(os.environ.get("THREADS", "4"))
        st, b, _ = api.call("PUT", f"/api/v1/pacs/{pacs}/schedule", all_day(threads), **H)
        if st != 200:
            sys.exit(f"bench: the schedule was refused: {st} {b}")
        print(f"peer {PEER}, orthanc {os.popen('Orthanc --version').readline().strip()}; dqr "
              f"{os.popen(DQR + ' --version').readline().strip()}; window threads {threads}", flush=True)
        for rnd in range(ROUNDS):
            for n in ROWS:
                for kind in ("accession", "patient+date"):
                    text, picks = csv_of(kind, n)
                    up = os.getloadavg()[0]
                    t0, c0 = time.time(), (cpu(peer), cpu(serve))
                    st, body, _ = api.call("POST", "/api/v1/imports/csv/preview",
                                           {"pacs": pacs, "project": "P1", "csv": text}, **H)
                    dt = time.time() - t0
                    co, cd = cpu(peer) - c0[0], cpu(serve) - c0[1]
                    print(f"round {rnd + 1} {kind:12s} rows {n:6d}: {dt:7.2f} s {n / dt:8.0f} rows/s "
                          f"load {up:.2f} cpu peer {co:.1f} s dqr {cd:.1f} s {'right' if st == 200 and right(body, picks) else 'WRONG ' + str(st)}",
                          flush=True)
    finally:
        procs.stop()


main()
