use std::rc::Rc;

use serde_json::{json, Value};

use crate::bundle::Obj;
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::{Fix, Level};
use crate::k8s::{self, LEGACY_TOKEN_SECRET_TYPE};
use crate::lookup::Lookup;
use crate::meta::{Category, Scope};
use crate::tokens::level_after_lookup_failure;

/// The annotation naming the ServiceAccount a legacy token Secret belongs to.
const SERVICE_ACCOUNT_NAME_ANNOTATION: &str = "kubernetes.io/service-account.name";

/// The fields of a Secret looked up in the cluster that this rule reads (the policy asks the
/// host for these only: never the Secret's data).
pub const SECRET_FIELDS: &[&str] = &["type", "metadata.name", "metadata.namespace", "metadata.annotations"];

declare_rule! {
    /// Legacy ServiceAccount tokens are Secrets of type `kubernetes.io/service-account-token`.
    /// The lesson explains why they were retired: the tokens "never expired and were trivially
    /// readable from the Secret" — anyone who can read Secrets in the namespace, or any Pod that
    /// mounts one, holds the ServiceAccount's identity for good, with no audience and no bound
    /// Pod. Projected tokens (the default since Kubernetes 1.21 and the lesson's item 4) are
    /// short-lived, rotated by the kubelet and audience-bound; `kubectl create token` covers
    /// tools outside the cluster.
    ///
    /// Fires on:
    ///
    /// * a Secret with `type: kubernetes.io/service-account-token` (path `/type`): Kubernetes
    ///   fills it with a token that never expires;
    /// * a ServiceAccount with a non-empty `secrets` list (path `/secrets`): the legacy way of
    ///   attaching token Secrets to it. Fix: remove `/secrets`. (With the deprecated
    ///   `kubernetes.io/enforce-mountable-secrets` annotation the list also restricts which
    ///   Secrets Pods may mount; removing it then blocks those mounts until the Pods are moved
    ///   to projected tokens.)
    /// * a workload whose Pod spec reads such a Secret of its namespace — from the same bundle,
    ///   or at admission from the cluster with `context_aware` and `lookup_secrets`: a
    ///   `secret` volume (`.../volumes/<i>/secret/secretName`), a `secret` source of a projected
    ///   volume (`.../volumes/<i>/projected/sources/<j>/secret/name`), an environment variable
    ///   (`.../env/<k>/valueFrom/secretKeyRef/name`) or `envFrom` (`.../envFrom/<k>/secretRef/name`)
    ///   in containers, initContainers and ephemeralContainers.
    ///
    /// Does not fire on: other Secret types (opaque, TLS, docker config); `imagePullSecrets`;
    /// workloads reading a Secret that is not in the evaluated bundle and not looked up (at
    /// admission a Pod comes alone: without `lookup_secrets` only the Secret and the
    /// ServiceAccount themselves are checked there). A failed look-up follows
    /// `on_lookup_failure`. Each Secret is looked up once per workload, and at most 64 of them:
    /// a Pod may name tens of thousands, and a look-up is a call to the host that can reach the
    /// API server, so unbounded look-ups could hold the request past the webhook's timeout. The
    /// references past that budget are one finding, at the level `on_lookup_failure` gives.
    ///
    /// Fix: delete the Secret and the `secrets` list; mount a projected `serviceAccountToken`
    /// with an `audience` and `expirationSeconds` where a Pod needs a token, and use
    /// `kubectl create token` (TokenRequest) for clients outside the cluster.
    pub static RULE = {
        id: "SAG007",
        slug: "legacy-token-secret",
        title: "A long-lived legacy ServiceAccount token Secret",
        category: Category::TokenHygiene,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: true,
        remediation: "Delete kubernetes.io/service-account-token Secrets and the ServiceAccount's secrets list; \
            give Pods a projected serviceAccountToken volume (with audience and expirationSeconds) and give \
            outside clients short-lived tokens from kubectl create token.",
        references: &[
            "Lesson 39: legacy static tokens stored as Secrets were retired because they never expired and were \
             trivially readable from the Secret",
            "Lesson 39, hardening checklist item 4: use audience-bound projected tokens rather than long-lived \
             static credentials",
            "Kubernetes documentation: Service account token Secrets (kubernetes.io/service-account-token) and \
             legacy token clean-up",
            "KEP-2799: Reduction of Secret-based Service Account Tokens",
        ],
        peers: &["Kyverno deny-secret-service-account-token-type", "Kyverno check-serviceaccount-secrets"],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    // With no Secret to look at (none in the bundle, none from the cluster), no reference can
    // be judged: at admission without `lookup_secrets`, a Pod's thousands of them cost nothing.
    let secrets_known = cx.looks_up_secrets() || cx.bundle.objects.iter().any(|obj| obj.kind == "Secret");
    for obj in cx.bundle.subjects() {
        match obj.kind {
            "Secret" if is_legacy_token_secret(obj.value) => report_secret(obj, out),
            "ServiceAccount" => report_secrets_list(obj, out),
            _ => {}
        }
        if let Some(spec) = obj.pod_spec().filter(|_| secrets_known) {
            report_workload_reads(cx, obj, &spec, out);
        }
    }
}

fn is_legacy_token_secret(secret: &Value) -> bool {
    secret.get("type").and_then(Value::as_str) == Some(LEGACY_TOKEN_SECRET_TYPE)
}

fn namespace_text(namespace: Option<&str>) -> String {
    namespace.map(|ns| format!("namespace {ns}")).unwrap_or_else(|| "its namespace".to_string())
}

fn report_secret(secret: &Obj<'_>, out: &mut Emitter<'_>) {
    let owner = match k8s::annotation(secret.value, SERVICE_ACCOUNT_NAME_ANNOTATION) {
        Some(sa) if !sa.is_empty() => format!("a token for ServiceAccount {sa}"),
        _ => "a ServiceAccount token".to_string(),
    };
    out.report(
        secret,
        "/type",
        format!(
            "a Secret of type {LEGACY_TOKEN_SECRET_TYPE} holds {owner} that never expires, readable by anyone who can \
             read Secrets in {}",
            namespace_text(secret.namespace)
        ),
    );
}

fn report_secrets_list(sa: &Obj<'_>, out: &mut Emitter<'_>) {
    let Some(listed) = sa.value.get("secrets").and_then(Value::as_array).filter(|l| !l.is_empty()) else { return };
    let names: Vec<&str> = listed.iter().filter_map(|s| s.get("name").and_then(Value::as_str)).collect();
    let named = if names.is_empty() { String::new() } else { format!(" ({})", names.join(", ")) };
    let message = format!(
        "the ServiceAccount lists Secrets under secrets{named}, the legacy way of attaching long-lived token \
         Secrets; Pods get short-lived projected tokens without it"
    );
    out.report(sa, "/secrets", message).fix =
        Some(Fix::new("remove the secrets list", [json!({"op": "remove", "path": "/secrets"})]));
}

/// Where a Pod spec names a Secret. The finding's path and words are made only for a reference
/// that is reported: a Pod can name tens of thousands of Secrets.
struct SecretReference<'a> {
    secret: &'a str,
    /// The pointer of the volume or container that names it.
    owner: Rc<str>,
    via: Via<'a>,
}

enum Via<'a> {
    Volume { volume: &'a str },
    ProjectedVolume { volume: &'a str, source: usize },
    EnvVar { container: &'a str, variable: &'a str, index: usize },
    EnvFrom { container: &'a str, index: usize },
}

impl SecretReference<'_> {
    fn path(&self) -> String {
        let owner = &self.owner;
        match self.via {
            Via::Volume { .. } => format!("{owner}/secret/secretName"),
            Via::ProjectedVolume { source, .. } => format!("{owner}/projected/sources/{source}/secret/name"),
            Via::EnvVar { index, .. } => format!("{owner}/env/{index}/valueFrom/secretKeyRef/name"),
            Via::EnvFrom { index, .. } => format!("{owner}/envFrom/{index}/secretRef/name"),
        }
    }

    /// "volume token mounts", "container app reads environment variable TOKEN from", ...
    fn how(&self) -> String {
        match self.via {
            Via::Volume { volume } => format!("volume {volume} mounts"),
            Via::ProjectedVolume { volume, .. } => format!("projected volume {volume} mounts"),
            Via::EnvVar { container, variable, .. } => {
                format!("container {container} reads environment variable {variable} from")
            }
            Via::EnvFrom { container, .. } => format!("container {container} loads its environment from"),
        }
    }
}

fn secret_references<'a>(spec: &k8s::PodSpec<'a>) -> Vec<SecretReference<'a>> {
    let mut found = Vec::new();
    let text = |v: &'a Value, keys: &[&str]| k8s::str_at(v, keys);
    for (path, volume) in spec.volumes() {
        let (owner, volume_name): (Rc<str>, _) = (path.into(), text(volume, &["name"]).unwrap_or("<unnamed>"));
        if let Some(secret) = text(volume, &["secret", "secretName"]) {
            found.push(SecretReference { secret, owner: owner.clone(), via: Via::Volume { volume: volume_name } });
        }
        let sources = k8s::at(volume, &["projected", "sources"]).and_then(Value::as_array);
        for (source, item) in sources.into_iter().flatten().enumerate() {
            if let Some(secret) = text(item, &["secret", "name"]) {
                let via = Via::ProjectedVolume { volume: volume_name, source };
                found.push(SecretReference { secret, owner: owner.clone(), via });
            }
        }
    }
    for (path, container) in spec.containers() {
        let (owner, container_name): (Rc<str>, _) = (path.into(), text(container, &["name"]).unwrap_or("<unnamed>"));
        let env = container.get("env").and_then(Value::as_array);
        for (index, var) in env.into_iter().flatten().enumerate() {
            if let Some(secret) = text(var, &["valueFrom", "secretKeyRef", "name"]) {
                let variable = text(var, &["name"]).unwrap_or("<unnamed>");
                let via = Via::EnvVar { container: container_name, variable, index };
                found.push(SecretReference { secret, owner: owner.clone(), via });
            }
        }
        let env_from = container.get("envFrom").and_then(Value::as_array);
        for (index, source) in env_from.into_iter().flatten().enumerate() {
            if let Some(secret) = text(source, &["secretRef", "name"]) {
                let via = Via::EnvFrom { container: container_name, index };
                found.push(SecretReference { secret, owner: owner.clone(), via });
            }
        }
    }
    found
}

/// The most distinct Secrets looked up in the cluster for one workload (see the rule's
/// documentation).
pub const MAX_SECRET_LOOKUPS: usize = 64;

fn report_workload_reads(cx: &Cx<'_>, workload: &Obj<'_>, spec: &k8s::PodSpec<'_>, out: &mut Emitter<'_>) {
    // Each Secret's answer, in the order asked (at most MAX_SECRET_LOOKUPS, so a list will do).
    let mut looked_up: Vec<(&str, Lookup)> = Vec::new();
    let mut not_looked_up: Vec<SecretReference<'_>> = Vec::new();
    for reference in secret_references(spec) {
        // The bundle's Secret is read in place; only one from the cluster is held by value.
        let in_bundle = cx.bundle.secret(workload.namespace, reference.secret).map(|obj| obj.value);
        let asked = looked_up.iter().position(|(name, _)| *name == reference.secret);
        let from_cluster = match (in_bundle, asked) {
            (Some(_), _) => &Lookup::NotAvailable,
            _ if !cx.looks_up_secrets() => &Lookup::NotAvailable,
            (None, Some(at)) => &looked_up[at].1,
            (None, None) if looked_up.len() == MAX_SECRET_LOOKUPS => {
                not_looked_up.push(reference);
                continue;
            }
            (None, None) => {
                looked_up.push((reference.secret, cx.cluster_secret(workload.namespace, reference.secret)));
                &looked_up[looked_up.len() - 1].1
            }
        };
        let secret = in_bundle.or(match from_cluster {
            Lookup::Found(value) => Some(value),
            _ => None,
        });
        let message = match (secret, from_cluster) {
            (Some(secret), _) if is_legacy_token_secret(secret) => {
                let owner = match k8s::annotation(secret, SERVICE_ACCOUNT_NAME_ANNOTATION) {
                    Some(sa) if !sa.is_empty() => format!("ServiceAccount {sa}"),
                    _ => "a ServiceAccount".to_string(),
                };
                format!(
                    "{} Secret {}, a legacy token of {owner} that never expires; mount a projected \
                     serviceAccountToken with an audience and expirationSeconds instead",
                    reference.how(),
                    reference.secret
                )
            }
            (None, Lookup::Failed(error)) => {
                let Some(level) = level_after_lookup_failure(cx, out.level()) else { continue };
                let message = format!(
                    "{} Secret {}, and looking it up failed ({error}), so whether it is a legacy token that \
                     never expires is unknown",
                    reference.how(),
                    reference.secret
                );
                out.report(workload, reference.path(), message).level = level;
                continue;
            }
            // Not a token, or nothing known to check (a missing Secret keeps the Pod pending).
            _ => continue,
        };
        out.report(workload, reference.path(), message);
    }
    let Some(first) = not_looked_up.first() else { return };
    let Some(level) = level_after_lookup_failure(cx, out.level()) else { return };
    let message = match not_looked_up.len() - 1 {
        0 => format!(
            "{} Secret {}, beyond the {MAX_SECRET_LOOKUPS} Secrets sa-guard looks up for one workload, so whether \
             it is a legacy token that never expires is unknown",
            first.how(),
            first.secret
        ),
        more => format!(
            "{} Secret {}, and {more} more references name Secrets beyond the {MAX_SECRET_LOOKUPS} sa-guard looks \
             up for one workload, so whether they are legacy tokens that never expire is unknown",
            first.how(),
            first.secret
        ),
    };
    out.report(workload, first.path(), message).level = level;
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::MAX_SECRET_LOOKUPS;
    use crate::finding::Level;
    use crate::lookup::StaticCluster;
    use crate::rules::testing::{admit, admit_without_cluster, lint, located};
    use crate::settings::{OnLookupFailure, Settings};

    fn legacy_secret(name: &str, namespace: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": name, "namespace": namespace,
                         "annotations": {"kubernetes.io/service-account.name": "build-robot"}}
        })
    }

    /// A Pod of namespace ci reading `build-robot-token` through an environment variable.
    fn pod_reading_token() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "job", "namespace": "ci"},
               "spec": {"containers": [{"name": "deploy", "env": [{"name": "TOKEN", "valueFrom":
                   {"secretKeyRef": {"name": "build-robot-token", "key": "token"}}}]}]}})
    }

    const POD_READS_PATH: &str = "/spec/containers/0/env/0/valueFrom/secretKeyRef/name";

    /// A cluster where every Secret is a legacy token (and nothing else exists), recording the
    /// Secrets it is asked for.
    #[derive(Default)]
    struct CountingCluster {
        asked: std::cell::RefCell<Vec<String>>,
    }

    impl crate::lookup::ClusterLookup for CountingCluster {
        fn get(&self, _: &str, kind: &str, namespace: Option<&str>, name: &str) -> crate::lookup::Lookup<'static> {
            if kind != "Secret" {
                return crate::lookup::Lookup::NotFound;
            }
            self.asked.borrow_mut().push(name.to_string());
            crate::lookup::Lookup::found(legacy_secret(name, namespace.unwrap_or("default")))
        }
    }

    #[test]
    fn each_secret_is_looked_up_once_and_at_most_64_per_workload() {
        // 70 distinct Secrets, each named twice (an env variable and an envFrom of another container)
        let env: Vec<Value> = (0..70)
            .map(|i| json!({"name": format!("V{i}"), "valueFrom": {"secretKeyRef": {"name": format!("s{i}"), "key": "k"}}}))
            .collect();
        let env_from: Vec<Value> = (0..70).map(|i| json!({"secretRef": {"name": format!("s{i}")}})).collect();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "many", "namespace": "ci"},
                         "spec": {"containers": [{"name": "app", "env": env}, {"name": "side", "envFrom": env_from}]}});
        let settings = Settings { context_aware: true, lookup_secrets: true, ..Settings::default() };
        let cluster = CountingCluster::default();
        let findings = admit("SAG007", pod.clone(), &settings, &cluster);
        let expected_asked: Vec<String> = (0..MAX_SECRET_LOOKUPS).map(|i| format!("s{i}")).collect();
        assert_eq!(*cluster.asked.borrow(), expected_asked);
        // the 64 looked up, from both containers; then one finding for the 12 references past the budget
        assert_eq!(findings.len(), 2 * 64 + 1);
        let past_budget = |findings: &[crate::finding::Finding]| -> Vec<(String, String, Level)> {
            let past = findings.iter().filter(|f| f.message.contains("beyond the"));
            past.map(|f| (f.path.clone(), f.message.clone(), f.level)).collect()
        };
        assert_eq!(
            past_budget(&findings),
            [(
                "/spec/containers/0/env/64/valueFrom/secretKeyRef/name".to_string(),
                "container app reads environment variable V64 from Secret s64, and 11 more references name Secrets \
                 beyond the 64 sa-guard looks up for one workload, so whether they are legacy tokens that never \
                 expire is unknown"
                    .to_string(),
                Level::Deny
            )]
        );
        // past the budget is a look-up failure: `on_lookup_failure` decides
        let warn = Settings { on_lookup_failure: OnLookupFailure::Warn, ..settings.clone() };
        assert_eq!(past_budget(&admit("SAG007", pod.clone(), &warn, &CountingCluster::default()))[0].2, Level::Warn);
        let allow = Settings { on_lookup_failure: OnLookupFailure::Allow, ..settings };
        assert_eq!(admit("SAG007", pod, &allow, &CountingCluster::default()).len(), 2 * 64);
    }

    #[test]
    fn one_reference_past_the_budget_is_named_alone() {
        let env: Vec<Value> = (0..=MAX_SECRET_LOOKUPS)
            .map(|i| json!({"name": format!("V{i}"), "valueFrom": {"secretKeyRef": {"name": format!("s{i}"), "key": "k"}}}))
            .collect();
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "many", "namespace": "ci"},
                         "spec": {"containers": [{"name": "app", "env": env}]}});
        let settings = Settings { context_aware: true, lookup_secrets: true, ..Settings::default() };
        let findings = admit("SAG007", pod, &settings, &CountingCluster::default());
        assert_eq!(
            located(&findings).into_iter().find(|(_, message)| message.contains("beyond the")),
            Some((
                "/spec/containers/0/env/64/valueFrom/secretKeyRef/name",
                "container app reads environment variable V64 from Secret s64, beyond the 64 Secrets sa-guard looks up \
                 for one workload, so whether it is a legacy token that never expires is unknown"
            ))
        );
    }

    #[test]
    fn at_admission_a_secret_in_the_cluster_is_looked_up_only_with_lookup_secrets() {
        let cluster = StaticCluster { objects: vec![legacy_secret("build-robot-token", "ci")], failure: None };
        let context_aware = Settings { context_aware: true, ..Settings::default() };
        assert!(admit("SAG007", pod_reading_token(), &context_aware, &cluster).is_empty());

        let with_secrets = Settings { context_aware: true, lookup_secrets: true, ..Settings::default() };
        let findings = admit("SAG007", pod_reading_token(), &with_secrets, &cluster);
        assert_eq!(
            located(&findings),
            [(
                POD_READS_PATH,
                "container deploy reads environment variable TOKEN from Secret build-robot-token, a legacy token of \
             ServiceAccount build-robot that never expires; mount a projected serviceAccountToken with an audience \
             and expirationSeconds instead"
            )]
        );

        // An ordinary Secret, or none at all, is not reported.
        let opaque = StaticCluster {
            objects: vec![json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                                 "metadata": {"name": "build-robot-token", "namespace": "ci"}})],
            failure: None,
        };
        assert!(admit("SAG007", pod_reading_token(), &with_secrets, &opaque).is_empty());
        assert!(admit("SAG007", pod_reading_token(), &with_secrets, &StaticCluster::default()).is_empty());
    }

    #[test]
    fn a_failed_secret_look_up_follows_on_lookup_failure() {
        let failing = StaticCluster { objects: vec![], failure: Some("connection refused".into()) };
        let message = "container deploy reads environment variable TOKEN from Secret build-robot-token, and looking \
                       it up failed (connection refused), so whether it is a legacy token that never expires is unknown";
        for (on_failure, level) in [
            (OnLookupFailure::Deny, Some(Level::Deny)),
            (OnLookupFailure::Warn, Some(Level::Warn)),
            (OnLookupFailure::Allow, None),
        ] {
            let settings = Settings {
                context_aware: true,
                lookup_secrets: true,
                on_lookup_failure: on_failure,
                ..Settings::default()
            };
            let findings = admit("SAG007", pod_reading_token(), &settings, &failing);
            assert_eq!(
                findings.iter().map(|f| (f.path.as_str(), f.message.as_str(), f.level)).next(),
                level.map(|l| (POD_READS_PATH, message, l))
            );
        }
    }

    #[test]
    fn legacy_token_secret_is_reported_at_type() {
        let findings = lint("SAG007", &[legacy_secret("build-robot-token", "ci")]);
        assert_eq!(located(&findings), [(
            "/type",
            "a Secret of type kubernetes.io/service-account-token holds a token for ServiceAccount build-robot that \
             never expires, readable by anyone who can read Secrets in namespace ci"
        )]);
        assert!(findings[0].fix.is_none());
    }

    #[test]
    fn legacy_token_secret_at_admission_without_annotation() {
        let findings = admit_without_cluster(
            "SAG007",
            json!({
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": {"name": "t"}
            }),
        );
        assert_eq!(located(&findings), [(
            "/type",
            "a Secret of type kubernetes.io/service-account-token holds a ServiceAccount token that never expires, \
             readable by anyone who can read Secrets in its namespace"
        )]);
    }

    #[test]
    fn service_account_secrets_list_with_fix() {
        let findings = lint(
            "SAG007",
            &[json!({
                "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "build-robot", "namespace": "ci"},
                "secrets": [{"name": "build-robot-token"}]
            })],
        );
        assert_eq!(
            located(&findings),
            [(
                "/secrets",
                "the ServiceAccount lists Secrets under secrets (build-robot-token), the legacy way of attaching \
             long-lived token Secrets; Pods get short-lived projected tokens without it"
            )]
        );
        let fix = findings[0].fix.as_ref().expect("fixable");
        assert_eq!(fix.description, "remove the secrets list");
        assert_eq!(serde_json::to_value(&fix.patch).unwrap(), json!([{"op": "remove", "path": "/secrets"}]));
    }

    #[test]
    fn every_way_a_workload_reads_the_secret() {
        let deployment = json!({
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "builder", "namespace": "ci"},
            "spec": {"template": {"spec": {
                "volumes": [
                    {"name": "config", "configMap": {"name": "cfg"}},
                    {"name": "token", "secret": {"secretName": "build-robot-token"}},
                    {"name": "bundle", "projected": {"sources": [
                        {"configMap": {"name": "cfg"}},
                        {"secret": {"name": "build-robot-token"}},
                    ]}},
                ],
                "initContainers": [{"name": "init", "envFrom": [{"secretRef": {"name": "build-robot-token"}}]}],
                "containers": [{"name": "app", "env": [
                    {"name": "PLAIN", "value": "x"},
                    {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "build-robot-token", "key": "token"}}},
                ]}],
            }}}
        });
        let findings = lint("SAG007", &[legacy_secret("build-robot-token", "ci"), deployment]);
        let workload: Vec<(&str, &str)> =
            findings.iter().filter(|f| f.object_index == 1).map(|f| (f.path.as_str(), f.message.as_str())).collect();
        let tail =
            "Secret build-robot-token, a legacy token of ServiceAccount build-robot that never expires; mount a \
                    projected serviceAccountToken with an audience and expirationSeconds instead";
        assert_eq!(
            workload,
            [
                (
                    "/spec/template/spec/containers/0/env/1/valueFrom/secretKeyRef/name",
                    format!("container app reads environment variable TOKEN from {tail}").as_str()
                ),
                (
                    "/spec/template/spec/initContainers/0/envFrom/0/secretRef/name",
                    format!("container init loads its environment from {tail}").as_str()
                ),
                ("/spec/template/spec/volumes/1/secret/secretName", format!("volume token mounts {tail}").as_str()),
                (
                    "/spec/template/spec/volumes/2/projected/sources/1/secret/name",
                    format!("projected volume bundle mounts {tail}").as_str()
                ),
            ]
        );
    }

    #[test]
    fn ephemeral_containers_of_a_pod_count() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "debug", "namespace": "ci"},
            "spec": {"containers": [{"name": "app"}],
                     "ephemeralContainers": [{"name": "dbg", "envFrom": [{"secretRef": {"name": "build-robot-token"}}]}]}
        });
        let findings = lint("SAG007", &[legacy_secret("build-robot-token", "ci"), pod]);
        let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/type", "/spec/ephemeralContainers/0/envFrom/0/secretRef/name"]);
    }

    #[test]
    fn other_secrets_other_namespaces_and_the_lesson_are_silent() {
        let reads = |secret: &str| {
            json!({
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ci"},
                "spec": {"containers": [{"name": "app"}], "volumes": [{"name": "v", "secret": {"secretName": secret}}]}
            })
        };
        let opaque = json!({"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {"name": "db", "namespace": "ci"}});
        // an opaque Secret, a legacy Secret of another namespace, a Secret not in the bundle
        let findings = lint(
            "SAG007",
            &[opaque, reads("db"), legacy_secret("elsewhere", "prod"), reads("elsewhere"), reads("absent")],
        );
        assert_eq!(located(&findings).iter().map(|(p, _)| *p).collect::<Vec<_>>(), ["/type"]);
        assert_eq!(findings[0].object_index, 2);
        // an empty secrets list and imagePullSecrets are fine
        assert!(lint("SAG007", &[json!({
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "order-api-sa", "namespace": "production"},
            "secrets": [], "imagePullSecrets": [{"name": "registry"}]
        })]).is_empty());
    }
}
