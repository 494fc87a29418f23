#!/usr/bin/python3
"""TLS and connection limits of `dqr serve` (issue #12, items 4 and 6).

HTTP: with http_tls_cert/http_tls_key the port answers HTTPS (curl --cacert)
and never answers plain HTTP; a half-set or unreadable TLS setting stops the
start with exit 2 and one line naming it. Exhaustion: connections above
http_max_per_address from one address are closed at once while another
loopback address (127.0.0.2) is still served, and half-sent requests are
closed after http_timeout_s so the UI answers again.
DICOM: a PACS with "tls" set (Orthanc with DicomTlsEnabled, requiring client
certificates) is pinged, queried and retrieved from (C-GET, and C-MOVE into a
receiver that speaks TLS only and requires client certificates); with a
wrong CA, no CA (system trust store), no client certificate or plain DICOM
the ping fails with a clear error.
Usage: tls.py DQR WORKDIR"""
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, Procs, free_port, generate, start_orthanc, wait_port  # noqa: E402

DQR, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
os.chdir(WORK)


def sh(*argv):
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certs():
    """A CA, a server certificate for localhost/127.0.0.1 signed by it, a
    client certificate, and an unrelated CA."""
    for ca in ("ca", "other"):
        sh("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", ca + ".key", "-out", ca + ".crt",
           "-subj", "/CN=dqr-test-" + ca, "-days", "2")
    open("ext.cnf", "w").write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        sh("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
           "-subj", "/CN=" + ("localhost" if name == "server" else "dqr-client"))
        sh("openssl", "x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
           "-out", name + ".crt", "-days", "2", "-extfile", "ext.cnf")
        os.chmod(name + ".key", 0o600)


make_certs()
base_env = dict(os.environ, DQR_DATA_DIR=WORK + "/var", DQR_VAULT_KEY_FILE=WORK + "/keys/vault.key",
                DQR_UID_SECRET_FILE=WORK + "/keys/uid-secret", DQR_ADMIN_PASSWORD="gateway-secret-1",
                HOME=WORK + "/home")


def serve_env(**kw):
    return dict(base_env, **{"DQR_" + k.upper(): str(v) for k, v in kw.items()})


def start_serve(log, **kw):
    port = free_port()
    kw.setdefault("dicom_port", free_port())
    p = procs.start([DQR, "serve"], open(log, "w"), serve_env(http_port=port, **kw))
    return p, port, wait_port(port)


def refused_start(name, expect, **kw):
    """dqr serve stops at once with exit 2 and one line naming expect."""
    p = subprocess.Popen([DQR, "serve"], env=serve_env(http_port=free_port(), dicom_port=free_port(), **kw),
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, err = p.communicate(timeout=15)
    except subprocess.TimeoutExpired:  # it started anyway
        procs.stop_one(p)
        _, err = p.communicate()
    lines = [line for line in err.splitlines() if line.startswith("dqr: ")]  # the rest is the log
    check(name, p.returncode == 2 and len(lines) == 1 and expect in lines[0], f"rc={p.returncode} stderr={err!r}")


def curl(*args):
    return subprocess.run(["curl", "-sS", "--max-time", "10", "-o", "-", "-w", "\n%{http_code}"] + list(args),
                          capture_output=True, text=True)


def plain_http_answer(port):
    """What the port answers to a plain HTTP request (b'' if nothing)."""
    s = socket.create_connection(("127.0.0.1", port), 5)
    s.settimeout(5)
    s.sendall(b"GET /api/v1/health HTTP/1.1\r\nHost: localhost\r\n\r\n")
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    s.close()
    return data


def https_checks():
    refused_start("only http_tls_cert set: exit 2 naming http_tls_key", "http_tls_key", http_tls_cert="server.crt")
    refused_start("only http_tls_key set: exit 2 naming http_tls_cert", "http_tls_cert", http_tls_key="server.key")
    refused_start("unreadable certificate: exit 2 naming the file", "missing.crt", http_tls_cert="missing.crt",
                  http_tls_key="server.key")
    refused_start("receiver with tls_cert but no tls_key: exit 2", "tls_key",
                  receivers=f"DQRTLS@{free_port()};tls_cert={WORK}/server.crt")
    refused_start("dicom_tls_cert unreadable: exit 2 naming it", "nothere.crt",
                  dicom_tls_cert=WORK + "/nothere.crt", dicom_tls_key=WORK + "/server.key")
    shutil.copy("server.key", "open.key")
    os.chmod("open.key", 0o644)
    refused_start("world-readable key refused: exit 2 naming it", "open.key", http_tls_cert="server.crt",
                  http_tls_key="open.key")
    p, port, up = start_serve(WORK + "/https.log", http_tls_cert="server.crt", http_tls_key="server.key")
    check("dqr serve with http_tls_* starts", up)
    r = curl("--cacert", "ca.crt", f"https://localhost:{port}/api/v1/health")
    check("HTTPS answers (curl --cacert)", r.stdout.endswith("\n200") and '"status":"ok"' in r.stdout,
          r.stdout + r.stderr)
    r = curl("--cacert", "ca.crt", "--tlsv1.1", "--tls-max", "1.1", f"https://localhost:{port}/api/v1/health")
    check("TLS 1.1 is refused (1.2 or later only)", r.returncode != 0 and "200" not in r.stdout, r.stdout + r.stderr)
    r = curl("--cacert", "other.crt", f"https://localhost:{port}/api/v1/health")
    check("HTTPS with another CA: curl refuses the certificate", r.returncode != 0 and "200" not in r.stdout,
          r.stdout + r.stderr)
    answer = plain_http_answer(port)
    check("plain HTTP to the HTTPS port is not served", b"HTTP/1." not in answer and b"status" not in answer,
          answer[:200])
    r = curl("--cacert", "ca.crt", f"https://localhost:{port}/api/v1/health")
    check("HTTPS still answers after the plain request", r.stdout.endswith("\n200"), r.stdout + r.stderr)
    procs.stop_one(p)


def half_request(src, port):
    """A connection from src that sends half a request and stays open."""
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(3)
    s.connect(("127.0.0.1", port))
    s.sendall(b"POST /api/v1/login HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"user")
    return s


def closed_by_server(s, secs):
    """True if the server closes s (EOF or reset) within secs, without an HTTP answer."""
    s.settimeout(secs)
    try:
        data = s.recv(4096)
        return data == b"" or not data.startswith(b"HTTP/")
    except socket.timeout:
        return False
    except OSError:
        return True


def health_from(src, port, secs=3):
    s = socket.socket()
    s.bind((src, 0))
    s.settimeout(secs)
    try:
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /api/v1/health HTTP/1.0\r\n\r\n")
        data = s.recv(4096)
    except OSError:
        data = b""
    s.close()
    return data.startswith(b"HTTP/1.") and b" 200 " in data.split(b"\r\n", 1)[0]


def exhaustion_checks():
    limit, timeout = 8, 3
    p, port, up = start_serve(WORK + "/limits.log", http_max_per_address=limit, http_timeout_s=timeout)
    check("dqr serve with http_max_per_address and http_timeout_s starts", up)
    # The start-up health polls' connections count until their threads end:
    # let them go first, or one of them takes a slot (seen under CI load).
    time.sleep(1)
    held = [half_request("127.0.0.1", port) for _ in range(limit)]
    time.sleep(0.5)
    extra = half_request("127.0.0.1", port)
    t0 = time.time()
    check(f"connection {limit + 1} from one address is closed at once", closed_by_server(extra, 2)
          and time.time() - t0 < 2)
    extra.close()
    check("127.0.0.2 is served while 127.0.0.1 is at its limit", health_from("127.0.0.2", port))
    t0 = time.time()
    closed = all(closed_by_server(s, timeout + 2) for s in held)
    check(f"half-sent requests closed after http_timeout_s ({timeout} s)", closed and time.time() - t0 < timeout + 2,
          f"{time.time() - t0:.1f} s")
    for s in held:
        s.close()
    end = time.time() + 2  # the closed connections' threads end
    while not health_from("127.0.0.1", port) and time.time() < end:
        time.sleep(0.1)
    check("the UI answers 127.0.0.1 again", time.time() < end)
    procs.stop_one(p)

    # The attack, on the defaults: 520 half-sent requests from one
    # address no longer lock out another one.
    p, port, up = start_serve(WORK + "/defaults.log")
    held = []
    for _ in range(520):
        try:
            held.append(half_request("127.0.0.1", port))
        except OSError:
            break
    time.sleep(0.5)
    t0 = time.time()
    check("520 half-sent requests from 127.0.0.1: 127.0.0.2 answered within 2 s",
          health_from("127.0.0.2", port, 2) and time.time() - t0 < 2)
    for s in held:
        s.close()
    procs.stop_one(p)



def dicom_checks():
    """dqr serve towards an Orthanc that speaks DICOM TLS only and requires a
    client certificate: ping, query and a C-GET import over TLS; a wrong CA,
    a missing client certificate, or plain DICOM fail with clear errors."""
    studies = WORK + "/studies"
    generate(ROOT, studies, "--patients", "1", "--studies", "1", "--series", "1", "--instances", "3",
             "--rows", "8", "--cols", "8")
    tls = {"DicomTlsEnabled": True, "DicomTlsCertificate": WORK + "/server.crt",
           "DicomTlsPrivateKey": WORK + "/server.key", "DicomTlsTrustedCertificates": WORK + "/ca.crt",
           "DicomTlsRemoteCertificateRequired": True, "DicomAlwaysAllowGet": True, "DicomAlwaysAllowFind": True, "DicomAlwaysAllowMove": True,
           "DicomAlwaysAllowEcho": True, "DicomAlwaysAllowStore": True}
    rx = free_port()  # dqr's TLS receiver, which the Orthanc calls for C-MOVE with its certificate
    od, _ = start_orthanc(procs, WORK, "orthanc", "ORTHTLS",
                          {"dqrtls": {"AET": "DQRTLS", "Host": "127.0.0.1", "Port": rx, "UseDicomTls": True}}, tls)
    if not check("Orthanc with DICOM TLS starts", wait_port(od)):
        return
    files = [os.path.join(d, f) for d, _, fs in os.walk(studies) for f in fs if f.endswith(".dcm")]
    r = subprocess.run([DQR, "store", "--call", "ORTHTLS", "--tls", "--tls-ca", "ca.crt", "--tls-cert", "client.crt",
                        "--tls-key", "client.key", "localhost", str(od)] + files, capture_output=True, text=True)
    check("dqr store --tls loads Orthanc over TLS", r.returncode == 0, r.stderr)
    main_rx = free_port()  # the main receiver speaks TLS too, without asking for client certificates
    p, port, up = start_serve(WORK + "/dicom.log", receivers=f"DQRTLS@127.0.0.1:{rx};tls_cert={WORK}/server.crt;"
                              f"tls_key={WORK}/server.key;tls_ca={WORK}/ca.crt", dicom_port=main_rx,
                              dicom_tls_cert=WORK + "/server.crt", dicom_tls_key=WORK + "/server.key")
    check("dqr serve starts with TLS receivers", up and wait_port(rx) and wait_port(main_rx))
    api = Api(port)
    tok = api.login("admin", "gateway-secret-1")
    base = {"aet": "ORTHTLS", "host": "localhost", "port": od, "retrieve": "get"}
    good = dict(base, label="tls-ok", tls=True, tls_ca=WORK + "/ca.crt", tls_cert=WORK + "/client.crt",
                tls_key=WORK + "/client.key")
    st, b, _ = api.call("POST", "/api/v1/pacs", good, token=tok)
    check("POST /pacs with tls, tls_ca, tls_cert, tls_key: 201 and the fields back",
          st == 201 and b.get("tls") is True and b.get("tls_ca") == WORK + "/ca.crt", b)
    pid = b.get("id")
    st, b, _ = api.call("POST", f"/api/v1/pacs/{pid}/ping", token=tok)
    check("ping over DICOM TLS (certificate verified, client certificate presented)", st == 200 and b.get("ok"), b)
    st, b, _ = api.call("POST", "/api/v1/query", {"pacs": pid, "level": "STUDY", "keys": {"PatientName": "*"}},
                        token=tok)
    res = b.get("results", []) if isinstance(b, dict) else []
    check("query over DICOM TLS finds the study", st == 200 and len(res) == 1, b)
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "TLS", "dqr_enabled": True}, token=tok)
    if res:
        st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": pid, "project": "P1", "studies": [
            {"StudyInstanceUID": res[0]["StudyInstanceUID"], "subject": "S01", "session": "S01_MR1"}]}, token=tok)
        b = api.wait_import(tok, b.get("id"))
        check("C-GET import over DICOM TLS: done, 3 archived", b.get("state") == "done" and b.get("archived") == 3, b)

        st, b, _ = api.call("POST", "/api/v1/pacs", dict(good, label="tls-move", retrieve="move",
                                                         receiver_aet="DQRTLS"), token=tok)
        # the same study again, so the same patient: its label (the project enforces its registry), another session
        st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": b.get("id"), "project": "P1", "studies": [
            {"StudyInstanceUID": res[0]["StudyInstanceUID"], "subject": "S01", "session": "S01_MR2"}]}, token=tok)
        b = api.wait_import(tok, b.get("id"))
        check("C-MOVE import: query over TLS, the PACS sends to the TLS receiver with its client certificate",
              b.get("state") == "done" and b.get("archived") == 3, b)

    def echo_rx(*args, call="DQRTLS", port=rx):  # the registered PACS's AE title, so an AE allow-list lets it in
        return subprocess.run([DQR, "echo", "--aet", "ORTHTLS", "--call", call, *args, "127.0.0.1", str(port)],
                              capture_output=True, text=True)
    r = echo_rx("--tls", "--tls-ca", "ca.crt", call="DQR", port=main_rx)
    check("main receiver with dicom_tls_cert: TLS association accepted", r.returncode == 0, r.stderr)
    r = echo_rx(call="DQR", port=main_rx)
    check("main receiver with dicom_tls_cert: plain DICOM refused", r.returncode == 1, r.stderr)
    r = echo_rx()
    check("plain DICOM to the TLS receiver: refused", r.returncode == 1, r.stderr)
    r = echo_rx("--tls", "--tls-ca", "ca.crt")
    check("TLS receiver with tls_ca: no client certificate, refused", r.returncode == 1, r.stderr)
    r = echo_rx("--tls", "--tls-ca", "ca.crt", "--tls-cert", "client.crt", "--tls-key", "client.key")
    check("TLS receiver: client certificate from tls_ca accepted", r.returncode == 0, r.stderr)

    def ping(label, **fields):
        st, b, _ = api.call("POST", "/api/v1/pacs", dict(base, label=label, **fields), token=tok)
        if st != 201:
            return {"error": f"create {st}: {b}"}
        return api.call("POST", f"/api/v1/pacs/{b['id']}/ping", token=tok)[1]

    b = ping("wrong-ca", tls=True, tls_ca=WORK + "/other.crt", tls_cert=WORK + "/client.crt",
             tls_key=WORK + "/client.key")
    check("wrong CA: ping fails naming the untrusted certificate",
          b.get("ok") is False and "TLS: the peer's certificate is not trusted" in b.get("error", ""), b)
    b = ping("system-store", tls=True, tls_cert=WORK + "/client.crt", tls_key=WORK + "/client.key")
    check("no tls_ca: verified against the system trust store, refused",
          b.get("ok") is False and "not trusted" in b.get("error", ""), b)
    b = ping("no-client-cert", tls=True, tls_ca=WORK + "/ca.crt")
    check("no client certificate: the PACS refuses, ping fails", b.get("ok") is False and b.get("error"), b)
    b = ping("plain", tls=False)
    check("plain DICOM to the TLS port: ping fails", b.get("ok") is False, b)
    st, b, _ = api.call("POST", "/api/v1/pacs", dict(base, label="missing", tls=True, tls_ca=WORK + "/none.crt"),
                        token=tok)
    check("a tls_ca dqr cannot read: 400 naming it", st == 400 and "tls_ca" in b.get("error", ""), b)
    st, b, _ = api.call("POST", "/api/v1/pacs", dict(base, label="half", tls=True, tls_cert=WORK + "/client.crt"),
                        token=tok)
    check("tls_cert without tls_key: 400", st == 400 and "tls_key" in b.get("error", ""), b)
    st, b, _ = api.call("PUT", f"/api/v1/pacs/{pid}", {"tls_ca": WORK + "/other.crt"}, token=tok)
    st, b, _ = api.call("POST", f"/api/v1/pacs/{pid}/ping", token=tok)
    check("PUT tls_ca to another CA: the next ping is refused", b.get("ok") is False and "not trusted" in
          b.get("error", ""), b)
    st, b, _ = api.call("PUT", f"/api/v1/pacs/{pid}", {"tls": False, "tls_ca": None, "tls_cert": None,
                                                      "tls_key": None}, token=tok)
    check("PUT as the admin form sends it (tls off, files null): 200, fields cleared",
          st == 200 and b.get("tls") is False and b.get("tls_ca") is None, b)
    procs.stop_one(p)


try:
    https_checks()
    exhaustion_checks()
    dicom_checks()
finally:
    procs.stop()
sys.exit(check.finish())
