use std::collections::HashMap;

use serde_json::Value;

use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s::SaSource;
use crate::meta::{Category, Scope};
use crate::tokens::describe_service_account;

/// Labels that say which application a workload belongs to, strongest first.
const APP_LABELS: [&str; 2] = ["app.kubernetes.io/name", "app"];

/// How many other applications a message names before it summarises the rest.
const NAMED_IN_MESSAGE: usize = 5;

declare_rule! {
    /// A ServiceAccount is an identity, and RBAC grants permissions to identities. When two
    /// unrelated applications run as one ServiceAccount, each holds every permission granted for
    /// the other: compromise the less trusted one and you have the other's access too. Audit logs
    /// show the same `system:serviceaccount:<ns>:<name>` for both, so nobody can tell which one
    /// made a call, and the grants can never be narrowed to what either needs. The lesson's
    /// hardening checklist item 2 is explicit: "One SA per application, scoped to exactly the
    /// resources it needs. Never share SAs between unrelated workloads."
    ///
    /// This rule compares workloads across the whole set of manifests, so it runs on manifests
    /// only (CLI, playground), never at admission.
    ///
    /// A workload's application is its Pod template's `app.kubernetes.io/name` label, else the
    /// workload's own `app.kubernetes.io/name`, else the same two places for `app`, else the
    /// workload's name. (For a Pod, template and object are the same.)
    ///
    /// Fires on: every workload (any pod-bearing kind) that runs as a ServiceAccount other than
    /// `default` which workloads of a different application in the same namespace also run as.
    /// Reported at `<pod spec>/serviceAccountName` (or the deprecated `serviceAccount` when only
    /// it names the ServiceAccount); the message names the other applications, sorted (the first
    /// five, then a count).
    ///
    /// Does not fire on: several workloads of one application sharing its ServiceAccount — a
    /// Deployment and its migration Job or CronJob with the same `app` label are one application;
    /// the `default` ServiceAccount, which SAG003 covers; the same ServiceAccount name in different
    /// namespaces (they are different ServiceAccounts).
    ///
    /// Fix: give each application its own ServiceAccount with only the Role it needs, and point
    /// each workload's `serviceAccountName` at its own. If the workloads really are one
    /// application, give them the same `app.kubernetes.io/name` label.
    ///
    /// No peer (kube-linter, Checkov, Kubescape, Kyverno, Polaris, Trivy) checks this.
    pub static RULE = {
        id: "SAG012",
        slug: "shared-service-account",
        title: "One ServiceAccount is shared by unrelated workloads",
        category: Category::Identity,
        default_level: Level::Warn,
        scope: Scope::Bundle,
        fixable: false,
        remediation: "Create one ServiceAccount per application, bind each to a Role with only what that application \
            needs, and set each workload's serviceAccountName to its own; if the workloads are one application, give \
            them the same app.kubernetes.io/name label.",
        references: &[
            "Lesson 39, hardening checklist item 2: one SA per application, scoped to exactly the resources it needs; \
             never share SAs between unrelated workloads",
            "Kubernetes documentation: Recommended Labels (app.kubernetes.io/name)",
        ],
        peers: &[],
        check: check,
    };
}

/// One workload running as a ServiceAccount.
struct User<'a> {
    index: usize,
    application: &'a str,
    path: String,
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    // Group workloads by (namespace, ServiceAccount) in one pass: linear in the bundle.
    let mut by_service_account: HashMap<(Option<&str>, &str), Vec<User<'_>>> = HashMap::new();
    // Every workload, other parts' too: a subject shares its ServiceAccount with any of them.
    for (obj, spec) in cx.bundle.every_workload() {
        let (name, source) = spec.service_account();
        if source == SaSource::Defaulted || name == "default" {
            continue;
        }
        let field = if source == SaSource::DeprecatedField { "serviceAccount" } else { "serviceAccountName" };
        let application = application(obj.value, spec.metadata).unwrap_or(obj.name);
        by_service_account.entry((obj.namespace, name)).or_default().push(User {
            index: obj.index,
            application,
            path: spec.pointer(field),
        });
    }
    for ((namespace, name), users) in &by_service_account {
        let mut applications: Vec<&str> = users.iter().map(|u| u.application).collect();
        applications.sort_unstable();
        applications.dedup();
        if applications.len() < 2 {
            continue;
        }
        let service_account = describe_service_account(*namespace, name);
        for user in users.iter().filter(|user| cx.bundle.is_subject(user.index)) {
            let others = describe_others(&applications, user.application);
            let message = format!(
                "{service_account} is also used by {others}; this workload is {}, so each application holds the \
                 other's API permissions and audit logs cannot tell them apart",
                user.application
            );
            out.report(&cx.bundle.objects[user.index], user.path.clone(), message);
        }
    }
}

/// The workload's application label: the Pod template's, then the object's, for each label.
fn application<'a>(obj: &'a Value, template_metadata: Option<&'a Value>) -> Option<&'a str> {
    let label = |metadata: Option<&'a Value>, key: &str| {
        metadata?.get("labels")?.get(key)?.as_str().map(str::trim).filter(|v| !v.is_empty())
    };
    APP_LABELS.iter().find_map(|key| label(template_metadata, key).or_else(|| label(obj.get("metadata"), key)))
}

/// "application b", "applications b, c", or "applications b, c, d, e, f and 3 more", without `own`.
/// `applications` is sorted and deduplicated and contains `own`.
fn describe_others(applications: &[&str], own: &str) -> String {
    let others = applications.len() - 1;
    let shown: Vec<&str> = applications.iter().copied().filter(|a| *a != own).take(NAMED_IN_MESSAGE).collect();
    let noun = if others == 1 { "application" } else { "applications" };
    match others - shown.len() {
        0 => format!("{noun} {}", shown.join(", ")),
        more => format!("{noun} {} and {more} more", shown.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use serde_json::{json, Value};

    use crate::rules::testing::{admit_without_cluster, lint, located};

    fn deployment(name: &str, labels: Value, service_account: &str) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "shop"},
            "spec": {"template": {"metadata": {"labels": labels}, "spec": {"serviceAccountName": service_account}}}
        })
    }

    #[test]
    fn fires_on_each_workload_naming_the_others() {
        let findings = lint(
            "SAG012",
            &[
                deployment("order-api", json!({"app": "order-api"}), "shop-sa"),
                deployment("invoice-worker", json!({"app": "invoice-worker"}), "shop-sa"),
                // the recommended label wins over `app`
                deployment("mailer-v2", json!({"app": "legacy", "app.kubernetes.io/name": "mailer"}), "shop-sa"),
            ],
        );
        assert_eq!(located(&findings), [
            (
                "/spec/template/spec/serviceAccountName",
                "ServiceAccount shop/shop-sa is also used by applications invoice-worker, mailer; this workload is \
                 order-api, so each application holds the other's API permissions and audit logs cannot tell them apart"
            ),
            (
                "/spec/template/spec/serviceAccountName",
                "ServiceAccount shop/shop-sa is also used by applications mailer, order-api; this workload is \
                 invoice-worker, so each application holds the other's API permissions and audit logs cannot tell them \
                 apart"
            ),
            (
                "/spec/template/spec/serviceAccountName",
                "ServiceAccount shop/shop-sa is also used by applications invoice-worker, order-api; this workload is \
                 mailer, so each application holds the other's API permissions and audit logs cannot tell them apart"
            ),
        ]);
        assert_eq!(findings[2].object.to_string(), "Deployment shop/mailer-v2");
    }

    #[test]
    fn identity_falls_back_to_object_labels_then_name_and_reads_the_deprecated_field() {
        let findings = lint(
            "SAG012",
            &[
                json!({"kind": "Pod", "metadata": {"name": "debug", "namespace": "shop"}, "spec": {"serviceAccount": "shop-sa"}}),
                json!({"kind": "CronJob", "metadata": {"name": "nightly", "namespace": "shop", "labels": {"app": "order-api"}},
                   "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": "shop-sa"}}}}}}),
            ],
        );
        assert_eq!(located(&findings), [
            (
                "/spec/serviceAccount",
                "ServiceAccount shop/shop-sa is also used by application order-api; this workload is debug, so each \
                 application holds the other's API permissions and audit logs cannot tell them apart"
            ),
            (
                "/spec/jobTemplate/spec/template/spec/serviceAccountName",
                "ServiceAccount shop/shop-sa is also used by application debug; this workload is order-api, so each \
                 application holds the other's API permissions and audit logs cannot tell them apart"
            ),
        ]);
    }

    #[test]
    fn silent_for_one_application_default_or_other_namespaces() {
        // a Deployment and its CronJob of one application
        let cronjob = json!({"kind": "CronJob", "metadata": {"name": "order-api-cleanup", "namespace": "shop"},
            "spec": {"jobTemplate": {"spec": {"template": {"metadata": {"labels": {"app": "order-api"}},
                "spec": {"serviceAccountName": "order-api-sa"}}}}}});
        assert!(
            lint("SAG012", &[deployment("order-api", json!({"app": "order-api"}), "order-api-sa"), cronjob]).is_empty()
        );
        // the default ServiceAccount is SAG003's
        assert!(lint(
            "SAG012",
            &[
                deployment("order-api", json!({"app": "order-api"}), "default"),
                deployment("invoice-worker", json!({"app": "invoice-worker"}), "default"),
            ]
        )
        .is_empty());
        let mut elsewhere = deployment("invoice-worker", json!({"app": "invoice-worker"}), "shop-sa");
        elsewhere["metadata"]["namespace"] = json!("billing");
        assert!(
            lint("SAG012", &[deployment("order-api", json!({"app": "order-api"}), "shop-sa"), elsewhere]).is_empty()
        );
        assert!(admit_without_cluster("SAG012", deployment("order-api", json!({"app": "a"}), "shop-sa")).is_empty());
    }

    #[test]
    fn long_lists_are_summarised_and_ten_thousand_workloads_stay_fast() {
        let objects: Vec<Value> =
            (0..10_000).map(|i| deployment(&format!("app-{i:05}"), json!({}), "shop-sa")).collect();
        let started = Instant::now();
        let findings = lint("SAG012", &objects);
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        assert_eq!(findings.len(), 10_000);
        assert_eq!(
            findings[0].message,
            "ServiceAccount shop/shop-sa is also used by applications app-00001, app-00002, app-00003, app-00004, \
             app-00005 and 9994 more; this workload is app-00000, so each application holds the other's API \
             permissions and audit logs cannot tell them apart"
        );
    }
}
