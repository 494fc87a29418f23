#!/usr/bin/python3
"""`dqr fsck` against a real archive: a study imported from Orthanc, then
serve stopped and the archive damaged by hand in each way fsck knows (a
temporary file, a file with no row, a row with no file, a wrong size, a
file holding another instance, one instance in two series folders): each
is reported with exit 1, `--repair` fixes what it can and queues the
session again, and the restarted serve imports what was lost, after which
fsck is clean. Usage: fsck_repair.py DQR WORKDIR"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from faultlib import Rig  # noqa: E402
from peers import Checks  # noqa: E402

check = Checks()
rig = Rig(sys.argv[1], sys.argv[2], ["--patients", "1", "--studies", "1", "--series", "2", "--instances", "6",
                                     "--rows", "16", "--cols", "16"])
try:
    rig.start()
    rig.setup()
    (uid,) = rig.studies
    iid = rig.request([uid])
    b = rig.wait(iid)
    check("the import is done", b.get("state") == "done" and b.get("archived") == 12, b)
    rig.stop()
    rc, rep = rig.fsck("--deep")
    check("fsck of a fresh archive: exit 0, nothing found",
          rc == 0 and rep["problems"] == 0 and rep["rows"] == 12 and rep["files"] == 12, rep)

    files = [f for f in rig.archive_files() if f.endswith(".dcm")]
    series = sorted({os.path.dirname(f) for f in files})
    a, b2 = [f for f in files if f.startswith(series[0])], [f for f in files if f.startswith(series[1])]
    open(a[0] + ".tmp.0123456789ab", "wb").write(b"half a file")        # temp
    shutil.copy(a[1], series[0] + "/1.2.3.4.5.dcm")                     # orphan
    os.remove(a[2])                                                      # missing
    open(a[3], "ab").write(b"\0\0")                                      # size (still readable)
    # mismatch (deep): another instance's file in its place, of another size when there is one
    # (UIDs of random length): a size finding without --deep, a mismatch with it
    other = [x for x in [a[5]] + b2[1:] if os.path.getsize(x) != os.path.getsize(a[4])] or [a[5]]
    sizes = 1 if os.path.getsize(other[0]) == os.path.getsize(a[4]) else 2
    shutil.copy(other[0], a[4])
    shutil.copy(b2[0], series[0] + "/" + os.path.basename(b2[0]))        # duplicate + orphan
    rc, rep = rig.fsck()
    c = rep.get("counts", {})
    check("fsck finds the temp file, the orphans, the missing file, the size; exit 1",
          rc == 1 and c.get("temp") == 1 and c.get("orphan") == 2 and c.get("missing") == 1 and c.get("size") == sizes
          and c.get("duplicate") == 1 and c.get("mismatch") == 0, rep)
    rc, rep = rig.fsck("--deep")
    check("fsck --deep also finds the file holding another instance, whatever its size",
          rc == 1 and rep["counts"]["mismatch"] == 1 and rep["counts"]["size"] == 1, rep)
    text = subprocess.run([rig.dqr, "fsck"], env=rig.env, capture_output=True, text=True)
    check("text report: one line per finding and the totals",
          text.returncode == 1 and "missing archive/P1/" in text.stdout and "problems" in text.stdout, text.stdout)

    rc, rep = rig.fsck("--deep", "--repair")
    check("fsck --repair: every finding repaired (the duplicate by moving its orphan copy), exit 0, "
          "the session queued again", rc == 0 and rep["problems"] == rep["repaired"] == 6 and rep["requeued"] == 1,
          rep)
    lf = [os.path.join(r, n) for r, _, ns in os.walk(rig.data + "/lost+found") for n in ns]
    check("orphans and the wrong file went to lost+found", len(lf) == 3, lf)
    check("the temp file is gone", not os.path.exists(a[0] + ".tmp.0123456789ab"))
    rc, rep = rig.fsck("--deep")
    check("after the repair: clean", rc == 0 and rep["problems"] == 0 and rep["rows"] == 10, rep)

    rig.start()
    b = rig.wait(iid)
    check("the queued session is imported again", b.get("state") == "done", b)
    rig.stop()
    rc, rep = rig.fsck("--deep")
    check("after the re-import: clean, every instance back",
          rc == 0 and rep["problems"] == 0 and rep["rows"] == 12 and rep["files"] == 12, rep)
    check("a file is where its row says", os.path.exists(a[2]) and os.path.getsize(a[3]) > 0)
    p = subprocess.run([rig.dqr, "fsck", "--bogus"], env=rig.env, capture_output=True, text=True)
    check("a bad flag: exit 2", p.returncode == 2, p.stderr)
finally:
    rig.close()
sys.exit(check.finish())
