#!/usr/bin/env bash
# Creates (or reuses) the private virtualenv compat/.venv with the pinned client stack from
# compat/requirements.txt: cos-python-sdk-v5, boto3/botocore and pytest.
#
# Idempotent: when the venv already holds exactly the pinned set (recorded in a stamp file that
# is written only after a successful install), it does nothing. Needs only PyPI.
#
#   compat/setup.sh            # create or reuse
#   PYTHON=python3.11 compat/setup.sh
#   COMPAT_VENV=/some/dir compat/setup.sh   # put the venv elsewhere
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${COMPAT_VENV:-$here/.venv}"
req="$here/requirements.txt"
stamp="$venv/.cosd-compat-stamp"
python="${PYTHON:-python3}"

log() { printf 'compat/setup.sh: %s\n' "$*" >&2; }

if ! command -v "$python" >/dev/null 2>&1; then
    log "no '$python' on PATH (set PYTHON=...)"
    exit 1
fi

py_version="$("$python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)'; then
    log "Python >= 3.9 is required, '$python' is $py_version"
    exit 1
fi

# What the stamp must say for the venv to be reused: the interpreter and the exact pins.
expected_stamp="python $py_version ($(command -v "$python"))
$(cat "$req")"

if [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$expected_stamp" ] \
    && "$venv/bin/python" -c 'import qcloud_cos, boto3, botocore, pytest, requests' >/dev/null 2>&1; then
    log "venv up to date ($venv)"
    exit 0
fi

make_venv() {
    rm -rf "$venv"
    "$python" -m venv "$venv"
}

log "creating venv $venv with $python $py_version"
if ! make_venv; then
    # Debian's python3 ships venv/ensurepip separately (python3-venv). CI runs as root, so try
    # to install it from Debian's packages and try again.
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "'$python -m venv' failed; installing python3-venv with apt-get"
        minor="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq python3-venv || apt-get install -y -qq "python${minor}-venv"
        make_venv
    else
        log "'$python -m venv' failed (install python3-venv)"
        exit 1
    fi
fi

export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
log "installing pinned requirements"
"$venv/bin/python" -m pip install --quiet --progress-bar off -r "$req"
"$venv/bin/python" -m pip check
"$venv/bin/python" - <<'EOF'
import boto3, botocore, pytest, qcloud_cos, requests
from importlib.metadata import version
print("compat/setup.sh: installed " + ", ".join(
    f"{name} {version(name)}" for name in ("cos-python-sdk-v5", "boto3", "botocore", "pytest", "requests")))
EOF
printf '%s' "$expected_stamp" > "$stamp"
log "venv ready ($venv)"
