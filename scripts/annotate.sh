#!/usr/bin/env bash
# `make annotated`: annotated-policy.wasm = policy.wasm + policy-metadata.yml and README.md in the
# custom section `io.kubewarden.metadata`, as `kwctl annotate -m policy-metadata.yml -u README.md`
# writes it, with tools/annotate (no kwctl needed). The release publishes exactly this file.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

[ -f policy.wasm ] || bash scripts/build-policy.sh
"$CARGO" build --locked -p sa-guard-annotate
"$CARGO_TARGET_DIR/debug/sa-guard-annotate" -m policy-metadata.yml -u README.md -o annotated-policy.wasm policy.wasm
