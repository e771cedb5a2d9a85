#!/usr/bin/env bash
# make bench-web: time to lint 1 MB of manifests in headless Chromium (in the page's worker, and
# the round trip from the page), and the wasm size gzipped. Goals: <= 50 ms, <= 300 KB.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/web-common.sh
bash scripts/build-web.sh
ensure_chromium
ensure_npm_deps
cd web
node bench/bench.mjs "$@"
