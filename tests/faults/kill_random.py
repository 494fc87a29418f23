#!/usr/bin/python3
"""`kill -9` of `dqr serve` at random points of its imports, over many runs:
each run asks for an import of fresh sessions, then kills the server after
a random delay (during the C-MOVE, the writes, the catalog updates, the
end of a session, or its start) and starts it again, a few times per run.
After every kill `dqr fsck` must find no problem (what is in flight in a
running session is allowed: the restart resumes it), and at the end of
each run the import must be done with every instance archived exactly
once and `dqr fsck --deep` clean. Seeded: the seed is printed, and
FAULTS_SEED=N repeats a run. Usage: kill_random.py DQR WORKDIR [KILLS]"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import Rig  # noqa: E402
from peers import Checks  # noqa: E402

DQR, WORK = sys.argv[1], sys.argv[2]
KILLS = int(sys.argv[3]) if len(sys.argv) > 3 else 60
SEED = int(os.environ.get("FAULTS_SEED") or time.time_ns() % 1000000)
print(f"seed {SEED} (FAULTS_SEED={SEED} repeats it), {KILLS} kills")
rnd = random.Random(SEED)
check = Checks()
rig = Rig(DQR, WORK, ["--patients", "2", "--studies", "2", "--series", "2", "--instances", "15",
                      "--rows", "32", "--cols", "32"])
UIDS = sorted(rig.studies)
stats = {"runs": 0, "kills": 0, "in_flight_findings": 0, "anomalies": 0}


def anomaly(what, detail):
    stats["anomalies"] += 1
    check(what, False, detail)


try:
    rig.start()
    rig.setup()
    run = 0
    while stats["kills"] < KILLS:
        run += 1
        stats["runs"] += 1
        uids = rnd.sample(UIDS, rnd.randint(1, len(UIDS)))
        iid = rig.request(uids, f"R{run:03d}S")
        for _ in range(rnd.randint(1, 4)):
            time.sleep(rnd.uniform(0, 2.0))
            rig.kill()
            stats["kills"] += 1
            rc, rep = rig.fsck()
            stats["in_flight_findings"] += rep.get("in_flight", 0)
            if rc != 0 or rep.get("problems"):
                anomaly(f"run {run}, kill {stats['kills']}: fsck finds problems", rep)
            rig.start()
        t0 = time.time()
        b = rig.wait(iid, 120)
        print(f"run {run}: {b.get('state')} {time.time() - t0:.1f} s after the last restart", flush=True)
        want = sum(rig.studies[u] for u in uids)
        if b.get("state") != "done" or b.get("archived") != want or b.get("failed"):
            anomaly(f"run {run}: the import ends done with every instance once", (want, b))
    rig.stop()
    rc, rep = rig.fsck("--deep")
    check("after all runs: fsck --deep clean, nothing in flight, catalog = files",
          rc == 0 and rep["problems"] == 0 and rep["in_flight"] == 0 and rep["rows"] == rep["files"], rep)
    check(f"{stats['kills']} kills over {stats['runs']} runs without an anomaly", stats["anomalies"] == 0, stats)
    print("counts:", stats)
finally:
    rig.close()
sys.exit(check.finish())
