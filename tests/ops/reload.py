#!/usr/bin/python3
"""`systemctl reload` of dqr.service is SIGHUP to `dqr serve`: the config file
is read again, a key that can change live takes effect at once
(password_min_length, seen on POST /users), a key bound to what was opened
at start (http_port) is logged as needing a restart and keeps its running
value, and a file that no longer loads leaves the server running on its
settings. Usage: reload.py DQR WORKDIR"""
import json
import os
import shutil
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, Procs, free_port, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
check, procs = Checks(), Procs()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
PW = "reload-test-pw-1"
port = free_port()
conf_path = WORK + "/dqr.json"
conf = {"data_dir": WORK + "/data", "http_port": port, "dicom_port": free_port(), "admin_password": PW,
        "vault_key_file": WORK + "/keys/vault.key", "uid_secret_file": WORK + "/keys/uid-secret",
        "log_file": "-", "password_min_length": 12}


def write_conf(text=None):
    with open(conf_path + ".tmp", "w") as f:
        f.write(text if text is not None else json.dumps(conf))
    os.replace(conf_path + ".tmp", conf_path)


def log_text():
    with open(WORK + "/serve.log") as f:
        return f.read()


def hup_and_wait(marker, secs=10):
    """SIGHUP the server; the log once the marker's count went up (else the log)."""
    before = log_text().count(marker)
    srv.send_signal(signal.SIGHUP)
    end = time.time() + secs
    while time.time() < end and srv.poll() is None:
        if log_text().count(marker) > before:
            return log_text()
        time.sleep(0.1)
    return log_text()


def add_user(name):
    st, b, _ = api.call("POST", "/api/v1/users", {"username": name, "password": "fifteen-chars-x", "role": "user"},
                        token=tok)
    return st, b


write_conf()
log = open(WORK + "/serve.log", "w")
srv = procs.start([DQR, "serve", "--config", conf_path], log)
try:
    if not check("serve starts", wait_port(port), log_text()):
        sys.exit(check.finish())
    api = Api(port)
    tok = api.login("admin", PW)
    check("admin logs in", tok)
    st, b = add_user("alice")
    check("a 15-character password passes the minimum of 12", st == 201, (st, b))

    conf["password_min_length"] = 20
    conf["http_port"] = free_port()
    write_conf()
    text = hup_and_wait("event=reload ")
    if not check("SIGHUP does not stop the server", srv.poll() is None, text[-2000:]):
        sys.exit(check.finish())
    check("the reload logs the applied key", "event=reload applied=password_min_length" in text, text[-2000:])
    check("the changed http_port is logged as needing a restart",
          "event=reload_needs_restart keys=http_port" in text and "needs a restart" in text, text[-2000:])
    st, b = add_user("bob")
    check("the new minimum of 20 applies without a restart", st == 400 and "20" in json.dumps(b), (st, b))
    st, _, _ = api.call("GET", "/api/v1/health")
    check("the server still answers on its running port", st == 200, st)

    write_conf('{"password_min_length": 12,')
    text = hup_and_wait("reload: ")
    check("a broken file is reported and the server keeps running",
          srv.poll() is None and "running settings unchanged" in text, text[-2000:])
    st, b = add_user("carol")
    check("the settings stay those last applied", st == 400, (st, b))

    procs.stop_one(srv)
    check("SIGTERM still stops it cleanly", srv.returncode == 0, srv.returncode)
finally:
    procs.stop()
sys.exit(check.finish())
