#!/usr/bin/python3
"""archive_sessions under concurrent writers of one session on PostgreSQL,
as several nodes on one catalog make them (docs/import.md, "Several
nodes"): two clients upsert rows of session C one row a statement, 100 a
transaction (the receiver's way), while a third deletes from the same
session, by parts, then the whole session, again and again until both are
done. After each round the session's summary row equals the GROUP BY over
its rows (or is gone with them): no update lost between the row trigger
of the inserts and migration 19's statement trigger of the deletes, none
between two of them. The catalog is made by `dqr serve` (its migrations),
then written with psql. Run by postgres.sh with DQR_CATALOG set.
Usage: summary_concurrent.py DQR WORKDIR"""
import glob
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Checks, Procs, free_port, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
URL = os.environ.get("DQR_CATALOG", "")
check, procs = Checks(), Procs()
if not URL.startswith("postgresql:"):
    print("FAIL summary_concurrent.py needs DQR_CATALOG=postgresql://... (postgres.sh sets it)\n0 passed, 1 failed")
    sys.exit(1)
PSQL = sorted(glob.glob("/usr/lib/postgresql/*/bin/psql"))[-1]
TXS, PER = 40, 100


def psql(sql, quiet=True):
    argv = [PSQL, URL, "-At", "-v", "ON_ERROR_STOP=1"] + (["-q"] if quiet else [])
    return subprocess.run(argv, input=sql, text=True, check=True, capture_output=True, cwd="/").stdout


def inserts(tag):
    """TXS transactions of PER single-row upserts into session C, as a script."""
    out = ["PREPARE u AS INSERT INTO archive_instances(project, subject, session, series_uid, sop_uid, path, bytes,"
           " updated) VALUES ('P', 'S', 'C', '1.2', $1, 'p', $2, $3) ON CONFLICT(project, session, sop_uid)"
           " DO UPDATE SET bytes = excluded.bytes, updated = excluded.updated;"]
    for t in range(TXS):
        out.append("BEGIN;")
        out += [f"EXECUTE u('{tag}.{t}.{k}', {k + 1}, {t * PER + k});" for k in range(PER)]
        out.append("COMMIT;")
    return "\n".join(out) + "\n"


def summary_and_rows():
    return psql("SELECT (SELECT COUNT(*) || '/' || COALESCE(SUM(bytes), 0) FROM archive_instances"
                " WHERE session = 'C') || ' ' || COALESCE((SELECT instances || '/' || bytes FROM archive_sessions"
                " WHERE session = 'C'), 'none');").strip()


def round_of(name, deletes):
    """Both inserters at once, and the deletes in turn while either runs."""
    writers = [subprocess.Popen([PSQL, URL, "-q", "-v", "ON_ERROR_STOP=1"], stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd="/")
               for _ in range(2)]
    for w, tag in zip(writers, "ab"):
        w.stdin.write(inserts(tag))
        w.stdin.close()
    removed, k = 0, 0
    while any(w.poll() is None for w in writers):
        out = psql(deletes[k % len(deletes)] + "\n", quiet=False)
        removed += sum(int(ln.split()[1]) for ln in out.splitlines() if ln.startswith("DELETE "))
        k += 1
        time.sleep(0.01)
    errs = [w.stderr.read() for w in writers]
    check(f"{name}: both writers done", all(w.returncode == 0 for w in writers), errs)
    check(f"{name}: deletes ran while the writers wrote ({k} statements removed {removed} rows)",
          k >= 2 and removed > 0, removed)
    rows, summary = summary_and_rows().split(" ")
    check(f"{name}: the summary equals the rows (count/bytes {rows})", summary == (rows if rows != "0/0" else "none"),
          f"rows {rows}, summary {summary}")
    psql("DELETE FROM archive_instances WHERE session = 'C';")
    check(f"{name}: a session left empty has no summary row", summary_and_rows() == "0/0 none", summary_and_rows())


shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK + "/keys")
http = free_port()
with open(WORK + "/serve.log", "w") as log:
    serve = procs.start([DQR, "serve"], log, serve_env(WORK, "gateway-secret-1", http, free_port()))
try:
    check("dqr serve made the catalog", wait_port(http, 60))
    procs.stop_one(serve)  # the catalog is written by psql from here on
    check("migration 19's delete trigger is statement-level",
          psql("SELECT action_orientation FROM information_schema.triggers WHERE trigger_name = 'archive_sessions_delete'"
               " LIMIT 1;").strip() == "STATEMENT")
    parts = [f"DELETE FROM archive_instances WHERE project = 'P' AND session = 'C' AND sop_uid LIKE '{t}.{n}.%';"
             for n in range(TXS) for t in "ab"]
    for r in range(3):
        round_of(f"partial deletes, round {r + 1}", parts[r::3])
        round_of(f"whole-session deletes, round {r + 1}",
                 ["DELETE FROM archive_instances WHERE project = 'P' AND session = 'C';"])
finally:
    procs.stop()
sys.exit(check.finish())
