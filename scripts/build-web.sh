#!/usr/bin/env bash
# make web: the playground into web/dist — the adapter crate (web/) for wasm32-unknown-unknown,
# wasm-bindgen (JS glue into web/pkg), npm ci, then esbuild bundles page + worker (web/build.mjs).
# The result is static files: serve web/dist from any static host as is.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/web-common.sh

_web_log "building the adapter for wasm32-unknown-unknown"
sa_guard_wasm_build wasm32-unknown-unknown -p sa-guard-web --locked
wasm="$(sa_guard_wasm_out_dir wasm32-unknown-unknown)/sa_guard_web.wasm"

wasm_bindgen=$(ensure_wasm_bindgen)
rm -rf "$WEB_PKG"
"$wasm_bindgen" --target web --no-typescript --out-dir "$WEB_PKG" "$wasm"

ensure_npm_deps
node "$WEB_DIR/build.mjs"

raw=$(stat -c %s "$WEB_DIST/sa_guard_web_bg.wasm")
gz=$(gzip -9 -c "$WEB_DIST/sa_guard_web_bg.wasm" | wc -c)
_web_log "sa_guard_web_bg.wasm: $((raw / 1024)) KB, $((gz / 1024)) KB gzipped (goal: 300 KB gzipped)"
