#!/bin/sh
# dqr against Orthanc (Debian's orthanc, started here with its own config on
# free ports, stopped by pid): echo, store into Orthanc, find at every level,
# move to a dqr listener and to DCMTK storescp, get.
# Usage: interop_orthanc.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$here/../..
rm -rf "$work" && mkdir -p "$work/db" "$work/rx" "$work/scp"
command -v Orthanc >/dev/null || { echo "Orthanc is not installed (make deps-test)"; echo "0 passed, 1 failed"; exit 1; }
export TCP_NODELAY=1

/usr/bin/python3 "$root/tools/gen_studies.py" "$work/in" --patients 2 --studies 2 --series 2 --instances 3 --rows 16 --cols 16 >/dev/null
rm -f "$work/in/manifest.json"
/usr/bin/python3 - "$work/in" >"$work/expect" <<'PY'
import glob, sys, pydicom
for f in sorted(glob.glob(sys.argv[1] + "/**/*.dcm", recursive=True)):
    d = pydicom.dcmread(f)
    print(d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID, d.PatientID)
PY
uids() { cut -d' ' -f"$1" "$work/expect" | sort -u; }
found() { /usr/bin/python3 -c "
import json, sys
for line in sys.stdin:
    print(json.loads(line)['$1']['Value'][0])" | sort -u; }

OD=$(free_port) OH=$(free_port) DEST=$(free_port) SCP=$(free_port)
cat >"$work/orthanc.json" <<CFG
{
  "Name": "dqr-test", "StorageDirectory": "$work/db", "IndexDirectory": "$work/db",
  "DicomAet": "ORTHANC", "DicomPort": $OD, "HttpPort": $OH, "RemoteAccessAllowed": false,
  "DicomCheckCalledAet": true, "Plugins": [],
  "DicomModalities": { "dqrdest": ["DQRDEST", "127.0.0.1", $DEST], "scp": ["STORESCP", "127.0.0.1", $SCP],
                       "dqr": ["DQR", "127.0.0.1", 104] }
}
CFG
Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 &
pids="$pids $!"
"$dqr" listen -q --port "$DEST" --aet DQRDEST --out "$work/rx" &
pids="$pids $!"
storescp -aet STORESCP -od "$work/scp" "$SCP" >/dev/null 2>&1 &
pids="$pids $!"
wait_port "$OD" && wait_port "$DEST" && wait_port "$SCP" || bad "peers did not start"

"$dqr" echo --call ORTHANC 127.0.0.1 "$OD" >"$work/out" 2>"$work/err" && ok "dqr echo -> Orthanc" || bad "echo"
n=$(wc -l <"$work/expect")
"$dqr" store --call ORTHANC 127.0.0.1 "$OD" "$work/in" >"$work/out" 2>"$work/err" && grep -q "^store: $n sent, 0 failed" "$work/out" \
    && ok "dqr store -> Orthanc: $n files" || bad "store"
"$dqr" find --call ORTHANC --level STUDY -k StudyInstanceUID -k PatientName 127.0.0.1 "$OD" >"$work/out" 2>"$work/err" \
    && [ "$(found 0020000D <"$work/out")" = "$(uids 1)" ] && ok "find STUDY" || bad "find STUDY"
"$dqr" find --call ORTHANC --level SERIES -k StudyInstanceUID -k SeriesInstanceUID 127.0.0.1 "$OD" >"$work/out" 2>"$work/err" \
    && [ "$(found 0020000E <"$work/out")" = "$(uids 2)" ] && ok "find SERIES" || bad "find SERIES"
"$dqr" find --call ORTHANC --level IMAGE -k StudyInstanceUID -k SeriesInstanceUID -k SOPInstanceUID 127.0.0.1 "$OD" \
    >"$work/out" 2>"$work/err" && [ "$(found 00080018 <"$work/out")" = "$(uids 3)" ] && ok "find IMAGE" || bad "find IMAGE"
"$dqr" find --call ORTHANC --model patient --level PATIENT -k PatientID 127.0.0.1 "$OD" >"$work/out" 2>"$work/err" \
    && [ "$(found 00100020 <"$work/out")" = "$(uids 4)" ] && ok "find PATIENT" || bad "find PATIENT"
study=$(uids 1 | head -1)
k=$(grep -c "^$study " "$work/expect")
"$dqr" move --call ORTHANC --dest DQRDEST -k StudyInstanceUID="$study" 127.0.0.1 "$OD" >"$work/out" 2>"$work/err" \
    && [ "$(ls "$work/rx" | sed 's/\.dcm$//' | sort)" = "$(grep "^$study " "$work/expect" | cut -d' ' -f3 | sort)" ] \
    && ok "move to dqr listen: $k instances" || bad "move to dqr listen"
"$dqr" move --call ORTHANC --dest STORESCP -k StudyInstanceUID="$study" 127.0.0.1 "$OD" >"$work/out" 2>"$work/err" \
    && [ "$(ls "$work/scp" | wc -l)" -eq "$k" ] && ok "move to DCMTK storescp: $k instances" || bad "move to storescp"
"$dqr" get --call ORTHANC --out "$work/got" -k StudyInstanceUID="$study" 127.0.0.1 "$OD" >"$work/out" 2>"$work/err" \
    && [ "$(ls "$work/got" | sed 's/\.dcm$//' | sort)" = "$(grep "^$study " "$work/expect" | cut -d' ' -f3 | sort)" ] \
    && ok "get from Orthanc: $k instances" || bad "get"
/usr/bin/python3 -c "
import glob, pydicom
for f in glob.glob('$work/rx/*.dcm') + glob.glob('$work/got/*.dcm'):
    pydicom.dcmread(f).pixel_array
" >"$work/err" 2>&1 && ok "pydicom reads every received file" || bad "pydicom on received files"

finish
