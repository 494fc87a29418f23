#!/bin/sh
# Benchmark: C-GET of one study of 1,000 CT instances (512x512, 16-bit) by
# DCMTK getscu on localhost, from three SCPs holding the same study, in one
# run, 3 rounds alternating:
#   dqr:      dqr serve's archive SCP (the de-identified copy, imported once
#             from Orthanc; getscu registered as a DICOM client)
#   Orthanc:  the original study
#   dcmqrscp: DCMTK's Q/R SCP, the original study
# The getscu output folder is emptied and the disk synced before each
# retrieval. Prints each round and the median ratios (peer time / dqr time).
# Usage: bench/cget.sh [N_FILES] [WORKDIR]
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup cget "$@"
export TCP_NODELAY=1
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
json() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
now_ms() { date +%s%3N; }
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; wait 2>/dev/null' EXIT
OD=$(free_port) OH=$(free_port) QR=$(free_port) DP=$(free_port) HP=$(free_port)
rm -rf "$work/orthanc-db" "$work/var" "$work/keys" "$work/qr-db" "$work/get"
mkdir -p "$work/orthanc-db" "$work/qr-db" "$work/get"
cat >"$work/orthanc.json" <<CFG
{"Name": "bench", "StorageDirectory": "$work/orthanc-db", "IndexDirectory": "$work/orthanc-db",
 "DicomAet": "ORTHANC", "DicomPort": $OD, "HttpPort": $OH, "RemoteAccessAllowed": false, "Plugins": [],
 "DicomModalities": {"dqr": ["DQR", "127.0.0.1", $DP], "getscu": ["GETSCU", "127.0.0.1", 1]}}
CFG
cat >"$work/qr.cfg" <<CFG
NetworkTCPPort = $QR
MaxPDUSize = 65536
MaxAssociations = 16
HostTable BEGIN
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
DCMQRSCP $work/qr-db RW (2000, 4096mb) ANY
AETable END
CFG
Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 & pids="$pids $!"
dcmqrscp -c "$work/qr.cfg" >"$work/qr.log" 2>&1 & pids="$pids $!"
HOME=$work/home DQR_DATA_DIR=$work/var DQR_VAULT_KEY_FILE=$work/keys/vault.key DQR_UID_SECRET_FILE=$work/keys/uid \
    DQR_HTTP_PORT=$HP DQR_DICOM_PORT=$DP DQR_ADMIN_PASSWORD=bench-secret-1 DQR_IMPORT_POLL_SECONDS=1 DQR_LOG_FILE=- \
    "$dqr" serve 2>"$work/serve.log" & pids="$pids $!"
sleep 2
"$dqr" store --call ORTHANC 127.0.0.1 "$OD" "$data" >/dev/null
"$dqr" store --call DCMQRSCP 127.0.0.1 "$QR" "$data" >/dev/null
API=http://127.0.0.1:$HP/api/v1
TOKEN=$(curl -s -X POST $API/login -d '{"username":"admin","password":"bench-secret-1"}' | json 'd["token"]')
AUTH="Authorization: Bearer $TOKEN"
curl -s -X POST $API/pacs -H "$AUTH" -d "{\"label\":\"orthanc\",\"aet\":\"ORTHANC\",\"host\":\"127.0.0.1\",\"port\":$OD}" >/dev/null
curl -s -X POST $API/projects -H "$AUTH" -d '{"id":"BENCH","dqr_enabled":true}' >/dev/null
curl -s -X POST $API/dicom-clients -H "$AUTH" \
    -d '{"aet":"GETSCU","host":"127.0.0.1","port":1,"projects":["BENCH"]}' >/dev/null
study=$(curl -s -X POST $API/query -H "$AUTH" -d '{"pacs":1,"level":"STUDY","keys":{}}' | json 'd["results"][0]["StudyInstanceUID"]')
id=$(curl -s -X POST $API/imports -H "$AUTH" \
    -d "{\"pacs\":1,\"project\":\"BENCH\",\"studies\":[{\"StudyInstanceUID\":\"$study\",\"subject\":\"S\",\"session\":\"S1\"}]}" |
    json 'd["id"]')
while :; do
    state=$(curl -s $API/imports/$id -H "$AUTH" | json 'd["state"]')
    case $state in done|failed|partial) break ;; esac
    sleep 0.2
done
deid=$(/usr/bin/python3 -c "import glob,pydicom,sys; print(pydicom.dcmread(glob.glob(sys.argv[1]+'/**/*.dcm',recursive=True)[0],stop_before_pixels=True).StudyInstanceUID)" "$work/var/archive/BENCH")
get() { # AEC PORT STUDY -> "ms files"
    rm -rf "$work/get"/* && sync
    t0=$(now_ms)
    getscu -S -aet GETSCU -aec "$1" -k QueryRetrieveLevel=STUDY -k StudyInstanceUID="$3" -od "$work/get" \
        127.0.0.1 "$2" >"$work/getscu-$1.log" 2>&1 || true
    t1=$(now_ms)
    echo "$((t1 - t0)) ms $(ls "$work/get" | wc -l)"
}
results=$work/cget-runs.txt
: >"$results"
for run in 1 2 3; do
    set -- $(get DQR "$DP" "$deid")
    d=$1 df=$3
    set -- $(get ORTHANC "$OD" "$study")
    o=$1 of=$3
    set -- $(get DCMQRSCP "$QR" "$study")
    q=$1 qf=$3
    echo "run $run: dqr ${d} ms ($df files); Orthanc ${o} ms ($of files); dcmqrscp ${q} ms ($qf files)" | tee -a "$results"
done
/usr/bin/python3 - "$results" <<'PY'
import re, statistics, sys
runs = [list(map(int, re.findall(r"(\d+) ms", l))) for l in open(sys.argv[1])]
d, o, q = (statistics.median(r[i] for r in runs) for i in range(3))
print(f"median: dqr {d} ms, Orthanc {o} ms (Orthanc/dqr {o / d:.2f}), dcmqrscp {q} ms (dcmqrscp/dqr {q / d:.2f})")
PY
