#!/bin/sh
# DICOM TLS: dqr listen and dqr echo/store with certificates made here (a CA,
# a server and a client certificate), against each other and against DCMTK
# (echoscu/storescu +tls, storescp +tls); an untrusted server and a missing
# client certificate are refused with a clear message. A requestor verifies
# the peer by default (system trust store without --tls-ca, and the host
# name); --tls-insecure is the explicit, warned opt-out; --tls-name names the
# host a certificate must hold.
# Usage: tls.sh DQR WORKDIR
set -u
dqr=$(cd "$(dirname "$1")" && pwd)/$(basename "$1") work=$2
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib.sh"
root=$here/../..
rm -rf "$work" && mkdir -p "$work/rx" "$work/rx2" "$work/scp"
export TCP_NODELAY=1
cd "$work"
cert() { # NAME CN CA-prefix [SAN]
    openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=%s\n' "${4:-DNS:localhost,IP:127.0.0.1}" >ext.cnf
    openssl x509 -req -in "$1.csr" -CA "$3.crt" -CAkey "$3.key" -CAcreateserial -out "$1.crt" -days 2 -extfile ext.cnf 2>/dev/null
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.crt -subj /CN=dqr-test-ca -days 2 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -keyout other.key -out other.crt -subj /CN=other-ca -days 2 2>/dev/null
cert server localhost ca
cert client dqr-client ca
cert elsewhere elsewhere.example ca DNS:elsewhere.example
/usr/bin/python3 "$root/tools/gen_studies.py" "$work/in" --instances 4 --rows 16 --cols 16 >/dev/null
rm -f "$work/in/manifest.json"

P1=$(free_port) P2=$(free_port) P3=$(free_port) P4=$(free_port)
"$dqr" listen --port "$P1" --aet TLSSCP --out rx --tls --tls-cert server.crt --tls-key server.key >l1.out 2>l1.err &
pids="$pids $!"
"$dqr" listen --port "$P2" --aet MTLS --out rx2 --tls --tls-cert server.crt --tls-key server.key --tls-ca ca.crt >l2.out 2>l2.err &
pids="$pids $!"
storescp +tls server.key server.crt +cf ca.crt -aet STORESCP -od scp "$P3" >/dev/null 2>&1 &
pids="$pids $!"
mkdir -p rx4
"$dqr" listen --port "$P4" --aet ELSEWHERE --out rx4 --tls --tls-cert elsewhere.crt --tls-key elsewhere.key >l4.out 2>l4.err &
pids="$pids $!"
wait_port "$P1" && wait_port "$P2" && wait_port "$P3" && wait_port "$P4" || bad "listeners did not start"

# Verification by default: the test CA is in no system trust store.
"$dqr" echo --call TLSSCP --tls 127.0.0.1 "$P1" >out 2>err
[ $? -eq 1 ] && grep -q "^dqr: echo: TLS: the peer's certificate is not trusted" err \
    && ok "--tls without --tls-ca: untrusted certificate refused (system trust store)" || bad "default verification"
"$dqr" store --call STORESCP --tls --tls-cert client.crt --tls-key client.key 127.0.0.1 "$P3" in >out 2>err
[ $? -eq 1 ] && grep -q "not trusted" err && [ "$(ls scp | wc -l)" -eq 0 ] \
    && ok "dqr store --tls -> DCMTK storescp with an untrusted certificate: refused, nothing sent" || bad "storescp untrusted"
"$dqr" echo --call TLSSCP --tls-insecure 127.0.0.1 "$P1" >out 2>err
[ $? -eq 0 ] && grep -q "^dqr: warning: --tls-insecure" err && ok "--tls-insecure: accepted, with a warning" \
    || bad "tls-insecure"
"$dqr" echo --call TLSSCP --tls --tls-ca ca.crt localhost "$P1" >out 2>err && ok "host name verified (localhost)" \
    || bad "localhost name"
"$dqr" echo --call ELSEWHERE --tls --tls-ca ca.crt 127.0.0.1 "$P4" >out 2>err
[ $? -eq 1 ] && grep -q "not trusted: .*mismatch" err && ok "certificate for another host: refused" || bad "name mismatch"
"$dqr" echo --call ELSEWHERE --tls --tls-ca ca.crt --tls-name elsewhere.example 127.0.0.1 "$P4" >out 2>err \
    && ok "--tls-name: the certificate's name accepted" || bad "tls-name"
"$dqr" listen --port 1 --aet X --out rx --tls-insecure --tls-cert server.crt >out 2>err
[ $? -eq 2 ] && ok "dqr listen --tls-insecure: usage error" || bad "listen insecure"
cp client.key open.key && chmod 644 open.key
"$dqr" echo --call MTLS --tls --tls-ca ca.crt --tls-cert client.crt --tls-key open.key 127.0.0.1 "$P2" >out 2>err
[ $? -ne 0 ] && grep -q "key file 'open.key' is readable by every user" err && ok "world-readable key refused" \
    || bad "world-readable key"

"$dqr" echo --call TLSSCP --tls --tls-ca ca.crt 127.0.0.1 "$P1" >out 2>err && ok "dqr echo over TLS, server verified" || bad "echo TLS"
"$dqr" store --call TLSSCP --tls --tls-ca ca.crt 127.0.0.1 "$P1" in >out 2>err && [ "$(ls rx | wc -l)" -eq 4 ] \
    && ok "dqr store over TLS: 4 files" || bad "store TLS"
"$dqr" echo --call TLSSCP --tls --tls-ca other.crt 127.0.0.1 "$P1" >out 2>err
[ $? -eq 1 ] && grep -q "^dqr: echo: TLS: the peer's certificate is not trusted" err && ok "untrusted server refused" || bad "untrusted server"
"$dqr" echo --call TLSSCP 127.0.0.1 "$P1" >out 2>err
[ $? -eq 1 ] && ok "plain TCP to a TLS listener fails (exit 1)" || bad "plain to TLS"
"$dqr" echo --call MTLS --tls --tls-ca ca.crt 127.0.0.1 "$P2" >out 2>err
[ $? -eq 1 ] && grep -q "certificate required\|handshake failed\|network error" err && ok "no client certificate: refused" || bad "mTLS without cert"
"$dqr" echo --call MTLS --tls --tls-ca ca.crt --tls-cert client.crt --tls-key client.key 127.0.0.1 "$P2" >out 2>err \
    && ok "client certificate accepted" || bad "mTLS with cert"
echoscu +tls client.key client.crt +cf ca.crt -aec TLSSCP 127.0.0.1 "$P1" >out 2>err && ok "DCMTK echoscu +tls -> dqr listen" || bad "echoscu tls"
rm -f rx/*
storescu +tls client.key client.crt +cf ca.crt -aec TLSSCP 127.0.0.1 "$P1" $(find in -name '*.dcm') >out 2>err \
    && [ "$(ls rx | wc -l)" -eq 4 ] && ok "DCMTK storescu +tls -> dqr listen" || bad "storescu tls"
"$dqr" store --call STORESCP --tls --tls-ca ca.crt --tls-cert client.crt --tls-key client.key 127.0.0.1 "$P3" in >out 2>err \
    && [ "$(ls scp | wc -l)" -eq 4 ] && ok "dqr store --tls -> DCMTK storescp +tls" || bad "dqr -> storescp tls"

finish
