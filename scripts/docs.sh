#!/usr/bin/env bash
# Regenerates docs/rules.md from the rules' metadata (`sa-guard rules --format markdown`), the
# README's rules table between <!-- rules:start --> and <!-- rules:end --> and docs/policy.md's
# settings table between <!-- settings:start --> and <!-- settings:end -->. `make docs`.
# The CLI's tests (cli/tests/docs.rs) fail when any differs from the generator.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

"$CARGO" build --locked -p sa-guard-cli
bin="$CARGO_TARGET_DIR/debug/sa-guard"

mkdir -p docs
"$bin" rules --format markdown > docs/rules.md.tmp
mv docs/rules.md.tmp docs/rules.md
echo "docs: wrote docs/rules.md"

# Replaces FILE's text between <!-- NAME:start --> and <!-- NAME:end --> with the output of
# `sa-guard rules --format FORMAT`.
replace_block() {
  local file="$1" name="$2" format="$3" block
  if ! grep -q "<!-- $name:start -->" "$file" || ! grep -q "<!-- $name:end -->" "$file"; then
    echo "docs: $file has no <!-- $name:start --> / <!-- $name:end --> markers" >&2
    exit 1
  fi
  block="$(mktemp)"
  "$bin" rules --format "$format" > "$block"
  awk -v block="$block" -v start="<!-- $name:start -->" -v end="<!-- $name:end -->" '
    $0 == start { print; while ((getline line < block) > 0) print line; skipping = 1; next }
    $0 == end   { skipping = 0 }
    !skipping   { print }
  ' "$file" > "$file.tmp"
  mv "$file.tmp" "$file"
  rm -f "$block"
  echo "docs: updated the $name table in $file"
}

replace_block README.md rules markdown-index
replace_block docs/policy.md settings markdown-settings
