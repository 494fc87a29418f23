#!/usr/bin/python3
"""Pixel cleaning end to end (issue #14 items 2, 3 and 5): generated US-like
instances, native, RLE (DCMTK dcmcrle), JPEG Lossless SV1 and JPEG baseline (dcmcjpeg), through
`dqr anonymize` with an alterPixels script and with --pixel-rules (a CTP
rules file), checked with pydicom: the regions hold the fill in every frame,
every other pixel is as before (for JPEG: as DCMTK's dcmdjpeg decodes the
source), the transfer syntax follows the rule (lossless kept, lossy written
Explicit VR LE), BurnedInAnnotation NO and code 113101 recorded, and never
recorded when nothing was cleaned. Then the gateway: a study stored in
Orthanc, imported into a project whose script uses alterPixels, comes out of
the archive cleaned. The scripts remove Manufacturer, which the rules test:
the rules match the instance as received (CTP's order), so the regions are
still filled. A 12-bit JPEG Extended (dcmcjpeg +ee) is cleaned like an
8-bit one: written Explicit VR LE, Lossy Image Compression kept, the rest as
dcmdjpeg decodes it, by `dqr anonymize` and through the gateway. A JPEG whose
frames contradict its dataset, so that its pixels cannot be cleaned, goes to
the sealed quarantine, not to the archive, and cannot be released.
Usage: alter_pixels.py DQR WORKDIR"""
import glob
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import numpy as np  # noqa: E402
import pydicom  # noqa: E402
from pydicom.dataset import Dataset, FileMetaDataset  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian, generate_uid  # noqa: E402
from peers import Api, Checks, Procs, dqr_store, free_port, serve_env, start_orthanc, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ELE, RLE, JPEG, JLL = "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.70"
JPEG_EXT = "1.2.840.10008.1.2.4.51"
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
ROWS, COLS, FRAMES = 96, 128, 3


def make_us(path, rgb=False, study=None, rows=None, cols=None, bits=8):
    """A US multi-frame instance with burned-in-looking content everywhere."""
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.3.1"
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = study or generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID, ds.Modality, ds.Manufacturer = "DOE^JANE", "PX-0001", "US", "ACME"
    ds.StudyDate, ds.AccessionNumber, ds.SeriesNumber, ds.InstanceNumber = "20240101", "ACC1", 1, 1
    ds.BurnedInAnnotation = "YES"
    rows, cols = rows or ROWS, cols or COLS
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, FRAMES
    ds.SamplesPerPixel = 3 if rgb else 1
    ds.PhotometricInterpretation = "RGB" if rgb else "MONOCHROME2"
    if rgb:
        ds.PlanarConfiguration = 0
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8 if bits == 8 else 16, bits, bits - 1, 0
    y, x = np.mgrid[0:rows, 0:cols]
    frames = [((x * 2 + y * 3 + 40 * f) % 200 + 30 + (x // 8 + y // 8) % 2 * 20) for f in range(FRAMES)]
    a = np.stack(frames).astype(np.uint8 if bits == 8 else np.uint16)
    if rgb:
        a = np.stack([a, 255 - a, (a // 2 + 60).astype(np.uint8)], axis=-1)
    ds.PixelData = a.tobytes()
    ds.is_little_endian, ds.is_implicit_VR = True, False
    ds.save_as(path, write_like_original=False)


def run(*args):
    return subprocess.run([DQR] + list(args), capture_output=True, text=True)


def pixels(path):
    return pydicom.dcmread(path).pixel_array


def dcmtk_pixels(path):
    """The pixels as DCMTK's dcmdjpeg decodes them (pydicom has no JPEG Lossless handler here)."""
    subprocess.run(["dcmdjpeg", path, path + ".raw.dcm"], check=True)
    return pixels(path + ".raw.dcm")


def codes(ds):
    return [(i.get("CodeValue"), i.get("CodingSchemeDesignator")) for i in ds.get("DeidentificationMethodCodeSequence", [])]


def check_clean(name, out, ref, boxes, fill, ts):
    """boxes: (l, t, r, b) as slices (r, b exclusive); fill: a value or (r, g, b)."""
    if not check(f"{name}: written", os.path.exists(out)):
        return
    ds = pydicom.dcmread(out)
    check(f"{name}: transfer syntax {ts}", ds.file_meta.TransferSyntaxUID == ts, ds.file_meta.TransferSyntaxUID)
    a = ds.pixel_array
    want = ref.copy()
    for (l, t, r, b) in boxes:
        want[:, t:b, l:r] = fill
    check(f"{name}: regions filled in every frame, every other pixel unchanged", a.shape == want.shape and
          np.array_equal(a, want), f"{a.shape} differing={int(np.sum(a != want)) if a.shape == want.shape else '?'}")
    check(f"{name}: BurnedInAnnotation NO", ds.get("BurnedInAnnotation") == "NO", ds.get("BurnedInAnnotation"))
    check(f"{name}: 113101 Clean Pixel Data recorded", ("113101", "DCM") in codes(ds), codes(ds))
    return ds


try:
    src = WORK + "/us.dcm"
    make_us(src)
    ref = pixels(src)
    subprocess.run(["dcmcrle", src, WORK + "/us_rle.dcm"], check=True)
    subprocess.run(["dcmcjpeg", "+eb", src, WORK + "/us_jpeg.dcm"], check=True)
    subprocess.run(["dcmdjpeg", WORK + "/us_jpeg.dcm", WORK + "/us_jpeg_ref.dcm"], check=True)
    ref_jpeg = pixels(WORK + "/us_jpeg_ref.dcm")
    check("the JPEG source is lossy (else this test proves nothing about it)", not np.array_equal(ref_jpeg, ref))
    rgb = WORK + "/us_rgb.dcm"
    make_us(rgb, rgb=True)

    script = WORK + "/alter.das"
    open(script, "w").write('version "6.3"\n'
                            'alterPixels["rectangle", "l=10, t=5, r=60, b=20", "solid", "v=0"]\n'
                            'alterPixels["rectangle", "left=100, top=80, right=200, bottom=200", "solid", "v=255"]\n'
                            '-(0008,0070)\n')  # no Manufacturer after the script: the rules match before it
    # alterPixels' r and b are inside the rectangle (docs/pixel.md): as slices, r + 1 and b + 1
    boxes = [((10, 5, 61, 21), 0), ((100, 80, 201, 201), 255)]

    def clean_with_script(name, inp, reference, ts, decode=pixels):
        out = f"{WORK}/out_{name.replace(' ', '_')}.dcm"
        r = run("anonymize", "--script", script, inp, out)
        check(f"alterPixels {name}: exit 0", r.returncode == 0, r.stderr)
        if os.path.exists(out):
            ds = pydicom.dcmread(out)
            a, want = decode(out), reference.copy()
            for (l, t, rr, b), v in boxes:
                want[:, t:b, l:rr] = v
            check(f"alterPixels {name}: transfer syntax {ts}", ds.file_meta.TransferSyntaxUID == ts,
                  ds.file_meta.TransferSyntaxUID)
            check(f"alterPixels {name}: regions filled (clipped at the edge), the rest bit-identical",
                  np.array_equal(a, want), int(np.sum(a != want)) if a.shape == want.shape else a.shape)
            check(f"alterPixels {name}: BurnedInAnnotation NO and 113101", ds.get("BurnedInAnnotation") == "NO" and
                  ("113101", "DCM") in codes(ds), (ds.get("BurnedInAnnotation"), codes(ds)))
            return ds

    clean_with_script("native", src, ref, ELE)
    clean_with_script("RLE", WORK + "/us_rle.dcm", ref, RLE)
    # JPEG Lossless SV1 (dcmcjpeg): kept; dqr's encoding read back by DCMTK's dcmdjpeg
    subprocess.run(["dcmcjpeg", "+e1", src, WORK + "/us_jll.dcm"], check=True)
    clean_with_script("JPEG Lossless SV1", WORK + "/us_jll.dcm", ref, JLL, decode=dcmtk_pixels)
    ds = clean_with_script("JPEG baseline", WORK + "/us_jpeg.dcm", ref_jpeg, ELE)
    if ds is not None:
        check("JPEG baseline: Lossy Image Compression stays 01 (it was lossy-compressed once)",
              ds.get("LossyImageCompression") == "01", ds.get("LossyImageCompression"))

    # 12-bit JPEG Extended (dcmcjpeg +ee): decoded by GDCM's 12-bit IJG build, cleaned, written Explicit VR LE
    make_us(WORK + "/us12_native.dcm", bits=12)
    subprocess.run(["dcmcjpeg", "+ee", WORK + "/us12_native.dcm", WORK + "/us12_jpeg.dcm"], check=True)
    check("the 12-bit source is JPEG Extended, 12 bits stored",
          pydicom.dcmread(WORK + "/us12_jpeg.dcm").file_meta.TransferSyntaxUID == JPEG_EXT and
          pydicom.dcmread(WORK + "/us12_jpeg.dcm").BitsStored == 12)
    ref12 = dcmtk_pixels(WORK + "/us12_jpeg.dcm")
    check("the 12-bit JPEG is lossy (else this test proves nothing about it)",
          not np.array_equal(ref12, pixels(WORK + "/us12_native.dcm")))
    ds = clean_with_script("JPEG Extended 12-bit", WORK + "/us12_jpeg.dcm", ref12, ELE)
    if ds is not None:
        check("JPEG Extended 12-bit: Lossy Image Compression 01, Bits Allocated 16, Bits Stored 12",
              ds.get("LossyImageCompression") == "01" and ds.BitsAllocated == 16 and ds.BitsStored == 12,
              (ds.get("LossyImageCompression"), ds.BitsAllocated, ds.BitsStored))

    # frames larger than the writer's 256 KiB buffer (640x480) go out directly: same result
    make_us(WORK + "/us_big.dcm", rows=480, cols=640)
    out = WORK + "/out_big.dcm"
    r = run("anonymize", "--script", script, WORK + "/us_big.dcm", out)
    if check("alterPixels 640x480: exit 0", r.returncode == 0, r.stderr):
        a, want = pixels(out), pixels(WORK + "/us_big.dcm").copy()
        for (l, t, rr, b), v in boxes:
            want[:, t:b, l:rr] = v
        check("alterPixels 640x480: regions filled, the rest bit-identical", np.array_equal(a, want))

    # r,g,b fill on a colour image
    cs = WORK + "/rgb.das"
    open(cs, "w").write('version "6.3"\nalterPixels["rectangle", "l=0, t=0, r=30, b=10", "solid", "r=255, g=0, b=7"]\n')
    r = run("anonymize", "--script", cs, rgb, WORK + "/out_rgb.dcm")
    check("alterPixels r,g,b: exit 0", r.returncode == 0, r.stderr)
    check_clean("alterPixels r,g,b", WORK + "/out_rgb.dcm", pixels(rgb), [(0, 0, 31, 11)], (255, 0, 7), ELE)

    # a colour JPEG baseline (YBR_FULL_422): written RGB, Explicit VR LE, the rest as dcmdjpeg decodes it
    subprocess.run(["dcmcjpeg", "+eb", rgb, WORK + "/rgb_jpeg.dcm"], check=True)
    subprocess.run(["dcmdjpeg", WORK + "/rgb_jpeg.dcm", WORK + "/rgb_jpeg_ref.dcm"], check=True)
    r = run("anonymize", "--script", cs, WORK + "/rgb_jpeg.dcm", WORK + "/out_rgb_jpeg.dcm")
    check("alterPixels r,g,b on YBR_FULL_422 JPEG: exit 0", r.returncode == 0, r.stderr)
    ds = check_clean("alterPixels r,g,b on YBR_FULL_422 JPEG", WORK + "/out_rgb_jpeg.dcm",
                     pixels(WORK + "/rgb_jpeg_ref.dcm"), [(0, 0, 31, 11)], (255, 0, 7), ELE)
    if ds is not None:
        check("YBR_FULL_422 JPEG: Photometric Interpretation RGB, Planar Configuration 0 (as decoded)",
              ds.PhotometricInterpretation == "RGB" and ds.PlanarConfiguration == 0,
              (ds.PhotometricInterpretation, ds.get("PlanarConfiguration")))

    # CTP pixel rules: the first signature that matches, after the script
    rules = WORK + "/site.script"
    open(rules, "w").write('Other scanner\n{ Modality.equals("CT") }\n(0,0,5,5)\n'
                           'ACME ultrasound\n{ Manufacturer.containsIgnoreCase("acme") * Modality.equals("US") }\n'
                           '(20,30,40,10) (-16,-8,16,8)\n')
    rule_boxes = [(20, 30, 60, 40), (COLS - 16, ROWS - 8, COLS, ROWS)]
    plain = WORK + "/plain.das"
    # the script removes Manufacturer, which the rule tests: the rules see the file as read (CTP's order)
    open(plain, "w").write('version "6.3"\n(0010,0010) := "ANON"\n-(0008,0070)\n')
    for name, inp, reference, ts in (("native", src, ref, ELE), ("RLE", WORK + "/us_rle.dcm", ref, RLE),
                                     ("JPEG baseline", WORK + "/us_jpeg.dcm", ref_jpeg, ELE)):
        out = f"{WORK}/rules_{name}.dcm"
        r = run("anonymize", "--script", plain, "--pixel-rules", rules, inp, out)
        check(f"--pixel-rules {name}: exit 0", r.returncode == 0, r.stderr)
        ds = check_clean(f"--pixel-rules {name}", out, reference, rule_boxes, 0, ts)
        check(f"--pixel-rules {name}: the script removed Manufacturer (the rule matched before it)",
              ds is not None and "Manufacturer" not in ds)

    # nothing cleaned: nothing recorded, pixels as they were
    out = WORK + "/untouched.dcm"
    r = run("anonymize", "--script", plain, src, out)
    ds = pydicom.dcmread(out) if os.path.exists(out) else None
    check("no alterPixels, no rules: BurnedInAnnotation stays YES, no 113101, pixel data identical",
          ds is not None and ds.get("BurnedInAnnotation") == "YES" and ("113101", "DCM") not in codes(ds) and
          ds.PixelData == pydicom.dcmread(src).PixelData, r.stderr)
    nomatch = WORK + "/nomatch.script"
    open(nomatch, "w").write('{ Modality.equals("MR") } (0,0,10,10)\n')
    out = WORK + "/nomatch.dcm"
    r = run("anonymize", "--script", plain, "--pixel-rules", nomatch, src, out)
    ds = pydicom.dcmread(out) if os.path.exists(out) else None
    check("rules that do not match: nothing recorded", ds is not None and ds.get("BurnedInAnnotation") == "YES" and
          ("113101", "DCM") not in codes(ds), r.stderr)

    # an instance without pixels (a structured report) through alterPixels: written, nothing recorded
    sr = Dataset()
    sr.file_meta = FileMetaDataset()
    sr.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    sr.SOPClassUID = sr.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.88.11"
    sr.SOPInstanceUID = sr.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    sr.StudyInstanceUID, sr.SeriesInstanceUID, sr.Modality, sr.PatientName = generate_uid(), generate_uid(), "SR", "DOE"
    sr.is_little_endian, sr.is_implicit_VR = True, False
    sr.save_as(WORK + "/sr.dcm", write_like_original=False)
    r = run("anonymize", "--script", script, WORK + "/sr.dcm", WORK + "/sr_out.dcm")
    ds = pydicom.dcmread(WORK + "/sr_out.dcm") if os.path.exists(WORK + "/sr_out.dcm") else None
    check("alterPixels on an instance without Pixel Data: written, no BurnedInAnnotation, no 113101",
          r.returncode == 0 and ds is not None and "BurnedInAnnotation" not in ds and ("113101", "DCM") not in codes(ds),
          r.stderr)

    # errors: an unknown shape names line:column; a fill beyond 8 bits; nothing written
    bad = WORK + "/bad.das"
    open(bad, "w").write('version "6.3"\n(0010,0010) := "X"\nalterPixels["circle", "l=0,t=0,r=1,b=1", "solid", "v=0"]\n')
    r = run("anonymize", "--script", bad, src, WORK + "/bad.dcm")
    check("alterPixels with an unknown shape: fails with line:column, nothing written",
          r.returncode == 1 and "bad.das:3:1: alterPixels: unknown shape" in r.stderr and
          not os.path.exists(WORK + "/bad.dcm"), r.stderr)
    big = WORK + "/big.das"
    open(big, "w").write('version "6.3"\nalterPixels["rectangle", "l=0,t=0,r=1,b=1", "solid", "v=300"]\n')
    r = run("anonymize", "--script", big, src, WORK + "/big.dcm")
    check("a fill value beyond Bits Stored: fails, nothing written", r.returncode == 1 and "does not fit" in r.stderr
          and not os.path.exists(WORK + "/big.dcm"), r.stderr)

    # ---- dqr listen --pixel-rules: cleaned in memory before anything is written -------------------
    lport, ldir = free_port(), WORK + "/listen-out"
    os.makedirs(ldir)
    lp = procs.start([DQR, "listen", "--port", str(lport), "--aet", "LST", "--out", ldir, "--script", script,
                      "--pixel-rules", rules], open(WORK + "/listen.log", "w"))
    if check("dqr listen --pixel-rules started", wait_port(lport)):
        subprocess.run([DQR, "store", "--call", "LST", "127.0.0.1", str(lport), src], stdout=subprocess.DEVNULL)
        procs.stop_one(lp)
        got = glob.glob(ldir + "/*.dcm")
        if check("dqr listen wrote the instance", len(got) == 1, got):
            ds = pydicom.dcmread(got[0])
            a, want = ds.pixel_array, ref.copy()
            for (l, t, rr, bb), v in boxes + [(x, 0) for x in rule_boxes]:
                want[:, t:bb, l:rr] = v
            check("dqr listen: alterPixels and rule regions filled, the rest unchanged, recorded",
                  np.array_equal(a, want) and ds.get("BurnedInAnnotation") == "NO" and ("113101", "DCM") in codes(ds),
                  int(np.sum(a != want)) if a.shape == want.shape else a.shape)
    r = run("listen", "--port", str(free_port()), "--aet", "LST", "--out", ldir, "--pixel-rules", rules)
    check("dqr listen --pixel-rules without a script: usage error", r.returncode == 2, r.stderr)

    # ---- the gateway: import from Orthanc into a project whose script uses alterPixels ----------
    study = generate_uid()
    gw_src = WORK + "/gw"
    os.makedirs(gw_src)
    make_us(gw_src + "/us.dcm", study=study)
    http_port, dicom_port = free_port(), free_port()
    OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
    if not check("Orthanc started", wait_port(OD)):
        raise SystemExit
    dqr_store(DQR, "ORTHANC", OD, gw_src)
    env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1")
    sp = procs.start([DQR, "serve"], open(WORK + "/serve.log", "ab"), env)
    wait_port(http_port) and wait_port(dicom_port)
    api = Api(http_port)
    T = api.login("admin", "gateway-secret-1")
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD, "default_qr": True}, token=T)
    pacs = b.get("id")
    st, b, _ = api.call("POST", "/api/v1/projects", {"id": "PX", "dqr_enabled": True,
                                                     "script": open(script).read(),
                                                     "pixel_rules": open(rules).read()}, token=T)
    check("project with an alterPixels script and pixel rules", st == 201, b)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "PX", "studies": [
        {"StudyInstanceUID": study, "subject": "S01", "session": "S01_US"}]}, token=T)
    b = api.wait_import(T, b.get("id"))
    check("import done, one instance archived", b.get("state") == "done" and b.get("archived") == 1, b)
    files = glob.glob(WORK + "/var/archive/PX/**/*.dcm", recursive=True)
    if check("the archive holds the instance", len(files) == 1, files):
        ds = pydicom.dcmread(files[0])
        a, want = ds.pixel_array, ref.copy()
        for (l, t, rr, bb), v in boxes + [(x, 0) for x in rule_boxes]:
            want[:, t:bb, l:rr] = v
        check("gateway: alterPixels and rule regions filled, the rest unchanged", np.array_equal(a, want),
              int(np.sum(a != want)) if a.shape == want.shape else a.shape)
        check("gateway: BurnedInAnnotation NO and 113101", ds.get("BurnedInAnnotation") == "NO" and
              ("113101", "DCM") in codes(ds), (ds.get("BurnedInAnnotation"), codes(ds)))
    # a 12-bit JPEG Extended through the gateway: cleaned and archived in Explicit VR LE
    study12, studybad = generate_uid(), generate_uid()
    os.makedirs(WORK + "/gw12")
    make_us(WORK + "/gw12_native.dcm", study=study12, bits=12)
    subprocess.run(["dcmcjpeg", "+ee", WORK + "/gw12_native.dcm", WORK + "/gw12/us12.dcm"], check=True)
    ref12 = dcmtk_pixels(WORK + "/gw12/us12.dcm")
    dqr_store(DQR, "ORTHANC", OD, WORK + "/gw12")
    # the same patient as S01_US (make_us plants one PatientID): its subject label, a new session
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "PX", "studies": [
        {"StudyInstanceUID": study12, "subject": "S01", "session": "S01_US12"}]}, token=T)
    b = api.wait_import(T, b.get("id"))
    check("gateway: a 12-bit JPEG with rules to apply is archived", b.get("archived") == 1, b)
    files = glob.glob(WORK + "/var/archive/PX/S01/S01_US12/**/*.dcm", recursive=True)
    if check("the archive holds the 12-bit instance", len(files) == 1, files):
        ds = pydicom.dcmread(files[0])
        a, want = ds.pixel_array, ref12.copy()
        for (l, t, rr, bb), v in boxes + [(x, 0) for x in rule_boxes]:
            want[:, t:bb, l:rr] = v
        check("gateway 12-bit: regions filled, the rest as dcmdjpeg decodes the source", np.array_equal(a, want),
              int(np.sum(a != want)) if a.shape == want.shape else a.shape)
        check("gateway 12-bit: Explicit VR LE, Lossy Image Compression 01, BurnedInAnnotation NO",
              ds.file_meta.TransferSyntaxUID == ELE and ds.get("LossyImageCompression") == "01" and
              ds.get("BurnedInAnnotation") == "NO", (ds.file_meta.TransferSyntaxUID, ds.get("LossyImageCompression")))
    # pixels that cannot be cleaned (a JPEG of 96 rows in a dataset that says 95) go to the sealed quarantine
    os.makedirs(WORK + "/gwbad")
    bad = pydicom.dcmread(WORK + "/gw12/us12.dcm")
    bad.StudyInstanceUID, bad.SeriesInstanceUID = studybad, generate_uid()
    bad.SOPInstanceUID = bad.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    bad.Rows = ROWS - 1
    bad.save_as(WORK + "/gwbad/bad.dcm")
    dqr_store(DQR, "ORTHANC", OD, WORK + "/gwbad")
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "PX", "studies": [
        {"StudyInstanceUID": studybad, "subject": "S01", "session": "S01_BAD"}]}, token=T)
    b = api.wait_import(T, b.get("id"))
    check("gateway: a JPEG that contradicts its dataset, with rules to apply, is not archived, it is quarantined",
          b.get("archived") == 0 and b.get("rejected") == 1 and
          not glob.glob(WORK + "/var/archive/PX/S01/S01_BAD/**/*.dcm", recursive=True), b)
    st, q, _ = api.call("GET", "/api/v1/quarantine", token=T)
    rows = [x for x in q.get("quarantine", []) if x.get("session_label") == "S01_BAD"] if st == 200 else []
    check("GET /quarantine: the instance, reason 'pixels could not be cleaned: ...the dataset says...'",
          len(rows) == 1 and rows[0]["reason"].startswith("pixels could not be cleaned: ") and
          "the dataset says" in rows[0]["reason"], q)
    check("the quarantined instance is sealed (no clear DICOM in the quarantine folder)",
          glob.glob(WORK + "/var/quarantine/*.sealed") and
          not any(b"DICM" in open(x, "rb").read(200) for x in glob.glob(WORK + "/var/quarantine/*")))
    if rows:
        st, b, _ = api.call("POST", f"/api/v1/quarantine/{rows[0]['id']}/release", {}, token=T)
        check("its release is refused (its pixels would be archived uncleaned)", st == 409, (st, b))
        check("still not in the archive", not glob.glob(WORK + "/var/archive/PX/S01/S01_BAD/**/*.dcm", recursive=True))
    # a fill the image cannot take: the instance is not archived, the import says why
    st, b, _ = api.call("POST", "/api/v1/projects", {"id": "PXBAD", "dqr_enabled": True,
                                                     "script": open(big).read()}, token=T)
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "PXBAD", "studies": [
        {"StudyInstanceUID": study, "subject": "S02", "session": "S02_US"}]}, token=T)
    b = api.wait_import(T, b.get("id"))
    check("gateway: pixels that cannot be cleaned are not archived, and the import says why",
          b.get("state") == "failed" and b.get("archived") == 0 and "pixel cleaning: region 1: fill value 300" in (b.get("error") or "")
          and not glob.glob(WORK + "/var/archive/PXBAD/**/*.dcm", recursive=True), b)
    # the same with the burned-in text check off: the failure shows when the archive write decodes the frames
    procs.stop_one(sp)
    sp = procs.start([DQR, "serve"], open(WORK + "/serve.log", "ab"), dict(env, DQR_OCR="off"))
    wait_port(http_port) and wait_port(dicom_port)
    T = api.login("admin", "gateway-secret-1")
    st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": "PX", "studies": [
        {"StudyInstanceUID": studybad, "subject": "S01", "session": "S01_BADB"}]}, token=T)
    b = api.wait_import(T, b.get("id"))
    st, q, _ = api.call("GET", "/api/v1/quarantine", token=T)
    rows = [x for x in q.get("quarantine", []) if x.get("session_label") == "S01_BADB"] if st == 200 else []
    check("ocr off: the contradicting JPEG is quarantined by the archive write's failure, nothing left in the archive",
          b.get("archived") == 0 and b.get("rejected") == 1 and len(rows) == 1 and
          rows[0]["reason"].startswith("pixels could not be cleaned: ") and
          not [f for f in glob.glob(WORK + "/var/archive/PX/S01/S01_BADB/**/*", recursive=True) if os.path.isfile(f)], (b, rows))
finally:
    procs.stop()
sys.exit(check.finish())
