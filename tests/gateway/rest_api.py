#!/usr/bin/python3
"""REST tests of `dqr serve` against a real Orthanc loaded with the project's
generated studies: login and tokens, PACS CRUD, ping, schedules, projects and
scripts, query at every level with paging and sorting, permission denials,
history visibility, restart, PHI on disk, error forms, and a bounded load of
200 concurrent queries. Usage: rest_api.py DQR WORKDIR"""
import concurrent.futures
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pydicom

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, Procs, canary_needles, dqr_store, free_port, generate, scan_for, start_orthanc, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs_ = Checks(), Procs()
procs = procs_.list


# ---- peers and data ---------------------------------------------------------
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
studies = WORK + "/studies"
canaries = generate(ROOT, studies, "--patients", "3", "--studies", "2", "--series", "2", "--instances", "2",
                    "--rows", "8", "--cols", "8")
files = sorted(glob.glob(studies + "/**/*.dcm", recursive=True))
ds = [pydicom.dcmread(f, stop_before_pixels=True) for f in files]
study_uids = sorted({d.StudyInstanceUID for d in ds})
patients = sorted({d.PatientID for d in ds})

http_port, dicom_port = free_port(), free_port()
orthanc_http = {}
web = {"Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"], "DicomWeb": {"Enable": True, "Root": "/dicom-web/"},
       "AuthenticationEnabled": True, "RegisteredUsers": {"dqrweb": "web-pass"}}
OD, orthanc_http["orthanc"] = start_orthanc(procs_, WORK, "orthanc", "ORTHANC", {"dqr": ["DQR", "127.0.0.1", dicom_port]},
                                            web)
OL, _ = start_orthanc(procs_, WORK, "orthlim", "ORTHLIM", {"dqr": ["DQR", "127.0.0.1", dicom_port]},
                      dict(web, LimitFindResults=2))
if not (wait_port(OD) and wait_port(OL)):
    print("FAIL Orthanc did not start\n0 passed, 1 failed")
    sys.exit(1)
for name, port in (("ORTHANC", OD), ("ORTHLIM", OL)):
    dqr_store(DQR, name, port, studies)

env = serve_env(WORK, "gateway-secret-1", http_port, dicom_port,
           DQR_HTTP_MAX_PER_ADDRESS="256")  # the load test below sends 200 requests at once from 127.0.0.1
serve_log = open(WORK + "/serve.stderr", "a")


def start_serve(extra=None):
    p = subprocess.Popen([DQR, "serve"], env=dict(env, **(extra or {})), stdout=serve_log, stderr=serve_log)
    procs.append(p)
    if not wait_port(http_port):
        print("FAIL dqr serve did not start")
    return p


try:
    serve = start_serve()
    api = Api(http_port)

    # ---- ops endpoints and authentication ----------------------------------
    st, b, r = api.call("GET", "/api/v1/health")
    backend = "postgresql" if os.environ.get("DQR_CATALOG", "").startswith("postgresql:") else "sqlite"
    check("health without login", st == 200 and b["status"] == "ok" and b["catalog"] == backend, b)
    st, b, r = api.call("GET", "/api/v1/version")
    check("version", st == 200 and b["name"] == "dqr", b)
    st, b, r = api.call("GET", "/api/v1/pacs")
    check("no token: 401 with a JSON error", st == 401 and "error" in b and r.getheader("WWW-Authenticate"), b)
    st, b, r = api.call("GET", "/api/v1/pacs", token="dqr_not_a_token")
    check("bad token: 401", st == 401, b)
    check("wrong password: 401", api.login("admin", "nope") is None)
    admin = api.login("admin", "gateway-secret-1")
    check("admin logs in with DQR_ADMIN_PASSWORD", admin is not None)
    st, b, r = api.call("GET", "/api/v1/me", token=admin)
    check("me: admin role", st == 200 and b["role"] == "admin", b)
    st, b, r = api.call("POST", "/api/v1/tokens", {"name": "ci", "days": 30}, token=admin)
    api_token = b.get("token") if st == 201 else None
    check("API token created", st == 201 and api_token.startswith("dqr_"), b)
    st, b, r = api.call("GET", "/api/v1/pacs", token=api_token)
    check("API token authenticates", st == 200, b)
    st, b, r = api.call("GET", "/api/v1/health")
    check("security headers", r.getheader("X-Content-Type-Options") == "nosniff" and
          "default-src" in (r.getheader("Content-Security-Policy") or ""))

    # ---- error forms --------------------------------------------------------
    st, b, r = api.call("POST", "/api/v1/pacs", raw='{"label": "x",\n "aet": }', token=admin)
    check("malformed JSON: 400 naming line and column", st == 400 and "line 2" in b["error"], b)
    st, b, r = api.call("GET", "/api/v1/nowhere", token=admin)
    check("unknown endpoint: 404 JSON", st == 404 and "error" in b, b)
    st, b, r = api.call("DELETE", "/api/v1/login", token=admin)
    check("wrong method: 405", st == 405, b)
    st, b, r = api.call("POST", "/api/v1/pacs", raw='{"label": "' + "x" * (2 << 20) + '"}', token=admin)
    check("huge body: 413", st == 413, b)

    # ---- PACS registry --------------------------------------------------------
    pacs = {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD, "queryable": True,
            "storable": True, "default_qr": True, "retrieve": "move"}
    st, b, r = api.call("POST", "/api/v1/pacs", pacs, token=admin)
    check("create PACS: 201 with id", st == 201 and b["id"] > 0 and b["default_qr"] is True, b)
    P1 = b["id"]
    st, b, r = api.call("POST", "/api/v1/pacs", pacs, token=admin)
    check("duplicate label: 409", st == 409, b)
    st, b, r = api.call("POST", "/api/v1/pacs", dict(pacs, label="bad", port=70000), token=admin)
    check("bad port: 400 naming the field", st == 400 and "'port'" in b["error"], b)
    st, b, r = api.call("POST", "/api/v1/pacs", dict(pacs, label="limited", aet="ORTHLIM", port=OL), token=admin)
    P2 = b.get("id")
    check("second PACS takes the default flag", st == 201 and b["default_qr"] is True, b)
    st, b, r = api.call("GET", f"/api/v1/pacs/{P1}", token=admin)
    check("at most one default query/retrieve PACS", st == 200 and b["default_qr"] is False, b)
    st, b, r = api.call("POST", "/api/v1/pacs", {"label": "dead", "aet": "NOBODY", "host": "127.0.0.1",
                                                  "port": free_port(), "protocol": "dicomweb",
                                                  "url": "http://127.0.0.1:1/dicom-web", "password": "s3cret-pw"},
                        token=admin)
    P3 = b.get("id")
    check("DICOMweb PACS with credentials; password not returned", st == 201 and b["has_password"] is True and
          "s3cret-pw" not in json.dumps(b), b)
    st, b, r = api.call("PUT", f"/api/v1/pacs/{P3}", {"protocol": "dimse"}, token=admin)
    check("update PACS", st == 200 and b["protocol"] == "dimse" and b["label"] == "dead", b)
    st, b, r = api.call("POST", f"/api/v1/pacs/{P1}/ping", token=admin)
    check("ping Orthanc: C-ECHO ok", st == 200 and b["ok"] is True and isinstance(b["ms"], int), b)
    st, b, r = api.call("POST", f"/api/v1/pacs/{P3}/ping", token=admin)
    check("ping a dead PACS: ok false with the reason", st == 200 and b["ok"] is False and "connect" in b["error"], b)

    st, b, r = api.call("GET", f"/api/v1/pacs/{P1}/schedule", token=admin)
    check("default schedule: every day 00:00-24:00, 1 thread, 100 %",
          st == 200 and all(b["days"][d] == [{"start": "00:00", "end": "24:00", "threads": 1, "utilization": 100}]
                            for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")), b)
    overlap = {"timezone": "Europe/Berlin", "days": {"mon": [{"start": "08:00", "end": "12:00"},
                                                           {"start": "11:00", "end": "13:00"}]}}
    st, b, r = api.call("PUT", f"/api/v1/pacs/{P1}/schedule", overlap, token=admin)
    check("overlapping intervals refused", st == 400 and "overlap" in b["error"], b)
    good = {"timezone": "Europe/Berlin", "days": {d: [{"start": "00:00", "end": "24:00", "threads": 2}]
                                                  for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    good["days"]["sat"] = [{"start": "06:00", "end": "18:00", "threads": 4, "utilization": 10}]
    st, b, r = api.call("PUT", f"/api/v1/pacs/{P1}/schedule", good, token=admin)
    check("schedule saved with time zone", st == 200 and b["timezone"] == "Europe/Berlin" and
          b["schedule"]["days"]["sat"][0]["utilization"] == 10, b)

    # ---- projects and scripts ---------------------------------------------------
    st, b, r = api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Study one", "dqr_enabled": True,
                                                     "script": 'version "6.3"\n(0010,0010) := \n'}, token=admin)
    check("project with a broken script: 400 at line:column", st == 400 and b.get("line") == 2 and b.get("column"), b)
    st, b, r = api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Study one", "dqr_enabled": True,
                                                     "script": 'version "6.3"\n(0008,1030) := project\n'}, token=admin)
    check("project created, DQR enabled, script kept", st == 201 and b["dqr_enabled"] and b["has_script"], b)
    api.call("POST", "/api/v1/projects", {"id": "P2", "name": "Study two"}, token=admin)
    st, b, r = api.call("GET", "/api/v1/settings/site-script", token=admin)
    check("site script defaults to the Basic profile", st == 200 and b["uses_default"] is True, b)
    st, b, r = api.call("PUT", "/api/v1/settings/site-script", {"script": "version \"6.3\"\n-(0010,1000)\n"},
                        token=admin)
    check("site script set", st == 200 and b["uses_default"] is False, b)
    st, b, r = api.call("POST", "/api/v1/scripts/lint", {"script": 'version "6.3"\n-(0010,0010)\n', "with_site": True},
                        token=admin)
    tags = {u["tag"] for u in b.get("untouched", [])}
    check("lint with the site script: both scripts' removals count", st == 200 and "(0010,1000)" not in tags and
          "(0010,0010)" not in tags and "(0010,0020)" in tags, b)
    st, b, r = api.call("PUT", "/api/v1/settings/site-script", {"script": "not a script"}, token=admin)
    check("bad site script refused", st == 400 and "line" in b, b)
    st, b, r = api.call("POST", "/api/v1/scripts/lint", {"script": 'version "6.3"\n-(0010,0010)\n'}, token=admin)
    check("lint lists untouched Annex E attributes", st == 200 and
          any(u["tag"] == "(0010,0020)" for u in b["untouched"]) and
          not any(u["tag"] == "(0010,0010)" for u in b["untouched"]), b)

    # ---- users and permissions ---------------------------------------------------
    st, b, r = api.call("POST", "/api/v1/users", {"username": "alice", "password": "wonderland-42x", "role": "user"},
                        token=admin)
    alice_id = b.get("id")
    check("admin creates a user", st == 201 and b["role"] == "user" and b["phi"] is False, b)
    alice = api.login("alice", "wonderland-42x")
    st, b, r = api.call("GET", "/api/v1/pacs", token=alice)
    check("user without grants sees no PACS", st == 200 and b["pacs"] == [], b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "STUDY", "keys": {}}, token=alice)
    check("query on an ungranted PACS: 403", st == 403, b)
    st, b, r = api.call("POST", "/api/v1/pacs", dict(pacs, label="mine"), token=alice)
    check("user cannot create a PACS: 403", st == 403, b)
    st, b, r = api.call("GET", "/api/v1/users", token=alice)
    check("user cannot list users: 403", st == 403, b)
    st, b, r = api.call("PUT", f"/api/v1/users/{alice_id}/grants", {"pacs": [P1], "projects": ["P1"]}, token=admin)
    check("grant PACS and project", st == 200 and b == {"pacs": [P1], "projects": ["P1"]}, b)
    st, b, r = api.call("GET", "/api/v1/pacs", token=alice)
    check("user sees only the granted PACS", st == 200 and [p["id"] for p in b["pacs"]] == [P1], b)
    st, b, r = api.call("GET", f"/api/v1/pacs/{P2}", token=alice)
    check("another PACS stays hidden: 404", st == 404, b)
    st, b, r = api.call("GET", "/api/v1/projects", token=alice)
    check("user sees only the granted project", st == 200 and [p["id"] for p in b["projects"]] == ["P1"], b)

    # ---- query ----------------------------------------------------------------------
    first = ds[0]
    name_prefix = str(first.PatientName).split("^")[0][:12] + "*"
    expect_studies = sorted({d.StudyInstanceUID for d in ds if str(d.PatientName).startswith(name_prefix[:-1])})
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "STUDY",
                                                  "keys": {"PatientName": name_prefix}}, token=alice)
    got = sorted(x["StudyInstanceUID"] for x in b.get("results", []))
    check("STUDY query by patient name wildcard", st == 200 and got == expect_studies, (st, b))
    check("results keyed by DICOM keyword", st == 200 and "PatientName" in b["results"][0] and
          "StudyDate" in b["results"][0], b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "PATIENT", "keys": {"PatientID": ""}},
                        token=alice)
    check("PATIENT query", st == 200 and sorted(x["PatientID"] for x in b["results"]) == patients, b)
    dates = sorted({d.StudyDate for d in ds})
    lo, hi = dates[0], dates[len(dates) // 2]
    want = sorted({d.StudyInstanceUID for d in ds if lo <= d.StudyDate <= hi})
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "STUDY",
                                                  "keys": {"StudyDate": f"{lo}-{hi}"}}, token=alice)
    check("STUDY query by date range", st == 200 and sorted(x["StudyInstanceUID"] for x in b["results"]) == want,
          (lo, hi, b))
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "STUDY", "keys": {"Modality": "CT"},
                                                  "sort": "StudyDate", "order": "desc", "limit": 2}, token=alice)
    page1 = b
    check("paged: limit 2, total, next", st == 200 and len(b["results"]) == 2 and b["total"] == len(study_uids)
          and "next" in b, b)
    check("sorted by StudyDate descending",
          st == 200 and b["results"][0]["StudyDate"] >= b["results"][1]["StudyDate"], b)
    st, b, r = api.call("GET", page1["next"], token=alice)
    check("next page from the cached results", st == 200 and b["offset"] == 2 and len(b["results"]) == 2 and
          b["results"][0]["StudyInstanceUID"] not in [x["StudyInstanceUID"] for x in page1["results"]], b)
    st, b, r = api.call("GET", page1["next"], token=admin)
    check("another user cannot page someone's results", st == 404, b)
    uid = study_uids[0]
    series = {d.SeriesInstanceUID: 0 for d in ds if d.StudyInstanceUID == uid}
    for d in ds:
        if d.StudyInstanceUID == uid:
            series[d.SeriesInstanceUID] += 1
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "SERIES",
                                                  "keys": {"StudyInstanceUID": uid}}, token=alice)
    check("SERIES listing with instance counts", st == 200 and
          {x["SeriesInstanceUID"]: int(x["NumberOfSeriesRelatedInstances"]) for x in b["results"]} == series and
          all("SeriesNumber" in x and "Modality" in x and "SeriesDescription" in x for x in b["results"]), b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "SERIES", "keys": {}}, token=alice)
    check("SERIES without a study: 400", st == 400 and "StudyInstanceUID" in b["error"], b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "keys": {"PatientNam": "X"}}, token=alice)
    check("unknown key: 400 naming it", st == 400 and "PatientNam" in b["error"], b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P2, "level": "STUDY", "keys": {}}, token=admin)
    check("PACS result limit reported", st == 200 and b["truncated"] is True and "limit" in b.get("message", ""), b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P3, "level": "STUDY", "keys": {}}, token=admin)
    check("unreachable PACS: 502 with the reason", st == 502 and "connect" in b["error"], b)

    # ---- DICOMweb (QIDO-RS) ----------------------------------------------------------
    web = {"label": "orthanc-web", "aet": "ORTHANC", "host": "127.0.0.1", "port": OD, "protocol": "dicomweb",
           "url": f"http://127.0.0.1:{orthanc_http['orthanc']}/dicom-web/", "username": "dqrweb",
           "password": "web-pass"}
    st, b, r = api.call("POST", "/api/v1/pacs", web, token=admin)
    PW = b.get("id")
    check("DICOMweb PACS created", st == 201, b)
    st, b, r = api.call("POST", f"/api/v1/pacs/{PW}/ping", token=admin)
    check("ping a DICOMweb PACS (QIDO with basic auth)", st == 200 and b["ok"] is True, b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": PW, "level": "STUDY",
                                                  "keys": {"PatientName": name_prefix}}, token=admin)
    check("QIDO-RS STUDY query by patient name",
          st == 200 and sorted(x["StudyInstanceUID"] for x in b["results"]) == expect_studies and
          all(x["PatientName"].startswith(name_prefix[:-1]) for x in b["results"]), b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": PW, "level": "STUDY", "keys": {"StudyDate": f"{lo}-{hi}"}},
                        token=admin)
    check("QIDO-RS date range", st == 200 and sorted(x["StudyInstanceUID"] for x in b["results"]) == want, b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": PW, "level": "SERIES",
                                                  "keys": {"StudyInstanceUID": uid}}, token=admin)
    check("QIDO-RS SERIES listing with instance counts", st == 200 and
          {x["SeriesInstanceUID"]: int(x["NumberOfSeriesRelatedInstances"]) for x in b["results"]} == series, b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": PW, "level": "PATIENT", "keys": {}}, token=admin)
    check("QIDO-RS PATIENT level (one row per patient)",
          st == 200 and sorted(x["PatientID"] for x in b["results"]) == patients, b)
    st, b, r = api.call("PUT", f"/api/v1/pacs/{PW}", {"password": "wrong"}, token=admin)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": PW, "level": "STUDY", "keys": {}}, token=admin)
    check("DICOMweb wrong password: 502 saying so", st == 502 and "401" in b["error"], b)

    # ---- history -----------------------------------------------------------------------
    st, b, r = api.call("GET", "/api/v1/history/queries", token=alice)
    mine = b.get("queries", [])
    # five queries ran for alice above; requests refused before running (400, 403) are not history
    check("user sees only her own queries", st == 200 and len(mine) == 5 and all(q["user"] == "alice" for q in mine), b)
    st, b, r = api.call("GET", "/api/v1/history/queries", token=admin)
    check("admin sees everyone's", st == 200 and {q["user"] for q in b["queries"]} >= {"alice", "admin"}, b)
    check("history holds counts, not keys", "keys" not in json.dumps(b["queries"][0]) and
          "results" in b["queries"][0], b["queries"][0])
    qid = mine[-1]["id"]
    st, b, r = api.call("GET", f"/api/v1/history/queries/{qid}/keys", token=alice)
    check("original keys need the phi permission", st == 403, b)
    st, b, r = api.call("GET", f"/api/v1/history/queries/{qid}/keys", token=admin)
    check("admin with phi reads the original keys", st == 200 and b["keys"] == {"PatientName": name_prefix}, b)

    # ---- load: 200 concurrent queries ------------------------------------------------------
    def one(_):
        st, b, _ = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "STUDY", "keys": {"PatientID": "*"}},
                            token=alice)
        return st == 200 and b["total"] == len(study_uids)
    t0 = time.time()
    with concurrent.futures.ThreadPoolExecutor(200) as pool:
        results = list(pool.map(one, range(200)))
    check(f"200 concurrent queries all answered ({time.time() - t0:.1f} s)", all(results),
          f"{results.count(False)} failed")

    # ---- restart keeps state ---------------------------------------------------------------
    serve.send_signal(signal.SIGTERM)
    rc = serve.wait(30)
    check("SIGTERM: clean stop, exit 0", rc == 0, rc)
    serve = start_serve({"DQR_ADMIN_PASSWORD": "ignored-now-too", "DQR_QUERY_MAX_RESULTS": "3",
                         "DQR_UNREQUESTED": "quarantine"})
    wait_port(dicom_port)
    # from a registered PACS: any other calling AE is refused at association (tests/security/peers.py)
    p = subprocess.run([DQR, "store", "--aet", "ORTHANC", "--call", "DQR", "127.0.0.1", str(dicom_port), files[0]],
                       capture_output=True, text=True)
    q = glob.glob(WORK + "/var/quarantine/*.sealed")
    check("unrequested: quarantine keeps it sealed", p.returncode == 0 and len(q) == 1 and
          open(q[0]).read().startswith("v1:"), (p.stdout + p.stderr, q))
    check("restart: old token still valid", api.call("GET", "/api/v1/me", token=alice)[0] == 200)
    check("restart: first-start password only", api.login("admin", "gateway-secret-1") is not None and
          api.login("admin", "ignored-now-too") is None)
    st, b, r = api.call("GET", "/api/v1/pacs", token=admin)
    check("restart: PACS kept", st == 200 and len(b["pacs"]) == 4, b)
    st, b, r = api.call("GET", "/api/v1/history/queries?limit=1000", token=admin)
    check("restart: history kept", st == 200 and len(b["queries"]) >= 200, len(b.get("queries", [])))
    st, b, r = api.call("GET", f"/api/v1/pacs/{P1}/schedule", token=admin)
    check("restart: schedule kept", st == 200 and b["days"]["sat"][0]["threads"] == 4, b)
    st, b, r = api.call("POST", "/api/v1/query", {"pacs": P1, "level": "STUDY", "keys": {}}, token=alice)
    check("query_max_results cuts and says so", st == 200 and b["total"] == 3 and b["truncated"] and
          "query_max_results" in b["message"], b)
    st, b, r = api.call("PUT", f"/api/v1/users/{alice_id}", {"disabled": True}, token=admin)
    check("disabled user's token stops working", st == 200 and api.call("GET", "/api/v1/me", token=alice)[0] == 401)
    st, b, r = api.call("GET", "/metrics")
    check("metrics in Prometheus text", st == 200 and "dqr_queries_total" in b and "# TYPE" in b, b[:200])
    serve.send_signal(signal.SIGINT)
    check("SIGINT: clean stop", serve.wait(30) == 0)

    # ---- no PHI on disk -----------------------------------------------------------------------
    serve_log.flush()
    needles = canary_needles(canaries) + [name_prefix[:-1].encode(), b"web-pass"]
    hits = scan_for([WORK + "/var"] + [p for p in [os.environ.get("DQR_TEST_SCAN_ALSO")] if p], needles)
    log = open(WORK + "/serve.stderr", "rb").read()
    hits += [f"stderr: {x.decode()}" for x in needles if x in log]
    check("no query value in the catalog, WAL, logs or stderr", not hits and os.listdir(WORK + "/var"), hits[:5])
    check("vault key outside data_dir, mode 0600",
          oct(os.stat(WORK + "/keys/vault.key").st_mode & 0o777) == "0o600")

    # ---- first start without admin_password: generated, printed once ----------------------
    env2 = dict(env, DQR_DATA_DIR=WORK + "/var2", DQR_LOG_FILE="-")
    if env.get("DQR_CATALOG", "").startswith("postgresql:"):  # a fresh catalog too (postgres.sh made it)
        env2["DQR_CATALOG"] = env["DQR_CATALOG"] + "2"
    del env2["DQR_ADMIN_PASSWORD"]
    outs = []
    for _ in range(2):
        p = subprocess.Popen([DQR, "serve"], env=env2, stderr=subprocess.PIPE, text=True)
        procs.append(p)
        wait_port(http_port)
        lines = []
        for line in p.stderr:
            lines.append(line)
            if "serving http" in line:
                break
        pw = [l.split("password ")[1].strip() for l in lines if "created user admin with password" in l]
        outs.append((pw, pw and api.login("admin", pw[0]) is not None))
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=30)
    check("first start prints a generated admin password that works", outs[0][0] and outs[0][1], outs)
    check("second start prints no password", outs[1][0] == [], outs)
    hits = scan_for([WORK + "/var2"], [outs[0][0][0].encode()]) if outs[0][0] else ["no password"]
    check("the generated password is not on disk", not hits, hits)

    # ---- configuration errors -----------------------------------------------------------------
    open(WORK + "/bad.json", "w").write('{"http_port": 8080, "dicom_prot": 104}')
    p = subprocess.run([DQR, "serve", "--config", WORK + "/bad.json"], env=env, capture_output=True, text=True)
    check("bad config key: exit 2, one line naming it", p.returncode == 2 and "dicom_prot" in p.stderr and
          p.stderr.count("\n") == 1 and p.stderr.startswith("dqr: "), p.stderr)
finally:
    procs_.stop()

sys.exit(check.finish())
