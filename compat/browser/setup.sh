#!/usr/bin/env bash
# Prepares the real-browser test in compat/browser:
#   - Debian's Chromium (/usr/bin/chromium), installed with apt-get when missing (needs root; runs
#     `apt-get update` first). Skipped when Chromium is already there. Browser downloads by test
#     tools (`npx playwright install`) are not used: only the package registries are reachable.
#   - the pinned npm packages (package.json + package-lock.json: playwright-core, cos-js-sdk-v5)
#     in compat/browser/node_modules, with `npm ci` (no install scripts). Skipped when
#     node_modules already holds exactly that lock file (stamp written after a successful install).
#
# Idempotent; works on a fresh Debian machine with CI=true and only the package registries.
#
#   compat/browser/setup.sh
#   CHROMIUM_BIN=/path/to/chromium compat/browser/setup.sh   # use another Chromium, no apt-get
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chromium="${CHROMIUM_BIN:-/usr/bin/chromium}"
stamp="$here/node_modules/.cosd-browser-stamp"

log() { printf 'compat/browser/setup.sh: %s\n' "$*" >&2; }

# ------------------------------------------------------------------------------------- Chromium
if [ -x "$chromium" ]; then
    log "Chromium present ($chromium)"
elif [ -n "${CHROMIUM_BIN:-}" ]; then
    log "CHROMIUM_BIN=$CHROMIUM_BIN is not an executable"
    exit 1
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    log "installing Debian's chromium with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq chromium >/dev/null
    if [ ! -x "$chromium" ]; then
        log "apt-get installed chromium, but $chromium is still missing"
        exit 1
    fi
else
    log "no Chromium at $chromium: install Debian's 'chromium' package as root (or set CHROMIUM_BIN)"
    exit 1
fi
# (Debian's /usr/bin/chromium wrapper prints a harmless shell warning on some machines.)
log "$("$chromium" --version 2>/dev/null || echo 'chromium --version failed')"

# ------------------------------------------------------------------------------- Node and npm
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    log "node and npm are required (Node.js >= 20)"
    exit 1
fi
node_version="$(node -p 'process.versions.node')"
if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)'; then
    log "Node.js >= 20 is required (playwright-core), this is $node_version"
    exit 1
fi

expected_stamp="node $node_version
$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)"

installed_ok() {
    [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$expected_stamp" ] &&
        (cd "$here" && node -e '
            const lock = require("./package-lock.json").packages;
            for (const name of ["playwright-core", "cos-js-sdk-v5"]) {
                const have = require(`./node_modules/${name}/package.json`).version;
                if (have !== lock[`node_modules/${name}`].version) process.exit(1);
            }' >/dev/null 2>&1)
}

if installed_ok; then
    log "node_modules up to date ($here/node_modules)"
else
    log "npm ci (pinned playwright-core, cos-js-sdk-v5)"
    rm -f "$stamp"
    # --ignore-scripts: cos-js-sdk-v5's postinstall would only run `npx patch-package` for patches
    # it does not ship; nothing here needs an install script.
    (cd "$here" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    installed_ok_versions="$(cd "$here" && node -p '["playwright-core", "cos-js-sdk-v5"].map((n) => n + " " + require(`./node_modules/${n}/package.json`).version).join(", ")')"
    printf '%s' "$expected_stamp" > "$stamp"
    log "installed $installed_ok_versions"
fi
