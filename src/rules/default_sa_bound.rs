use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::meta::{Category, Scope};
use crate::rbac;

declare_rule! {
    /// Every Pod that names no ServiceAccount runs as its namespace's `default` ServiceAccount.
    /// The lesson calls this "the default ServiceAccount trap": `default` has no permissions and
    /// should keep none, because "if RBAC is misconfigured and the default ServiceAccount gets
    /// permissions, every Pod in the namespace inherits them" — including Pods that never call
    /// the API and were never reviewed for it. A Pod that does need permissions gets a dedicated
    /// ServiceAccount, which makes the grant visible and limits it to that workload.
    ///
    /// Fires on: a RoleBinding or ClusterRoleBinding with a subject that is a `default`
    /// ServiceAccount — `kind: ServiceAccount, name: default` (without a namespace it is the
    /// binding's) or the same identity written as `kind: User, name:
    /// system:serviceaccount:<ns>:default`. Any role counts, even a read-only one: the point is
    /// who gets it. Reported at `/subjects/<i>`, naming the namespace and the roleRef.
    ///
    /// Does not fire on: bindings to dedicated ServiceAccounts; groups (SAG010 covers
    /// `system:serviceaccounts[:<ns>]`, which includes `default`). Namespaces such as
    /// kube-system can be skipped with `exempt_namespaces`.
    ///
    /// Fix: create a ServiceAccount for the workload that needs the role, bind the role to it,
    /// set `serviceAccountName` in that workload, and remove `default` from the subjects.
    pub static RULE = {
        id: "SAG008",
        slug: "default-sa-bound",
        title: "A role is bound to the default ServiceAccount",
        category: Category::Rbac,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Bind the role to a dedicated ServiceAccount instead of default, and set serviceAccountName \
            in the workloads that need it.",
        references: &[
            "Lesson 39: the default ServiceAccount trap — if the default ServiceAccount gets permissions, every Pod \
             in the namespace inherits them",
            "Lesson 39, hardening checklist item 2: create a dedicated SA for every workload that calls the API",
            "CIS Kubernetes Benchmark 5.1.5: ensure that default service accounts are not actively used",
        ],
        peers: &["Checkov CKV_K8S_42", "Kubescape C-0189", "Kubescape C-0225"],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for binding in cx.bundle.subjects().filter(|o| k8s::is_binding(o.kind)) {
        let role = rbac::describe_role_ref(binding.value);
        let scope = rbac::binding_scope(binding);
        let mut risks = None;
        for subject in k8s::service_account_subjects(binding.value, binding.namespace) {
            if subject.name != "default" {
                continue;
            }
            let (whose, pods) = match subject.namespace {
                Some(ns) => (format!("namespace {ns}"), format!("every Pod in {ns}")),
                None => ("the binding's namespace".to_string(), "every Pod there".to_string()),
            };
            let spelled = if subject.as_user {
                format!(" (written as User system:serviceaccount:{}:default)", subject.namespace.unwrap_or_default())
            } else {
                String::new()
            };
            let risks = risks.get_or_insert_with(|| rbac::risks_clause(cx, binding));
            let message = format!(
                "the default ServiceAccount of {whose}{spelled} is bound to {role} {scope}: {pods} that names no \
                 ServiceAccount inherits these permissions{risks}"
            );
            out.report(binding, format!("/subjects/{}", subject.index), message);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::rules::testing::{admit_without_cluster, lint, located};

    #[test]
    fn role_binding_to_default_names_namespace_and_role() {
        let findings = lint(
            "SAG008",
            &[json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "oops", "namespace": "production"},
                "subjects": [
                    {"kind": "ServiceAccount", "name": "order-api-sa", "namespace": "production"},
                    {"kind": "ServiceAccount", "name": "default"},
                ],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}
            })],
        );
        assert_eq!(located(&findings), [(
            "/subjects/1",
            "the default ServiceAccount of namespace production is bound to ClusterRole edit in namespace production: \
             every Pod in production that names no ServiceAccount inherits these permissions; the built-in \
             ClusterRole edit carries impersonate (high), token-request (high), read-secrets (high), create-workloads \
             (high), exec (high), create-secrets (medium)"
        )]);
        assert_eq!(findings[0].object.to_string(), "RoleBinding production/oops");
    }

    #[test]
    fn cluster_role_binding_with_user_spelling_at_admission() {
        let findings = admit_without_cluster(
            "SAG008",
            json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "view-all"},
                "subjects": [{"kind": "User", "name": "system:serviceaccount:shop:default"}],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"}
            }),
        );
        assert_eq!(located(&findings), [(
            "/subjects/0",
            "the default ServiceAccount of namespace shop (written as User system:serviceaccount:shop:default) is bound \
             to ClusterRole view across the cluster: every Pod in shop that names no ServiceAccount inherits these \
             permissions; the built-in ClusterRole view carries no privilege-escalation path"
        )]);
    }

    #[test]
    fn dedicated_service_accounts_users_and_groups_are_silent() {
        assert!(lint(
            "SAG008",
            &[json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "order-api-binding", "namespace": "production"},
                "subjects": [
                    {"kind": "ServiceAccount", "name": "order-api-sa", "namespace": "production"},
                    {"kind": "User", "name": "default"},
                    {"kind": "Group", "name": "default"},
                    {"kind": "User", "name": "system:serviceaccount:production:default-ish"},
                ],
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "order-api-role"}
            })]
        )
        .is_empty());
        // a ServiceAccount object named default is SAG001's business, not a binding
        assert!(lint(
            "SAG008",
            &[json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default"}})]
        )
        .is_empty());
    }

    #[test]
    fn missing_role_ref_is_still_reported_with_a_placeholder() {
        let findings = lint(
            "SAG008",
            &[json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                "metadata": {"name": "half"},
                "subjects": [{"kind": "ServiceAccount", "name": "default"}]
            })],
        );
        assert_eq!(located(&findings), [(
            "/subjects/0",
            "the default ServiceAccount of the binding's namespace is bound to a role (roleRef is missing or incomplete) \
             in the binding's namespace: every Pod there that names no ServiceAccount inherits these permissions"
        )]);
    }
}
