#!/usr/bin/env bash
# The one test command: sets up what is missing (toolchain, Chromium, npm packages) and runs
# every suite. CI (.ci/run) calls exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/toolchain.sh

step() { printf '\n=== %s ===\n' "$*"; }

step "formatting (rustfmt, rustfmt.toml)"
bash scripts/fmt.sh --check

step "Rust unit and integration tests (core, CLI, playground adapter)"
bash scripts/test-rust.sh

step "policy.wasm on the waPC/wasmtime engine"
bash scripts/e2e.sh

step "playground in headless Chromium"
bash scripts/test-web.sh

step "release: workflows (actionlint), GitHub Action, pre-commit hook, cargo package, make bump"
bash scripts/test-release.sh

step "fuzz smoke"
bash scripts/fuzz.sh --smoke
