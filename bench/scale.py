#!/usr/bin/python3
"""The archive's catalog as it grows (bench/scale.sh runs this): a `dqr serve`
on SQLite or PostgreSQL whose catalog is filled, in ten slices, with
INSTANCES synthetic instance rows in SESSIONS sessions (2 series each, two
sessions per subject) and their import sessions (state done). Measured per
slice: rows written per second (with the receiver's own upsert, one
transaction per session), then the p95 of archive browsing (subjects, a
subject's sessions, one session), the import list and history pages over
the REST API. Before the fill and after it, a real import of one study of
REAL instances from Orthanc through the whole receiver path, as dqr times
it; then how long one scheduler pass takes over QUEUED (10,000; env
QUEUED) waiting sessions, from /metrics.

The fill rate per slice follows the machine's load as much as the
catalog's size (last/first slice ratios of 0.67 to 1.16 over five runs), so
after the fill a paired probe measures it again: PROBE_ROUNDS rounds (env,
default 5) alternate a probe of PROBE_SESSIONS sessions (env, default 50 on
PostgreSQL, 300 on SQLite) of the fill's size, written by the fill's own
statements, into a second, EMPTY catalog (a second database on the same
PostgreSQL cluster, or a second SQLite file, copied from the catalog
before any archive row, with a second `dqr serve` on it) and into the full
one, the probe's rows removed after each: the medians of each and the
ratio full/empty, which the load moves alike. The real path is paired
the same way: REAL_ROUNDS (env, default 9) rounds alternate one import of
the real study through Orthanc into the twin's serve (its own receiver,
AE DQRTWIN) and into the full one's.

The shortcut: the filled rows have no files behind them (a million files
would not fit this machine's budget); the real-path sample has. Usage:
scale.py DQR WORK sqlite|postgres INSTANCES SESSIONS [REAL]
SQLite's writer connection is set up as dqr's; env SQLITE_CACHE (cache_size)
and SQLITE_MMAP (mmap_size, default 0 as in dqr) change it for experiments.
bench/sqlite_fill.py measures the same fill without a serve beside it."""
import io
import os
import sqlite3
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "faults"))
from faultlib import PASSWORD, Postgres, Rig, free_port, wait_port  # noqa: E402
from peers import Api  # noqa: E402
sys.path.insert(0, HERE)
from fill_rows import session_tx  # noqa: E402

DQR, WORK, BACKEND = sys.argv[1], os.path.abspath(sys.argv[2]), sys.argv[3]
INSTANCES, SESSIONS = int(sys.argv[4]), int(sys.argv[5])
REAL = int(sys.argv[6]) if len(sys.argv) > 6 else 200
QUEUED = int(os.environ.get("QUEUED", "10000"))
PROBE_ROUNDS = int(os.environ.get("PROBE_ROUNDS", "5"))
# a probe long enough (about half a second here) that a burst of load
# does not decide it
PROBE_SESSIONS = int(os.environ.get("PROBE_SESSIONS", "50" if BACKEND == "postgres" else "300"))
PROBE_BASE = float(os.environ.get("PROBE_BASE", "0.05"))
REAL_ROUNDS = int(os.environ.get("REAL_ROUNDS", "9"))  # one real import takes ~0.1 s: more rounds than the probe
SQLITE_CACHE = int(os.environ.get("SQLITE_CACHE", "-2000"))  # as dqr sets it (src/store/sqlite.c): KiB when negative
SQLITE_MMAP = int(os.environ.get("SQLITE_MMAP", "0"))
PER = max(1, INSTANCES // SESSIONS)


def numbered(sql):
    out, k = "", 0
    for ch in sql:
        if ch == "?":
            k += 1
            out += f"${k}"
        else:
            out += ch
    return out


def literal(v):
    return "NULL" if v is None else str(v) if isinstance(v, int) else "'" + str(v).replace("'", "''") + "'"


class Catalog:
    """Writes into the catalog dqr serve uses, beside it."""

    def __init__(self, pg=None, path=None, dbname="dqr"):
        self.pg, self.db, self.dbname = pg, sqlite3.connect(path, timeout=60) if path else None, dbname
        if self.db:  # the connection set up as dqr's own (src/store/sqlite.c)
            self.db.executescript(f"PRAGMA synchronous=NORMAL; PRAGMA cache_size={SQLITE_CACHE}; PRAGMA mmap_size={SQLITE_MMAP};")

    def transactions(self, txs):
        """Each tx a list of (sql, rows), committed on its own."""
        if self.db:
            for tx in txs:
                with self.db:
                    for sql, rows in tx:
                        self.db.executemany(sql, rows)
            return
        # PostgreSQL: one psql for them all, each statement prepared once
        names, buf = {}, io.StringIO()
        buf.write(f"\\connect {self.dbname}\n")
        for tx in txs:
            for sql, _ in tx:
                if sql not in names:
                    names[sql] = f"s{len(names)}"
                    buf.write(f"PREPARE {names[sql]} AS {numbered(sql)};\n")
        for tx in txs:
            buf.write("BEGIN;\n")
            for sql, rows in tx:
                for r in rows:
                    buf.write(f"EXECUTE {names[sql]}(" + ",".join(literal(v) for v in r) + ");\n")
            buf.write("COMMIT;\n")
        self.pg.psql(buf.getvalue())

    def analyze(self):
        """PostgreSQL: statistics for the planner, as autovacuum gave the
        full catalog during the fill and never the copied one (its probes
        ran 10 % slower for that). SQLite has none unless asked, so none."""
        if self.pg:
            self.pg.psql(f"\\connect {self.dbname}\nANALYZE;")

    def many(self, sql, rows):
        self.transactions([[(sql, rows)]])


def p95(samples):
    return statistics.quantiles(samples, n=20)[-1] if len(samples) >= 2 else samples[0]


def timed(rig, path, n=30):
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        st, _, _ = rig.call("GET", path)
        out.append((time.perf_counter() - t0) * 1000)
        if st != 200:
            raise RuntimeError(f"{path}: {st}")
    return p95(out)


def fill(cat, first, last, now):
    """Sessions first..last-1 with their rows, one transaction each; rows/s."""
    txs = [session_tx(i, PER, now) for i in range(first, last)]
    t0 = time.perf_counter()
    cat.transactions(txs)
    return (last - first) * PER / (time.perf_counter() - t0)


def empty_twin(rig, pg):
    """A second catalog: the first one's schema and setup rows, copied now,
    before any archive row, with a `dqr serve` of its own on it (its
    scheduler reads it as the first one's does)."""
    twin = WORK + "/twin"
    env = dict(rig.env, DQR_DATA_DIR=twin + "/var", DQR_HTTP_PORT=str(free_port()), DQR_DICOM_PORT=str(free_port()),
               DQR_AET="DQRTWIN")
    if pg:
        dump = subprocess.run([pg.bin + "/pg_dump", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "dqr", "dqr"],
                              check=True, capture_output=True, text=True, cwd="/").stdout
        pg.psql("CREATE DATABASE probe;")
        pg.psql("\\connect probe\n" + dump)
        env["DQR_CATALOG"] = pg.url.rsplit("/", 1)[0] + "/probe"
        cat = Catalog(pg=pg, dbname="probe")
    else:
        os.makedirs(twin + "/var", mode=0o700)
        src, dst = sqlite3.connect(rig.data + "/catalog.db"), sqlite3.connect(twin + "/var/catalog.db")
        src.backup(dst)
        dst.execute("PRAGMA journal_mode=WAL")
        src.close()
        dst.close()
        cat = Catalog(path=twin + "/var/catalog.db")
    rig.procs.start([DQR, "serve"], open(twin + ".log", "ab"), env)
    if not (wait_port(int(env["DQR_HTTP_PORT"])) and wait_port(int(env["DQR_DICOM_PORT"]))):
        raise RuntimeError(f"the empty catalog's dqr serve did not start (see {twin}.log)")
    rig.add_modality("twin", "DQRTWIN", int(env["DQR_DICOM_PORT"]))  # Orthanc moves to it by its AE title
    api = Api(int(env["DQR_HTTP_PORT"]))
    return cat, (api, api.login("admin", PASSWORD))


def probe(cat, first, now):
    """PROBE_SESSIONS sessions written as fill() writes them, then removed: rows/s."""
    rate = fill(cat, first, first + PROBE_SESSIONS, now)
    names = [(f"E{i:05d}",) for i in range(first, first + PROBE_SESSIONS)]
    cat.transactions([[("DELETE FROM archive_instances WHERE project = 'P1' AND session = ?", names),
                       ("DELETE FROM import_sessions WHERE project = 'P1' AND session = ?", names)]])
    return rate


def paired(rounds, twin, full, title, unit, twin_size="", full_size=""):
    """rounds rounds alternating which side goes first, twin(r, "twin") and
    full(r, "full") each measuring once (a rate in unit): prints the medians
    and the ratio full/twin with each round's, and the load."""
    rates = {"twin": [], "full": []}
    for r in range(rounds):
        order = (("twin", twin), ("full", full)) if r % 2 == 0 else (("full", full), ("twin", twin))
        for name, measure in order:
            rates[name].append(measure(r, name))
    e, f = statistics.median(rates["twin"]), statistics.median(rates["full"])
    ratios = [a / b for a, b in zip(rates["full"], rates["twin"])]
    print(f"{BACKEND}: {title}, {rounds} rounds alternating: twin catalog {twin_size}{e:.0f} {unit}, "
          f"full catalog {full_size}{f:.0f} {unit} (medians), full/twin {f / e:.2f} (per round: "
          f"{', '.join(f'{x:.2f}' for x in ratios)}, their median {statistics.median(ratios):.2f}; "
          f"load {os.getloadavg()[0]:.2f})", flush=True)


def paired_probe(full, empty, now):
    """PROBE_ROUNDS rounds of probe() into the twin and the full catalog."""
    for cat in (full, empty):
        cat.analyze()
    paired(PROBE_ROUNDS, lambda r, _: probe(empty, SESSIONS + 10 + r * PROBE_SESSIONS, now),
           lambda r, _: probe(full, SESSIONS + 10 + r * PROBE_SESSIONS, now),
           f"paired probe, {PROBE_SESSIONS} sessions x {PER} rows", "rows/s",
           f"({int(SESSIONS * PROBE_BASE) * PER} rows) ", f"({SESSIONS * PER} rows) ")


def metric(rig, name):
    st, text, _ = rig.call("GET", "/metrics")
    for line in text.splitlines() if st == 200 else []:
        if line.startswith(name + " "):
            return int(line.split()[1])
    raise RuntimeError(f"/metrics has no {name}")


def tick_times(rig, n=20, secs=60):
    """The next n scheduler passes' times (ms), read from /metrics as they happen."""
    out, seen, t_end = [], metric(rig, "dqr_scheduler_ticks_total"), time.time() + secs
    while len(out) < n and time.time() < t_end:
        ticks = metric(rig, "dqr_scheduler_ticks_total")
        if ticks != seen:
            out.append(metric(rig, "dqr_scheduler_tick_microseconds") / 1000)
            seen = ticks
        time.sleep(0.05)
    return out


def queue_ticks(rig, cat, now):
    """QUEUED sessions waiting in the queue, the scheduler's pass times: (a)
    for a PACS outside its availability window, (b) for a PACS whose
    sessions wait for their retry (next_try later). Printed as median, p95
    and the first pass (the one that marks them waiting)."""
    for case, schedule, next_try in (("outside its window", {"timezone": "UTC", "days": {}}, 0),
                                     ("waiting for a retry", None, now + 86400)):
        st, b, _ = rig.call("POST", "/api/v1/pacs", {"label": f"q{next_try}", "aet": "NOWHERE", "host": "127.0.0.1",
                                                     "port": 9})
        pacs = b["id"]
        if schedule is not None:
            st, b, _ = rig.call("PUT", f"/api/v1/pacs/{pacs}/schedule", schedule)
            if st != 200:
                raise RuntimeError(f"schedule refused: {st} {b}")
        cat.many("INSERT INTO import_sessions(request_id, pacs_id, project, bulk, study_uid, subject, session, state, "
                 "next_try, queued, updated) VALUES (?,?,?,1,'',?,?,'queued',?,?,?)",
                 [(1, pacs, "P1", f"Q{i // 2:05d}", f"Q{pacs}_{i:05d}", next_try, now, now) for i in range(QUEUED)])
        t = tick_times(rig)
        rest = sorted(t[1:])
        print(f"{BACKEND}: scheduler pass, {QUEUED} sessions queued {case}: median {statistics.median(rest):.1f} ms, "
              f"p95 {p95(rest):.1f} ms, first {t[0]:.1f} ms ({len(t)} passes)", flush=True)
        cat.many("UPDATE import_sessions SET state = 'cancelled' WHERE pacs_id = ?", [(pacs,)])


def real_import(rig, label, serve=None):
    """One study through Orthanc and the receiver of the rig's serve (or of
    serve, an (Api, token) pair): instances/s as dqr times it, and the state."""
    (uid,) = rig.studies
    b = rig.wait(rig.request([uid], label, serve), 300, serve)
    s = b["sessions"][0]
    return s["archived"] / (s["ms"] / 1000) if s.get("ms") else 0, b["state"]


def paired_real(rig, twin):
    """The real path paired as the probe is: REAL_ROUNDS imports of the real
    study into the twin's serve and as many into the full one's."""
    def one(serve):
        def measure(r, name):
            rate, state = real_import(rig, f"RP{r}{name}", serve)
            if state != "done":
                raise RuntimeError(f"real import into the {name} catalog ended {state}")
            return rate
        return measure
    paired(REAL_ROUNDS, one(twin), one(None), f"real path paired, {REAL} instances each", "instances/s")


def main():
    os.makedirs(WORK, exist_ok=True)
    pg = Postgres(WORK + "/pgwork") if BACKEND == "postgres" else None
    extra = {"DQR_CATALOG": pg.url} if pg else {}
    rig = Rig(DQR, WORK + "/rig", ["--patients", "1", "--studies", "1", "--series", "2", "--instances",
                                   str(REAL // 2), "--rows", "16", "--cols", "16"], extra)
    try:
        rig.start()
        rig.setup()
        cat = Catalog(pg=pg) if pg else Catalog(path=rig.data + "/catalog.db")
        now = int(time.time())
        cat.many("INSERT INTO import_requests(user_id, pacs_id, project, bulk, created) VALUES (?,?,?,?,?)",
                 [(1, 1, "P1", 1, now)])
        empty, twin_serve = empty_twin(rig, pg)
        # the goal compares the fill's first 10 % with its last 10 %: the twin
        # holds the first slice's midpoint (PROBE_BASE of the sessions, 5 % by
        # default; 0 probes an empty catalog), the full one the whole fill
        fill(empty, 0, int(SESSIONS * PROBE_BASE), now)
        first_real, state = real_import(rig, "REALA")
        print(f"{BACKEND}: real path, empty archive: {first_real:.0f} instances/s ({state})", flush=True)
        rates = []
        print("slice  rows    rows/s  subjects_p95  sessions_p95  session_p95  imports_p95  history_p95 (ms)")
        step = SESSIONS // 10
        for sl in range(10):
            rate = fill(cat, sl * step, (sl + 1) * step, now)
            rates.append(rate)
            subj = f"S{(sl * step) // 2:05d}"
            m = [timed(rig, "/api/v1/projects/P1/subjects", 10),
                 timed(rig, f"/api/v1/projects/P1/subjects/{subj}/sessions"),
                 timed(rig, f"/api/v1/projects/P1/sessions/E{sl * step:05d}"),
                 timed(rig, "/api/v1/imports?limit=50"),
                 timed(rig, "/api/v1/history/imports?limit=50")]
            print(f"{sl + 1:5d} {(sl + 1) * step * PER:8d} {rate:8.0f} " + " ".join(f"{x:12.1f}" for x in m),
                  flush=True)
        print(f"{BACKEND}: fill rate, last slice / first slice: {rates[-1] / rates[0]:.2f}", flush=True)
        paired_probe(cat, empty, now)
        paired_real(rig, twin_serve)
        full = []
        for _ in range(30):
            t0 = time.perf_counter()
            st, b, _ = rig.call("GET", "/api/v1/projects/P1/subjects")
            full.append((time.perf_counter() - t0) * 1000)
        print(f"{BACKEND}: the subject list at full size ({len(b['subjects'])} subjects): median "
              f"{statistics.median(full):.1f} ms, p95 {p95(full):.1f} ms (30 requests)", flush=True)
        last_real, state = real_import(rig, "REALB")
        print(f"{BACKEND}: real path, full archive: {last_real:.0f} instances/s ({state}); "
              f"real-path ratio last/first {last_real / first_real:.2f}")
        queue_ticks(rig, cat, now)
        rig.stop()
        t0 = time.perf_counter()
        p = subprocess.run([DQR, "fsck"], env=rig.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"{BACKEND}: dqr fsck over {INSTANCES} rows: {time.perf_counter() - t0:.1f} s (exit {p.returncode}; "
              "the filled rows have no files, so it reports them missing)")
    finally:
        rig.close()
        if pg:
            pg.close()


main()
