#!/bin/sh
# dqr lint finds run-time failures (issue #13, item 4): a script that parses
# but cannot run — a date shift of a TM attribute, a variable no import
# supplies — is named with line:column and "run-time:" and lint exits 2, on
# the built-in sample and on the --sample files; "ok" means the script ran;
# the variables an import has (project, subject, session) are set.
# Usage: lint_runtime.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$here/../..
rm -rf "$work" && mkdir -p "$work"

V='version "6.3"'
printf '%s\n// StudyTime (0008,0030) is TM\n(0008,0030) := shiftDateByIncrement[(0008,0030), "2", "days"]\n' "$V" >"$work/tm.das"
printf '%s\n(0010,0010) := subject\n(0010,0020) := format["{0}_{1}", project, session]\n(0008,1030) := site\n' "$V" >"$work/vars.das"
printf '%s\n(0010,0010) := subject\n(0008,0020) := shiftDateByIncrement[(0008,0020), "-3", "days"]\n' "$V" >"$work/good.das"
printf '%s\nisPresent[(0008,0022)] ? (0008,0022) := shiftDateByIncrement[(0008,0022), "1", "days"]\n' "$V" >"$work/acq.das"
printf '%s\n(0008,0060) = "MR" ? reject[]\n' "$V" >"$work/reject.das"

# --- a TM shift: parses, fails at run time on the built-in sample
$dqr lint "$work/tm.das" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 2 ] && ok "a script failing at run time: exit 2" || bad "TM shift: exit $rc"
grep -qx "dqr: $work/tm.das:3:16: run-time: shiftDateByIncrement: the attribute has VR TM, not DA (on sample built-in)" "$work/err" \
    && ok "the run-time error names line:column and the sample" || bad "TM shift message: $(cat "$work/err")"
! grep -q "tm.das: ok" "$work/out" && ok "no 'ok' for a script that does not run" || bad "TM shift said ok"
grep -q "untouched" "$work/out" && ok "the untouched list still follows" || bad "no untouched list"

# --- a good script before the failing one: each script is judged on its own
$dqr lint "$work/good.das" "$work/tm.das" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 2 ] && grep -qx "$work/good.das: ok (DicomEdit 6.3)" "$work/out" && grep -q "tm.das:3:16: run-time:" "$work/err" \
    && ok "good script ok, failing script reported (exit 2)" || bad "two scripts: exit $rc, $(cat "$work/err")"
$dqr lint "$work/tm.das" "$work/good.das" >"$work/out" 2>"$work/err"
grep -qx "$work/good.das: ok (DicomEdit 6.3)" "$work/out" && ok "a script after a failing one still runs" || bad "after a failure"

# --- variables: project, subject and session are there, others are not
$dqr lint "$work/vars.das" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 2 ] && grep -q "vars.das:4:16: run-time: unknown variable 'site'" "$work/err" && [ "$(wc -l <"$work/err")" -eq 1 ] \
    && ok "only the variable no import supplies is an error" || bad "variables: exit $rc, $(cat "$work/err")"
$dqr lint --var site=X "$work/vars.das" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && grep -qx "$work/vars.das: ok (DicomEdit 6.3)" "$work/out" && ok "--var supplies a variable (exit 0)" \
    || bad "--var: exit $rc, $(cat "$work/err")"

# --- --sample: a file on which the script fails while the built-in runs
/usr/bin/python3 "$root/tools/gen_studies.py" "$work/in" --patients 1 --studies 1 --series 1 --instances 1 --rows 8 --cols 8 >/dev/null
src=$(find "$work/in" -name '*.dcm' | head -1)
/usr/bin/python3 - "$src" "$work/acq_tm.dcm" <<'PY'
import sys, pydicom
from pydicom.dataelem import DataElement
ds = pydicom.dcmread(sys.argv[1])
ds.add(DataElement(0x00080022, "TM", "101500"))  # AcquisitionDate written as a time
ds.save_as(sys.argv[2])
PY
$dqr lint "$work/acq.das" >"$work/out" 2>"$work/err"
[ $? -eq 0 ] && grep -qx "$work/acq.das: ok (DicomEdit 6.3)" "$work/out" && ok "acq.das runs on the built-in sample" || bad "acq.das built-in: $(cat "$work/err")"
$dqr lint --sample "$src" --sample "$work/acq_tm.dcm" "$work/acq.das" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 2 ] && grep -qx "dqr: $work/acq.das:2:41: run-time: shiftDateByIncrement: the attribute has VR TM, not DA (on sample $work/acq_tm.dcm)" "$work/err" \
    && [ "$(wc -l <"$work/err")" -eq 1 ] && ok "--sample: the failure on that file only (exit 2)" || bad "--sample: exit $rc, $(cat "$work/err")"
$dqr lint --sample "$work/missing.dcm" "$work/good.das" >"$work/out" 2>"$work/err"
[ $? -eq 1 ] && grep -q "missing.dcm" "$work/err" && ok "an unreadable --sample: exit 1" || bad "missing sample"
$dqr lint --sample >"$work/out" 2>"$work/err"
[ $? -eq 2 ] && ok "--sample without a file: usage (exit 2)" || bad "--sample usage"

# --- reject[] is a note, not an error
$dqr lint "$work/reject.das" >"$work/out" 2>"$work/err"
rc=$?
[ $rc -eq 0 ] && grep -qx "$work/reject.das: note: reject\[\] drops this instance (on sample built-in)" "$work/out" \
    && grep -qx "$work/reject.das: ok (DicomEdit 6.3)" "$work/out" && ok "reject[] on the sample: a note (exit 0)" \
    || bad "reject: exit $rc, $(cat "$work/out" "$work/err" | head -3)"

finish
