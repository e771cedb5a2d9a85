#!/usr/bin/env bash
# Native Rust tests of every crate except the wasmtime host (scripts/e2e.sh runs that one,
# after building policy.wasm).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh
"$CARGO" test --workspace --exclude sa-guard-e2e --locked 2>&1
