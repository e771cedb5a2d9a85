# shellcheck shell=bash
# Sourced by the playground scripts (build-web, serve-web, test-web, bench-web). Installs what the
# playground needs when it is missing, into caches outside the repository:
#   * wasm-bindgen-cli at exactly the version of the wasm-bindgen crate in Cargo.lock
#     (the CLI refuses modules built with another version), under ~/.cache/sa-guard/tools;
#   * Chromium (Debian's package) for the browser tests and the benchmark;
#   * the npm packages of web/package-lock.json (npm ci).

set -euo pipefail
SA_GUARD_ROOT="${SA_GUARD_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
source "$SA_GUARD_ROOT/scripts/toolchain.sh"

WEB_DIR="$SA_GUARD_ROOT/web"
WEB_DIST="$WEB_DIR/dist"
WEB_PKG="$WEB_DIR/pkg"
SA_GUARD_TOOLS="${SA_GUARD_TOOLS:-$HOME/.cache/sa-guard/tools}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"

_web_log() { printf '[web] %s\n' "$*" >&2; }

# The wasm-bindgen version Cargo.lock pins.
wasm_bindgen_locked_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$SA_GUARD_ROOT/Cargo.lock"
}

# Prints the path of a wasm-bindgen CLI matching Cargo.lock, installing it when missing.
ensure_wasm_bindgen() {
  local version bin
  version=$(wasm_bindgen_locked_version)
  [ -n "$version" ] || { _web_log "wasm-bindgen is not in Cargo.lock"; return 1; }
  if command -v wasm-bindgen >/dev/null 2>&1 && [ "$(wasm-bindgen --version | awk '{print $2}')" = "$version" ]; then
    command -v wasm-bindgen
    return
  fi
  bin="$SA_GUARD_TOOLS/wasm-bindgen-$version/bin/wasm-bindgen"
  if [ ! -x "$bin" ] || [ "$("$bin" --version | awk '{print $2}')" != "$version" ]; then
    _web_log "installing wasm-bindgen-cli $version into $SA_GUARD_TOOLS (one-time, a few minutes)"
    # Not --locked: its lock file pins a webpki-roots release the registry no longer serves.
    # Its own target dir: the install must not contend with the project's build lock.
    CARGO_TARGET_DIR="$SA_GUARD_TOOLS/build" "$CARGO" install --quiet \
      --root "$SA_GUARD_TOOLS/wasm-bindgen-$version" wasm-bindgen-cli --version "=$version" >&2
  fi
  echo "$bin"
}

ensure_chromium() {
  if [ -x "$CHROMIUM_PATH" ]; then return; fi
  if command -v chromium >/dev/null 2>&1; then CHROMIUM_PATH=$(command -v chromium); export CHROMIUM_PATH; return; fi
  _sa_guard_apt_install chromium
  CHROMIUM_PATH=/usr/bin/chromium
  export CHROMIUM_PATH
}

ensure_npm_deps() {
  command -v npm >/dev/null 2>&1 || _sa_guard_apt_install nodejs npm
  # npm writes node_modules/.package-lock.json on install: older than the lock file means stale.
  local stamp="$WEB_DIR/node_modules/.package-lock.json"
  if [ ! -f "$stamp" ] || [ "$WEB_DIR/package-lock.json" -nt "$stamp" ]; then
    _web_log "npm ci"
    (cd "$WEB_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}
