//! Every place that names the release names the same version as Cargo.toml: the crates, the
//! lock file, the policy's metadata, the GitHub Action's default, and the install lines of the
//! README, docs/ and deploy/. `make bump VERSION=x.y.z` (scripts/bump.sh) changes them all;
//! scripts/test-release.sh runs it on a copy of the repository and then this test.

use std::path::{Path, PathBuf};

const VERSION: &str = env!("CARGO_PKG_VERSION");

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn read(relative: &str) -> String {
    std::fs::read_to_string(root().join(relative)).unwrap_or_else(|e| panic!("{relative}: {e}"))
}

/// The version (x.y.z) that starts `text`, if one does.
fn version_at(text: &str) -> Option<&str> {
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let candidate = text[..end].trim_end_matches('.');
    let parts: Vec<&str> = candidate.split('.').collect();
    (parts.len() == 3 && parts.iter().all(|p| !p.is_empty())).then_some(candidate)
}

/// The versions a text gives the release, after each of the ways the docs name it: the policy
/// in its registry, the container image, the Action, a pre-commit `rev`, a release download.
fn release_references(text: &str) -> Vec<(&'static str, String)> {
    const MARKERS: [&str; 5] = [
        "ghcr.io/sa-guard/policies/sa-guard:v",
        "ghcr.io/sa-guard/sa-guard:v",
        "sa-guard/sa-guard@v",
        "rev: v",
        "/releases/download/v",
    ];
    let mut found = Vec::new();
    for marker in MARKERS {
        for (at, _) in text.match_indices(marker) {
            let rest = &text[at + marker.len()..];
            let version = version_at(rest).unwrap_or_else(|| panic!("no x.y.z after {marker:?}: {:?}", &rest[..20]));
            found.push((marker, version.to_string()));
        }
    }
    found
}

#[test]
fn every_crate_takes_the_workspace_version() {
    let workspace = read("Cargo.toml");
    assert!(workspace.contains(&format!("[workspace.package]\nversion = \"{VERSION}\"\n")));
    for member in
        ["Cargo.toml", "cli/Cargo.toml", "web/Cargo.toml", "e2e-tests/Cargo.toml", "tools/annotate/Cargo.toml"]
    {
        let manifest = read(member);
        let package = &manifest[manifest.find("[package]").unwrap_or_else(|| panic!("{member}: no [package]"))..];
        assert!(package.contains("\nversion.workspace = true\n"), "{member}: the version is not the workspace's");
    }
    // A published crate names the version of the core it was tested with.
    let cli = read("cli/Cargo.toml");
    assert!(cli.contains(&format!("sa-guard = {{ path = \"..\", version = \"{VERSION}\"")), "cli/Cargo.toml");
}

#[test]
fn the_lock_file_has_the_version() {
    let lock = read("Cargo.lock");
    for name in ["sa-guard", "sa-guard-cli", "sa-guard-web", "sa-guard-e2e", "sa-guard-annotate"] {
        let entry = format!("[[package]]\nname = \"{name}\"\nversion = \"");
        let at = lock.find(&entry).unwrap_or_else(|| panic!("Cargo.lock has no {name}"));
        assert_eq!(version_at(&lock[at + entry.len()..]), Some(VERSION), "Cargo.lock: {name}");
    }
}

#[test]
fn the_policy_metadata_and_the_action_default_have_the_version() {
    assert!(read("policy-metadata.yml").contains(&format!("\n  io.kubewarden.policy.version: {VERSION}\n")));
    assert!(read("artifacthub-pkg.yml").contains(&format!("\nversion: {VERSION}\n")));
    let action = read("action.yml");
    let version_input = &action[action.find("\n  version:\n").expect("action.yml: a version input")..];
    let default = &version_input[..version_input.find("\n  paths:").expect("action.yml: paths after version")];
    assert!(default.contains(&format!("default: \"{VERSION}\"")), "action.yml: {default}");
}

#[test]
fn install_lines_in_the_docs_name_the_version() {
    let mut files = vec![
        "README.md".to_string(),
        "action.yml".to_string(),
        "artifacthub-pkg.yml".to_string(),
        "deploy/cluster-admission-policy.yaml".to_string(),
    ];
    for entry in std::fs::read_dir(root().join("docs")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if name.ends_with(".md") {
            files.push(format!("docs/{name}"));
        }
    }
    let mut markers_seen = std::collections::BTreeSet::new();
    for file in &files {
        for (marker, version) in release_references(&read(file)) {
            assert_eq!(version, VERSION, "{file}: {marker}{version}");
            markers_seen.insert(marker);
        }
    }
    // Each way of installing is documented, so each kind of reference is checked somewhere.
    assert_eq!(markers_seen.len(), 5, "only {markers_seen:?} found in {files:?}");
}

#[test]
fn references_are_read_as_their_versions() {
    let text =
        "uses: sa-guard/sa-guard@v1.2.3\nrev: v10.20.30 # x\nregistry://ghcr.io/sa-guard/policies/sa-guard:v0.1.0.";
    let found = release_references(text);
    let versions: Vec<&str> = found.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(versions, ["0.1.0", "1.2.3", "10.20.30"]);
    assert_eq!(version_at("1.2"), None);
}
