//! Policy settings: the same struct and validation for the Kubewarden policy, the CLI's
//! `--settings` file and the playground's settings panel.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::finding::Level;
use crate::k8s::{glob_match, json_type};
use crate::rbac::catalog::Severity;
use crate::rules;

/// The Kubernetes minimum for a projected token's `expirationSeconds`.
pub const MIN_TOKEN_EXPIRATION_SECONDS: i64 = 600;
pub const DEFAULT_MAX_TOKEN_EXPIRATION_SECONDS: i64 = 3600;

/// Annotation naming the rules (ids or slugs, comma-separated) an object is exempt from.
pub const EXEMPT_ANNOTATION: &str = "sa-guard.io/exempt";
/// Required companion of [`EXEMPT_ANNOTATION`]: why. Shown in audit annotations and reports.
pub const EXEMPT_REASON_ANNOTATION: &str = "sa-guard.io/exempt-reason";

/// What to do when a cluster look-up (context-aware mode) fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum OnLookupFailure {
    /// Fail closed: treat the ServiceAccount as unknown and let the rule decide at its level.
    #[default]
    Deny,
    /// Report the finding as a warning only.
    Warn,
    /// Fail open: skip the check for that object.
    Allow,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Level per rule, keyed by id (`SAG002`) or slug (`implicit-token-automount`).
    pub rules: BTreeMap<String, Level>,
    /// Namespaces (patterns with `*` and `?`) whose objects are not checked at all.
    pub exempt_namespaces: Vec<String>,
    /// ServiceAccounts (`namespace/name`, patterns allowed) that may have a token mounted:
    /// controllers that really call the API. Exempt from the token-mounting and default-SA rules.
    pub allowed_token_service_accounts: Vec<String>,
    /// When true, an explicit `automountServiceAccountToken: true` counts as an opt-in only for
    /// ServiceAccounts in `allowed_token_service_accounts`.
    pub require_allowlisted_opt_in: bool,
    /// Longest accepted projected token lifetime, in seconds (at least 600).
    pub max_token_expiration_seconds: i64,
    /// Audiences a projected token must not carry (patterns allowed), e.g. the API server's own.
    pub denied_audiences: Vec<String>,
    /// Fix what can be fixed (automount on the default SA and on workloads) through the mutated
    /// object instead of rejecting.
    pub mutate: bool,
    /// Look ServiceAccounts, Roles and ClusterRoles up in the cluster (Kubewarden context-aware).
    pub context_aware: bool,
    /// With `context_aware`, also look up the Secrets a workload mounts or reads, so that SAG007 catches legacy token Secrets created before the policy. Asks only for the Secret's type and annotations, but policy-server needs read access to Secrets: add `Secret` to the policy's `contextAwareResources`.
    pub lookup_secrets: bool,
    /// What a finding that rests on a failed context-aware look-up becomes: `deny` keeps its level (fail closed), `warn` lowers it to a warning, `allow` drops it (fail open).
    pub on_lookup_failure: OnLookupFailure,
    /// ServiceAccounts created outside the linted manifests (`namespace/name`, patterns allowed):
    /// not reported as undefined.
    pub external_service_accounts: Vec<String>,
    /// The least severe RBAC risk (SAG009: `critical`, `high` or `medium`) reported at the rule's level; less severe risks are reported as warnings.
    pub rbac_min_severity_to_deny: Severity,
    /// With `context_aware`, run SAG015 at admission: ask the cluster's authorizer (SubjectAccessReviews through Kubewarden's `can_i` host capability, Kubewarden 1.27 and later) whether a workload's ServiceAccount holds a critical or high risk of the catalog (and `additional_risky_requests`). A workload whose Pods get an API token for it is denied; one whose Pods get none is warned.
    pub review_service_account_permissions: bool,
    /// The most SubjectAccessReviews asked for one workload (1 to 64; the catalog needs at most 18, plus one per `additional_risky_requests` entry). Each is a call to the API server within the webhook's timeout; what is left unasked is one finding, at the level `on_lookup_failure` gives.
    pub max_permission_reviews: usize,
    /// Requests that count as risky besides the catalog's, for `review_service_account_permissions`: each `{verb, resource}` with optional `group` (`""`, the core group), `subresource`, `name`, `namespace` (absent: the workload's namespace; `""`: cluster-wide) and `severity` (`critical`, `high` — the default — or `medium`).
    pub additional_risky_requests: Vec<RiskyRequest>,
}

/// A request that a workload's ServiceAccount must not be allowed to make
/// (`additional_risky_requests`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskyRequest {
    pub verb: String,
    #[serde(default)]
    pub group: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subresource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Absent: the workload's namespace; `""`: cluster-wide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default = "default_risky_request_severity")]
    pub severity: Severity,
}

fn default_risky_request_severity() -> Severity {
    Severity::High
}

/// The catalog's reviews (18) with room for a few additions.
pub const DEFAULT_MAX_PERMISSION_REVIEWS: usize = 24;
/// Past this, the reviews of one workload could hold the request past the webhook's timeout.
pub const MAX_PERMISSION_REVIEWS: usize = 64;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rules: BTreeMap::new(),
            exempt_namespaces: Vec::new(),
            allowed_token_service_accounts: Vec::new(),
            require_allowlisted_opt_in: false,
            max_token_expiration_seconds: DEFAULT_MAX_TOKEN_EXPIRATION_SECONDS,
            denied_audiences: default_denied_audiences(),
            mutate: false,
            context_aware: false,
            lookup_secrets: false,
            on_lookup_failure: OnLookupFailure::Deny,
            external_service_accounts: Vec::new(),
            rbac_min_severity_to_deny: Severity::High,
            review_service_account_permissions: false,
            max_permission_reviews: DEFAULT_MAX_PERMISSION_REVIEWS,
            additional_risky_requests: Vec::new(),
        }
    }
}

/// The API server's usual audiences: a projected token for one of them is an API credential.
pub fn default_denied_audiences() -> Vec<String> {
    ["kubernetes", "https://kubernetes.default.svc", "https://kubernetes.default.svc.cluster.local", "api"]
        .into_iter()
        .map(String::from)
        .collect()
}

impl Settings {
    /// Parse and validate settings JSON. The error names the offending field.
    pub fn from_json(json: &str) -> Result<Settings, String> {
        if json.trim().is_empty() {
            return Ok(Settings::default());
        }
        // Whitespace JSON does not know (a vertical tab, U+3000) around the value is trimmed, as
        // policy-server's payload is, so both readings agree; errors keep the original positions.
        let value: serde_json::Value = serde_json::from_str(json)
            .or_else(|e| serde_json::from_str(json.trim()).map_err(|_| e))
            .map_err(|e| format!("invalid settings: {e}"))?;
        Settings::from_value(value)
    }

    /// Parse and validate settings already decoded as JSON (`null` means defaults).
    pub fn from_value(value: serde_json::Value) -> Result<Settings, String> {
        let settings: Settings = match value {
            serde_json::Value::Null => Settings::default(),
            value @ serde_json::Value::Object(_) => serde_path_to_error::deserialize(value).map_err(field_error)?,
            // serde would read an array as the struct's fields in order
            other => return Err(format!("invalid settings: expected an object, found {}", json_type(&other))),
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Checks what serde cannot: rule names exist, bounds hold, patterns have the right form.
    pub fn validate(&self) -> Result<(), String> {
        for key in self.rules.keys() {
            if rules::find(key).is_none() {
                return Err(format!(
                    "invalid settings: rules: unknown rule `{key}` (known: {})",
                    rules::all().iter().map(|r| r.meta.id).collect::<Vec<_>>().join(", ")
                ));
            }
        }
        if self.max_token_expiration_seconds < MIN_TOKEN_EXPIRATION_SECONDS {
            return Err(format!(
                "invalid settings: max_token_expiration_seconds: {} is below the Kubernetes minimum of {MIN_TOKEN_EXPIRATION_SECONDS}",
                self.max_token_expiration_seconds
            ));
        }
        for (field, list) in [
            ("allowed_token_service_accounts", &self.allowed_token_service_accounts),
            ("external_service_accounts", &self.external_service_accounts),
        ] {
            for entry in list {
                let valid = entry
                    .split_once('/')
                    .is_some_and(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains('/'));
                if !valid {
                    return Err(format!("invalid settings: {field}: `{entry}` is not of the form namespace/name"));
                }
            }
        }
        for (field, list) in
            [("exempt_namespaces", &self.exempt_namespaces), ("denied_audiences", &self.denied_audiences)]
        {
            if list.iter().any(|p| p.is_empty()) {
                return Err(format!("invalid settings: {field}: entries must not be empty"));
            }
        }
        if self.lookup_secrets && !self.context_aware {
            return Err("invalid settings: lookup_secrets needs context_aware: true".into());
        }
        if self.review_service_account_permissions && !self.context_aware {
            return Err("invalid settings: review_service_account_permissions needs context_aware: true".into());
        }
        if !(1..=MAX_PERMISSION_REVIEWS).contains(&self.max_permission_reviews) {
            return Err(format!(
                "invalid settings: max_permission_reviews: {} is not between 1 and {MAX_PERMISSION_REVIEWS}",
                self.max_permission_reviews
            ));
        }
        for (i, request) in self.additional_risky_requests.iter().enumerate() {
            let empty = [("verb", Some(&request.verb)), ("resource", Some(&request.resource))]
                .into_iter()
                .chain([("subresource", request.subresource.as_ref()), ("name", request.name.as_ref())])
                .find(|(_, value)| value.is_some_and(|v| v.is_empty() || v.contains('/')));
            if let Some((field, _)) = empty {
                return Err(format!(
                    "invalid settings: additional_risky_requests[{i}].{field} must be a non-empty word without `/`"
                ));
            }
        }
        Ok(())
    }

    /// The level of a finding about an RBAC risk of this severity, for a rule at `level`.
    pub fn level_for_risk(&self, level: Level, severity: Severity) -> Level {
        if severity >= self.rbac_min_severity_to_deny {
            level
        } else {
            level.min(Level::Warn)
        }
    }

    /// The level of a rule: the setting by id or slug, else the rule's default.
    pub fn level(&self, meta: &crate::meta::RuleMeta) -> Level {
        self.rules.get(meta.id).or_else(|| self.rules.get(meta.slug)).copied().unwrap_or(meta.default_level)
    }

    pub fn is_namespace_exempt(&self, namespace: Option<&str>) -> bool {
        namespace.is_some_and(|ns| self.exempt_namespaces.iter().any(|p| glob_match(p, ns)))
    }

    pub fn is_token_allowed(&self, namespace: Option<&str>, name: &str) -> bool {
        matches_sa_list(&self.allowed_token_service_accounts, namespace, name)
    }

    pub fn is_external_service_account(&self, namespace: Option<&str>, name: &str) -> bool {
        matches_sa_list(&self.external_service_accounts, namespace, name)
    }

    pub fn is_audience_denied(&self, audience: &str) -> bool {
        self.denied_audiences.iter().any(|p| glob_match(p, audience))
    }
}

/// serde's message names a wrong type but not where it is; add the field path (`mutate`,
/// `rules.SAG002`, `exempt_namespaces[1]`). An unknown field's message already names it (and
/// only top-level fields can be unknown: the maps take any key).
fn field_error(error: serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = error.path().to_string();
    let message = error.inner().to_string();
    if path == "." || message.starts_with("unknown field") {
        format!("invalid settings: {message}")
    } else {
        format!("invalid settings: {message} (in `{path}`)")
    }
}

/// `namespace/name` patterns; an object without a namespace matches only `*/name` patterns.
fn matches_sa_list(list: &[String], namespace: Option<&str>, name: &str) -> bool {
    list.iter().any(|entry| {
        let (ns_pattern, name_pattern) = entry.split_once('/').unwrap_or(("*", entry));
        glob_match(ns_pattern, namespace.unwrap_or("")) && glob_match(name_pattern, name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty_or_null() {
        assert_eq!(Settings::from_json("").unwrap(), Settings::default());
        assert_eq!(Settings::from_json("null").unwrap(), Settings::default());
        assert_eq!(Settings::from_json("{}").unwrap(), Settings::default());
    }

    #[test]
    fn unknown_field_is_named() {
        let err = Settings::from_json(r#"{"exempt_namespace": ["kube-system"]}"#).unwrap_err();
        assert!(err.starts_with("invalid settings: unknown field `exempt_namespace`"), "{err}");
    }

    #[test]
    fn wrong_type_is_named() {
        let err = Settings::from_json(r#"{"max_token_expiration_seconds": "an hour"}"#).unwrap_err();
        assert!(err.contains("invalid type: string \"an hour\", expected i64"), "{err}");
    }

    #[test]
    fn type_errors_name_the_field_and_trailing_text_is_refused() {
        let err = Settings::from_json(r#"{"rules": {"SAG002": null}}"#).unwrap_err();
        assert_eq!(
            err,
            "invalid settings: invalid type: null, expected one of `off`, `warn`, `deny` (in `rules.SAG002`)"
        );
        let err = Settings::from_value(serde_json::json!({"exempt_namespaces": ["a", 7]})).unwrap_err();
        assert_eq!(err, "invalid settings: invalid type: integer `7`, expected a string (in `exempt_namespaces[1]`)");
        let err = Settings::from_json(r#"{"mutate": true} {"mutate": false}"#).unwrap_err();
        assert_eq!(err, "invalid settings: trailing characters at line 1 column 18");
        // serde alone would read an array as the fields in order (found by fuzz target `settings`)
        assert_eq!(Settings::from_json("\n[]\n").unwrap_err(), "invalid settings: expected an object, found an array");
        assert_eq!(
            Settings::from_json("[{}, [], true]").unwrap_err(),
            "invalid settings: expected an object, found an array"
        );
        assert_eq!(Settings::from_json("7").unwrap_err(), "invalid settings: expected an object, found a number");
        // ... and validate_settings' trimming of Unicode whitespace (found by the same target)
        assert_eq!(Settings::from_json("\u{b}null"), Ok(Settings::default()));
        assert_eq!(Settings::from_json("\u{3000}{\"mutate\": true}\u{b}").map(|s| s.mutate), Ok(true));
        assert_eq!(
            Settings::from_json("\n\n{]").unwrap_err(),
            "invalid settings: key must be a string at line 3 column 2"
        );
    }

    #[test]
    fn bad_level_and_unknown_rule() {
        let err = Settings::from_json(r#"{"rules": {"SAG001": "loud"}}"#).unwrap_err();
        assert!(err.contains("unknown variant `loud`, expected one of `off`, `warn`, `deny`"), "{err}");
        let err = Settings::from_json(r#"{"rules": {"SAG999": "off"}}"#).unwrap_err();
        assert!(err.starts_with("invalid settings: rules: unknown rule `SAG999`"), "{err}");
        let err = Settings::from_json(r#"{"rules": {"SAG001": true}}"#).unwrap_err();
        assert_eq!(err, "invalid settings: invalid value: boolean `true`, expected one of `off`, `warn`, `deny` (in `rules.SAG001`)");
        let err = Settings::from_json(r#"{"rules": {"SAG001": 2}}"#).unwrap_err();
        assert_eq!(
            err,
            "invalid settings: invalid type: integer `2`, expected one of `off`, `warn`, `deny` (in `rules.SAG001`)"
        );
    }

    #[test]
    fn permission_reviews_are_part_of_context_aware_mode_and_bounded() {
        let err = Settings::from_json(r#"{"review_service_account_permissions": true}"#).unwrap_err();
        assert_eq!(err, "invalid settings: review_service_account_permissions needs context_aware: true");
        let on = r#""review_service_account_permissions": true, "context_aware": true"#;
        assert!(Settings::from_json(&format!("{{{on}}}")).unwrap().review_service_account_permissions);
        for bad in [0, 65] {
            let err = Settings::from_json(&format!(r#"{{"max_permission_reviews": {bad}}}"#)).unwrap_err();
            assert_eq!(err, format!("invalid settings: max_permission_reviews: {bad} is not between 1 and 64"));
        }
        let settings = Settings::from_json(
            r#"{"additional_risky_requests": [{"verb": "delete", "group": "apps", "resource": "deployments"},
                {"verb": "get", "resource": "configmaps", "name": "keys", "namespace": "", "severity": "critical"}]}"#,
        )
        .unwrap();
        assert_eq!(settings.additional_risky_requests[0].severity, Severity::High);
        assert_eq!(settings.additional_risky_requests[0].namespace, None);
        assert_eq!(settings.additional_risky_requests[1].namespace.as_deref(), Some(""));
        let err =
            Settings::from_json(r#"{"additional_risky_requests": [{"verb": "create", "resource": "pods/exec"}]}"#)
                .unwrap_err();
        assert_eq!(err, "invalid settings: additional_risky_requests[0].resource must be a non-empty word without `/`");
        let err = Settings::from_json(r#"{"additional_risky_requests": [{"verb": "create"}]}"#).unwrap_err();
        assert!(err.contains("missing field `resource`") && err.contains("additional_risky_requests[0]"), "{err}");
    }

    #[test]
    fn secret_look_ups_are_part_of_context_aware_mode() {
        let err = Settings::from_json(r#"{"lookup_secrets": true}"#).unwrap_err();
        assert_eq!(err, "invalid settings: lookup_secrets needs context_aware: true");
        assert!(Settings::from_json(r#"{"lookup_secrets": true, "context_aware": true}"#).unwrap().lookup_secrets);
    }

    /// kubectl and Helm read YAML 1.1, where an unquoted `SAG004: off` in a ClusterAdmissionPolicy
    /// becomes `false` before the policy sees it.
    #[test]
    fn false_is_the_level_off() {
        let settings =
            Settings::from_json(r#"{"rules": {"SAG004": false, "SAG006": "off", "SAG002": "warn"}}"#).unwrap();
        assert_eq!(settings.rules["SAG004"], Level::Off);
        assert_eq!(settings.rules["SAG006"], Level::Off);
        assert_eq!(settings.rules["SAG002"], Level::Warn);
    }

    #[test]
    fn expiry_below_kubernetes_minimum() {
        let err = Settings::from_json(r#"{"max_token_expiration_seconds": 300}"#).unwrap_err();
        assert_eq!(err, "invalid settings: max_token_expiration_seconds: 300 is below the Kubernetes minimum of 600");
    }

    #[test]
    fn service_account_lists_need_namespace_and_name() {
        let err = Settings::from_json(r#"{"allowed_token_service_accounts": ["kyverno"]}"#).unwrap_err();
        assert_eq!(
            err,
            "invalid settings: allowed_token_service_accounts: `kyverno` is not of the form namespace/name"
        );
        let s = Settings::from_json(r#"{"allowed_token_service_accounts": ["kyverno/*", "*/argocd-server"]}"#).unwrap();
        assert!(s.is_token_allowed(Some("kyverno"), "kyverno-admission-controller"));
        assert!(s.is_token_allowed(Some("argocd"), "argocd-server"));
        assert!(!s.is_token_allowed(Some("default"), "kyverno"));
    }

    #[test]
    fn levels_by_id_or_slug() {
        let s = Settings::from_json(r#"{"rules": {"default-sa-automount": "warn"}}"#).unwrap();
        let meta = &rules::find("SAG001").unwrap().meta;
        assert_eq!(s.level(meta), Level::Warn);
        assert_eq!(Settings::default().level(meta), meta.default_level);
    }
}
