#!/bin/sh
# Lean dependencies (issue #17, item 1): scripts/deps.sh's build/run group
# holds what building and running need and no test peer or tool; the test
# group holds those; `make run` installs only the first, `make check` both;
# the project's make targets turn -Werror on, a plain cmake build leaves it off.
# Usage: deps_groups.sh SOURCE_DIR WORK_DIR
set -u
src=$1
work=$2
. "$src/tests/lib.sh"
rm -rf "$work" && mkdir -p "$work"
deps=$src/scripts/deps.sh

# Test peers and tools that must never come with `make deps` / `make run`.
TEST_ONLY='^(chromium|orthanc|postgresql|dcmtk|clang|libclang|nodejs|npm|hyperfine|slapd|lintian|debhelper|debootstrap)'
# What the build needs (the libraries CMakeLists.txt links, the generator's python3).
BUILD_NEED="build-essential cmake pkg-config python3 ca-certificates zlib1g-dev libjansson-dev
libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev libpq-dev libsodium-dev libssl-dev
libpcre2-dev libzip-dev libldap-dev libjpeg62-turbo-dev libgdcm-dev libcharls-dev libopenjp2-7-dev"
TEST_NEED="chromium nodejs orthanc orthanc-dicomweb postgresql dcmtk clang hyperfine slapd ldap-utils
debhelper lintian fakeroot dpkg-dev debootstrap python3-pydicom"

# has FILE PKG: the list holds exactly that package name
has() { grep -qx -- "$2" "$1"; }

"$deps" --list >"$work/run" 2>"$work/err" && ok "--list exits 0" || bad "--list exits 0"
"$deps" --list-test >"$work/test" 2>"$work/err" && ok "--list-test exits 0" || bad "--list-test exits 0"

for f in run test; do
    if [ -s "$work/$f" ] && ! grep -qvE '^[a-z0-9][a-z0-9.+-]*$' "$work/$f"; then
        ok "$f group: one package name a line"
    else
        bad "$f group: one package name a line"; sed 's/^/     /' "$work/$f" | head -5
    fi
done

if grep -E "$TEST_ONLY" "$work/run" >"$work/err"; then
    bad "run group holds no test peer or tool"
else
    ok "run group holds no test peer or tool"
fi

# What apt would pull in for the run group (Depends only, as deps.sh installs
# with --no-install-recommends): still no test peer or tool.
if command -v apt-cache >/dev/null 2>&1; then
    # shellcheck disable=SC2046
    apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks --no-replaces \
        --no-enhances $(cat "$work/run") 2>/dev/null | grep -v '^ ' | sort -u >"$work/closure"
    if [ ! -s "$work/closure" ]; then
        bad "apt-cache lists the run group's dependencies"
    elif grep -E "$TEST_ONLY" "$work/closure" >"$work/err"; then
        bad "the run group's dependencies hold no test peer or tool"
    else
        ok "the run group's dependencies hold no test peer or tool ($(wc -l <"$work/closure") packages)"
    fi
fi

missing=""
for p in $BUILD_NEED; do has "$work/run" "$p" || missing="$missing $p"; done
[ -z "$missing" ] && ok "run group holds the build's needs" || { echo "$missing" >"$work/err"; bad "run group holds the build's needs"; }

missing=""
for p in $TEST_NEED; do has "$work/test" "$p" || missing="$missing $p"; done
[ -z "$missing" ] && ok "test group holds the peers and tools" || { echo "$missing" >"$work/err"; bad "test group holds the peers and tools"; }

if sort "$work/run" "$work/test" | uniq -d | grep . >"$work/err"; then
    bad "the groups share no package"
else
    ok "the groups share no package"
fi

"$deps" --no-such-option >/dev/null 2>"$work/err"
[ $? -eq 2 ] && ok "an unknown option is a usage error" || bad "an unknown option is a usage error"

# make's dry runs: which group each target installs, and -Werror on.
make -n -C "$src" run >"$work/make-run" 2>"$work/err" || bad "make -n run"
if grep -q 'scripts/deps.sh' "$work/make-run" && ! grep -q 'deps.sh --test' "$work/make-run"; then
    ok "make run installs the build/run group only"
else
    bad "make run installs the build/run group only"
fi
make -n -C "$src" check >"$work/make-check" 2>"$work/err" || bad "make -n check"
grep -q 'scripts/deps.sh --test' "$work/make-check" && ok "make check installs the test group" \
    || bad "make check installs the test group"
for t in build test-asan test-fuzz; do
    # join the recipes' continued lines before looking at the cmake one
    if make -n -C "$src" "$t" 2>"$work/err" | sed -e ':a' -e '/\\$/N; s/\\\n//; ta' \
        | grep 'cmake -S' | grep -q -- '-DDQR_WERROR=ON'; then
        ok "make $t builds with -DDQR_WERROR=ON"
    else
        bad "make $t builds with -DDQR_WERROR=ON"
    fi
done

# DQR_WERROR: off in a plain configure (a distributor's build), on when asked.
# DQR_TESTS=OFF keeps the configure short and needs no cmocka.
werror_in() {
    d=$1; shift
    cmake -S "$src" -B "$work/$d" -DDQR_TESTS=OFF "$@" >"$work/$d.log" 2>&1 || return 2
    # a bare -Werror (not -Werror=format-security, which a package build's CFLAGS carry)
    grep -qE -- '-Werror( |$)' "$work/$d/CMakeFiles/dqr.dir/flags.make"
}
werror_in plain; r=$?
[ $r -eq 1 ] && ok "plain cmake configure: no -Werror" || { cp "$work/plain.log" "$work/err"; bad "plain cmake configure: no -Werror"; }
werror_in werror -DDQR_WERROR=ON; r=$?
[ $r -eq 0 ] && ok "-DDQR_WERROR=ON: -Werror" || { cp "$work/werror.log" "$work/err"; bad "-DDQR_WERROR=ON: -Werror"; }
[ ! -e "$work/plain/tests" ] && ok "-DDQR_TESTS=OFF builds no tests" || bad "-DDQR_TESTS=OFF builds no tests"

finish
