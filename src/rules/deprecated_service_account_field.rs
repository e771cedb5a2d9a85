use serde_json::{json, Value};

use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::{Fix, Level};
use crate::meta::{Category, Scope};

declare_rule! {
    /// `spec.serviceAccount` is the deprecated alias of `spec.serviceAccountName`. Kubernetes still
    /// honours it when `serviceAccountName` is empty, but people and tools read
    /// `serviceAccountName` — the field the lesson teaches ("what field in a Pod spec specifies
    /// which ServiceAccount the Pod should run as?"). A manifest that names its identity only
    /// through the old field is easy to misread in review, and several scanners then assume the
    /// Pod runs as `default` (or as nothing) and judge it wrongly. When both fields are set and
    /// differ, `serviceAccountName` wins and the other value is a lie about the Pod's identity.
    ///
    /// The lesson's hardening checklist depends on knowing which ServiceAccount each workload
    /// uses (items 2 and 5: a dedicated SA per workload, regular audits of SA usage); this rule
    /// keeps that answer in one unambiguous place.
    ///
    /// Fires on, in every pod-bearing kind: `serviceAccount` set (non-empty) while
    /// `serviceAccountName` is missing or empty — fix: add `serviceAccountName` with the same
    /// value and remove `serviceAccount`; `serviceAccount` set to a different value than
    /// `serviceAccountName` — fix: remove `serviceAccount` (the Pod already runs as
    /// `serviceAccountName`). Reported at `<pod spec>/serviceAccount`.
    ///
    /// Does not fire on: `serviceAccount` equal to `serviceAccountName` — the API server fills the
    /// deprecated field in on every Pod it stores, so Pods read back from a cluster
    /// (`kubectl get pod -o yaml`) and Pods at admission always carry both; an empty
    /// `serviceAccount`.
    ///
    /// Fix: use `serviceAccountName` only. Both fixes keep the ServiceAccount the Pod actually runs
    /// as, so they change nothing in the cluster.
    ///
    /// In a cluster: the fix is offered to the CLI and the playground but not applied by
    /// `mutate: true`; on a Deployment, changing only this field still rolls the Pods.
    pub static RULE = {
        id: "SAG004",
        slug: "deprecated-service-account-field",
        title: "The deprecated serviceAccount field names the ServiceAccount",
        category: Category::Identity,
        default_level: Level::Warn,
        scope: Scope::Object,
        fixable: true,
        remediation: "Name the ServiceAccount with serviceAccountName and delete the deprecated serviceAccount field.",
        references: &[
            "Lesson 39, practice question 3: serviceAccountName under spec specifies which ServiceAccount the Pod runs as",
            "Kubernetes API reference, PodSpec: serviceAccount is a deprecated alias for serviceAccountName",
        ],
        peers: &["kube-linter deprecated-service-account-field", "Kubescape C-0294"],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for (obj, spec) in cx.bundle.workloads() {
        let non_empty = |field: &str| spec.field(field).and_then(Value::as_str).filter(|s| !s.is_empty());
        let Some(deprecated) = non_empty("serviceAccount") else { continue };
        let deprecated_path = spec.pointer("serviceAccount");
        let (message, description, ops) = match non_empty("serviceAccountName") {
            Some(name) if name == deprecated => continue,
            Some(name) => (
                format!(
                    "serviceAccount is {deprecated} but serviceAccountName is {name}: Kubernetes uses \
                     serviceAccountName, so the Pod runs as {name}, not {deprecated}"
                ),
                "remove the deprecated serviceAccount field".to_string(),
                vec![json!({"op": "remove", "path": deprecated_path})],
            ),
            None => (
                format!(
                    "only the deprecated serviceAccount field names the ServiceAccount ({deprecated}); \
                     use serviceAccountName"
                ),
                format!("rename serviceAccount to serviceAccountName: {deprecated}"),
                vec![
                    json!({"op": "add", "path": spec.pointer("serviceAccountName"), "value": deprecated}),
                    json!({"op": "remove", "path": deprecated_path}),
                ],
            ),
        };
        out.report(obj, deprecated_path, message).fix = Some(Fix::new(description, ops));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::rules::testing::{admit_without_cluster, lint, located};

    fn fix_of(findings: &[crate::finding::Finding]) -> (String, Value) {
        let fix = findings[0].fix.as_ref().expect("fixable");
        (fix.description.clone(), serde_json::to_value(&fix.patch).unwrap())
    }

    #[test]
    fn deprecated_field_alone_is_renamed() {
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "order-api", "namespace": "production"},
            "spec": {"template": {"spec": {"serviceAccount": "order-api-sa", "containers": []}}}});
        let findings = lint("SAG004", std::slice::from_ref(&deployment));
        assert_eq!(located(&findings), [(
            "/spec/template/spec/serviceAccount",
            "only the deprecated serviceAccount field names the ServiceAccount (order-api-sa); use serviceAccountName"
        )]);
        assert_eq!(
            fix_of(&findings),
            (
                "rename serviceAccount to serviceAccountName: order-api-sa".to_string(),
                json!([
                    {"op": "add", "path": "/spec/template/spec/serviceAccountName", "value": "order-api-sa"},
                    {"op": "remove", "path": "/spec/template/spec/serviceAccount"},
                ])
            )
        );
        let mut fixed = deployment;
        json_patch::patch(&mut fixed, &findings[0].fix.as_ref().unwrap().patch).unwrap();
        assert_eq!(fixed["spec"]["template"]["spec"], json!({"serviceAccountName": "order-api-sa", "containers": []}));
        assert!(lint("SAG004", &[fixed]).is_empty());
    }

    #[test]
    fn empty_service_account_name_counts_as_missing() {
        let cronjob = json!({"kind": "CronJob", "metadata": {"name": "report"}, "spec": {"jobTemplate": {"spec": {"template": {"spec":
            {"serviceAccountName": "", "serviceAccount": "reporter"}}}}}});
        let findings = lint("SAG004", std::slice::from_ref(&cronjob));
        assert_eq!(
            located(&findings),
            [(
                "/spec/jobTemplate/spec/template/spec/serviceAccount",
                "only the deprecated serviceAccount field names the ServiceAccount (reporter); use serviceAccountName"
            )]
        );
        let mut fixed = cronjob;
        json_patch::patch(&mut fixed, &findings[0].fix.as_ref().unwrap().patch).unwrap();
        assert_eq!(fixed["spec"]["jobTemplate"]["spec"]["template"]["spec"], json!({"serviceAccountName": "reporter"}));
    }

    #[test]
    fn different_values_name_the_one_kubernetes_uses() {
        let rc = json!({"kind": "ReplicationController", "metadata": {"name": "legacy"}, "spec": {"template": {"spec":
            {"serviceAccountName": "app-sa", "serviceAccount": "admin-sa"}}}});
        let findings = lint("SAG004", &[rc]);
        assert_eq!(located(&findings), [(
            "/spec/template/spec/serviceAccount",
            "serviceAccount is admin-sa but serviceAccountName is app-sa: Kubernetes uses serviceAccountName, so the Pod \
             runs as app-sa, not admin-sa"
        )]);
        assert_eq!(
            fix_of(&findings),
            (
                "remove the deprecated serviceAccount field".to_string(),
                json!([{"op": "remove", "path": "/spec/template/spec/serviceAccount"}])
            )
        );
    }

    #[test]
    fn equal_values_and_absent_or_empty_field_are_silent() {
        // What the API server stores for every Pod, and what the webhook sees.
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
            "spec": {"serviceAccountName": "web-sa", "serviceAccount": "web-sa"}});
        assert!(admit_without_cluster("SAG004", pod).is_empty());
        assert!(lint(
            "SAG004",
            &[json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"serviceAccountName": "web-sa"}})]
        )
        .is_empty());
        assert!(lint("SAG004", &[json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"serviceAccount": ""}})])
            .is_empty());
        assert!(lint("SAG004", &[json!({"kind": "ServiceAccount", "metadata": {"name": "x"}, "serviceAccount": "y"})])
            .is_empty());
    }
}
