#!/bin/sh
# Benchmark: importing one study of 1,000 CT instances (512x512, 16-bit) by
# C-MOVE from Orthanc, on localhost, 3 runs alternating:
#   raw: Orthanc -> DCMTK storescp (C-MOVE started by `dqr move`; nothing
#        but receiving and writing)
#   dqr: Orthanc -> dqr serve's receiver, through the whole import pipeline
#        (queue, routing, Basic profile + labels in memory, atomic archive
#        write, index rows, one syncfs at the end); time as dqr measures it
#        from claiming the session to its end state, and as a client sees it
#        from POST /imports to "done"
# Prints each run and the median ratios. Usage: bench/import.sh [N_FILES] [WORKDIR]
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup import "$@"
export TCP_NODELAY=1
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
now_ms() { date +%s%3N; }
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null' EXIT
OD=$(free_port) OH=$(free_port) RAW=$(free_port) DP=$(free_port) HP=$(free_port)
rm -rf "$work/orthanc-db" "$work/var" "$work/rx-raw" "$work/keys"
mkdir -p "$work/orthanc-db" "$work/rx-raw"
cat >"$work/orthanc.json" <<CFG
{"Name": "bench", "StorageDirectory": "$work/orthanc-db", "IndexDirectory": "$work/orthanc-db",
 "DicomAet": "ORTHANC", "DicomPort": $OD, "HttpPort": $OH, "RemoteAccessAllowed": false, "Plugins": [],
 "DicomModalities": {"dqr": ["DQR", "127.0.0.1", $DP], "raw": ["RAW", "127.0.0.1", $RAW]}}
CFG
Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 & pids="$pids $!"
storescp -aet RAW -od "$work/rx-raw" "$RAW" & pids="$pids $!"
HOME=$work/home DQR_DATA_DIR=$work/var DQR_VAULT_KEY_FILE=$work/keys/vault.key DQR_UID_SECRET_FILE=$work/keys/uid \
    DQR_HTTP_PORT=$HP DQR_DICOM_PORT=$DP DQR_ADMIN_PASSWORD=bench-secret-1 DQR_IMPORT_POLL_SECONDS=1 DQR_LOG_FILE=- \
    "$dqr" serve 2>"$work/serve.log" & pids="$pids $!"
sleep 2
"$dqr" store --call ORTHANC 127.0.0.1 "$OD" "$data" >/dev/null
API=http://127.0.0.1:$HP/api/v1
TOKEN=$(curl -s -X POST $API/login -d '{"username":"admin","password":"bench-secret-1"}' | json 'd["token"]')
AUTH="Authorization: Bearer $TOKEN"
curl -s -X POST $API/pacs -H "$AUTH" -d "{\"label\":\"orthanc\",\"aet\":\"ORTHANC\",\"host\":\"127.0.0.1\",\"port\":$OD}" >/dev/null
curl -s -X POST $API/projects -H "$AUTH" -d '{"id":"BENCH","dqr_enabled":true}' >/dev/null
study=$(curl -s -X POST $API/query -H "$AUTH" -d '{"pacs":1,"level":"STUDY","keys":{}}' | json 'd["results"][0]["StudyInstanceUID"]')
results=$work/import-runs.txt
: >"$results"
for run in 1 2 3; do
    rm -rf "$work/rx-raw"/*
    sync
    t0=$(now_ms)
    "$dqr" move --call ORTHANC --dest RAW -k StudyInstanceUID="$study" 127.0.0.1 "$OD" >/dev/null
    t1=$(now_ms)
    raw=$((t1 - t0))
    got=$(ls "$work/rx-raw" | wc -l)
    sync
    t0=$(now_ms)
    id=$(curl -s -X POST $API/imports -H "$AUTH" \
        -d "{\"pacs\":1,\"project\":\"BENCH\",\"studies\":[{\"StudyInstanceUID\":\"$study\",\"subject\":\"S\",\"session\":\"R$run\"}]}" |
        json 'd["id"]')
    while :; do
        state=$(curl -s $API/imports/$id -H "$AUTH" | json 'd["state"]+" "+str(d["sessions"][0]["ms"])+" "+str(d["archived"])')
        case $state in done*|failed*|partial*) break ;; esac
        sleep 0.05
    done
    t1=$(now_ms)
    set -- $state
    echo "run $run: raw storescp ${raw} ms ($got files); dqr import ${2} ms in dqr, $((t1 - t0)) ms seen by the client ($3 archived, $1)" | tee -a "$results"
    curl -s -X DELETE $API/projects/BENCH/sessions/R$run -H "$AUTH" >/dev/null
done
/usr/bin/python3 - "$results" <<'PY'
import re, statistics, sys
runs = [list(map(int, re.findall(r"(\d+) ms", l))) for l in open(sys.argv[1])]
raw, dqr, client = (statistics.median(r[i] for r in runs) for i in range(3))
print(f"median: raw {raw} ms, dqr {dqr} ms (ratio {dqr / raw:.2f}), client-seen {client} ms (ratio {client / raw:.2f})")
PY
