#!/bin/sh
# Every curl line in docs/api.md runs, in order, against a fresh `dqr serve`
# and an Orthanc peer (ports substituted), and answers 2xx — except the one
# example documented to answer 400 (a script that does not compile).
# Usage: api_examples.sh DQR WORKDIR
set -u
dqr=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$here/../..
rm -rf "$work" && mkdir -p "$work/db"
HP=$(free_port) OD=$(free_port) OH=$(free_port) DP=$(free_port)
cat >"$work/orthanc.json" <<CFG
{"Name": "doc", "StorageDirectory": "$work/db", "IndexDirectory": "$work/db", "DicomAet": "ORTHANC",
 "DicomPort": $OD, "HttpPort": $OH, "RemoteAccessAllowed": false, "Plugins": [],
 "DicomModalities": {"dqr": ["DQR", "127.0.0.1", $DP]}}
CFG
Orthanc "$work/orthanc.json" >"$work/orthanc.log" 2>&1 &
pids="$pids $!"
HOME=$work/home DQR_DATA_DIR=$work/var DQR_HTTP_PORT=$HP DQR_DICOM_PORT=$DP DQR_ADMIN_PASSWORD=change-me-please \
    "$dqr" serve >"$work/serve.log" 2>&1 &
pids="$pids $!"
wait_port "$OD" && wait_port "$HP" || bad "peers did not start"

# the blocks of sh, joined lines, ports replaced; one curl per line
awk '/^```sh$/{f=1;next}/^```$/{f=0}f' "$root/docs/api.md" | sed -e :a -e '/[^}]$/{/,$/{N;s/\n */ /;ba}}' \
    | sed "s/127.0.0.1:8080/127.0.0.1:$HP/g; s/\"port\":4242/\"port\":$OD/g" >"$work/examples.sh"
n=0
: >"$work/err"
{
    while IFS= read -r line; do
        case $line in
        curl*)
            n=$((n + 1))
            code=$(eval "$line -o \"$work/body\" -w '%{http_code}'")
            want=2
            case $line in *':= \n'*) want=4 ;; esac
            case $code in
            "$want"*) ok "example $n answers $code: $(printf "%s" "$line" | cut -c1-70)" ;;
            *) cat "$work/body" >"$work/err"; bad "example $n answers $code: $line" ;;
            esac
            ;;
        *) eval "$line" ;;
        esac
    done
    finish
} <"$work/examples.sh"
