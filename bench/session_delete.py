#!/usr/bin/python3
"""One DELETE of a whole archive session on PostgreSQL, with the catalog of
one dqr (BEFORE, e.g. a build of an earlier commit) against another (AFTER):
the triggers that keep archive_sessions are each build's own migrations
(bench/session_delete.sh runs this). One throwaway cluster, one database
per build, each migrated by that build's `dqr serve`. Per round and size,
alternating before/after: a session of SIZE rows is filled (triggers off,
its summary row written by one GROUP BY, so the fill costs the same on
both), then deleted by the statement dqr uses (api_archive.c) and timed.
Then the receiver's path: ROWS single-row upserts (the statement of
scale.py's fill, 100 per transaction, one psql) timed on each. Medians of
the rounds and the ratio after/before are printed.
Usage: session_delete.py BEFORE_DQR AFTER_DQR WORK ROUNDS BIG_ROUNDS SIZE..."""
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "faults"))
from faultlib import Postgres  # noqa: E402
from peers import free_port, serve_env  # noqa: E402

BEFORE, AFTER, WORK = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
ROUNDS, BIG_ROUNDS, SIZES = int(sys.argv[4]), int(sys.argv[5]), [int(x) for x in sys.argv[6:]]
UPSERT_ROWS = 5000
COLS = "project, subject, session, series_uid, series_number, series_description, modality, study_date, sop_uid, " \
       "path, bytes, import_session, updated"


def psql(pg, db, sql):
    return pg.psql(f"\\connect {db}\n" + sql, capture=True)


def migrate(pg, dqr, db):
    """The database made and brought to dqr's schema by its own serve."""
    psql(pg, "dqr", f"CREATE DATABASE {db};")
    work = f"{WORK}/{db}"
    os.makedirs(work + "/keys", exist_ok=True)
    env = serve_env(work, "gateway-secret-1", free_port(), free_port(),
                    DQR_CATALOG=f"postgresql://dqr@127.0.0.1:{pg.port}/{db}")
    p = subprocess.Popen([dqr, "serve"], env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if psql(pg, db, "SELECT COUNT(*) FROM pg_tables WHERE tablename = 'archive_sessions';").strip() == "1":
                break
            time.sleep(0.1)
        time.sleep(1)  # the migrations commit one by one: the last one too
    finally:
        p.terminate()
        p.wait()
    return psql(pg, db, "SELECT MAX(version) FROM schema_version;").strip()


def timed_delete(pg, db, size):
    """A SIZE-row session filled without its triggers, then one timed DELETE (ms)."""
    psql(pg, db, "ALTER TABLE archive_instances DISABLE TRIGGER USER;"
         f"INSERT INTO archive_instances({COLS}) SELECT 'P1', 'S1', 'BIG', '2.25.1.' || (g % 2), '1', 'synthetic', "
         f"'MR', '20200101', '2.25.1.' || g, 'archive/x', 600, 1, 1000 FROM generate_series(1, {size}) g;"
         "INSERT INTO archive_sessions SELECT project, subject, session, COUNT(*), SUM(bytes), MAX(updated) "
         "FROM archive_instances WHERE session = 'BIG' GROUP BY project, subject, session;"
         "ALTER TABLE archive_instances ENABLE TRIGGER USER; VACUUM ANALYZE archive_instances;")
    out = psql(pg, db, "\\timing on\nDELETE FROM archive_instances WHERE project = 'P1' AND session = 'BIG';\n"
               "SELECT COUNT(*) FROM archive_sessions;")
    ms = float(next(ln for ln in out.splitlines() if ln.startswith("Time:")).split()[1])
    if [ln for ln in out.splitlines() if not ln.startswith("Time:")] != ["0"]:
        raise RuntimeError(f"{db}: the summary row was left: {out}")
    return ms


def upserts(pg, db, r):
    """UPSERT_ROWS single-row upserts, 100 per transaction: rows/s."""
    buf = ["PREPARE u AS INSERT INTO archive_instances(" + COLS + ") VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,"
           "$13) ON CONFLICT(project, session, sop_uid) DO UPDATE SET bytes = excluded.bytes, updated = excluded.updated;"]
    for k in range(UPSERT_ROWS):
        if k % 100 == 0:
            buf.append("BEGIN;")
        ses = f"U{r}_{k // 100}"
        buf.append(f"EXECUTE u('P1', 'S2', '{ses}', '2.25.2', '1', 'synthetic', 'MR', '20200101', '2.25.2.{k}', "
                   f"'archive/x', 600, 1, 1000);")
        if k % 100 == 99:
            buf.append("COMMIT;")
    # both catalogs analyzed alike first: the row triggers' 100,000 updates
    # had autovacuum analyze archive_sessions on one of them only
    psql(pg, db, "VACUUM ANALYZE archive_instances; VACUUM ANALYZE archive_sessions;")
    t0 = time.perf_counter()
    psql(pg, db, "\n".join(buf))
    rate = UPSERT_ROWS / (time.perf_counter() - t0)
    psql(pg, db, "DELETE FROM archive_instances WHERE subject = 'S2';")
    return rate


def main():
    os.makedirs(WORK, exist_ok=True)
    pg = Postgres(WORK + "/pgwork")
    try:
        dbs = {"before": migrate(pg, BEFORE, "before"), "after": migrate(pg, AFTER, "after")}
        print("schema versions: " + ", ".join(f"{k} {v}" for k, v in dbs.items()), flush=True)
        for size in SIZES:
            times = {"before": [], "after": []}
            for r in range(BIG_ROUNDS if size >= 100000 else ROUNDS):
                for db in ("before", "after") if r % 2 == 0 else ("after", "before"):
                    times[db].append(timed_delete(pg, db, size))
                    print(f"  {size} rows, round {r + 1}, {db}: {times[db][-1]:.1f} ms "
                          f"(load {os.getloadavg()[0]:.2f})", flush=True)
            b, a = statistics.median(times["before"]), statistics.median(times["after"])
            print(f"DELETE of a {size}-instance session: before {b:.1f} ms, after {a:.1f} ms (medians of "
                  f"{len(times['after'])}), after/before {a / b:.3f}", flush=True)
        rates = {"before": [], "after": []}
        for r in range(ROUNDS):
            for db in ("before", "after") if r % 2 == 0 else ("after", "before"):
                rates[db].append(upserts(pg, db, r))
        b, a = statistics.median(rates["before"]), statistics.median(rates["after"])
        print(f"single-row upserts ({UPSERT_ROWS}, 100 per transaction): before {b:.0f} rows/s, after {a:.0f} "
              f"rows/s (medians of {ROUNDS}), after/before {a / b:.3f}; load {os.getloadavg()}", flush=True)
    finally:
        pg.close()


main()
