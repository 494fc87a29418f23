#!/usr/bin/python3
"""Every metric `dqr serve` prints on /metrics is documented in
docs/metrics.md (name and type, as cli_contract does for settings), every
documented metric is printed, and the sample Grafana dashboard
(docs/grafana/dqr.json) is valid JSON whose panels query only documented
metrics and cover the areas an operator watches.
Usage: metrics.py DQR WORKDIR"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "pylib"))
from peers import Api, Checks, free_port, wait_port  # noqa: E402

DQR, WORK = sys.argv[1], os.path.abspath(sys.argv[2])
DOCS = os.path.join(HERE, "..", "..", "docs")
check = Checks()
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)

port = free_port()
env = dict(os.environ, DQR_DATA_DIR=f"{WORK}/var", DQR_VAULT_KEY_FILE=f"{WORK}/keys/vault.key",
           DQR_UID_SECRET_FILE=f"{WORK}/keys/uid-secret", DQR_HTTP_PORT=str(port), DQR_DICOM_PORT=str(free_port()),
           DQR_ADMIN_PASSWORD="metrics-secret-1", HOME=WORK, DQR_LOG_FILE="-")
env.pop("DQR_CATALOG", None)
p = subprocess.Popen([DQR, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=open(f"{WORK}/serve.stderr", "w"))
try:
    check("dqr serve started", wait_port(port))
    st, text, _ = Api(port).call("GET", "/metrics")
finally:
    if p.poll() is None:
        p.terminate()
        p.wait(30)
check(f"/metrics answers 200 with text (got {st})", st == 200 and isinstance(text, str))
printed = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
check(f"/metrics prints its metrics ({len(printed)} found)", len(printed) >= 10)

doc = open(os.path.join(DOCS, "metrics.md")).read()
documented = dict(re.findall(r"^\| `(dqr_[a-z_]+)` \| (counter|gauge) \|", doc, re.M))
for name, kind in sorted(printed.items()):
    check(f"{name} is documented in docs/metrics.md", name in documented)
    check(f"{name}: docs say {documented.get(name)}, /metrics says {kind}", documented.get(name, kind) == kind)
for name in sorted(documented):
    check(f"documented metric {name} is printed by /metrics", name in printed)

try:
    dash = json.load(open(os.path.join(DOCS, "grafana", "dqr.json")))
except ValueError as e:
    dash = {}
    check(f"docs/grafana/dqr.json is valid JSON: {e}", False)
panels = dash.get("panels", [])
exprs = [t.get("expr", "") for pnl in panels for t in pnl.get("targets", [])]
used = set(n for e in exprs for n in re.findall(r"\bdqr_[a-z_]+", e))
check(f"the dashboard has panels ({len(panels)})", len(panels) >= 5)
for name in sorted(used):
    check(f"dashboard metric {name} is documented", name in documented)
for need in ("dqr_http_requests_total", "dqr_http_server_errors_total", "dqr_logins_total",
             "dqr_login_failures_total", "dqr_queries_total", "dqr_instances_received_total",
             "dqr_instances_archived_total", "dqr_instances_rejected_total",
             "dqr_dicom_associations_refused_total"):
    check(f"the dashboard shows {need}", need in used)
sys.exit(check.finish())
