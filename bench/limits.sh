#!/bin/sh
# Benchmark: what the hardening limits of issue #12 (registered peers only,
# per-address limits, timeouts, max_instance_bytes, bounded inflation,
# nesting bounds, sorted parsing) cost on the normal path. The import
# benchmark (bench/import.sh: C-MOVE of one CT study from Orthanc through
# the whole pipeline) runs with a build from before the hardening and with
# this one, alternating OLD NEW OLD NEW, and the medians are compared.
# Usage: bench/limits.sh OLD_DQR [N_FILES] [WORKDIR]   (defaults: 500, bench/out)
#   OLD_DQR: a dqr binary built from the commit before the hardening, e.g.
#   git worktree add /tmp/old 50d794d && make -C /tmp/old build && bench/limits.sh /tmp/old/build/dqr
set -eu
old=${1:?usage: bench/limits.sh OLD_DQR [N_FILES] [WORKDIR]}
n=${2:-500}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${3:-$root/bench/out}
new=$root/build/dqr
mkdir -p "$work"
log=$work/limits-runs.txt
: >"$log"
for round in 1 2; do
    for which in old new; do
        bin=$old
        [ "$which" = new ] && bin=$new
        line=$(DQR=$bin "$root/bench/import.sh" "$n" "$work" | grep '^median:')
        echo "round $round $which: $line" | tee -a "$log"
    done
done
/usr/bin/python3 - "$log" <<'PY'
import re, statistics, sys
rows = {"old": [], "new": []}
for l in open(sys.argv[1]):
    m = re.search(r"(old|new): median: raw (\d+) ms, dqr (\d+) ms .*client-seen (\d+) ms", l)
    if m:
        rows[m.group(1)].append((int(m.group(2)), int(m.group(3)), int(m.group(4))))
med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in rows.items()}
o, n = med["old"], med["new"]
print(f"old build: dqr import {o[1]:.0f} ms (raw storescp {o[0]:.0f} ms, ratio {o[1] / o[0]:.2f})")
print(f"new build: dqr import {n[1]:.0f} ms (raw storescp {n[0]:.0f} ms, ratio {n[1] / n[0]:.2f})")
print(f"new / old: {n[1] / o[1]:.2f} in dqr, {n[2] / o[2]:.2f} client-seen; "
      f"against raw in the same runs: {(n[1] / n[0]) / (o[1] / o[0]):.2f}")
PY
