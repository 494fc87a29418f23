#!/usr/bin/python3
"""A project's pixel-cleaning rules over REST (issue #14, item 3).

Against a running `dqr serve` (catalog migration 8 adds the column): rules
in CTP's DicomPixelAnonymizer syntax (our own) are compiled on save; good
rules are stored and read back (PUT/GET /projects/{id}/pixel-rules, and the
"pixel_rules" member of POST/PUT /projects), "has_pixel_rules" says so; rules
that do not compile answer 400 with line and column and change nothing; null
removes them; a plain user may read but not write. A site rules file that
does not compile stops `dqr serve` with file:line:column (exit 2).
Usage: pixel_rules_rest.py DQR WORKDIR"""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, free_port, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
GOOD = 'Acme US\n{ Manufacturer.containsIgnoreCase("acme") * Modality.equals("US") }\n(0,0,640,40)\n'
BAD = 'Acme US\n{ Manufacturer.containsIgnoreCase("acme") *\n  Modality.isBlank("") }\n(0,0,640,40)\n'


def run(check, api):
    admin = api.login("admin", "pixel-rules-secret-1")
    st, b, _ = api.call("POST", "/api/v1/projects", {"id": "P1", "dqr_enabled": True, "pixel_rules": GOOD},
                        token=admin)
    check("a project is created with pixel rules", st == 201 and b.get("has_pixel_rules") in (1, True), (st, b))
    st, b, _ = api.call("GET", "/api/v1/projects/P1/pixel-rules", token=admin)
    check("the rules read back as sent", st == 200 and b.get("pixel_rules") == GOOD and b.get("project") == "P1",
          (st, b))
    st, b, _ = api.call("PUT", "/api/v1/projects/P1/pixel-rules", {"pixel_rules": BAD}, token=admin)
    check("rules that do not compile: 400 with line and column",
          st == 400 and b.get("line") == 3 and b.get("column") == 12 and "unknown method 'isBlank'" in b.get("error", ""),
          (st, b))
    st, b, _ = api.call("GET", "/api/v1/projects/P1/pixel-rules", token=admin)
    check("... and the stored rules are unchanged", b.get("pixel_rules") == GOOD, b)
    st, b, _ = api.call("POST", "/api/v1/projects", {"id": "P2", "pixel_rules": "{ Rows.equals(\"1\")"}, token=admin)
    check("creating with bad rules: 400 at the '{'", st == 400 and (b.get("line"), b.get("column")) == (1, 1), (st, b))
    st, _, _ = api.call("GET", "/api/v1/projects/P2", token=admin)
    check("... and no project is made", st == 404, st)
    st, b, _ = api.call("PUT", "/api/v1/projects/P1", {"pixel_rules": 7}, token=admin)
    check("pixel_rules must be text", st == 400, (st, b))
    st, b, _ = api.call("PUT", "/api/v1/projects/P1/pixel-rules", {}, token=admin)
    check("PUT without the member says what to send", st == 400 and "pixel_rules" in b.get("error", ""), (st, b))
    st, b, _ = api.call("PUT", "/api/v1/projects/P1", {"name": "Renamed"}, token=admin)
    st, b, _ = api.call("GET", "/api/v1/projects/P1/pixel-rules", token=admin)
    check("an update without the member keeps the rules", b.get("pixel_rules") == GOOD, b)

    st, u, _ = api.call("POST", "/api/v1/users", {"username": "reader", "password": "only-looking-pass-42",
                                                  "role": "user"}, token=admin)
    check("a plain user is created", st == 201, (st, u))
    tok = api.login("reader", "only-looking-pass-42")
    st, b, _ = api.call("PUT", "/api/v1/projects/P1/pixel-rules", {"pixel_rules": GOOD}, token=tok)
    check("a plain user may not write the rules", st == 403, (st, b))

    st, b, _ = api.call("PUT", "/api/v1/projects/P1/pixel-rules", {"pixel_rules": None}, token=admin)
    check("null removes the rules", st == 200 and b.get("has_pixel_rules") in (0, False), (st, b))
    st, b, _ = api.call("GET", "/api/v1/projects/P1/pixel-rules", token=admin)
    check("... and they read back as null", st == 200 and b.get("pixel_rules") is None, (st, b))


def bad_site_file(check, env):
    path = WORK + "/site-bad.script"
    open(path, "w").write(BAD)
    env = dict(env, DQR_PIXEL_RULES_FILE=path, DQR_HTTP_PORT=str(free_port()))
    try:  # subprocess.run kills the server if it runs on regardless
        p = subprocess.run([DQR, "serve"], env=env, capture_output=True, text=True, timeout=20)
        rc, err = p.returncode, p.stderr
    except subprocess.TimeoutExpired:
        rc, err = None, "still running after 20 s"
    check("a site rules file that does not compile stops dqr serve (exit 2, file:line:column)",
          rc == 2 and "pixel_rules_file: %s:3:12: unknown method 'isBlank'" % path in err, (rc, err))


def main():
    check = Checks()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    port = free_port()
    site = WORK + "/site.script"
    open(site, "w").write(GOOD)
    env = serve_env(WORK, "pixel-rules-secret-1", port, free_port())
    bad_site_file(check, env)
    log = open(WORK + "/serve.log", "w")
    serve = subprocess.Popen([DQR, "serve"], env=dict(env, DQR_PIXEL_RULES_FILE=site), stdout=log,
                             stderr=subprocess.STDOUT)
    try:
        if check("dqr serve starts with a good site rules file", wait_port(port)):
            run(check, Api(port))
    finally:
        serve.terminate()
        serve.wait(30)
    return check.finish()


if __name__ == "__main__":
    sys.exit(main())
