#!/usr/bin/env bash
# Builds the Kubewarden policy (crate sa-guard, feature `policy`) for wasm32-wasip1 and copies it
# to policy.wasm at the repository root. Fails when the module is over the size budget or imports
# anything but the waPC host functions and WASI.
#   POLICY_SIZE_BUDGET_KB  size budget in KiB (default 512)
#   SA_GUARD_WASM_OPT=0    skip wasm-opt even when binaryen is installed
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

budget_kb="${POLICY_SIZE_BUDGET_KB:-512}"
target=wasm32-wasip1

# On the -Zbuild-std path (Debian's toolchain, RUSTC_BOOTSTRAP) std is compiled with the crate,
# so it can drop panic messages and source locations (the policy aborts on a panic either way;
# policy-server then answers 500). std's `optimize_for_size` feature is not used: it halves the
# speed of JSON decoding for a few KB. A rustup-installed target keeps its std.
if ! _sa_guard_has_target "$target"; then
  export RUSTFLAGS="${RUSTFLAGS:-} -Zlocation-detail=none -Zunstable-options -Cpanic=immediate-abort"
fi
# wasm-opt (binaryen) takes another ~13% off; the setup installs it wherever apt-get is available
# (Debian's toolchain or rustup). Without it the module is built at opt-level "z" instead of the
# profile's 2, the smallest build (484 KiB against 514 KiB at "s", measured 2026-12-07), which
# fits the budget but is slower at admission ("s" measured about 1.4x slower than 2 + wasm-opt).
if ! command -v wasm-opt >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  _sa_guard_apt_install binaryen || echo "build-policy: could not install binaryen; continuing without wasm-opt"
fi
if ! sa_guard_wasm_opt_enabled; then
  echo "build-policy: wasm-opt not used (binaryen not installed or SA_GUARD_WASM_OPT=0): building at opt-level \"z\" to stay within the budget"
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=z
fi
sa_guard_wasm_build "$target" -p sa-guard --lib --features policy
built="$(sa_guard_wasm_out_dir "$target")/sa_guard.wasm"
[ -f "$built" ] || { echo "build-policy: $built was not produced" >&2; exit 1; }
cp "$built" policy.wasm

if sa_guard_wasm_opt_enabled; then
  before=$(stat -c %s policy.wasm)
  sa_guard_wasm_opt policy.wasm policy.opt.wasm
  mv policy.opt.wasm policy.wasm
  echo "build-policy: wasm-opt -Os: $before -> $(stat -c %s policy.wasm) bytes"
fi

python3 "$SA_GUARD_ROOT/scripts/wasm-imports.py" policy.wasm

size=$(stat -c %s policy.wasm)
budget=$((budget_kb * 1024))
printf 'build-policy: policy.wasm %d bytes (%d KiB) of the %d KiB budget (%d%%)\n' \
  "$size" $(((size + 1023) / 1024)) "$budget_kb" $((size * 100 / budget))
if [ "$size" -gt "$budget" ]; then
  echo "build-policy: policy.wasm is over the ${budget_kb} KiB budget" >&2
  exit 1
fi
