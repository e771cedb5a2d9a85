# shellcheck shell=bash
# Sourced by the other scripts. Picks the Rust toolchain without touching machines that already
# have what is needed:
#   * native builds need rustc >= 1.96 (wasmtime 49 in e2e-tests/); if the default rustc is
#     older, Debian's rustc-web/cargo-web (1.96) is used, installed with apt when missing;
#   * wasm builds use the installed rustup target when there is one; otherwise Debian's
#     rust-web-src + lld-16 (+ wasi-libc) and -Zbuild-std, because `rustup target add` cannot
#     download on machines without internet.
# Exposes: $CARGO (native cargo), sa_guard_wasm_build TARGET [cargo build args...],
#          sa_guard_wasm_out_dir TARGET (where the release artifacts land).

set -euo pipefail

SA_GUARD_ROOT="${SA_GUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/sa-guard/target}"
mkdir -p "$CARGO_TARGET_DIR"

_sa_guard_log() { printf '[toolchain] %s\n' "$*" >&2; }

# rustc_minor BIN -> minor version number (96 for 1.96.x), 0 when missing
_sa_guard_rustc_minor() {
  local v
  v=$("$1" --version 2>/dev/null | awk '{print $2}') || { echo 0; return; }
  [ -n "$v" ] || { echo 0; return; }
  echo "$v" | cut -d. -f2
}

_sa_guard_apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if ! command -v apt-get >/dev/null 2>&1; then
    _sa_guard_log "missing ${missing[*]} and no apt-get: install a Rust toolchain >= 1.96 with the wasm targets (rustup target add wasm32-wasip1 wasm32-unknown-unknown)"
    return 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  _sa_guard_log "installing Debian packages: ${missing[*]}"
  if [ ! -f /tmp/.sa-guard-apt-updated ]; then
    $sudo apt-get update -qq && touch /tmp/.sa-guard-apt-updated
  fi
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# Native cargo.
if [ "$(_sa_guard_rustc_minor rustc)" -ge 96 ] 2>/dev/null; then
  CARGO="$(command -v cargo)"
else
  if [ "$(_sa_guard_rustc_minor /usr/bin/rustc)" -lt 96 ] 2>/dev/null; then
    _sa_guard_apt_install rustc-web cargo-web
  fi
  CARGO=/usr/bin/cargo
  export RUSTC=/usr/bin/rustc
  # Doctests run rustdoc, which must be the same release as rustc (it reads its .rlib files).
  export RUSTDOC=/usr/bin/rustdoc
fi
export CARGO

# Does the default toolchain have std for TARGET (rustup-installed target)?
_sa_guard_has_target() {
  local libdir
  libdir=$(rustc --print target-libdir --target "$1" 2>/dev/null) || return 1
  compgen -G "$libdir/libstd-*" >/dev/null
}

# sa_guard_wasm_build TARGET [args...]: cargo build --release for a wasm target.
sa_guard_wasm_build() {
  local target="$1"; shift
  if _sa_guard_has_target "$target"; then
    cargo build --release --target "$target" "$@"
    return
  fi
  local pkgs=(rustc-web cargo-web rust-web-src lld-16)
  [ "$target" = wasm32-wasip1 ] && pkgs+=(wasi-libc)
  _sa_guard_apt_install "${pkgs[@]}"
  local upper
  upper=$(echo "$target" | tr 'a-z-' 'A-Z_')
  local extra_rustflags=""
  [ "$target" = wasm32-wasip1 ] && extra_rustflags="-C link-self-contained=no -L /usr/lib/wasm32-wasi"
  env PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 \
    "CARGO_TARGET_${upper}_LINKER=wasm-ld-16" \
    RUSTFLAGS="${RUSTFLAGS:-} $extra_rustflags" \
    /usr/bin/cargo build --release --target "$target" -Zbuild-std=std,panic_abort "$@"
}

sa_guard_wasm_out_dir() {
  echo "$CARGO_TARGET_DIR/$1/release"
}

# sa_guard_wasm_opt_enabled: wasm-opt (binaryen) is installed and not turned off with
# SA_GUARD_WASM_OPT=0. Without it, policy modules are built at opt-level "s" to fit the budget.
sa_guard_wasm_opt_enabled() {
  [ "${SA_GUARD_WASM_OPT:-1}" != 0 ] && command -v wasm-opt >/dev/null 2>&1
}

# sa_guard_wasm_opt IN OUT: the size pass policy.wasm goes through (and the bench baseline with it).
sa_guard_wasm_opt() {
  wasm-opt -Os --strip-debug --strip-producers --enable-bulk-memory --enable-sign-ext \
    --enable-mutable-globals --enable-nontrapping-float-to-int -o "$2" "$1"
}
