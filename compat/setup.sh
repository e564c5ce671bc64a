#!/usr/bin/env bash
# Prepares everything the compatibility suite in compat/ drives, pinned:
#   1. the private virtualenv compat/.venv with the Python clients pinned in
#      compat/requirements.txt: cos-python-sdk-v5, boto3/botocore, pytest, and the command-line
#      clients coscmd, aws (CLI v1, package awscli) and s3cmd;
#   2. Debian's packages `rclone` and `libnss-myhostname` (the latter makes
#      `<bucket>.cos.localhost` resolve to loopback, which coscmd needs: it has no IP option),
#      installed with apt-get (as root, after `apt-get update`) when missing;
#   3. compat/node/node_modules: cos-nodejs-sdk-v5 as pinned by compat/node/package-lock.json,
#      with `npm ci`.
#
# Idempotent: a step does nothing when its result is already there (the venv and node_modules
# carry a stamp written only after a successful install; the Debian step checks the command and
# the name resolution themselves). Needs only PyPI, Debian's packages and the npm registry; works
# with CI=true on a fresh Debian machine.
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

# ============================================================ 1. Python clients in compat/.venv
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

venv_up_to_date() {
    [ -x "$venv/bin/python" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$expected_stamp" ] \
        && "$venv/bin/python" -c 'import qcloud_cos, boto3, botocore, pytest, requests, coscmd, awscli, S3' \
            >/dev/null 2>&1 \
        && [ -x "$venv/bin/coscmd" ] && [ -x "$venv/bin/aws" ] && [ -x "$venv/bin/s3cmd" ]
}

make_venv() {
    rm -rf "$venv"
    "$python" -m venv "$venv"
}

setup_venv() {
    log "creating venv $venv with $python $py_version"
    if ! make_venv; then
        # Debian's python3 ships venv/ensurepip separately (python3-venv). CI runs as root, so try
        # to install it from Debian's packages and try again.
        if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            log "'$python -m venv' failed; installing python3-venv with apt-get"
            local minor
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
    "$venv/bin/python" - <<'PY'
import boto3, botocore, pytest, qcloud_cos, requests, coscmd, awscli, S3
from importlib.metadata import version
print("compat/setup.sh: installed " + ", ".join(
    f"{name} {version(name)}" for name in ("cos-python-sdk-v5", "boto3", "botocore", "pytest", "requests",
                                           "coscmd", "awscli", "s3cmd")))
PY
    printf '%s' "$expected_stamp" > "$stamp"
    log "venv ready ($venv)"
}

if venv_up_to_date; then
    log "venv up to date ($venv)"
else
    setup_venv
fi

# ============================================= 2. Debian: rclone, *.localhost name resolution
# The probe is a name of the form the tests use: <bucket>.cos.localhost must resolve to 127.0.0.1.
localhost_resolves() {
    getent ahostsv4 probe-1250000000.cos.localhost 2>/dev/null | grep -q '^127\.'
}

missing=()
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
localhost_resolves || missing+=(libnss-myhostname)
if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        log "installing ${missing[*]} with apt-get"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq "${missing[@]}" >/dev/null
    else
        log "missing: ${missing[*]}: install these Debian packages as root"
        exit 1
    fi
fi
if ! command -v rclone >/dev/null 2>&1; then
    log "rclone is still missing after apt-get"
    exit 1
fi
if ! localhost_resolves; then
    # libnss-myhostname's install adds `myhostname` to the hosts line of /etc/nsswitch.conf; a
    # machine whose nsswitch.conf was customised may need it added by hand.
    log "probe-1250000000.cos.localhost does not resolve to 127.0.0.1" \
        "(is 'myhostname' on the hosts line of /etc/nsswitch.conf?)"
    exit 1
fi
log "$(rclone version 2>/dev/null | head -n 1); *.localhost resolves to loopback"

# ================================================= 3. npm: cos-nodejs-sdk-v5 in compat/node
node_dir="$here/node"
node_stamp="$node_dir/node_modules/.cosd-node-stamp"
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "node and npm are required (Node.js >= 18) for compat/node"
    exit 1
fi
node_version="$(node -p 'process.versions.node')"
expected_node_stamp="node $node_version
$(sha256sum "$node_dir/package-lock.json" | cut -d' ' -f1)"

node_up_to_date() {
    [ -f "$node_stamp" ] && [ "$(cat "$node_stamp")" = "$expected_node_stamp" ] &&
        (cd "$node_dir" && node -e '
            const lock = require("./package-lock.json").packages;
            const have = require("./node_modules/cos-nodejs-sdk-v5/package.json").version;
            process.exit(have === lock["node_modules/cos-nodejs-sdk-v5"].version ? 0 : 1);' >/dev/null 2>&1)
}

if node_up_to_date; then
    log "compat/node/node_modules up to date"
else
    log "npm ci in compat/node (pinned cos-nodejs-sdk-v5)"
    rm -f "$node_stamp"
    # --ignore-scripts: nothing here needs an install script.
    (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    printf '%s' "$expected_node_stamp" > "$node_stamp"
    log "installed cos-nodejs-sdk-v5" \
        "$(cd "$node_dir" && node -p 'require("./node_modules/cos-nodejs-sdk-v5/package.json").version')"
fi
