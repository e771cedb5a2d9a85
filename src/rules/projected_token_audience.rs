use serde_json::Value;

use crate::bundle::Obj;
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s::{self, glob_match, PodSpec};
use crate::meta::{Category, Scope};
use crate::tokens::{token_mount, TokenMount};

declare_rule! {
    /// A projected `serviceAccountToken` is meant for one recipient: the lesson's
    /// `payment-processor` mounts one token with `audience: fraud-detection-api` and another with
    /// `audience: payment-gateway-prod`, so that "if an attacker extracts this token from the
    /// container, they cannot use it to authenticate to the Kubernetes API server (wrong
    /// audience) or to the payment gateway". Without an `audience` the token gets the API
    /// server's own audience: it is a full Kubernetes API credential, mounted at a path nobody
    /// thinks of as one — a way around `automountServiceAccountToken: false`.
    ///
    /// This is item 4 of the lesson's hardening checklist: use audience-bound projected tokens,
    /// "with explicit audience values", for external service authentication.
    ///
    /// Fires on: every `volumes[i].projected.sources[j].serviceAccountToken` in a pod-bearing kind
    /// (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController,
    /// PodTemplate) that has no `audience` (reported at `.../sources/j/serviceAccountToken`), an
    /// empty one (Kubernetes treats it as unset), or one matching `denied_audiences` (by default
    /// the API server's usual audiences: `kubernetes`, `https://kubernetes.default.svc`,
    /// `https://kubernetes.default.svc.cluster.local`, `api`) — reported at `.../audience`.
    ///
    /// Does not fire on: tokens with an audience of their own, like both of the lesson's; the
    /// `kube-api-access-*` volume that the ServiceAccount admission plugin injects, but only in a
    /// Pod whose effective `automountServiceAccountToken` (its own, else its ServiceAccount's) is
    /// not `false` — the only place the plugin puts it. The same volume in a Deployment or other
    /// template, or in a Pod whose token is disabled, was written by hand to get an API token
    /// anyway, and fires. (Whether the
    /// injected token should be there at all is SAG002's question.)
    ///
    /// Fix: set `audience` to the identifier the receiving service validates (its OIDC client
    /// id or URL). If the workload really needs the Kubernetes API, use the regular auto-mounted
    /// token with `automountServiceAccountToken: true` and a dedicated ServiceAccount, so the
    /// access is visible where reviewers and the other rules look for it. No automatic fix: the
    /// right audience is known only to you.
    ///
    /// In a cluster: the API server's audience is set by `--api-audiences` (by default the
    /// issuer, often `https://kubernetes.default.svc.cluster.local`; on EKS, GKE and AKS it
    /// differs), so add your cluster's value to `denied_audiences`. Cloud workload identity
    /// tokens (`sts.amazonaws.com`, the GKE workload pool) have their own audiences and pass.
    pub static RULE = {
        id: "SAG005",
        slug: "projected-token-audience",
        title: "A projected token has no audience, or a denied one",
        category: Category::TokenHygiene,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Set audience on the projected serviceAccountToken to the service that validates it \
            (e.g. audience: fraud-detection-api); never to the Kubernetes API server's audience.",
        references: &[
            "Lesson 39, hardening checklist item 4: use audience-bound projected tokens for external service authentication",
            "Lesson 39: audience binding prevents token reuse (the payment-processor example)",
            "Kubernetes docs: service account token volume projection (audience defaults to the API server's identifier)",
        ],
        peers: &[],
        check: check,
    };
}

/// A `serviceAccountToken` source of a projected volume.
pub(crate) struct ProjectedToken<'a> {
    /// JSON pointer of the `serviceAccountToken` object.
    pub pointer: String,
    /// The volume's name, for messages.
    pub volume: &'a str,
    pub token: &'a serde_json::Map<String, Value>,
}

/// The projected `serviceAccountToken` sources of a Pod spec, without the volume the
/// ServiceAccount admission plugin injected. The plugin injects `kube-api-access-*` only into
/// Pods whose effective `automountServiceAccountToken` is not `false` (the Pod's field, else
/// its ServiceAccount's); anywhere else such a volume was written by hand and is checked like
/// any other.
pub(crate) fn projected_tokens<'a>(cx: &Cx<'_>, obj: &Obj<'_>, spec: &PodSpec<'a>) -> Vec<ProjectedToken<'a>> {
    // Decided once, and only when a volume looks injected: it may need a ServiceAccount look-up.
    let mut injection_possible = None;
    let mut tokens = Vec::new();
    for (volume_pointer, volume) in spec.volumes() {
        if obj.kind == "Pod" && k8s::is_injected_api_access_volume(volume) {
            let possible =
                *injection_possible.get_or_insert_with(|| token_mount(cx, obj, spec) != TokenMount::Disabled);
            if possible {
                continue;
            }
        }
        let Some(sources) = k8s::at(volume, &["projected", "sources"]).and_then(Value::as_array) else { continue };
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("<unnamed>");
        for (j, source) in sources.iter().enumerate() {
            if let Some(token) = source.get("serviceAccountToken").and_then(Value::as_object) {
                tokens.push(ProjectedToken {
                    pointer: format!("{volume_pointer}/projected/sources/{j}/serviceAccountToken"),
                    volume: name,
                    token,
                });
            }
        }
    }
    tokens
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for (obj, spec) in cx.bundle.workloads() {
        for token in projected_tokens(cx, obj, &spec) {
            let volume = token.volume;
            let audience_path = format!("{}/audience", token.pointer);
            let (path, message) = match token.token.get("audience") {
                None | Some(Value::Null) => (
                    token.pointer.clone(),
                    format!(
                        "the projected token in volume {volume} has no audience, so it gets the API server's audience \
                         and works as a Kubernetes API credential"
                    ),
                ),
                Some(Value::String(audience)) if audience.is_empty() => (
                    audience_path,
                    format!(
                        "the projected token in volume {volume} has an empty audience, which Kubernetes treats as \
                         unset: the token gets the API server's audience and works as a Kubernetes API credential"
                    ),
                ),
                Some(Value::String(audience)) => {
                    let Some(pattern) = cx.settings.denied_audiences.iter().find(|p| glob_match(p, audience)) else {
                        continue;
                    };
                    let matched = if pattern == audience { String::new() } else { format!(" (pattern {pattern:?})") };
                    (
                        audience_path,
                        format!(
                            "the projected token in volume {volume} has audience {audience:?}, which is in \
                             denied_audiences{matched}"
                        ),
                    )
                }
                Some(other) => (
                    audience_path,
                    format!("the projected token in volume {volume} has audience {other}, not a string"),
                ),
            };
            out.report(obj, path, message);
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::rules::testing::{admit_without_cluster, in_every_pod_bearing_kind, lint, lint_with, located};
    use crate::settings::Settings;

    fn deployment_with_volumes(volumes: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "payment-processor", "namespace": "payments"},
        "spec": {"template": {"spec": {
            "serviceAccountName": "payment-processor-sa", "automountServiceAccountToken": false,
            "volumes": volumes, "containers": []
        }}}})
    }

    fn injected_volume() -> Value {
        json!({"name": "kube-api-access-x7k2p", "projected": {"sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}
        ]}})
    }

    #[test]
    fn lesson_payment_processor_passes() {
        let volumes = json!([
            {"name": "token-fraud-detection", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600, "audience": "fraud-detection-api"}}
            ]}},
            {"name": "token-payment-gateway", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 1800, "audience": "payment-gateway-prod"}},
                {"configMap": {"name": "payment-gateway-ca", "items": [{"key": "ca.crt", "path": "ca.crt"}]}}
            ]}}
        ]);
        assert!(lint("SAG005", &[deployment_with_volumes(volumes)]).is_empty());
    }

    #[test]
    fn missing_empty_and_denied_audiences() {
        let volumes = json!([
            {"name": "data", "emptyDir": {}},
            {"name": "api", "projected": {"sources": [
                {"configMap": {"name": "ca"}},
                {"serviceAccountToken": {"path": "token"}}
            ]}},
            {"name": "blank", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "audience": ""}}]}},
            {"name": "svc", "projected": {"sources": [
                {"serviceAccountToken": {"path": "a", "audience": "https://kubernetes.default.svc"}},
                {"serviceAccountToken": {"path": "b", "audience": "vault"}}
            ]}}
        ]);
        let findings = lint("SAG005", &[deployment_with_volumes(volumes)]);
        assert_eq!(located(&findings), [
            (
                "/spec/template/spec/volumes/1/projected/sources/1/serviceAccountToken",
                "the projected token in volume api has no audience, so it gets the API server's audience and works as a \
                 Kubernetes API credential"
            ),
            (
                "/spec/template/spec/volumes/2/projected/sources/0/serviceAccountToken/audience",
                "the projected token in volume blank has an empty audience, which Kubernetes treats as unset: the token \
                 gets the API server's audience and works as a Kubernetes API credential"
            ),
            (
                "/spec/template/spec/volumes/3/projected/sources/0/serviceAccountToken/audience",
                "the projected token in volume svc has audience \"https://kubernetes.default.svc\", which is in denied_audiences"
            ),
        ]);
        assert!(findings.iter().all(|f| f.fix.is_none()));
    }

    #[test]
    fn denied_audience_patterns_are_named() {
        let settings = Settings { denied_audiences: vec!["https://*.internal".into()], ..Settings::default() };
        let volumes = json!([{"name": "t", "projected": {"sources": [
            {"serviceAccountToken": {"audience": "https://api.internal"}},
            {"serviceAccountToken": {"audience": "kubernetes"}}
        ]}}]);
        let findings = lint_with("SAG005", &[deployment_with_volumes(volumes)], &settings);
        assert_eq!(
            located(&findings),
            [(
                "/spec/template/spec/volumes/0/projected/sources/0/serviceAccountToken/audience",
                "the projected token in volume t has audience \"https://api.internal\", which is in denied_audiences \
             (pattern \"https://*.internal\")"
            )]
        );
    }

    #[test]
    fn injected_volume_is_skipped_only_where_the_plugin_puts_it() {
        let pod = |automount: Option<Value>| {
            let mut pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"containers": [], "volumes": [injected_volume()]}});
            if let Some(value) = automount {
                pod["spec"]["automountServiceAccountToken"] = value;
            }
            pod
        };
        // As the webhook sees any Pod with auto-mount on.
        assert!(admit_without_cluster("SAG005", pod(None)).is_empty());
        assert!(admit_without_cluster("SAG005", pod(Some(json!(true)))).is_empty());
        // Auto-mount off ("no" in YAML 1.1), yet the token volume is there: written by hand.
        let findings = admit_without_cluster("SAG005", pod(Some(json!("no"))));
        assert_eq!(located(&findings), [(
            "/spec/volumes/0/projected/sources/0/serviceAccountToken",
            "the projected token in volume kube-api-access-x7k2p has no audience, so it gets the API server's audience \
             and works as a Kubernetes API credential"
        )]);
        // In a controller's template the plugin never injects it.
        let findings = lint("SAG005", &[deployment_with_volumes(json!([injected_volume()]))]);
        assert_eq!(located(&findings), [(
            "/spec/template/spec/volumes/0/projected/sources/0/serviceAccountToken",
            "the projected token in volume kube-api-access-x7k2p has no audience, so it gets the API server's audience \
             and works as a Kubernetes API credential"
        )]);
    }

    #[test]
    fn every_pod_bearing_kind() {
        let spec =
            json!({"volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]});
        for (object, spec_pointer) in in_every_pod_bearing_kind(&spec) {
            let path = format!("{spec_pointer}/volumes/0/projected/sources/0/serviceAccountToken");
            let findings = lint("SAG005", std::slice::from_ref(&object));
            assert_eq!(findings.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), [path.as_str()], "{object}");
        }
    }

    #[test]
    fn malformed_volumes_do_not_panic() {
        let volumes = json!([
            "not-a-volume",
            {"name": "x", "projected": {"sources": "nope"}},
            {"name": "y", "projected": {"sources": [{"serviceAccountToken": null}, {"serviceAccountToken": "token"}]}},
            {"name": "z", "projected": {"sources": [{"serviceAccountToken": {"audience": 42}}]}}
        ]);
        let findings = lint("SAG005", &[deployment_with_volumes(volumes)]);
        assert_eq!(
            located(&findings),
            [(
                "/spec/template/spec/volumes/3/projected/sources/0/serviceAccountToken/audience",
                "the projected token in volume z has audience 42, not a string"
            )]
        );
        assert!(lint("SAG005", &[json!({"kind": "Pod", "spec": {"volumes": {"a": 1}}})]).is_empty());
    }
}
