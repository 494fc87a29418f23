#!/bin/sh
# Benchmark: the cost of reading burned-in text (OCR) per 640x480 ultrasound
# frame, as dqr's verify step does it (render, prepare, Tesseract, filter).
# N single-frame US files with fake PHI drawn in (tests/pylib/burned_in.py),
# read by `dqr phi-scan --pixels` in one process (one Tesseract engine, as a
# gateway worker keeps one): the engine's start is measured apart by
# reading one file, and ms/frame = (time for N - time for 1) / (N - 1).
# Wall and CPU (user+sys) times, 3 runs, medians; OMP_THREAD_LIMIT=1.
# Then the cost of --ocr at_risk on CT, which is not read (see the end).
# Usage: bench/ocr.sh [N_FILES] [WORKDIR]
set -eu
n=${1:-100}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${2:-$root/bench/out}
dqr=${DQR:-$root/build/dqr}
[ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
data=$work/ocr-data
if [ "$(cat "$data.count" 2>/dev/null)" != "$n" ]; then
    rm -rf "$data"
    /usr/bin/python3 "$root/tests/pylib/burned_in.py" "$data" --us "$n" --sc 0 --ct 0 --mr 0 --syntaxes native \
        --seed 3 >/dev/null
    rm -f "$data/manifest.json"
    echo "$n" >"$data.count"
fi
export OMP_THREAD_LIMIT=1
/usr/bin/python3 - "$dqr" "$data" <<'PY'
import glob, os, resource, statistics, subprocess, sys, time
dqr, data = sys.argv[1], sys.argv[2]
files = sorted(glob.glob(data + "/*.dcm"))

def run(fs):
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run([dqr, "phi-scan", "--pixels"] + fs, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return t, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime

one, alln = [], []
for _ in range(3):
    one.append(run(files[:1]))
    alln.append(run(files))
w1, c1 = statistics.median(x[0] for x in one), statistics.median(x[1] for x in one)
wn, cn = statistics.median(x[0] for x in alln), statistics.median(x[1] for x in alln)
k = len(files) - 1
print(f"{len(files)} frames of 640x480: engine start + 1 frame {1000 * w1:.0f} ms wall, {1000 * c1:.0f} ms CPU")
print(f"per frame: {1000 * (wn - w1) / k:.0f} ms wall, {1000 * (cn - c1) / k:.0f} ms CPU "
      f"(goal 150 ms); load average {os.getloadavg()[0]:.1f}")
PY

# What ocr at_risk costs where nothing is read: CT (not at risk) through
# `dqr anonymize --profile basic`, with and without --ocr at_risk, 3 runs
# alternating, CPU time (the gateway's verify step makes the same decision).
ct=$work/ocr-ct
if [ "$(cat "$ct.count" 2>/dev/null)" != "$n" ]; then
    rm -rf "$ct"
    /usr/bin/python3 "$root/tools/gen_studies.py" "$ct" --instances "$n" >/dev/null
    rm -f "$ct/manifest.json"
    echo "$n" >"$ct.count"
fi
/usr/bin/python3 - "$dqr" "$ct" "$work/ocr-ct-out" <<'PY'
import resource, shutil, statistics, subprocess, sys
dqr, src, out = sys.argv[1:4]

def run(extra):
    shutil.rmtree(out, ignore_errors=True)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([dqr, "anonymize", "--profile", "basic", "--quiet", "--no-sync", "--jobs", "1", *extra, src, out],
                   check=True)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime

off, on = [], []
for _ in range(3):
    off.append(run([]))
    on.append(run(["--ocr", "at_risk"]))
a, b = statistics.median(off), statistics.median(on)
print(f"CT anonymize CPU: ocr off {1000 * a:.0f} ms, ocr at_risk {1000 * b:.0f} ms (ratio {b / a:.3f})")
PY
