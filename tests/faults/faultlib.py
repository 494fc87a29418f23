"""Shared by the fault tests (tests/faults): an Orthanc loaded with generated
studies, a `dqr serve` on free ports that can be started, stopped, killed
and restarted on the same data, its PACS and project set up, imports, and
`dqr fsck --json` on its data dir."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Procs, dqr_store, free_port, generate, serve_env, start_orthanc, wait_port  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PASSWORD = "gateway-secret-1"


def study_uids(folder):
    """StudyInstanceUID -> instance count of the generated files (pydicom)."""
    return {u: n for u, (n, _) in study_patients(folder).items()}


def study_patients(folder):
    """StudyInstanceUID -> (instance count, patient number) of the generated files."""
    import pydicom
    out, patients = {}, {}
    for f in sorted(glob.glob(folder + "/**/*.dcm", recursive=True)):
        ds = pydicom.dcmread(f, stop_before_pixels=True)
        p = patients.setdefault(ds.PatientID, len(patients))
        n, _ = out.get(ds.StudyInstanceUID, (0, p))
        out[ds.StudyInstanceUID] = (n + 1, p)
    return out


class Rig:
    """One Orthanc and one dqr serve (stopped and started again at will)."""

    def __init__(self, dqr, work, gen_args, extra_env=None):
        self.dqr, self.work = dqr, os.path.abspath(work)
        shutil.rmtree(self.work, ignore_errors=True)
        os.makedirs(self.work)
        self.procs = Procs()
        self.http, self.dicom = free_port(), free_port()
        studies = self.work + "/studies"
        generate(ROOT, studies, *gen_args)
        found = study_patients(studies)
        self.studies = {u: n for u, (n, _) in found.items()}
        self.patient = {u: p for u, (_, p) in found.items()}  # one subject label per patient, as a site keeps
        self.od, self.oh = start_orthanc(self.procs, self.work, "orthanc", "ORTHANC",
                                         {"dqr": ["DQR", "127.0.0.1", self.dicom]})
        self.orthanc = self.procs.list[-1]
        if not wait_port(self.od):
            raise RuntimeError("Orthanc did not start")
        dqr_store(dqr, "ORTHANC", self.od, studies)
        settings = dict({"DQR_IMPORT_POLL_SECONDS": "1", "DQR_IMPORT_RETRY_SECONDS": "1",
                         "DQR_IMPORT_MAX_ATTEMPTS": "3"}, **(extra_env or {}))
        self.env = serve_env(self.work, PASSWORD, self.http, self.dicom, **settings)
        self.log = open(self.work + "/serve.stderr", "ab")
        self.api = Api(self.http)
        self.serve = None
        self.token = None

    @property
    def data(self):
        return self.work + "/var"

    def start(self, env=None):
        e = dict(self.env, **(env or {}))
        self.serve = self.procs.start([self.dqr, "serve"], self.log, e)
        if not (wait_port(self.http) and wait_port(self.dicom)):
            raise RuntimeError("dqr serve did not start (see serve.stderr)")
        self.token = self.api.login("admin", PASSWORD)
        return self.serve

    def stop(self):
        if self.serve:
            Procs.stop_one(self.serve)
            self.serve = None

    def kill(self):
        if self.serve:
            self.serve.send_signal(signal.SIGKILL)
            self.serve.wait()
            self.serve = None

    def kill_orthanc(self):
        self.orthanc.send_signal(signal.SIGKILL)
        self.orthanc.wait()

    def start_orthanc(self):
        """Orthanc again on its storage and ports (after kill_orthanc)."""
        self.orthanc = self.procs.start(["Orthanc", self.work + "/orthanc.json"], open(self.work + "/orthanc.log", "a"))
        return wait_port(self.od)

    def session(self, iid):
        st, b, _ = self.call("GET", f"/api/v1/imports/{iid}")
        return b if st == 200 else {}

    def call(self, method, path, body=None):
        return self.api.call(method, path, body, token=self.token)

    def setup(self):
        """The PACS and project P1 (once, on a running serve)."""
        st, b, _ = self.call("POST", "/api/v1/pacs", {"label": "orthanc", "aet": "ORTHANC", "host": "127.0.0.1",
                                                      "port": self.od, "default_qr": True})
        self.pacs = b["id"]
        self.call("POST", "/api/v1/projects", {"id": "P1", "name": "Faults", "dqr_enabled": True,
                                               "script": 'version "6.3"\n(0008,1030) := "P1 study"\n'})

    def request(self, uids, prefix="S", serve=None):
        """POST /imports of the studies uids as sessions prefixN_MR of subjects PT<patient> (a patient
        keeps one label: the pseudonym registry refuses another); the request id. serve, an
        (Api, token) pair, sends it to another dqr serve on a copy of this one's setup."""
        api, token = serve or (self.api, self.token)
        studies = [{"StudyInstanceUID": u, "subject": f"PT{self.patient[u]:03d}", "session": f"{prefix}{i:03d}_MR"}
                   for i, u in enumerate(uids)]
        st, b, _ = api.call("POST", "/api/v1/imports", {"pacs": self.pacs, "project": "P1", "studies": studies},
                            token=token)
        if st != 201:
            raise RuntimeError(f"import request refused: {st} {b}")
        return b["id"]

    def wait(self, iid, secs=90, serve=None):
        api, token = serve or (self.api, self.token)
        return api.wait_import(token, iid, secs=secs)

    def add_modality(self, name, aet, port):
        """Tell Orthanc (REST) where another receiver is (a second node, a twin serve)."""
        st, b, _ = Api(self.oh).call("PUT", f"/modalities/{name}", {"AET": aet, "Host": "127.0.0.1", "Port": port})
        if st != 200:
            raise RuntimeError(f"Orthanc refused the modality {name}: {st} {b}")

    def fsck(self, *args):
        """dqr fsck --json on the rig's settings: (exit code, report)."""
        p = subprocess.run([self.dqr, "fsck", "--json", *args], env=self.env, capture_output=True, text=True)
        try:
            return p.returncode, json.loads(p.stdout)
        except ValueError:
            return p.returncode, {"stdout": p.stdout, "stderr": p.stderr}

    def archive_files(self):
        return sorted(glob.glob(self.data + "/archive/**/*", recursive=True))

    def close(self):
        self.procs.stop()


class Postgres:
    """A throwaway PostgreSQL cluster on a free port (Debian's packages), as
    the postgres user when run as root; restart() stops it (immediate: as a
    crash) and starts it again on the same port."""

    def __init__(self, work):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins or not os.path.exists(bins[-1] + "/initdb"):
            raise RuntimeError("PostgreSQL is not installed")
        self.bin, self.port = bins[-1], free_port()
        self.root = os.getuid() == 0
        self.dir = tempfile.mkdtemp(prefix="dqr-faults-pg.") if self.root else work + "/pg"
        if self.root:
            shutil.chown(self.dir, "postgres")
        self.run("initdb", "-D", self.dir + "/data", "-U", "dqr", "--auth=trust", "-E", "UTF8")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "dqr", "dqr")
        self.url = f"postgresql://dqr@127.0.0.1:{self.port}/dqr"

    def run(self, tool, *args):
        argv = [self.bin + "/" + tool, *args]
        if self.root:
            argv = ["runuser", "-u", "postgres", "--"] + argv
        subprocess.run(argv, check=True, cwd="/", stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self):
        self.run("pg_ctl", "-D", self.dir + "/data", "-l", self.dir + "/log", "-w", "-o",
                 f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1", "start")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", self.dir + "/data", "-m", mode, "-w", "stop")

    def psql(self, sql, capture=False):
        """sql run by psql on the database dqr (its output with capture)."""
        argv = [self.bin + "/psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "dqr", "-d", "dqr", "-q", "-At",
                "-v", "ON_ERROR_STOP=1"]
        p = subprocess.run(argv, input=sql, text=True, check=True, cwd="/", capture_output=True)
        return p.stdout if capture else None

    def restart(self):
        self.stop("immediate")
        self.start()

    def close(self):
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        if self.root:
            shutil.rmtree(self.dir, ignore_errors=True)
