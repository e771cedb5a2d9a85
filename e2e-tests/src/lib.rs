//! End-to-end host for sa-guard's `policy.wasm`: the waPC/wasmtime engine kwctl and
//! policy-server use, kwctl's payloads and replay files, and the API server's view of objects.
//!
//! * [`host`] — load a policy, call `validate`/`validate_settings`, answer host calls.
//! * [`review`] — AdmissionReview in, AdmissionResponse out, as policy-server computes it.
//! * [`replay`] — host capabilities from a recorded kwctl session.
//! * [`apiserver`] — the AdmissionRequest the API server sends for an object, Pods after the
//!   ServiceAccount admission plugin.
//! * [`verdicts`] — manifests applied through the policy, one verdict per object.

pub mod apiserver;
pub mod cluster;
pub mod host;
pub mod metadata;
pub mod module;
pub mod replay;
pub mod review;
pub mod verdicts;
pub mod yaml;

use std::path::{Path, PathBuf};

/// Where `policy.wasm` is expected: `$SA_GUARD_POLICY`, else the repository root.
pub fn default_policy_path() -> PathBuf {
    match std::env::var_os("SA_GUARD_POLICY") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("policy.wasm"),
    }
}

/// The policy's metadata: the `io.kubewarden.metadata` section of an annotated module, else
/// `policy-metadata.yml` next to the module, else none.
pub fn policy_metadata(policy_path: &Path) -> Result<Option<metadata::Metadata>, String> {
    let bytes = std::fs::read(policy_path).map_err(|e| format!("cannot read {}: {e}", policy_path.display()))?;
    let interface = module::inspect(&bytes)?;
    if let Some(section) = interface.kubewarden_metadata {
        // kwctl annotate stores the metadata as JSON, which is also YAML.
        let text = String::from_utf8(section).map_err(|_| "io.kubewarden.metadata is not UTF-8".to_string())?;
        return metadata::Metadata::parse(&text).map(Some);
    }
    let sibling = policy_path.parent().unwrap_or(Path::new(".")).join("policy-metadata.yml");
    if sibling.exists() {
        return metadata::Metadata::load(&sibling).map(Some);
    }
    Ok(None)
}
