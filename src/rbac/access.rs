//! `kubectl auth can-i --as` and its reverse, answered from a bundle of manifests: which
//! bindings, roles and rules grant an identity a request, and which subjects a request is
//! granted to. The same model as the rules ([`super::model`]): built-in ClusterRoles by the
//! bootstrap policy, aggregated ClusterRoles, RoleBindings limited to their namespace.

use serde_json::Value;

use super::model::{self, Reach, RoleLookup};
use super::rule::ResourceRequest;
use crate::bundle::{Bundle, Obj};
use crate::k8s;
use crate::lookup::Lookup;

/// Every authenticated identity is in this group.
pub const AUTHENTICATED: &str = "system:authenticated";

/// Who asks: a user name and its groups, as the authenticator would hand them over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
    /// `(namespace, name)` when the user is a ServiceAccount.
    pub service_account: Option<(String, String)>,
}

impl Identity {
    /// `system:serviceaccount:<ns>:<name>` (with the groups Kubernetes gives every
    /// ServiceAccount) or any other user name, plus `extra_groups` (`--as-group`).
    pub fn parse(user: &str, extra_groups: &[String]) -> Result<Identity, String> {
        if user.is_empty() {
            return Err("--as needs a user name, e.g. system:serviceaccount:production:order-api-sa".into());
        }
        let mut groups = Vec::new();
        let service_account = match user.strip_prefix("system:serviceaccount:") {
            Some(rest) => {
                let (namespace, name) = rest
                    .split_once(':')
                    .filter(|(ns, name)| !ns.is_empty() && !name.is_empty() && !name.contains(':'))
                    .ok_or_else(|| {
                        format!("--as {user}: a ServiceAccount is written system:serviceaccount:<namespace>:<name>")
                    })?;
                groups.push("system:serviceaccounts".to_string());
                groups.push(format!("system:serviceaccounts:{namespace}"));
                Some((namespace.to_string(), name.to_string()))
            }
            None => None,
        };
        groups.push(AUTHENTICATED.to_string());
        for group in extra_groups {
            if !groups.contains(group) {
                groups.push(group.clone());
            }
        }
        Ok(Identity { user: user.to_string(), groups, service_account })
    }

    /// Whether a binding's subject names this identity (a ServiceAccount subject without a
    /// namespace is the binding's).
    pub fn is_named_by(&self, subject: &Value, binding_namespace: Option<&str>) -> bool {
        let field = |name: &str| subject.get(name).and_then(Value::as_str).unwrap_or("");
        match field("kind") {
            "ServiceAccount" => self.service_account.as_ref().is_some_and(|(ns, name)| {
                let subject_ns = Some(field("namespace")).filter(|n| !n.is_empty()).or(binding_namespace);
                field("name") == name && subject_ns == Some(ns.as_str())
            }),
            "User" => field("name") == self.user,
            "Group" => self.groups.iter().any(|g| g == field("name")),
            _ => false,
        }
    }
}

/// A rule that grants the request, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantingRule {
    /// The aggregated ClusterRole it comes from, if not the role's own.
    pub aggregated_from: Option<String>,
    /// The object it is written in, when that is one of the bundle's.
    pub object_index: Option<usize>,
    pub index: usize,
}

/// One binding that grants the request: which of its subjects, through which role and rules.
#[derive(Debug, Clone)]
pub struct Grant<'a> {
    pub binding: &'a Obj<'a>,
    pub subject_index: usize,
    pub subject: &'a Value,
    pub role: String,
    pub role_built_in: bool,
    /// The role object's index in the bundle (`None` for a built-in role).
    pub role_index: Option<usize>,
    pub rules: Vec<GrantingRule>,
}

/// Every binding of the bundle that grants `request` in `namespace` (`None` for a
/// cluster-scoped request), with the subjects `named` accepts.
fn grants<'a>(
    bundle: &'a Bundle<'a>,
    request: &ResourceRequest<'_>,
    namespace: Option<&str>,
    named: &dyn Fn(&Value, Option<&str>) -> bool,
) -> Vec<Grant<'a>> {
    let mut out = Vec::new();
    for binding in bundle.subjects().filter(|o| k8s::is_binding(o.kind)) {
        let Some(subjects) = binding.value.get("subjects").and_then(Value::as_array) else { continue };
        let matching: Vec<(usize, &Value)> =
            subjects.iter().enumerate().filter(|(_, s)| named(s, binding.namespace)).collect();
        if matching.is_empty() {
            continue;
        }
        let Some((kind, name)) = k8s::role_ref(binding.value) else { continue };
        let Some(reach) = Reach::of_binding(binding.kind, binding.namespace) else { continue };
        if kind == "Role" && reach == Reach::Cluster {
            // the API server refuses it; it grants nothing
            continue;
        }
        let RoleLookup::Found(role) =
            model::resolve_role(bundle, binding.namespace, kind, name, &|_, _, _| Lookup::NotAvailable)
        else {
            continue;
        };
        let rules: Vec<GrantingRule> = model::rules_granting(&role, reach, request, namespace)
            .into_iter()
            .map(|place| GrantingRule {
                aggregated_from: place.aggregated_from.map(String::from),
                object_index: place.object_index,
                index: place.index,
            })
            .collect();
        if rules.is_empty() {
            continue;
        }
        for (subject_index, subject) in matching {
            out.push(Grant {
                binding,
                subject_index,
                subject,
                role: role.describe(),
                role_built_in: role.built_in,
                role_index: role.parts[0].object_index,
                rules: rules.clone(),
            });
        }
    }
    out
}

/// The bindings that let `identity` make `request` in `namespace`; empty means no.
pub fn can_i<'a>(
    bundle: &'a Bundle<'a>,
    identity: &Identity,
    request: &ResourceRequest<'_>,
    namespace: Option<&str>,
) -> Vec<Grant<'a>> {
    grants(bundle, request, namespace, &|subject, binding_ns| identity.is_named_by(subject, binding_ns))
}

/// Every subject that may make `request` in `namespace`: ServiceAccounts first, then groups,
/// then users, each in the bundle's order.
pub fn who_can<'a>(bundle: &'a Bundle<'a>, request: &ResourceRequest<'_>, namespace: Option<&str>) -> Vec<Grant<'a>> {
    let mut all = grants(bundle, request, namespace, &|_, _| true);
    let rank = |grant: &Grant<'_>| match grant.subject.get("kind").and_then(Value::as_str) {
        Some("ServiceAccount") => 0,
        Some("User")
            if grant
                .subject
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("system:serviceaccount:")) =>
        {
            0
        }
        Some("Group") => 1,
        _ => 2,
    };
    all.sort_by_key(|grant| rank(grant));
    all
}

/// "ServiceAccount production/order-api-sa", "Group system:authenticated", "User alice".
pub fn describe_subject(subject: &Value, binding_namespace: Option<&str>) -> String {
    let field = |name: &str| subject.get(name).and_then(Value::as_str).unwrap_or("");
    match field("kind") {
        "ServiceAccount" => {
            let ns = Some(field("namespace")).filter(|n| !n.is_empty()).or(binding_namespace).unwrap_or("");
            format!("ServiceAccount {ns}/{}", field("name"))
        }
        kind => format!("{kind} {}", field("name")),
    }
}

/// API groups and scopes of the resources people ask about, for requests written without a
/// group (`deployments` for `deployments.apps`), as kubectl finds them through discovery.
const KNOWN_RESOURCES: &[(&str, &str, bool)] = &[
    // (resource, API group, namespaced)
    ("pods", "", true),
    ("secrets", "", true),
    ("configmaps", "", true),
    ("serviceaccounts", "", true),
    ("services", "", true),
    ("endpoints", "", true),
    ("events", "", true),
    ("persistentvolumeclaims", "", true),
    ("replicationcontrollers", "", true),
    ("limitranges", "", true),
    ("resourcequotas", "", true),
    ("podtemplates", "", true),
    ("nodes", "", false),
    ("namespaces", "", false),
    ("persistentvolumes", "", false),
    ("users", "", false),
    ("groups", "", false),
    ("deployments", "apps", true),
    ("daemonsets", "apps", true),
    ("statefulsets", "apps", true),
    ("replicasets", "apps", true),
    ("controllerrevisions", "apps", true),
    ("jobs", "batch", true),
    ("cronjobs", "batch", true),
    ("roles", "rbac.authorization.k8s.io", true),
    ("rolebindings", "rbac.authorization.k8s.io", true),
    ("clusterroles", "rbac.authorization.k8s.io", false),
    ("clusterrolebindings", "rbac.authorization.k8s.io", false),
    ("certificatesigningrequests", "certificates.k8s.io", false),
    ("signers", "certificates.k8s.io", false),
    ("mutatingwebhookconfigurations", "admissionregistration.k8s.io", false),
    ("validatingwebhookconfigurations", "admissionregistration.k8s.io", false),
    ("ingresses", "networking.k8s.io", true),
    ("networkpolicies", "networking.k8s.io", true),
    ("horizontalpodautoscalers", "autoscaling", true),
    ("poddisruptionbudgets", "policy", true),
    ("leases", "coordination.k8s.io", true),
    ("storageclasses", "storage.k8s.io", false),
    ("customresourcedefinitions", "apiextensions.k8s.io", false),
    ("priorityclasses", "scheduling.k8s.io", false),
];

/// A request's resource as written on the command line: `pods`, `pods/exec`,
/// `deployments.apps`, `deployments.apps/scale`. Returns (group, resource, subresource,
/// namespaced), and whether the group had to be assumed (an unknown resource without a group
/// is taken as core).
pub fn parse_resource(text: &str) -> Result<(String, String, String, bool, bool), String> {
    let (typed, subresource) = text.split_once('/').unwrap_or((text, ""));
    if typed.is_empty() || subresource.contains('/') {
        return Err(format!("`{text}` is not RESOURCE[.GROUP][/SUBRESOURCE], e.g. pods, pods/exec, deployments.apps"));
    }
    let typed = typed.to_ascii_lowercase();
    let (resource, group) = typed.split_once('.').map_or((typed.as_str(), None), |(r, g)| (r, Some(g)));
    let known = KNOWN_RESOURCES.iter().find(|(name, known_group, _)| {
        *name == resource && group.is_none_or(|g| g == *known_group || (g == "core" && known_group.is_empty()))
    });
    let (group, namespaced, assumed) = match (known, group) {
        (Some((_, known_group, namespaced)), _) => (known_group.to_string(), *namespaced, false),
        (None, Some(group)) => (group.to_string(), true, false),
        (None, None) => (String::new(), true, true),
    };
    Ok((group, resource.to_string(), subresource.to_string(), namespaced, assumed))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The lesson's order-api trio.
    fn order_api() -> Vec<Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "order-api-sa", "namespace": "production"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": "order-api-role", "namespace": "production"},
                   "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}]}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "order-api-binding", "namespace": "production"},
                   "subjects": [{"kind": "ServiceAccount", "name": "order-api-sa", "namespace": "production"}],
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "order-api-role"}}),
        ]
    }

    fn ask(objects: &[Value], who: &str, verb: &str, resource: &str, namespace: Option<&str>) -> Vec<String> {
        let bundle = Bundle::new(objects, None);
        let identity = Identity::parse(who, &[]).unwrap();
        let request = ResourceRequest::new(verb, "", resource, "");
        can_i(&bundle, &identity, &request, namespace)
            .iter()
            .map(|g| {
                format!(
                    "{} {} {} rules{:?}",
                    g.binding.object_ref(),
                    g.subject_index,
                    g.role,
                    g.rules.iter().map(|r| r.index).collect::<Vec<_>>()
                )
            })
            .collect()
    }

    #[test]
    fn the_lessons_three_can_i_answers() {
        let sa = "system:serviceaccount:production:order-api-sa";
        let objects = order_api();
        assert_eq!(
            ask(&objects, sa, "list", "configmaps", Some("production")),
            ["RoleBinding production/order-api-binding 0 Role order-api-role rules[0]"]
        );
        assert!(ask(&objects, sa, "list", "pods", Some("production")).is_empty());
        assert!(ask(&objects, sa, "get", "secrets", Some("production")).is_empty());
        // another namespace: the RoleBinding does not reach it
        assert!(ask(&objects, sa, "list", "configmaps", Some("staging")).is_empty());
        // another ServiceAccount of the namespace
        assert!(ask(&objects, "system:serviceaccount:production:default", "list", "configmaps", Some("production"))
            .is_empty());
    }

    #[test]
    fn groups_users_and_built_in_roles() {
        let objects = [
            json!({"kind": "ClusterRoleBinding", "metadata": {"name": "all-view"},
                   "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}],
                   "roleRef": {"kind": "ClusterRole", "name": "view"}}),
            json!({"kind": "RoleBinding", "metadata": {"name": "edit", "namespace": "ci"},
                   "subjects": [{"kind": "User", "name": "system:serviceaccount:ci:bot"}],
                   "roleRef": {"kind": "ClusterRole", "name": "edit"}}),
        ];
        let bot = "system:serviceaccount:ci:bot";
        assert_eq!(ask(&objects, bot, "list", "pods", Some("ci")).len(), 2);
        assert_eq!(
            ask(&objects, bot, "create", "pods/exec", Some("ci")),
            ["RoleBinding ci/edit 0 the built-in ClusterRole edit rules[2]"]
        );
        assert!(ask(&objects, bot, "get", "secrets", Some("other")).is_empty());
        assert_eq!(ask(&objects, "alice", "list", "pods", Some("ci")), Vec::<String>::new());
        // who-can lists ServiceAccounts (also written as a User) first
        let bundle = Bundle::new(&objects, None);
        let who: Vec<String> = who_can(&bundle, &ResourceRequest::new("list", "", "pods", ""), Some("ci"))
            .iter()
            .map(|g| describe_subject(g.subject, g.binding.namespace))
            .collect();
        assert_eq!(who, ["User system:serviceaccount:ci:bot", "Group system:serviceaccounts"]);
    }

    #[test]
    fn identities_and_resources_are_parsed_or_refused() {
        let sa = Identity::parse("system:serviceaccount:prod:api", &["team".into()]).unwrap();
        assert_eq!(
            sa.groups,
            ["system:serviceaccounts", "system:serviceaccounts:prod", "system:authenticated", "team"]
        );
        assert!(Identity::parse("system:serviceaccount:prod", &[]).is_err());
        assert!(Identity::parse("", &[]).is_err());
        assert_eq!(parse_resource("pods/exec").unwrap(), ("".into(), "pods".into(), "exec".into(), true, false));
        assert_eq!(
            parse_resource("Deployments").unwrap(),
            ("apps".into(), "deployments".into(), "".into(), true, false)
        );
        assert_eq!(
            parse_resource("widgets.example.com").unwrap(),
            ("example.com".into(), "widgets".into(), "".into(), true, false)
        );
        assert_eq!(parse_resource("widgets").unwrap(), ("".into(), "widgets".into(), "".into(), true, true));
        assert_eq!(parse_resource("nodes/proxy").unwrap(), ("".into(), "nodes".into(), "proxy".into(), false, false));
        assert!(parse_resource("pods/exec/x").is_err());
        assert!(parse_resource("").is_err());
    }
}
