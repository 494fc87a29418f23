#!/usr/bin/python3
"""POST /api/v1/scripts/lint runs the script (issue #13, item 4).

Against a running `dqr serve`: a script that parses but fails at run time on
the built-in sample (a date shift of the TM StudyTime, a variable no import
supplies) answers 200 with "ok": false and each finding in "runtime" (script,
line, column, message, sample, text); a script that runs answers "ok": true
with no findings; the import's variables (project, subject, session) are set;
with "with_site", the site script runs first and its own run-time error is
named; a parse error is still a 400 with line and column.
Usage: lint_rest.py DQR WORKDIR"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, free_port, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
V = 'version "6.3"\n'
TM_SHIFT = V + '// StudyTime is TM\n(0008,0030) := shiftDateByIncrement[(0008,0030), "2", "days"]\n'
GOOD = V + '(0010,0010) := subject\n(0010,0020) := format["{0}_{1}", project, session]\n'


def lint(api, tok, body):
    return api.call("POST", "/api/v1/scripts/lint", body, token=tok)[:2]


def run(check, api):
    admin = api.login("admin", "lint-runtime-secret-1")
    st, user, _ = api.call("POST", "/api/v1/users", {"username": "linter", "password": "lint-only-account-42",
                                                     "role": "user"}, token=admin)
    check("a plain user is created", st == 201, user)
    tok = api.login("linter", "lint-only-account-42")

    st, b = lint(api, tok, {"script": TM_SHIFT})
    rt = b.get("runtime", []) if isinstance(b, dict) else []
    check("a TM shift: 200, ok false", st == 200 and b.get("ok") is False, (st, b))
    check("the finding names script, line, column and the sample",
          len(rt) == 1 and rt[0].get("line") == 3 and rt[0].get("column") == 16 and rt[0].get("sample") == "built-in"
          and rt[0].get("kind") == "run-time"
          and rt[0].get("message") == "shiftDateByIncrement: the attribute has VR TM, not DA", rt)
    check("the finding's text is the line dqr lint prints",
          rt and rt[0].get("text") == "script:3:16: run-time: shiftDateByIncrement: the attribute has VR TM, not DA "
                                      "(on sample built-in)", rt)
    check("the untouched list is still there", isinstance(b.get("untouched"), list) and b["untouched"], b)

    st, b = lint(api, tok, {"script": GOOD})
    check("a script using project, subject and session runs: ok true, no findings",
          st == 200 and b.get("ok") is True and b.get("runtime") == [], (st, b))
    st, b = lint(api, tok, {"script": V + "(0008,1030) := site\n"})
    rt = b.get("runtime", [])
    check("a variable no import supplies is a run-time finding at its line:column",
          st == 200 and b.get("ok") is False and len(rt) == 1 and (rt[0]["line"], rt[0]["column"]) == (2, 16)
          and "unknown variable 'site'" in rt[0]["message"], (st, b))

    st, b = lint(api, tok, {"script": V + "(0010,0010) := \n"})
    check("a parse error is still 400 with line and column", st == 400 and b.get("line") == 2, (st, b))

    # with_site: the default site step (Basic profile + labels) runs first
    st, b = lint(api, tok, {"script": GOOD, "with_site": True, "project": "P9"})
    check("with the default site step the good script runs", st == 200 and b.get("ok") is True, (st, b))
    st, _, _ = api.call("PUT", "/api/v1/settings/site-script", {"script": TM_SHIFT}, token=admin)
    check("a site script that parses is stored", st == 200)
    st, b = lint(api, tok, {"script": GOOD, "with_site": True})
    rt = b.get("runtime", [])
    check("with_site: the site script's run-time error is named, the project script judged on its own",
          st == 200 and b.get("ok") is False and len(rt) == 1 and rt[0].get("script") == "site script"
          and rt[0].get("line") == 3, (st, b))
    st, b = lint(api, tok, {"script": GOOD})
    check("without with_site the site script does not run", st == 200 and b.get("ok") is True, (st, b))
    # the dry run uses the same built-in sample (anon_sample_dataset, moved to src/anon)
    api.call("PUT", "/api/v1/settings/site-script", {"script": None}, token=admin)
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Lint", "dqr_enabled": True}, token=admin)
    st, b, _ = api.call("POST", "/api/v1/projects/P1/dry-run", {"script": V + '(0008,1030) := "Brain"\n'},
                        token=admin)
    row = [c for c in b.get("changes", []) if c.get("keyword") == "StudyDescription"] if st == 200 else []
    check("the dry run still shows the built-in sample's values",
          b.get("sample") == "built-in" and row and row[0]["before"] == "MR BRAIN" and row[0]["after"] == "Brain",
          (st, b))
    st, b = lint(api, tok, {"script": V + '(0008,0060) = "MR" ? reject[]\n'})
    rt = b.get("runtime", [])
    check("reject[] on the sample is a note: ok true, kind rejected",
          st == 200 and b.get("ok") is True and len(rt) == 1 and rt[0].get("kind") == "rejected", (st, b))


def main():
    check = Checks()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    port = free_port()
    env = serve_env(WORK, "lint-runtime-secret-1", port, free_port())
    log = open(WORK + "/serve.log", "w")
    serve = subprocess.Popen([DQR, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        if check("dqr serve starts", wait_port(port)):
            run(check, Api(port))
    finally:
        serve.terminate()
        serve.wait(30)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
