#!/usr/bin/env bash
# The GitHub Action's first step (action.yml): installs the sa-guard CLI of a release for this
# runner. Downloads the archive for the runner's OS and architecture and the release's
# SHA256SUMS, refuses an archive whose SHA-256 is not the one listed, and unpacks the binary.
#
# Environment:
#   SA_GUARD_VERSION       release to install: 1.2.3 or v1.2.3
#   SA_GUARD_DOWNLOAD_URL  where releases are: the files are $SA_GUARD_DOWNLOAD_URL/v$VERSION/NAME
#                          (GitHub: https://github.com/sa-guard/sa-guard/releases/download;
#                          any URL curl reads, file:// included, which the tests use)
#   RUNNER_OS, RUNNER_ARCH set by GitHub Actions (Linux/macOS/Windows, X64/ARM64)
#   SA_GUARD_INSTALL_DIR   where to put the binary (default: $RUNNER_TEMP/sa-guard-VERSION)
# Prints the binary's path; on Actions also writes it to $GITHUB_OUTPUT (`binary`) and the
# directory to $GITHUB_PATH.
set -euo pipefail

version="${SA_GUARD_VERSION:?SA_GUARD_VERSION is not set}"
version="${version#v}"
base="${SA_GUARD_DOWNLOAD_URL:?SA_GUARD_DOWNLOAD_URL is not set}"
base="${base%/}"

# The release's archive names (.github/workflows/release.yml): sa-guard-TARGET.tar.gz, .zip on Windows.
case "${RUNNER_OS:-}/${RUNNER_ARCH:-}" in
  Linux/X64) target=x86_64-unknown-linux-musl ;;
  Linux/ARM64) target=aarch64-unknown-linux-musl ;;
  macOS/X64) target=x86_64-apple-darwin ;;
  macOS/ARM64) target=aarch64-apple-darwin ;;
  Windows/X64) target=x86_64-pc-windows-msvc ;;
  *) echo "sa-guard: no release build for runner ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}" >&2; exit 1 ;;
esac
if [ "$RUNNER_OS" = Windows ]; then archive="sa-guard-$target.zip"; binary_name=sa-guard.exe
else archive="sa-guard-$target.tar.gz"; binary_name=sa-guard; fi

install_dir="${SA_GUARD_INSTALL_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/sa-guard-$version}"
download_dir="$(mktemp -d)"
trap 'rm -rf "$download_dir"' EXIT

fetch() { curl --fail --silent --show-error --location --retry 3 -o "$download_dir/$1" "$base/v$version/$1"; }
fetch "$archive"
fetch SHA256SUMS

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1; fi
}
# SHA256SUMS lines are "HASH  NAME" (sha256sum's format; "*NAME" in binary mode).
expected=$(awk -v name="$archive" '$2 == name || $2 == "*" name { print $1 }' "$download_dir/SHA256SUMS")
if [ -z "$expected" ]; then
  echo "sa-guard: $archive is not listed in the release's SHA256SUMS: not installing it" >&2
  exit 1
fi
actual=$(sha256 "$download_dir/$archive")
if [ "$actual" != "$expected" ]; then
  echo "sa-guard: SHA-256 mismatch for $archive: SHA256SUMS says $expected, the download is $actual: not installing it" >&2
  exit 1
fi

mkdir -p "$install_dir"
if [ "$RUNNER_OS" = Windows ]; then unzip -o -q "$download_dir/$archive" "$binary_name" -d "$install_dir"
else tar -xzf "$download_dir/$archive" -C "$install_dir" "$binary_name"; fi
binary="$install_dir/$binary_name"
chmod +x "$binary"
"$binary" --version >&2

if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "binary=$binary" >> "$GITHUB_OUTPUT"; fi
if [ -n "${GITHUB_PATH:-}" ]; then echo "$install_dir" >> "$GITHUB_PATH"; fi
echo "$binary"
