//! Shared by the end-to-end tests: one compiled policy.wasm per test process, fixtures, settings,
//! and the expected responses built the way policy-server builds them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::{json, Value};

use sa_guard_e2e::cluster::Declared;
use sa_guard_e2e::host::{Capabilities, HostCall, NoCapabilities, Policy};
use sa_guard_e2e::metadata::Metadata;
use sa_guard_e2e::replay::{Replay, Session};
use sa_guard_e2e::review::{self, AdmissionResponse, Status};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// policy.wasm at the repository root, compiled once per test process.
pub fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let path = sa_guard_e2e::default_policy_path();
        assert!(
            path.exists(),
            "{} not found: run `make policy` (scripts/build-policy.sh) first, or `make e2e` to build and test",
            path.display()
        );
        Policy::load(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// policy-metadata.yml at the repository root.
pub fn metadata() -> Metadata {
    let path = repo_root().join("policy-metadata.yml");
    Metadata::load(&path).unwrap_or_else(|e| panic!("{e}"))
}

/// The AdmissionRequest of `fixtures/requests/<name>.json`.
pub fn fixture(name: &str) -> Value {
    let path = fixtures().join("requests").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let review: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    review::admission_request(&review).unwrap()
}

/// Every fixture request: (file stem, AdmissionRequest).
pub fn all_requests() -> Vec<(String, Value)> {
    let mut names: Vec<String> = std::fs::read_dir(fixtures().join("requests"))
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_suffix(".json")).map(String::from))
        .collect();
    names.sort();
    names.into_iter().map(|n| (n.clone(), fixture(&n))).collect()
}

pub fn session(name: &str) -> Session {
    Session::load(&fixtures().join("sessions").join(format!("{name}.yml"))).unwrap_or_else(|e| panic!("{e}"))
}

/// Settings with every rule off except `enabled` (at their default level unless `extra` sets
/// one), plus `extra`: pins one rule's behaviour whatever the other rules report.
pub fn only(enabled: &[&str], extra: Value) -> Value {
    let mut settings = extra;
    let mut levels = settings.get("rules").and_then(Value::as_object).cloned().unwrap_or_default();
    for rule in sa_guard::rules::all().iter().filter(|r| !enabled.contains(&r.meta.id)) {
        levels.entry(rule.meta.id).or_insert(json!("off"));
    }
    settings["rules"] = Value::Object(levels);
    settings
}

/// What a host call to the cluster returns, with policy-server's contextAwareResources check.
pub fn declared(inner: Arc<dyn Capabilities>) -> Arc<dyn Capabilities> {
    Arc::new(Declared { metadata: metadata(), inner })
}

/// Evaluate through policy.wasm without cluster access; settings are validated first, as
/// policy-server does.
pub fn evaluate(request: &Value, settings: &Value) -> AdmissionResponse {
    evaluate_with(request, settings, Arc::new(NoCapabilities)).0
}

/// Evaluate with `capabilities` answering host calls; returns the response and the host calls.
pub fn evaluate_with(
    request: &Value,
    settings: &Value,
    capabilities: Arc<dyn Capabilities>,
) -> (AdmissionResponse, Vec<HostCall>) {
    let evaluator = policy().instantiate(capabilities).unwrap();
    let check = evaluator.validate_settings(settings).unwrap();
    assert!(check.valid, "settings rejected: {check:?}");
    let response = evaluator.validate(request, settings);
    (response, evaluator.take_host_calls())
}

/// Evaluate with a recorded session; every exchange must be used.
pub fn evaluate_replay(request: &Value, settings: &Value, session_name: &str) -> (AdmissionResponse, Vec<HostCall>) {
    let replay = Arc::new(Replay::new(session(session_name)));
    let (response, calls) = evaluate_with(request, settings, declared(replay.clone()));
    assert_eq!(replay.leftovers(), 0, "{session_name}: exchanges left unused; host calls: {calls:#?}");
    (response, calls)
}

/// An accepted response with nothing else in it.
pub fn plain_accept(uid: &str) -> AdmissionResponse {
    AdmissionResponse {
        uid: uid.into(),
        allowed: true,
        patch_type: None,
        patch: None,
        status: None,
        audit_annotations: None,
        warnings: None,
    }
}

pub fn uid(request: &Value) -> String {
    request["uid"].as_str().unwrap().to_string()
}

/// The request with `object` edited by `edit`.
pub fn with_object(request: &Value, edit: impl FnOnce(&mut Value)) -> Value {
    let mut request = request.clone();
    edit(&mut request["object"]);
    request
}

/// One finding as the policy reports it.
pub struct Expected<'a> {
    pub rule: &'a str,
    pub path: &'a str,
    pub message: &'a str,
}

pub fn finding<'a>(rule: &'a str, path: &'a str, message: &'a str) -> Expected<'a> {
    Expected { rule, path, message }
}

fn remediation(rule: &str) -> &'static str {
    sa_guard::rules::find(rule).unwrap_or_else(|| panic!("no rule {rule}")).meta.remediation
}

/// `sa-guard.<rule>` audit annotations: `<level> <path>: <message>`, joined with `; ` per rule.
pub fn audit(level: &str, findings: &[Expected<'_>]) -> BTreeMap<String, String> {
    let mut annotations: BTreeMap<String, String> = BTreeMap::new();
    for f in findings {
        let entry = format!("{level} {}: {}", f.path, f.message);
        annotations
            .entry(format!("sa-guard.{}", f.rule))
            .and_modify(|v| {
                v.push_str("; ");
                v.push_str(&entry);
            })
            .or_insert(entry);
    }
    annotations
}

/// The rejection of `subject` (e.g. "Pod shop/web") for `findings`, code 403, with every
/// finding in the message and in the audit annotations.
pub fn denied(request: &Value, subject: &str, findings: &[Expected<'_>]) -> AdmissionResponse {
    let count = if findings.len() == 1 { "1 finding".to_string() } else { format!("{} findings", findings.len()) };
    let mut message = format!("sa-guard denied {subject} ({count}):");
    for f in findings {
        message.push_str(&format!(
            "\n[{}] {subject} {}: {} What to do: {}",
            f.rule,
            f.path,
            f.message,
            remediation(f.rule)
        ));
    }
    AdmissionResponse {
        uid: uid(request),
        allowed: false,
        patch_type: None,
        patch: None,
        status: Some(Status { message: Some(message), code: Some(403) }),
        audit_annotations: Some(audit("deny", findings)),
        warnings: None,
    }
}

/// Acceptance with `findings` as warnings (warn level).
pub fn warned(request: &Value, subject: &str, findings: &[Expected<'_>]) -> AdmissionResponse {
    AdmissionResponse {
        audit_annotations: Some(audit("warn", findings)),
        warnings: Some(findings.iter().map(|f| format!("[{}] {subject} {}: {}", f.rule, f.path, f.message)).collect()),
        ..plain_accept(&uid(request))
    }
}
