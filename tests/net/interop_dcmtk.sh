#!/bin/sh
# dqr's network commands against DCMTK (echoscu, storescu, storescp) and
# against itself, on localhost ports chosen free; every process started here
# is stopped by pid at the end. Checks: echo both ways, refusals with the
# reason, store both ways with the data compared by pydicom, 16 concurrent
# associations, a peer dropping mid-transfer (no partial file), and listen
# de-identifying in memory (no canary in the output).
# Usage: interop_dcmtk.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$here/../..
rm -rf "$work" && mkdir -p "$work"
export TCP_NODELAY=1  # DCMTK loses ~40 ms per message to Nagle without it

/usr/bin/python3 "$root/tools/gen_studies.py" "$work/in" --patients 2 --series 2 --instances 5 --rows 64 --cols 64 >/dev/null
rm -f "$work/in/manifest.json"
n=$(find "$work/in" -name '*.dcm' | wc -l)
same_data() { # DIR_A DIR_B: every instance in A is in B with the same elements
    /usr/bin/python3 - "$1" "$2" <<'PY'
import glob, sys, pydicom
a = {pydicom.dcmread(f).SOPInstanceUID: f for f in glob.glob(sys.argv[1] + "/**/*", recursive=True) if f.endswith(".dcm") or "CT." in f}
b = {pydicom.dcmread(f).SOPInstanceUID: f for f in glob.glob(sys.argv[2] + "/**/*", recursive=True) if not f.endswith("/")
     and not f.split("/")[-1].startswith(".")}
assert set(a) <= set(b), f"missing: {len(set(a) - set(b))} of {len(a)}"
for uid, f in a.items():
    x, y = pydicom.dcmread(f), pydicom.dcmread(b[uid])
    for e in x:
        assert e.tag in y and y[e.tag].value == e.value, f"{uid}: {e.tag} differs"
PY
}

# --- dqr listen, fed by DCMTK
P1=$(free_port)
"$dqr" listen --port "$P1" --aet DQRTEST --out "$work/rx" --accept-from STORESCU --accept-from ECHOSCU \
    --accept-from DQR --accept-from DROPPER >"$work/listen.out" 2>"$work/listen.err" &
pids="$pids $!"
wait_port "$P1" || bad "dqr listen did not start"
echoscu -aec DQRTEST 127.0.0.1 "$P1" >"$work/out" 2>"$work/err" && ok "echoscu -> dqr listen" || bad "echoscu -> dqr listen"
echoscu -aec NOTME 127.0.0.1 "$P1" >"$work/out" 2>"$work/err"
grep -q "Called AE Title Not Recognized" "$work/err" && ok "wrong called AE refused with the reason" || bad "called AE refusal"
echoscu -aet STRANGER -aec DQRTEST 127.0.0.1 "$P1" >"$work/out" 2>"$work/err"
grep -q "Calling AE Title Not Recognized" "$work/err" && ok "calling AE not allowed: refused" || bad "calling AE refusal"
storescu -aec DQRTEST 127.0.0.1 "$P1" $(find "$work/in" -name '*.dcm') >"$work/out" 2>"$work/err" \
    && [ "$(ls "$work/rx" | wc -l)" -eq "$n" ] && ok "storescu -> dqr listen: $n files" || bad "storescu -> dqr listen"
same_data "$work/in" "$work/rx" >"$work/err" 2>&1 && ok "received files equal the sent ones (pydicom)" || bad "received data differs"

# 16 concurrent associations, each sending all the files (same UIDs: each
# arrival replaces the last atomically, so the folder ends with n files)
rm -rf "$work/rx"/*
spids=""
for i in $(seq 16); do
    storescu -aec DQRTEST 127.0.0.1 "$P1" $(find "$work/in" -name '*.dcm') >/dev/null 2>"$work/err.$i" &
    spids="$spids $!"
done
allok=1; for p in $spids; do wait "$p" || allok=0; done
[ $allok -eq 1 ] && [ "$(ls "$work/rx" | wc -l)" -eq "$n" ] && [ "$(grep -c 'association from STORESCU' "$work/listen.err")" -ge 17 ] \
    && ok "16 concurrent associations x $n files" || bad "concurrent associations ($(ls "$work/rx" | wc -l) files)"
same_data "$work/in" "$work/rx" >"$work/err" 2>&1 && ok "concurrent arrivals intact (pydicom)" || bad "concurrent data differs"

# a peer that drops mid-transfer leaves nothing behind
before=$(ls -A "$work/rx" | wc -l)
/usr/bin/python3 "$here/drop_mid_transfer.py" "$P1" DQRTEST >"$work/out" 2>"$work/err"
sleep 0.5
[ "$(ls -A "$work/rx" | wc -l)" -eq "$before" ] && grep -q "receiving 1.2.3.4.5.6.7.8.9 failed" "$work/listen.err" \
    && ok "dropped mid-transfer: error logged, no partial file" || { bad "dropped transfer"; ls -A "$work/rx" | head -3; }

# dqr store -> dqr listen
rm -rf "$work/rx"/*
"$dqr" store --call DQRTEST 127.0.0.1 "$P1" "$work/in" >"$work/out" 2>"$work/err" \
    && grep -q "^store: $n sent, 0 failed" "$work/out" && ok "dqr store -> dqr listen" || bad "dqr store -> dqr listen"

# --- DCMTK storescp, fed by dqr
P2=$(free_port)
mkdir -p "$work/scp"
storescp -aet STORESCP -od "$work/scp" "$P2" >/dev/null 2>&1 &
pids="$pids $!"
wait_port "$P2" || bad "storescp did not start"
"$dqr" echo --call STORESCP 127.0.0.1 "$P2" >"$work/out" 2>"$work/err" && ok "dqr echo -> storescp" || bad "dqr echo -> storescp"
"$dqr" store --call STORESCP 127.0.0.1 "$P2" "$work/in" /usr/lib/python3/dist-packages/pydicom/data/test_files/MR_small_bigendian.dcm \
    >"$work/out" 2>"$work/err" && [ "$(ls "$work/scp" | wc -l)" -eq $((n + 1)) ] && ok "dqr store -> storescp" || bad "dqr store -> storescp"
same_data "$work/in" "$work/scp" >"$work/err" 2>&1 && ok "storescp's files equal the sent ones (pydicom)" || bad "storescp data differs"
"$dqr" echo --call STORESCP 127.0.0.1 1 >"$work/out" 2>"$work/err"
[ $? -eq 1 ] && grep -q "^dqr: echo: cannot connect to 127.0.0.1:1" "$work/err" && ok "connection refused: one-line error, exit 1" \
    || bad "connect error"

# --- dqr listen de-identifying in memory
P3=$(free_port)
/usr/bin/python3 "$root/tools/gen_studies.py" "$work/phi" --instances 3 --rows 16 --cols 16 >/dev/null
/usr/bin/python3 -c "
import json; m = json.load(open('$work/phi/manifest.json'))
open('$work/canaries.txt', 'w').write(''.join(c['canary'] + '\n' for c in m['canaries']))"
head -c 32 /dev/urandom >"$work/secret" && chmod 600 "$work/secret"
"$dqr" listen --port "$P3" --aet DEID --out "$work/deid" --profile basic --uid-secret "$work/secret" \
    >"$work/deid.out" 2>"$work/deid.err" &
pids="$pids $!"
wait_port "$P3"
storescu -aec DEID 127.0.0.1 "$P3" $(find "$work/phi" -name '*.dcm') >"$work/out" 2>"$work/err"
[ "$(ls "$work/deid" | wc -l)" -eq 3 ] && "$dqr" phi-scan --canaries "$work/canaries.txt" "$work/deid" >"$work/out" 2>"$work/err" \
    && ok "listen --profile basic: 3 stored, no canary, no Annex E value" || bad "listen de-identification"
ls -A "$work/deid" | grep -q '^\.dqr-rx' && bad "a spool file was left in the de-identifying listener's folder" \
    || ok "nothing spooled to disk while de-identifying"

finish
