#!/usr/bin/python3
"""Accounts of `dqr serve` as an attacker on the network would try them:
ids never reused (a new user or PACS inherits nothing of a deleted one),
deleting a user disables it, the login throttle (per account and per
address, 429 with Retry-After, growing lockout), the same answer time for
unknown users and wrong passwords, the password policy (also for the
bootstrap admin), tokens revoked by password changes, the API token
lifetime and its last use, and the bound on concurrent password hashes
(peak RSS of 32 parallel logins). Needs no PACS: imports and queries aim at
a closed port, which still records them. Usage: accounts.py DQR WORKDIR"""
import concurrent.futures
import datetime
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, free_port, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
check = Checks()
ADMIN_PW = "gateway-secret-1"
running = []
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
PG = os.environ.get("DQR_CATALOG", "").startswith("postgresql:")


def env_for(name, extra=None):
    e = dict(os.environ, DQR_DATA_DIR=f"{WORK}/{name}", DQR_VAULT_KEY_FILE=f"{WORK}/keys/{name}.key",
             DQR_UID_SECRET_FILE=f"{WORK}/keys/uid-secret", DQR_HTTP_PORT=str(free_port()),
             DQR_DICOM_PORT=str(free_port()), DQR_ADMIN_PASSWORD=ADMIN_PW, HOME=WORK + "/home",
             DQR_LOG_FILE="-")
    if name != "main":  # only the main server uses the suite's catalog (DQR_CATALOG)
        e.pop("DQR_CATALOG", None)
    e.update(extra or {})
    return e


def start(name, extra=None):
    """dqr serve on a data dir of its own; returns (process, Api)."""
    e = env_for(name, extra)
    p = subprocess.Popen([DQR, "serve"], env=e, stdout=subprocess.DEVNULL,
                         stderr=open(f"{WORK}/{name}.stderr", "w"))
    running.append(p)
    port = int(e["DQR_HTTP_PORT"])
    if not wait_port(port):
        print(f"FAIL dqr serve ({name}) did not start")
    return p, Api(port)


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(30)


def login(api, user, pw):
    return api.call("POST", "/api/v1/login", {"username": user, "password": pw})


def hwm_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


try:
    # ---- the bootstrap admin password passes the policy, or no start --------------------
    for pw, why in (("short-pw", "at least 12"), ("my-admin-password", "user name")):
        e = env_for("boot-" + str(len(pw)), {"DQR_ADMIN_PASSWORD": pw})
        try:  # run kills the server if it starts serving instead
            p = subprocess.run([DQR, "serve"], env=e, capture_output=True, text=True, timeout=15)
            rc, lines = p.returncode, p.stderr.strip().splitlines()
        except subprocess.TimeoutExpired:
            rc, lines = "still serving after 15 s", []
        check(f"admin_password '{pw}' refused: exit 2, one line saying why",
              rc == 2 and len(lines) == 1 and lines[0].startswith("dqr: ") and "admin_password" in lines[0]
              and why in lines[0], (rc, lines))

    serve, api = start("main", {"DQR_LOGIN_LOCKOUT_SECONDS": "2", "DQR_LOGIN_ADDRESS_MAX_FAILURES": "1000"})
    st, b, _ = login(api, "admin", ADMIN_PW)
    T = b.get("token") if st == 200 else None
    check("admin logs in", T, b)
    H = {"token": T}

    def call(method, path, body=None, token=None):
        return api.call(method, path, body, token=token or T)

    # ---- ids are never reused; a deleted user is disabled and keeps its history ------------
    dead = free_port()
    st, b, _ = call("POST", "/api/v1/pacs", {"label": "Closed", "aet": "CLOSED", "host": "127.0.0.1", "port": dead})
    P = b.get("id")
    call("POST", "/api/v1/projects", {"id": "P1", "name": "P1", "dqr_enabled": True})
    st, b, _ = call("POST", "/api/v1/users", {"username": "alice", "password": "wonderland-42x", "role": "user",
                                              "phi": True})
    alice_id = b.get("id")
    call("PUT", f"/api/v1/users/{alice_id}/grants", {"pacs": [P], "projects": ["P1"]})
    alice = api.login("alice", "wonderland-42x")
    st, b, _ = call("POST", "/api/v1/query", {"pacs": P, "level": "STUDY", "keys": {"PatientName": "SECRET^ALICE*"}},
                    token=alice)
    st, b, _ = call("GET", "/api/v1/history/queries", token=alice)
    alice_q = [q["id"] for q in b.get("queries", [])]
    st, b, _ = call("POST", "/api/v1/imports", {"pacs": P, "project": "P1", "studies": [
        {"StudyInstanceUID": "1.2.826.0.1.3680043.2.1143.1", "subject": "S01", "session": "S01_MR1"}]}, token=alice)
    check("alice has a query and an import", alice_q and st == 201, (alice_q, st, b))
    st, b, _ = call("DELETE", f"/api/v1/users/{alice_id}")
    check("DELETE /users/{id}: disabled, not removed", st == 200 and b.get("disabled") is True, b)
    st, b, _ = call("GET", f"/api/v1/users/{alice_id}")
    check("the deleted user is still there, disabled", st == 200 and b.get("disabled") in (1, True), b)
    st, b, _ = call("GET", "/api/v1/me", token=alice)
    check("the deleted user's token stopped working", st == 401, b)
    check("the deleted user cannot log in", login(api, "alice", "wonderland-42x")[0] == 401)
    st, b, _ = call("POST", "/api/v1/users", {"username": "bob", "password": "builder-pw-77", "role": "user",
                                              "phi": True})
    bob_id = b.get("id")
    check("the next user gets a new id", st == 201 and bob_id not in (None, alice_id) and bob_id > alice_id, b)
    st, b, _ = call("POST", "/api/v1/users", {"username": "alice", "password": "another-pass-99", "role": "user"})
    check("a deleted user's name stays taken: 409 saying so", st == 409 and "stays taken" in b.get("error", ""), b)
    call("PUT", f"/api/v1/users/{bob_id}/grants", {"pacs": [P], "projects": ["P1"]})
    bob = api.login("bob", "builder-pw-77")
    st, b, _ = call("GET", "/api/v1/history/queries", token=bob)
    check("the new user sees none of the old one's queries", st == 200 and b["queries"] == [], b)
    st, b, _ = call("GET", "/api/v1/imports", token=bob)
    check("the new user sees none of the old one's imports", st == 200 and b["imports"] == [], b)
    st, b, _ = call("GET", f"/api/v1/history/queries/{alice_q[0] if alice_q else 1}/keys", token=bob)
    check("the new user cannot open the old one's sealed keys", st == 404 and "SECRET" not in str(b), b)
    st, b, _ = call("GET", f"/api/v1/history/queries/{alice_q[0] if alice_q else 1}/keys")
    check("the old user's sealed keys stay bound to it (admin view)", st == 200 and
          b["keys"].get("PatientName") == "SECRET^ALICE*", b)

    st, b, _ = call("DELETE", f"/api/v1/pacs/0{P}")  # the path spells the id differently
    check("PACS deleted by /pacs/0ID", st == 200, b)
    st, b, _ = call("GET", f"/api/v1/users/{bob_id}/grants")
    check("its grants went with it, by id", st == 200 and b["pacs"] == [], b)
    st, b, _ = call("POST", "/api/v1/pacs", {"label": "Closed", "aet": "CLOSED", "host": "127.0.0.1", "port": dead})
    P2 = b.get("id")
    check("a new PACS with the same label gets a new id", st == 201 and P2 != P, b)
    st, b, _ = call("GET", "/api/v1/pacs", token=bob)
    check("the user has no grant on the new PACS", st == 200 and b["pacs"] == [], b)

    # ---- password policy ----------------------------------------------------------
    st, b, _ = call("POST", "/api/v1/users", {"username": "carol", "password": "eleven-char", "role": "user"})
    check("new user: an 11-character password is refused", st == 400 and "at least 12" in b.get("error", ""), b)
    st, b, _ = call("POST", "/api/v1/users", {"username": "carol", "password": "my-CAROL-password", "role": "user"})
    check("new user: a password containing the user name is refused", st == 400 and "user name" in b["error"], b)
    st, b, _ = call("POST", "/api/v1/users", {"username": "carol", "password": "sea-shells-shore", "role": "user"})
    carol_id = b.get("id")
    check("new user: a good password is accepted", st == 201, b)
    st, b, _ = call("PUT", f"/api/v1/users/{carol_id}", {"password": "xxcarolxx-long"})
    check("reset: a password containing the user name is refused", st == 400 and "user name" in b["error"], b)

    # ---- changing or resetting a password ends the user's other tokens -------------------
    a1, a2 = api.login("carol", "sea-shells-shore"), api.login("carol", "sea-shells-shore")
    st, b, _ = call("POST", "/api/v1/tokens", {"name": "script"}, token=a1)
    api_tok = b.get("token")
    st, b, _ = call("PUT", "/api/v1/me/password", {"old": "sea-shells-shore", "new": "short"}, token=a1)
    check("change: the policy applies", st == 400 and "at least 12" in b.get("error", ""), b)
    st, b, _ = call("PUT", "/api/v1/me/password", {"old": "sea-shells-shore", "new": "ocean-waves-2026"}, token=a1)
    check("change own password", st == 200, b)
    check("the token that changed it still works", call("GET", "/api/v1/me", token=a1)[0] == 200)
    check("another session of the user ended", call("GET", "/api/v1/me", token=a2)[0] == 401)
    check("the user's API token ended", call("GET", "/api/v1/me", token=api_tok)[0] == 401)
    st, b, _ = call("PUT", f"/api/v1/users/{carol_id}", {"password": "harbour-lights-9"})
    check("admin resets the password", st == 200, b)
    check("a reset ends every token of the user", call("GET", "/api/v1/me", token=a1)[0] == 401)
    check("the new password works", api.login("carol", "harbour-lights-9") is not None)

    # ---- API tokens: maximum lifetime, last use --------------------------------------
    st, b, _ = call("POST", "/api/v1/tokens", {"name": "long", "days": 366})
    check("an API token longer than api_token_max_days is refused", st == 400 and "365" in b.get("error", ""), b)
    st, b, _ = call("POST", "/api/v1/tokens", {"name": "default"})
    tok, tok_id = b.get("token"), b.get("id")
    exp = datetime.datetime.fromisoformat(b["expires"].replace("Z", "+00:00")) if b.get("expires") else None
    left = (exp - datetime.datetime.now(datetime.timezone.utc)).days if exp else None
    check("an API token without days lives api_token_max_days", st == 201 and left in (364, 365), b)

    def epoch(iso):
        return int(datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()) if iso else None

    def token_row(tid):
        st, b, _ = call("GET", "/api/v1/tokens")
        return next((t for t in b.get("tokens", []) if t["id"] == tid), {})

    check("a new token has no last use", "last_used" in token_row(tok_id) and token_row(tok_id)["last_used"] is None,
          token_row(tok_id))
    t0 = int(time.time())
    call("GET", "/api/v1/me", token=tok)
    lu = epoch(token_row(tok_id).get("last_used"))
    check("its use is recorded", lu and abs(lu - t0) <= 2, token_row(tok_id))
    if not PG:
        db = sqlite3.connect(f"{WORK}/main/catalog.db", timeout=10)
        db.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (t0 - 30, tok_id))
        db.commit()
        call("GET", "/api/v1/me", token=tok)
        check("used again within a minute: no write", epoch(token_row(tok_id).get("last_used")) == t0 - 30,
              token_row(tok_id))
        db.execute("UPDATE tokens SET last_used = ? WHERE id = ?", (t0 - 120, tok_id))
        db.commit()
        call("GET", "/api/v1/me", token=tok)
        check("used a minute later: recorded again", (epoch(token_row(tok_id).get("last_used")) or 0) >= t0,
              token_row(tok_id))
        db.execute("UPDATE tokens SET expires = 0, created = ? WHERE id = ?", (t0 - 400 * 86400, tok_id))
        db.commit()
        db.close()
        check("an older API token without expiry ends after api_token_max_days",
              call("GET", "/api/v1/me", token=tok)[0] == 401)

    # ---- same answer time for unknown users, disabled users and wrong passwords -------------
    for u in ("tim1", "tim2", "tim3", "tim4"):
        st, b, _ = call("POST", "/api/v1/users", {"username": u, "password": "timing-pass-word", "role": "user"})
        if u in ("tim3", "tim4"):
            call("PUT", f"/api/v1/users/{b.get('id')}", {"disabled": True})
    times = {"wrong": [], "unknown": [], "disabled": []}
    statuses = set()
    for i in range(8):  # four tries per account: below the lockout
        for kind, user in (("wrong", f"tim{1 + i % 2}"), ("unknown", f"nobody{i}"), ("disabled", f"tim{3 + i % 2}")):
            t = time.perf_counter()
            st, b, _ = login(api, user, "timing-pass-word" if kind == "disabled" else f"bad-guess-{i}")
            times[kind].append(time.perf_counter() - t)
            statuses.add(st)
    check("wrong password, unknown and disabled user: all 401", statuses == {401}, statuses)
    med = {k: statistics.median(v) for k, v in times.items()}
    check("unknown user answers as slowly as a wrong password (ratio 0.5-2)",
          0.5 <= med["unknown"] / med["wrong"] <= 2.0, med)
    check("disabled user answers as slowly as a wrong password (ratio 0.5-2)",
          0.5 <= med["disabled"] / med["wrong"] <= 2.0, med)

    # ---- the throttle: per account -----------------------------------------------------
    call("POST", "/api/v1/users", {"username": "dave", "password": "pebble-beach-7", "role": "user"})
    sts = [login(api, "dave", f"guess-{i}")[0] for i in range(5)]
    check("five wrong passwords: 401 each", sts == [401] * 5, sts)
    st, b, r = login(api, "dave", "pebble-beach-7")
    ra = r.getheader("Retry-After")
    check("then even the right password: 429 with Retry-After and a sentence",
          st == 429 and ra and 1 <= int(ra) <= 2 and
          b.get("error", "").startswith("too many failed logins; try again in ") and b["error"].endswith(" s"), (st, b, ra))
    time.sleep(2.2)
    st, b, r = login(api, "dave", "guess-6")
    check("after the lockout: one more failure is a 401", st == 401, b)
    st, b, r = login(api, "dave", "pebble-beach-7")
    ra = r.getheader("Retry-After")
    check("and locks it again, for longer (doubled)", st == 429 and ra and int(ra) >= 3, (st, b, ra))
    time.sleep(int(ra or 4) + 0.2)
    check("after the lockout the right password works", login(api, "dave", "pebble-beach-7")[0] == 200)
    sts = [login(api, "dave", f"guess-{i}")[0] for i in range(4)]
    check("a success reset the count: four failures, still 401", sts == [401] * 4, sts)
    check("and the right password works", login(api, "dave", "pebble-beach-7")[0] == 200)
    sts = [login(api, "no-such-user", f"guess-{i}")[0] for i in range(6)]
    check("an unknown account is throttled the same way (no telling)", sts == [401] * 5 + [429], sts)
    if not PG:
        db = sqlite3.connect(f"{WORK}/main/catalog.db", timeout=10)
        actions = {a for (a,) in db.execute("SELECT DISTINCT action FROM audit")}
        db.close()
        want = {"login_failure", "login_lockout", "password_change", "token_revoke", "user_disable"}
        check("audited: " + ", ".join(sorted(want)), want <= actions, actions)

    # ---- concurrent password hashes are bounded (peak memory) -------------------------------
    login(api, "admin", ADMIN_PW)
    before = hwm_kib(serve.pid)
    for u in ("eve1", "eve2", "eve3", "eve4", "eve5", "eve6", "eve7", "eve8"):
        call("POST", "/api/v1/users", {"username": u, "password": "parallel-pass-1", "role": "user"})

    def one(i):
        st, b, r = login(api, f"eve{1 + i % 8}", f"wrong-{i}")  # four per account: below the lockout
        return st, r.getheader("Retry-After")
    with concurrent.futures.ThreadPoolExecutor(32) as ex:
        res = list(ex.map(one, range(32)))
    grown = (hwm_kib(serve.pid) - before) / 1024
    check("32 parallel logins: only 401, or 503 with Retry-After",
          all(s == 401 or (s == 503 and ra) for s, ra in res), res)
    check(f"32 parallel logins add under 192 MiB to the peak RSS (added {grown:.0f} MiB)", grown < 192, grown)
    stop(serve)

    # ---- the throttle: per client address, over all accounts ---------------------------
    p, api2 = start("address", {"DQR_LOGIN_ADDRESS_MAX_FAILURES": "3"})
    sts = [login(api2, u, "wrong-password")[0] for u in ("u1", "u2", "u3")]
    st, b, r = login(api2, "admin", ADMIN_PW)
    check("three failures on three accounts from one address lock the address",
          sts == [401] * 3 and st == 429 and r.getheader("Retry-After"), (sts, st, b))
    stop(p)
finally:
    for p in running:
        stop(p)
sys.exit(check.finish())
