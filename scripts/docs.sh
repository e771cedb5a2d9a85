#!/usr/bin/env bash
# Regenerates docs/rules.md from the rules' metadata (`sa-guard rules --format markdown`) and the
# README's rules table between <!-- rules:start --> and <!-- rules:end -->. `make docs`.
# The CLI's tests (cli/tests/docs.rs) fail when either differs from the generator.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

"$CARGO" build --locked -p sa-guard-cli
bin="$CARGO_TARGET_DIR/debug/sa-guard"

mkdir -p docs
"$bin" rules --format markdown > docs/rules.md.tmp
mv docs/rules.md.tmp docs/rules.md
echo "docs: wrote docs/rules.md"

if grep -q '<!-- rules:start -->' README.md 2>/dev/null && grep -q '<!-- rules:end -->' README.md; then
  table="$(mktemp)"
  trap 'rm -f "$table"' EXIT
  "$bin" rules --format markdown-index > "$table"
  awk -v table="$table" '
    /<!-- rules:start -->/ { print; while ((getline line < table) > 0) print line; skipping = 1; next }
    /<!-- rules:end -->/   { skipping = 0 }
    !skipping              { print }
  ' README.md > README.md.tmp
  mv README.md.tmp README.md
  echo "docs: updated the rules table in README.md"
else
  echo "docs: README.md has no <!-- rules:start --> / <!-- rules:end --> markers; left alone"
fi
