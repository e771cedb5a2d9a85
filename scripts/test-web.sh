#!/usr/bin/env bash
# make test-web: the adapter's Rust tests (native), the page's modules that need no browser, then
# the playground in headless Chromium (Playwright via playwright-core, Debian's chromium; node's
# test runner).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/web-common.sh

printf '\n--- sa-guard-web adapter (cargo test) ---\n'
"$CARGO" test -p sa-guard-web --locked 2>&1

printf '\n--- build web/dist ---\n'
bash scripts/build-web.sh

ensure_chromium
ensure_npm_deps
cd web
printf '\n--- page modules without a browser (node --test) ---\n'
node --test tests/unit/
printf '\n--- browser tests (node --test) ---\n'
node --test --test-concurrency=1 tests/browser/
