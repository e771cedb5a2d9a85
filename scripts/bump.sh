#!/usr/bin/env bash
# `make bump VERSION=x.y.z`: sets the release version in every place that names it (the places
# tests/versions.rs checks): the workspace's crates and Cargo.lock, the CLI's dependency on the
# core, policy-metadata.yml, artifacthub-pkg.yml (with a new createdAt, as kwctl scaffold
# artifacthub would write), action.yml's default, and the install lines of README.md, docs/ and
# deploy/. Then: commit, tag vx.y.z, push the tag (.github/workflows/release.yml).
set -euo pipefail
cd "$(dirname "$0")/.."

new="${1:-}"
if ! [[ "$new" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  echo "usage: make bump VERSION=x.y.z (got '${new}')" >&2
  exit 2
fi
old=$(sed -n '/^\[workspace.package\]/,/^\[/s/^version = "\(.*\)"$/\1/p' Cargo.toml)
[ -n "$old" ] || { echo "bump: no [workspace.package] version in Cargo.toml" >&2; exit 1; }

python3 - "$old" "$new" <<'PY'
import datetime, pathlib, re, sys

old, new = sys.argv[1], sys.argv[2]
o = re.escape(old)

def edit(path, *substitutions, expect=1):
    file = pathlib.Path(path)
    text = file.read_text()
    for pattern, replacement in substitutions:
        text, count = re.subn(pattern, replacement, text)
        if count < expect:
            sys.exit(f"bump: {path}: {pattern!r} matched {count} times")
    file.write_text(text)

edit("Cargo.toml", (r'(\[workspace\.package\]\nversion = ")' + o + '"', r'\g<1>' + new + '"'))
edit("cli/Cargo.toml", (r'(sa-guard = \{ path = "\.\.", version = ")' + o + '"', r'\g<1>' + new + '"'))
edit("Cargo.lock", *[
    (r'(\[\[package\]\]\nname = "' + name + r'"\nversion = ")' + o + '"', r'\g<1>' + new + '"')
    for name in ["sa-guard", "sa-guard-cli", "sa-guard-web", "sa-guard-e2e", "sa-guard-annotate"]
])
edit("policy-metadata.yml", (r"(\n  io\.kubewarden\.policy\.version: )" + o + r"\n", r"\g<1>" + new + "\n"))
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
edit("artifacthub-pkg.yml",
     (r"\nversion: " + o + r"\n", "\nversion: " + new + "\n"),
     (r"\ncreatedAt: [^\n]*\n", "\ncreatedAt: " + now + "\n"))
edit("action.yml", (r'(\n  version:\n(?:    [^\n]*\n)*?    default: ")' + o + '"', r'\g<1>' + new + '"'))

# The install lines: the same markers tests/versions.rs reads.
markers = [r"ghcr\.io/sa-guard/policies/sa-guard:v", r"ghcr\.io/sa-guard/sa-guard:v", r"sa-guard/sa-guard@v",
           r"rev: v", r"/releases/download/v"]
docs = ["README.md", "action.yml", "artifacthub-pkg.yml", "deploy/cluster-admission-policy.yaml"]
docs += [str(p) for p in sorted(pathlib.Path("docs").glob("*.md"))]
for path in docs:
    edit(path, *[("(" + marker + ")" + o + r"(?![0-9])", r"\g<1>" + new) for marker in markers], expect=0)
PY
echo "bump: $old -> $new. Check with: cargo test --test versions --test metadata; then commit and tag v$new"
