#!/bin/sh
# dqr anonymize / lint / phi-scan end to end on generated studies with
# planted canaries: the seed scenario in XNAT's order, PHI left behind (none),
# validity (pydicom, dciodvfy), repeatability, rejection, script errors.
# Usage: anonymize_cli.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$here/../..
rm -rf "$work" && mkdir -p "$work"

/usr/bin/python3 "$root/tools/gen_studies.py" "$work/in" --patients 2 --series 2 --instances 3 --rows 16 --cols 16 >/dev/null
printf 'just a text file\n' >"$work/in/notes.txt"
/usr/bin/python3 -c "
import json; m = json.load(open('$work/in/manifest.json'))
open('$work/canaries.txt', 'w').write(''.join(c['canary'] + '\n' for c in m['canaries']))"
head -c 32 /dev/urandom >"$work/secret" && chmod 600 "$work/secret"
S="--uid-secret $work/secret"
n_dicom=$(find "$work/in" -name '*.dcm' | wc -l)

# --- the seed scenario: remap -> site (Basic + XNAT labels) -> project
$dqr anonymize $S --jobs 2 --var project=P1 --var subject=S01 --var session=S01_MR1 \
    --script "$here/scenario/remap.das" --profile basic --script "$here/scenario/xnat-labels.das" \
    --script "$here/scenario/project.das" "$work/in" "$work/out" >"$work/out.txt" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && grep -q "^anonymize: $n_dicom written, 0 rejected, 2 skipped (not DICOM), 0 failed" "$work/out.txt" \
    && ok "anonymize a tree (exit 0, summary)" || bad "anonymize a tree: exit $rc, $(cat "$work/out.txt")"
grep -q "^dqr: warning: .*notes.txt: not DICOM, skipped$" "$work/err" && ok "non-DICOM skipped with a warning" || bad "non-DICOM warning"
[ "$(find "$work/out" -name '*.dcm' | wc -l)" -eq "$n_dicom" ] && ok "every instance written" || bad "instance count"
/usr/bin/python3 - "$work/out" <<'PY' >"$work/err" 2>&1 && ok "seed scenario values in XNAT's order" || bad "seed scenario values"
import glob, sys, pydicom
files = sorted(glob.glob(sys.argv[1] + "/**/*.dcm", recursive=True))
want = {"PatientName": "S01", "PatientID": "P1_S01", "StudyDescription": "P1", "StudyID": "",
        "AccessionNumber": "", "PatientIdentityRemoved": "YES"}
for f in files:
    ds = pydicom.dcmread(f)
    for k, v in want.items():
        got = str(ds.get(k, "<absent>"))
        assert got == v, f"{f}: {k} = {got!r}, want {v!r}"
    codes = [i.CodeValue for i in ds.DeidentificationMethodCodeSequence]
    assert codes == ["remap.das", "113100", "xnat-labels.das", "project.das"], codes
    assert ds.file_meta.MediaStorageSOPInstanceUID == ds.SOPInstanceUID
    assert ds.SOPInstanceUID.startswith("2.25.")
studies = {}
for f in files:
    ds = pydicom.dcmread(f)
    studies.setdefault(f.split("/")[-4], set()).add(ds.StudyInstanceUID)
assert all(len(v) == 1 for v in studies.values()), studies  # one new UID per study
assert len(set.union(*studies.values())) == len(studies)
PY
$dqr phi-scan --canaries "$work/canaries.txt" --ignore PatientName --ignore PatientID --ignore StudyDescription "$work/out" >"$work/scan" 2>"$work/err" \
    && ok "phi-scan: no canary, no Annex E value left" || { bad "phi-scan found PHI"; head "$work/scan"; }
$dqr phi-scan --canaries "$work/canaries.txt" "$work/in" >"$work/scan" 2>"$work/err"
[ $? -eq 1 ] && grep -q 'canary "DQRCANARY-PN-' "$work/scan" && grep -q "PatientName .*Basic empties it" "$work/scan" \
    && ok "phi-scan finds canaries and Annex E values in the input (exit 1)" || bad "phi-scan on input"
$dqr phi-scan "$work/out" >"$work/scan" 2>"$work/err"
[ $? -eq 1 ] && grep -q "(0010,0010) PatientName \"S01\": has a value; Basic empties it" "$work/scan" \
    && ok "phi-scan reports the relabel unless ignored" || bad "phi-scan relabel report"

# --- validity
/usr/bin/python3 -c "
import glob, pydicom, sys
for f in glob.glob('$work/out/**/*.dcm', recursive=True):
    ds = pydicom.dcmread(f); ds.pixel_array
" >"$work/err" 2>&1 && ok "pydicom reads every output, pixels included" || bad "pydicom reads outputs"
errs=0
for f in $(find "$work/out" -name '*.dcm' | head -4); do
    dciodvfy "$f" 2>&1 | grep -q "^Error" && errs=$((errs + 1))
done
[ $errs -eq 0 ] && ok "dciodvfy: no errors in the output" || bad "dciodvfy found errors in $errs files"
a=$(find "$work/in" -name im0000.dcm | sort | head -1); b=$(find "$work/out" -name im0000.dcm | sort | head -1)
[ "$(tail -c 512 "$a" | od -An -tx1)" = "$(tail -c 512 "$b" | od -An -tx1)" ] && ok "pixel data untouched" || bad "pixel data changed"

# --- repeatable with the same secret, different with another
$dqr anonymize -q $S --profile basic "$work/in" "$work/run1" 2>/dev/null
$dqr anonymize -q $S --profile basic --jobs 1 "$work/in" "$work/run2" 2>/dev/null
diff -r "$work/run1" "$work/run2" >/dev/null && ok "same secret, same bytes (jobs 2 vs 1)" || bad "runs differ"
head -c 32 /dev/urandom >"$work/secret2" && chmod 600 "$work/secret2"
$dqr anonymize -q --uid-secret "$work/secret2" --profile basic "$work/in" "$work/run3" 2>/dev/null
diff -r "$work/run1" "$work/run3" >/dev/null && bad "another secret gave the same UIDs" || ok "another secret, other UIDs"

# --- single files: reject (3), runtime error (1, nothing written), script error (2)
one=$(find "$work/in" -name im0001.dcm | sort | head -1)
printf 'version "6.3"\n(0008,0060) = "CT" ? reject[]\n' >"$work/reject.das"
$dqr anonymize $S --script "$work/reject.das" "$one" "$work/rej.dcm" 2>"$work/err"
[ $? -eq 3 ] && [ ! -e "$work/rej.dcm" ] && grep -q "^dqr: .*rejected by a script" "$work/err" \
    && ok "rejected instance: exit 3, nothing written" || bad "reject exit code"
printf 'version "6.3"\n(0010,0010) := "x"\n(0010,0020) := nosuchvar\n' >"$work/broken.das"
$dqr anonymize $S --script "$work/broken.das" "$one" "$work/broken.dcm" 2>"$work/err"
[ $? -eq 1 ] && [ ! -e "$work/broken.dcm" ] && grep -q "broken.das:3:16: unknown variable 'nosuchvar'" "$work/err" \
    && ok "runtime error: exit 1, no partial file" || bad "runtime error handling"
printf 'version "6.3"\n(0010,0010) := "x"\n(0010,0020) := := 3\n' >"$work/syntax.das"
$dqr anonymize $S --script "$work/syntax.das" "$work/in" "$work/never" 2>"$work/err"
[ $? -eq 2 ] && [ ! -e "$work/never" ] && grep -q "syntax.das:3:16: syntax error at ':='" "$work/err" \
    && ok "syntax error: exit 2 before any file" || bad "syntax error handling"
$dqr anonymize $S "$work/in" "$work/never" 2>"$work/err"
[ $? -eq 2 ] && ok "nothing to do is a usage error" || bad "no steps"
$dqr anonymize $S --profile basic,retain-nothing "$work/in" "$work/never" 2>"$work/err"
[ $? -eq 2 ] && grep -q "unknown profile option 'retain-nothing'" "$work/err" && ok "bad profile option: exit 2" || bad "bad profile"

# --- lint
$dqr lint "$here/scenario/remap.das" "$here/scenario/project.das" >"$work/lint" 2>"$work/err"
[ $? -eq 0 ] && grep -Eq "\(0010,0030\) +Z +Patient.s Birth Date" "$work/lint" && ! grep -q "Patient's Name" "$work/lint" \
    && ok "lint lists the Basic attributes left untouched" || bad "lint output"
$dqr lint "$work/syntax.das" >"$work/lint" 2>"$work/err"
[ $? -eq 2 ] && grep -q "^dqr: .*syntax.das:3:16" "$work/err" && ok "lint refuses a bad script (exit 2)" || bad "lint exit"

finish
