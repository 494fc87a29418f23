#!/usr/bin/python3
"""Deeply nested input never takes the gateway down (issue #12, item 1).

DicomEdit scripts nested 100,000 deep ({{{…, f[f[f[…, if blocks, ternary
chains, ( groups, [ chains, long tag paths) go to a running `dqr serve`'s
POST /api/v1/scripts/lint as a plain user, to the project script and dry-run
endpoints, and to `dqr lint`; a Part 10 file with sequences nested 15,000 deep
goes to the dry run and `dqr dump`. Each must be a clean 400 / exit 2 naming
line:column (or the tag path), and the server must still answer afterwards.
Before the fix the first request killed the server (stack overflow).
Usage: deep_nesting.py DQR WORKDIR"""
import base64
import http.client
import io
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pylib"))
from peers import Api, Checks, free_port, serve_env, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
N = 100000
V = 'version "6.3"\n'
# name -> (script, expected message part); the first error is at level 65
SCRIPTS = {
    "lists": (V + "(0010,0010) := " + "{" * N + '"x"' + "}" * N + "\n", "2:80: nesting deeper than 64 levels"),
    "calls": (V + "(0010,0010) := " + "f[" * N + '"x"' + "]" * N + "\n", "2:145: nesting deeper than 64 levels"),
    "if blocks": (V + "if(f[]){" * N + "}" * N + "\n", "2:517: nesting deeper than 64 levels"),
    "ternaries": (V + "f[]?" * N + "f[]\n", "2:258: nesting deeper than 64 levels"),
    "mixed": (V + "if(f[]){" * 32 + "(0010,0010) := " + "{f[" * N + "\n", "nesting deeper than 64 levels"),
    "( groups": (V + "if " + "(" * N + "f[]" + ")" * N + "{}\n", "2:5: syntax error"),
    "[ chain": (V + "(0010,0010) := f" + "[" * N + "\n", "2:18: syntax error"),
    "tag path": (V + "./" * N + '(0010,0010) ?= "x"\n', "tag path too deep (64 levels at most)"),
}
# a list value nested at run time, one level per statement
RUNTIME = V + 'a := "x"\n' + "a := {a}\n" * 1000 + "(0010,0010) := a\n"


def nested_part10(depth):
    """A Part 10 file (Explicit VR LE) whose (0008,1140) sequences nest depth deep."""
    def el(group, elem, vr, value):
        if len(value) % 2:
            value += b"\0"
        return (group.to_bytes(2, "little") + elem.to_bytes(2, "little") + vr + len(value).to_bytes(2, "little")
                + value)
    body = (el(2, 0x2, b"UI", b"1.2.840.10008.5.1.4.1.1.4") + el(2, 0x3, b"UI", b"1.2.3.4")
            + el(2, 0x10, b"UI", b"1.2.840.10008.1.2.1"))
    meta = el(2, 0x0, b"UL", len(body).to_bytes(4, "little")) + body
    level = bytes([0x08, 0x00, 0x40, 0x11]) + b"SQ\0\0" + b"\xff" * 4 + bytes([0xFE, 0xFF, 0x00, 0xE0]) + b"\xff" * 4
    close = bytes([0xFE, 0xFF, 0x0D, 0xE0, 0, 0, 0, 0, 0xFE, 0xFF, 0xDD, 0xE0, 0, 0, 0, 0])
    return b"\0" * 128 + b"DICM" + meta + level * depth + close * depth


INFLATE_CAP = 512 * 1024  # max_instance_bytes of the server under test


def deflated_part10(n):
    """A Deflated Explicit VR LE file whose dataset inflates to about n bytes
    (a document of zeros): below the 1 MiB where the ratio check starts, so
    only the server's own cap can stop it."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import generate_uid
    ds = Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.104.1"
    ds.SOPInstanceUID = generate_uid()
    ds.EncapsulatedDocument = bytes(n)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = ds.SOPClassUID, ds.SOPInstanceUID
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1.99"
    ds.file_meta = meta
    ds.is_little_endian, ds.is_implicit_VR, ds.preamble = True, False, bytes(128)
    buf = io.BytesIO()
    ds.save_as(buf, write_like_original=False)  # pydicom deflates the dataset itself
    return buf.getvalue()


def main():
    check = Checks()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    port = free_port()
    env = serve_env(WORK, "nesting-secret-99", port, free_port(),
               DQR_MAX_INSTANCE_BYTES=str(INFLATE_CAP))
    log = open(WORK + "/serve.log", "w")
    serve = subprocess.Popen([DQR, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        if not check("dqr serve starts", wait_port(port)):
            return check.finish()
        run(check, Api(port), serve, env)
    finally:
        if serve.poll() is None:
            serve.terminate()
            serve.wait(30)
    return check.finish()


def call(api, *args, **kw):
    """api.call, with a dropped connection (the server died) as status 0."""
    try:
        return api.call(*args, **kw)
    except (OSError, http.client.HTTPException) as e:
        return 0, {"error": "connection lost: " + str(e)}, None


def alive(api, serve):
    st, _, _ = call(api, "GET", "/api/v1/health")
    return serve.poll() is None and st == 200


def run(check, api, serve, env):
    admin = api.login("admin", "nesting-secret-99")
    st, user, _ = api.call("POST", "/api/v1/users", {"username": "deep", "password": "lint-only-account-77",
                                                     "role": "user"}, token=admin)
    check("a plain user is created", st == 201, user)
    api.call("POST", "/api/v1/projects", {"id": "P1", "name": "Deep", "dqr_enabled": True}, token=admin)
    api.call("PUT", f"/api/v1/users/{user.get('id')}/grants", {"pacs": [], "projects": ["P1"]}, token=admin)
    tok = api.login("deep", "lint-only-account-77")
    check("the plain user logs in", tok is not None)

    for name, (script, want) in SCRIPTS.items():
        st, b, _ = call(api, "POST", "/api/v1/scripts/lint", {"script": script}, token=tok)
        err = b.get("error", "") if isinstance(b, dict) else str(b)
        check(f"lint of {name} nested {N} deep: 400 naming the place", st == 400 and want in err, (st, err[:200]))
        check(f"the server still answers after {name}", alive(api, serve))
        if serve.poll() is not None:
            return
    script, want = SCRIPTS["lists"]
    st, b, _ = call(api, "PUT", "/api/v1/projects/P1/script", {"script": script}, token=admin)
    check("a deep project script is refused with 400 and line/column",
          st == 400 and isinstance(b, dict) and b.get("line") == 2 and b.get("column") == 80, (st, b))
    st, b, _ = call(api, "POST", "/api/v1/projects/P1/dry-run", {"script": script}, token=tok)
    check("a deep dry-run script is refused with 400", st == 400 and want in str(b), (st, str(b)[:200]))
    st, b, _ = call(api, "POST", "/api/v1/projects/P1/dry-run", {"script": RUNTIME}, token=tok)
    check("a list value nested 1,000 deep at run time fails the dry run cleanly",
          st == 200 and b.get("result") == "failed" and "67:6: nesting deeper than 64 levels" in b.get("error", ""), (st, str(b)[:300]))
    deep = nested_part10(15000)
    st, b, _ = call(api, "POST", "/api/v1/projects/P1/dry-run",
                        {"script": V + "-(0010,0010)\n", "instance": base64.b64encode(deep).decode()}, token=tok)
    check("a sample instance with sequences nested 15,000 deep is refused naming the tag path",
          400 <= st < 500 and "tag path (0008,1140)/(0008,1140)/(0008,1140)/.../" in str(b)
          and "deeper than 64 levels" in str(b), (st, str(b)[:300]))
    bomb = deflated_part10(900 * 1024)
    st, b, _ = call(api, "POST", "/api/v1/projects/P1/dry-run",
                    {"script": V + "-(0010,0010)\n", "instance": base64.b64encode(bomb).decode()}, token=tok)
    check(f"a {len(bomb)}-byte deflated sample inflating past max_instance_bytes is refused",
          st == 400 and f"deflated data expands beyond {INFLATE_CAP} bytes" in str(b), (st, str(b)[:300]))
    check("the server still answers after every deep request", alive(api, serve))

    # the command line: dqr lint, dqr anonymize, dqr dump
    for name, (script, want) in SCRIPTS.items():
        path = f"{WORK}/{name.replace(' ', '_').replace('(', 'p').replace('[', 'b')}.das"
        open(path, "w").write(script)
        r = subprocess.run([DQR, "lint", path], env=env, capture_output=True, text=True)
        check(f"dqr lint of {name}: exit 2 naming the place", r.returncode == 2 and want in r.stderr,
              (r.returncode, r.stderr[:200]))
    open(WORK + "/deep.dcm", "wb").write(deep)
    open(WORK + "/runtime.das", "w").write(RUNTIME)
    r = subprocess.run([DQR, "anonymize", "--script", WORK + "/runtime.das", WORK + "/deep.dcm", WORK + "/out.dcm"],
                       env=env, capture_output=True, text=True)
    check("dqr anonymize of the deep file: a clean failure naming the tag path",
          r.returncode == 1 and "tag path (0008,1140)/" in r.stderr, (r.returncode, r.stderr[:300]))
    for args in (["dump"], ["dump", "--json"]):
        r = subprocess.run([DQR] + args + [WORK + "/deep.dcm"], env=env, capture_output=True, text=True)
        check(f"dqr {' '.join(args)} of the deep file: exit 1 naming the tag path",
              r.returncode == 1 and "deeper than 64 levels" in r.stderr, (r.returncode, r.stderr[:300]))


if __name__ == "__main__":
    sys.exit(main())
