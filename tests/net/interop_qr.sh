#!/bin/sh
# dqr find, move and get against DCMTK dcmqrscp (started here on free ports,
# stopped by pid): every level of Study Root, Patient Root at PATIENT level,
# a C-MOVE of one study into a dqr listener and C-GETs of a study and a
# series, checked against the files loaded.
# Usage: interop_qr.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$here/../..
rm -rf "$work" && mkdir -p "$work/db" "$work/rx"
export TCP_NODELAY=1

/usr/bin/python3 "$root/tools/gen_studies.py" "$work/in" --patients 2 --studies 2 --series 2 --instances 3 --rows 16 --cols 16 >/dev/null
rm -f "$work/in/manifest.json"
QR=$(free_port) DEST=$(free_port) SCP=$(free_port)
cat >"$work/dcmqrscp.cfg" <<CFG
NetworkTCPPort = $QR
MaxPDUSize = 16384
MaxAssociations = 16
HostTable BEGIN
dqrdest = (DQRDEST, 127.0.0.1, $DEST)
storescp = (STORESCP, 127.0.0.1, $SCP)
HostTable END
VendorTable BEGIN
VendorTable END
AETable BEGIN
DCMQRSCP $work/db RW (200, 1024mb) ANY
AETable END
CFG
dcmqrscp -c "$work/dcmqrscp.cfg" >"$work/qr.log" 2>&1 &
pids="$pids $!"
"$dqr" listen -q --port "$DEST" --aet DQRDEST --out "$work/rx" &
pids="$pids $!"
wait_port "$QR" && wait_port "$DEST" || bad "peers did not start"
"$dqr" echo --call DCMQRSCP 127.0.0.1 "$QR" >"$work/out" 2>"$work/err" && ok "dqr echo -> dcmqrscp" || bad "echo dcmqrscp"
"$dqr" store --call DCMQRSCP 127.0.0.1 "$QR" "$work/in" >"$work/out" 2>"$work/err" \
    && grep -q "^store: $(find "$work/in" -name '*.dcm' | wc -l) sent, 0 failed" "$work/out" \
    && ok "dqr store -> dcmqrscp" || bad "loading dcmqrscp with dqr store"

# UIDs the files hold, per level
/usr/bin/python3 - "$work/in" >"$work/expect" <<'PY'
import glob, sys, pydicom
for f in sorted(glob.glob(sys.argv[1] + "/**/*.dcm", recursive=True)):
    d = pydicom.dcmread(f)
    print(d.StudyInstanceUID, d.SeriesInstanceUID, d.SOPInstanceUID, d.PatientID)
PY
uids() { # FIELD (1 study 2 series 3 instance 4 patient)
    cut -d' ' -f"$1" "$work/expect" | sort -u
}
found() { # KEYWORD-TAG from JSON lines on stdin
    /usr/bin/python3 -c "
import json, sys
for line in sys.stdin:
    print(json.loads(line)['$1']['Value'][0])" | sort -u
}
"$dqr" find --call DCMQRSCP --level STUDY -k StudyInstanceUID -k PatientName 127.0.0.1 "$QR" >"$work/out" 2>"$work/err" \
    && [ "$(found 0020000D <"$work/out")" = "$(uids 1)" ] && ok "find STUDY: every study" || bad "find STUDY"
"$dqr" find --call DCMQRSCP --level SERIES -k StudyInstanceUID -k SeriesInstanceUID -k Modality 127.0.0.1 "$QR" \
    >"$work/out" 2>"$work/err" && [ "$(found 0020000E <"$work/out")" = "$(uids 2)" ] && ok "find SERIES: every series" || bad "find SERIES"
"$dqr" find --call DCMQRSCP --level IMAGE -k StudyInstanceUID -k SeriesInstanceUID -k SOPInstanceUID 127.0.0.1 "$QR" \
    >"$work/out" 2>"$work/err" && [ "$(found 00080018 <"$work/out")" = "$(uids 3)" ] && ok "find IMAGE: every instance" || bad "find IMAGE"
"$dqr" find --call DCMQRSCP --model patient --level PATIENT -k PatientID 127.0.0.1 "$QR" >"$work/out" 2>"$work/err" \
    && [ "$(found 00100020 <"$work/out")" = "$(uids 4)" ] && ok "find PATIENT (Patient Root)" || bad "find PATIENT"
study=$(uids 1 | head -1)
"$dqr" find --call DCMQRSCP --level SERIES -k StudyInstanceUID="$study" -k SeriesInstanceUID 127.0.0.1 "$QR" >"$work/out" 2>"$work/err"
[ "$(found 0020000E <"$work/out")" = "$(grep "^$study " "$work/expect" | cut -d' ' -f2 | sort -u)" ] \
    && ok "find with a matching key" || bad "find with a key"
"$dqr" find --call DCMQRSCP -k PatientID 127.0.0.1 "$QR" >"$work/out" 2>"$work/err"
[ $? -eq 2 ] && ok "find without --level: usage error" || bad "find usage"
"$dqr" find --call NOBODY --level STUDY -k StudyInstanceUID 127.0.0.1 "$QR" >"$work/out" 2>"$work/err"
[ $? -eq 1 ] && grep -q "^dqr: find: association refused" "$work/err" && ok "find refused: one line, exit 1" || bad "find refused"

n=$(grep -c "^$study " "$work/expect")
"$dqr" move --call DCMQRSCP --dest DQRDEST -k StudyInstanceUID="$study" 127.0.0.1 "$QR" >"$work/out" 2>"$work/err"
[ $? -eq 0 ] && grep -q "^move: 0x0000 Success: $n completed, 0 failed" "$work/out" && [ "$(ls "$work/rx" | wc -l)" -eq "$n" ] \
    && ok "move a study to dqr listen: $n instances" || bad "move: $(cat "$work/out")"
[ "$(ls "$work/rx" | sed 's/\.dcm$//' | sort)" = "$(grep "^$study " "$work/expect" | cut -d' ' -f3 | sort)" ] \
    && ok "moved instances are the study's" || bad "moved instances differ"
mkdir -p "$work/scp"
storescp -aet STORESCP -od "$work/scp" "$SCP" >/dev/null 2>&1 &
pids="$pids $!"
wait_port "$SCP"
"$dqr" move --call DCMQRSCP --dest STORESCP -k StudyInstanceUID="$study" 127.0.0.1 "$QR" >"$work/out" 2>"$work/err" \
    && [ "$(ls "$work/scp" | wc -l)" -eq "$n" ] && ok "move a study to DCMTK storescp" || bad "move to storescp"
"$dqr" move --call DCMQRSCP --dest UNKNOWN -k StudyInstanceUID="$study" 127.0.0.1 "$QR" >"$work/out" 2>"$work/err"
[ $? -eq 1 ] && grep -q "Move Destination unknown\|not every sub-operation" "$work/err" && ok "move to an unknown AE: exit 1 with the status" \
    || bad "move unknown dest"

"$dqr" get --call DCMQRSCP --out "$work/got" -k StudyInstanceUID="$study" 127.0.0.1 "$QR" >"$work/out" 2>"$work/err"
[ $? -eq 0 ] && grep -q "^get: 0x0000 Success: $n completed, 0 failed" "$work/out" \
    && [ "$(ls "$work/got" | sed 's/\.dcm$//' | sort)" = "$(grep "^$study " "$work/expect" | cut -d' ' -f3 | sort)" ] \
    && [ "$(ls -A "$work/got" | wc -l)" -eq "$n" ] && ok "get a study over the same association: $n instances" || bad "get: $(cat "$work/out")"
/usr/bin/python3 -c "
import glob, pydicom
for f in glob.glob('$work/got/*.dcm'):
    pydicom.dcmread(f).pixel_array
" >"$work/err" 2>&1 && ok "pydicom reads what get wrote" || bad "pydicom on get output"
series=$(grep "^$study " "$work/expect" | cut -d' ' -f2 | sort -u | head -1)
# Study Root is hierarchical: a SERIES-level retrieve names the study too
"$dqr" get --call DCMQRSCP --out "$work/got2" --level SERIES -k StudyInstanceUID="$study" -k SeriesInstanceUID="$series" 127.0.0.1 "$QR" \
    >"$work/out" 2>"$work/err" && [ "$(ls "$work/got2" | wc -l)" -eq 3 ] && ok "get a series" || bad "get a series"

finish
