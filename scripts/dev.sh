#!/usr/bin/env bash
# One entry point that sets up a fresh Debian 12 machine and then serves or tests.
#   bash scripts/dev.sh serve [ARGS]   serve the app on the default city
#   bash scripts/dev.sh test  [ARGS]   run the whole test suite (ruff, then pytest)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${TWIN3D_VENV:-$ROOT/.venv}
APT_PACKAGES="python3-venv libusb-1.0-0 libgl1 libegl1 libosmesa6 libglib2.0-0 libxrender1 libxext6 libx11-6 libgomp1 chromium nginx-light openssl"

missing_apt() {
    local missing=()
    for p in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    echo "${missing[@]:-}"
}

install_system() {
    command -v dpkg-query >/dev/null || { echo "not a Debian machine: install $APT_PACKAGES by hand" >&2; return 0; }
    local missing
    missing=$(missing_apt)
    [ -z "$missing" ] && return 0
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo="sudo"; else
            echo "twin3d needs these system packages; please run:" >&2
            echo "  sudo apt-get update && sudo apt-get install -y $missing" >&2
            exit 2
        fi
    fi
    echo "installing system packages: $missing" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
}

install_python() {
    local stamp="$VENV/.twin3d-installed"
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV"
    fi
    if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
        "$VENV/bin/python" -m pip install -q --upgrade pip
        "$VENV/bin/python" -m pip install -q -e ".[test]"
        touch "$stamp"
    fi
}

cmd=${1:-}
shift || true
case "$cmd" in
    serve)
        install_system
        install_python
        exec "$VENV/bin/twin3d" serve "$@"
        ;;
    test)
        install_system
        install_python
        "$VENV/bin/ruff" check twin3d server tests
        export TWIN3D_TEST_DATA=${TWIN3D_TEST_DATA:-$ROOT/../shared/data}
        export TWIN3D_TEST_ARTIFACTS=${TWIN3D_TEST_ARTIFACTS:-$ROOT/test-artifacts}  # browser screenshots
        mkdir -p "$TWIN3D_TEST_ARTIFACTS"
        set +e
        "$VENV/bin/python" -m pytest "$@"
        rc=$?
        set -e
        [ $rc -eq 5 ] && { echo "no tests collected" >&2; exit 1; }
        exit $rc
        ;;
    *)
        echo "usage: bash scripts/dev.sh serve|test [ARGS]" >&2
        exit 2
        ;;
esac
