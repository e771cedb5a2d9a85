use serde_json::Value;

use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s::SaSource;
use crate::meta::{Category, Scope};
use crate::tokens::{
    describe_service_account, level_after_lookup_failure, token_mount, unknown_clause, OptIn, TokenMount, Unknown,
};

declare_rule! {
    /// A Pod that names no ServiceAccount runs as its namespace's `default` ServiceAccount, shared
    /// by every other Pod that names none. When its token is mounted, whatever `default` is ever
    /// granted — by a mistaken RoleBinding, an operator's install script, a copy-pasted manifest —
    /// reaches this workload and all the others at once: the lesson's "default ServiceAccount
    /// trap". It is also an anonymous identity: audit logs show `system:serviceaccount:<ns>:default`
    /// and cannot tell which workload made a call.
    ///
    /// This is item 2 of the lesson's hardening checklist: create a dedicated ServiceAccount for
    /// every workload that calls the API, scoped to exactly what it needs, as the lesson does for
    /// `order-api` (`order-api-sa` with a read-only Role on ConfigMaps).
    ///
    /// Fires on: a Pod spec in any pod-bearing kind (Pod, Deployment, ReplicaSet, StatefulSet,
    /// DaemonSet, Job, CronJob, ReplicationController, PodTemplate) that runs as `default` —
    /// `serviceAccountName` missing, empty (`""`) or `default`, or only the deprecated
    /// `serviceAccount` field set to `default` — while a token is mounted: the effective
    /// `automountServiceAccountToken` is `true`, whether explicitly (on the Pod or on `default`
    /// itself), by Kubernetes' default, or because `default` could not be read (not in the
    /// manifests, lookups off, missing, or a failed look-up, which follows `on_lookup_failure`).
    /// The message says which of these holds. Reported at `<pod spec>/serviceAccountName`, or at
    /// `<pod spec>/serviceAccount` when only the deprecated field names `default`.
    ///
    /// Does not fire on: workloads with a dedicated ServiceAccount; workloads on `default` without
    /// a token (`automountServiceAccountToken: false` on the Pod, or on `default` when the Pod
    /// omits it) — they carry no credential, so the shared identity grants nothing; `default` in a
    /// namespace matched by `allowed_token_service_accounts` (e.g. `kube-system/default`).
    ///
    /// Fix (not automatic — only you know what the workload needs): if it never calls the API,
    /// set `automountServiceAccountToken: false` (SAG002's fix); if it does, create a dedicated
    /// ServiceAccount, bind it to a minimal Role, and set `serviceAccountName`.
    ///
    /// In a cluster: the ServiceAccount admission plugin writes `serviceAccountName: default` into
    /// every Pod that names none, so at admission the path is always `serviceAccountName`; for a
    /// Pod created by a controller, fix the controller's template, not the Pod. Unlike
    /// kube-linter's `default-service-account`, this rule is on by default and, like it, silent
    /// when no token is mounted.
    pub static RULE = {
        id: "SAG003",
        slug: "workload-default-sa",
        title: "A workload with a mounted token runs as the default ServiceAccount",
        category: Category::Identity,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Give the workload a dedicated ServiceAccount bound to a minimal Role and set serviceAccountName; \
            if it never calls the API, set automountServiceAccountToken: false instead.",
        references: &[
            "Lesson 39, hardening checklist item 2: create a dedicated SA for every workload that calls the API",
            "Lesson 39: the default ServiceAccount trap — every Pod that doesn't specify a ServiceAccount uses it",
            "CIS Kubernetes Benchmark 5.1.5: ensure that default service accounts are not actively used",
        ],
        peers: &["kube-linter default-service-account"],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for (obj, spec) in cx.bundle.workloads() {
        let (sa_name, source) = spec.service_account();
        if sa_name != "default" || cx.settings.is_token_allowed(obj.namespace, sa_name) {
            continue;
        }
        let (path, named) = match source {
            SaSource::DeprecatedField => (
                spec.pointer("serviceAccount"),
                "only the deprecated serviceAccount field names the ServiceAccount (default)",
            ),
            SaSource::ServiceAccountName => (spec.pointer("serviceAccountName"), "serviceAccountName is default"),
            SaSource::Defaulted => match spec.field("serviceAccountName") {
                Some(Value::String(_)) => (spec.pointer("serviceAccountName"), "serviceAccountName is empty"),
                Some(_) => (spec.pointer("serviceAccountName"), "serviceAccountName is not a name"),
                None => (spec.pointer("serviceAccountName"), "no serviceAccountName is set"),
            },
        };
        let service_account = describe_service_account(obj.namespace, "default");
        let mut level = out.level();
        let token = match token_mount(cx, obj, &spec) {
            TokenMount::Disabled => continue,
            // Kubernetes rejects the object; SAG002 reports the field.
            TokenMount::Invalid(_) => continue,
            TokenMount::OptedIn(OptIn::PodSpec) => "the Pod spec sets automountServiceAccountToken: true".to_string(),
            TokenMount::OptedIn(OptIn::ServiceAccount) => {
                format!("{service_account} sets automountServiceAccountToken: true")
            }
            TokenMount::ByDefault => {
                format!("neither the Pod spec nor {service_account} sets automountServiceAccountToken")
            }
            TokenMount::SaUnknown(unknown) => {
                if let Unknown::Failed(_) = unknown {
                    match level_after_lookup_failure(cx, level) {
                        Some(lowered) => level = lowered,
                        None => continue,
                    }
                }
                format!(
                    "the Pod spec does not set automountServiceAccountToken and {}; Kubernetes' default is true",
                    unknown_clause(&service_account, &unknown)
                )
            }
        };
        let message = format!(
            "{named}, so the workload runs as the namespace's shared default ServiceAccount with an API token \
             mounted ({token})"
        );
        out.report(obj, path, message).level = level;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::finding::Level;
    use crate::lookup::StaticCluster;
    use crate::rules::testing::{admit, admit_without_cluster, in_every_pod_bearing_kind, lint, lint_with, located};
    use crate::settings::{OnLookupFailure, Settings};

    fn deployment(pod_spec: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "checkout-api", "namespace": "production"},
            "spec": {"template": {"spec": pod_spec}}
        })
    }

    fn default_sa(automount: Option<bool>) -> Value {
        let mut sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "production"}});
        if let Some(value) = automount {
            sa["automountServiceAccountToken"] = json!(value);
        }
        sa
    }

    #[test]
    fn lesson_checkout_api_on_default_with_token() {
        let findings = lint("SAG003", &[default_sa(None), deployment(json!({"containers": []}))]);
        assert_eq!(located(&findings), [(
            "/spec/template/spec/serviceAccountName",
            "no serviceAccountName is set, so the workload runs as the namespace's shared default ServiceAccount with an \
             API token mounted (neither the Pod spec nor ServiceAccount production/default sets automountServiceAccountToken)"
        )]);
        assert_eq!(findings[0].object.to_string(), "Deployment production/checkout-api");
        assert!(findings[0].fix.is_none());
    }

    #[test]
    fn messages_distinguish_how_default_was_chosen() {
        let message = |named: &str| {
            format!(
                "{named}, so the workload runs as the namespace's shared default ServiceAccount with an API token mounted \
                 (the Pod spec sets automountServiceAccountToken: true)"
            )
        };
        let cases = [
            (
                json!({"serviceAccountName": "", "automountServiceAccountToken": true}),
                "/spec/template/spec/serviceAccountName",
                "serviceAccountName is empty",
            ),
            (
                json!({"serviceAccountName": "default", "automountServiceAccountToken": "yes"}),
                "/spec/template/spec/serviceAccountName",
                "serviceAccountName is default",
            ),
            (
                json!({"serviceAccount": "default", "automountServiceAccountToken": true}),
                "/spec/template/spec/serviceAccount",
                "only the deprecated serviceAccount field names the ServiceAccount (default)",
            ),
            (
                json!({"serviceAccountName": "", "serviceAccount": "default", "automountServiceAccountToken": true}),
                "/spec/template/spec/serviceAccount",
                "only the deprecated serviceAccount field names the ServiceAccount (default)",
            ),
        ];
        for (spec, path, named) in cases {
            let findings = lint("SAG003", &[default_sa(Some(false)), deployment(spec.clone())]);
            assert_eq!(located(&findings), [(path, message(named).as_str())], "{spec}");
        }
    }

    #[test]
    fn token_from_the_default_service_account_or_unknown() {
        let findings = lint("SAG003", &[default_sa(Some(true)), deployment(json!({}))]);
        assert_eq!(located(&findings), [(
            "/spec/template/spec/serviceAccountName",
            "no serviceAccountName is set, so the workload runs as the namespace's shared default ServiceAccount with an \
             API token mounted (ServiceAccount production/default sets automountServiceAccountToken: true)"
        )]);
        let findings = lint("SAG003", &[deployment(json!({}))]);
        assert_eq!(located(&findings), [(
            "/spec/template/spec/serviceAccountName",
            "no serviceAccountName is set, so the workload runs as the namespace's shared default ServiceAccount with an \
             API token mounted (the Pod spec does not set automountServiceAccountToken and ServiceAccount \
             production/default is not defined in these manifests, so its automountServiceAccountToken is unknown; \
             Kubernetes' default is true)"
        )]);
    }

    #[test]
    fn silent_without_a_token_or_with_a_dedicated_service_account() {
        // The Pod disables the token (YAML 1.1 "off").
        assert!(lint("SAG003", &[deployment(json!({"automountServiceAccountToken": "off"}))]).is_empty());
        // default disables it and the Pod does not override.
        assert!(lint("SAG003", &[default_sa(Some(false)), deployment(json!({}))]).is_empty());
        // Dedicated ServiceAccount, even with an explicit true (the lesson's order-api).
        assert!(lint(
            "SAG003",
            &[deployment(json!({"serviceAccountName": "order-api-sa", "automountServiceAccountToken": true}))]
        )
        .is_empty());
        // The deprecated field naming a dedicated ServiceAccount is not default.
        assert!(lint("SAG003", &[deployment(json!({"serviceAccount": "order-api-sa"}))]).is_empty());
    }

    #[test]
    fn allow_listed_default_is_exempt() {
        let settings =
            Settings { allowed_token_service_accounts: vec!["production/default".into()], ..Settings::default() };
        assert!(lint_with("SAG003", &[deployment(json!({}))], &settings).is_empty());
    }

    #[test]
    fn every_pod_bearing_kind() {
        let spec = json!({"serviceAccountName": ""});
        for (object, spec_pointer) in in_every_pod_bearing_kind(&spec) {
            let path = format!("{spec_pointer}/serviceAccountName");
            let findings = lint("SAG003", std::slice::from_ref(&object));
            assert_eq!(findings.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), [path.as_str()], "{object}");
        }
    }

    #[test]
    fn admission_lookups_and_failures() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
                         "spec": {"serviceAccountName": "default", "serviceAccount": "default"}});
        let findings = admit_without_cluster("SAG003", pod.clone());
        assert_eq!(located(&findings), [(
            "/spec/serviceAccountName",
            "serviceAccountName is default, so the workload runs as the namespace's shared default ServiceAccount with an \
             API token mounted (the Pod spec does not set automountServiceAccountToken and ServiceAccount shop/default \
             was not looked up because context-aware lookups are off, so its automountServiceAccountToken is unknown; \
             Kubernetes' default is true)"
        )]);

        let lookups = |on_lookup_failure| Settings { context_aware: true, on_lookup_failure, ..Settings::default() };
        let disabled = StaticCluster {
            objects: vec![
                json!({"kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "shop"}, "automountServiceAccountToken": false}),
            ],
            failure: None,
        };
        assert!(admit("SAG003", pod.clone(), &lookups(OnLookupFailure::Deny), &disabled).is_empty());

        let failing = StaticCluster { objects: vec![], failure: Some("forbidden".into()) };
        let warned = admit("SAG003", pod.clone(), &lookups(OnLookupFailure::Warn), &failing);
        assert_eq!(located(&warned), [(
            "/spec/serviceAccountName",
            "serviceAccountName is default, so the workload runs as the namespace's shared default ServiceAccount with an \
             API token mounted (the Pod spec does not set automountServiceAccountToken and looking up ServiceAccount \
             shop/default failed (forbidden), so its automountServiceAccountToken is unknown; Kubernetes' default is true)"
        )]);
        assert_eq!(warned[0].level, Level::Warn);
        assert_eq!(admit("SAG003", pod.clone(), &lookups(OnLookupFailure::Deny), &failing)[0].level, Level::Deny);
        assert!(admit("SAG003", pod, &lookups(OnLookupFailure::Allow), &failing).is_empty());
    }
}
