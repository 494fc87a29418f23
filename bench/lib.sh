# bench/lib.sh — sourced by the benchmark scripts: arguments, paths, data.
# Sets n (files), root, work, dqr ($DQR, or build/dqr), data (a folder of n generated CT files,
# DICOM only, made once and reused while n stays the same).
# Usage in a script: . "$(dirname "$0")/lib.sh"; bench_setup NAME "$@"
bench_setup() {
    name=$1
    shift
    n=${1:-1000}
    root=$(cd "$(dirname "$0")/.." && pwd)
    work=${2:-$root/bench/out}
    dqr=${DQR:-$root/build/dqr}
    [ -x "$dqr" ] || { echo "bench: build first (make build)" >&2; exit 1; }
    mkdir -p "$work"
    data=$work/$name-data
    if [ "$(cat "$data.count" 2>/dev/null)" != "$n" ]; then
        rm -rf "$data"
        /usr/bin/python3 "$root/tools/gen_studies.py" "$data" --instances "$n" >/dev/null
        rm -f "$data/manifest.json"
        echo "$n" >"$data.count"
    fi
    echo "bench: $(find "$data" -name '*.dcm' | wc -l) files, $(du -sh "$data" | cut -f1)"
}
