#!/usr/bin/python3
"""The DICOMweb server on the archive (docs/dicomweb.md), driven over HTTP
against a running `dqr serve` whose archive was filled by real imports from
Orthanc: QIDO-RS matching (exact, wildcards, ranges, UID lists,
includefield, limit/offset, fuzzymatching refused), every path under each
of owner, other user, no token and basic authentication with an API token,
WADO-RS retrieval (multipart instances, metadata with BulkDataURIs that
resolve, frames, transfer syntax negotiation), STOW-RS through the import
pipeline, and Orthanc's DICOMweb plugin using dqr as a remote server.
Usage: dicomweb_rs.py DQR WORKDIR"""
import base64
import email.parser
import email.policy
import glob
import http.client
import io
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import pydicom  # noqa: E402
from peers import (Api, Checks, Procs, canary_needles, dqr_store, free_port, generate, scan_for,  # noqa: E402
                   serve_env, start_orthanc, wait_port)

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

data = WORK + "/data"
canaries = generate(ROOT, data, "--patients", "2", "--studies", "1", "--series", "2", "--instances", "3",
                    "--rows", "16", "--cols", "16")
meta = {}
for f in glob.glob(data + "/**/*.dcm", recursive=True):
    d = pydicom.dcmread(f, stop_before_pixels=True)
    meta.setdefault(d.StudyInstanceUID, []).append(d)
orig_studies = sorted(meta)
needles = canary_needles(canaries)

http_port, dicom_port = free_port(), free_port()
OD, OH = start_orthanc(procs, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]})
if not wait_port(OD):
    print("FAIL Orthanc did not start\n0 passed, 1 failed")
    sys.exit(1)
dqr_store(DQR, "ORTHANC", OD, data)
env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port, DQR_IMPORT_POLL_SECONDS="1")
serve_log = open(WORK + "/serve.stderr", "ab")
api = Api(http_port)


def get(path, token=None, basic=None, accept=None):
    """GET path: (status, body bytes, response)."""
    h = {}
    if token:
        h["Authorization"] = "Bearer " + token
    if basic:
        h["Authorization"] = "Basic " + base64.b64encode(basic.encode()).decode()
    if accept:
        h["Accept"] = accept
    c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=120)
    c.request("GET", path, headers=h)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, body, r


def qido(path, token, **params):
    q = urllib.parse.urlencode(params, doseq=True)
    st, body, r = get(path + ("?" + q if q else ""), token)
    try:
        return st, json.loads(body), r
    except ValueError:
        return st, body, r


def value(obj, tag):
    v = obj.get(tag, {}).get("Value")
    return v[0] if v else None


def parts(body, ctype):
    """The parts of a multipart/related answer: [(headers, bytes)]."""
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    return [(p, p.get_payload(decode=True)) for p in msg.iter_parts()] if msg.is_multipart() else []


try:
    serve = procs.start([DQR, "serve"], serve_log, env)
    wait_port(http_port)
    T = api.login("admin", "gateway-secret-1")
    H = {"token": T}
    st, b, _ = api.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                 "port": OD}, **H)
    pacs = b["id"]
    # P2's script dates its sessions (the site profile empties the dates), for the range matching
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Project P1", "dqr_enabled": True}, **H)
    api.call("POST", "/api/v1/projects", {"id": "P2", "name": "Project P2", "dqr_enabled": True, "script":
                                          'version "6.3"\n(0008,0020) := "20200315"\n(0008,0030) := "101500"\n'},
             **H)
    for i, (uid, project) in enumerate(zip(orig_studies, ("P1", "P2"))):
        st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pacs, "project": project, "studies": [
            {"StudyInstanceUID": uid, "subject": f"S0{i + 1}", "session": f"S0{i + 1}_MR"}]}, **H)
        b = api.wait_import(T, b.get("id"))
        check(f"import into {project} done", b.get("state") == "done" and b.get("archived") == 6, b)
    st, b, _ = api.call("POST", "/api/v1/users", {"username": "alice", "password": "wonderland-pw-12",
                                                  "role": "user"}, **H)
    alice_id = b.get("id")
    api.call("PUT", f"/api/v1/users/{alice_id}/grants", {"pacs": [], "projects": ["P1"]}, **H)
    A = api.login("alice", "wonderland-pw-12")
    st, b, _ = api.call("POST", "/api/v1/tokens", {"name": "viewer", "days": 30}, token=A)
    A_API = b.get("token")

    # ---- QIDO-RS: studies, and who sees which ------------------------------------------------
    st, b, r = qido("/dicom-web/studies", T)
    check("QIDO studies (admin): 200 application/dicom+json, both projects",
          st == 200 and r.getheader("Content-Type") == "application/dicom+json" and len(b) == 2, b)
    uid_of = {value(s, "00100010")["Alphabetic"]: value(s, "0020000D") for s in b} if st == 200 else {}
    S1, S2 = uid_of.get("S01"), uid_of.get("S02")
    check("the archive's studies carry the de-identified names and new UIDs",
          S1 and S2 and not {S1, S2} & set(orig_studies), uid_of)
    st, b, _ = qido("/dicom-web/studies", A)
    check("QIDO studies (alice, granted P1): only P1's study",
          st == 200 and [value(s, "0020000D") for s in b] == [S1], b)
    st, b, _ = qido("/dicom-web/projects/P2/studies", A)
    check("QIDO in a project alice may not read: 404", st == 404, b)
    st, b, r = qido("/dicom-web/projects/P1/studies", None)
    check("QIDO without a token: 401, offering bearer and basic authentication",
          st == 401 and {h.split()[0] for h in r.headers.get_all("WWW-Authenticate")} == {"Bearer", "Basic"}, b)
    st, body, _ = get("/dicom-web/projects/P1/studies", basic="alice:" + A_API)
    check("QIDO with basic authentication, API token as password: 200",
          st == 200 and [value(s, "0020000D") for s in json.loads(body)] == [S1], body[:300])
    st, body, _ = get("/dicom-web/projects/P1/studies", basic="alice:" + A)
    check("basic authentication with a login session token (not an API token): 401", st == 401, body[:200])
    st, body, _ = get("/dicom-web/projects/P1/studies", basic="alice:wonderland-pw-12")
    check("basic authentication with the password itself: 401", st == 401, body[:200])

    # ---- QIDO-RS matching -------------------------------------------------------------------
    st, b, _ = qido("/dicom-web/studies", T, PatientName="s0*")
    check("wildcard * (PN, any case): both", st == 200 and len(b) == 2, b)
    st, b, _ = qido("/dicom-web/studies", T, PatientName="S0?")
    check("wildcard ?: both", st == 200 and len(b) == 2, b)
    st, b, _ = qido("/dicom-web/studies", T, **{"00100010": "S02"})
    check("exact match by tag: one", st == 200 and [value(s, "0020000D") for s in b] == [S2], b)
    st, b, _ = qido("/dicom-web/studies", T, PatientID="nobody")
    check("no match: empty array", st == 200 and b == [], b)
    st, b, _ = qido("/dicom-web/studies", T, StudyInstanceUID=f"{S1},{S2}")
    check("UID list: both", st == 200 and len(b) == 2, b)
    for what, keys, n in (("date range around it", {"StudyDate": "20200301-20200331"}, 1),
                          ("date range before it", {"StudyDate": "-20200314"}, 0),
                          ("open date range from it", {"StudyDate": "20200315-"}, 1),
                          ("exact date", {"StudyDate": "20200315"}, 1),
                          ("time range ending at its minute", {"StudyTime": "0900-1015"}, 1),
                          ("time range after it", {"StudyTime": "1016-"}, 0),
                          ("exact time to the minute", {"StudyTime": "1015"}, 1)):
        st, b, _ = qido("/dicom-web/studies", T, **keys)
        check(f"{what}: {n} (only P2's study has a date)", st == 200 and len(b) == n and
              all(value(s, "0020000D") == S2 for s in b), b)
    st, b, _ = qido("/dicom-web/studies", T, StudyInstanceUID=S1)
    std = b[0] if st == 200 and b else {}
    check("study attributes: counts, modalities, retrieve URL, no StudyDescription by default",
          value(std, "00201206") == 2 and value(std, "00201208") == 6 and value(std, "00080061") and
          str(value(std, "00081190")).endswith(f"/dicom-web/studies/{S1}") and "00081030" not in std, std)
    st, b, _ = qido("/dicom-web/studies", T, StudyInstanceUID=S1, includefield="StudyDescription")
    check("includefield=StudyDescription adds it", st == 200 and "00081030" in b[0], b)
    st, b, _ = qido("/dicom-web/studies", T, StudyInstanceUID=S1, includefield="all")
    check("includefield=all adds it too", st == 200 and "00081030" in b[0], b)
    st, b, _ = qido("/dicom-web/studies", T, limit=1)
    st2, b2, _ = qido("/dicom-web/studies", T, limit=1, offset=1)
    check("limit / offset page through the studies", st == st2 == 200 and len(b) == len(b2) == 1 and
          value(b[0], "0020000D") != value(b2[0], "0020000D"), (b, b2))
    mod = value(std, "00080061") or "CT"
    other = "MR" if mod != "MR" else "US"
    for keys, n in (({"ModalitiesInStudy": mod}, 2), ({"ModalitiesInStudy": other}, 0),
                    ({"ModalitiesInStudy": f"{other},{mod}"}, 2)):
        st, b, _ = qido("/dicom-web/studies", T, **keys)
        check(f"studies with {keys}: {n}", st == 200 and len(b) == n, b)
    st, b, _ = qido("/dicom-web/series", T, ModalitiesInStudy=other)
    check("series of studies with no such modality: none", st == 200 and b == [], b)
    st, b, _ = qido("/dicom-web/studies", T, fuzzymatching="true")
    check("fuzzymatching=true refused: 400 with a reason", st == 400 and "fuzzymatching" in b.get("error", ""), b)
    st, b, _ = qido("/dicom-web/studies", T, Modality="MR")
    check("a series attribute in a study search: 400", st == 400, b)

    # ---- nested searches --------------------------------------------------------------------
    st, series, _ = qido(f"/dicom-web/studies/{S1}/series", T)
    check("series of a study: 2, with their counts", st == 200 and len(series) == 2 and
          all(value(s, "00201209") == 3 for s in series), series)
    SE = value(series[0], "0020000E") if st == 200 and series else "none"
    st, inst, _ = qido(f"/dicom-web/studies/{S1}/series/{SE}/instances", T)
    check("instances of a series: 3 with SOP class, rows, columns", st == 200 and len(inst) == 3 and
          all(value(i, "00280010") == 16 and value(i, "00080016") for i in inst), inst)
    SOP = value(inst[0], "00080018") if st == 200 and inst else "none"
    st, b, _ = qido(f"/dicom-web/studies/{S1}/instances", T)
    check("instances of a study: 6", st == 200 and len(b) == 6, b)
    st, b, _ = qido("/dicom-web/series", T, Modality=value(series[0], "00080060") if series else "")
    check("all series of a modality", st == 200 and len(b) >= 2, b)
    st, b, _ = qido("/dicom-web/instances", T, SOPInstanceUID=SOP)
    check("an instance by its UID", st == 200 and len(b) == 1, b)
    st, b, _ = qido("/dicom-web/instances", T, includefield="AvailableTransferSyntaxUID", SOPInstanceUID=SOP)
    check("includefield AvailableTransferSyntaxUID", st == 200 and value(b[0], "00083002") == "1.2.840.10008.1.2.1", b)
    st, b, _ = qido(f"/dicom-web/studies/{S2}/series", A)
    check("alice: series of a study in P2: 404", st == 404, b)
    st, b, _ = qido(f"/dicom-web/projects/P1/studies/{S2}/series", T)
    check("a study under the wrong project: 404", st == 404, b)

    # ---- WADO-RS: instances, series, studies ---------------------------------------------------
    def retrieve(path, token, accept=None):
        st, body, r = get(path, token, accept=accept)
        ct = r.getheader("Content-Type") or ""
        ds = [pydicom.dcmread(io.BytesIO(b)) for _, b in parts(body, ct)] if st == 200 else []
        return st, ds, ct, body

    st, ds, ct, body = retrieve(f"/dicom-web/studies/{S1}", T)
    check("WADO study: multipart/related application/dicom, 6 instances of the study",
          st == 200 and ct.startswith('multipart/related; type="application/dicom"') and len(ds) == 6 and
          all(d.StudyInstanceUID == S1 for d in ds), (st, ct, body[:200]))
    check("retrieved instances hold no canary", not [n for n in needles if n in body], "")
    check("default transfer syntax: Explicit VR Little Endian",
          all(d.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1" for d in ds), "")
    st, ds, ct, _ = retrieve(f"/dicom-web/studies/{S1}/series/{SE}", T)
    check("WADO series: its 3 instances", st == 200 and len(ds) == 3 and all(d.SeriesInstanceUID == SE for d in ds))
    st, ds, ct, _ = retrieve(f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}", T)
    check("WADO instance: it alone, pixels readable", st == 200 and len(ds) == 1 and ds[0].SOPInstanceUID == SOP and
          ds[0].pixel_array.shape == (16, 16))
    st, ds, ct, _ = retrieve(f"/dicom-web/studies/{S1}", T,
                             accept='multipart/related; type="application/dicom"; transfer-syntax=*')
    check("transfer-syntax=*: as stored", st == 200 and len(ds) == 6, ct)
    # as stored, the answer's length is known first: a Content-Length, exact, not chunked
    star = 'multipart/related; type="application/dicom"; transfer-syntax=*'
    st, body, r = get(f"/dicom-web/studies/{S1}", T, accept=star)
    check("as stored: a Content-Length that is the body's length, not chunked",
          st == 200 and r.getheader("Content-Length") == str(len(body)) and not r.getheader("Transfer-Encoding"),
          (st, r.getheader("Content-Length"), len(body), r.getheader("Transfer-Encoding")))
    st, body, r = get(f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}", T,
                      accept='multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2')
    check("re-encoded: chunked (its length is not known first)",
          st == 200 and r.getheader("Transfer-Encoding") == "chunked" and not r.getheader("Content-Length"),
          (st, r.getheader("Transfer-Encoding"), r.getheader("Content-Length")))
    s1_files = sorted(glob.glob(WORK + "/var/archive/P1/S01/**/*.dcm", recursive=True))
    if s1_files:
        os.rename(s1_files[0], s1_files[0] + ".away")
    implicit = 'multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2'
    try:
        try:  # the Content-Length (from the catalog's sizes) counted the missing file: cut, never wrong bytes
            st, body, r = get(f"/dicom-web/studies/{S1}", T, accept=star)
            cut = (st, len(body), r.getheader("Content-Length"))
        except http.client.IncompleteRead:
            cut = "cut"
        st, ds, ct, body = retrieve(f"/dicom-web/studies/{S1}", T, accept=implicit)
    finally:
        if s1_files:
            os.rename(s1_files[0] + ".away", s1_files[0])
    check("a file gone from the archive: the counted (as stored) answer is cut", len(s1_files) == 6 and cut == "cut",
          (len(s1_files), cut))
    check("... the chunked (re-encoded) answer leaves it out, the 5 others whole",
          len(s1_files) == 6 and st == 200 and len(ds) == 5, (len(s1_files), st, len(ds), ct))
    st, ds, ct, _ = retrieve(f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}", T,
                             accept='multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2')
    check("transfer-syntax=Implicit VR LE: re-encoded", st == 200 and len(ds) == 1 and
          ds[0].file_meta.TransferSyntaxUID == "1.2.840.10008.1.2", ct)
    st, ds, ct, _ = retrieve(f"/dicom-web/studies/{S1}", T,
                             accept='multipart/related; type="application/dicom"; transfer-syntax=1.2.840.10008.1.2.4.50')
    check("a compressed syntax the archive does not hold: 406", st == 406, ct)
    st, ds, ct, _ = retrieve(f"/dicom-web/studies/{S1}", T, accept="image/png")
    check("Accept of something else: 406", st == 406, ct)
    for who, tok, code in (("alice, in P1", A, 200), ("no token", None, 401)):
        st, ds, _, _ = retrieve(f"/dicom-web/projects/P1/studies/{S1}", tok)
        check(f"WADO study as {who}: {code}", st == code, st)
    st, body, _ = get(f"/dicom-web/studies/{S1}", basic="alice:" + A_API)
    check("WADO with basic authentication (API token)", st == 200 and body.count(b"DICM") == 6, st)
    for path in (f"/dicom-web/studies/{S2}", f"/dicom-web/studies/{S2}/metadata",
                 f"/dicom-web/projects/P2/studies/{S2}"):
        st, _, _, _ = retrieve(path, A)
        check(f"alice: {path.replace(S2, 'S2')}: 404", st == 404, st)
    st, _, _, _ = retrieve(f"/dicom-web/projects/P1/studies/{S2}", T)
    check("a study retrieved under the wrong project: 404", st == 404)

    # ---- metadata, bulk data, frames ----------------------------------------------------------
    st, body, r = get(f"/dicom-web/studies/{S1}/metadata", T)
    md = json.loads(body) if st == 200 else []
    check("study metadata: 6 DICOM JSON objects", st == 200 and len(md) == 6 and
          r.getheader("Content-Type") == "application/dicom+json", body[:300])
    pix = [m for m in md if value(m, "00080018") == SOP]
    uri = pix[0].get("7FE00010", {}).get("BulkDataURI", "") if pix else ""
    check("Pixel Data as a BulkDataURI under the instance",
          uri.endswith(f"/studies/{S1}/series/{SE}/instances/{SOP}/bulkdata/7FE00010"), uri)
    st, body, r = get(urllib.parse.urlparse(uri).path, T)
    bulk = parts(body, r.getheader("Content-Type") or "")
    check("the BulkDataURI resolves: the 16x16x2 pixel bytes", st == 200 and len(bulk) == 1 and
          len(bulk[0][1]) == 512, (st, body[:200]))
    st, body, r = get(f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}/metadata", T)
    check("instance metadata: one object", st == 200 and len(json.loads(body)) == 1, body[:200])
    st, body, r = get(f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}/frames/1", T)
    fr = parts(body, r.getheader("Content-Type") or "")
    check("frame 1: multipart octet-stream of 512 bytes, the same as the bulk data",
          st == 200 and len(fr) == 1 and bulk and fr[0][1] == bulk[0][1], (st, body[:200]))
    st, body, r = get(f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}/frames/2", T)
    check("frame 2 of a single-frame instance: 404", st == 404, body[:200])
    st, body, r = get(f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}/frames/x", T)
    check("a malformed frame list: 400", st == 400, body[:200])
    st, body, r = get(f"/dicom-web/projects/P1/studies/{S1}/series/{SE}/instances/{SOP}/frames/1", None)
    check("frames without a token: 401", st == 401, body[:200])

    # ---- rendered and thumbnail (src/pixel/render.c) -------------------------------------------
    def png_size(b):
        return (int.from_bytes(b[16:20], "big"), int.from_bytes(b[20:24], "big")) if b[:8] == b"\x89PNG\r\n\x1a\n" else None

    inst_path = f"/dicom-web/studies/{S1}/series/{SE}/instances/{SOP}"
    st, body, r = get(inst_path + "/rendered", T, accept="image/png")
    check("rendered instance as PNG: 16x16", st == 200 and r.getheader("Content-Type") == "image/png" and
          png_size(body) == (16, 16), (st, body[:40]))
    st, body, r = get(inst_path + "/rendered", T)
    check("rendered instance without Accept: JPEG", st == 200 and r.getheader("Content-Type") == "image/jpeg" and
          body[:2] == b"\xff\xd8", (st, body[:40]))
    st, body, r = get(inst_path + "/rendered?viewport=8,8&window=100,50", T, accept="image/png")
    check("viewport 8,8 and a window: an 8x8 PNG", st == 200 and png_size(body) == (8, 8), (st, body[:60]))
    st, body, r = get(inst_path + "/rendered?window=1,0", T, accept="image/png")
    check("a window of width 0: 400", st == 400, body[:200])
    st, body, r = get(inst_path + "/frames/1/rendered", T, accept="image/png")
    check("rendered frame 1: one PNG", st == 200 and png_size(body) == (16, 16), (st, body[:40]))
    for what, path, n in (("study", f"/dicom-web/studies/{S1}/rendered", 6),
                          ("series", f"/dicom-web/studies/{S1}/series/{SE}/rendered", 3)):
        st, body, r = get(path, T, accept="multipart/related; type=\"image/png\"")
        imgs = parts(body, r.getheader("Content-Type") or "")
        check(f"rendered {what}: multipart of {n} PNGs", st == 200 and len(imgs) == n and
              all(png_size(b) == (16, 16) for _, b in imgs), (st, len(imgs), body[:100]))
    for what, path in (("study", f"/dicom-web/studies/{S1}/thumbnail"),
                       ("series", f"/dicom-web/studies/{S1}/series/{SE}/thumbnail"),
                       ("instance", inst_path + "/thumbnail")):
        st, body, r = get(path, T, accept="image/png")
        check(f"thumbnail of the {what}: one PNG", st == 200 and png_size(body) == (16, 16), (st, body[:60]))
    st, body, r = get(inst_path + "/rendered", T, accept="application/pdf")
    check("rendered as something else than JPEG or PNG: 406", st == 406, body[:200])
    st, body, r = get(f"/dicom-web/studies/{S2}/thumbnail", A, accept="image/png")
    check("alice: a thumbnail of P2's study: 404", st == 404, body[:200])

    # ---- every GET path x every kind of caller ---------------------------------------------------
    st, b, _ = api.call("POST", "/api/v1/users", {"username": "bob", "password": "builder-pw-77", "role": "user"}, **H)
    api.call("PUT", f"/api/v1/users/{b.get('id')}/grants", {"pacs": [], "projects": ["P2"]}, **H)
    B = api.login("bob", "builder-pw-77")
    study_p = f"/studies/{S1}"
    series_p = f"{study_p}/series/{SE}"
    inst_p = f"{series_p}/instances/{SOP}"
    paths = ["/studies", "/series", "/instances", f"{study_p}/series", f"{study_p}/instances", f"{series_p}/instances",
             study_p, series_p, inst_p, f"{study_p}/metadata", f"{series_p}/metadata", f"{inst_p}/metadata",
             f"{inst_p}/frames/1", f"{inst_p}/bulkdata/7FE00010", f"{study_p}/rendered", f"{series_p}/rendered",
             f"{inst_p}/rendered", f"{inst_p}/frames/1/rendered", f"{study_p}/thumbnail", f"{series_p}/thumbnail",
             f"{inst_p}/thumbnail"]
    searches = paths[:3]
    callers = (("owner (alice, P1)", {"token": A}, 200), ("basic, alice's API token", {"basic": "alice:" + A_API}, 200),
               ("other user (bob, P2)", {"token": B}, 404), ("no token", {}, 401))
    wrong = []
    for root in ("/dicom-web", "/dicom-web/projects/P1"):
        for path in paths:
            for who, auth, code in callers:
                st, body, _ = get(root + path, **auth)
                if code == 404 and path in searches and root == "/dicom-web":
                    ok = st == 200 and S1.encode() not in body  # a search of all projects: bob's own only
                else:
                    ok = st == (404 if code == 404 else code)
                if not ok:
                    wrong.append(f"{root}{path.replace(S1, 'S1').replace(SE, 'SE').replace(SOP, 'SOP')} as {who}: {st}")
    check(f"{2 * len(paths)} paths x {len(callers)} callers: 200 owner and basic, 404 (or nothing of P1) "
          "for another user, 401 without a token", not wrong, wrong[:8])

    # ---- a node DICOMweb client (dicomweb-client, as OHIF uses it) -------------------------------
    here = os.path.dirname(os.path.abspath(__file__))
    if not os.path.isdir(here + "/node_modules/dicomweb-client"):  # make deps installs it; else here
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=here, check=True)
    res = subprocess.run(["node", here + "/client.mjs", f"http://127.0.0.1:{http_port}/dicom-web/projects/P1", A],
                         capture_output=True, text=True, timeout=120)
    try:
        js = json.loads(res.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        js = {"error": res.stdout + res.stderr}
    check("dicomweb-client: QIDO studies, series, instances as alice in P1",
          js.get("studies") == [S1] and len(js.get("series", [])) == 2 and len(js.get("instances", [])) == 3, js)
    check("dicomweb-client: WADO study (6 Part 10 instances), series metadata (3), a frame (512 bytes)",
          js.get("retrieved") == ["DICM"] * 6 and js.get("metadata") == 3 and js.get("frameBytes") == [512], js)

    # ---- Orthanc's DICOMweb plugin with dqr in its DicomWeb.Servers (basic auth, API token) ------
    _, OH2 = start_orthanc(procs, WORK, "viewer", "VIEWER", {}, {
        "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
        "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "Servers": {
            "dqr": {"Url": f"http://127.0.0.1:{http_port}/dicom-web/", "Username": "alice", "Password": A_API}}}})
    wait_port(OH2)
    orthanc = Api(OH2)
    for _ in range(50):  # the HTTP port opens before the plugin is ready
        st, b, _ = orthanc.call("GET", "/dicom-web/servers")
        if st == 200:
            break
        time.sleep(0.1)
    st, b, _ = orthanc.call("POST", "/dicom-web/servers/dqr/qido", {"Uri": "/studies",
                                                                    "Arguments": {"PatientName": "S0*"}})
    check("Orthanc searches dqr (QIDO-RS through its plugin): alice's one study",
          st == 200 and [x.get("0020000D", {}).get("Value") for x in b] == [S1], b)  # Orthanc's own JSON
    st, b, _ = orthanc.call("POST", "/dicom-web/servers/dqr/retrieve", {"Resources": [{"Study": S1}]})
    st2, found, _ = orthanc.call("POST", "/tools/find", {"Level": "Instance", "Query": {"StudyInstanceUID": S1}})
    check("Orthanc retrieves the study from dqr (WADO-RS): 6 instances in Orthanc",
          st == 200 and st2 == 200 and len(found) == 6, (st, b, found))
    st, b, _ = orthanc.call("POST", "/dicom-web/servers/dqr/qido", {"Uri": f"/studies/{S2}/series"})
    check("Orthanc (as alice) cannot list a study of P2", st != 200 or b == [], (st, b))

    # ---- STOW-RS: through the import pipeline -------------------------------------------------
    def stow(path, token, files, ctype='multipart/related; type="application/dicom"; boundary=XyZ', extra=b""):
        body = b"".join(b"--XyZ\r\nContent-Type: application/dicom\r\n\r\n" + open(f, "rb").read() + b"\r\n"
                        for f in files) + extra + b"--XyZ--\r\n"
        c = http.client.HTTPConnection("127.0.0.1", http_port, timeout=120)
        h = {"Content-Type": ctype, "Accept": "application/dicom+json"}
        if token:
            h["Authorization"] = "Bearer " + token
        c.request("POST", path, body=body, headers=h)
        r = c.getresponse()
        text = r.read()
        c.close()
        try:
            return r.status, json.loads(text)
        except ValueError:
            return r.status, text

    pushed = WORK + "/pushed"
    canaries += generate(ROOT, pushed, "--patients", "1", "--studies", "1", "--series", "1", "--instances", "3",
                         "--rows", "16", "--cols", "16", "--seed", "9")
    needles = canary_needles(canaries)
    push = sorted(glob.glob(pushed + "/**/*.dcm", recursive=True))
    push_study = pydicom.dcmread(push[0], stop_before_pixels=True).StudyInstanceUID
    st, b = stow("/dicom-web/projects/P1/studies?subject=S03&session=S03_STOW", A, push,
                 extra=b"--XyZ\r\nContent-Type: application/dicom\r\n\r\nnot dicom at all\r\n")
    ok_items = b.get("00081199", {}).get("Value", []) if isinstance(b, dict) else []
    bad_items = b.get("00081198", {}).get("Value", []) if isinstance(b, dict) else []
    check("STOW of 3 instances and a bad part (alice, P1): 202, 3 referenced, 1 failed with 0xC000",
          st == 202 and len(ok_items) == 3 and len(bad_items) == 1 and value(bad_items[0], "00081197") == 0xC000, b)
    urls = [value(i, "00081190") for i in ok_items]
    check("each reference's RetrieveURL names the archive's new UIDs",
          all(u and push_study not in u and "/dicom-web/projects/P1/studies/" in u for u in urls), urls)
    st, b, _ = qido("/dicom-web/projects/P1/studies", A, PatientName="S03")
    S3 = value(b[0], "0020000D") if st == 200 and len(b) == 1 else None
    check("the pushed study is searchable under its de-identified labels", S3 and S3 != push_study and
          value(b[0], "00100020") == "S03_STOW", b)
    st, ds, ct, body = retrieve(f"/dicom-web/studies/{S3}", A)
    check("the pushed study retrieves: 3 instances, none with a canary, PatientIdentityRemoved YES",
          st == 200 and len(ds) == 3 and not [n for n in needles if n in body] and
          all(d.PatientIdentityRemoved == "YES" for d in ds), (st, [n for n in needles if n in body]))
    arch = glob.glob(WORK + "/var/archive/P1/S03/**/*.dcm", recursive=True)
    check("the archive's files of the pushed study: 3, no canary in any byte",
          len(arch) == 3 and not scan_for([WORK + "/var/archive/P1/S03"], needles), len(arch))
    st, b, _ = api.call("GET", "/api/v1/history/imports", token=A)
    hist = [x for x in (b.get("imports", []) if isinstance(b, dict) else []) if x.get("session") == "S03_STOW"]
    check("the import history shows the STOW session (kind stow, done with 3 of 4 archived)",
          hist and hist[0].get("kind") == "stow" and hist[0].get("archived") == 3 and hist[0].get("expected") == 4 and
          hist[0].get("state") == "partial", b)
    st, b = stow("/dicom-web/projects/P2/studies", A, push[:1])
    check("STOW into a project alice may not use: 404", st == 404, b)
    st, b = stow("/dicom-web/projects/P1/studies", None, push[:1])
    check("STOW without a token: 401", st == 401, b)
    st, b = stow("/dicom-web/projects/P1/studies", A, push[:1], ctype="application/json")
    check("STOW of something else than multipart/related: 415", st == 415, b)
    st, b = stow(f"/dicom-web/projects/P1/studies/{orig_studies[0]}", A, push[:1])
    bad_items = b.get("00081198", {}).get("Value", []) if isinstance(b, dict) else []
    check("STOW to a study path with an instance of another study: 409, 0xA900",
          st == 409 and bad_items and value(bad_items[0], "00081197") == 0xA900, b)
    st, b = stow("/dicom-web/projects/P1/studies?session=S03_STOW&subject=S04", A, push[:1])
    check("STOW into a session of another subject: 409", st == 409, b)
    st, b = stow("/dicom-web/studies", A, push[:1])
    check("STOW without a project: 400", st == 400, b)

    # ---- a compressed instance: transcoded to Explicit VR LE by default, as stored on request ------
    from pydicom.uid import RLELossless  # noqa: E402
    src = pydicom.dcmread(push[0])
    src.SOPInstanceUID = src.SOPInstanceUID + ".9"
    native = src.pixel_array.copy()
    src.compress(RLELossless)
    src.save_as(WORK + "/rle.dcm")
    # a copy of the pushed S03 instance: the same patient, so the same subject (the registry refuses another)
    st, b = stow("/dicom-web/projects/P1/studies?subject=S03&session=S03_RLE", A, [WORK + "/rle.dcm"])
    url = value(b.get("00081199", {}).get("Value", [{}])[0], "00081190") if st == 200 else None
    rle_path = urllib.parse.urlparse(url).path if url else "/none"
    st, ds, ct, _ = retrieve(rle_path, A)
    check("an RLE instance, default Accept: sent as Explicit VR LE with the same pixels",
          st == 200 and len(ds) == 1 and ds[0].file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1" and
          (ds[0].pixel_array == native).all(), (st, ct))
    st, ds, ct, _ = retrieve(rle_path, A, accept='multipart/related; type="application/dicom"; transfer-syntax=*')
    check("the same with transfer-syntax=*: RLE as stored", st == 200 and len(ds) == 1 and
          ds[0].file_meta.TransferSyntaxUID == RLELossless and (ds[0].pixel_array == native).all(), (st, ct))
    st, body, r = get(rle_path + "/frames/1", A)
    fr = parts(body, r.getheader("Content-Type") or "")
    check("its frame 1 by default: native, the same samples", st == 200 and len(fr) == 1 and
          fr[0][1] == native.astype("<u2" if native.dtype.itemsize == 2 else native.dtype).tobytes(), (st, body[:100]))
    st, body, r = get(rle_path + "/frames/1", A,
                      accept='multipart/related; type="application/octet-stream"; transfer-syntax=*')
    fr = parts(body, r.getheader("Content-Type") or "")
    check("its frame 1 with transfer-syntax=*: the stored RLE fragment", st == 200 and len(fr) == 1 and
          RLELossless in str(fr[0][0].get("Content-Type")) and fr[0][1][:8] == b"\x02\0\0\0\x40\0\0\0",
          (st, body[:200]))  # an RLE header: 2 segments (16-bit), the first at 64
    st, body, r = get(rle_path + "/frames/1", A, accept='multipart/related; type="image/dicom-rle"')
    fr = parts(body, r.getheader("Content-Type") or "")
    check("its frame 1 asked as image/dicom-rle: the stored fragment with that type",
          st == 200 and len(fr) == 1 and str(fr[0][0].get("Content-Type")).startswith("image/dicom-rle") and
          fr[0][1][:8] == b"\x02\0\0\0\x40\0\0\0", (st, body[:200]))
    st, body, r = get(rle_path + "/rendered", A, accept="image/png")
    check("it renders (decoded by src/pixel)", st == 200 and png_size(body) == (16, 16), (st, body[:60]))

    # ---- the audit trail -------------------------------------------------------------------------
    st, b, _ = api.call("GET", "/api/v1/audit?action=dicomweb_retrieve&limit=1000", token=T)
    targets = [e.get("target") for e in b.get("events", [])] if st == 200 else []
    check("whole-study retrievals are audited (Export), with the archive's UIDs",
          f"P1/{S1}" in targets and S1 in targets and
          all(e.get("event", {}).get("id") == "110106" for e in b.get("events", [])), targets[:5])
    st, b, _ = api.call("GET", "/api/v1/audit?action=dicomweb_store&limit=1000", token=T)
    check("STOW-RS requests are audited (Import)", st == 200 and len(b.get("events", [])) >= 2 and
          all(e.get("event", {}).get("id") == "110107" for e in b["events"]), b)

    # ---- nothing identifying anywhere dqr writes -----------------------------------------------
    hits = scan_for([WORK + "/var"] + [p for p in [os.environ.get("DQR_TEST_SCAN_ALSO")] if p], needles)
    check("no canary under the data directory (catalog, WAL, logs, archive)", not hits, hits[:5])
    check("no canary in dqr's standard error", not [n for n in needles if n in open(WORK + "/serve.stderr", "rb").read()])

except Exception as e:  # a test that breaks is a failure, not an error exit
    import traceback
    traceback.print_exc()
    check("test ran to the end", False, repr(e))
finally:
    procs.stop()

sys.exit(check.finish())
