#!/usr/bin/env bash
# Bounded-memory measurement (not part of scripts/test: it moves 2 x 16 GiB through the loopback
# and needs 16 GiB of free disk). Builds the release binary, prepares compat/.venv (the SigV4
# signer and process control come from compat/cosd_helpers.py), then runs bench/memory.py, which
# starts cosd, uploads 16 objects of 1 GiB concurrently, downloads them concurrently, samples the
# server's VmRSS and prints idle RSS, peak RSS and peak minus idle.
#
#   bench/memory.sh                              # 16 x 1 GiB, single streamed PUT per object
#   bench/memory.sh --mode multipart             # 16 x 1 GiB, 64 MiB parts
#   bench/memory.sh --objects 4 --size-mib 64    # a quick look
#   COSD_BENCH_TMP=/big/disk bench/memory.sh     # where the data dir goes
#
# The output is also kept in bench/results/memory-<UTC time>.txt (ignored by git).
set -euo pipefail

repo="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
cd "$repo"

cargo build --release
target_dir="$(cargo metadata --format-version 1 --no-deps \
    | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
compat/setup.sh
mkdir -p bench/results
out="bench/results/memory-$(date -u +%Y%m%dT%H%M%SZ).txt"
COSD_BIN="${COSD_BIN:-$target_dir/release/cosd}" compat/.venv/bin/python bench/memory.py "$@" | tee "$out"
