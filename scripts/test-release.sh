#!/usr/bin/env bash
# The release checks of `make test`: what .github/workflows/release.yml, action.yml and
# .pre-commit-hooks.yaml rely on, tested here where they can be.
#   0. `make annotated`'s tool on the real policy.wasm (built when missing)
#   1. actionlint over the workflows (and action.yml's inputs, through ci.yml's `uses: ./`)
#   2. the GitHub Action's scripts (scripts/test-action.sh)
#   3. the pre-commit hook (scripts/test-pre-commit.sh)
#   4. `cargo package` of the two crates meant for crates.io, built from their packages
#   5. `make bump` on a copy of the repository, then tests/versions.rs and tests/metadata.rs
#      there: every place names the new version (and the check fails when one does not)
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
source "$(dirname "${BASH_SOURCE[0]}")/python-tools.sh"
cd "$SA_GUARD_ROOT"

step() { printf '\n--- %s ---\n' "$*"; }
fail() { echo "test-release: FAIL: $*" >&2; exit 1; }

step "sa-guard-annotate on policy.wasm"
[ -f policy.wasm ] || bash scripts/build-policy.sh
SA_GUARD_POLICY="$PWD/policy.wasm" "$CARGO" test --locked -q -p sa-guard-annotate --test annotate -- --ignored 2>&1 |
  grep -E '^test result|panicked|FAILED'
bash scripts/annotate.sh

step "actionlint $(actionlint -version | head -1)"
actionlint -no-color
echo "actionlint: no finding in .github/workflows"

step "GitHub Action"
bash scripts/test-action.sh

step "pre-commit hook"
bash scripts/test-pre-commit.sh

step "cargo package sa-guard sa-guard-cli (with the verify build)"
# cargo verifies the CLI against the packaged core as if it came from a registry: unpacked into
# $CARGO_HOME/registry/src/-<id>/ and compiled once per version, never again while the version
# stays the same. So the copies and builds of the previous run go first, or the CLI would be
# verified against an older core. The verify build has a target directory of its own, so this
# does not touch the workspace's build.
cargo_home="${CARGO_HOME:-$HOME/.cargo}"
rm -rf "$cargo_home"/registry/src/-*/sa-guard-[0-9]* "$cargo_home"/registry/src/-*/sa-guard-cli-[0-9]*
verify_dir="$CARGO_TARGET_DIR/package-verify"
CARGO_TARGET_DIR="$verify_dir" "$CARGO" clean --quiet -p sa-guard -p sa-guard-cli
# --allow-dirty: a check of what would be published, also before committing.
CARGO_TARGET_DIR="$verify_dir" "$CARGO" package --locked --allow-dirty -p sa-guard -p sa-guard-cli 2>&1 |
  grep -vE '^ +(Compiling|Downloaded)|^warning: ignoring (test|benchmark)'

step "make bump on a copy"
copy="$(mktemp -d)"
trap 'rm -rf "$copy"' EXIT
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' file; do
  [ -e "$file" ] && printf '%s\0' "$file"
done | xargs -0 cp --parents -t "$copy"
current=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
IFS=. read -r major minor patch <<<"$current"
bumped="$major.$((minor + 1)).$((patch + 7))"
make -C "$copy" --no-print-directory bump VERSION="$bumped"
grep -rqs "$current" "$copy/action.yml" && fail "action.yml still names $current after make bump"
(cd "$copy" && "$CARGO" test --locked -q --test versions --test metadata 2>&1 | grep -E '^test result|panicked|FAILED')
# The check is not vacuous: one place left behind fails it.
sed -i "s#sa-guard/sa-guard@v$bumped#sa-guard/sa-guard@v$current#" "$copy/README.md"
if (cd "$copy" && "$CARGO" test --locked -q --test versions >/dev/null 2>&1); then
  fail "tests/versions.rs passed with the README's Action still at v$current"
fi
echo "make bump $current -> $bumped: tests/versions.rs and tests/metadata.rs pass; a stale README fails them"

echo
echo "test-release: ok"
