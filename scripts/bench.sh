#!/usr/bin/env bash
# `make bench`: latency of policy.wasm's `validate` in the wasmtime host (mean, median, p99) for
# a small Pod, a typical Deployment, a 100-container Pod, a ~1 MB and a 3 MB ConfigMap, a 3 MB Pod
# of plain env entries and one whose env entries all name Secrets (the decoder's worst case),
# each next to a parse-only baseline module built the same way (e2e-tests/baseline-policy/);
# prints the ratio (goal <= 1.5x), the 3 MB latency (goal < 10 ms, for the first two 3 MB shapes)
# and policy.wasm's size (goal <= 512 KiB, the budget scripts/build-policy.sh enforces). A measurement, not a test: it exits 0 whether or not the goals are met.
# Extra arguments go to the benchmark (e.g. --iterations 1000 --settings-json '{"mutate":true}').
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh

bash scripts/build-policy.sh

# The baseline is its own workspace (it only builds for wasm32-wasip1). Built like policy.wasm:
# at opt-level "s" when build-policy.sh had no wasm-opt and fell back to it.
sa_guard_wasm_opt_enabled || export CARGO_PROFILE_RELEASE_OPT_LEVEL=s
(cd e2e-tests/baseline-policy && sa_guard_wasm_build wasm32-wasip1 --locked)
baseline="$(sa_guard_wasm_out_dir wasm32-wasip1)/sa_guard_baseline_policy.wasm"
[ -f "$baseline" ] || { echo "bench: $baseline was not built" >&2; exit 1; }
if sa_guard_wasm_opt_enabled; then
  # policy.wasm went through wasm-opt -Os; so does the baseline, for a like-for-like comparison.
  sa_guard_wasm_opt "$baseline" "$baseline.opt"
  baseline="$baseline.opt"
fi

# The `host` profile: optimized like a real policy-server, not size-first like policy.wasm.
"$CARGO" build --locked --profile host -p sa-guard-e2e --bin sa-guard-bench
"$CARGO_TARGET_DIR/host/sa-guard-bench" --policy policy.wasm --baseline "$baseline" "$@"
