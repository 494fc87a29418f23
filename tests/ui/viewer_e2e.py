#!/usr/bin/python3
"""Looking at images: the REST image routes and the web UI's thumbnails,
frame viewer, quarantine review and dry-run pictures. Makes a small CT
study (a phantom that changes from slice to slice, and a multi-frame
instance), imports it from Orthanc into project P1, checks the viewer's
JSON routes and the WADO-RS images they point to (/dicom-web rendered and
thumbnail) with their permissions over REST, then runs viewer.mjs in Debian's headless
Chromium (screenshots for docs/user-guide.md into SCREENSHOT_DIR).
Usage: viewer_e2e.py DQR WORKDIR [SCREENSHOT_DIR]"""
import base64
import ctypes
import ctypes.util
import io
import glob
import json
import os
import shutil
import sqlite3
import struct
import subprocess
import sys
import time
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from pydicom.dataset import FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402
from peers import Api, Checks, Procs, dqr_store, free_port, start_orthanc, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
SHOTS = os.path.abspath(sys.argv[3]) if len(sys.argv) > 3 else WORK + "/screens"
PW = {"admin": "gateway-secret-1", "alice": "wonderland-42x", "bob": "builder-pw-77"}
SIZE, SLICES, FRAMES = 96, 6, 5
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK + "/studies")
os.makedirs(SHOTS, exist_ok=True)


def phantom(k):
    """A body of soft tissue (40 HU) in air with two lungs (-800 HU) and a
    bone (700 HU) whose size depends on k: every slice and frame differs."""
    y, x = np.mgrid[0:SIZE, 0:SIZE] - SIZE / 2
    hu = np.full((SIZE, SIZE), -1000.0)
    hu[(x / 44) ** 2 + (y / 36) ** 2 <= 1] = 40
    for cx in (-18, 18):
        hu[((x - cx) / 12) ** 2 + (y / 20) ** 2 <= 1] = -800
    hu[x ** 2 + (y - 20) ** 2 <= (3 + 2 * k) ** 2] = 700
    return (hu + 1024).astype(np.uint16)


def ct(path, study, series, number, frames):
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.PatientBirthDate = "VIEWER^PATIENT", "VW-4711", "19700101"
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series["uid"]
    ds.StudyDate, ds.StudyTime, ds.AccessionNumber, ds.StudyID = "20240301", "101500", "ACC4711", "1"
    ds.Modality, ds.SeriesNumber, ds.SeriesDescription = "CT", series["number"], series["description"]
    ds.InstanceNumber = number
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = SIZE
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.RescaleIntercept, ds.RescaleSlope = "-1024", "1"
    ds.WindowCenter, ds.WindowWidth = "40", "400"
    if frames > 1:
        ds.NumberOfFrames = frames
    ds.PixelData = b"".join(phantom(number + f).tobytes() for f in range(frames))
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)
    return ds


# where the planted "text" is, as the verify step stores OCR boxes
BOXES = [{"left": 12, "top": 8, "width": 72, "height": 12, "confidence": 91},
         {"left": 100, "top": 98, "width": 48, "height": 12, "confidence": 88}]
CANARY = "QUARANTINE^CANARY"


def burned_in_us(name):
    """An ultrasound frame with bright text-like strokes inside BOXES, as the
    verify step seals it: de-identified headers (name: the PatientName)."""
    ds = pydicom.Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.6.1"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID = generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality = name, "S01_CT1", "US"
    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SeriesNumber = generate_uid(), generate_uid(), 7
    ds.SeriesDescription = "US WITH TEXT"
    ds.BurnedInAnnotation = "YES"
    ds.SamplesPerPixel, ds.PhotometricInterpretation, ds.Rows, ds.Columns = 1, "MONOCHROME2", 120, 160
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
    img = np.zeros((120, 160), np.uint8)
    y, x = np.mgrid[0:120, 0:160]
    img[((x - 80) ** 2 + (y - 130) ** 2 < 95 ** 2) & ((x - 80) ** 2 + (y - 130) ** 2 > 30 ** 2)] = 70  # the fan
    for b in BOXES:
        img[b["top"]:b["top"] + b["height"], b["left"]:b["left"] + b["width"]][:, ::3] = 230  # strokes like letters
    ds.PixelData = img.tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    buf = io.BytesIO()
    pydicom.dcmwrite(buf, ds, write_like_original=False)
    return buf.getvalue()


def seal(key, data):
    """The vault's sealing (src/store/vault.c): "v1:" + base64(nonce + secretbox)."""
    so = ctypes.CDLL(ctypes.util.find_library("sodium"))
    nonce, out = os.urandom(24), ctypes.create_string_buffer(16 + len(data))
    so.crypto_secretbox_easy(out, data, ctypes.c_ulonglong(len(data)), nonce, key)
    return "v1:" + base64.b64encode(nonce + out.raw).decode()


def plant_quarantine(work, import_session):
    """Two refused instances, as the verify step leaves them: sealed files
    under DATA_DIR/quarantine and pixel_quarantine rows with their boxes
    (the second one carries a PHI canary, and is the one deleted)."""
    key = open(work + "/keys/vault.key", "rb").read()
    os.makedirs(work + "/var/quarantine", exist_ok=True)
    db = sqlite3.connect(work + "/var/catalog.db")
    db.execute("CREATE TABLE IF NOT EXISTS pixel_quarantine (id INTEGER PRIMARY KEY, session_id INTEGER, project TEXT, "
               "file TEXT NOT NULL, frame INTEGER NOT NULL, boxes TEXT NOT NULL, reason TEXT, created INTEGER)")
    ids = []
    for k, name in enumerate(("S01", CANARY)):
        open(f"{work}/var/quarantine/planted{k}.sealed", "w").write(seal(key, burned_in_us(name)))
        cur = db.execute("INSERT INTO pixel_quarantine(session_id, project, file, frame, boxes, reason, created) "
                         "VALUES (?, 'P1', ?, 1, ?, 'burned-in text', ?)",
                         (import_session, f"planted{k}", json.dumps(BOXES), int(time.time())))
        ids.append(cur.lastrowid)
    db.commit()
    db.close()
    return ids


def png_size(data):
    """(width, height) of a PNG, or None when data is not one."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        return None
    return struct.unpack(">II", data[16:24])


def png_pixels(data):
    """The decoded bytes of an 8-bit grey PNG (filters undone)."""
    w, h = png_size(data)
    idat, pos = b"", 8
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + n]
        pos += 12 + n
    raw, out, prev = zlib.decompress(idat), bytearray(), bytearray(w)
    bpp = len(raw) // h - 1
    for r in range(h):
        f, line = raw[r * (bpp + 1)], bytearray(raw[r * (bpp + 1) + 1:(r + 1) * (bpp + 1)])
        for i in range(bpp):
            a, b = line[i - 1] if i else 0, prev[i]
            c = prev[i - 1] if i else 0
            p = a + b - c
            pred = {0: 0, 1: a, 2: b, 3: (a + b) // 2,
                    4: a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c) else c}[f]
            line[i] = (line[i] + pred) & 255
        out += line
        prev = line
    return bytes(out)


study = generate_uid()
ct_series = {"uid": generate_uid(), "number": 1, "description": "PHANTOM AXIAL"}
mf_series = {"uid": generate_uid(), "number": 2, "description": "PHANTOM MULTIFRAME"}
for k in range(SLICES):
    ct(f"{WORK}/studies/ct{k}.dcm", study, ct_series, k + 1, 1)
ct(f"{WORK}/studies/mf.dcm", study, mf_series, 1, FRAMES)
# an ultrasound with fake PHI burned in (the OCR check's generator): the verify step refuses it
subprocess.run(["/usr/bin/python3", HERE + "/../pylib/burned_in.py", WORK + "/us", "--us", "1", "--sc", "0", "--ct", "0",
                "--mr", "0", "--seed", "7", "--syntaxes", "native"], check=True, stdout=subprocess.DEVNULL)
us_file = json.load(open(WORK + "/us/manifest.json"))["burned"][0]["file"]
os.remove(WORK + "/us/manifest.json")
us_study = pydicom.dcmread(us_file, stop_before_pixels=True).StudyInstanceUID
sample = ct(f"{WORK}/sample.dcm", generate_uid(), {"uid": generate_uid(), "number": 9, "description": "SAMPLE"}, 3, 1)

http_port, dicom_port = free_port(), free_port()
OD, _ = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
wait_port(OD)
dqr_store(DQR, "ORTHANC", OD, WORK + "/studies")
dqr_store(DQR, "ORTHANC", OD, WORK + "/us")
env = serve_env(WORK, PW["admin"], http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1", DQR_OCR_POLICY="refuse",
                OMP_THREAD_LIMIT="1")
try:
    procs.start([DQR, "serve"], open(WORK + "/serve.stderr", "w"), env)
    wait_port(http_port)
    api = Api(http_port)
    T = api.login("admin", PW["admin"])
    pacs = api.call("POST", "/api/v1/pacs", {"label": "Hospital PACS", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD,
                                             "default_qr": True}, token=T)[1]["id"]
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Phantoms", "dqr_enabled": True}, token=T)
    ids = {}
    for u in ("alice", "bob"):
        ids[u] = api.call("POST", "/api/v1/users", {"username": u, "password": PW[u], "role": "user"}, token=T)[1]["id"]
    api.call("PUT", f"/api/v1/users/{ids['alice']}/grants", {"pacs": [pacs], "projects": ["P1"]}, token=T)
    api.call("PUT", f"/api/v1/users/{ids['bob']}/grants", {"pacs": [pacs], "projects": []}, token=T)
    st, imp, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "P1", "studies": [
        {"StudyInstanceUID": study, "subject": "S01", "session": "S01_CT1"}]}, token=T)
    done = api.wait_import(T, imp.get("id"))
    check("the phantom study is archived", done.get("state") == "done", json.dumps(done)[:400])
    st, usi, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "P1", "studies": [
        {"StudyInstanceUID": us_study, "subject": "S02", "session": "S02_US1"}]}, token=T)
    api.wait_import(T, usi.get("id"))

    A, B = api.login("alice", PW["alice"]), api.login("bob", PW["bob"])
    base = "/api/v1/projects/P1/sessions/S01_CT1"
    _, sess, _ = api.call("GET", base, token=A)
    series = {int(s["number"]): s for s in sess.get("series", [])}
    dw = "/dicom-web/projects/P1/studies/"
    check("each series of the session links its WADO-RS thumbnail",
          len(series) == 2 and all((s.get("thumbnail") or "") == f"{dw}{s.get('study_uid')}/series/{s['uid']}/thumbnail"
                                   for s in series.values()), json.dumps(sess)[:400])
    for k in (1, 2):  # without the links, the checks below fail instead of stopping here
        series.setdefault(k, {"uid": "none"}).setdefault("thumbnail", f"{dw}none/series/none/thumbnail")
    PNG = {"Accept": "image/png"}
    t0 = time.time()
    st, thumb, resp = api.call("GET", series[1]["thumbnail"], token=A, binary=True, headers=PNG)
    thumb_ms = (time.time() - t0) * 1000
    check("a thumbnail is a PNG of at most 128 pixels a side",
          st == 200 and resp.getheader("Content-Type") == "image/png" and png_size(thumb) is not None
          and 0 < max(png_size(thumb)) <= 128, f"{st} {png_size(thumb)}")
    times = []
    for _ in range(20):
        t0 = time.time()
        api.call("GET", series[1]["thumbnail"], token=A, binary=True, headers=PNG)
        times.append((time.time() - t0) * 1000)
    print(f"thumbnail of a {SIZE}x{SIZE} CT series: first {thumb_ms:.1f} ms, median {sorted(times)[10]:.1f} ms "
          "over 20 requests (uncached)")

    mf_uid, ct_uid = series[2]["uid"], series[1]["uid"]  # the archive's (de-identified) UIDs
    check("the archive's series UIDs are not the originals", mf_uid != mf_series["uid"])
    st, lst, _ = api.call("GET", f"{base}/series/{mf_uid}/instances", token=A)
    inst = (lst.get("instances") or [{}])[0] if isinstance(lst, dict) else {}
    mf_sop = inst.get("sop_uid", "none")
    st, cts, _ = api.call("GET", f"{base}/series/{ct_uid}/instances", token=A)
    check("a series' instances come in Instance Number order",
          [i.get("number") for i in cts.get("instances", [])] == list(range(1, SLICES + 1)), json.dumps(cts)[:300])
    check("the instance JSON carries the frame count", inst.get("frames") == FRAMES and inst.get("rows") == SIZE,
          json.dumps(lst)[:300])
    check("the instance JSON carries the study and series UIDs /dicom-web names it by",
          inst.get("series_uid") == mf_uid and inst.get("study_uid") == series[2].get("study_uid")
          and inst.get("study_uid") not in (None, study), json.dumps(lst)[:300])
    st, one, _ = api.call("GET", f"{base}/instances/{mf_sop}", token=A)
    check("one instance's JSON: frames, window, presets",
          st == 200 and one.get("frames") == FRAMES and one.get("window", {}).get("center") == 40
          and one.get("study_uid") == inst.get("study_uid") and one.get("series_uid") == mf_uid
          and {p["name"] for p in one.get("presets", [])} >= {"soft-tissue", "lung", "bone", "brain"}, json.dumps(one)[:300])
    presets = {p["name"]: f"?window={p['center']:g},{p['width']:g}" for p in one.get("presets", [])}
    presets.setdefault("soft-tissue", "?window=x"), presets.setdefault("lung", "?window=x")
    fr = f"{dw}{inst.get('study_uid')}/series/{mf_uid}/instances/{mf_sop}/frames"

    def rendered(n, q="", token=A):
        return api.call("GET", f"{fr}/{n}/rendered{q}", token=token, binary=True, headers=PNG)
    pngs = [rendered(n) for n in (1, 2)]
    check("frames render as full-size PNG", all(p[0] == 200 and png_size(p[1]) == (SIZE, SIZE) for p in pngs),
          [(p[0], p[1][:200]) for p in pngs])
    check("frames differ from each other", pngs[0][1] != pngs[1][1])
    soft = rendered(1, presets["soft-tissue"])[1]
    lung = rendered(1, presets["lung"])[1]
    given = rendered(1, "?window=-600,1500")[1]
    check("the dataset's window (40/400) is soft tissue's", pngs[0][1] == soft)
    check("a preset (as window=c,w) changes the image, and equals the same window given as numbers",
          soft != lung and lung == given and presets["lung"] == "?window=-600,1500", presets)
    # PS3.3 C.11.2.1.2.1: air (-1000 HU) under the lung window -600/1500
    want = round(((-1000 - (-600 - 0.5)) / (1500 - 1) + 0.5) * 255)
    rendered_ok = bool(png_size(lung) and png_size(soft))  # else the checks below fail instead of stopping here
    air, tissue = (png_pixels(lung)[0], png_pixels(soft)) if rendered_ok else (-1, b"\1")
    check("the lung window puts air where the linear window says", abs(air - want) <= 1, (air, want))
    check("the soft tissue window: air black, bone white", tissue[0] == 0 and max(tissue) == 255, (tissue[0], max(tissue)))
    for n, q, want, what in ((FRAMES + 1, "", 404, "a frame past the last"), (0, "", 400, "frame 0"),
                             (1, "?window=40", 400, "a centre without width")):
        st = rendered(n, q)[0]
        check(f"{what} answers {want}", st == want, st)
    for old in (f"{base}/series/{mf_uid}/thumbnail.png", f"{base}/instances/{mf_sop}/frames/1.png"):
        st = api.call("GET", old, token=A, binary=True)[0]
        check(f"the old /api/v1 PNG route is gone (one render path): {old.split('S01_CT1')[1]}", st == 404, st)
    for path in (series[1]["thumbnail"], f"{fr}/1/rendered", f"{base}/instances/{mf_sop}",
                 f"{base}/series/{mf_uid}/instances"):
        st = api.call("GET", path, token=B, binary=True, headers=PNG)[0]
        check(f"a user without the project is refused: {path[-40:]}", st in (403, 404), st)
    check("images need a login", api.call("GET", f"{fr}/1/rendered", binary=True, headers=PNG)[0] == 401)

    # the quarantine review: administrators with the phi permission only
    api.call("POST", "/api/v1/users", {"username": "carol", "password": "second-admin-pw-9", "role": "admin"}, token=T)
    C = api.login("carol", "second-admin-pw-9")
    for who, tok, want in (("a user", A, 403), ("an admin without phi", C, 403), ("an admin with phi", T, 404)):
        got = [api.call(m, f"/api/v1/quarantine/{q}", token=tok, binary=True)[0]
               for m, q in (("GET", "999/frame.png"), ("POST", "999/release"), ("DELETE", "999"))]
        check(f"quarantine routes for {who}: {want}", got == [want] * 3, got)
    q_release, q_delete = plant_quarantine(WORK, imp["id"])
    st, qpng, _ = api.call("GET", f"/api/v1/quarantine/{q_release}/frame.png", token=T, binary=True)
    check("the refused frame renders for an admin with phi", st == 200 and png_size(qpng) == (160, 120), st)
    _, audit, _ = api.call("GET", "/api/v1/audit?action=phi_view_quarantine_frame", token=T)
    check("each view of a refused frame is audited",
          [e.get("target") for e in audit.get("events", [])] == [str(q_release)], json.dumps(audit)[:300])
    found = [f for f in glob.glob(WORK + "/var/**", recursive=True) if os.path.isfile(f)
             and CANARY.encode() in open(f, "rb").read()]
    check("the refused instance's PHI is on disk only sealed", not found, found)
    st, ql, _ = api.call("GET", "/api/v1/quarantine", token=T)
    check("the quarantine lists both with their boxes",
          sorted((q["id"], q["session_label"], q["boxes"]) for q in ql.get("quarantine", [])
                 if q["id"] in (q_release, q_delete)) ==
          [(q_release, "S01_CT1", BOXES), (q_delete, "S01_CT1", BOXES)], json.dumps(ql)[:300])
    check("the quarantine list is for admins", api.call("GET", "/api/v1/quarantine", token=A)[0] == 403)
    real = [q for q in ql.get("quarantine", []) if q.get("session_label") == "S02_US1"]
    check("the OCR check quarantined the burned-in ultrasound, with boxes", len(real) >= 1 and all(q["boxes"] for q in real),
          json.dumps(ql)[:300])
    real = real[0] if real else {"id": 0, "boxes": []}

    _, audit, _ = api.call("GET", "/api/v1/audit?action=access_denied", token=T)
    check("refused quarantine views are audited",
          sum(1 for e in audit.get("events", []) if e.get("user") in ("alice", "carol")) >= 6, json.dumps(audit)[:300])

    # the thumbnail is rendered from the archived file: blank that file's
    # pixels on disk and the thumbnail goes blank with it
    db = sqlite3.connect(WORK + "/var/catalog.db")
    rows = [r[0] for r in db.execute("SELECT path FROM archive_instances WHERE series_uid = ?", (mf_uid,))]
    db.close()
    shown = api.call("GET", series[2]["thumbnail"], token=A, binary=True, headers=PNG)[1]
    check("the multi-frame series' thumbnail shows the phantom", png_size(shown) and len(set(png_pixels(shown))) > 2)
    if rows:
        arch = pydicom.dcmread(WORK + "/var/" + rows[0])
        check("the archive holds de-identified files", str(arch.PatientName) != "VIEWER^PATIENT")
        kept = open(WORK + "/var/" + rows[0], "rb").read()
        arch.PixelData = bytes(len(arch.PixelData))
        arch.save_as(WORK + "/var/" + rows[0])
    blank = api.call("GET", series[2]["thumbnail"], token=A, binary=True, headers=PNG)[1]
    if rows:  # put the archived file back for the browser
        open(WORK + "/var/" + rows[0], "wb").write(kept)
    check("the thumbnail is made from the archived file", bool(rows) and png_size(blank) and len(set(png_pixels(blank))) == 1,
          rows)

    st, dry, _ = api.call("POST", "/api/v1/projects/P1/dry-run",
                          {"instance": base64.b64encode(open(WORK + "/sample.dcm", "rb").read()).decode()}, token=A)
    imgs = dry.get("images") or {} if isinstance(dry, dict) else {}
    before = base64.b64decode(imgs.get("before") or "")
    after = base64.b64decode(imgs.get("after") or "")
    check("the dry run answers before and after images of an uploaded sample",
          st == 200 and png_size(before) == (SIZE, SIZE) and png_size(after) == (SIZE, SIZE), json.dumps(dry)[:300])
    # after = pixel-cleaned too: a script's alterPixels blacks out a region of the "after" picture only
    script = 'version "6.3"\nalterPixels["rectangle", "l=0, t=0, r=40, b=30", "solid", "v=0"]\n'
    st, dry, _ = api.call("POST", "/api/v1/projects/P1/dry-run", {"script": script, "instance": base64.b64encode(
        open(WORK + "/sample.dcm", "rb").read()).decode()}, token=A)
    imgs = (dry.get("images") or {}) if isinstance(dry, dict) else {}
    b, a = (png_pixels(base64.b64decode(imgs.get(k) or "")) if imgs.get(k) else b"" for k in ("before", "after"))
    # alterPixels' r and b are inside the rectangle (docs/pixel.md): columns 0..40, rows 0..30
    corner = [y * SIZE + x for y in range(31) for x in range(41)]
    check("the dry run's after picture is pixel-cleaned: alterPixels' region black, the rest as before",
          len(a) == len(b) == SIZE * SIZE and all(a[i] == 0 for i in corner) and any(b[i] for i in corner)
          and all(a[i] == b[i] for i in range(SIZE * SIZE) if i % SIZE >= 41 or i // SIZE >= 31), json.dumps(dry)[:300])
    st, dry, _ = api.call("POST", "/api/v1/projects/P1/dry-run", {}, token=A)
    check("the built-in sample has no images to show", st == 200 and (dry.get("images") or {}).get("before") is None)

    cfg = {"base": f"http://127.0.0.1:{http_port}", "shots": SHOTS, "users": PW, "project": "P1", "subject": "S01",
           "session": "S01_CT1", "series": ct_uid, "multiframe": mf_uid, "slices": SLICES,
           "frames": FRAMES, "sample": WORK + "/sample.dcm",
           "quarantine": {"id": real["id"], "other": q_delete, "boxes": len(real["boxes"])}}
    json.dump(cfg, open(WORK + "/viewer.json", "w"))
    p = subprocess.run(["node", HERE + "/viewer.mjs", WORK + "/viewer.json"], capture_output=True, text=True, timeout=300)
    for line in p.stdout.splitlines():
        if line.startswith("ok   "):
            check(line[5:], True)
        elif line.startswith("FAIL "):
            check(line[5:], False)
        else:
            print(line)
    check("browser run finished", p.returncode == 0, p.stderr[-1500:])
    st, b, _ = api.call("POST", f"/api/v1/quarantine/{q_release}/release", token=T)
    check("release answers the session it archived into", st == 200 and b.get("session") == "S01_CT1", (st, b))
    st = api.call("POST", f"/api/v1/quarantine/{q_release}/release", token=T)[0]
    check("a released entry is gone", st == 404, st)
    db = sqlite3.connect(WORK + "/var/catalog.db")
    rel = db.execute("SELECT path FROM archive_instances WHERE session = 'S01_CT1' AND modality = 'US'").fetchall()
    left = db.execute("SELECT COUNT(*) FROM pixel_quarantine").fetchone()[0]
    usrel = db.execute("SELECT path FROM archive_instances WHERE session = 'S02_US1'").fetchall()
    db.close()
    check("release archived the instance into its session, delete left nothing", len(rel) == 1 and left == 0,
          (rel, left))
    check("the ultrasound released in the browser is archived", len(usrel) == 1, usrel)
    if usrel:
        px = pydicom.dcmread(WORK + "/var/" + usrel[0][0]).pixel_array
        black = all(not px[max(0, b["top"] - 2):b["top"] + b["height"] + 2, max(0, b["left"] - 2):b["left"] + b["width"] + 2].any()
                    for b in real["boxes"])
        check("its OCR boxes are black in the archive", black and px.any())
    if rel:
        us = pydicom.dcmread(WORK + "/var/" + rel[0][0])
        px, orig = us.pixel_array, pydicom.dcmread(io.BytesIO(burned_in_us("S01"))).pixel_array
        inside = np.zeros(px.shape, bool)
        for b in BOXES:
            inside[max(0, b["top"] - 2):b["top"] + b["height"] + 2, max(0, b["left"] - 2):b["left"] + b["width"] + 2] = True
        check("the released instance: boxes black (2 pixels wider), the rest untouched",
              not px[inside].any() and (px[~inside] == orig[~inside]).all())
        check("the released instance says its pixels were cleaned", us.get("BurnedInAnnotation") == "NO"
              and "113101" in [i.CodeValue for i in us.get("DeidentificationMethodCodeSequence", [])])
    found = [f for f in glob.glob(WORK + "/var/**", recursive=True) if os.path.isfile(f)
             and CANARY.encode() in open(f, "rb").read()]
    check("no trace of the deleted instance's PHI on disk", not found and not os.path.exists(
        WORK + "/var/quarantine/planted1.sealed"), found)
finally:
    procs.stop()
sys.exit(check.finish())
