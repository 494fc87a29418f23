#!/bin/sh
# Install the Debian packages dqr needs, in two groups:
#   scripts/deps.sh              what building and running dqr need (`make deps`, `make run`)
#   scripts/deps.sh --test       that, plus the test peers and tools (`make deps-test`, `make check`)
#   scripts/deps.sh --list       print the build/run group, one package a line, install nothing
#   scripts/deps.sh --list-test  print the test group, one package a line, install nothing
# Idempotent: asks apt only for what is missing, and runs `apt-get update`
# only when something must be installed. Run as root (or with sudo available).
set -eu

# Building and running: a C compiler, CMake, the -dev libraries dqr links,
# python3 for the build-time table generator, the CA store for TLS to peers.
# libcmocka-dev is here (it is tiny) so that `make run` and `make check`
# share one build directory; `-DDQR_TESTS=OFF` builds without it.
BUILD_PKGS="
build-essential cmake pkg-config
zlib1g-dev libcmocka-dev
libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev
libpq-dev libsodium-dev libssl-dev libpcre2-dev libzip-dev libldap-dev
libjpeg62-turbo-dev libgdcm-dev libcharls-dev libopenjp2-7-dev libpng-dev
libtesseract-dev tesseract-ocr-eng
python3 ca-certificates
"

# Testing only: clang for the fuzzers and build-type checks, the reference
# DICOM tools, the PACS, database and directory servers the tests start, the
# browser and its driver, the benchmark tools, the packaging tools.
TEST_PKGS="
git
clang libclang-rt-14-dev
python3-pydicom python3-numpy python3-pil
dcmtk libgdcm-tools dicom3tools
orthanc orthanc-dicomweb postgresql
slapd ldap-utils
hyperfine time procps openssl curl iproute2
chromium nodejs
debhelper lintian fakeroot dpkg-dev debootstrap
"

usage() {
    echo "usage: scripts/deps.sh [--test | --list | --list-test]" >&2
    exit 2
}

list() {
    for p in $1; do echo "$p"; done
}

with_tests=0
case "${1:-}" in
    "") ;;
    --test) with_tests=1 ;;
    --list) list "$BUILD_PKGS"; exit 0 ;;
    --list-test) list "$TEST_PKGS"; exit 0 ;;
    *) usage ;;
esac
[ $# -le 1 ] || usage

PKGS=$BUILD_PKGS
[ $with_tests -eq 0 ] || PKGS="$BUILD_PKGS $TEST_PKGS"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

# npm comes with NodeSource's nodejs; Debian's nodejs needs the npm package.
if [ $with_tests -eq 1 ] && ! command -v npm >/dev/null 2>&1; then
    missing="$missing npm"
fi

# The npm packages of the browser tests (tests/ui) and of the DICOMweb
# client test (tests/dicomweb), installed from their package-lock.json.
npm_deps() {
    [ $with_tests -eq 1 ] || return 0
    for ui in "$(dirname "$0")/../tests/ui" "$(dirname "$0")/../tests/dicomweb"; do
        if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
            echo "deps: npm ci in ${ui#*/../}"
            (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
        fi
    done
}

if [ -z "$missing" ]; then
    npm_deps
    echo "deps: all packages present"
    exit 0
fi

echo "deps: installing:$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=sudo; else
        echo "dqr deps: need root to install:$missing" >&2; exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# Don't start services (orthanc, postgresql, slapd) as a side effect of
# installing them: tests start their own instances on their own ports.
if [ ! -e /usr/sbin/policy-rc.d ] && [ -z "$SUDO" ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
npm_deps
echo "deps: done"
