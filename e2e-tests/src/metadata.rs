//! `policy-metadata.yml`: which requests the webhook receives (`rules`), whether it may mutate,
//! and which resources the policy may look up (`contextAwareResources`). kwctl reads the same
//! data from the annotated module's `io.kubewarden.metadata` section.

use std::path::Path;

use serde_json::Value;

use crate::yaml::{self, Schema};

/// One `rules` entry, as in a webhook configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub api_groups: Vec<String>,
    pub api_versions: Vec<String>,
    pub resources: Vec<String>,
    pub operations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub rules: Vec<Rule>,
    pub mutating: bool,
    /// `(apiVersion, kind)` pairs.
    pub context_aware_resources: Vec<(String, String)>,
}

impl Metadata {
    pub fn parse(text: &str) -> Result<Metadata, String> {
        let docs = yaml::documents(text, Schema::Core)?;
        let [doc] = docs.as_slice() else { return Err("expected one YAML document".into()) };
        Metadata::from_value(&doc.value)
    }

    pub fn load(path: &Path) -> Result<Metadata, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Metadata::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    pub fn from_value(value: &Value) -> Result<Metadata, String> {
        let strings = |v: &Value, field: &str| -> Result<Vec<String>, String> {
            match v.get(field) {
                None | Some(Value::Null) => Ok(Vec::new()),
                Some(Value::Array(items)) => items
                    .iter()
                    .map(|i| i.as_str().map(String::from).ok_or_else(|| format!("`{field}` must list strings")))
                    .collect(),
                Some(_) => Err(format!("`{field}` must be a list")),
            }
        };
        let rules = match value.get("rules") {
            Some(Value::Array(rules)) => rules
                .iter()
                .map(|r| {
                    Ok(Rule {
                        api_groups: strings(r, "apiGroups")?,
                        api_versions: strings(r, "apiVersions")?,
                        resources: strings(r, "resources")?,
                        operations: strings(r, "operations")?,
                    })
                })
                .collect::<Result<Vec<_>, String>>()?,
            _ => return Err("`rules` must be a list".into()),
        };
        let context_aware_resources = match value.get("contextAwareResources") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|i| {
                    let field = |name: &str| i.get(name).and_then(Value::as_str).map(String::from);
                    field("apiVersion")
                        .zip(field("kind"))
                        .ok_or_else(|| "`contextAwareResources` entries need apiVersion and kind".to_string())
                })
                .collect::<Result<Vec<_>, String>>()?,
            Some(_) => return Err("`contextAwareResources` must be a list".into()),
        };
        let mutating = value.get("mutating").and_then(Value::as_bool).unwrap_or(false);
        Ok(Metadata { rules, mutating, context_aware_resources })
    }

    /// Would the API server send this request to the policy? `resource` may carry a
    /// subresource (`pods/ephemeralcontainers`).
    pub fn matches(&self, group: &str, version: &str, resource: &str, operation: &str) -> bool {
        self.rules.iter().any(|r| {
            let any = |list: &[String], value: &str| list.iter().any(|x| x == "*" || x == value);
            any(&r.api_groups, group)
                && any(&r.api_versions, version)
                && r.operations.iter().any(|o| o == "*" || o.eq_ignore_ascii_case(operation))
                && r.resources.iter().any(|pattern| resource_matches(pattern, resource))
        })
    }

    /// The rules as `(group, version, resource)` triples, wildcards left as written.
    pub fn resources(&self) -> Vec<(String, String, String)> {
        let mut out = Vec::new();
        for r in &self.rules {
            for g in &r.api_groups {
                for v in &r.api_versions {
                    for res in &r.resources {
                        out.push((g.clone(), v.clone(), res.clone()));
                    }
                }
            }
        }
        out
    }

    pub fn may_look_up(&self, api_version: &str, kind: &str) -> bool {
        self.context_aware_resources.iter().any(|(v, k)| v == api_version && k == kind)
    }
}

/// Webhook resource patterns: `pods`, `pods/status`, `*`, `*/status`, `pods/*`, `*/*`.
fn resource_matches(pattern: &str, resource: &str) -> bool {
    let (p_res, p_sub) = pattern.split_once('/').map_or((pattern, None), |(r, s)| (r, Some(s)));
    let (res, sub) = resource.split_once('/').map_or((resource, None), |(r, s)| (r, Some(s)));
    let res_ok = p_res == "*" || p_res == res;
    let sub_ok = match (p_sub, sub) {
        (None, None) => true,
        (Some("*"), Some(_)) => true,
        (Some(p), Some(s)) => p == s,
        _ => false,
    };
    res_ok && sub_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    const METADATA: &str = r#"
rules:
- apiGroups: [""]
  apiVersions: ["v1"]
  resources: ["pods", "pods/ephemeralcontainers", "serviceaccounts"]
  operations: ["CREATE", "UPDATE"]
- apiGroups: ["apps"]
  apiVersions: ["v1"]
  resources: ["deployments"]
  operations: ["*"]
mutating: true
contextAwareResources:
- apiVersion: v1
  kind: ServiceAccount
"#;

    #[test]
    fn requests_match_rules_like_the_api_server() {
        let m = Metadata::parse(METADATA).unwrap();
        assert!(m.mutating);
        assert!(m.matches("", "v1", "pods", "CREATE"));
        assert!(m.matches("", "v1", "pods/ephemeralcontainers", "UPDATE"));
        assert!(!m.matches("", "v1", "pods/status", "UPDATE"));
        assert!(!m.matches("", "v1", "pods", "DELETE"));
        assert!(m.matches("apps", "v1", "deployments", "DELETE"));
        assert!(!m.matches("apps", "v1", "statefulsets", "CREATE"));
        assert!(m.may_look_up("v1", "ServiceAccount"));
        assert!(!m.may_look_up("rbac.authorization.k8s.io/v1", "Role"));
    }

    #[test]
    fn resource_patterns() {
        assert!(resource_matches("*", "pods"));
        assert!(!resource_matches("*", "pods/status"));
        assert!(resource_matches("*/*", "pods/status"));
        assert!(resource_matches("*/status", "deployments/status"));
        assert!(resource_matches("pods/*", "pods/exec"));
        assert!(!resource_matches("pods/*", "pods"));
    }
}
