#!/usr/bin/python3
"""Every public DicomEdit 6 script of the shared corpus (XNAT's DE_6
integration scripts and the numbered site scripts with a version line) is
linted and run with `dqr anonymize` over a generated study. Each must lint
clean and run (written or rejected), except the few listed in EXPECTED with
the reason; one of those that starts to run is reported, so the list shrinks.

The corpus is not in the repository (its licences vary): the test skips
(exit 77) when ../shared/data/dicomedit-scripts is absent, or takes the
folder from $DQR_DICOMEDIT_SCRIPTS.

Usage: de6_corpus.py DQR WORKDIR"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
import peers  # noqa: E402
from corpus import corpus_dir  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# script (relative to the corpus) -> a substring of the error dqr gives.
EXPECTED = {
    # dqr does not fetch URLs while de-identifying
    "xnat-rest-tests/DE_6/getURL.das": "getURL is not supported",
    # urlEncode is no DicomEdit 6 built-in: XNAT marks its DE 6 test an expected failure (DE-7)
    "xnat-rest-tests/DE_6/urlEncode.das": "no function 'urlEncode'",
    # they read attributes the generated study lacks; the reference fails too
    "xnat-rest-tests/DE_6/shiftDate.das": "the value to shift is missing",
    "xnat-rest-tests/DE_6/shiftDateTime.das": "the value to shift is missing",
    "xnat-rest-tests/DE_6/shiftDateTimePrecision.das": "the value to shift is missing",
    "xnat-rest-tests/DE_6/collectAndBlankValues/valuePreservation.das": "concatenate: argument 2 has no value",
    "xnat-rest-tests/DE_6/ifElseVariableScope.das": "unknown variable 'var4'",
}



def scripts(corpus):
    found = []
    for dirpath, _, files in os.walk(os.path.join(corpus, "xnat-rest-tests", "DE_6")):
        found += [os.path.join(dirpath, f) for f in files if f.endswith(".das")]
    for f in os.listdir(corpus):
        path = os.path.join(corpus, f)
        if f[:2].isdigit() and f.endswith(".das"):
            with open(path, errors="replace") as fh:
                if any(line.strip().startswith("version") for line in fh):
                    found.append(path)
    return sorted(found)


def main():
    dqr, work = sys.argv[1], sys.argv[2]
    corpus = corpus_dir(ROOT)
    if not corpus:
        print("SKIP: the shared DicomEdit corpus (../shared/data/dicomedit-scripts) is absent")
        return 77
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    study = os.path.join(work, "study")
    peers.generate(ROOT, study, "--patients", "1", "--studies", "1", "--series", "1",
                   "--instances", "2", "--rows", "8", "--cols", "8")
    secret = os.path.join(work, "secret")
    with open(os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as fh:
        fh.write(os.urandom(32))
    check = peers.Checks()
    for path in scripts(corpus):
        name = os.path.relpath(path, corpus)
        want = EXPECTED.get(name)
        lint = subprocess.run([dqr, "lint", path], capture_output=True, text=True)
        # lint runs the script on its sample too: a listed failure shows there as a run-time error
        check(f"{name}: lints", lint.returncode == 0 or (want and lint.returncode == 2 and "run-time:" in lint.stderr),
              lint.stderr)
        out = os.path.join(work, "out")
        shutil.rmtree(out, ignore_errors=True)
        run = subprocess.run([dqr, "anonymize", "--uid-secret", secret, "--var", "project=P",
                              "--var", "subject=S", "--var", "session=E", "--var", "modalityLabel=MR",
                              "--script", path, study, out], capture_output=True, text=True)
        if want:
            check(f"{name}: fails as listed ({want})", run.returncode == 1 and want in run.stderr,
                  run.stderr or "it runs now: take it off EXPECTED")
        else:
            check(f"{name}: runs", run.returncode == 0 and " 0 failed," in run.stdout,
                  run.stdout + run.stderr)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
