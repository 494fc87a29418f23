#!/usr/bin/python3
"""Measure dqr against the shared corpus of public DicomEdit scripts.

For each script of the corpus (the 17 numbered deployment scripts and NRG's
xnat-rest-tests DE_4 and DE_6 scripts under ../shared/data/dicomedit-scripts):
does `dqr lint` accept it, and does `dqr anonymize` run it over a study made
by tools/gen_studies.py (with the variables an import has: project, subject,
session)? What is known to differ from XNAT is said beside it.

  tools/dicomedit_compat.py            regenerate: the table between the
                                       markers in docs/dicomedit.md and the
                                       baseline tests/anon/dicomedit_corpus.baseline
  tools/dicomedit_compat.py --check    compare with the baseline: exit 1 if a
                                       script that ran no longer runs; scripts
                                       that now run are listed (regenerate to
                                       record them)

Options: --dqr PATH (default build/dqr), --baseline FILE, --corpus DIR (default
$DQR_SHARED_DIR/data/dicomedit-scripts, else ../shared/... beside the repo).
Without the corpus the tool says so and exits 77 (ctest counts it skipped).
The scripts are read in place, never copied into the repository.
Needs Debian's python3-pydicom for the generator (run with /usr/bin/python3).
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOC = os.path.join(ROOT, "docs", "dicomedit.md")
BASELINE = os.path.join(ROOT, "tests", "anon", "dicomedit_corpus.baseline")
BEGIN, END = "<!-- dicomedit-compat:begin -->", "<!-- dicomedit-compat:end -->"
SKIP = 77
# what XNAT supplies to a script: the labels, and the modality label of the
# session (DicomEdit 4 reads host variables lowercased)
VARS = ["project=P1", "subject=S01", "session=S01_MR1", "modalityLabel=MR", "modalitylabel=MR"]

# What is known to differ from XNAT for scripts using a feature, by design
# (docs/dicomedit.md, "Functions"). The corpus holds no expected outputs, and
# NRG's tests check values on their own test data, so no output is compared.
KNOWN = [
    (re.compile(r"\balterPixels\s*\["), "dqr blanks the region in every frame as the file is written, r and b exclusive [unchecked against XNAT]; lossy sources are written Explicit VR LE (docs/pixel.md)"),
    (re.compile(r"\bgetURL\s*\["), "dqr refuses getURL (no fetching while de-identifying)"),
    (re.compile(r"\bmapUID\s*\[|\bmapReferencedUIDs\s*\["), "mapUID: dqr's map is keyed by the site secret (XNAT's is random per process)"),
    (re.compile(r"\blookup\s*\["), "lookup[] needs a table (--lookup); none is given here"),
    (re.compile(r"\bnewUID\s*\["), "newUID: random in both, values differ run to run"),
]

# Scripts whose test in NRG's suite (xnat-rest-tests @ 374f756c,
# src/test/java/org/nrg/testing/xnat/tests/dicomedit/TestAnonymization*.java)
# is marked @ExpectedFailure: XNAT itself does not give the result the test
# checks (the Jira issue named).
XNAT_EXPECTED_FAILURE = {
    "xnat-rest-tests/DE_6/urlEncode.das": "DE-7",
    "xnat-rest-tests/DE_6/set.das": "DE-52",
    "xnat-rest-tests/DE_6/assignToNull.das": "DE-47",
    "xnat-rest-tests/DE_6/standardSequenceDeleteLastItem.das": "DE-91",
    "xnat-rest-tests/DE_6/privateAssignIfExists.das": "DE-14",
    "xnat-rest-tests/DE_6/privateAssignment.das": "DE-14",
    "xnat-rest-tests/DE_4/recentVrMod.das": "DE-119",
    "xnat-rest-tests/DE_6/recentVrMod.das": "DE-119",
}


def corpus_scripts(corpus):
    """The corpus's scripts, in table order: numbered, then DE_6, then DE_4."""
    numbered = sorted(f for f in os.listdir(corpus) if f.endswith(".das"))
    out = [f for f in numbered]
    for sub in ("xnat-rest-tests/DE_6", "xnat-rest-tests/DE_4"):
        base = os.path.join(corpus, sub)
        found = []
        for d, _, files in os.walk(base):
            found += [os.path.relpath(os.path.join(d, f), corpus) for f in files if f.endswith(".das")]
        out += sorted(found)
    return out


def version_of(text):
    m = re.search(r'^\s*version\s+"([^"]*)"', text, re.M)
    return m.group(1) if m else "none (DE 4)"


def first_error(stderr, path):
    """The first `dqr:` line, without the script's folder, made table-safe."""
    for line in stderr.splitlines():
        if line.startswith("dqr: ") and not line.startswith("dqr: note:"):
            msg = line[5:].replace(os.path.dirname(path) + "/", "")
            msg = re.sub(r"^\S*/im\d+\.dcm: ", "", msg).replace(" (not written)", "")
            return msg if len(msg) <= 140 else msg[:137] + "..."
    return stderr.strip().splitlines()[-1][:140] if stderr.strip() else "failed"


def cell(s):
    return s.replace("|", "\\|").replace("\n", " ")


def measure(dqr, corpus, rel, study, work, secret):
    path = os.path.join(corpus, rel)
    text = open(path, encoding="utf-8", errors="replace").read()
    row = {"script": rel, "version": version_of(text)}
    lint = subprocess.run([dqr, "lint"] + [a for v in VARS for a in ("--var", v)] + [path],
                          capture_output=True, text=True, errors="replace")
    errs = [l for l in lint.stderr.splitlines() if l.startswith("dqr: ")]
    if lint.returncode == 0:
        row["lint"] = "ok"
    elif lint.returncode == 2 and errs and all(": run-time: " in l for l in errs):
        row["lint"] = "parses; fails on the built-in sample"
    else:
        row["lint"] = "refused: " + first_error(lint.stderr, path)
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    argv = [dqr, "anonymize", "--quiet", "--no-sync", "--jobs", "1", "--uid-secret", secret, "--script", path]
    for v in VARS:
        argv += ["--var", v]
    run = subprocess.run(argv + [study, out], capture_output=True, text=True, errors="replace")
    summary = re.search(r"(\d+) written, (\d+) rejected", run.stdout + run.stderr)
    if run.returncode == 0:
        rejected = summary and summary.group(2) != "0"
        row["runs"] = "yes (rejects the instances)" if rejected else "yes"
        row["ran"] = True
    else:
        row["runs"] = "no (refused)" if row["lint"].startswith("refused") else "no: " + first_error(run.stderr, path)
        row["ran"] = False
    notes = [n for rx, n in KNOWN if rx.search(text)]
    if rel in XNAT_EXPECTED_FAILURE:
        notes.append(f"XNAT fails NRG's own test of it too (@ExpectedFailure, {XNAT_EXPECTED_FAILURE[rel]})")
    row["notes"] = "; ".join(notes)
    return row


def table(rows):
    ran = sum(r["ran"] for r in rows)
    lines = [BEGIN, "",
             f"**{ran} of {len(rows)} run** on a generated CT study (`tools/gen_studies.py --seed 13`, 1 series of "
             f"2 instances; variables {', '.join(VARS)}). Regenerate with `tools/dicomedit_compat.py` (it also "
             "writes tests/anon/dicomedit_corpus.baseline, which the `dicomedit_corpus` test checks).", ""]
    groups = [("Deployment and documentation scripts", lambda r: "/" not in r["script"]),
              ("xnat-rest-tests DE_6", lambda r: r["script"].startswith("xnat-rest-tests/DE_6/")),
              ("xnat-rest-tests DE_4", lambda r: r["script"].startswith("xnat-rest-tests/DE_4/"))]
    for title, keep in groups:
        part = [r for r in rows if keep(r)]
        lines += [f"#### {title}: {sum(r['ran'] for r in part)} of {len(part)} run", "",
                  "| script | version | `dqr lint` | runs | differs from XNAT (known) |", "|---|---|---|---|---|"]
        for r in part:
            name = r["script"].split("/", 2)[-1] if "/" in r["script"] else r["script"]
            lines.append(f"| {cell(name)} | {cell(r['version'])} | {cell(r['lint'])} | {cell(r['runs'])} | "
                         f"{cell(r['notes'])} |")
        lines.append("")
    lines.append(END)
    return "\n".join(lines)


INTRO = """## Compatibility with the public scripts

Measured by `tools/dicomedit_compat.py` over the corpus in
`../shared/data/dicomedit-scripts` (see its SOURCES.md; the scripts are not in
this repository). Per script: its `version`; what `dqr lint` says (`ok`: it
parses and runs on the built-in sample; `parses; fails on the built-in
sample`: a run-time error; `refused`: the parse error); whether `dqr
anonymize` runs it over a generated study, and its first error if not; and
what is known to differ from XNAT. The corpus gives no expected outputs, so
no values are compared here; the behaviours that NRG's tests check are cases
in tests/anon/cases.

"""


def write_doc(text):
    doc = open(DOC, encoding="utf-8").read()
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + text + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + INTRO + text + "\n"
    open(DOC, "w", encoding="utf-8").write(doc)


def default_corpus():
    shared = os.environ.get("DQR_SHARED_DIR") or os.path.join(os.path.dirname(ROOT), "shared")
    return os.path.join(shared, "data", "dicomedit-scripts")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dqr", default=os.path.join(ROOT, "build", "dqr"))
    ap.add_argument("--corpus", default=default_corpus())
    ap.add_argument("--check", action="store_true", help="compare with the baseline instead of rewriting")
    ap.add_argument("--baseline", default=BASELINE, help="the baseline file (default %(default)s)")
    a = ap.parse_args()
    if not os.path.isdir(a.corpus):
        print(f"dicomedit_compat: no corpus at {a.corpus}: skipped")
        return SKIP
    work = tempfile.mkdtemp(prefix="dqr-compat-")
    try:
        study = os.path.join(work, "study")
        subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_studies.py"), study, "--patients", "1",
                        "--studies", "1", "--series", "1", "--instances", "2", "--rows", "16", "--cols", "16",
                        "--seed", "13"], check=True, stdout=subprocess.DEVNULL)
        os.remove(os.path.join(study, "manifest.json"))  # not DICOM: would be counted as skipped
        secret = os.path.join(work, "secret")
        with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(b"dicomedit-compat-uid-secret-0013")
        rows = [measure(a.dqr, a.corpus, rel, study, work, secret) for rel in corpus_scripts(a.corpus)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ran = sorted(r["script"] for r in rows if r["ran"])
    print(f"{len(ran)} of {len(rows)} run")
    if a.check:
        before = [l.strip() for l in open(a.baseline) if l.strip() and not l.startswith("#")]
        lost = [s for s in before if s not in ran]
        new = [s for s in ran if s not in before]
        for r in rows:
            if r["script"] in lost:
                print(f"REGRESSION {r['script']}: ran before, now {r['runs']}")
        for s in new:
            print(f"now runs   {s} (run tools/dicomedit_compat.py to record it)")
        return 1 if lost else 0
    write_doc(table(rows))
    with open(a.baseline, "w") as f:
        f.write("# Scripts of the shared corpus that dqr runs (tools/dicomedit_compat.py writes this;\n"
                "# the dicomedit_corpus test fails if one of them stops running).\n")
        f.writelines(s + "\n" for s in ran)
    print(f"wrote {os.path.relpath(DOC, ROOT)} and {os.path.relpath(a.baseline, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
