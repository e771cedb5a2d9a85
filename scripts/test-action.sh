#!/usr/bin/env bash
# Tests the GitHub Action's scripts (action/install.sh, action/run.sh) as action.yml runs them,
# against the CLI built here, packed into a fake release directory read through file:// (the
# same layout as a GitHub release: vVERSION/sa-guard-TARGET.tar.gz and vVERSION/SHA256SUMS).
# Also checks that action.yml passes every variable the scripts read.
set -euo pipefail

source "$(dirname "${BASH_SOURCE[0]}")/toolchain.sh"
cd "$SA_GUARD_ROOT"

fail() { echo "test-action: FAIL: $*" >&2; exit 1; }

"$CARGO" build --locked -p sa-guard-cli
cli="$CARGO_TARGET_DIR/debug/sa-guard"

# The runner this machine would be, as GitHub names it.
case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) export RUNNER_OS=Linux RUNNER_ARCH=X64 target=x86_64-unknown-linux-musl ;;
  Linux/aarch64) export RUNNER_OS=Linux RUNNER_ARCH=ARM64 target=aarch64-unknown-linux-musl ;;
  Darwin/x86_64) export RUNNER_OS=macOS RUNNER_ARCH=X64 target=x86_64-apple-darwin ;;
  Darwin/arm64) export RUNNER_OS=macOS RUNNER_ARCH=ARM64 target=aarch64-apple-darwin ;;
  *) fail "no release target for $(uname -s)/$(uname -m)" ;;
esac

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
release="$work/releases/v$version"
mkdir -p "$release" "$work/pack"
cp "$cli" "$work/pack/sa-guard"
tar -czf "$release/sa-guard-$target.tar.gz" -C "$work/pack" sa-guard
(cd "$release" && sha256sum "sa-guard-$target.tar.gz" > SHA256SUMS)

export SA_GUARD_DOWNLOAD_URL="file://$work/releases" SA_GUARD_VERSION="v$version"
unset GITHUB_OUTPUT GITHUB_PATH

echo "--- install: the archive matches SHA256SUMS"
export SA_GUARD_INSTALL_DIR="$work/bin"
installed=$(bash action/install.sh)
[ "$installed" = "$work/bin/sa-guard" ] || fail "install printed $installed"
cmp -s "$installed" "$cli" || fail "the installed binary is not the packed one"

echo "--- install: a checksum mismatch is refused"
good_sums="$(cat "$release/SHA256SUMS")"
printf '%064d  sa-guard-%s.tar.gz\n' 0 "$target" > "$release/SHA256SUMS"
export SA_GUARD_INSTALL_DIR="$work/bin-mismatch"
if output=$(bash action/install.sh 2>&1); then fail "install accepted a mismatching archive: $output"; fi
grep -q "SHA-256 mismatch for sa-guard-$target.tar.gz" <<<"$output" || fail "no mismatch message: $output"
[ ! -e "$work/bin-mismatch/sa-guard" ] || fail "the mismatching binary was unpacked"

echo "--- install: an archive SHA256SUMS does not list is refused"
echo "$good_sums" | sed "s/sa-guard-$target/sa-guard-other/" > "$release/SHA256SUMS"
if output=$(bash action/install.sh 2>&1); then fail "install accepted an unlisted archive: $output"; fi
grep -q "is not listed in the release's SHA256SUMS" <<<"$output" || fail "no unlisted message: $output"
echo "$good_sums" > "$release/SHA256SUMS"

echo "--- install: a missing release fails"
if SA_GUARD_VERSION=0.0.0-missing bash action/install.sh >/dev/null 2>&1; then fail "install of a missing release succeeded"; fi

echo "--- run: findings fail, with annotations and SARIF"
export SA_GUARD_BIN="$installed" SA_GUARD_FORMAT=github SA_GUARD_FAIL_ON=deny SA_GUARD_SETTINGS=
export GITHUB_OUTPUT="$work/output"
: > "$GITHUB_OUTPUT"
status=0
output=$(SA_GUARD_PATHS="tests/fixtures/ship/fires.yaml" SA_GUARD_SARIF_FILE="$work/out.sarif" bash action/run.sh) || status=$?
[ "$status" = 1 ] || fail "run on fires.yaml exited $status: $output"
grep -q "^::error .*SAG001" <<<"$output" || fail "no SAG001 annotation: $output"
grep -qx "exit-code=1" "$GITHUB_OUTPUT" || fail "exit-code output: $(cat "$GITHUB_OUTPUT")"
grep -qx "sarif-file=$work/out.sarif" "$GITHUB_OUTPUT" || fail "sarif-file output: $(cat "$GITHUB_OUTPUT")"
python3 - "$work/out.sarif" <<'PY' || fail "the SARIF file is not SARIF 2.1.0 with SAG001"
import json, sys
sarif = json.load(open(sys.argv[1]))
assert sarif["version"] == "2.1.0"
assert any(r["ruleId"] == "SAG001" for run in sarif["runs"] for r in run["results"])
PY

echo "--- run: deferred exit leaves the status to the last step"
: > "$GITHUB_OUTPUT"
SA_GUARD_PATHS="tests/fixtures/ship/fires.yaml" SA_GUARD_DEFER_EXIT=true bash action/run.sh >/dev/null \
  || fail "a deferred run exited non-zero"
grep -qx "exit-code=1" "$GITHUB_OUTPUT" || fail "deferred exit-code output: $(cat "$GITHUB_OUTPUT")"

echo "--- run: a clean file passes; several paths, one per line"
: > "$GITHUB_OUTPUT"
SA_GUARD_PATHS=$'tests/fixtures/ship/passes.yaml\ntests/fixtures/ship/passes.yaml' bash action/run.sh \
  || fail "run on passes.yaml failed"
grep -qx "exit-code=0" "$GITHUB_OUTPUT" || fail "exit-code output: $(cat "$GITHUB_OUTPUT")"

echo "--- run: settings and fail-on reach the CLI"
printf 'rules:\n  SAG001: warn\n' > "$work/settings.yaml"
SA_GUARD_PATHS=tests/fixtures/ship/fires.yaml SA_GUARD_SETTINGS="$work/settings.yaml" bash action/run.sh >/dev/null \
  || fail "SAG001 lowered to warn still failed with fail-on deny"
status=0
SA_GUARD_PATHS=tests/fixtures/ship/fires.yaml SA_GUARD_SETTINGS="$work/settings.yaml" SA_GUARD_FAIL_ON=warn \
  bash action/run.sh >/dev/null || status=$?
[ "$status" = 1 ] || fail "fail-on warn with a warning exited $status"

echo "--- action.yml passes every variable the scripts read"
for variable in $(grep -ho '\${SA_GUARD_[A-Z_]*' action/install.sh action/run.sh | sort -u | cut -c3-); do
  case "$variable" in SA_GUARD_INSTALL_DIR) continue ;; esac # a test hook; the Action uses RUNNER_TEMP
  grep -q "^ *$variable: " action.yml || fail "action.yml does not set $variable"
done

echo "test-action: ok"
