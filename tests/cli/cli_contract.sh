#!/bin/sh
# The command-line contract of ARCHITECTURE.md section 4 as far as it is
# built: exit codes, "dqr: " error lines on stderr, --help, and dump output.
set -u
dqr=$1
here=$(cd "$(dirname "$0")" && pwd)
seeds=$here/../fuzz/seeds
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# expect NAME WANT_EXIT STDERR_PATTERN STDOUT_PATTERN -- COMMAND...
expect() {
    name=$1 want=$2 errpat=$3 outpat=$4
    shift 5
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    ok=1
    [ "$got" -eq "$want" ] || ok=0
    [ -z "$errpat" ] || grep -qE -- "$errpat" "$tmp/err" || ok=0
    [ -z "$outpat" ] || grep -qE -- "$outpat" "$tmp/out" || ok=0
    # every stderr line is a "dqr: " line
    if [ -s "$tmp/err" ] && grep -qvE '^dqr: ' "$tmp/err" && [ "$want" -ne 2 ]; then ok=0; fi
    if [ $ok -eq 1 ]; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name: exit $got (want $want)"; sed 's/^/     err: /' "$tmp/err" | head -5
    fi
}

f=$seeds/synthetic_implicit.dcm
expect "no command is a usage error" 2 "usage: dqr" "" -- "$dqr"
expect "unknown command" 2 "^dqr: unknown command 'bogus'" "" -- "$dqr" bogus
expect "help lists dump" 0 "" "dump +print a dataset" -- "$dqr" help
expect "help COMMAND" 0 "" "usage: dqr dump FILE" -- "$dqr" help dump
expect "COMMAND --help" 0 "" "usage: dqr dump FILE" -- "$dqr" dump --help
expect "version" 0 "" "^dqr [0-9]+\.[0-9]+\.[0-9]+" -- "$dqr" version
expect "dump without FILE" 2 "^dqr: dump: missing FILE" "" -- "$dqr" dump
expect "dump unknown option" 2 "^dqr: dump: unknown option '--nope'" "" -- "$dqr" dump --nope "$f"
expect "dump missing file" 1 "^dqr: /nonexistent.dcm: No such file or directory$" "" -- "$dqr" dump /nonexistent.dcm
printf 'not dicom at all, just text\n' >"$tmp/text.txt"
expect "dump non-DICOM" 1 "^dqr: .*text.txt: not a DICOM file" "" -- "$dqr" dump "$tmp/text.txt"
head -c 700 "$f" >"$tmp/cut.dcm"
expect "dump truncated" 1 "^dqr: .*cut.dcm: offset [0-9]+, tag \([0-9A-F]{4},[0-9A-F]{4}\)" "" -- "$dqr" dump "$tmp/cut.dcm"
expect "dump text" 0 "" "^\(0010,0010\) PN \[DQRCANARY-PN-[0-9]+\^FAKE\] +# +24, 1 PatientName$" -- "$dqr" dump "$f"
expect "dump text sequence" 0 "" "^  \(fffe,e000\) na \(Item with (explicit|undefined) length #=2\)" -- "$dqr" dump "$f"
expect "dump json" 0 "" '"00100010":\{"vr":"PN","Value":\[\{"Alphabetic":"DQRCANARY-PN-[0-9]+\^FAKE"\}\]\}' -- "$dqr" dump --json "$f"
expect "dump json pixel placeholder" 0 "" '"7FE00010":\{"vr":"OW","BulkDataURI":"bulkdata/7FE00010"\}' -- "$dqr" dump --json "$f"
"$dqr" dump --json "$f" | /usr/bin/python3 -m json.tool >/dev/null 2>&1 && { pass=$((pass + 1)); echo "ok   json parses"; } || { fail=$((fail + 1)); echo "FAIL json parses"; }
expect "dump several files" 0 "" "^# File: .*synthetic_big.dcm$" -- "$dqr" dump "$f" "$seeds/synthetic_big.dcm"
expect "dump several, one bad" 1 "^dqr: /nonexistent.dcm: No such" "^# File: .*synthetic_big.dcm$" -- "$dqr" dump /nonexistent.dcm "$seeds/synthetic_big.dcm"
test "$("$dqr" dump --json "$f" "$f" | wc -l)" -eq 2 && { pass=$((pass + 1)); echo "ok   json lines"; } || { fail=$((fail + 1)); echo "FAIL json lines"; }
expect "convert" 0 "" "" -- "$dqr" convert --ts explicit "$f" "$tmp/e.dcm"
expect "convert result readable" 0 "" "Explicit VR Little Endian" -- "$dqr" dump "$tmp/e.dcm"
expect "convert bad syntax" 2 "^dqr: convert: unknown transfer syntax 'weird'" "" -- "$dqr" convert --ts weird "$f" "$tmp/x.dcm"
expect "convert unwritable" 1 "^dqr: /nonexistent-dir/x.dcm" "" -- "$dqr" convert "$f" /nonexistent-dir/x.dcm
printf '{"dicom_prot": 104}' >"$tmp/bad.json"
expect "serve: bad config key names it" 2 "^dqr: serve: .*bad.json: unknown key 'dicom_prot'" "" -- "$dqr" serve --config "$tmp/bad.json"
expect "serve: missing config file" 2 "^dqr: serve: .*nonexistent.json" "" -- "$dqr" serve --config /nonexistent.json
expect "serve: bad environment value" 2 "^dqr: serve: DQR_HTTP_PORT: http_port must be an integer" "" -- env DQR_HTTP_PORT=eighty "$dqr" serve
expect "serve --print-config" 0 "" '"dicom_port": 11112' -- env -u DQR_DICOM_PORT "$dqr" serve --print-config
# every setting is documented with its variable in docs/configuration.md
docs=$here/../../docs/configuration.md
missing=$("$dqr" serve --list-keys | while IFS="$(printf '\t')" read -r key var def doc; do
    grep -q "| \`$key\` | \`$var\` |" "$docs" || echo "$key"; done)
[ -z "$missing" ] && { pass=$((pass + 1)); echo "ok   every setting documented"; } \
    || { fail=$((fail + 1)); echo "FAIL settings missing from docs/configuration.md: $missing"; }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
