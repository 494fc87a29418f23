#!/bin/sh
# Benchmark: de-identify the same 1,000 CT files (512x512, 16-bit) with
#   cp -r (the floor: copying the bytes, no de-identification),
#   gdcmanon -e (GDCM, PS3.15 Basic profile; needs a certificate, made here),
#   cp -r + dcmodify (DCMTK, in place, with an approximation of Basic: the
#     identifying attributes the generator plants, private tags, new UIDs),
#   dqr anonymize --profile basic,
# in one run with hyperfine (before each run the output folder is removed and
# the disk synced, so no run pays for the previous one's writeback). Only dqr
# syncs its output before it returns (syncfs); the others leave it in the cache.
# Usage: bench/anonymize.sh [N_FILES] [WORKDIR]     (defaults: 1000, bench/out)
set -eu
. "$(dirname "$0")/lib.sh"
bench_setup anon "$@"
in=$data
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$work/key.pem" -out "$work/cert.pem" \
    -subj /CN=dqr-bench -days 2 2>/dev/null
head -c 32 /dev/urandom >"$work/secret" && chmod 600 "$work/secret"
out=$work/anon-out
# DCMTK has no profile: an approximation of Basic for what the generator plants.
cat >"$work/dcmodify.sh" <<'SH'
#!/bin/sh
find "$1" -name '*.dcm' -print0 | xargs -0 dcmodify -nb -ie \
    -ma "(0010,0010)=" -ma "(0010,0020)=ANON" -ma "(0010,0030)=" -ma "(0008,0050)=" \
    -ma "(0020,0010)=" -ma "(0008,0090)=" -ea "(0010,1000)" -ea "(0010,1040)" -ea "(0010,2154)" \
    -ea "(0008,0080)" -ea "(0008,0081)" -ea "(0008,1010)" -ea "(0008,1030)" -ea "(0040,0275)" \
    -ep -gst -gse -gin >/dev/null
SH
chmod +x "$work/dcmodify.sh"
hyperfine --warmup 1 --runs 5 --prepare "rm -rf $out && sync" --export-markdown "$work/anonymize.md" \
    -n "cp -r" "cp -r $in $out" \
    -n "cp -r + sync (durable, like dqr)" "cp -r $in $out && sync -f $out" \
    -n "gdcmanon -e (Basic)" "gdcmanon -e -c $work/cert.pem -r --continue -i $in -o $out" \
    -n "cp -r + dcmodify" "cp -r $in $out && $work/dcmodify.sh $out" \
    -n "dqr anonymize --profile basic" "$dqr anonymize -q --uid-secret $work/secret --profile basic $in $out" \
    -n "dqr anonymize --profile basic --no-sync" "$dqr anonymize -q --no-sync --uid-secret $work/secret --profile basic $in $out"
cat "$work/anonymize.md"
