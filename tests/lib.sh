# tests/lib.sh — sourced by the shell tests: result lines, the closing
# "N passed, N failed", free localhost ports, and processes stopped by pid.
# Set `work` before calling ok/bad; add pids to `pids` to have them stopped.
pass=0 fail=0 pids=""
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() {
    fail=$((fail + 1))
    echo "FAIL $1"
    [ -s "$work/err" ] && sed 's/^/     /' "$work/err" | tail -5
    return 0
}
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
stop_pids() { for p in $pids; do kill "$p" 2>/dev/null; done; wait 2>/dev/null; }
trap stop_pids EXIT
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
    for _ in $(seq 100); do
        /usr/bin/python3 -c "import socket; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
