#!/bin/sh
# Install the Debian packages dqr needs to build, test and run its test peers.
# Idempotent: asks apt only for what is missing, and runs `apt-get update`
# only when something must be installed. Run as root (or with sudo available).
set -eu

PKGS="
build-essential cmake pkg-config git
zlib1g-dev libcmocka-dev
clang libclang-rt-14-dev
libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev libsqlite3-dev
libpq-dev libsodium-dev libssl-dev libpcre2-dev libzip-dev
python3 python3-pydicom python3-numpy
dcmtk libgdcm-tools dicom3tools
orthanc orthanc-dicomweb postgresql
hyperfine time procps openssl curl ca-certificates
chromium nodejs
"

missing=""
for p in $PKGS; do
    st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
    case "$st" in
        *"install ok installed"*) ;;
        *) missing="$missing $p" ;;
    esac
done

# npm comes with NodeSource's nodejs; Debian's nodejs needs the npm package.
command -v npm >/dev/null 2>&1 || missing="$missing npm"

# The browser tests' npm packages (tests/ui), installed from package-lock.json.
npm_deps() {
    ui=$(dirname "$0")/../tests/ui
    if [ ! -f "$ui/node_modules/.package-lock.json" ] || [ "$ui/package-lock.json" -nt "$ui/node_modules/.package-lock.json" ]; then
        echo "deps: npm ci in tests/ui"
        (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
    fi
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
# Don't start services (orthanc, postgresql) as a side effect of installing them:
# tests start their own instances on their own ports.
if [ ! -e /usr/sbin/policy-rc.d ] && [ -z "$SUDO" ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
npm_deps
echo "deps: done"
