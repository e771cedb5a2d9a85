use std::collections::HashMap;

use crate::bundle::Obj;
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s::{self, SaSource};
use crate::meta::{Category, Scope};
use crate::tokens::describe_service_account;

declare_rule! {
    /// The lesson keeps a workload's ServiceAccount, Role and RoleBinding together: "Keeping the
    /// ServiceAccount, Role, and RoleBinding in the same manifest file (separated by ---) means
    /// they deploy together, they're reviewed together, and nobody accidentally creates the Role
    /// without the RoleBinding or forgets to delete the SA when the workload is decommissioned."
    /// When one part of the trio is missing from the manifests, `kubectl apply` still succeeds,
    /// and the failure shows up later: the API server refuses every Pod whose ServiceAccount does
    /// not exist (a Deployment sits at zero ready replicas), a binding to a missing Role grants
    /// nothing until someone creates a Role of that name — with whatever rules they choose — and
    /// a binding to a missing ServiceAccount is a standing grant to whoever creates it next.
    ///
    /// This rule needs the whole set of manifests, so it runs on manifests only (CLI, playground),
    /// never at admission, where the objects arrive one by one.
    ///
    /// Fires on:
    ///
    /// * a Pod spec in any pod-bearing kind that names a ServiceAccount the manifests do not
    ///   define in the workload's namespace: path `<pod spec>/serviceAccountName`, or
    ///   `<pod spec>/serviceAccount` when only the deprecated field names it. When a
    ///   ServiceAccount of that name exists in another namespace, the message says which (a
    ///   forgotten `namespace:` is the usual cause);
    /// * a RoleBinding or ClusterRoleBinding subject that is a ServiceAccount (including the
    ///   `kind: User, name: system:serviceaccount:<ns>:<name>` spelling) not defined in the
    ///   manifests: path `/subjects/<i>`;
    /// * a RoleBinding whose `roleRef` is a Role not defined in the binding's namespace: path
    ///   `/roleRef`.
    ///
    /// Does not fire on: the `default` ServiceAccount (every namespace has one; SAG003 covers
    /// using it); ServiceAccounts listed in `external_service_accounts` (`namespace/name`,
    /// patterns allowed) — those created by a Helm chart, an operator or another repository,
    /// which is the false positive kube-linter users report (kube-linter#137); `roleRef`s to a
    /// ClusterRole, since `view`, `edit`, `admin` and `cluster-admin` are built in; ClusterRoleBinding
    /// ServiceAccount subjects without a namespace, which the API server rejects anyway.
    ///
    /// Fix: add the missing ServiceAccount or Role next to the workload and its RoleBinding (one
    /// file per trio), correct the name or namespace if it is a typo, or list ServiceAccounts
    /// that are legitimately created elsewhere in `external_service_accounts`.
    pub static RULE = {
        id: "SAG011",
        slug: "undefined-service-account",
        title: "A ServiceAccount is used but not defined",
        category: Category::Identity,
        default_level: Level::Warn,
        scope: Scope::Bundle,
        fixable: false,
        remediation: "Define the ServiceAccount (and the Role a RoleBinding refers to) in the same file as the workload \
            and its RoleBinding, fix the name or namespace if it is a typo, or list ServiceAccounts created elsewhere \
            in the external_service_accounts setting.",
        references: &[
            "Lesson 39: the trio SA + Role + RoleBinding in one file — they deploy together and are reviewed together",
            "Lesson 39, hardening checklist item 5: review all ServiceAccount bindings and remove unused ones",
            "Kubernetes documentation: the ServiceAccount admission controller rejects Pods whose ServiceAccount does \
             not exist",
        ],
        peers: &["kube-linter non-existent-service-account", "Kubescape C-0307"],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    let namespaces_by_name = service_account_namespaces(cx);
    for obj in cx.bundle.subjects() {
        if let Some(spec) = obj.pod_spec() {
            let (name, source) = spec.service_account();
            if source == SaSource::Defaulted || name == "default" || is_known(cx, obj.namespace, name) {
                continue;
            }
            let field = if source == SaSource::DeprecatedField { "serviceAccount" } else { "serviceAccountName" };
            let elsewhere = match namespaces_by_name.get(name) {
                Some(namespaces) => format!(" (a ServiceAccount {name} is defined in {})", list_namespaces(namespaces)),
                None => String::new(),
            };
            let message = format!(
                "{field} names {}, which these manifests do not define{elsewhere}: the API server will refuse to \
                 create the workload's Pods until it exists",
                describe_service_account(obj.namespace, name)
            );
            out.report(obj, spec.pointer(field), message);
        }
        if k8s::is_binding(obj.kind) {
            check_binding(cx, obj, out);
        }
    }
}

fn check_binding(cx: &Cx<'_>, obj: &Obj<'_>, out: &mut Emitter<'_>) {
    for subject in k8s::service_account_subjects(obj.value, obj.namespace) {
        // A ClusterRoleBinding's ServiceAccount subject must name its namespace; the API server
        // rejects one that does not, so there is nothing to look up.
        if subject.name == "default" || (subject.namespace.is_none() && obj.kind == "ClusterRoleBinding") {
            continue;
        }
        if is_known(cx, subject.namespace, subject.name) {
            continue;
        }
        let spelled = if subject.as_user { " (as a User named system:serviceaccount:...)" } else { "" };
        let message = format!(
            "subject {}{spelled} is not defined in these manifests: the binding grants its role to whichever \
             ServiceAccount is created with that name later",
            describe_service_account(subject.namespace, subject.name)
        );
        out.report(obj, format!("/subjects/{}", subject.index), message);
    }
    if obj.kind != "RoleBinding" {
        return;
    }
    if let Some(("Role", role)) = k8s::role_ref(obj.value) {
        if cx.bundle.role(obj.namespace, role).is_none() {
            let namespace = obj.namespace.map(|ns| format!("namespace {ns}")).unwrap_or_else(|| "its namespace".into());
            let message = format!(
                "roleRef names Role {role}, which these manifests do not define in {namespace}: the binding grants \
                 nothing until a Role of that name is created, with whatever rules it then has"
            );
            out.report(obj, "/roleRef", message);
        }
    }
}

/// Defined in the bundle, or declared as created elsewhere.
fn is_known(cx: &Cx<'_>, namespace: Option<&str>, name: &str) -> bool {
    cx.bundle.service_account(namespace, name).is_some() || cx.settings.is_external_service_account(namespace, name)
}

/// Namespaces each ServiceAccount name is defined in, to point at a forgotten `namespace:`.
/// Built once, so the rule stays linear in the bundle size.
fn service_account_namespaces<'a>(cx: &Cx<'a>) -> HashMap<&'a str, Vec<&'a str>> {
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for sa in cx.bundle.objects.iter().filter(|o| o.kind == "ServiceAccount") {
        if let Some(namespace) = sa.namespace {
            by_name.entry(sa.name).or_default().push(namespace);
        }
    }
    for namespaces in by_name.values_mut() {
        namespaces.sort_unstable();
        namespaces.dedup();
    }
    by_name
}

/// "namespace a", "namespaces a, b", at most three named; `namespaces` is sorted.
fn list_namespaces(namespaces: &[&str]) -> String {
    const SHOWN: usize = 3;
    let noun = if namespaces.len() == 1 { "namespace" } else { "namespaces" };
    let shown = namespaces[..namespaces.len().min(SHOWN)].join(", ");
    match namespaces.len().saturating_sub(SHOWN) {
        0 => format!("{noun} {shown}"),
        more => format!("{noun} {shown} and {more} more"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::rules::testing::{admit_without_cluster, lint, lint_with, located};
    use crate::settings::Settings;

    fn deployment(namespace: &str, spec: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "report-exporter", "namespace": namespace},
            "spec": {"template": {"spec": spec}}
        })
    }

    fn service_account(namespace: &str, name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}})
    }

    #[test]
    fn fires_on_a_workload_whose_service_account_is_missing() {
        let findings = lint("SAG011", &[deployment("analytics", json!({"serviceAccountName": "report-exporter-sa"}))]);
        assert_eq!(
            located(&findings),
            [(
                "/spec/template/spec/serviceAccountName",
                "serviceAccountName names ServiceAccount analytics/report-exporter-sa, which these manifests do not \
             define: the API server will refuse to create the workload's Pods until it exists"
            )]
        );
        assert_eq!(findings[0].object.to_string(), "Deployment analytics/report-exporter");
    }

    #[test]
    fn points_at_the_deprecated_field_and_at_other_namespaces() {
        let findings = lint(
            "SAG011",
            &[
                service_account("default", "report-exporter-sa"),
                service_account("staging", "report-exporter-sa"),
                json!({"kind": "CronJob", "metadata": {"name": "nightly", "namespace": "analytics"},
                   "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccount": "report-exporter-sa"}}}}}}),
            ],
        );
        assert_eq!(located(&findings), [(
            "/spec/jobTemplate/spec/template/spec/serviceAccount",
            "serviceAccount names ServiceAccount analytics/report-exporter-sa, which these manifests do not define \
             (a ServiceAccount report-exporter-sa is defined in namespaces default, staging): the API server will \
             refuse to create the workload's Pods until it exists"
        )]);
    }

    #[test]
    fn silent_when_defined_default_or_external() {
        assert!(lint(
            "SAG011",
            &[
                deployment("analytics", json!({"serviceAccountName": "report-exporter-sa"})),
                service_account("analytics", "report-exporter-sa"),
            ]
        )
        .is_empty());
        assert!(lint("SAG011", &[deployment("analytics", json!({}))]).is_empty());
        assert!(lint("SAG011", &[deployment("analytics", json!({"serviceAccountName": "default"}))]).is_empty());
        let settings = Settings { external_service_accounts: vec!["analytics/report-*".into()], ..Settings::default() };
        assert!(lint_with(
            "SAG011",
            &[deployment("analytics", json!({"serviceAccountName": "report-exporter-sa"}))],
            &settings
        )
        .is_empty());
        // the pattern names the namespace too
        assert_eq!(
            lint_with(
                "SAG011",
                &[deployment("billing", json!({"serviceAccountName": "report-exporter-sa"}))],
                &settings
            )
            .len(),
            1
        );
    }

    #[test]
    fn fires_on_binding_subjects_and_a_missing_role() {
        let binding = json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": "order-api-binding", "namespace": "production"},
            "subjects": [
                {"kind": "ServiceAccount", "name": "order-api-sa"},
                {"kind": "ServiceAccount", "name": "default"},
                {"kind": "User", "name": "system:serviceaccount:production:ci"},
                {"kind": "User", "name": "alice"},
                {"kind": "ServiceAccount", "name": "typo-sa", "namespace": "prod"},
            ],
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "order-api-role"}
        });
        let findings = lint("SAG011", &[binding, service_account("production", "order-api-sa")]);
        assert_eq!(located(&findings), [
            (
                "/roleRef",
                "roleRef names Role order-api-role, which these manifests do not define in namespace production: the \
                 binding grants nothing until a Role of that name is created, with whatever rules it then has"
            ),
            (
                "/subjects/2",
                "subject ServiceAccount production/ci (as a User named system:serviceaccount:...) is not defined in \
                 these manifests: the binding grants its role to whichever ServiceAccount is created with that name later"
            ),
            (
                "/subjects/4",
                "subject ServiceAccount prod/typo-sa is not defined in these manifests: the binding grants its role to \
                 whichever ServiceAccount is created with that name later"
            ),
        ]);
    }

    #[test]
    fn the_complete_trio_and_cluster_roles_pass() {
        let objects = [
            service_account("production", "order-api-sa"),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": "order-api-role", "namespace": "production"}, "rules": []}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "order-api-binding", "namespace": "production"},
                   "subjects": [{"kind": "ServiceAccount", "name": "order-api-sa", "namespace": "production"}],
                   "roleRef": {"kind": "Role", "name": "order-api-role"}}),
            // built-in ClusterRole: may well not be in the files
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "order-api-view", "namespace": "production"},
                   "subjects": [{"kind": "ServiceAccount", "name": "order-api-sa"}],
                   "roleRef": {"kind": "ClusterRole", "name": "view"}}),
            // invalid (no namespace on a ClusterRoleBinding's ServiceAccount subject): nothing to look up
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                   "metadata": {"name": "broken"},
                   "subjects": [{"kind": "ServiceAccount", "name": "order-api-sa"}],
                   "roleRef": {"kind": "ClusterRole", "name": "view"}}),
        ];
        assert!(lint("SAG011", &objects).is_empty());
    }

    #[test]
    fn cluster_role_binding_subjects_name_their_namespace() {
        let findings = lint(
            "SAG011",
            &[json!({
                "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": "ci-admin"},
                "subjects": [{"kind": "ServiceAccount", "name": "ci", "namespace": "build"}],
                "roleRef": {"kind": "ClusterRole", "name": "cluster-admin"}
            })],
        );
        assert_eq!(
            located(&findings),
            [(
                "/subjects/0",
                "subject ServiceAccount build/ci is not defined in these manifests: the binding grants its role to \
             whichever ServiceAccount is created with that name later"
            )]
        );
    }

    #[test]
    fn never_runs_at_admission() {
        assert!(admit_without_cluster("SAG011", deployment("analytics", json!({"serviceAccountName": "missing"})))
            .is_empty());
    }
}
