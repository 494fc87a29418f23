#!/usr/bin/python3
"""`dqr serve --check-config`: exit 0 and "config ok" for good settings,
creating nothing; exit 2 with the same one-line errors a failed start
prints for a bad config file, a vault key others can read, a catalog newer
than this dqr, an unreadable TLS certificate, an unreachable PostgreSQL
catalog; every problem listed in one run. Usage: check_config.py DQR WORKDIR"""
import os
import shutil
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Checks, free_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
check = Checks()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)


def env_for(name, **extra):
    e = dict(os.environ, DQR_DATA_DIR=f"{WORK}/{name}/var", DQR_VAULT_KEY_FILE=f"{WORK}/{name}/keys/vault.key",
             DQR_UID_SECRET_FILE=f"{WORK}/{name}/keys/uid-secret", DQR_HTTP_PORT=str(free_port()),
             DQR_DICOM_PORT=str(free_port()), DQR_ADMIN_PASSWORD="check-secret-1", HOME=f"{WORK}/{name}",
             DQR_LOG_FILE="-")
    e.pop("DQR_CATALOG", None)
    e.update(extra)
    os.makedirs(f"{WORK}/{name}/keys", exist_ok=True)
    return e


def run(env, *args, timeout=30):
    p = subprocess.run([DQR, "serve", *args], env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def start_error(env, *args):
    """The error lines of a real start that fails (a start that does not fail
    within 10 s is stopped and counts as none)."""
    try:
        rc, _, err = run(env, *args, timeout=10)
    except subprocess.TimeoutExpired:
        return None, ""
    return rc, [ln for ln in err.splitlines() if ln.startswith("dqr: serve: ")]


# good settings: ok, and nothing made (no data dir, no keys)
env = env_for("good")
rc, out, err = run(env, "--check-config")
check("good settings: exit 0", rc == 0, err)
check("good settings: prints config ok", out.strip() == "config ok", out)
check("the check creates no data dir", not os.path.exists(f"{WORK}/good/var"))
check("the check creates no vault key", not os.path.exists(f"{WORK}/good/keys/vault.key"))


def same_as_start(name, env, *args):
    rc, out, err = run(env, "--check-config", *args)
    srv_rc, srv_lines = start_error(env, *args)
    check(f"{name}: exit 2", rc == 2, (rc, err))
    check(f"{name}: no config ok", "config ok" not in out, out)
    lines = err.splitlines()
    check(f"{name}: one-line errors starting dqr:", lines and all(ln.startswith("dqr: ") for ln in lines), err)
    check(f"{name}: the start fails too", srv_rc not in (None, 0), srv_rc)
    check(f"{name}: the same error as the start", srv_lines and all(ln in lines for ln in srv_lines),
          (srv_lines, lines))
    return lines


# a config file that does not parse
bad = f"{WORK}/bad.json"
open(bad, "w").write('{"http_port": 8080,,}')
same_as_start("bad JSON", env_for("json"), "--config", bad)

# a vault key others may read
env = env_for("mode")
open(env["DQR_VAULT_KEY_FILE"], "wb").write(os.urandom(32))
os.chmod(env["DQR_VAULT_KEY_FILE"], 0o644)
same_as_start("vault key 0644", env)

# a catalog a newer dqr left
env = env_for("newer")
os.makedirs(env["DQR_DATA_DIR"], mode=0o700)
db = sqlite3.connect(f"{env['DQR_DATA_DIR']}/catalog.db")
db.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY)")
db.execute("INSERT INTO schema_version VALUES (999)")
db.commit()
db.close()
same_as_start("catalog newer than dqr", env)

# several problems at once: each listed
env = env_for("many", DQR_CATALOG="postgresql://nobody@127.0.0.1:%d/none" % free_port())
open(env["DQR_VAULT_KEY_FILE"], "wb").write(os.urandom(32))
os.chmod(env["DQR_VAULT_KEY_FILE"], 0o640)
junk = f"{WORK}/many/junk.pem"
open(junk, "w").write("not a certificate\n")
os.chmod(junk, 0o600)
cfg = f"{WORK}/many.json"
open(cfg, "w").write('{"http_tls_cert": "%s", "http_tls_key": "%s"}' % (junk, junk))
rc, out, err = run(env, "--check-config", "--config", cfg)
check("several problems: exit 2", rc == 2, err)
check("several problems: the TLS certificate named", any("http_tls_cert" in ln and junk in ln for ln in
                                                          err.splitlines()), err)
check("several problems: the vault key mode", "vault key" in err and "chmod 600" in err, err)
check("several problems: the unreachable catalog", "PostgreSQL catalog" in err, err)
check("several problems: one line each", len(err.splitlines()) == 3, err)
sys.exit(check.finish())
