"""Shared by the gateway tests: result lines, free ports, the REST client,
and real PACS peers (Orthanc, DCMTK dcmqrscp) and `dqr serve`, each started
on free localhost ports and stopped by the process handle."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def __call__(self, name, cond, detail=""):
        if cond:
            self.passed += 1
            print("ok   " + name)
        else:
            self.failed += 1
            print("FAIL " + name + (": " + str(detail)[:600] if detail else ""))
        sys.stdout.flush()
        return cond

    def finish(self):
        print(f"{self.passed} passed, {self.failed} failed")
        return 1 if self.failed or not self.passed else 0


PORTS = os.path.join(tempfile.gettempdir(), "dqr-test-ports")  # one file per port handed out


def free_port():
    """A localhost port free now and handed to no other test in the last 15 minutes. Between this
    and the bind another test could be given the same port by the kernel (security_audit once
    found Orthanc on its dqr serve's port), so each port is also reserved by a file that only one
    process can create; the reservation outlives a restart on the same port."""
    os.makedirs(PORTS, exist_ok=True)
    try:
        os.chmod(PORTS, 0o1777)  # tests run as root and as other users
    except OSError:
        pass
    for _ in range(100):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        p = s.getsockname()[1]
        s.close()
        mark = os.path.join(PORTS, str(p))
        try:
            if time.time() - os.path.getmtime(mark) > 900:
                os.unlink(mark)
        except OSError:
            pass
        try:
            os.close(os.open(mark, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return p
        except FileExistsError:
            continue
    return p


def answers(port):
    """Whether something listens on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.2).close()
        return True
    except OSError:
        return False


def wait_port(port, secs=20):
    end = time.time() + secs
    while time.time() < end:
        if answers(port):
            return True
        time.sleep(0.05)
    return False


def serve_env(work, admin_password, http_port, dicom_port, **extra):
    """The environment of a `dqr serve` under test: its data, keys and HOME
    under work, its two ports, the bootstrap password, and extra settings."""
    return dict(os.environ, DQR_DATA_DIR=work + "/var", DQR_VAULT_KEY_FILE=work + "/keys/vault.key",
                DQR_UID_SECRET_FILE=work + "/keys/uid-secret", DQR_HTTP_PORT=str(http_port),
                DQR_DICOM_PORT=str(dicom_port), DQR_ADMIN_PASSWORD=admin_password, HOME=work + "/home", **extra)


class Api:
    def __init__(self, port):
        self.port = port

    def call(self, method, path, body=None, token=None, raw=None, headers=None, binary=False):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        h = dict(headers or {})
        if token:
            h["Authorization"] = "Bearer " + token
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        if data is not None:
            h["Content-Type"] = "application/json"
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        data = r.read()
        c.close()
        if binary:
            return r.status, data, r
        text = data.decode()
        try:
            return r.status, json.loads(text), r
        except ValueError:
            return r.status, text, r

    def login(self, user, pw):
        st, b, _ = self.call("POST", "/api/v1/login", {"username": user, "password": pw})
        return b.get("token") if st == 200 else None

    ENDED = ("done", "partial", "failed", "cancelled")

    def wait_import(self, token, iid, states=ENDED, secs=90, every=0.3):
        """The import iid once its state is one of states (else the last
        answer, after secs)."""
        end, b = time.time() + secs, {}
        while time.time() < end:
            st, b, _ = self.call("GET", f"/api/v1/imports/{iid}", token=token)
            if st == 200 and b.get("state") in states:
                return b
            time.sleep(every)
        return b


class Procs:
    """Processes this test started; stop() ends them all."""

    def __init__(self):
        self.list = []

    def start(self, argv, log, env=None):
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env)
        self.list.append(p)
        return p

    @staticmethod
    def stop_one(p, sig=signal.SIGTERM):
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    def stop(self):
        for p in self.list:
            self.stop_one(p)


class Throttle:
    """Slows a peer down: from a thread, stops the process (SIGSTOP) for
    stop_ms of every run_ms + stop_ms. A transfer from it then takes some
    times longer whatever the machine's speed, so a test can act in its
    middle (a loaded machine once let 1,800 instances from Orthanc finish
    between two polls). stop() lets it run freely again; call it before
    killing the process."""

    def __init__(self, proc, run_ms=20, stop_ms=80):
        self.proc, self.run_s, self.stop_s = proc, run_ms / 1000, stop_ms / 1000
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _signal(self, sig):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def _loop(self):
        while not self.done.wait(self.run_s):
            self._signal(signal.SIGSTOP)
            self.done.wait(self.stop_s)
            self._signal(signal.SIGCONT)

    def stop(self):
        self.done.set()
        self.thread.join()
        self._signal(signal.SIGCONT)


def start_quirky(procs, binary, work, aet, folder, dests, *flags):
    """tests/net/quirky_scp serving folder as aet, sending C-MOVEs to dests ({AET: port} on localhost),
    its stats in work/AET.stats (quirky_stats) and its log in work/AET.log; its port."""
    port = free_port()
    argv = [binary, "--port", str(port), "--aet", aet, "--dir", folder, "--stats", f"{work}/{aet}.stats"]
    for dest, dest_port in dests.items():
        argv += ["--dest", f"{dest}=127.0.0.1:{dest_port}"]
    procs.start(argv + list(flags), open(f"{work}/{aet}.log", "w"))
    return port


def quirky_stats(work, aet):
    """What quirky_scp aet last wrote to its stats file: {"max": "2", "assocs": ..., "spans": ...}."""
    out = {}
    for line in open(f"{work}/{aet}.stats"):
        k, _, v = line.strip().partition(" ")
        out[k] = v
    return out


def every_day(intervals, timezone="UTC"):
    """A PACS schedule with the same intervals every day of the week."""
    return {"timezone": timezone, "days": {d: intervals for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}


def all_day(threads, utilization=100):
    """A PACS schedule open around the clock with threads and utilization."""
    return every_day([{"start": "00:00", "end": "24:00", "threads": threads, "utilization": utilization}])


def start_orthanc(procs, work, name, aet, modalities, extra=None):
    """Orthanc with its own storage; modalities: {"name": [AET, host, port]}. Returns (dicom, http) ports,
    once both answer. A port free_port gave can be taken by a parallel test before Orthanc binds it; Orthanc
    then exits, and is started again on new ports."""
    os.makedirs(f"{work}/{name}-db", exist_ok=True)
    for _ in range(4):
        od, oh = free_port(), free_port()
        cfg = {"Name": name, "StorageDirectory": f"{work}/{name}-db", "IndexDirectory": f"{work}/{name}-db",
               "DicomAet": aet, "DicomPort": od, "HttpPort": oh, "RemoteAccessAllowed": False,
               "DicomCheckCalledAet": True, "DicomThreadsCount": 8, "Plugins": [], "DicomModalities": modalities}
        cfg.update(extra or {})
        json.dump(cfg, open(f"{work}/{name}.json", "w"))
        log = f"{work}/{name}.log"
        seen = os.path.getsize(log) if os.path.exists(log) else 0
        p = procs.start(["Orthanc", f"{work}/{name}.json"], open(log, "a"))
        end = time.time() + 60
        while p.poll() is None and time.time() < end and not started(log, seen):
            time.sleep(0.1)
        if p.poll() is None:
            return od, oh
    return od, oh


def started(log, offset):
    """Whether Orthanc has written, past offset in its log, that it has started (both servers listening)."""
    with open(log, "rb") as f:
        f.seek(offset)
        return b"Orthanc has started" in f.read()


def start_dcmqrscp(procs, work, aet, hosts):
    """DCMTK dcmqrscp with a writable storage area; hosts: {"name": (AET, port)}. Returns its port."""
    port = free_port()
    os.makedirs(f"{work}/{aet}-db", exist_ok=True)
    table = "\n".join(f"{n} = ({a}, 127.0.0.1, {p})" for n, (a, p) in hosts.items())
    open(f"{work}/{aet}.cfg", "w").write(
        f"NetworkTCPPort = {port}\nMaxPDUSize = 16384\nMaxAssociations = 16\n"
        f"HostTable BEGIN\n{table}\nHostTable END\nVendorTable BEGIN\nVendorTable END\n"
        f"AETable BEGIN\n{aet} {work}/{aet}-db RW (2000, 1024mb) ANY\nAETable END\n")
    procs.start(["dcmqrscp", "-c", f"{work}/{aet}.cfg"], open(f"{work}/{aet}.log", "w"))
    return port


def dqr_store(dqr, aet, port, path):
    subprocess.run([dqr, "store", "--call", aet, "127.0.0.1", str(port), path], check=True,
                   stdout=subprocess.DEVNULL)


def generate(root, out, *args):
    """The project's generator of studies with planted canaries; returns the canary strings."""
    subprocess.run(["/usr/bin/python3", root + "/tools/gen_studies.py", out] + list(args), check=True,
                   stdout=subprocess.DEVNULL)
    canaries = [c["canary"] for c in json.load(open(out + "/manifest.json"))["canaries"]]
    os.remove(out + "/manifest.json")
    return canaries


def canary_needles(canaries):
    """What to grep for: every canary starts with DQRC (tools/gen_studies.py),
    so the prefix finds them all; any other canary is added as it is."""
    return [b"DQRC"] + sorted({c.encode() for c in canaries if not c.startswith("DQRC")})


def scan_for(paths, needles):
    """Every byte of every file under paths: which needles occur where."""
    hits = []
    for top in paths:
        for root, _, names in os.walk(top):
            for n in names:
                try:
                    data = open(os.path.join(root, n), "rb").read()
                except OSError:
                    continue
                hits += [f"{os.path.join(root, n)}: {x.decode(errors='replace')}" for x in needles if x in data]
    return hits
