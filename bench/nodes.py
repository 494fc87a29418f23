#!/usr/bin/python3
"""One node or two on one PostgreSQL catalog (bench/nodes.sh runs this):
import throughput of the same studies from Orthanc, with one `dqr serve`
and with two sharing the catalog and the data directory, each running the
queue and receiving what it moved (its own AE title; Orthanc knows both).

The PACS's window allows THREADS transfers at once (default 2) for all
nodes together, so the comparison is at the same load on the PACS: what
the second node adds is its own CPU, receiver and catalog connection.
Rounds alternate (1 node, 2 nodes, 1, 2, ...); each round imports every
study again under new session labels, so each round archives the same
instances anew. Per round: wall seconds from the request to its end,
instances archived per second, and how many sessions each node ran (from
each node's log: its `event=import ... state=done` lines of the round).
Usage: nodes.py DQR WORK STUDIES INSTANCES_PER_STUDY ROUNDS [THREADS]"""
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "faults"))
from faultlib import PASSWORD, Postgres, Rig  # noqa: E402
from peers import free_port, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
STUDIES, PER, ROUNDS = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
THREADS = int(sys.argv[6]) if len(sys.argv) > 6 else 2
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def start_second(rig, pg):
    """Node B: the same catalog and data dir, its own ports and AE title."""
    http, dicom = free_port(), free_port()
    env = dict(rig.env, DQR_CATALOG=pg.url, DQR_HTTP_PORT=str(http), DQR_DICOM_PORT=str(dicom), DQR_AET="DQRB")
    proc = rig.procs.start([rig.dqr, "serve"], open(rig.work + "/b.stderr", "ab"), env)
    if not (wait_port(http) and wait_port(dicom)):
        raise RuntimeError("node B did not start (see b.stderr)")
    rig.add_modality("dqrb", "DQRB", dicom)
    return proc


def done_lines(log):
    try:
        return sum(1 for line in open(log, errors="replace") if "event=import " in line and "state=done" in line)
    except OSError:
        return 0


def one_round(rig, label):
    logs = [rig.work + "/serve.stderr", rig.work + "/b.stderr"]
    before = [done_lines(x) for x in logs]
    t0 = time.perf_counter()
    iid = rig.request(sorted(rig.studies), label)
    b = rig.wait(iid, 900)
    wall = time.perf_counter() - t0
    archived = sum(s.get("archived", 0) for s in b.get("sessions", []))
    rig.log.flush()
    ran = [done_lines(x) - n for x, n in zip(logs, before)]
    return wall, archived, b.get("state"), ran


def main():
    os.makedirs(WORK, exist_ok=True)
    pg = Postgres(WORK + "/pgwork")
    rig = Rig(DQR, WORK + "/rig", ["--patients", str(STUDIES), "--studies", "1", "--series", "2", "--instances",
                                   str(PER // 2), "--rows", "64", "--cols", "64"],
              {"DQR_CATALOG": pg.url, "DQR_AET": "DQR"})
    results = {1: [], 2: []}
    try:
        rig.start()
        rig.setup()
        st, b, _ = rig.call("PUT", f"/api/v1/pacs/{rig.pacs}/schedule", {"timezone": "UTC", "days": {
            d: [{"start": "00:00", "end": "24:00", "threads": THREADS}] for d in DAYS}})
        if st != 200:
            raise RuntimeError(f"schedule refused: {st} {b}")
        print(f"nodes: {len(rig.studies)} studies, {sum(rig.studies.values())} instances, PostgreSQL on "
              f"port {pg.port}, window {THREADS} threads, load {os.getloadavg()[0]:.1f}", flush=True)
        for r in range(ROUNDS):
            for nodes in (1, 2):
                b = start_second(rig, pg) if nodes == 2 else None
                wall, archived, state, ran = one_round(rig, f"R{r}N{nodes}_")
                if b:
                    rig.procs.stop_one(b)
                    rig.procs.list.remove(b)
                results[nodes].append(archived / wall)
                print(f"round {r + 1}, {nodes} node(s): {wall:.2f} s, {archived} archived, {archived / wall:.0f} "
                      f"instances/s ({state}; sessions run by A/B {ran[0]}/{ran[1]}; load {os.getloadavg()[0]:.1f})",
                      flush=True)
        one, two = statistics.median(results[1]), statistics.median(results[2])
        print(f"median instances/s: 1 node {one:.0f}, 2 nodes {two:.0f}: 2 nodes / 1 node = {two / one:.2f}x")
    finally:
        rig.close()
        pg.close()


main()
