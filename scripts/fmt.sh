#!/usr/bin/env bash
# Formats every Rust workspace of the repository with rustfmt (rustfmt.toml); `--check` only
# reports what differs and fails (what `make test` runs). rustfmt comes with rustup's default
# profile; where it is missing the check is skipped with a note rather than failing the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-fmt >/dev/null 2>&1 || ! command -v rustfmt >/dev/null 2>&1; then
  echo "fmt: rustfmt is not installed (rustup component add rustfmt): formatting not checked"
  exit 0
fi
# The root workspace (core, CLI, playground adapter, e2e host) and the ones kept apart.
for workspace in . e2e-tests/baseline-policy benches/yaml-parsers fuzz; do
  (cd "$workspace" && cargo-fmt --all "$@")
done
if [ "${1:-}" = "--check" ]; then echo "fmt: every workspace is formatted"; else echo "fmt: every workspace formatted"; fi
