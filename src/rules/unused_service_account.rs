use std::collections::{HashMap, HashSet};

use crate::bundle::Obj;
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::meta::{Category, Scope};
use crate::rbac;

declare_rule! {
    /// The last item of the lesson's hardening checklist: "Audit SA usage quarterly … review
    /// all SA bindings and remove unused ones". A ServiceAccount that nothing runs as but that
    /// still holds bindings is a standing grant nobody reviews: the next Pod that names it —
    /// or anyone who can create a token for it — gets the permissions. A binding whose
    /// ServiceAccounts are neither defined nor used grants its role to whichever ServiceAccount
    /// is created with that name later.
    ///
    /// Fires on manifests (it needs the whole bundle), at warning level by default:
    ///
    /// * a ServiceAccount defined in the manifests that no workload runs as (no Pod spec of a
    ///   Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob,
    ///   ReplicationController or PodTemplate names it, or runs as `default` for the `default`
    ///   ServiceAccount) but that a RoleBinding or ClusterRoleBinding names: reported at the
    ///   ServiceAccount's `/metadata/name`, naming the bindings;
    /// * a ServiceAccount subject of a binding that is neither defined in the manifests nor run
    ///   as by any of their workloads: reported at `/subjects/<i>` (not for `default`, which
    ///   every namespace has: SAG008 reports bindings to it).
    ///
    /// Does not fire on: ServiceAccounts listed in `external_service_accounts` (used by
    /// workloads deployed from elsewhere: list them there, `namespace/name`, patterns allowed);
    /// ServiceAccounts without bindings (harmless, though worth deleting); group subjects.
    /// A cluster's dump (`kubectl get … -A -o yaml`) holds every workload, so there a finding
    /// means the ServiceAccount is really unused; on a repository's manifests, declare the
    /// ServiceAccounts other repositories use.
    ///
    /// Fix: delete the unused binding and ServiceAccount, or list the ServiceAccount in
    /// `external_service_accounts` if workloads outside these manifests run as it.
    pub static RULE = {
        id: "SAG016",
        slug: "unused-service-account",
        title: "A ServiceAccount or binding that no workload uses",
        category: Category::Rbac,
        default_level: Level::Warn,
        scope: Scope::Bundle,
        fixable: false,
        remediation: "Remove the unused binding (and the ServiceAccount), or list the ServiceAccount in \
            external_service_accounts when workloads outside these manifests run as it.",
        references: &[
            "Lesson 39, hardening checklist item 5: audit SA usage quarterly — review all SA bindings and remove \
             unused ones",
            "CIS Kubernetes Benchmark 5.1.5: ensure that default service accounts are not actively used",
        ],
        peers: &["Kubescape C-0307 (undefined ServiceAccounts; no unused check)"],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    let used: HashSet<(&str, &str)> =
        cx.bundle.every_workload().filter_map(|(obj, spec)| Some((obj.namespace?, spec.service_account().0))).collect();
    let is_external = |ns: &str, name: &str| cx.settings.is_external_service_account(Some(ns), name);
    // The bindings that name each ServiceAccount, each once and in bundle order: built once, as
    // a cluster's dump has thousands of ServiceAccounts and bindings.
    let mut bound_by: HashMap<(&str, &str), Vec<&Obj<'_>>> = HashMap::new();
    for binding in cx.bundle.bindings() {
        for subject in k8s::service_account_subjects(binding.value, binding.namespace) {
            let Some(ns) = subject.namespace else { continue };
            let named = bound_by.entry((ns, subject.name)).or_default();
            if !named.last().is_some_and(|last| std::ptr::eq(*last, binding)) {
                named.push(binding);
            }
        }
    }

    for sa in cx.bundle.of_kind("ServiceAccount") {
        let Some(ns) = sa.namespace else { continue };
        if used.contains(&(ns, sa.name)) || is_external(ns, sa.name) {
            continue;
        }
        let bindings: Vec<String> = bound_by
            .get(&(ns, sa.name))
            .into_iter()
            .flatten()
            .map(|binding| format!("{} ({})", binding.object_ref(), rbac::describe_role_ref(binding.value)))
            .collect();
        if bindings.is_empty() {
            continue;
        }
        let message = format!(
            "ServiceAccount {ns}/{} is bound by {} but no workload in these manifests runs as it",
            sa.name,
            bindings.join(", ")
        );
        out.report(sa, "/metadata/name", message);
    }

    for binding in cx.bundle.subjects().filter(|o| k8s::is_binding(o.kind)) {
        for subject in k8s::service_account_subjects(binding.value, binding.namespace) {
            let Some(ns) = subject.namespace else { continue };
            // Every namespace has its `default` ServiceAccount (the controller creates it), so a
            // binding to it grants to someone already: SAG008's finding, not this one.
            if subject.name == "default"
                || cx.bundle.service_account(Some(ns), subject.name).is_some()
                || used.contains(&(ns, subject.name))
                || is_external(ns, subject.name)
            {
                continue;
            }
            let message = format!(
                "{} is neither defined nor run as by any workload in these manifests: the binding grants {} to \
                 nobody yet, and to whichever ServiceAccount is created with that name",
                rbac::describe_subject(&subject),
                rbac::describe_role_ref(binding.value)
            );
            out.report(binding, format!("/subjects/{}", subject.index), message);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::finding::Level;
    use crate::rules::testing::{lint, lint_with, located};
    use crate::settings::Settings;

    fn sa(name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "shop"}})
    }

    fn binding(subject: &str) -> Value {
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": format!("{subject}-reads"), "namespace": "shop"},
               "subjects": [{"kind": "ServiceAccount", "name": subject}],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"}})
    }

    fn deployment(service_account: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
               "spec": {"template": {"spec": {"serviceAccountName": service_account, "containers": [{"name": "c"}]}}}})
    }

    #[test]
    fn a_binding_to_the_default_service_account_is_left_to_sag008() {
        // `default` exists in every namespace, defined in the manifests or not.
        assert!(lint("SAG016", &[binding("default")]).is_empty());
        assert_eq!(located(&lint("SAG016", &[binding("defaults")])).len(), 1);
    }

    #[test]
    fn a_bound_service_account_nothing_runs_as() {
        let findings = lint("SAG016", &[sa("idle"), binding("idle")]);
        assert_eq!(located(&findings), [(
            "/metadata/name",
            "ServiceAccount shop/idle is bound by RoleBinding shop/idle-reads (Role reader) but no workload in these \
             manifests runs as it"
        )]);
        assert_eq!(findings[0].level, Level::Warn);
        assert_eq!(findings[0].object_index, 0);
    }

    #[test]
    fn a_binding_of_a_service_account_neither_defined_nor_used() {
        assert_eq!(located(&lint("SAG016", &[binding("gone")])), [(
            "/subjects/0",
            "ServiceAccount shop/gone is neither defined nor run as by any workload in these manifests: the binding \
             grants Role reader to nobody yet, and to whichever ServiceAccount is created with that name"
        )]);
    }

    #[test]
    fn near_misses() {
        // used by a workload
        assert!(lint("SAG016", &[sa("api"), binding("api"), deployment("api")]).is_empty());
        // used but defined elsewhere: SAG011's business, not this rule's
        assert!(lint("SAG016", &[binding("api"), deployment("api")]).is_empty());
        // defined and unused, but bound by nothing
        assert!(lint("SAG016", &[sa("idle")]).is_empty());
        // declared as used from elsewhere
        let settings =
            Settings { external_service_accounts: vec!["shop/idle".into(), "shop/gone".into()], ..Settings::default() };
        assert!(lint_with("SAG016", &[sa("idle"), binding("idle"), binding("gone")], &settings).is_empty());
    }
}
