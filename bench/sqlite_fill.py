#!/usr/bin/python3
"""The SQLite fill rate alone: bench/scale.py's fill statements (one
transaction per session of 100 rows, the receiver's upsert) written into a
copy of a dqr catalog (its PACS 1 and import request 1 kept) with no
`dqr serve` beside it, in ten slices, for one or more connection setups. It separates what the catalog's own B-trees cost
as they grow from what the full benchmark's machine does around them.

Usage: sqlite_fill.py CATALOG [SETUP ...] (env ROWS, default 1000000)
CATALOG is any dqr SQLite catalog (bench/scale.sh leaves one in
bench/out/scale/sqlite/twin/var/catalog.db); it is copied, its archive rows
removed, and never written. A SETUP is comma-separated words: base (as dqr
sets its connection up, src/store/sqlite.c), cacheN (PRAGMA cache_size=N),
mmapN (mmap_size), ckptN (wal_autocheckpoint), pageN (page_size, by a
VACUUM of the copy), drop:NAME (without that index). Each prints its rows/s
per slice and last/first."""
import os
import sqlite3
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fill_rows import session_tx  # noqa: E402

PER = 100
ROWS = int(os.environ.get("ROWS", "1000000"))


def copy(src, dst):
    s, d = sqlite3.connect(src), sqlite3.connect(dst)
    s.backup(d)
    s.close()
    d.execute("DELETE FROM archive_instances")
    d.execute("DELETE FROM import_sessions")
    d.commit()
    return d


def setup(db, words):
    pre, post = [], ["PRAGMA synchronous=NORMAL", "PRAGMA cache_size=-2000"]  # dqr's own
    for w in words:
        if w.startswith("page"):
            pre += ["PRAGMA journal_mode=DELETE", f"PRAGMA page_size={int(w[4:])}", "VACUUM"]
        elif w.startswith("cache"):
            post.append(f"PRAGMA cache_size={int(w[5:])}")
        elif w.startswith("mmap"):
            post.append(f"PRAGMA mmap_size={int(w[4:])}")
        elif w.startswith("ckpt"):
            post.append(f"PRAGMA wal_autocheckpoint={int(w[4:])}")
        elif w.startswith("drop:"):
            pre.append(f"DROP INDEX {w[5:]}")
        elif w != "base":
            sys.exit(f"sqlite_fill: unknown setup word {w!r}")
    for sql in pre + ["PRAGMA journal_mode=WAL"] + post:
        db.execute(sql)
    db.commit()


def fill(db, first, last, now=1700000000):
    t0 = time.perf_counter()
    for i in range(first, last):
        with db:
            for sql, rows in session_tx(i, PER, now):
                db.executemany(sql, rows)
    return (last - first) * PER / (time.perf_counter() - t0)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    step = ROWS // PER // 10
    for spec in sys.argv[2:] or ["base"]:
        with tempfile.TemporaryDirectory(prefix="dqr-fill-") as tmp:
            db = copy(sys.argv[1], tmp + "/catalog.db")
            setup(db, spec.split(","))
            rates = [fill(db, s * step, (s + 1) * step) for s in range(10)]
            db.close()
        print(f"{spec}: last/first {rates[-1] / rates[0]:.2f}; rows/s per slice "
              + " ".join(f"{r:.0f}" for r in rates), flush=True)


main()
