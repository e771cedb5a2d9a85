use serde_json::Value;

use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::lookup::Lookup;
use crate::meta::{Category, Scope};
use crate::rbac;
use crate::rbac::model::{self, Reach, RoleLookup};

/// Every authenticated identity, every ServiceAccount included, is in this group ...
const ALL_AUTHENTICATED: &str = "system:authenticated";
/// ... every ServiceAccount of the cluster is in this one ...
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
    /// `system:serviceaccounts`, `system:serviceaccounts:<ns>` or `system:authenticated` (every
    /// authenticated user and every ServiceAccount), whatever the role. Reported at
    /// `/subjects/<i>`; the message says who gets which role and where, how many
    /// ServiceAccounts the manifests define in the group, and what the role carries by the
    /// risk catalog of SAG009 (or that it carries no privilege-escalation path).
    ///
    /// The exceptions are Kubernetes' own bindings: a ClusterRoleBinding of
    /// `system:serviceaccounts` whose roleRef is exactly ClusterRole
    /// `system:service-account-issuer-discovery` (read-only access to the issuer's OIDC
    /// discovery documents), and ClusterRoleBindings of `system:authenticated` to
    /// `system:basic-user`, `system:discovery` or `system:public-info-viewer` (discovery, health
    /// and self-review). The roleRef is matched exactly — a `system:` prefix is a name anyone can
    /// choose — and when that ClusterRole is in the bundle or read from the cluster, it must
    /// grant nothing but get on the discovery URLs (issuer discovery) or carry no
    /// privilege-escalation path (the others), or the exception does not hold.
    ///
    /// Does not fire on: other groups; single ServiceAccount subjects (SAG008 and SAG009 judge
    /// those).
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
        remediation: "Replace the system:serviceaccounts or system:authenticated group subject with the individual \
            ServiceAccounts that need the role.",
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
        let risks = rbac::risks_clause(cx, binding);
        for (index, group) in groups {
            if group == ALL_AUTHENTICATED && is_kubernetes_discovery_binding(cx, binding) {
                continue;
            }
            let who = match service_account_group(group) {
                Some(Group::Namespace(ns)) => {
                    format!("every ServiceAccount of namespace {ns}, default included{},", count_here(cx, Some(ns)))
                }
                Some(Group::ServiceAccounts) => {
                    format!("every ServiceAccount in the cluster{},", count_here(cx, None))
                }
                _ => {
                    format!("every authenticated user and every ServiceAccount in the cluster{},", count_here(cx, None))
                }
            };
            let mut message = format!(
                "Group {group} is bound to {role} {scope}: {who} and so every Pod with a token gets these \
                 permissions{risks}"
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

/// ClusterRoles Kubernetes itself binds to `system:authenticated`: discovery, health and
/// self-review, nothing else.
const AUTHENTICATED_DEFAULT_ROLES: &[&str] = &["system:basic-user", "system:discovery", "system:public-info-viewer"];

/// A ClusterRoleBinding of one of [`AUTHENTICATED_DEFAULT_ROLES`], as long as the role (when the
/// manifests or the cluster show it) carries no privilege-escalation path.
fn is_kubernetes_discovery_binding(cx: &Cx<'_>, binding: &crate::bundle::Obj<'_>) -> bool {
    let Some(("ClusterRole", name)) = k8s::role_ref(binding.value) else { return false };
    if binding.kind != "ClusterRoleBinding" || !AUTHENTICATED_DEFAULT_ROLES.contains(&name) {
        return false;
    }
    match cx.resolve_role(None, "ClusterRole", name) {
        RoleLookup::Found(role) => model::risks(&role, Reach::Cluster).is_empty(),
        // a role we cannot see is the built-in one, which the API server reconciles
        RoleLookup::Missing => true,
        RoleLookup::Failed(_) => false,
    }
}

/// A group that holds ServiceAccounts.
enum Group<'a> {
    Authenticated,
    ServiceAccounts,
    Namespace(&'a str),
}

/// The group `name` names, `None` for groups that hold no ServiceAccount. An empty namespace
/// matches no ServiceAccount.
fn service_account_group(name: &str) -> Option<Group<'_>> {
    match name {
        ALL_AUTHENTICATED => Some(Group::Authenticated),
        ALL_SERVICE_ACCOUNTS => Some(Group::ServiceAccounts),
        _ => name.strip_prefix(NAMESPACE_SERVICE_ACCOUNTS_PREFIX).filter(|ns| !ns.is_empty()).map(Group::Namespace),
    }
}

/// " (3 of them defined in these manifests)": how many identities the manifests show the group
/// to hold (of one namespace, or of all). At admission only the object is known: nothing.
fn count_here(cx: &Cx<'_>, namespace: Option<&str>) -> String {
    if cx.mode != crate::engine::Mode::Manifest {
        return String::new();
    }
    match cx.bundle.service_account_count(namespace) {
        1 => " (1 of them defined in these manifests)".to_string(),
        n => format!(" ({n} of them defined in these manifests)"),
    }
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
             cluster (0 of them defined in these manifests), and so every Pod with a token gets these permissions; the \
             built-in ClusterRole view carries no privilege-escalation path"
        )]);
        assert_eq!(findings[0].level, crate::finding::Level::Deny);
    }

    #[test]
    fn every_authenticated_identity_with_the_risks_of_the_role_and_a_count() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "a", "namespace": "x"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b", "namespace": "y"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "b", "namespace": "y"}}),
            binding("ClusterRoleBinding", None, "system:authenticated", "ClusterRole", "edit"),
            binding("RoleBinding", Some("y"), "system:serviceaccounts:y", "ClusterRole", "edit"),
        ];
        assert_eq!(located(&lint("SAG010", &objects)), [
            (
                "/subjects/1",
                "Group system:authenticated is bound to ClusterRole edit across the cluster: every authenticated user \
                 and every ServiceAccount in the cluster (2 of them defined in these manifests), and so every Pod with \
                 a token gets these permissions; the built-in ClusterRole edit carries impersonate (critical), \
                 token-request (critical), read-secrets (critical), create-workloads (critical), exec (critical), \
                 create-secrets (high)"
            ),
            (
                "/subjects/1",
                "Group system:serviceaccounts:y is bound to ClusterRole edit in namespace y: every ServiceAccount of \
                 namespace y, default included (1 of them defined in these manifests), and so every Pod with a token \
                 gets these permissions; the built-in ClusterRole edit carries impersonate (high), token-request \
                 (high), read-secrets (high), create-workloads (high), exec (high), create-secrets (medium)"
            ),
        ]);
    }

    #[test]
    fn kubernetes_own_bindings_of_every_authenticated_identity_are_silent() {
        for role in ["system:basic-user", "system:discovery", "system:public-info-viewer"] {
            let own = binding("ClusterRoleBinding", None, "system:authenticated", "ClusterRole", role);
            assert!(lint("SAG010", &[own.clone()]).is_empty(), "{role}");
            // ... unless the role shown carries a privilege-escalation path
            let widened = json!({"kind": "ClusterRole", "metadata": {"name": role},
                "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]}]});
            assert_eq!(lint("SAG010", &[widened, own]).len(), 1, "{role}");
        }
        // a RoleBinding of the same role is no Kubernetes default
        let namespaced = binding("RoleBinding", Some("x"), "system:authenticated", "ClusterRole", "system:discovery");
        assert_eq!(lint("SAG010", &[namespaced]).len(), 1);
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
            "system:unauthenticated",
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
             cluster: every ServiceAccount in the cluster (0 of them defined in these manifests), and so every Pod \
             with a token gets these permissions; ClusterRole system:service-account-issuer-discovery carries \
             read-secrets (critical) (the exception for Kubernetes' own issuer-discovery binding does not hold: \
             ClusterRole system:service-account-issuer-discovery rules[1] grants more than get on the OIDC discovery \
             URLs)"
        )]);

        // at admission, the role read from the cluster is checked the same way
        let settings = Settings { context_aware: true, ..Settings::default() };
        let cluster = StaticCluster { objects: vec![widened], failure: None };
        assert_eq!(admit("SAG010", own, &settings, &cluster).len(), 1);
    }
}
