#!/usr/bin/env bash
# Builds the sa-guard CLI (crate sa-guard-cli, binary `sa-guard`) with the native toolchain and
# prints where the binary is. `make cli`.
# Profile `host` (root Cargo.toml: opt-level 3, no LTO): the `release` profile is tuned for
# policy.wasm (size budget, LTO), which makes the CLI slower to build.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

"$CARGO" build --profile host --locked -p sa-guard-cli
bin="$CARGO_TARGET_DIR/host/sa-guard"
[ -x "$bin" ] || { echo "build-cli: $bin was not produced" >&2; exit 1; }
echo "build-cli: $bin ($(stat -c %s "$bin") bytes)"
"$bin" --version
