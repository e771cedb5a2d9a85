#!/usr/bin/env bash
# Tests the pre-commit hook (.pre-commit-hooks.yaml) with pre-commit itself:
# `pre-commit try-repo . sa-guard --files FILE` on a manifest that fails the lint and on one that
# passes. The hook builds the CLI in pre-commit's checkout of this repository; CARGO_TARGET_DIR
# (from toolchain.sh) keeps that build incremental.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
source "$(dirname "${BASH_SOURCE[0]}")/python-tools.sh"
cd "$SA_GUARD_ROOT"

fail() { echo "test-pre-commit: FAIL: $*" >&2; exit 1; }

# The hook runs the cargo on PATH: the toolchain toolchain.sh chose, so the build is shared.
export PATH="$(dirname "$CARGO"):$PATH"
export PRE_COMMIT_HOME="$HOME/.cache/sa-guard/pre-commit"

echo "--- a manifest with a deny finding fails the hook"
status=0
output=$(pre-commit try-repo . sa-guard --files tests/fixtures/ship/fires.yaml 2>&1) || status=$?
[ "$status" = 1 ] || fail "exit $status on fires.yaml: $output"
grep -q "SAG001 deny" <<<"$output" || fail "no SAG001 finding in: $output"

echo "--- a clean manifest passes"
output=$(pre-commit try-repo . sa-guard --files tests/fixtures/ship/passes.yaml 2>&1) || fail "passes.yaml failed: $output"
grep -q "^sa-guard (ServiceAccount hardening).*Passed" <<<"$output" || fail "the hook did not pass: $output"

echo "--- files that are not YAML or JSON are not passed to the hook"
output=$(pre-commit try-repo . sa-guard --files tests/fixtures/ship/README.md 2>&1) || fail "README.md failed: $output"
grep -q "^sa-guard (ServiceAccount hardening).*no files to check" <<<"$output" || fail "the hook ran on README.md: $output"

echo "test-pre-commit: ok"
