#!/bin/sh
# Benchmark: receiving and sending 1,000 CT files (512x512, 16-bit) over
# DICOM on localhost, one hyperfine run each, TCP_NODELAY=1 for DCMTK:
#   storescu -> storescp            (DCMTK both sides: the reference)
#   storescu -> dqr listen          (dqr receiving)
#   storescu -> dqr listen --profile basic  (receiving and de-identifying in memory)
#   dqr store -> storescp           (dqr sending)
# Usage: bench/net.sh [N_FILES] [WORKDIR]     (defaults: 1000, bench/out)
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup net "$@"
export TCP_NODELAY=1
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done' EXIT
P1=$(free_port); mkdir -p "$work/rx-scp"; storescp -aet SCP -od "$work/rx-scp" "$P1" & pids="$pids $!"
P2=$(free_port); mkdir -p "$work/rx-dqr"; "$dqr" listen -q --port "$P2" --aet DQR --out "$work/rx-dqr" & pids="$pids $!"
head -c 32 /dev/urandom >"$work/secret" && chmod 600 "$work/secret"
P3=$(free_port); mkdir -p "$work/rx-deid"
"$dqr" listen -q --port "$P3" --aet DEID --out "$work/rx-deid" --profile basic --uid-secret "$work/secret" & pids="$pids $!"
sleep 1
hyperfine --runs 3 --export-markdown "$work/net.md" \
    --prepare "rm -rf $work/rx-scp/* $work/rx-dqr/* $work/rx-deid/*" \
    -n "storescu -> storescp" "storescu +sd +r -aec SCP 127.0.0.1 $P1 $data" \
    -n "storescu -> dqr listen" "storescu +sd +r -aec DQR 127.0.0.1 $P2 $data" \
    -n "storescu -> dqr listen --profile basic" "storescu +sd +r -aec DEID 127.0.0.1 $P3 $data" \
    -n "dqr store -> storescp" "$dqr store --call SCP 127.0.0.1 $P1 $data >/dev/null"
cat "$work/net.md"
