#!/usr/bin/env bash
# The main job: build policy.wasm and the CLI, then evaluate the lesson's example manifests
# (examples/) the two ways users do: as admission requests through policy.wasm on the same
# engine kwctl uses, and as a linted bundle with file:line findings.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh

bash scripts/build-policy.sh
# The dev profile, shared with `make test`'s e2e build: wasmtime builds in minutes instead of a
# quarter of an hour, and compiled modules are cached, so evaluation speed does not suffer.
"$CARGO" build --locked -p sa-guard-e2e
bash scripts/build-cli.sh >/dev/null

printf '\n=== Admission verdicts: each object of examples/ through policy.wasm ===\n'
"$CARGO_TARGET_DIR/debug/sa-guard-e2e" verdicts --policy policy.wasm examples/

printf '\n=== sa-guard lint examples/ ===\n'
# Exit code 1 means "findings at deny level", which is the point of the examples.
"$CARGO_TARGET_DIR/host/sa-guard" lint examples/ || [ $? -eq 1 ]
