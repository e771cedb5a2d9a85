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

# Each example is its own scenario (several define production/default differently), so each is
# linted as its own bundle. Exit code 1 means "findings at deny level", the point of most of them.
for example in examples/*.yaml examples/bad/*.yaml; do
  printf '\n=== sa-guard lint %s ===\n' "$example"
  "$CARGO_TARGET_DIR/host/sa-guard" lint "$example" || [ $? -eq 1 ]
done
