//! One admission request in, one verdict out: what the Kubewarden policy's `validate` and
//! `validate_settings` do, without SDK types, so it is tested natively and the policy module
//! (`src/policy.rs`) only adapts it.
//!
//! * [`validate`] reads the payload kwctl and policy-server send, `{"request": <AdmissionRequest>,
//!   "settings": {...}}`, evaluates `request.object` in [`Mode::Admission`] and answers with a
//!   [`Verdict`] shaped exactly like the SDK's `ValidationResponse`.
//! * [`validate_settings`] answers policy-server's settings check with a [`SettingsVerdict`].
//!
//! Bad input is answered, never panicked on: a malformed payload is rejected with code 400 and a
//! message naming what is wrong.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::engine::{evaluate, Mode, Options, Report};
use crate::finding::{Finding, Level};
use crate::k8s::json_type;
use crate::lookup::ClusterLookup;
use crate::projection::ObjectForRules;
use crate::settings::Settings;

/// HTTP status of a rejection caused by findings.
pub const CODE_DENIED: u16 = 403;
/// HTTP status of a rejection caused by a malformed payload or invalid settings.
pub const CODE_BAD_REQUEST: u16 = 400;

/// Prefix of the audit annotation keys. The API server prefixes every key with the webhook's
/// name and a `/` and drops keys that then hold two slashes, so the keys here have none:
/// `sa-guard.SAG002` is logged as `<webhook>/sa-guard.SAG002`.
pub const AUDIT_KEY_PREFIX: &str = "sa-guard.";
/// Audit annotation listing the findings not reported because of an exemption, with the reason.
pub const AUDIT_KEY_EXEMPTED: &str = "sa-guard.exempted";
/// Audit annotation listing what the policy changed in the object (with `mutate: true`).
pub const AUDIT_KEY_FIXED: &str = "sa-guard.fixed";

/// At most this many findings are listed in a rejection message, in the warnings and per audit
/// annotation; the rest are counted ("… and 12 more"). A generated object can hold thousands of
/// findings, and the API server and audit log must not receive megabytes of text.
pub const MAX_LISTED_FINDINGS: usize = 50;

/// "… and 7 more (run `sa-guard lint` …)" when `total` exceeds what is listed.
fn more_line(total: usize) -> Option<String> {
    (total > MAX_LISTED_FINDINGS).then(|| {
        format!("… and {} more (run `sa-guard lint` on the object for the full list)", total - MAX_LISTED_FINDINGS)
    })
}

/// The policy's answer, serialized as the SDK's `ValidationResponse`: every field is present and
/// `null` when unset (the SDK does not skip `None`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub accepted: bool,
    /// Shown to the user when the request is rejected.
    pub message: Option<String>,
    /// HTTP status shown with the message when the request is rejected.
    pub code: Option<u16>,
    /// The object with the fixes applied; policy-server turns it into a JSON patch.
    pub mutated_object: Option<Value>,
    /// Keys without `/` (see [`AUDIT_KEY_PREFIX`]); a map sorted by key so output is stable.
    pub audit_annotations: Option<BTreeMap<String, String>>,
    /// Returned to the client (kubectl prints them as `Warning: ...`).
    pub warnings: Option<Vec<String>>,
}

impl Verdict {
    fn accept() -> Verdict {
        Verdict {
            accepted: true,
            message: None,
            code: None,
            mutated_object: None,
            audit_annotations: None,
            warnings: None,
        }
    }

    fn reject(code: u16, message: String) -> Verdict {
        Verdict { accepted: false, message: Some(message), code: Some(code), ..Verdict::accept() }
    }

    fn bad_request(problem: impl std::fmt::Display) -> Verdict {
        Verdict::reject(CODE_BAD_REQUEST, problem.to_string())
    }

    fn with_annotations(mut self, annotations: BTreeMap<String, String>) -> Verdict {
        self.audit_annotations = (!annotations.is_empty()).then_some(annotations);
        self
    }

    fn with_warnings(mut self, warnings: Vec<String>) -> Verdict {
        self.warnings = (!warnings.is_empty()).then_some(warnings);
        self
    }
}

/// The answer to `validate_settings`, serialized as the SDK's `SettingsValidationResponse`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsVerdict {
    pub valid: bool,
    pub message: Option<String>,
}

/// Check settings as policy-server does before loading the policy. The payload is the settings
/// object itself; an empty payload or `null` means the defaults.
pub fn validate_settings(payload: &[u8]) -> SettingsVerdict {
    let parsed = std::str::from_utf8(payload)
        .map_err(|e| format!("invalid settings: not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()))
        .and_then(|text| match text.trim() {
            "" => Ok(Value::Null),
            text => serde_json::from_str(text).map_err(|e| format!("invalid settings: not JSON: {e}")),
        })
        .and_then(parse_settings);
    match parsed {
        Ok(_) => SettingsVerdict { valid: true, message: None },
        Err(message) => SettingsVerdict { valid: false, message: Some(message) },
    }
}

/// Evaluate one admission payload. Cluster look-ups (context-aware mode) go to `lookup`.
pub fn validate(payload: &[u8], lookup: &dyn ClusterLookup) -> Verdict {
    // Anything unusual is read again the checked way, which names the problem exactly.
    let parsed = match WellFormedPayload::read(payload) {
        Some(parsed) => parsed,
        None => AdmissionPayload::parse_checked(payload),
    };
    let request = match parsed {
        Ok(request) => request,
        Err(problem) => return Verdict::bad_request(problem),
    };
    let verdict = decide(&request, lookup);
    if verdict.mutated_object.is_some() && request.object_is_partial {
        // The mutation is the object sent back: patch the whole object, not the rules' reading.
        return match AdmissionPayload::parse_checked(payload) {
            Ok(whole) => decide(&whole, lookup),
            Err(problem) => Verdict::bad_request(problem),
        };
    }
    verdict
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Create,
    Update,
    Delete,
    Connect,
}

impl Operation {
    fn from_name(name: &str) -> Option<Operation> {
        match name {
            "CREATE" => Some(Operation::Create),
            "UPDATE" => Some(Operation::Update),
            "DELETE" => Some(Operation::Delete),
            "CONNECT" => Some(Operation::Connect),
            _ => None,
        }
    }
}

/// The parts of the payload the policy reads, checked for shape.
#[derive(Debug, PartialEq)]
struct AdmissionPayload {
    /// Shared with the settings cache: a policy instance sees the same settings on every call.
    settings: Rc<Settings>,
    operation: Operation,
    sub_resource: Option<String>,
    namespace: Option<String>,
    /// `None` when absent or `null` (DELETE, CONNECT); always an object otherwise.
    object: Option<Value>,
    /// Whether `object` was decoded for the rules only ([`crate::projection`]): judged the same,
    /// but not to be returned as a mutation.
    object_is_partial: bool,
}

impl AdmissionPayload {
    /// Reads any payload into a tree first and checks its shape field by field. Called straight
    /// from [`validate`], so its 128 levels of JSON nesting start no deeper on the stack than
    /// they must.
    fn parse_checked(payload: &[u8]) -> Result<AdmissionPayload, String> {
        const CONTEXT: &str = "invalid admission payload";
        let text = std::str::from_utf8(payload)
            .map_err(|e| format!("{CONTEXT}: not valid UTF-8 (invalid byte at offset {})", e.valid_up_to()))?;
        let root: Value = serde_json::from_str(text).map_err(|e| format!("{CONTEXT}: not JSON: {e}"))?;
        let Value::Object(mut root) = root else {
            return Err(format!(
                "{CONTEXT}: expected a JSON object with `request` and `settings`, found {}",
                json_type(&root)
            ));
        };
        // Settings first: invalid settings are a configuration error whatever the request.
        let settings = Rc::new(parse_settings(root.remove("settings").unwrap_or(Value::Null))?);
        let mut request = match root.remove("request") {
            None => return Err(format!("{CONTEXT}: `request` is missing")),
            Some(Value::Object(request)) => request,
            Some(other) => return Err(format!("{CONTEXT}: `request` must be an object, found {}", json_type(&other))),
        };

        let operation = match request.get("operation") {
            None => return Err(format!("{CONTEXT}: `request.operation` is missing")),
            Some(Value::String(op)) => match Operation::from_name(op) {
                Some(operation) => operation,
                None => {
                    return Err(format!(
                        "{CONTEXT}: `request.operation` is `{op}`, expected CREATE, UPDATE, DELETE or CONNECT"
                    ))
                }
            },
            Some(other) => {
                return Err(format!("{CONTEXT}: `request.operation` must be a string, found {}", json_type(other)))
            }
        };
        // kwctl and policy-server write `subResource`; the SDK also accepts `sub_resource`.
        let sub_resource = optional_string(&request, &["subResource", "sub_resource"])?.filter(|s| !s.is_empty());
        let namespace = optional_string(&request, &["namespace"])?.filter(|s| !s.is_empty());

        // Taken out rather than cloned: it is most of the payload (up to the API server's 3 MB).
        let present = request.contains_key("object");
        let object = match request.remove("object") {
            None | Some(Value::Null) => None,
            Some(object @ Value::Object(_)) => Some(object),
            Some(other) => {
                return Err(format!("{CONTEXT}: `request.object` must be an object, found {}", json_type(&other)))
            }
        };
        let object = match (operation, object) {
            (Operation::Create | Operation::Update, None) => {
                let how = if present { "null" } else { "missing" };
                return Err(format!(
                    "{CONTEXT}: `request.object` is {how}; {} requests carry the object being admitted",
                    if operation == Operation::Create { "CREATE" } else { "UPDATE" }
                ));
            }
            (_, Some(object)) => Some(with_kind_from_request(object, request.get("kind"))),
            (_, None) => None,
        };
        Ok(AdmissionPayload { settings, operation, sub_resource, namespace, object, object_is_partial: false })
    }
}

/// The payload as kwctl and policy-server send it, decoded in one pass: the object as the rules
/// read it ([`crate::projection`]), the settings into a tree (checked once, see
/// [`cached_settings`]), and the rest of the request (`oldObject`, `userInfo`, `options`, ...)
/// skipped without building anything, as no rule reads it.
#[derive(Deserialize)]
struct WellFormedPayload<'a> {
    #[serde(borrow)]
    request: WellFormedRequest<'a>,
    settings: Option<Value>,
}

#[derive(Deserialize)]
struct WellFormedRequest<'a> {
    #[serde(borrow)]
    operation: Cow<'a, str>,
    #[serde(borrow, rename = "subResource")]
    sub_resource: Option<Cow<'a, str>>,
    /// The SDK's own request type reads the snake_case spelling.
    #[serde(borrow, rename = "sub_resource")]
    sub_resource_snake_case: Option<Cow<'a, str>>,
    #[serde(borrow)]
    namespace: Option<Cow<'a, str>>,
    kind: Option<Value>,
    object: Option<ObjectForRules>,
}

impl WellFormedPayload<'_> {
    /// `None` when the payload is not plainly well formed (not UTF-8, a wrong type, a duplicate
    /// field, a missing object...): [`AdmissionPayload::parse_checked`] then reads it and says
    /// what is wrong. Where both read a payload, they read the same.
    fn read(payload: &[u8]) -> Option<Result<AdmissionPayload, String>> {
        // Checked whole first: serde_json then reads the text without checking each string again.
        let text = std::str::from_utf8(payload).ok()?;
        let payload: WellFormedPayload = serde_json::from_str(text).ok()?;
        let request = payload.request;
        let operation = Operation::from_name(&request.operation)?;
        let (object, object_is_partial) = match (operation, request.object) {
            (_, Some(ObjectForRules { object: object @ Value::Object(_), left_out })) => {
                (Some(with_kind_from_request(object, request.kind.as_ref())), left_out)
            }
            (Operation::Delete | Operation::Connect, None) => (None, false),
            _ => return None,
        };
        let settings = match cached_settings(payload.settings) {
            Ok(settings) => settings,
            Err(problem) => return Some(Err(problem)),
        };
        let non_empty = |field: Option<Cow<str>>| field.filter(|s| !s.is_empty()).map(Cow::into_owned);
        Some(Ok(AdmissionPayload {
            settings,
            operation,
            sub_resource: non_empty(request.sub_resource.or(request.sub_resource_snake_case)),
            namespace: non_empty(request.namespace),
            object,
            object_is_partial,
        }))
    }
}

thread_local! {
    /// The last settings read, as sent and as checked: policy-server sends one policy's settings
    /// with every request, so they are checked (the costly part) once.
    static LAST_SETTINGS: RefCell<Option<(Value, Rc<Settings>)>> = const { RefCell::new(None) };
}

fn cached_settings(sent: Option<Value>) -> Result<Rc<Settings>, String> {
    let sent = sent.unwrap_or(Value::Null);
    if let Some(settings) = LAST_SETTINGS.with_borrow(|last| {
        last.as_ref().filter(|(last_sent, _)| *last_sent == sent).map(|(_, settings)| settings.clone())
    }) {
        return Ok(settings);
    }
    let settings = Rc::new(parse_settings(sent.clone())?);
    LAST_SETTINGS.set(Some((sent, settings.clone())));
    Ok(settings)
}

/// Settings are an object (or `null` for the defaults); serde alone would also read an array as
/// the struct's fields in order.
fn parse_settings(value: Value) -> Result<Settings, String> {
    match value {
        Value::Object(_) | Value::Null => Settings::from_value(value),
        other => Err(format!("invalid settings: expected an object, found {}", json_type(&other))),
    }
}

/// A string field of `request`, under the first of `names` present; `null` counts as absent.
fn optional_string(request: &serde_json::Map<String, Value>, names: &[&str]) -> Result<Option<String>, String> {
    for name in names {
        match request.get(*name) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => return Ok(Some(s.clone())),
            Some(other) => {
                return Err(format!(
                    "invalid admission payload: `request.{name}` must be a string, found {}",
                    json_type(other)
                ))
            }
        }
    }
    Ok(None)
}

/// Objects normally carry `apiVersion` and `kind`; when a hand-written request leaves them out,
/// `request.kind` (group, version, kind) says what the object is.
fn with_kind_from_request(mut object: Value, request_kind: Option<&Value>) -> Value {
    let (Some(gvk), Some(map)) = (request_kind, object.as_object_mut()) else { return object };
    let field = |name: &str| gvk.get(name).and_then(Value::as_str).unwrap_or("");
    if !map.get("kind").is_some_and(Value::is_string) && !field("kind").is_empty() {
        map.insert("kind".into(), Value::String(field("kind").into()));
        if !map.get("apiVersion").is_some_and(Value::is_string) && !field("version").is_empty() {
            let api_version = match field("group") {
                "" => field("version").to_string(),
                group => format!("{group}/{}", field("version")),
            };
            map.insert("apiVersion".into(), Value::String(api_version));
        }
    }
    object
}

fn decide(request: &AdmissionPayload, lookup: &dyn ClusterLookup) -> Verdict {
    // DELETE and CONNECT admit nothing new (and a mutation of a deleted object is refused).
    let Some(object) =
        request.object.as_ref().filter(|_| matches!(request.operation, Operation::Create | Operation::Update))
    else {
        return Verdict::accept();
    };
    match request.sub_resource.as_deref() {
        None => {}
        // `kubectl debug` adds containers to a running Pod; the object is the whole Pod.
        Some("ephemeralcontainers") => {}
        // status, scale, binding...: writes by controllers that do not change what the rules read.
        Some(_) => return Verdict::accept(),
    }

    // The API server's validation refuses such RBAC objects before any webhook sees them; a
    // request carrying one was made by hand, and judging it would read a grant generously.
    let problems = crate::rbac::shape::problems(object);
    if !problems.is_empty() {
        return Verdict::bad_request(crate::rbac::shape::describe(object, &problems));
    }
    // Likewise a workload whose Pod spec is not a mapping: the API server cannot decode it, and
    // accepting it would let Pods through that no rule has read.
    if let Some(message) = crate::k8s::pod_spec_shape_message(object, None) {
        return Verdict::bad_request(message);
    }

    let settings = &request.settings;
    let options = Options { mode: Mode::Admission, default_namespace: request.namespace.as_deref(), lookup };
    let run = |object: &Value| evaluate(std::slice::from_ref(object), settings, &options);
    let report = run(object);
    let mut annotations = audit_annotations(&report);

    if settings.mutate && may_mutate(object, request) {
        if let Some((mutated, fixed)) = apply_fixes(object, &report) {
            // Judge the fixed object, so a fix that did not take cannot let the request through.
            let after = run(&mutated);
            if after.at_least(Level::Deny).next().is_none() {
                let object_name = report.findings[fixed[0].index].object.to_string();
                let mut warnings: Vec<String> = fixed
                    .iter()
                    .map(|f| {
                        format!("sa-guard changed {object_name}: {} at {} ([{}])", f.description, f.path, f.rule_id)
                    })
                    .collect();
                warnings.extend(warning_lines(&after));
                annotations.insert(
                    AUDIT_KEY_FIXED.into(),
                    fixed
                        .iter()
                        .map(|f| format!("{} {}: {}", f.rule_id, f.path, f.description))
                        .collect::<Vec<_>>()
                        .join("; "),
                );
                let mut verdict = Verdict::accept().with_annotations(annotations).with_warnings(warnings);
                verdict.mutated_object = Some(mutated);
                return verdict;
            }
            // Rejected after all: name the findings no fix covered, at the paths the user wrote.
            let unfixed: Vec<&Finding> = report
                .findings
                .iter()
                .enumerate()
                .filter(|(i, f)| f.level >= Level::Deny && !fixed.iter().any(|a| a.index == *i))
                .map(|(_, f)| f)
                .collect();
            let listed = if unfixed.is_empty() { after.at_least(Level::Deny).collect() } else { unfixed };
            let mut message = denial_message(&listed);
            message.push_str(&format!(
                "\nFixed automatically once the findings above are resolved: {}",
                fixed.iter().map(|f| format!("[{}] {}", f.rule_id, f.description)).collect::<Vec<_>>().join("; ")
            ));
            return Verdict::reject(CODE_DENIED, message)
                .with_annotations(annotations)
                .with_warnings(warning_lines(&report));
        }
    }

    let denied: Vec<&Finding> = report.at_least(Level::Deny).collect();
    if !denied.is_empty() {
        return Verdict::reject(CODE_DENIED, denial_message(&denied))
            .with_annotations(annotations)
            .with_warnings(warning_lines(&report));
    }
    Verdict::accept().with_annotations(annotations).with_warnings(warning_lines(&report))
}

/// Pod specs are immutable after creation, so a running Pod is never patched; every other kind
/// (and Pods being created) may be.
fn may_mutate(object: &Value, request: &AdmissionPayload) -> bool {
    crate::k8s::kind(object) != "Pod" || (request.operation == Operation::Create && request.sub_resource.is_none())
}

/// One fix that was applied.
#[derive(Debug, Clone, PartialEq)]
struct AppliedFix {
    /// Index of the finding in the report.
    index: usize,
    rule_id: String,
    path: String,
    description: String,
}

/// Rules whose fixes `mutate: true` applies at admission. Their fixes only take a token away
/// (`automountServiceAccountToken: false`); fixes of other rules (a shorter token lifetime, a
/// renamed field) change what the workload gets and are left to the CLI and the playground.
pub const ADMISSION_FIX_RULES: &[&str] = &["SAG001", "SAG002"];

/// Apply the fixes of the deny-level findings of [`ADMISSION_FIX_RULES`], in report order.
/// A fix that no longer applies (an earlier one changed the same place) is skipped, leaving its
/// finding to the re-evaluation. `None` when nothing was changed.
fn apply_fixes(object: &Value, report: &Report) -> Option<(Value, Vec<AppliedFix>)> {
    let mut mutated = object.clone();
    let mut applied = Vec::new();
    for (index, finding) in report.findings.iter().enumerate().filter(|(_, f)| f.level >= Level::Deny) {
        let Some(fix) = &finding.fix else { continue };
        if !ADMISSION_FIX_RULES.contains(&finding.rule_id.as_str()) {
            continue;
        }
        let mut candidate = mutated.clone();
        if json_patch::patch(&mut candidate, &fix.patch).is_ok() && candidate != mutated {
            mutated = candidate;
            applied.push(AppliedFix {
                index,
                rule_id: finding.rule_id.clone(),
                path: finding.path.clone(),
                description: fix.description.clone(),
            });
        }
    }
    (!applied.is_empty()).then_some((mutated, applied))
}

/// The rejection message: every finding given (the deny-level ones) with what to do about it,
/// one per line.
fn denial_message(denied: &[&Finding]) -> String {
    let subject = denied.first().map(|f| f.object.to_string()).unwrap_or_default();
    let count = match denied.len() {
        1 => "1 finding".to_string(),
        n => format!("{n} findings"),
    };
    let mut message = format!("sa-guard denied {subject} ({count}):");
    for finding in denied.iter().take(MAX_LISTED_FINDINGS) {
        message.push_str(&format!("\n{} What to do: {}", finding.one_line(), finding.remediation));
    }
    if let Some(more) = more_line(denied.len()) {
        message.push('\n');
        message.push_str(&more);
    }
    message
}

/// Warn-level findings, one line each.
fn warning_lines(report: &Report) -> Vec<String> {
    let warned: Vec<&Finding> = report.findings.iter().filter(|f| f.level == Level::Warn).collect();
    let mut lines: Vec<String> = warned.iter().take(MAX_LISTED_FINDINGS).map(|f| f.one_line()).collect();
    lines.extend(more_line(warned.len()));
    lines
}

/// `sa-guard.<rule id>` per rule with findings (all of them, "deny"/"warn" prefixed) and
/// `sa-guard.exempted` for the exemptions with their reasons.
fn audit_annotations(report: &Report) -> BTreeMap<String, String> {
    // Per key: the entries listed (formatted only up to the cap) and how many there are.
    let mut entries: BTreeMap<String, (Vec<String>, usize)> = BTreeMap::new();
    let mut add = |key: String, entry: &dyn Fn() -> String| {
        let (listed, total) = entries.entry(key).or_default();
        *total += 1;
        if listed.len() < MAX_LISTED_FINDINGS {
            listed.push(entry());
        }
    };
    for f in &report.findings {
        add(format!("{AUDIT_KEY_PREFIX}{}", f.rule_id), &|| format!("{} {}: {}", f.level, f.path, f.message));
    }
    for e in &report.exemptions {
        add(AUDIT_KEY_EXEMPTED.to_string(), &|| format!("{} {}: {}", e.rule_id, e.path, e.reason));
    }
    entries
        .into_iter()
        .map(|(key, (mut listed, total))| {
            listed.extend(more_line(total));
            (key, listed.join("; "))
        })
        .collect()
}

/// Reads a host error from Kubewarden's `kubernetes/get_resource`: the API server's 404 is an
/// answer ("no such object"), anything else is a failed look-up.
pub fn lookup_from_host_error(message: &str) -> crate::lookup::Lookup<'static> {
    let not_found = message.contains("reason: \"NotFound\"") || message.contains("\"reason\":\"NotFound\"");
    let code_404 = message.contains("code: 404") || message.contains("\"code\":404");
    if not_found && code_404 {
        crate::lookup::Lookup::NotFound
    } else {
        crate::lookup::Lookup::Failed(message.to_string())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::lookup::{Lookup, NoCluster, StaticCluster};
    use crate::rules;

    /// Settings with every rule off except `enabled` (at their default level), plus `extra`:
    /// pins one rule's behaviour whatever the other rules report.
    fn only(enabled: &[&str], extra: Value) -> Value {
        let mut settings = extra;
        let levels = settings["rules"].take();
        let mut levels = levels.as_object().cloned().unwrap_or_default();
        for rule in rules::all().iter().filter(|r| !enabled.contains(&r.meta.id)) {
            levels.entry(rule.meta.id).or_insert(json!("off"));
        }
        settings["rules"] = Value::Object(levels);
        settings
    }

    fn payload(operation: &str, object: Value, settings: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": "", "version": "v1", "kind": "ServiceAccount"},
                "resource": {"group": "", "version": "v1", "resource": "serviceaccounts"},
                "operation": operation,
                "namespace": "production",
                "object": object,
            },
            "settings": settings,
        }))
        .unwrap()
    }

    fn run(operation: &str, object: Value, settings: Value) -> Verdict {
        validate(&payload(operation, object, settings), &NoCluster)
    }

    fn default_sa() -> Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "production"}})
    }

    const SAG001_MESSAGE: &str =
        "the default ServiceAccount does not set automountServiceAccountToken, so every Pod in \
        namespace production that names no ServiceAccount gets an API token mounted";
    const SAG001_REMEDIATION: &str = "Set automountServiceAccountToken: false on the default ServiceAccount \
        (kubectl patch serviceaccount default -n <ns> -p '{\"automountServiceAccountToken\": false}').";

    fn bad_request(message: &str) -> Verdict {
        Verdict { accepted: false, message: Some(message.into()), code: Some(400), ..Verdict::accept() }
    }

    #[test]
    fn deny_lists_every_finding_with_what_to_do_and_annotates() {
        let verdict = run("CREATE", default_sa(), only(&["SAG001"], json!({})));
        assert_eq!(
            verdict,
            Verdict {
                accepted: false,
                message: Some(format!(
                    "sa-guard denied ServiceAccount production/default (1 finding):\n\
                 [SAG001] ServiceAccount production/default /automountServiceAccountToken: {SAG001_MESSAGE} \
                 What to do: {SAG001_REMEDIATION}"
                )),
                code: Some(403),
                mutated_object: None,
                audit_annotations: Some(BTreeMap::from([(
                    "sa-guard.SAG001".to_string(),
                    format!("deny /automountServiceAccountToken: {SAG001_MESSAGE}"),
                )])),
                warnings: None,
            }
        );
    }

    /// A Pod with `count` projected tokens, each without audience and living a day.
    fn pod_with_tokens(count: usize) -> Value {
        let volumes: Vec<Value> = (0..count)
            .map(|i| json!({"name": format!("t{i}"), "projected": {"sources": [{"serviceAccountToken": {"path": "t", "expirationSeconds": 86400}}]}}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "many", "namespace": "production"},
               "spec": {"automountServiceAccountToken": false, "containers": [], "volumes": volumes}})
    }

    #[test]
    fn long_finding_lists_are_capped_and_counted() {
        let verdict = run("CREATE", pod_with_tokens(MAX_LISTED_FINDINGS + 7), only(&["SAG005", "SAG006"], json!({})));
        let message = verdict.message.unwrap();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines[0], "sa-guard denied Pod production/many (57 findings):");
        assert_eq!(lines.len(), 1 + MAX_LISTED_FINDINGS + 1);
        assert!(
            lines[1]
                .starts_with("[SAG005] Pod production/many /spec/volumes/0/projected/sources/0/serviceAccountToken: "),
            "{}",
            lines[1]
        );
        assert!(lines[1..=MAX_LISTED_FINDINGS]
            .iter()
            .all(|l| l.starts_with("[SAG005] ") && l.contains(" What to do: ")));
        assert_eq!(lines[51], "… and 7 more (run `sa-guard lint` on the object for the full list)");

        let warnings = verdict.warnings.unwrap();
        assert_eq!(warnings.len(), MAX_LISTED_FINDINGS + 1);
        assert!(warnings[0].starts_with("[SAG006] Pod production/many /spec/volumes/0/projected/sources/0/serviceAccountToken/expirationSeconds: "), "{}", warnings[0]);
        assert_eq!(warnings[50], "… and 7 more (run `sa-guard lint` on the object for the full list)");

        let annotations = verdict.audit_annotations.unwrap();
        let sag005: Vec<&str> = annotations["sa-guard.SAG005"].split("; ").collect();
        assert_eq!(sag005.len(), MAX_LISTED_FINDINGS + 1);
        assert!(
            sag005[0].starts_with("deny /spec/volumes/0/projected/sources/0/serviceAccountToken: "),
            "{}",
            sag005[0]
        );
        assert_eq!(sag005[50], "… and 7 more (run `sa-guard lint` on the object for the full list)");
    }

    #[test]
    fn a_short_list_has_no_count_line() {
        let verdict = run("CREATE", pod_with_tokens(MAX_LISTED_FINDINGS), only(&["SAG005"], json!({})));
        let message = verdict.message.unwrap();
        assert_eq!(message.lines().count(), 1 + MAX_LISTED_FINDINGS);
        assert!(!message.contains("more (run"));
    }

    #[test]
    fn the_request_namespace_is_the_default_namespace() {
        let mut sa = default_sa();
        sa["metadata"].as_object_mut().unwrap().remove("namespace");
        let verdict = run("UPDATE", sa, only(&["SAG001"], json!({})));
        assert!(verdict.message.unwrap().starts_with("sa-guard denied ServiceAccount production/default (1 finding):"));
    }

    #[test]
    fn clean_object_is_accepted_with_every_field_null() {
        let mut sa = default_sa();
        sa["automountServiceAccountToken"] = json!(false);
        let verdict = run("CREATE", sa, only(&["SAG001"], json!({})));
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({"accepted": true, "message": null, "code": null, "mutated_object": null,
                   "audit_annotations": null, "warnings": null})
        );
    }

    #[test]
    fn warn_level_findings_become_warnings_on_an_accepted_request() {
        let verdict = run("CREATE", default_sa(), only(&["SAG001"], json!({"rules": {"SAG001": "warn"}})));
        assert_eq!(
            verdict,
            Verdict {
                accepted: true,
                message: None,
                code: None,
                mutated_object: None,
                audit_annotations: Some(BTreeMap::from([(
                    "sa-guard.SAG001".to_string(),
                    format!("warn /automountServiceAccountToken: {SAG001_MESSAGE}"),
                )])),
                warnings: Some(vec![format!(
                    "[SAG001] ServiceAccount production/default /automountServiceAccountToken: {SAG001_MESSAGE}"
                )]),
            }
        );
    }

    #[test]
    fn mutate_fixes_the_default_service_account() {
        let verdict = run("CREATE", default_sa(), only(&["SAG001"], json!({"mutate": true})));
        let mut fixed = default_sa();
        fixed["automountServiceAccountToken"] = json!(false);
        assert_eq!(
            verdict,
            Verdict {
                accepted: true,
                message: None,
                code: None,
                mutated_object: Some(fixed),
                audit_annotations: Some(BTreeMap::from([
                    ("sa-guard.SAG001".to_string(), format!("deny /automountServiceAccountToken: {SAG001_MESSAGE}")),
                    (
                        "sa-guard.fixed".to_string(),
                        "SAG001 /automountServiceAccountToken: set automountServiceAccountToken: false".to_string(),
                    ),
                ])),
                warnings: Some(vec![
                    "sa-guard changed ServiceAccount production/default: set automountServiceAccountToken: false \
                 at /automountServiceAccountToken ([SAG001])"
                        .to_string()
                ]),
            }
        );
    }

    #[test]
    fn mutate_replaces_an_explicit_true() {
        let mut sa = default_sa();
        sa["automountServiceAccountToken"] = json!(true);
        let verdict = run("UPDATE", sa, only(&["SAG001"], json!({"mutate": true})));
        assert!(verdict.accepted);
        assert_eq!(verdict.mutated_object.unwrap()["automountServiceAccountToken"], json!(false));
    }

    #[test]
    fn mutate_leaves_warn_level_findings_alone() {
        let verdict =
            run("CREATE", default_sa(), only(&["SAG001"], json!({"mutate": true, "rules": {"SAG001": "warn"}})));
        assert!(verdict.accepted);
        assert_eq!(verdict.mutated_object, None);
        assert_eq!(verdict.warnings.unwrap().len(), 1);
    }

    #[test]
    fn annotation_exemption_is_audited_with_its_reason() {
        let mut sa = default_sa();
        sa["metadata"]["annotations"] = json!({
            "sa-guard.io/exempt": "default-sa-automount",
            "sa-guard.io/exempt-reason": "legacy batch jobs read the token; tracked in OPS-42",
        });
        let verdict = run("CREATE", sa, only(&["SAG001"], json!({})));
        assert_eq!(
            verdict,
            Verdict {
                audit_annotations: Some(BTreeMap::from([(
                    "sa-guard.exempted".to_string(),
                    "SAG001 /automountServiceAccountToken: sa-guard.io/exempt: legacy batch jobs read the token; \
                 tracked in OPS-42"
                        .to_string(),
                )])),
                ..Verdict::accept()
            }
        );
    }

    #[test]
    fn exempt_namespace_applies_to_objects_without_a_namespace_via_the_request() {
        let verdict = validate(
            &serde_json::to_vec(&json!({
                "request": {"operation": "CREATE", "namespace": "kube-system",
                            "object": {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}}},
                "settings": only(&["SAG001"], json!({"exempt_namespaces": ["kube-*"]})),
            }))
            .unwrap(),
            &NoCluster,
        );
        assert!(verdict.accepted);
        assert_eq!(
            verdict.audit_annotations.unwrap()["sa-guard.exempted"],
            "SAG001 /automountServiceAccountToken: namespace kube-system is exempt by settings"
        );
    }

    #[test]
    fn delete_and_connect_are_accepted_and_never_mutated() {
        for operation in ["DELETE", "CONNECT"] {
            for object in [Value::Null, default_sa()] {
                let verdict = run(operation, object, only(&["SAG001"], json!({"mutate": true})));
                assert_eq!(verdict, Verdict::accept(), "{operation}");
            }
        }
        // `object` absent altogether, as in a bare DELETE request
        let verdict =
            validate(br#"{"request": {"operation": "DELETE", "oldObject": {"kind": "ServiceAccount"}}}"#, &NoCluster);
        assert_eq!(verdict, Verdict::accept());
    }

    #[test]
    fn subresources_other_than_ephemeral_containers_are_not_evaluated() {
        let with_sub_resource = |sub: &str| {
            let mut p: Value =
                serde_json::from_slice(&payload("UPDATE", default_sa(), only(&["SAG001"], json!({})))).unwrap();
            p["request"]["subResource"] = json!(sub);
            validate(&serde_json::to_vec(&p).unwrap(), &NoCluster)
        };
        assert_eq!(with_sub_resource("status"), Verdict::accept());
        assert_eq!(with_sub_resource("scale"), Verdict::accept());
        assert_eq!(with_sub_resource("").code, Some(403), "an empty subResource is the main resource");
    }

    #[test]
    fn pods_are_mutated_only_when_created() {
        let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {}});
        let request = |operation, sub_resource: Option<&str>| AdmissionPayload {
            settings: Settings::default().into(),
            operation,
            sub_resource: sub_resource.map(str::to_string),
            namespace: None,
            object: Some(pod.clone()),
            object_is_partial: false,
        };
        assert!(may_mutate(&pod, &request(Operation::Create, None)));
        assert!(!may_mutate(&pod, &request(Operation::Update, None)));
        assert!(!may_mutate(&pod, &request(Operation::Update, Some("ephemeralcontainers"))));
        let deployment = json!({"kind": "Deployment"});
        assert!(may_mutate(&deployment, &request(Operation::Update, None)));
    }

    /// checkout-api's Pod as the policy sees it: the ServiceAccount admission plugin has already
    /// named the default ServiceAccount and injected the token volume.
    fn checkout_pod() -> Value {
        json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "checkout-api-9c4b2f-m8nzx", "namespace": "production"},
            "spec": {
                "serviceAccountName": "default", "serviceAccount": "default",
                "containers": [{"name": "checkout-api", "image": "company/checkout-api:2.0.3", "volumeMounts": [
                    {"name": "kube-api-access-x7k2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true}
                ]}],
                "volumes": [{"name": "kube-api-access-x7k2p", "projected": {"sources": [
                    {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                    {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                ]}}]
            }
        })
    }

    fn pod_request(operation: &str, sub_resource: Option<&str>, pod: Value, settings: Value) -> Verdict {
        let mut request = json!({"operation": operation, "namespace": "production", "object": pod,
                                 "kind": {"group": "", "version": "v1", "kind": "Pod"}});
        if let Some(sub) = sub_resource {
            request["subResource"] = json!(sub);
        }
        validate(&serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap(), &NoCluster)
    }

    const SAG002_POD_LINE: &str =
        "[SAG002] Pod production/checkout-api-9c4b2f-m8nzx /spec/automountServiceAccountToken: \
        the Pod spec does not set automountServiceAccountToken and ServiceAccount production/default was not looked up \
        because context-aware lookups are off, so its automountServiceAccountToken is unknown; Kubernetes' default is \
        true, so an API token is mounted";
    const SAG002_FIX: &str =
        "set automountServiceAccountToken: false and remove the injected token volume kube-api-access-x7k2p";

    #[test]
    fn pods_are_fixed_on_create_including_the_injected_token_volume() {
        let verdict = pod_request("CREATE", None, checkout_pod(), only(&["SAG002"], json!({"mutate": true})));
        let mut fixed = checkout_pod();
        fixed["spec"]["automountServiceAccountToken"] = json!(false);
        fixed["spec"]["volumes"] = json!([]);
        fixed["spec"]["containers"][0]["volumeMounts"] = json!([]);
        assert!(verdict.accepted, "{verdict:?}");
        assert_eq!(verdict.mutated_object, Some(fixed));
        assert_eq!(verdict.warnings, Some(vec![format!(
            "sa-guard changed Pod production/checkout-api-9c4b2f-m8nzx: {SAG002_FIX} at /spec/automountServiceAccountToken ([SAG002])"
        )]));
        assert_eq!(
            verdict.audit_annotations.unwrap()["sa-guard.fixed"],
            format!("SAG002 /spec/automountServiceAccountToken: {SAG002_FIX}")
        );
    }

    /// The checkout Pod with 2 000 environment variables, one of them an AWS key (index 1 500).
    fn checkout_pod_with_variables() -> Value {
        let mut pod = checkout_pod();
        let mut env: Vec<Value> =
            (0..2000).map(|i| json!({"name": format!("SETTING_{i}"), "value": format!("v{i}")})).collect();
        env[1500] = json!({"name": "AWS_SECRET_ACCESS_KEY", "value": "wJalrXUtnFEMI"});
        pod["spec"]["containers"][0]["env"] = json!(env);
        pod
    }

    #[test]
    fn variables_left_out_for_the_rules_still_judge_and_mutate_the_whole_pod() {
        let settings = only(&["SAG002", "SAG013"], json!({"mutate": true}));
        let payload = serde_json::to_vec(&json!({"request": {"operation": "CREATE", "namespace": "production",
            "object": checkout_pod_with_variables()}, "settings": settings}))
        .unwrap();
        let read = WellFormedPayload::read(&payload).unwrap().unwrap();
        assert!(read.object_is_partial, "the 1 999 other variables are left out");
        let verdict = validate(&payload, &NoCluster);
        assert_eq!(verdict, decide(&AdmissionPayload::parse_checked(&payload).unwrap(), &NoCluster));
        assert_eq!(verdict.code, Some(403), "SAG013 has no fix");
        assert!(verdict
            .message
            .unwrap()
            .contains("/spec/containers/0/env/1500: container checkout-api sets AWS_SECRET_ACCESS_KEY inline"));

        // Without the key, SAG002's fix is applied: the object sent back is the whole Pod.
        let mut pod = checkout_pod_with_variables();
        pod["spec"]["containers"][0]["env"][1500] = json!({"name": "REGION", "value": "eu-west-1"});
        let verdict = pod_request("CREATE", None, pod.clone(), settings);
        assert!(verdict.accepted, "{verdict:?}");
        let mutated = verdict.mutated_object.unwrap();
        assert_eq!(mutated["spec"]["containers"][0]["env"], pod["spec"]["containers"][0]["env"]);
        assert_eq!(mutated["spec"]["automountServiceAccountToken"], json!(false));
    }

    #[test]
    fn running_pods_are_never_mutated() {
        for (operation, sub_resource) in [("UPDATE", None), ("UPDATE", Some("ephemeralcontainers"))] {
            let verdict =
                pod_request(operation, sub_resource, checkout_pod(), only(&["SAG002"], json!({"mutate": true})));
            assert_eq!(verdict.mutated_object, None, "{sub_resource:?}");
            assert_eq!(verdict.code, Some(403));
            let message = verdict.message.unwrap();
            assert!(
                message.starts_with(&format!(
                "sa-guard denied Pod production/checkout-api-9c4b2f-m8nzx (1 finding):\n{SAG002_POD_LINE} What to do: "
            )),
                "{message}"
            );
        }
    }

    #[test]
    fn ephemeral_containers_are_judged_on_the_whole_pod() {
        let with_debugger = |mut pod: Value| {
            pod["spec"]["ephemeralContainers"] =
                json!([{"name": "debugger", "image": "busybox", "targetContainerName": "checkout-api"}]);
            pod
        };
        let settings = only(&["SAG002"], json!({}));
        let clean =
            pod_request("UPDATE", Some("ephemeralcontainers"), with_debugger(checkout_pod_fixed()), settings.clone());
        assert_eq!(clean, Verdict::accept());
        let verdict = pod_request("UPDATE", Some("ephemeralcontainers"), with_debugger(checkout_pod()), settings);
        assert_eq!(verdict.code, Some(403));
        assert!(verdict.message.unwrap().contains(SAG002_POD_LINE));
    }

    fn checkout_pod_fixed() -> Value {
        let mut pod = checkout_pod();
        pod["spec"]["automountServiceAccountToken"] = json!(false);
        pod["spec"]["volumes"] = json!([]);
        pod["spec"]["containers"][0]["volumeMounts"] = json!([]);
        pod
    }

    #[test]
    fn a_finding_no_fix_covers_still_rejects_and_names_the_pending_fix() {
        let mut pod = checkout_pod();
        pod["spec"]["volumes"].as_array_mut().unwrap().push(json!(
            {"name": "token-legacy-client", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}}
        ));
        let verdict = pod_request("CREATE", None, pod, only(&["SAG002", "SAG005"], json!({"mutate": true})));
        assert_eq!(verdict.mutated_object, None);
        assert_eq!(verdict.code, Some(403));
        let message = verdict.message.unwrap();
        let lines: Vec<&str> = message.lines().collect();
        assert_eq!(lines.len(), 3, "{message}");
        assert_eq!(lines[0], "sa-guard denied Pod production/checkout-api-9c4b2f-m8nzx (1 finding):");
        // the path the user wrote (volume 1), not the path in the fixed object (volume 0)
        assert!(lines[1].starts_with(
            "[SAG005] Pod production/checkout-api-9c4b2f-m8nzx /spec/volumes/1/projected/sources/0/serviceAccountToken: \
             the projected token in volume token-legacy-client has no audience"
        ), "{}", lines[1]);
        assert_eq!(
            lines[2],
            format!("Fixed automatically once the findings above are resolved: [SAG002] {SAG002_FIX}")
        );
    }

    fn finding_with_fix(rule_id: &str, patch: Value) -> Finding {
        Finding {
            rule_id: rule_id.into(),
            rule_slug: String::new(),
            level: Level::Deny,
            object: crate::k8s::object_ref(&json!({}), None),
            object_index: 0,
            path: "/spec".into(),
            message: String::new(),
            remediation: String::new(),
            fix: Some(crate::finding::Fix {
                description: format!("{rule_id} fix"),
                patch: serde_json::from_value(patch).unwrap(),
            }),
        }
    }

    #[test]
    fn only_token_removing_rules_are_fixed_and_failing_patches_are_skipped() {
        let object = json!({"spec": {"a": 1}});
        let report = Report {
            findings: vec![
                finding_with_fix(
                    "SAG002",
                    json!([{"op": "add", "path": "/spec/automountServiceAccountToken", "value": false}]),
                ),
                // not an admission fix rule
                finding_with_fix("SAG006", json!([{"op": "replace", "path": "/spec/a", "value": 2}])),
                // no longer applies
                finding_with_fix("SAG001", json!([{"op": "test", "path": "/spec/a", "value": 9}])),
            ],
            exemptions: vec![],
        };
        let (mutated, applied) = apply_fixes(&object, &report).unwrap();
        assert_eq!(mutated, json!({"spec": {"a": 1, "automountServiceAccountToken": false}}));
        assert_eq!(
            applied,
            vec![AppliedFix {
                index: 0,
                rule_id: "SAG002".into(),
                path: "/spec".into(),
                description: "SAG002 fix".into()
            }]
        );
        let nothing = Report { findings: vec![report.findings[1].clone()], exemptions: vec![] };
        assert_eq!(apply_fixes(&object, &nothing), None);
    }

    #[test]
    fn kind_is_taken_from_the_request_when_the_object_has_none() {
        let verdict = validate(
            &serde_json::to_vec(&json!({
                "request": {"operation": "CREATE", "namespace": "production",
                            "kind": {"group": "", "version": "v1", "kind": "ServiceAccount"},
                            "object": {"metadata": {"name": "default"}}},
                "settings": only(&["SAG001"], json!({})),
            }))
            .unwrap(),
            &NoCluster,
        );
        assert!(verdict.message.unwrap().starts_with("sa-guard denied ServiceAccount production/default"));
        let object = with_kind_from_request(
            json!({"metadata": {}}),
            Some(&json!({"group": "apps", "version": "v1", "kind": "Deployment"})),
        );
        assert_eq!(object, json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {}}));
    }

    #[test]
    fn rbac_objects_the_api_server_refuses_are_rejected_with_400() {
        let payload = json!({"request": {"operation": "CREATE", "namespace": "ci", "object": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ci-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "deployer"}],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "deployer"}}}, "settings": {}});
        let verdict = validate(payload.to_string().as_bytes(), &NoCluster);
        assert!(!verdict.accepted);
        assert_eq!(verdict.code, Some(400));
        assert_eq!(
            verdict.message.as_deref(),
            Some(
                "ClusterRoleBinding ci-admin is not valid RBAC and the API server would reject it: a \
                 ClusterRoleBinding can only reference a ClusterRole, not a Role; subjects[0]: a ServiceAccount \
                 subject of a ClusterRoleBinding needs a namespace"
            )
        );
        let payload = json!({"request": {"operation": "CREATE", "namespace": "ci", "object": {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "r", "namespace": "ci"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": "get"}]}}, "settings": {}});
        let verdict = validate(payload.to_string().as_bytes(), &NoCluster);
        assert_eq!(verdict.code, Some(400));
        assert_eq!(
            verdict.message.as_deref(),
            Some(
                "Role ci/r is not valid RBAC and the API server would reject it: rules[0]: verbs must be a list of \
                 strings, found the string \"get\""
            )
        );
    }

    #[test]
    fn malformed_payloads_are_rejected_with_400_naming_the_problem() {
        let cases: Vec<(&[u8], &str)> = vec![
            (b"\xff\xfe{}", "invalid admission payload: not valid UTF-8 (invalid byte at offset 0)"),
            (b"", "invalid admission payload: not JSON: EOF while parsing a value at line 1 column 0"),
            (b"request: {}", "invalid admission payload: not JSON: expected value at line 1 column 1"),
            (b"[1]", "invalid admission payload: expected a JSON object with `request` and `settings`, found an array"),
            (b"null", "invalid admission payload: expected a JSON object with `request` and `settings`, found null"),
            (br#"{"settings": {}}"#, "invalid admission payload: `request` is missing"),
            (br#"{"request": null}"#, "invalid admission payload: `request` must be an object, found null"),
            (br#"{"request": "CREATE"}"#, "invalid admission payload: `request` must be an object, found a string"),
            (br#"{"request": {}}"#, "invalid admission payload: `request.operation` is missing"),
            (br#"{"request": {"operation": null}}"#, "invalid admission payload: `request.operation` must be a string, found null"),
            (br#"{"request": {"operation": 1}}"#, "invalid admission payload: `request.operation` must be a string, found a number"),
            (
                br#"{"request": {"operation": "PATCH"}}"#,
                "invalid admission payload: `request.operation` is `PATCH`, expected CREATE, UPDATE, DELETE or CONNECT",
            ),
            (
                br#"{"request": {"operation": "CREATE"}}"#,
                "invalid admission payload: `request.object` is missing; CREATE requests carry the object being admitted",
            ),
            (
                br#"{"request": {"operation": "UPDATE", "object": null}}"#,
                "invalid admission payload: `request.object` is null; UPDATE requests carry the object being admitted",
            ),
            (
                br#"{"request": {"operation": "CREATE", "object": "kind: Pod"}}"#,
                "invalid admission payload: `request.object` must be an object, found a string",
            ),
            (
                br#"{"request": {"operation": "CREATE", "object": [], "namespace": "x"}}"#,
                "invalid admission payload: `request.object` must be an object, found an array",
            ),
            (
                br#"{"request": {"operation": "CREATE", "object": {}, "namespace": 7}}"#,
                "invalid admission payload: `request.namespace` must be a string, found a number",
            ),
            (
                br#"{"request": {"operation": "UPDATE", "object": {}, "subResource": ["status"]}}"#,
                "invalid admission payload: `request.subResource` must be a string, found an array",
            ),
            (
                br#"{"request": {"operation": "CREATE", "object": {}}, "settings": {"mutate": "yes"}}"#,
                "invalid settings: invalid type: string \"yes\", expected a boolean",
            ),
            (
                br#"{"request": {"operation": "CREATE", "object": {}}, "settings": {"mutates": true}}"#,
                "invalid settings: unknown field `mutates`",
            ),
            (
                br#"{"request": {"operation": "DELETE"}, "settings": {"max_token_expiration_seconds": 60}}"#,
                "invalid settings: max_token_expiration_seconds: 60 is below the Kubernetes minimum of 600",
            ),
            (
                br#"{"request": {"operation": "CREATE", "object": {}}, "settings": []}"#,
                "invalid settings: expected an object, found an array",
            ),
        ];
        for (payload, expected) in cases {
            let verdict = validate(payload, &NoCluster);
            assert_eq!(verdict.code, Some(400), "{}", String::from_utf8_lossy(payload));
            assert!(!verdict.accepted);
            let message = verdict.message.clone().unwrap();
            assert!(
                message.starts_with(expected),
                "{}\n got: {message}\nwant: {expected}",
                String::from_utf8_lossy(payload)
            );
            assert_eq!(verdict, bad_request(&message));
        }
    }

    /// The one-pass reader and the checked reader agree wherever the one-pass reader answers,
    /// and it steps aside (for the exact message) on every shape it does not take.
    #[test]
    fn the_one_pass_reader_reads_what_the_checked_reader_reads() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}});
        let taken: Vec<Value> = vec![
            json!({"request": {"operation": "CREATE", "namespace": "shop", "object": pod}, "settings": {"mutate": true}}),
            json!({"request": {"operation": "UPDATE", "subResource": "ephemeralcontainers", "object": pod,
                               "oldObject": pod, "userInfo": {"username": "u"}, "options": null}}),
            json!({"request": {"operation": "CREATE", "subResource": null, "sub_resource": "status", "object": pod}}),
            json!({"request": {"operation": "CREATE", "subResource": "", "sub_resource": "status", "object": pod}}),
            json!({"request": {"operation": "CREATE", "namespace": "", "object": {"metadata": {"name": "n"}},
                               "kind": {"group": "apps", "version": "v1", "kind": "Deployment"}}, "settings": null}),
            json!({"request": {"operation": "DELETE", "object": null, "oldObject": pod}, "settings": {}}),
            json!({"request": {"operation": "CONNECT"}, "extra": [1, 2]}),
            json!({"request": {"operation": "CREATE", "namespace": "a\"b", "object": pod},
                   "settings": {"rules": {"SAG002": "warn"}}}),
            // a variable with a value and a `valueFrom`: decoded whole (see `projection`)
            json!({"request": {"operation": "CREATE", "object": {"spec": {"containers": [{"env": [
                {"name": "PORT", "value": "1", "valueFrom": {"secretKeyRef": {"name": "s"}}}]}]}}}}),
        ];
        for payload in &taken {
            let text = payload.to_string();
            let fast = WellFormedPayload::read(text.as_bytes()).unwrap_or_else(|| panic!("not taken: {text}")).unwrap();
            assert_eq!(fast, AdmissionPayload::parse_checked(text.as_bytes()).unwrap(), "{text}");
        }
        let stepped_aside = [
            r#"{"request": {"operation": "CREATE", "object": {}}, "request": {"operation": "DELETE"}}"#,
            r#"{"request": {"operation": "CREATE", "operation": "DELETE", "object": {}}}"#,
            r#"{"request": {"operation": "PATCH", "object": {}}}"#,
            r#"{"request": {"operation": "CREATE"}}"#,
            r#"{"request": {"operation": "CREATE", "object": null}}"#,
            r#"{"request": {"operation": "DELETE", "object": "x"}}"#,
            r#"{"request": {"operation": "CREATE", "object": {}, "namespace": 7}}"#,
            r#"{"request": null}"#,
            r#"[]"#,
        ];
        for text in stepped_aside {
            assert!(WellFormedPayload::read(text.as_bytes()).is_none(), "{text}");
        }
        assert!(WellFormedPayload::read(b"{\"request\": {\"operation\": \"DELETE\", \"uid\": \"\xff\"}}").is_none());
    }

    #[test]
    fn equal_settings_are_checked_once() {
        let parse = |payload: &[u8]| WellFormedPayload::read(payload).expect("well formed");
        let read = |settings: &str| {
            let text = format!(r#"{{"request": {{"operation": "DELETE"}}, "settings": {settings}}}"#);
            parse(text.as_bytes()).unwrap().settings
        };
        let first = read(r#"{"mutate": true}"#);
        assert!(first.mutate);
        assert!(Rc::ptr_eq(&first, &read(r#"{"mutate": true}"#)), "same settings: checked once");
        assert!(Rc::ptr_eq(&first, &read(r#"{ "mutate" :true }"#)), "spelled differently, still the same");
        assert!(!read(r#"{"mutate": false}"#).mutate, "other settings: checked again");
        assert_eq!(
            parse(br#"{"request": {"operation": "DELETE"}, "settings": {"mutate": 1}}"#).unwrap_err(),
            "invalid settings: invalid type: integer `1`, expected a boolean (in `mutate`)"
        );
        assert!(read(r#"{"mutate": true}"#).mutate, "rejected settings do not replace the cached ones");
    }

    #[test]
    fn null_optional_fields_and_absent_settings_mean_defaults() {
        let verdict = validate(
            br#"{"request": {"operation": "CREATE", "namespace": null, "subResource": null,
                 "object": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}}}"#,
            &NoCluster,
        );
        assert_eq!(verdict, Verdict::accept());
        let verdict = validate(
            br#"{"request": {"operation": "CREATE", "sub_resource": "status", "object": {}}, "settings": null}"#,
            &NoCluster,
        );
        assert_eq!(verdict, Verdict::accept(), "snake_case sub_resource, as the SDK's request type reads it");
    }

    #[test]
    fn a_workload_whose_pod_spec_is_not_a_mapping_is_rejected_with_400() {
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web",
            "namespace": "shop"}, "spec": {"template": {"spec": "containers: []"}}});
        let verdict = run("CREATE", object, json!({}));
        assert_eq!(verdict.code, Some(400));
        assert_eq!(
            verdict.message.as_deref(),
            Some(
                "Deployment shop/web cannot be read: /spec/template/spec is a string, not a mapping, so it has no Pod \
                 spec at /spec/template/spec (the API server would reject it) and its Pods are not checked"
            )
        );
        let object = json!({"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "c", "namespace": "ci"},
            "spec": {"jobTemplate": {"spec": {"template": [1]}}}});
        let verdict = run("UPDATE", object, json!({}));
        assert_eq!(verdict.code, Some(400));
        assert!(verdict
            .message
            .as_deref()
            .unwrap_or_default()
            .starts_with("CronJob ci/c cannot be read: /spec/jobTemplate/spec/template is a sequence, not a mapping"));
    }

    #[test]
    fn odd_shapes_never_panic() {
        let other_kinds =
            ["ServiceAccount", "Secret", "ConfigMap", "Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding"];
        let odd_values =
            [json!(null), json!("x"), json!(7), json!(-1.5), json!([]), json!([null, 1, "a"]), json!({}), json!(true)];
        let fields = [
            "/metadata",
            "/metadata/annotations",
            "/metadata/namespace",
            "/spec",
            "/spec/template",
            "/spec/template/spec",
            "/spec/jobTemplate/spec/template/spec",
            "/template/spec",
            "/spec/containers",
            "/spec/volumes",
            "/spec/template/spec/containers",
            "/spec/template/spec/volumes",
            "/spec/serviceAccountName",
            "/automountServiceAccountToken",
            "/spec/automountServiceAccountToken",
            "/subjects",
            "/roleRef",
            "/rules",
            "/data",
            "/stringData",
            "/type",
            "/secrets",
        ];
        for kind in crate::k8s::POD_BEARING_KINDS.iter().chain(&other_kinds) {
            for field in fields {
                for odd in &odd_values {
                    let mut object = json!({"apiVersion": "v1", "kind": kind, "metadata": {"name": "x"}});
                    set_pointer(&mut object, field, odd.clone());
                    for settings in [json!({}), json!({"mutate": true, "context_aware": true})] {
                        let verdict = run("CREATE", object.clone(), settings);
                        // RBAC objects of a shape the API server refuses are named as such
                        let refused_rbac = verdict.code == Some(400)
                            && verdict
                                .message
                                .as_deref()
                                .is_some_and(|m| m.contains(" is not valid RBAC and the API server would reject it: "))
                            && crate::rbac::shape::problems(&object).len() > 0;
                        // so are workloads whose Pod spec is not a mapping
                        let refused_shape = verdict.code == Some(400)
                            && verdict.message == crate::k8s::pod_spec_shape_message(&object, None);
                        assert_eq!(
                            refused_shape,
                            crate::k8s::pod_spec_not_a_mapping(&object).is_some(),
                            "{kind} {field}={odd}: {verdict:?}"
                        );
                        assert!(
                            matches!(verdict.code, None | Some(403)) || refused_rbac || refused_shape,
                            "{kind} {field}={odd}: {verdict:?}"
                        );
                    }
                }
            }
        }
    }

    /// Sets `pointer` in `object`, creating objects on the way (replacing non-objects).
    fn set_pointer(object: &mut Value, pointer: &str, value: Value) {
        let mut target = object;
        let tokens: Vec<&str> = pointer.trim_start_matches('/').split('/').collect();
        for token in &tokens[..tokens.len() - 1] {
            if !target.get(*token).is_some_and(Value::is_object) {
                target[*token] = json!({});
            }
            target = &mut target[*token];
        }
        target[*tokens.last().unwrap()] = value;
    }

    #[test]
    fn audit_annotation_keys_survive_the_api_server_prefix() {
        // The API server logs `<webhook name>/<key>`; the key must be a qualified name's name part.
        let valid = |key: &str| {
            key.len() <= 63
                && key.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && key.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
                && key.bytes().last().is_some_and(|b| b.is_ascii_alphanumeric())
        };
        for rule in rules::all() {
            assert!(valid(&format!("{AUDIT_KEY_PREFIX}{}", rule.meta.id)), "{}", rule.meta.id);
        }
        assert!(valid(AUDIT_KEY_EXEMPTED) && valid(AUDIT_KEY_FIXED));
    }

    #[test]
    fn lookups_follow_context_aware_setting() {
        struct Counting(std::cell::Cell<usize>);
        impl ClusterLookup for Counting {
            fn get(&self, _: &str, _: &str, _: Option<&str>, _: &str) -> Lookup<'static> {
                self.0.set(self.0.get() + 1);
                Lookup::Failed("host unreachable".into())
            }
        }
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
                                "spec": {"template": {"spec": {"serviceAccountName": "app", "containers": [{"name": "c"}]}}}});
        let lookup = Counting(std::cell::Cell::new(0));
        validate(&payload("CREATE", deployment.clone(), json!({})), &lookup);
        assert_eq!(lookup.0.get(), 0, "no look-ups unless context_aware");
        let _ = StaticCluster::default();
        validate(&payload("CREATE", deployment, json!({"context_aware": true})), &lookup);
        // whether a rule asks depends on the rules; asking at all must go through `lookup`, never panic
    }

    #[test]
    fn host_errors_map_404_to_not_found_and_the_rest_to_failed() {
        let not_found =
            "error invoking host capability kubernetes.get_resource: ApiError: serviceaccounts \"ci\" not found: \
            NotFound (ErrorResponse { status: \"Failure\", message: \"serviceaccounts \\\"ci\\\" not found\", \
            reason: \"NotFound\", code: 404 })";
        assert_eq!(lookup_from_host_error(not_found), Lookup::NotFound);
        let json_status = r#"{"kind":"Status","status":"Failure","reason":"NotFound","code":404}"#;
        assert_eq!(lookup_from_host_error(json_status), Lookup::NotFound);
        let forbidden =
            "ApiError: serviceaccounts is forbidden: Forbidden (ErrorResponse { reason: \"Forbidden\", code: 403 })";
        assert_eq!(lookup_from_host_error(forbidden), Lookup::Failed(forbidden.into()));
        assert_eq!(
            lookup_from_host_error("the resource was not found"),
            Lookup::Failed("the resource was not found".into())
        );
    }

    #[test]
    fn settings_validation() {
        assert_eq!(validate_settings(b"{}"), SettingsVerdict { valid: true, message: None });
        assert_eq!(validate_settings(b""), SettingsVerdict { valid: true, message: None });
        assert_eq!(validate_settings(b"null"), SettingsVerdict { valid: true, message: None });
        assert_eq!(
            validate_settings(
                br#"{"mutate": true, "exempt_namespaces": ["kube-system"], "rules": {"SAG003": "warn"}}"#
            ),
            SettingsVerdict { valid: true, message: None }
        );
        assert_eq!(
            validate_settings(b"\xc3\x28"),
            SettingsVerdict {
                valid: false,
                message: Some("invalid settings: not valid UTF-8 (invalid byte at offset 0)".into())
            }
        );
        assert_eq!(
            validate_settings(br#"{"max_token_expiration_seconds": 10}"#),
            SettingsVerdict {
                valid: false,
                message: Some(
                    "invalid settings: max_token_expiration_seconds: 10 is below the Kubernetes minimum of 600".into()
                )
            }
        );
        let unknown = validate_settings(br#"{"rules": {"SAG404": "deny"}}"#);
        assert!(!unknown.valid);
        assert!(unknown
            .message
            .unwrap()
            .starts_with("invalid settings: rules: unknown rule `SAG404` (known: SAG001, SAG002"));
        assert_eq!(
            validate_settings(b"[]"),
            SettingsVerdict {
                valid: false,
                message: Some("invalid settings: expected an object, found an array".into())
            }
        );
        assert_eq!(
            validate_settings(b"{"),
            SettingsVerdict {
                valid: false,
                message: Some("invalid settings: not JSON: EOF while parsing an object at line 1 column 1".into())
            }
        );
        assert_eq!(serde_json::to_value(validate_settings(b"{}")).unwrap(), json!({"valid": true, "message": null}));
    }

    #[test]
    fn verdict_field_names_are_the_sdks() {
        let verdict = Verdict {
            accepted: false,
            message: Some("m".into()),
            code: Some(403),
            mutated_object: Some(json!({})),
            audit_annotations: Some(BTreeMap::from([("k".into(), "v".into())])),
            warnings: Some(vec!["w".into()]),
        };
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({"accepted": false, "message": "m", "code": 403, "mutated_object": {},
                   "audit_annotations": {"k": "v"}, "warnings": ["w"]})
        );
    }

    /// The SDK's own type reads our JSON and writes the same JSON back.
    #[cfg(feature = "policy")]
    #[test]
    fn verdicts_round_trip_through_the_sdk_types() {
        use kubewarden_policy_sdk::response::ValidationResponse;
        use kubewarden_policy_sdk::settings::SettingsValidationResponse;
        for verdict in [
            run("CREATE", default_sa(), only(&["SAG001"], json!({"mutate": true}))),
            run("CREATE", default_sa(), only(&["SAG001"], json!({}))),
            Verdict::accept(),
            validate(b"nope", &NoCluster),
        ] {
            let ours = serde_json::to_value(&verdict).unwrap();
            let sdk: ValidationResponse = serde_json::from_value(ours.clone()).unwrap();
            assert_eq!(serde_json::to_value(&sdk).unwrap(), ours);
        }
        let ours = serde_json::to_value(validate_settings(b"{\"x\": 1}")).unwrap();
        let sdk: SettingsValidationResponse = serde_json::from_value(ours.clone()).unwrap();
        assert_eq!(serde_json::to_value(&sdk).unwrap(), ours);
    }
}
