#!/usr/bin/python3
"""C-FIND on the archive's Q/R SCP, one build against another in one run
(bench/scp_find.sh runs it under nice): a catalog of STUDIES studies (one
small de-identified instance each, written here, rows inserted with their
query columns empty so the new build's start-up backfill fills them), then
findscu at STUDY level, universal (every study returned) and by one
StudyInstanceUID, 5 runs each, medians, for each build on the same data.

Usage: scp_find.py NEW_DQR OLD_DQR WORKDIR [STUDIES]"""
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "pylib"))
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402
from peers import Api, Procs, free_port, serve_env, wait_port  # noqa: E402

NEW, OLD, WORK = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
STUDIES = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
procs = Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
http_port, dicom_port = free_port(), free_port()
env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port)
DB = WORK + "/var/catalog.db"


def serve(binary):
    p = procs.start([binary, "serve"], open(WORK + "/serve.log", "ab"), env)
    wait_port(http_port) and wait_port(dicom_port)
    return p


def instance(i):
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.file_meta.MediaStorageSOPInstanceUID = f"2.25.3{i}.1.1"
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPClassUID, ds.file_meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = f"2.25.3{i}", f"2.25.3{i}.1"
    ds.PatientID, ds.PatientName, ds.StudyDate, ds.Modality = f"S{i:05d}_CT", f"S{i:05d}", "20200115", "OT"
    ds.SeriesNumber, ds.InstanceNumber, ds.StudyID, ds.AccessionNumber = 1, 1, "1", ""
    ds.Rows = ds.Columns = 8
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit, ds.PixelRepresentation, ds.SamplesPerPixel, ds.PhotometricInterpretation = 7, 0, 1, "MONOCHROME2"
    ds.PixelData = bytes(64)
    return ds


def findscu(*keys):
    argv = ["findscu", "-S", "-aet", "QRBENCH", "-aec", "DQR", "-k", "QueryRetrieveLevel=STUDY"]
    for k in keys:
        argv += ["-k", k]
    t = time.monotonic()
    p = subprocess.run(argv + ["127.0.0.1", str(dicom_port)], capture_output=True, text=True, timeout=300)
    return time.monotonic() - t, p.returncode, (p.stdout + p.stderr).count("(0020,000d)")


def measure(binary, label):
    p = serve(binary)
    t0 = time.monotonic()
    while True:  # the new build's backfill; the old one never fills them (and needs not: it reads files)
        db = sqlite3.connect(DB)
        left = db.execute("SELECT COUNT(*) FROM archive_instances WHERE study_uid IS NULL").fetchone()[0]
        db.close()
        if left == 0 or binary == OLD or time.monotonic() - t0 > 240:
            break
        time.sleep(0.2)
    backfill = time.monotonic() - t0
    out = {}
    for what, keys in (("universal", ["StudyInstanceUID", "PatientID", "StudyDate", "NumberOfStudyRelatedInstances"]),
                       ("one UID", [f"StudyInstanceUID=2.25.3{STUDIES // 2}", "PatientID"])):
        runs = [findscu(*keys) for _ in range(5)]
        out[what] = (statistics.median(r[0] for r in runs), runs[0][2], runs[0][1])
    procs.stop_one(p)
    print(f"{label}: backfill wait {backfill:.2f} s (rows left {left}); " +
          "; ".join(f"{w}: {t * 1000:.0f} ms median, {n} responses, rc {rc}" for w, (t, n, rc) in out.items()))
    return out


try:
    p = serve(NEW)
    api = Api(http_port)
    H = {"token": api.login("admin", "gateway-secret-1")}
    api.call("POST", "/api/v1/projects", {"id": "PB", "name": "PB", "dqr_enabled": True}, **H)
    st, b, _ = api.call("POST", "/api/v1/dicom-clients", {"aet": "QRBENCH", "host": "127.0.0.1", "port": 1,
                                                          "projects": ["PB"]}, **H)
    assert st == 201, b
    procs.stop_one(p)
    db = sqlite3.connect(DB)
    for i in range(STUDIES):
        rel = f"archive/PB/S{i:05d}/S{i:05d}_CT/1.dcm"
        os.makedirs(os.path.dirname(WORK + "/var/" + rel), exist_ok=True)
        instance(i).save_as(WORK + "/var/" + rel, write_like_original=False)
        db.execute("INSERT INTO archive_instances(project, subject, session, series_uid, sop_uid, path, bytes, "
                   "updated) VALUES ('PB', ?, ?, ?, ?, ?, 500, 0)",
                   (f"S{i:05d}", f"S{i:05d}_CT", f"2.25.3{i}.1", f"2.25.3{i}.1.1", rel))
    db.commit()
    db.close()
    new = measure(NEW, "new (catalog_query)")
    old = measure(OLD, "old (file per candidate)")
    for w in new:
        print(f"{w}: old/new = {old[w][0] / new[w][0]:.1f}x")
finally:
    procs.stop()
