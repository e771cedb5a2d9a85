//! What a Role or ClusterRole grants, matched the way the RBAC authorizer matches rules, and
//! how bindings are described in messages. Shared by the RBAC rules (SAG008–SAG010).

use std::collections::HashSet;

use serde_json::Value;

use crate::bundle::{Bundle, Obj};
use crate::k8s::{self, SaSubject};

/// The built-in user-facing ClusterRoles that are powerful by design, with what they grant.
/// They exist in every cluster, so a binding to one is judged by name: they are never in the
/// linted files, which is how graph-based checks miss them.
pub fn built_in_powerful_cluster_role(name: &str) -> Option<&'static str> {
    match name {
        "cluster-admin" => Some("every verb on every resource"),
        "admin" => Some(
            "read and write on almost every namespaced object, including Secrets, pods/exec, Roles and RoleBindings, \
             and running Pods as any ServiceAccount of the namespace",
        ),
        "edit" => Some(
            "read and write on most namespaced objects, including Secrets, pods/exec and running Pods as any \
             ServiceAccount of the namespace",
        ),
        _ => None,
    }
}

/// A field's strings. A single string is read as a one-element list: the API server rejects
/// that shape, and reading it generously cannot hide a grant.
fn strings<'a>(rule: &'a Value, field: &str) -> Vec<&'a str> {
    match rule.get(field) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        Some(Value::String(s)) => vec![s.as_str()],
        _ => Vec::new(),
    }
}

/// `a`, `a and b`, `a, b and c`.
fn join_and(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Does a rule's `resources` list match `resource` (maybe with a subresource, `pods/exec`)?
/// Like the authorizer: `*` matches everything, and `*/exec` matches every `exec` subresource.
fn resource_matches(resources: &[&str], resource: &str) -> bool {
    let subresource = resource.split_once('/').map(|(_, sub)| sub);
    resources
        .iter()
        .any(|&r| r == "*" || r == resource || subresource.is_some_and(|sub| r.strip_prefix("*/") == Some(sub)))
}

/// Accesses to core-group resources that hand over other identities or the whole namespace.
const SENSITIVE_ACCESS: &[(&str, &[&str])] = &[
    // reading a Secret reads any token or credential stored in it
    ("secrets", &["get", "list", "watch"]),
    // a new Pod can run as any ServiceAccount of the namespace and mount its token
    ("pods", &["create"]),
    // a shell or an attached terminal in a running Pod is that Pod's identity
    ("pods/exec", &["create", "get"]),
    ("pods/attach", &["create", "get"]),
    // TokenRequest: a fresh token for any ServiceAccount of the namespace
    ("serviceaccounts/token", &["create"]),
];

/// Verbs that raise privileges whatever the resource: granting roles one does not hold,
/// editing roles beyond one's own, acting as another user or ServiceAccount.
const ESCALATION_VERBS: &[&str] = &["bind", "escalate", "impersonate"];

/// What one PolicyRule grants that makes a role powerful, each as "<verbs> on <resource>" or
/// "* in <fields>". Empty when the rule is harmless by these measures.
pub fn dangerous_grants(rule: &Value) -> Vec<String> {
    let api_groups = strings(rule, "apiGroups");
    let resources = strings(rule, "resources");
    let verbs = strings(rule, "verbs");
    let mut grants = Vec::new();

    let wildcard_fields: Vec<&str> = [("apiGroups", &api_groups), ("resources", &resources), ("verbs", &verbs)]
        .into_iter()
        .filter(|(_, values)| values.contains(&"*"))
        .map(|(field, _)| field)
        .collect();
    if !wildcard_fields.is_empty() {
        grants.push(format!("* in {}", join_and(&wildcard_fields)));
    }

    // With `*` in resources the wildcard already says everything; listing each sensitive
    // resource again would only repeat it.
    // Secrets, pods and serviceaccounts live in the core group (""); a missing apiGroups is
    // rejected by the API server, and is read as "any group" so it cannot hide a grant.
    let core_group = api_groups.is_empty() || api_groups.iter().any(|&g| g.is_empty() || g == "*");
    if core_group && !resources.contains(&"*") {
        for (resource, risky_verbs) in SENSITIVE_ACCESS {
            if !resource_matches(&resources, resource) {
                continue;
            }
            let mut granted: Vec<&str> = Vec::new();
            for &verb in &verbs {
                if (verb == "*" || risky_verbs.contains(&verb)) && !granted.contains(&verb) {
                    granted.push(verb);
                }
            }
            if !granted.is_empty() {
                grants.push(format!("{} on {resource}", granted.join(", ")));
            }
        }
    }

    let mut escalation: Vec<&str> = Vec::new();
    for &verb in &verbs {
        if ESCALATION_VERBS.contains(&verb) && !escalation.contains(&verb) {
            escalation.push(verb);
        }
    }
    // a rule without resources (nonResourceURLs only) cannot bind, escalate or impersonate
    if !escalation.is_empty() && !resources.is_empty() {
        grants.push(format!("{} on {}", escalation.join(", "), resources.join(", ")));
    }
    grants
}

/// Every rule of a role (all positions, not only `rules[0]`) that grants something dangerous,
/// as "rules[i] grants ...".
pub fn role_grants(role: &Value) -> Vec<String> {
    let Some(rules) = role.get("rules").and_then(Value::as_array) else { return Vec::new() };
    rules
        .iter()
        .enumerate()
        .filter_map(|(index, rule)| {
            let grants = dangerous_grants(rule);
            (!grants.is_empty()).then(|| format!("rules[{index}] grants {}", grants.join(", ")))
        })
        .collect()
}

/// A label selector (`matchLabels` and `matchExpressions`) against an object's labels. An empty
/// selector matches everything, as in Kubernetes.
pub fn selector_matches(selector: &Value, labels: Option<&serde_json::Map<String, Value>>) -> bool {
    let label = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
    let match_labels_hold = selector
        .get("matchLabels")
        .and_then(Value::as_object)
        .is_none_or(|wanted| wanted.iter().all(|(k, v)| label(k).is_some() && label(k) == v.as_str()));
    let expressions_hold = selector.get("matchExpressions").and_then(Value::as_array).is_none_or(|exprs| {
        exprs.iter().all(|expr| {
            let key = expr.get("key").and_then(Value::as_str).unwrap_or("");
            let values = strings(expr, "values");
            match expr.get("operator").and_then(Value::as_str) {
                Some("In") => label(key).is_some_and(|v| values.contains(&v)),
                Some("NotIn") => label(key).is_none_or(|v| !values.contains(&v)),
                Some("Exists") => label(key).is_some(),
                Some("DoesNotExist") => label(key).is_none(),
                // an unknown operator is invalid; the API server rejects the role
                _ => false,
            }
        })
    });
    match_labels_hold && expressions_hold
}

/// ClusterRoles of the bundle whose rules the aggregation controller copies into `role`
/// (through `aggregationRule.clusterRoleSelectors`, transitively). In a manifest, an
/// aggregated ClusterRole shows no rules of its own; in a cluster the controller has already
/// filled them in, so this matters in manifest mode only.
pub fn aggregated_cluster_roles<'a>(role: &Value, bundle: &Bundle<'a>) -> Vec<Obj<'a>> {
    let mut seen: HashSet<usize> = HashSet::new();
    let mut pending: Vec<&Value> = vec![role];
    while let Some(aggregating) = pending.pop() {
        let Some(selectors) =
            k8s::at(aggregating, &["aggregationRule", "clusterRoleSelectors"]).and_then(Value::as_array)
        else {
            continue;
        };
        for selector in selectors {
            // Every matchLabels entry must hold, so the ClusterRoles carrying the first one are
            // the only candidates (looked up, not scanned: linear for a bundle of many
            // aggregating roles). Without matchLabels every ClusterRole is a candidate.
            let first_label = selector.get("matchLabels").and_then(Value::as_object).and_then(|m| m.iter().next());
            let candidates: Box<dyn Iterator<Item = &Obj<'a>> + '_> = match first_label {
                Some((key, value)) => match value.as_str() {
                    Some(value) => Box::new(bundle.cluster_roles_labelled(key, value)),
                    // a label value is a string: a selector asking for anything else matches nothing
                    None => Box::new(std::iter::empty()),
                },
                None => Box::new(bundle.cluster_roles()),
            };
            for candidate in candidates {
                if std::ptr::eq(candidate.value, role) || seen.contains(&candidate.index) {
                    continue;
                }
                let labels = k8s::at(candidate.value, &["metadata", "labels"]).and_then(Value::as_object);
                if selector_matches(selector, labels) {
                    seen.insert(candidate.index);
                    pending.push(candidate.value);
                }
            }
        }
    }
    // In the bundle's order; each object was found once (`seen`).
    let mut indices: Vec<usize> = seen.into_iter().collect();
    indices.sort_unstable();
    indices.into_iter().map(|index| bundle.objects[index]).collect()
}

/// "ServiceAccount ns/name", with the User spelling when the binding used it.
pub fn describe_subject(subject: &SaSubject<'_>) -> String {
    let account = match subject.namespace {
        Some(ns) => format!("ServiceAccount {ns}/{}", subject.name),
        None => format!("ServiceAccount {}", subject.name),
    };
    if subject.as_user {
        format!(
            "{account} (written as User system:serviceaccount:{}:{})",
            subject.namespace.unwrap_or_default(),
            subject.name
        )
    } else {
        account
    }
}

/// "Role name" / "ClusterRole name", or a placeholder for a binding without a usable roleRef.
pub fn describe_role_ref(binding: &Value) -> String {
    match k8s::role_ref(binding) {
        Some((kind, name)) => format!("{kind} {name}"),
        None => "a role (roleRef is missing or incomplete)".to_string(),
    }
}

/// Where a binding's permissions apply: "across the cluster" for a ClusterRoleBinding,
/// "in namespace ns" for a RoleBinding.
pub fn binding_scope(binding: &Obj<'_>) -> String {
    match (binding.kind, binding.namespace) {
        ("ClusterRoleBinding", _) => "across the cluster".to_string(),
        (_, Some(ns)) => format!("in namespace {ns}"),
        (_, None) => "in the binding's namespace".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn grants(rule: Value) -> Vec<String> {
        dangerous_grants(&rule)
    }

    #[test]
    fn read_only_configmaps_is_harmless() {
        assert!(grants(json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}))
            .is_empty());
    }

    #[test]
    fn wildcards_are_named_per_field() {
        assert_eq!(
            grants(json!({"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]})),
            ["* in apiGroups, resources and verbs"]
        );
        assert_eq!(
            grants(json!({"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]})),
            ["* in verbs"]
        );
        assert_eq!(
            grants(json!({"apiGroups": ["*"], "resources": ["configmaps"], "verbs": ["get"]})),
            ["* in apiGroups"]
        );
    }

    #[test]
    fn verb_wildcard_on_a_sensitive_resource_names_both() {
        assert_eq!(
            grants(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["*"]})),
            ["* in verbs", "* on secrets"]
        );
    }

    #[test]
    fn sensitive_core_resources() {
        assert_eq!(
            grants(json!({"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["list", "update"]})),
            ["list on secrets"]
        );
        assert_eq!(
            grants(json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "create"]})),
            ["create on pods"]
        );
        assert_eq!(
            grants(json!({"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["get"]})),
            ["get on pods/exec"]
        );
        assert_eq!(
            grants(json!({"apiGroups": [""], "resources": ["*/attach"], "verbs": ["create"]})),
            ["create on pods/attach"]
        );
        assert_eq!(
            grants(json!({"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]})),
            ["create on serviceaccounts/token"]
        );
        // `pods` does not include its subresources
        assert!(grants(json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]})).is_empty());
        // same names in another API group are other resources
        assert!(grants(json!({"apiGroups": ["example.com"], "resources": ["secrets"], "verbs": ["get"]})).is_empty());
    }

    #[test]
    fn escalation_verbs_whatever_the_resource() {
        assert_eq!(
            grants(
                json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"], "verbs": ["bind", "escalate"]})
            ),
            ["bind, escalate on clusterroles"]
        );
        assert_eq!(
            grants(json!({"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": ["impersonate"]})),
            ["impersonate on serviceaccounts"]
        );
    }

    #[test]
    fn every_rule_position_counts() {
        let role = json!({"rules": [
            {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
            {"apiGroups": [""], "resources": ["services"], "verbs": ["list"]},
            {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
        ]});
        assert_eq!(role_grants(&role), ["rules[2] grants create on pods/exec"]);
        assert!(role_grants(&json!({"rules": "nonsense"})).is_empty());
    }

    #[test]
    fn selectors() {
        let labels = json!({"team": "ci", "tier": "x"});
        let labels = labels.as_object();
        assert!(selector_matches(&json!({"matchLabels": {"team": "ci"}}), labels));
        assert!(!selector_matches(&json!({"matchLabels": {"team": "web"}}), labels));
        assert!(selector_matches(
            &json!({"matchExpressions": [{"key": "team", "operator": "In", "values": ["ci"]}]}),
            labels
        ));
        assert!(selector_matches(&json!({"matchExpressions": [{"key": "gone", "operator": "DoesNotExist"}]}), labels));
        assert!(!selector_matches(
            &json!({"matchExpressions": [{"key": "team", "operator": "NotIn", "values": ["ci"]}]}),
            labels
        ));
        assert!(selector_matches(&json!({}), None));
    }

    #[test]
    fn aggregation_is_followed_transitively_within_the_bundle() {
        let objects = [
            json!({"kind": "ClusterRole", "metadata": {"name": "top"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "top"}}]}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "middle", "labels": {"agg": "top"}},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"agg": "middle"}}]}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "leaf", "labels": {"agg": "middle"}}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "other", "labels": {"agg": "else"}}}),
        ];
        let bundle = Bundle::new(&objects, None);
        let names: Vec<&str> = aggregated_cluster_roles(&objects[0], &bundle).iter().map(|o| o.name).collect();
        assert_eq!(names, ["middle", "leaf"]);
    }

    #[test]
    fn aggregation_selectors_of_every_shape() {
        let objects = [
            json!({"kind": "ClusterRole", "metadata": {"name": "top"}, "aggregationRule": {"clusterRoleSelectors": [
                {"matchLabels": {"a": "1", "b": "2"}},
                {"matchExpressions": [{"key": "c", "operator": "Exists"}]},
                {"matchLabels": {"n": 1}},
            ]}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "only-a", "labels": {"a": "1"}}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "a-and-b", "labels": {"b": "2", "a": "1"}}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "has-c", "labels": {"c": ""}}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "numeric", "labels": {"n": "1"}}}),
            json!({"kind": "Role", "metadata": {"name": "not-a-cluster-role", "labels": {"a": "1", "b": "2"}}}),
        ];
        let bundle = Bundle::new(&objects, None);
        let names: Vec<&str> = aggregated_cluster_roles(&objects[0], &bundle).iter().map(|o| o.name).collect();
        assert_eq!(names, ["a-and-b", "has-c"]);
        // an empty selector selects every ClusterRole but the aggregating one
        let everything = [
            json!({"kind": "ClusterRole", "metadata": {"name": "all"}, "aggregationRule": {"clusterRoleSelectors": [{}]}}),
            objects[1].clone(),
        ];
        let bundle = Bundle::new(&everything, None);
        let names: Vec<&str> = aggregated_cluster_roles(&everything[0], &bundle).iter().map(|o| o.name).collect();
        assert_eq!(names, ["only-a"]);
    }
}
