#!/usr/bin/env bash
# policy.wasm on the engine kwctl and policy-server use (waPC on wasmtime): builds the policy,
# then runs the end-to-end suite in e2e-tests/ (crate sa-guard-e2e). Extra arguments go to the
# test harness, e.g. `scripts/e2e.sh context_aware` to run only matching tests.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh

bash scripts/build-policy.sh
# Named explicitly: the suite's default (next to its crate, from CARGO_MANIFEST_DIR) is fixed at
# compile time, and a build shared with another checkout of the repository could point elsewhere.
export SA_GUARD_POLICY="$PWD/policy.wasm"
"$CARGO" test --locked -p sa-guard-e2e -- "$@" 2>&1
