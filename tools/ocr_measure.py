#!/usr/bin/python3
"""Measure dqr's burned-in text detection on generated images.

  ocr_measure.py DQR WORK [--us N] [--sc N] [--ct N] [--mr N] [--frames F] [--seed S]
                 [--min-confidence C] [--min-recall R] [--max-fp F] [--reuse]

Generates WORK/set with tests/pylib/burned_in.py (fake names, dates and IDs
drawn into ultrasound and secondary-capture pixels at known boxes; clean CT
and MR frames), runs `DQR phi-scan --pixels --json` over it and reports:
- recall: planted PHI words with a reported (not whitelisted) word whose box
  covers at least 30 % of the planted word's box, over all planted words;
  a word read wrongly but flagged where it is still counts, as masking or
  refusing acts on the box; exact-text recall is reported beside it;
- frames flagged: frames with planted text where any word was reported
  (what ocr_policy refuse acts on);
- false-positive frames: clean CT/MR frames with any reported word;
- seconds and milliseconds per frame of the whole scan, wall and CPU (one
  Tesseract engine, its start included; OMP_THREAD_LIMIT=1).
Exit 1 when recall < --min-recall or FP rate > --max-fp (fractions).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "..", "tests", "pylib", "burned_in.py")


def covered(planted, found):
    pl, pt, pw, ph = planted
    fl, ft, fw, fh = found
    ix = max(0, min(pl + pw, fl + fw) - max(pl, fl))
    iy = max(0, min(pt + ph, ft + fh) - max(pt, ft))
    return ix * iy >= 0.3 * max(1, pw * ph)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dqr")
    ap.add_argument("work")
    for k, d in (("us", 250), ("sc", 200), ("ct", 150), ("mr", 150), ("frames", 3), ("seed", 1)):
        ap.add_argument("--" + k, type=int, default=d)
    ap.add_argument("--dim", type=float, default=0.0, help="fraction of burned files with grey text (burned_in.py)")
    ap.add_argument("--min-recall", type=float, default=0.0)
    ap.add_argument("--max-fp", type=float, default=1.0)
    ap.add_argument("--min-confidence", help="passed to phi-scan (default: its own)")
    ap.add_argument("--reuse", action="store_true", help="keep WORK/set if it exists")
    a = ap.parse_args()
    out = os.path.join(a.work, "set")
    if not (a.reuse and os.path.exists(os.path.join(out, "manifest.json"))):
        subprocess.run([sys.executable, GEN, out, "--us", str(a.us), "--sc", str(a.sc), "--ct", str(a.ct),
                        "--mr", str(a.mr), "--frames", str(a.frames), "--seed", str(a.seed), "--dim", str(a.dim)],
                       check=True)
    man = json.load(open(os.path.join(out, "manifest.json")))
    files = [e["file"] for e in man["burned"] + man["clean"]]
    env = dict(os.environ, OMP_THREAD_LIMIT="1")
    t0 = time.monotonic()
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    conf = ["--min-confidence", a.min_confidence] if a.min_confidence else []
    r = subprocess.run([a.dqr, "phi-scan", "--pixels", "--json"] + conf + files, capture_output=True, text=True, env=env)
    secs = time.monotonic() - t0
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime
    if r.returncode not in (0, 1):
        sys.exit("phi-scan failed: " + r.stderr)
    report = {e["file"]: {f["frame"]: f["words"] for f in e["frames"]} for e in json.loads(r.stdout)}
    planted = hit = exact = 0
    by_syntax = {}
    missed = []
    frames = flagged = 0
    for e in man["burned"]:
        frames += e["frames"]
        got = report.get(e["file"], {})
        flagged += sum(1 for f in range(1, e["frames"] + 1) if got.get(f))
        for p in e["phi"]:
            words = got.get(p["frame"], [])
            box = [[w["left"], w["top"], w["width"], w["height"]] for w in words]
            ok = any(covered(p["box"], b) for b in box)
            planted += 1
            hit += ok
            exact += any(w["text"].strip(".,:;") == p["text"] for w in words)
            for key in (e["syntax"], "grey text" if e.get("dim") else "bright text"):
                s = by_syntax.setdefault(key, [0, 0])
                s[0] += ok
                s[1] += 1
            if not ok:
                missed.append(f'{os.path.basename(e["file"])} frame {p["frame"]} "{p["text"]}" {p["box"]}')
    fp = [e["file"] for e in man["clean"] if any(report.get(e["file"], {}).values())]
    clean = len(man["clean"])
    recall = hit / max(1, planted)
    fp_rate = len(fp) / max(1, clean)
    total = frames + clean
    print(f"frames with planted text: {frames}, planted PHI words: {planted}")
    print(f"recall (box): {hit}/{planted} = {100 * recall:.2f} %   exact text: {100 * exact / max(1, planted):.2f} %")
    print(f"frames flagged (any word reported; what refuse acts on): {flagged}/{frames} = "
          f"{100 * flagged / max(1, frames):.2f} %")
    for s, (h, n) in sorted(by_syntax.items()):
        print(f"  {s}: {h}/{n} = {100 * h / n:.2f} %")
    print(f"false-positive frames (clean CT/MR): {len(fp)}/{clean} = {100 * fp_rate:.2f} %")
    print(f"scan: {secs:.1f} s wall, {cpu:.1f} s CPU for {total} frames = {1000 * secs / total:.0f} ms/frame wall, "
          f"{1000 * cpu / total:.0f} ms/frame CPU (engine start included)")
    for m in missed[:20]:
        print("  missed:", m)
    for f in fp[:10]:
        print("  false positive:", os.path.basename(f))
    if recall < a.min_recall or fp_rate > a.max_fp:
        print(f"FAIL: recall {recall:.4f} (min {a.min_recall}), FP {fp_rate:.4f} (max {a.max_fp})")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
