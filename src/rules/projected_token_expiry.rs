use serde_json::{json, Value};

use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::{Fix, Level};
use crate::k8s;
use crate::meta::{Category, Scope};
use crate::rules::projected_token_audience::projected_tokens;
use crate::settings::MIN_TOKEN_EXPIRATION_SECONDS;

/// What Kubernetes issues when a projected token sets no `expirationSeconds`.
const DEFAULT_EXPIRATION_SECONDS: i64 = 3600;

declare_rule! {
    /// Projected tokens replaced the legacy Secret tokens because those "never expired": a stolen
    /// projected token is only useful until its `exp` claim. The kubelet refreshes the file at 80%
    /// of the lifetime, so a short lifetime costs the application nothing — the lesson's
    /// `payment-processor` uses one hour for the fraud API and "30 minutes — shorter for the
    /// sensitive payment gateway". A token that lives a day or a week gives an attacker who
    /// copied it a day or a week.
    ///
    /// This completes item 4 of the lesson's hardening checklist (audience-bound projected
    /// tokens): short-lived as well as audience-bound.
    ///
    /// Fires on, for every projected `serviceAccountToken` in a pod-bearing kind (Pod,
    /// Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController,
    /// PodTemplate), at `.../sources/j/serviceAccountToken/expirationSeconds`:
    /// `expirationSeconds` above `max_token_expiration_seconds` (default 3600) — fix: the
    /// maximum; below 600 seconds, Kubernetes' minimum, which the API server rejects — fix: 600;
    /// a value that is not a number — fix: the maximum; no `expirationSeconds` while the
    /// configured maximum is below Kubernetes' default of 3600 — fix: add the maximum. Numbers
    /// written as strings (`"86400"`) count as numbers.
    ///
    /// Does not fire on: lifetimes from 600 seconds to the maximum, such as the lesson's 3600 and
    /// 1800; a missing `expirationSeconds` when the maximum is 3600 or more; the injected
    /// `kube-api-access-*` volume (3607 seconds) in Pods whose effective auto-mount is not `false` — the
    /// same exception as SAG005, so a hand-written copy in a template or in a Pod with
    /// auto-mount off (its own or its ServiceAccount's) is checked.
    ///
    /// Fix: set `expirationSeconds` within the bounds; the application must re-read the token
    /// file (every Kubernetes client library does).
    ///
    /// In a cluster: the API server may shorten requested lifetimes
    /// (`--service-account-max-token-expiration`), and it extends the injected token to a year
    /// for legacy clients (`--service-account-extend-token-expiration`, on by default), which is
    /// why the injected token is left to SAG002 rather than judged here. The fix is offered to
    /// the CLI and the playground but not applied by `mutate: true`.
    pub static RULE = {
        id: "SAG006",
        slug: "projected-token-expiry",
        title: "A projected token lives too long, or less than Kubernetes allows",
        category: Category::TokenHygiene,
        default_level: Level::Warn,
        scope: Scope::Object,
        fixable: true,
        remediation: "Set expirationSeconds on the projected serviceAccountToken between 600 and \
            max_token_expiration_seconds (3600 by default); the kubelet refreshes the token before it expires.",
        references: &[
            "Lesson 39, hardening checklist item 4: use audience-bound projected tokens (short-lived, auto-rotated)",
            "Lesson 39: the payment-processor example — expirationSeconds 3600, and 1800 for the sensitive gateway",
            "Kubernetes API reference, ServiceAccountTokenProjection: expirationSeconds defaults to 1 hour, minimum 10 minutes",
        ],
        peers: &[],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    // Settings validation keeps the maximum at 600 or more; settings built in code may not.
    let max = cx.settings.max_token_expiration_seconds.max(MIN_TOKEN_EXPIRATION_SECONDS);
    for (obj, spec) in cx.bundle.workloads() {
        for token in projected_tokens(cx, obj, &spec) {
            let volume = token.volume;
            let path = format!("{}/expirationSeconds", token.pointer);
            let (message, op, value) = match token.token.get("expirationSeconds") {
                None | Some(Value::Null) if max < DEFAULT_EXPIRATION_SECONDS => (
                    format!(
                        "the projected token in volume {volume} sets no expirationSeconds, so Kubernetes issues it for \
                         {DEFAULT_EXPIRATION_SECONDS} seconds, longer than max_token_expiration_seconds ({max})"
                    ),
                    "add",
                    max,
                ),
                None | Some(Value::Null) => continue,
                Some(raw) => match k8s::as_i64(raw) {
                    Some(seconds) if seconds > max => (
                        format!(
                            "the projected token in volume {volume} lives {seconds} seconds, longer than \
                             max_token_expiration_seconds ({max})"
                        ),
                        "replace",
                        max,
                    ),
                    Some(seconds) if seconds < MIN_TOKEN_EXPIRATION_SECONDS => (
                        format!(
                            "the projected token in volume {volume} asks for {seconds} seconds, below Kubernetes' \
                             minimum of {MIN_TOKEN_EXPIRATION_SECONDS}: the API server rejects it"
                        ),
                        "replace",
                        MIN_TOKEN_EXPIRATION_SECONDS,
                    ),
                    Some(_) => continue,
                    None => (
                        format!("the projected token in volume {volume} has expirationSeconds {raw}, not a number of seconds"),
                        "replace",
                        max,
                    ),
                },
            };
            let operation = json!({"op": op, "path": path, "value": value});
            out.report(obj, path, message).fix =
                Some(Fix::new(format!("set expirationSeconds to {value}"), [operation]));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::finding::{Finding, Level};
    use crate::rules::testing::{admit_without_cluster, lint, lint_with, located};
    use crate::settings::Settings;

    fn with_tokens(kind: &str, tokens: Value) -> Value {
        let sources: Vec<Value> =
            tokens.as_array().unwrap().iter().map(|t| json!({"serviceAccountToken": t})).collect();
        let spec = json!({"automountServiceAccountToken": false, "volumes": [{"name": "creds", "projected": {"sources": sources}}]});
        match kind {
            "Pod" => json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "payments"}, "spec": spec}),
            "CronJob" => json!({"kind": "CronJob", "metadata": {"name": "c", "namespace": "payments"},
                "spec": {"jobTemplate": {"spec": {"template": {"spec": spec}}}}}),
            _ => {
                json!({"kind": kind, "metadata": {"name": "w", "namespace": "payments"}, "spec": {"template": {"spec": spec}}})
            }
        }
    }

    fn fixes(findings: &[Finding]) -> Vec<(String, Value)> {
        findings
            .iter()
            .map(|f| {
                let fix = f.fix.as_ref().expect("fixable");
                (fix.description.clone(), serde_json::to_value(&fix.patch).unwrap())
            })
            .collect()
    }

    #[test]
    fn lesson_lifetimes_pass() {
        let object = with_tokens(
            "Deployment",
            json!([
                {"path": "token", "expirationSeconds": 3600, "audience": "fraud-detection-api"},
                {"path": "token", "expirationSeconds": 1800, "audience": "payment-gateway-prod"},
                {"path": "token", "audience": "default-lifetime"}
            ]),
        );
        assert!(lint("SAG006", &[object]).is_empty());
    }

    #[test]
    fn too_long_too_short_and_strings() {
        let object = with_tokens(
            "Deployment",
            json!([
                {"audience": "a", "expirationSeconds": 86400},
                {"audience": "b", "expirationSeconds": "7200"},
                {"audience": "c", "expirationSeconds": 300},
                {"audience": "d", "expirationSeconds": "600"},
                {"audience": "e", "expirationSeconds": "a day"}
            ]),
        );
        let base = "/spec/template/spec/volumes/0/projected/sources";
        let findings = lint("SAG006", std::slice::from_ref(&object));
        let paths: Vec<String> =
            [0, 1, 2, 4].iter().map(|j| format!("{base}/{j}/serviceAccountToken/expirationSeconds")).collect();
        assert_eq!(located(&findings), [
            (paths[0].as_str(), "the projected token in volume creds lives 86400 seconds, longer than max_token_expiration_seconds (3600)"),
            (paths[1].as_str(), "the projected token in volume creds lives 7200 seconds, longer than max_token_expiration_seconds (3600)"),
            (
                paths[2].as_str(),
                "the projected token in volume creds asks for 300 seconds, below Kubernetes' minimum of 600: the API server rejects it"
            ),
            (paths[3].as_str(), "the projected token in volume creds has expirationSeconds \"a day\", not a number of seconds"),
        ]);
        assert!(findings.iter().all(|f| f.level == Level::Warn));
        assert_eq!(
            fixes(&findings),
            [
                (
                    "set expirationSeconds to 3600".to_string(),
                    json!([{"op": "replace", "path": paths[0], "value": 3600}])
                ),
                (
                    "set expirationSeconds to 3600".to_string(),
                    json!([{"op": "replace", "path": paths[1], "value": 3600}])
                ),
                (
                    "set expirationSeconds to 600".to_string(),
                    json!([{"op": "replace", "path": paths[2], "value": 600}])
                ),
                (
                    "set expirationSeconds to 3600".to_string(),
                    json!([{"op": "replace", "path": paths[3], "value": 3600}])
                ),
            ]
        );
        let mut fixed = object;
        for finding in &findings {
            json_patch::patch(&mut fixed, &finding.fix.as_ref().unwrap().patch).unwrap();
        }
        assert!(lint("SAG006", &[fixed]).is_empty());
    }

    #[test]
    fn missing_lifetime_fires_only_below_the_kubernetes_default() {
        let object =
            with_tokens("CronJob", json!([{"audience": "vault"}, {"audience": "s3", "expirationSeconds": 900}]));
        assert!(lint("SAG006", std::slice::from_ref(&object)).is_empty());

        let settings = Settings { max_token_expiration_seconds: 1200, ..Settings::default() };
        let findings = lint_with("SAG006", std::slice::from_ref(&object), &settings);
        let path =
            "/spec/jobTemplate/spec/template/spec/volumes/0/projected/sources/0/serviceAccountToken/expirationSeconds";
        assert_eq!(located(&findings), [(
            path,
            "the projected token in volume creds sets no expirationSeconds, so Kubernetes issues it for 3600 seconds, \
             longer than max_token_expiration_seconds (1200)"
        )]);
        assert_eq!(
            fixes(&findings),
            [("set expirationSeconds to 1200".to_string(), json!([{"op": "add", "path": path, "value": 1200}]))]
        );
        let mut fixed = object;
        json_patch::patch(&mut fixed, &findings[0].fix.as_ref().unwrap().patch).unwrap();
        assert!(lint_with("SAG006", &[fixed], &settings).is_empty());
    }

    #[test]
    fn every_pod_bearing_kind_including_replication_controller() {
        for kind in
            ["Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicationController"]
        {
            let findings =
                lint("SAG006", &[with_tokens(kind, json!([{"audience": "x", "expirationSeconds": 31536000}]))]);
            assert_eq!(findings.len(), 1, "{kind}");
            assert!(
                findings[0].path.ends_with("/volumes/0/projected/sources/0/serviceAccountToken/expirationSeconds"),
                "{kind}"
            );
        }
    }

    #[test]
    fn injected_volume_skipped_only_in_pods_that_mount_a_token() {
        let injected = json!({"name": "kube-api-access-abcde", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt"}}
        ]}});
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
            "spec": {"serviceAccountName": "default", "volumes": [injected.clone()]}});
        assert!(admit_without_cluster("SAG006", pod.clone()).is_empty());

        let mut disabled = pod;
        disabled["spec"]["automountServiceAccountToken"] = json!(false);
        let findings = admit_without_cluster("SAG006", disabled);
        assert_eq!(located(&findings), [(
            "/spec/volumes/0/projected/sources/0/serviceAccountToken/expirationSeconds",
            "the projected token in volume kube-api-access-abcde lives 3607 seconds, longer than max_token_expiration_seconds (3600)"
        )]);

        let template =
            json!({"kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": {"volumes": [injected]}}});
        assert_eq!(
            lint("SAG006", &[template]).iter().map(|f| f.path.as_str()).collect::<Vec<_>>(),
            ["/template/spec/volumes/0/projected/sources/0/serviceAccountToken/expirationSeconds"]
        );
    }
}
