#!/usr/bin/python3
"""LDAP sign-in of `dqr serve` against a real OpenLDAP slapd of its own
(temporary slapd.conf and database under WORKDIR, a free localhost port,
the memberof overlay so entries carry memberOf as in Active Directory):
directory users log in, wrong passwords, empty passwords, unknown users and
filter metacharacters get 401, groups give admin, phi and project / PACS
grants, a group removed in the directory takes its grant away at the next
login, the name in any case is one account, a directory account disabled
in dqr stays refused, a directory user cannot set a local password,
failed directory logins count in the login throttle and the audit, a stopped
directory answers 503 with a sentence while the local admin still logs in,
and StartTLS works with the test CA and is refused with another CA.
Usage: ldap.py DQR WORKDIR"""
import os
import shutil
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, free_port, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
SLAPD, ADMIN_PW = "/usr/sbin/slapd", "gateway-secret-1"
BASE = "dc=example,dc=org"
ROOT, ROOT_PW = f"cn=admin,{BASE}", "root-secret-1"
GROUP = "cn={},ou=groups," + BASE
check = Checks()
running = []

if not os.path.exists(SLAPD) or not shutil.which("ldapadd"):
    print("skip: slapd or ldap-utils not installed")
    sys.exit(77)
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK + "/db")


def run(*argv, stdin=None):
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60)


def make_ca(name):
    """A CA (name-ca.pem) and a localhost server certificate it signs."""
    d = f"{WORK}/{name}"
    os.makedirs(d)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name} test CA",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", f"{d}/server.key",
        "-out", f"{d}/server.csr")
    with open(f"{d}/ext", "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run("openssl", "x509", "-req", "-in", f"{d}/server.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", f"{d}/ext", "-out", f"{d}/server.pem")
    return d


TRUSTED, OTHER = make_ca("trusted"), make_ca("other")
LDAP_PORT, LDAPS_PORT = free_port(), free_port()
URL, LDAPS_URL = f"ldap://127.0.0.1:{LDAP_PORT}/", f"ldaps://127.0.0.1:{LDAPS_PORT}/"
with open(f"{WORK}/slapd.conf", "w") as f:
    f.write(f"""include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile {WORK}/slapd.pid
TLSCACertificateFile {TRUSTED}/ca.pem
TLSCertificateFile {TRUSTED}/server.pem
TLSCertificateKeyFile {TRUSTED}/server.key
database mdb
maxsize 10485760
suffix "{BASE}"
rootdn "{ROOT}"
rootpw {ROOT_PW}
directory {WORK}/db
overlay memberof
access to attrs=userPassword by anonymous auth by * none
access to * by users read by * none
""")
slapd = None


def start_slapd():
    global slapd
    slapd = subprocess.Popen([SLAPD, "-f", f"{WORK}/slapd.conf", "-h", f"{URL} {LDAPS_URL}", "-d", "0"],
                             stdout=open(f"{WORK}/slapd.log", "a"), stderr=subprocess.STDOUT)
    running.append(slapd)
    return wait_port(LDAP_PORT) and wait_port(LDAPS_PORT)


def stop(p):
    if p.poll() is None:
        p.terminate()
        p.wait(30)


def ldap(tool, ldif):
    r = run(tool, "-x", "-H", URL, "-D", ROOT, "-w", ROOT_PW, stdin=ldif)
    if r.returncode:
        print(f"{tool} failed: {r.stderr}")
    return r.returncode == 0


def person(uid, pw):
    return f"""dn: uid={uid},ou=people,{BASE}
objectClass: inetOrgPerson
uid: {uid}
cn: {uid}
sn: {uid}
userPassword: {pw}

"""


def group(cn, *uids):
    members = "".join(f"member: uid={u},ou=people,{BASE}\n" for u in uids)
    return f"dn: {GROUP.format(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{members}\n"


for bad, why in ({"DQR_LDAP_URL": "http://127.0.0.1/"}, "ldap:// or ldaps://"), \
               ({"DQR_LDAP_URL": URL, "DQR_LDAP_USER_FILTER": "(uid=bob)"}, "%s"), \
               ({"DQR_LDAP_URL": LDAPS_URL, "DQR_LDAP_STARTTLS": "1"}, "ldap_starttls"), \
               ({"DQR_LDAP_URL": URL, "DQR_LDAP_CA_FILE": WORK + "/missing.pem"}, "ldap_ca_file"):
    r = subprocess.run([DQR, "serve", "--print-config"], env=dict(os.environ, HOME=WORK + "/home", **bad),
                       capture_output=True, text=True, timeout=30)
    check(f"bad setting refused at start: {bad}", r.returncode == 2 and why in r.stderr, (r.returncode, r.stderr))
r = subprocess.run([DQR, "serve", "--print-config"], capture_output=True, text=True, timeout=30,
                   env=dict(os.environ, HOME=WORK + "/home", DQR_LDAP_URL=URL, DQR_LDAP_BIND_PASSWORD="svc-secret-9"))
check("--print-config masks ldap_bind_password", r.returncode == 0 and "svc-secret-9" not in r.stdout
      and '"ldap_bind_password": "***"' in r.stdout, r.stdout[-300:])

check("slapd starts on a free port", start_slapd())
check("directory loaded with ldapadd", ldap("ldapadd", f"""dn: {BASE}
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,{BASE}
objectClass: organizationalUnit
ou: people

dn: ou=groups,{BASE}
objectClass: organizationalUnit
ou: groups

""" + person("reader", "reader-pass-1") + person("alice", "alice-pass-123") + person("bob", "bob-pass-1234")
    + person("carol", "carol-pass-123") + person("admin", "admin-dir-pass-1") + group("dqr-admins", "alice") + group("dqr-phi", "alice")
    + group("p1-users", "bob", "alice") + group("p2-users", "alice") + group("pacs-users", "bob")))


def serve(name, **ldap_settings):
    """dqr serve with the directory settings given (DQR_LDAP_*)."""
    port = free_port()
    e = dict(os.environ, DQR_DATA_DIR=f"{WORK}/{name}", DQR_VAULT_KEY_FILE=f"{WORK}/keys/{name}.key",
             DQR_UID_SECRET_FILE=f"{WORK}/keys/uid-secret", DQR_HTTP_PORT=str(port),
             DQR_DICOM_PORT=str(free_port()), DQR_ADMIN_PASSWORD=ADMIN_PW, HOME=WORK + "/home", DQR_LOG_FILE="-",
             DQR_LOGIN_MAX_FAILURES="3", DQR_LOGIN_ADDRESS_MAX_FAILURES="1000", DQR_LDAP_URL=URL,
             DQR_LDAP_BIND_DN=f"uid=reader,ou=people,{BASE}", DQR_LDAP_BIND_PASSWORD="reader-pass-1",
             DQR_LDAP_BASE_DN=BASE, DQR_LDAP_USER_FILTER="(&(objectClass=inetOrgPerson)(uid=%s))",
             DQR_LDAP_ADMIN_GROUP=GROUP.format("dqr-admins"), DQR_LDAP_PHI_GROUP=GROUP.format("dqr-phi"),
             DQR_LDAP_PROJECT_GROUPS=f"P1={GROUP.format('p1-users')};P2={GROUP.format('p2-users')}",
             DQR_LDAP_PACS_GROUPS=f"PACS1={GROUP.format('pacs-users')}", DQR_LDAP_TIMEOUT_S="3")
    if name != "main":  # only the main server uses the suite's catalog (DQR_CATALOG: PostgreSQL runs)
        e.pop("DQR_CATALOG", None)
    e.update({"DQR_" + k.upper(): v for k, v in ldap_settings.items()})
    p = subprocess.Popen([DQR, "serve"], env=e, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/{name}.stderr", "w"))
    running.append(p)
    if not wait_port(port):
        print(f"FAIL dqr serve ({name}) did not start: {open(f'{WORK}/{name}.stderr').read()[-800:]}")
    return p, Api(port)


def login(api, user, pw):
    return api.call("POST", "/api/v1/login", {"username": user, "password": pw})


def me(api, user, pw):
    """(status, /me of user after logging in, login body)."""
    st, b, _ = login(api, user, pw)
    if st != 200:
        return st, {}, b
    st, m, _ = api.call("GET", "/api/v1/me", token=b["token"])
    return st, m, b


try:
    dqr, api = serve("main")
    admin = api.login("admin", ADMIN_PW)
    check("local admin logs in while the directory is on", admin is not None)
    for pid in ("P1", "P2"):
        api.call("POST", "/api/v1/projects", {"id": pid, "name": pid, "dqr_enabled": True}, token=admin)
    st, pacs, _ = api.call("POST", "/api/v1/pacs", {"label": "PACS1", "aet": "PACS1", "host": "127.0.0.1",
                                                     "port": free_port(), "queryable": True}, token=admin)
    pacs_id = pacs.get("id") if isinstance(pacs, dict) else None
    check("a PACS to grant by group", st == 201, pacs)

    st, m, b = me(api, "bob", "bob-pass-1234")
    check("a directory user logs in", st == 200 and m.get("username") == "bob", (st, b))
    check("a plain member is a user without phi", m.get("role") == "user" and m.get("phi") is False, m)
    grants = m.get("grants", {})
    check("project group gives the project grant", grants.get("projects") == ["P1"], grants)
    check("PACS group gives the PACS grant", [str(x) for x in grants.get("pacs", [])] == [str(pacs_id)], grants)

    if not os.environ.get("DQR_CATALOG", "").startswith("postgresql:"):
        db = sqlite3.connect(f"{WORK}/main/catalog.db")
        row = db.execute("SELECT source, pw_hash FROM users WHERE username = 'bob'").fetchone()
        db.close()
        check("the account is marked source=ldap with no usable hash",
              row and row[0] == "ldap" and row[1].startswith("!ldap:"), row)

    st, b, _ = login(api, "bob", "bob-pass-1234")
    st, b, _ = api.call("PUT", "/api/v1/me/password", {"old": "bob-pass-1234", "new": "another-pass-12"},
                        token=b.get("token"))
    check("a directory user cannot set a local password (409)", st == 409 and "directory" in b.get("error", ""),
          (st, b))

    st, m, b = me(api, "alice", "alice-pass-123")
    check("admin group gives admin", st == 200 and m.get("role") == "admin", (st, m, b))
    check("phi group gives phi", m.get("phi") is True, m)
    check("two project groups give both grants", sorted(m.get("grants", {}).get("projects", [])) == ["P1", "P2"], m)

    st, b, _ = login(api, "bob", "wrong-password-1")
    check("wrong directory password is 401", st == 401, (st, b))
    st, b, _ = login(api, "bob", "")
    check("empty password is 401 (no anonymous bind counts)", st == 401, (st, b))
    st, b, _ = login(api, "nobody", "whatever-pass-1")
    check("unknown user is 401", st == 401, (st, b))
    st, b, _ = login(api, "Admin", "admin-dir-pass-1")
    check("a directory user 'admin' never takes over the local admin (401)", st == 401, (st, b))
    check("... and the local admin keeps its password", api.login("admin", ADMIN_PW) is not None)
    st, b, _ = login(api, "*", "bob-pass-1234")
    check("a filter wildcard as the name finds nobody (RFC 4515 escaping)", st == 401, (st, b))
    st, b, _ = login(api, "bob)(uid=*", "bob-pass-1234")
    check("a filter injection as the name finds nobody", st == 401, (st, b))

    statuses = [login(api, "carol", "wrong-password-1")[0] for _ in range(4)]
    check("failed directory logins lock the account like local ones", statuses == [401, 401, 401, 429], statuses)
    st, b, _ = login(api, "CaRoL", "wrong-password-1")
    check("the lockout holds for the name in another case", st == 429, (st, b))

    check("bob removed from p1-users, added to p2-users", ldap("ldapmodify", f"""dn: {GROUP.format('p1-users')}
changetype: modify
delete: member
member: uid=bob,ou=people,{BASE}

dn: {GROUP.format('p2-users')}
changetype: modify
add: member
member: uid=bob,ou=people,{BASE}
"""))
    st, m, _ = me(api, "bob", "bob-pass-1234")
    check("group removed in the directory: grant removed at the next login",
          st == 200 and m.get("grants", {}).get("projects") == ["P2"], m)

    audit = open(f"{WORK}/main/logs/audit.log").read().splitlines()
    check("directory logins are audited (success and failure)",
          any("login_success" in a and 'UserID="bob"' in a for a in audit)
          and any("login_failure" in a and 'UserID="carol"' in a for a in audit), audit[-3:])
    st, users, _ = api.call("GET", "/api/v1/users", token=admin)
    bob_id = next((u["id"] for u in users.get("users", []) if u["username"] == "bob"), None)
    st, m, b = me(api, "BoB", "bob-pass-1234")
    check("the name in another case signs in to the same account", st == 200 and m.get("id") == bob_id
          and b["user"]["username"] == "bob", (m, b))
    st, b, _ = api.call("DELETE", f"/api/v1/users/{bob_id}", token=admin)
    for name in ("bob", "BOB"):
        st, b, _ = login(api, name, "bob-pass-1234")
        check(f"a directory account disabled in dqr stays refused ({name}: 401)", st == 401, (st, b))

    stop(slapd)
    t0 = time.time()
    st, b, r = login(api, "alice", "alice-pass-123")
    err = b.get("error", "") if isinstance(b, dict) else str(b)
    check("directory down: 503 with a sentence", st == 503 and "directory" in err and "local accounts" in err,
          (st, b))
    print("   (" + err + ")")
    check("directory down: answered within the timeout", time.time() - t0 < 10, time.time() - t0)
    check("directory down: local admin still logs in", api.login("admin", ADMIN_PW) is not None)
    stop(dqr)

    check("slapd restarts (same database, StartTLS offered)", start_slapd())
    dqr, api = serve("tls", ldap_starttls="1", ldap_ca_file=f"{TRUSTED}/ca.pem")
    st, m, b = me(api, "bob", "bob-pass-1234")
    check("StartTLS with the test CA: the directory user logs in", st == 200 and m.get("username") == "bob", (st, b))
    stop(dqr)
    dqr, api = serve("ldaps", ldap_url=LDAPS_URL, ldap_ca_file=f"{TRUSTED}/ca.pem")
    st, m, b = me(api, "alice", "alice-pass-123")
    check("ldaps:// with the test CA: the directory user logs in", st == 200 and m.get("role") == "admin", (st, b))
    stop(dqr)
    dqr, api = serve("ldaps-untrusted", ldap_url=LDAPS_URL, ldap_ca_file=f"{OTHER}/ca.pem")
    st, b, _ = login(api, "alice", "alice-pass-123")
    check("ldaps:// with a certificate of another CA is refused (503)",
          st == 503 and "certificate" in b.get("error", ""), (st, b))
    print("   (" + b.get("error", "") + ")")
    stop(dqr)
    dqr, api = serve("badbind", ldap_bind_password="not-the-password")
    st, b, _ = login(api, "alice", "alice-pass-123")
    check("a refused service account is 503 naming it", st == 503 and "ldap_bind_dn" in b.get("error", ""), (st, b))
    stop(dqr)
    dqr, api = serve("untrusted", ldap_starttls="1", ldap_ca_file=f"{OTHER}/ca.pem")
    st, b, _ = login(api, "bob", "bob-pass-1234")
    check("StartTLS with a certificate of another CA is refused (503)", st == 503 and "StartTLS" in b.get("error", ""),
          (st, b))
    print("   (" + b.get("error", "") + ")")
    stop(dqr)
finally:
    for p in running:
        stop(p)
sys.exit(check.finish())
