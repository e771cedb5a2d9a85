#!/usr/bin/env bash
# make web: the playground into web/dist — the adapter crate (web/) for wasm32-unknown-unknown,
# wasm-bindgen (JS glue into web/pkg), npm ci, then esbuild bundles page + worker (web/build.mjs).
# The result is static files: serve web/dist from any static host as is.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/web-common.sh

_web_log "building the adapter for wasm32-unknown-unknown"
# The workspace's release profile is tuned for policy.wasm (opt-level 2, stripped). The playground
# lints megabytes while people type, so it is built for speed (its gzipped size stays far under
# the 300 KB goal); and unstripped, so wasm-bindgen can read the module's target features
# (wasm-bindgen drops the names and producers sections itself).
export CARGO_PROFILE_RELEASE_OPT_LEVEL="${SA_GUARD_WEB_OPT_LEVEL:-3}"
export CARGO_PROFILE_RELEASE_STRIP=false
sa_guard_wasm_build wasm32-unknown-unknown -p sa-guard-web --locked
wasm="$(sa_guard_wasm_out_dir wasm32-unknown-unknown)/sa_guard_web.wasm"

wasm_bindgen=$(ensure_wasm_bindgen)
rm -rf "$WEB_PKG"
"$wasm_bindgen" --target web --no-typescript --remove-name-section --remove-producers-section --out-dir "$WEB_PKG" "$wasm"

ensure_npm_deps
node "$WEB_DIR/build.mjs"

raw=$(stat -c %s "$WEB_DIST/sa_guard_web_bg.wasm")
gz=$(gzip -9 -c "$WEB_DIST/sa_guard_web_bg.wasm" | wc -c)
_web_log "sa_guard_web_bg.wasm: $((raw / 1024)) KB, $((gz / 1024)) KB gzipped (goal: 300 KB gzipped)"
