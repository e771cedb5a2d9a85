#!/usr/bin/env bash
# Fuzzes the rule core with cargo-fuzz (libFuzzer): each target for a bounded time.
#   scripts/fuzz.sh                 every target for FUZZ_SECONDS each (default 60)   (make fuzz)
#   scripts/fuzz.sh --smoke         every target for FUZZ_SMOKE_SECONDS each (default 20; CI)
#   scripts/fuzz.sh [--smoke] TARGET...   only these targets
# Targets (fuzz/fuzz_targets/): manifest_lint, admission_validate, settings.
# Seeds are fuzz/corpus/<target>/ (committed); what libFuzzer adds goes to a work corpus under
# $CARGO_TARGET_DIR/fuzz-corpus/<target> and is kept between runs. A crash is saved to
# fuzz/artifacts/<target>/ and fails the script; reproduce it with
#   scripts/fuzz.sh --reproduce TARGET fuzz/artifacts/TARGET/crash-...
# and keep it as a test in tests/fuzz_regressions.rs (and, once it passes, as a
# fuzz/corpus/<target>/seed-regression-* seed; fuzz/make-seeds.py regenerates the other seeds).
#
# Toolchain: cargo-fuzz passes nightly flags (-Zsanitizer, -Cpasses=sancov-module), so the build
# runs with RUSTC_BOOTSTRAP=1 on the native toolchain of scripts/toolchain.sh (Debian's rustc 1.96
# here). AddressSanitizer is used when that rustc ships its runtime (rustup toolchains do);
# Debian's rustc does not, so there the targets run with `-s none`: coverage-guided libFuzzer,
# Rust's own checks (panics, overflow checks, debug assertions), -timeout and -rss_limit_mb.
# cargo-fuzz itself is installed with `cargo install cargo-fuzz --locked` into
# $SA_GUARD_TOOLS (default ~/.cache/sa-guard/tools) when missing.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

all_targets=(manifest_lint admission_validate settings)
seconds="${FUZZ_SECONDS:-60}"
targets=()
reproduce=""
while [ $# -gt 0 ]; do
  case "$1" in
    --smoke) seconds="${FUZZ_SMOKE_SECONDS:-20}" ;;
    --reproduce) reproduce="$3"; targets=("$2"); shift 2 ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    -*) echo "fuzz: unknown option $1" >&2; exit 2 ;;
    *)
      if [[ " ${all_targets[*]} " != *" $1 "* ]]; then
        echo "fuzz: unknown target $1 (known: ${all_targets[*]})" >&2; exit 2
      fi
      targets+=("$1") ;;
  esac
  shift
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

tools="${SA_GUARD_TOOLS:-$HOME/.cache/sa-guard/tools}"
cargo_fuzz="$tools/cargo-fuzz/bin/cargo-fuzz"
if [ ! -x "$cargo_fuzz" ]; then
  echo "fuzz: installing cargo-fuzz into $tools/cargo-fuzz" >&2
  "$CARGO" install cargo-fuzz --locked --root "$tools/cargo-fuzz" --target-dir "$tools/cargo-fuzz-build"
fi

rustc_bin="${RUSTC:-rustc}"
sysroot_lib="$("$rustc_bin" --print sysroot)/lib/rustlib/$("$rustc_bin" -vV | sed -n 's/^host: //p')/lib"
if compgen -G "$sysroot_lib/librustc-*_rt.asan.a" >/dev/null; then
  sanitizer=address
else
  sanitizer=none
fi

fuzz() {
  # cargo-fuzz runs `cargo` from PATH: put the chosen toolchain's directory first.
  env PATH="$(dirname "$CARGO"):$PATH" RUSTC_BOOTSTRAP=1 "$cargo_fuzz" fuzz "$@"
}

common=(-s "$sanitizer" --fuzz-dir fuzz --target-dir "$CARGO_TARGET_DIR/fuzz")

if [ -n "$reproduce" ]; then
  fuzz run "${common[@]}" "${targets[0]}" "$reproduce"
  exit
fi

echo "fuzz: ${targets[*]} for ${seconds}s each (sanitizer: $sanitizer, $("$rustc_bin" --version))"
status=0
for target in "${targets[@]}"; do
  work="$CARGO_TARGET_DIR/fuzz-corpus/$target"
  mkdir -p "$work"
  echo "=== fuzz $target"
  log="$CARGO_TARGET_DIR/fuzz-$target.log"
  # -timeout: one input taking 10 s is a denial of service; -rss_limit_mb: so is 2 GiB of memory.
  if fuzz run "${common[@]}" "$target" "$work" "fuzz/corpus/$target" -- \
      -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -dict="fuzz/dict/$target.dict" -print_final_stats=1 >"$log" 2>&1; then
    grep -E '^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|#[0-9]+ *DONE' "$log" || tail -n 5 "$log"
  else
    tail -n 60 "$log"
    status=1
  fi
done
if [ "$status" -ne 0 ]; then
  echo "fuzz: a target failed; inputs are in fuzz/artifacts/" >&2
  ls -l fuzz/artifacts/*/ 2>/dev/null >&2 || true
fi
exit "$status"
