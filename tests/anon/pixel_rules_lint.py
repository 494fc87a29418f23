#!/usr/bin/python3
"""`dqr lint --pixel-rules FILE [--sample F]...` (issue #14, item 3).

A rules file in CTP's DicomPixelAnonymizer syntax (our own rules) is parsed
and, for each sample, the first matching signature is named with its
file:line:column and its regions (as written, and cut to the sample's size);
a sample no signature matches says so; a rules file that does not parse
exits 2 naming file:line:column; a missing one exits 1; rules and DicomEdit
scripts lint together.
Usage: pixel_rules_lint.py DQR ROOT WORKDIR"""
import os
import shutil
import subprocess
import sys

import pydicom

DQR, ROOT, WORK = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
RULES = """Our test rules, CTP syntax. Free text is commentary.
{ Manufacturer.containsIgnoreCase("nobody") }
(0,0,1,1)

Acme ultrasound, 48 x 64 screen
  { Manufacturer.containsIgnoreCase("ACME") *
    Modality.equals("US") * Rows.equals("48") }
  (0,0,64,8)  (-16,40,32,8)

{ Modality.equals("US") }
(1,2,3,4)
"""
failures = 0


def check(name, cond, detail=""):
    global failures
    print(("ok   " if cond else "FAIL ") + name + ("" if cond else ": %s" % (detail,)))
    failures += 0 if cond else 1


def lint(*args):
    p = subprocess.run([DQR, "lint"] + list(args), capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def sample(src, path, **attrs):
    ds = pydicom.dcmread(src)
    for k, v in attrs.items():
        setattr(ds, k, v)
    ds.save_as(path)
    return path


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    subprocess.run(["/usr/bin/python3", ROOT + "/tools/gen_studies.py", WORK + "/in", "--patients", "1",
                    "--studies", "1", "--series", "1", "--instances", "1", "--rows", "48", "--cols", "64"],
                   check=True, stdout=subprocess.DEVNULL)
    src = next(os.path.join(d, f) for d, _, fs in os.walk(WORK + "/in") for f in fs if f.endswith(".dcm"))
    us = sample(src, WORK + "/us.dcm", Manufacturer="Acme Sonics", Modality="US")
    ct = sample(src, WORK + "/ct.dcm", Manufacturer="Other", Modality="CT")
    rules = WORK + "/site.script"
    open(rules, "w").write(RULES)

    rc, out, err = lint("--pixel-rules", rules, "--sample", us, "--sample", ct)
    lines = out.splitlines()
    check("a good rules file: exit 0", rc == 0, (rc, err))
    check("it says ok and how many signatures", "%s: ok (3 signatures)" % rules in lines, out)
    check("the US sample matches the second signature at its line:column",
          "%s: %s:6:3: signature 2 matches: { Manufacturer.containsIgnoreCase(\"ACME\") * "
          "Modality.equals(\"US\") * Rows.equals(\"48\") }" % (us, rules) in lines, out)
    check("its first region, as written and in pixels",
          "  region (0,0,64,8) -> pixels x 0-64, y 0-8 of 64x48" in lines, out)
    check("a negative left counts from the right edge",
          "  region (-16,40,32,8) -> pixels x 48-64, y 40-48 of 64x48" in lines, out)
    check("the third signature's region is not listed (first match only)", "(1,2,3,4)" not in out, out)
    check("the CT sample matches nothing", "%s: %s: no signature matches" % (ct, rules) in lines, out)

    bad = WORK + "/bad.script"
    open(bad, "w").write("rules\n{ Modality.equals(\"US\") *\n  Rows.isBlank(\"\") }\n(0,0,1,1)\n")
    rc, out, err = lint("--pixel-rules", bad)
    check("an unknown method: exit 2 with file:line:column",
          rc == 2 and err.startswith("dqr: %s:3:8: unknown method 'isBlank'" % bad), (rc, err))
    rc, out, err = lint("--pixel-rules", WORK + "/missing.script")
    check("a missing rules file: exit 1", rc == 1 and err.startswith("dqr: "), (rc, err))

    das = WORK + "/p.das"
    open(das, "w").write('version "6.3"\n(0010,0010) := "X"\n')
    rc, out, err = lint("--pixel-rules", rules, das)
    check("rules and a script together: both reported", rc == 0 and "%s: ok (3 signatures)" % rules in out
          and "%s: ok (DicomEdit 6.3)" % das in out, (rc, out, err))
    rc, out, err = lint("--pixel-rules", bad, das)
    check("a bad rules file fails the run with a good script", rc == 2, (rc, out, err))
    rc, out, err = lint()
    check("no script and no rules: usage error", rc == 2, (rc, err))
    print("%d failure(s)" % failures)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
