use serde_json::Value;

use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::lookup::Lookup;
use crate::meta::{Category, Scope};
use crate::rbac;

/// Every ServiceAccount of the cluster is in this group ...
const ALL_SERVICE_ACCOUNTS: &str = "system:serviceaccounts";
/// ... and in `system:serviceaccounts:<its namespace>`.
const NAMESPACE_SERVICE_ACCOUNTS_PREFIX: &str = "system:serviceaccounts:";

/// The one binding of these groups Kubernetes makes itself: every ServiceAccount may read the
/// OIDC discovery documents of the token issuer (for workload identity federation).
const ISSUER_DISCOVERY_ROLE: &str = "system:service-account-issuer-discovery";
const ISSUER_DISCOVERY_URLS: &[&str] =
    &["/.well-known/openid-configuration", "/.well-known/openid-configuration/", "/openid/v1/jwks", "/openid/v1/jwks/"];

declare_rule! {
    /// Binding a role to the group `system:serviceaccounts` grants it to every ServiceAccount
    /// of the cluster; `system:serviceaccounts:<ns>` grants it to every ServiceAccount of that
    /// namespace, `default` included. Every Pod with a mounted token then holds the
    /// permissions, which undoes the lesson's model of one dedicated ServiceAccount per
    /// workload, "scoped to exactly the resources it needs", and the default ServiceAccount trap
    /// ("every Pod in the namespace inherits them") applies in full.
    ///
    /// Fires on: a RoleBinding or ClusterRoleBinding with a subject `kind: Group` named
    /// `system:serviceaccounts` or `system:serviceaccounts:<ns>`, whatever the role. Reported at
    /// `/subjects/<i>`; the message says who gets which role and where.
    ///
    /// The only exception is Kubernetes' own: a ClusterRoleBinding whose roleRef is exactly
    /// ClusterRole `system:service-account-issuer-discovery` (read-only access to the issuer's
    /// OIDC discovery documents). The roleRef is matched exactly — a `system:` prefix is a name
    /// anyone can choose — and when that ClusterRole is in the bundle or read from the cluster,
    /// it must grant nothing but get on the discovery URLs, or the exception does not hold.
    ///
    /// Does not fire on: groups that are not ServiceAccount groups (`system:authenticated`
    /// includes every ServiceAccount too but is a wider problem; Kyverno's
    /// restrict-binding-system-groups covers it); single ServiceAccount subjects (SAG008 and
    /// SAG009 judge those).
    ///
    /// Fix: bind the role to the ServiceAccounts that need it, one subject each.
    pub static RULE = {
        id: "SAG010",
        slug: "sa-group-binding",
        title: "A role is bound to every ServiceAccount of a namespace or the cluster",
        category: Category::Rbac,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Replace the system:serviceaccounts group subject with the individual ServiceAccounts that need \
            the role.",
        references: &[
            "Lesson 39, hardening checklist item 2: one SA per application, scoped to exactly the resources it needs",
            "Lesson 39: the default ServiceAccount trap — permissions given to every ServiceAccount reach every Pod",
            "Kubernetes documentation: Using RBAC Authorization, ServiceAccount permissions (granting a role to all \
             ServiceAccounts of a namespace or the cluster is the least secure option)",
            "Kubernetes documentation: ServiceAccount issuer discovery (the system:service-account-issuer-discovery \
             ClusterRoleBinding)",
        ],
        peers: &[
            "Kyverno restrict-binding-system-groups",
            "Gatekeeper disallowanonymous",
            "Trivy KSV0122/0123",
        ],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for binding in cx.bundle.subjects().filter(|o| k8s::is_binding(o.kind)) {
        let Some(subjects) = binding.value.get("subjects").and_then(Value::as_array) else { continue };
        let groups: Vec<(usize, &str)> = subjects
            .iter()
            .enumerate()
            .filter(|(_, s)| s.get("kind").and_then(Value::as_str) == Some("Group"))
            .filter_map(|(i, s)| Some((i, s.get("name")?.as_str()?)))
            .filter(|(_, name)| service_account_group(name).is_some())
            .collect();
        if groups.is_empty() {
            continue;
        }
        let exception_broken = match issuer_discovery_exception(cx, binding) {
            Exception::Holds => continue,
            Exception::NotApplicable => None,
            Exception::Broken(reason) => Some(reason),
        };
        let role = rbac::describe_role_ref(binding.value);
        let scope = rbac::binding_scope(binding);
        for (index, group) in groups {
            let who = match service_account_group(group) {
                Some(Some(ns)) => format!("every ServiceAccount of namespace {ns}, default included,"),
                _ => "every ServiceAccount in the cluster".to_string(),
            };
            let mut message = format!(
                "Group {group} is bound to {role} {scope}: {who} and so every Pod with a token gets these permissions"
            );
            if let Some(reason) = &exception_broken {
                message.push_str(&format!(
                    " (the exception for Kubernetes' own issuer-discovery binding does not hold: {reason})"
                ));
            }
            out.report(binding, format!("/subjects/{index}"), message);
        }
    }
}

/// `Some(None)` for every ServiceAccount, `Some(Some(ns))` for one namespace's, `None` for
/// other groups. An empty namespace matches no ServiceAccount.
fn service_account_group(name: &str) -> Option<Option<&str>> {
    if name == ALL_SERVICE_ACCOUNTS {
        return Some(None);
    }
    name.strip_prefix(NAMESPACE_SERVICE_ACCOUNTS_PREFIX).filter(|ns| !ns.is_empty()).map(Some)
}

enum Exception {
    NotApplicable,
    Holds,
    /// The binding looks like Kubernetes' own, but the role grants more.
    Broken(String),
}

fn issuer_discovery_exception(cx: &Cx<'_>, binding: &crate::bundle::Obj<'_>) -> Exception {
    if binding.kind != "ClusterRoleBinding"
        || k8s::role_ref(binding.value) != Some(("ClusterRole", ISSUER_DISCOVERY_ROLE))
    {
        return Exception::NotApplicable;
    }
    // A role we cannot see is the built-in one, which the API server reconciles.
    let Lookup::Found(role) = cx.role("ClusterRole", None, ISSUER_DISCOVERY_ROLE) else { return Exception::Holds };
    let rules = role.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let wider: Vec<String> = rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| !grants_only_discovery(rule))
        .map(|(i, _)| format!("rules[{i}]"))
        .collect();
    if wider.is_empty() && role.get("aggregationRule").is_none() {
        Exception::Holds
    } else if wider.is_empty() {
        Exception::Broken(format!("ClusterRole {ISSUER_DISCOVERY_ROLE} aggregates other ClusterRoles"))
    } else {
        Exception::Broken(format!(
            "ClusterRole {ISSUER_DISCOVERY_ROLE} {} more than get on the OIDC discovery URLs",
            if wider.len() == 1 { format!("{} grants", wider[0]) } else { format!("{} grant", wider.join(", ")) }
        ))
    }
}

fn grants_only_discovery(rule: &Value) -> bool {
    let list = |field: &str| rule.get(field).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let only =
        |field: &str, allowed: &[&str]| list(field).iter().all(|v| v.as_str().is_some_and(|s| allowed.contains(&s)));
    list("resources").is_empty()
        && list("apiGroups").is_empty()
        && only("verbs", &["get"])
        && only("nonResourceURLs", ISSUER_DISCOVERY_URLS)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::lookup::StaticCluster;
    use crate::rules::testing::{admit, admit_without_cluster, lint, located};
    use crate::settings::Settings;

    fn binding(kind: &str, namespace: Option<&str>, group: &str, role_kind: &str, role: &str) -> Value {
        let mut metadata = json!({"name": "b"});
        if let Some(ns) = namespace {
            metadata["namespace"] = json!(ns);
        }
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
            "subjects": [
                {"kind": "ServiceAccount", "name": "ci", "namespace": "ci"},
                {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": group},
            ],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}
        })
    }

    #[test]
    fn every_service_account_of_the_cluster() {
        let findings =
            lint("SAG010", &[binding("ClusterRoleBinding", None, "system:serviceaccounts", "ClusterRole", "view")]);
        assert_eq!(located(&findings), [(
            "/subjects/1",
            "Group system:serviceaccounts is bound to ClusterRole view across the cluster: every ServiceAccount in the \
             cluster and so every Pod with a token gets these permissions"
        )]);
    }

    #[test]
    fn every_service_account_of_a_namespace_at_admission() {
        let findings = admit_without_cluster(
            "SAG010",
            binding("RoleBinding", Some("qa"), "system:serviceaccounts:qa", "Role", "reader"),
        );
        assert_eq!(located(&findings), [(
            "/subjects/1",
            "Group system:serviceaccounts:qa is bound to Role reader in namespace qa: every ServiceAccount of namespace \
             qa, default included, and so every Pod with a token gets these permissions"
        )]);
    }

    #[test]
    fn other_groups_and_look_alikes_are_silent() {
        for group in [
            "system:authenticated",
            "system:serviceaccount",
            "system:serviceaccounts:",
            "System:ServiceAccounts",
            "developers",
        ] {
            assert!(
                lint("SAG010", &[binding("ClusterRoleBinding", None, group, "ClusterRole", "view")]).is_empty(),
                "{group}"
            );
        }
        // a User subject with the group's name is another principal
        assert!(lint(
            "SAG010",
            &[json!({
                "kind": "ClusterRoleBinding", "metadata": {"name": "b"},
                "subjects": [{"kind": "User", "name": "system:serviceaccounts"}],
                "roleRef": {"kind": "ClusterRole", "name": "view"}
            })]
        )
        .is_empty());
    }

    #[test]
    fn kubernetes_issuer_discovery_binding_is_the_only_exception() {
        let own = binding(
            "ClusterRoleBinding",
            None,
            "system:serviceaccounts",
            "ClusterRole",
            "system:service-account-issuer-discovery",
        );
        assert!(lint("SAG010", std::slice::from_ref(&own)).is_empty());
        assert!(admit_without_cluster("SAG010", own).is_empty());

        // a system: prefix is not the exception
        let findings = lint(
            "SAG010",
            &[binding("ClusterRoleBinding", None, "system:serviceaccounts", "ClusterRole", "system:aggregate-to-edit")],
        );
        assert_eq!(findings.len(), 1);
        // nor is the same role through a RoleBinding, nor a Role of that name
        assert_eq!(
            lint(
                "SAG010",
                &[binding(
                    "RoleBinding",
                    Some("x"),
                    "system:serviceaccounts",
                    "ClusterRole",
                    "system:service-account-issuer-discovery"
                )]
            )
            .len(),
            1
        );
        assert_eq!(
            lint(
                "SAG010",
                &[binding(
                    "ClusterRoleBinding",
                    None,
                    "system:serviceaccounts",
                    "Role",
                    "system:service-account-issuer-discovery"
                )]
            )
            .len(),
            1
        );
    }

    #[test]
    fn the_exception_needs_the_discovery_role_to_be_what_kubernetes_ships() {
        let shipped = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
            "metadata": {"name": "system:service-account-issuer-discovery"},
            "rules": [{"nonResourceURLs": ["/.well-known/openid-configuration", "/openid/v1/jwks"], "verbs": ["get"]}]
        });
        let own = binding(
            "ClusterRoleBinding",
            None,
            "system:serviceaccounts",
            "ClusterRole",
            "system:service-account-issuer-discovery",
        );
        assert!(lint("SAG010", &[shipped.clone(), own.clone()]).is_empty());

        let mut widened = shipped;
        widened["rules"]
            .as_array_mut()
            .unwrap()
            .push(json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}));
        assert_eq!(located(&lint("SAG010", &[widened.clone(), own.clone()])), [(
            "/subjects/1",
            "Group system:serviceaccounts is bound to ClusterRole system:service-account-issuer-discovery across the \
             cluster: every ServiceAccount in the cluster and so every Pod with a token gets these permissions (the \
             exception for Kubernetes' own issuer-discovery binding does not hold: ClusterRole \
             system:service-account-issuer-discovery rules[1] grants more than get on the OIDC discovery URLs)"
        )]);

        // at admission, the role read from the cluster is checked the same way
        let settings = Settings { context_aware: true, ..Settings::default() };
        let cluster = StaticCluster { objects: vec![widened], failure: None };
        assert_eq!(admit("SAG010", own, &settings, &cluster).len(), 1);
    }
}
