//! The RBAC model: what a Role or ClusterRole grants, matched the way the RBAC authorizer
//! matches requests ([`rule`]), the built-in ClusterRoles ([`bootstrap`]), the catalog of
//! privilege-escalation risks ([`catalog`]), and bindings resolved to what they grant
//! ([`model`]). Shared by the RBAC rules (SAG008–SAG010), `can-i`, `who-can` and the inventory.

pub mod access;
pub mod bootstrap;
pub mod catalog;
pub mod model;
pub mod review;
pub mod rule;
pub mod shape;

use serde_json::Value;

use crate::bundle::{Bundle, Obj};
use crate::k8s::{self, SaSubject};

/// A field's strings (a selector expression's `values`); anything else reads as none.
fn strings<'a>(value: &'a Value, field: &str) -> Vec<&'a str> {
    value
        .get(field)
        .and_then(Value::as_array)
        .map_or_else(Vec::new, |items| items.iter().filter_map(Value::as_str).collect())
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

/// The bundle's ClusterRoles a `clusterRoleSelectors` entry may select. Every matchLabels entry
/// must hold, so the ClusterRoles carrying the first one are the only candidates (looked up, not
/// scanned: linear for a bundle of many aggregating roles). Without matchLabels every
/// ClusterRole is a candidate.
pub(crate) fn aggregation_candidates<'s, 'a>(
    selector: &'s Value,
    bundle: &'s Bundle<'a>,
) -> Box<dyn Iterator<Item = &'s Obj<'a>> + 's> {
    let first_label = selector.get("matchLabels").and_then(Value::as_object).and_then(|m| m.iter().next());
    match first_label {
        Some((key, value)) => match value.as_str() {
            Some(value) => Box::new(bundle.cluster_roles_labelled(key, value)),
            // a label value is a string: a selector asking for anything else matches nothing
            None => Box::new(std::iter::empty()),
        },
        None => Box::new(bundle.cluster_roles()),
    }
}

/// What the risk catalog says of a binding's role where the binding applies, for the messages
/// of rules that report on who is bound rather than on what is granted (SAG008, SAG010):
/// "; ClusterRole edit carries read-secrets (high), exec (high)", "; Role r carries no
/// privilege-escalation path", or nothing when the role cannot be read.
pub fn risks_clause(cx: &crate::engine::Cx<'_>, binding: &Obj<'_>) -> String {
    let Some((kind, name)) = k8s::role_ref(binding.value) else { return String::new() };
    let Some(reach) = model::Reach::of_binding(binding.kind, binding.namespace) else { return String::new() };
    match cx.resolve_role(binding.namespace, kind, name) {
        model::RoleLookup::Found(role) => match model::summarize(&model::risks(&role, reach)) {
            Some(risks) => format!("; {} carries {risks}", role.describe()),
            None => format!("; {} carries no privilege-escalation path", role.describe()),
        },
        model::RoleLookup::Missing | model::RoleLookup::Failed(_) => String::new(),
    }
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

    /// The ClusterRoles aggregated into `name`, as the model resolves it.
    fn aggregated_names<'a>(bundle: &Bundle<'a>, name: &str) -> Vec<&'a str> {
        let model::RoleLookup::Found(role) =
            model::resolve_role(bundle, None, "ClusterRole", name, &|_, _, _| crate::lookup::Lookup::NotAvailable)
        else {
            panic!("{name} not found")
        };
        role.parts.iter().filter_map(|part| part.aggregated_from).collect()
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
        assert_eq!(aggregated_names(&bundle, "top"), ["middle", "leaf"]);
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
        assert_eq!(aggregated_names(&bundle, "top"), ["a-and-b", "has-c"]);
        // an empty selector selects every ClusterRole but the aggregating one
        let everything = [
            json!({"kind": "ClusterRole", "metadata": {"name": "all"}, "aggregationRule": {"clusterRoleSelectors": [{}]}}),
            objects[1].clone(),
        ];
        let bundle = Bundle::new(&everything, None);
        // ... and every built-in one the bundle does not redefine
        let names = aggregated_names(&bundle, "all");
        assert_eq!(names[0], "only-a");
        assert!(names.contains(&"cluster-admin") && names.contains(&"system:aggregate-to-edit"), "{names:?}");
    }
}
