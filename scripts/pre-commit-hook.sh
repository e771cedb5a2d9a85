#!/usr/bin/env bash
# The pre-commit hook's entry (.pre-commit-hooks.yaml): builds the CLI from this checkout of
# sa-guard with the cargo on PATH (once: later runs find it built) and lints the files
# pre-commit passes, from the user's repository. Arguments go to `sa-guard lint`, so a hook's
# `args: [--settings, sa-guard.yaml, --fail-on, warn]` works.
set -euo pipefail

hook_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$hook_repo/target}"
if ! command -v cargo >/dev/null 2>&1; then
  echo "sa-guard hook: needs cargo (a Rust toolchain) to build the CLI once" >&2
  exit 2
fi
# The `host` profile (Cargo.toml): an optimized CLI without the policy's size-first settings.
cargo build --quiet --locked --profile host -p sa-guard-cli --manifest-path "$hook_repo/Cargo.toml" >&2
exec "$CARGO_TARGET_DIR/host/sa-guard" lint "$@"
