//! RBAC objects the API server's validation refuses (`pkg/apis/rbac/validation`): rules whose
//! fields are not lists of strings, a ClusterRoleBinding naming a Role, a ServiceAccount subject
//! of a ClusterRoleBinding without a namespace. The CLI and the playground report them as
//! SAG009 findings at the place they are; admission rejects the request with code 400.

use serde_json::Value;

use super::rule::PolicyRule;
use crate::k8s;
use crate::k8s::json_type;

/// What is wrong, and where (a JSON pointer into the object).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub pointer: String,
    pub message: String,
}

/// Every problem of a Role, ClusterRole, RoleBinding or ClusterRoleBinding; none for other kinds.
pub fn problems(object: &Value) -> Vec<Problem> {
    match k8s::kind(object) {
        kind @ ("Role" | "ClusterRole") => role_problems(object, kind == "Role"),
        kind @ ("RoleBinding" | "ClusterRoleBinding") => binding_problems(object, kind == "ClusterRoleBinding"),
        _ => Vec::new(),
    }
}

fn problem(pointer: String, message: String) -> Problem {
    Problem { pointer, message }
}

fn role_problems(role: &Value, namespaced: bool) -> Vec<Problem> {
    let rules = match role.get("rules") {
        None | Some(Value::Null) => return Vec::new(),
        Some(Value::Array(rules)) => rules,
        Some(other) => {
            return vec![problem("/rules".into(), format!("rules must be a list, found {}", json_type(other)))]
        }
    };
    let mut out = Vec::new();
    for (i, value) in rules.iter().enumerate() {
        let rule = match PolicyRule::read(value) {
            Ok(rule) => rule,
            Err((shape, _)) => {
                out.extend(
                    shape
                        .into_iter()
                        .map(|p| problem(format!("/rules/{i}{}", p.pointer), format!("rules[{i}]: {}", p.message))),
                );
                continue;
            }
        };
        let at = |field: &str| format!("/rules/{i}/{field}");
        if rule.verbs.is_empty() {
            out.push(problem(at("verbs"), format!("rules[{i}].verbs is required")));
        }
        if !rule.non_resource_urls.is_empty() {
            if namespaced {
                out.push(problem(
                    at("nonResourceURLs"),
                    format!("rules[{i}]: a Role cannot grant nonResourceURLs (only a ClusterRole can)"),
                ));
            }
            if !rule.api_groups.is_empty() || !rule.resources.is_empty() {
                out.push(problem(
                    at("nonResourceURLs"),
                    format!("rules[{i}] cannot grant both resources and nonResourceURLs"),
                ));
            }
        } else {
            if value.get("apiGroups").is_none_or(Value::is_null) {
                out.push(problem(
                    at("apiGroups"),
                    format!("rules[{i}].apiGroups is required (\"\" is the core group)"),
                ));
            }
            if rule.resources.is_empty() {
                out.push(problem(at("resources"), format!("rules[{i}].resources is required")));
            }
        }
    }
    out
}

fn binding_problems(binding: &Value, cluster_wide: bool) -> Vec<Problem> {
    let mut out = Vec::new();
    match binding.get("roleRef") {
        Some(Value::Object(role_ref)) => {
            let kind = role_ref.get("kind").and_then(Value::as_str);
            match kind {
                Some("ClusterRole") => {}
                Some("Role") if !cluster_wide => {}
                Some("Role") => out.push(problem(
                    "/roleRef/kind".into(),
                    "a ClusterRoleBinding can only reference a ClusterRole, not a Role".into(),
                )),
                Some(other) => out.push(problem(
                    "/roleRef/kind".into(),
                    format!("roleRef.kind must be Role or ClusterRole, found \"{other}\""),
                )),
                None => out.push(problem("/roleRef/kind".into(), "roleRef.kind is required".into())),
            }
            if role_ref.get("name").and_then(Value::as_str).is_none_or(str::is_empty) {
                out.push(problem("/roleRef/name".into(), "roleRef.name is required".into()));
            }
        }
        Some(other) => {
            out.push(problem("/roleRef".into(), format!("roleRef must be an object, found {}", json_type(other))))
        }
        None => out.push(problem("/roleRef".into(), "roleRef is required".into())),
    }
    let subjects = match binding.get("subjects") {
        None | Some(Value::Null) => return out,
        Some(Value::Array(subjects)) => subjects,
        Some(other) => {
            out.push(problem("/subjects".into(), format!("subjects must be a list, found {}", json_type(other))));
            return out;
        }
    };
    for (i, subject) in subjects.iter().enumerate() {
        let at = |field: &str| format!("/subjects/{i}/{field}");
        let Value::Object(fields) = subject else {
            out.push(problem(
                format!("/subjects/{i}"),
                format!("subjects[{i}] must be an object, found {}", json_type(subject)),
            ));
            continue;
        };
        let text = |field: &str| fields.get(field).and_then(Value::as_str).unwrap_or("");
        if text("name").is_empty() {
            out.push(problem(at("name"), format!("subjects[{i}].name is required")));
        }
        match text("kind") {
            "ServiceAccount" if cluster_wide && text("namespace").is_empty() => out.push(problem(
                at("namespace"),
                format!("subjects[{i}]: a ServiceAccount subject of a ClusterRoleBinding needs a namespace"),
            )),
            "ServiceAccount" | "User" | "Group" => {}
            "" => out.push(problem(at("kind"), format!("subjects[{i}].kind is required"))),
            other => out.push(problem(
                at("kind"),
                format!("subjects[{i}].kind must be ServiceAccount, User or Group, found \"{other}\""),
            )),
        }
    }
    out
}

/// "ClusterRoleBinding x: a ClusterRoleBinding can only reference ...; ..." for a rejection.
pub fn describe(object: &Value, problems: &[Problem]) -> String {
    let list: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
    format!(
        "{} is not valid RBAC and the API server would reject it: {}",
        k8s::object_ref(object, k8s::namespace(object)),
        list.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn messages(object: Value) -> Vec<(String, String)> {
        problems(&object).into_iter().map(|p| (p.pointer, p.message)).collect()
    }

    #[test]
    fn well_formed_objects_have_no_problems() {
        assert!(messages(
            json!({"kind": "Role", "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]})
        )
        .is_empty());
        assert!(messages(
            json!({"kind": "ClusterRole", "rules": [{"nonResourceURLs": ["/metrics"], "verbs": ["get"]}]})
        )
        .is_empty());
        assert!(messages(json!({"kind": "ClusterRole", "aggregationRule": {}, "rules": null})).is_empty());
        assert!(messages(json!({"kind": "RoleBinding", "roleRef": {"kind": "Role", "name": "r"},
            "subjects": [{"kind": "ServiceAccount", "name": "a"}]}))
        .is_empty());
        assert!(messages(json!({"kind": "Deployment", "rules": "whatever"})).is_empty());
    }

    #[test]
    fn role_problems_name_the_field() {
        assert_eq!(
            messages(json!({"kind": "Role", "rules": [
                {"apiGroups": [""], "resources": "secrets", "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["pods"], "verbs": []},
                {"nonResourceURLs": ["/healthz"], "verbs": ["get"]},
                {"resources": ["pods"], "verbs": ["get"]},
            ]})),
            [
                (
                    "/rules/0/resources".to_string(),
                    "rules[0]: resources must be a list of strings, found the string \"secrets\"".to_string()
                ),
                ("/rules/1/verbs".to_string(), "rules[1].verbs is required".to_string()),
                (
                    "/rules/2/nonResourceURLs".to_string(),
                    "rules[2]: a Role cannot grant nonResourceURLs (only a ClusterRole can)".to_string()
                ),
                (
                    "/rules/3/apiGroups".to_string(),
                    "rules[3].apiGroups is required (\"\" is the core group)".to_string()
                ),
            ]
        );
        assert_eq!(
            messages(json!({"kind": "ClusterRole", "rules": {"verbs": ["*"]}})),
            [("/rules".to_string(), "rules must be a list, found an object".to_string())]
        );
    }

    #[test]
    fn binding_problems_name_the_field() {
        assert_eq!(
            messages(json!({"kind": "ClusterRoleBinding", "roleRef": {"kind": "Role", "name": "r"},
                "subjects": [{"kind": "ServiceAccount", "name": "a"}, {"kind": "Robot", "name": "b"}, "c"]})),
            [
                (
                    "/roleRef/kind".to_string(),
                    "a ClusterRoleBinding can only reference a ClusterRole, not a Role".to_string()
                ),
                (
                    "/subjects/0/namespace".to_string(),
                    "subjects[0]: a ServiceAccount subject of a ClusterRoleBinding needs a namespace".to_string()
                ),
                (
                    "/subjects/1/kind".to_string(),
                    "subjects[1].kind must be ServiceAccount, User or Group, found \"Robot\"".to_string()
                ),
                ("/subjects/2".to_string(), "subjects[2] must be an object, found a string".to_string()),
            ]
        );
        assert_eq!(
            messages(json!({"kind": "RoleBinding"})),
            [("/roleRef".to_string(), "roleRef is required".to_string())]
        );
    }
}
