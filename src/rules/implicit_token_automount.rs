use serde_json::{json, Value};

use crate::bundle::Obj;
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::{Finding, Fix, Level};
use crate::k8s::{self, PodSpec, AUTOMOUNT};
use crate::meta::{Category, Scope};
use crate::tokens::{
    describe_service_account, level_after_lookup_failure, token_mount, unknown_clause, OptIn, TokenMount, Unknown,
};

declare_rule! {
    /// Kubernetes mounts an API token into a Pod unless something says not to: the Pod's
    /// `automountServiceAccountToken` wins, else its ServiceAccount's, else the answer is `true`.
    /// Most application Pods never call the API, yet each of them then carries a credential at
    /// `/var/run/secrets/kubernetes.io/serviceaccount/token` that every client library picks up on
    /// its own. The lesson's `checkout-api` is the example: it runs on the `default`
    /// ServiceAccount, neither sets the field, "it still gets a token it doesn't need", and an
    /// attacker with code execution can try that token against the API.
    ///
    /// This is item 3 of the lesson's hardening checklist: set `automountServiceAccountToken:
    /// false` on Pods that don't need API access — "even if the SA has no permissions, removing
    /// the token from the Pod eliminates the attack surface entirely". A workload that does need
    /// the API says `true` explicitly (on the Pod or on its dedicated ServiceAccount), as the
    /// lesson's `order-api` does: that is an opt-in, not an accident.
    ///
    /// Fires on: every Pod spec (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
    /// CronJob, ReplicationController, PodTemplate) whose effective setting is `true` without
    /// anyone saying `true`: the Pod omits the field and its ServiceAccount omits it too, or the
    /// ServiceAccount is unknown. An unknown ServiceAccount is named in the message — not defined
    /// in the manifests, not looked up because context-aware lookups are off, missing from the
    /// cluster, or the look-up failed — and still fires, because Kubernetes' default is `true`.
    /// A failed look-up follows `on_lookup_failure`: `deny` reports at the rule's level, `warn`
    /// lowers the finding to a warning, `allow` skips it. A Pod field that is not a boolean fires
    /// too. With `require_allowlisted_opt_in: true`, an explicit `true` (on the Pod or its
    /// ServiceAccount) fires as well unless the ServiceAccount is allow-listed. Reported at
    /// `<pod spec>/automountServiceAccountToken`.
    ///
    /// Does not fire on: `automountServiceAccountToken: false` on the Pod (also YAML 1.1 spellings
    /// such as `off` or `no`), or on its ServiceAccount when the Pod omits it (the lesson's
    /// `payment-processor`); an explicit `true` (the lesson's `order-api`) unless
    /// `require_allowlisted_opt_in` is on; ServiceAccounts listed in
    /// `allowed_token_service_accounts` — controllers that really call the API.
    ///
    /// Fix: add `automountServiceAccountToken: false` to the Pod spec. For a Pod the fix also
    /// removes the `kube-api-access-*` volume that the ServiceAccount admission plugin has already
    /// injected, and its mounts in every container, init container and ephemeral container —
    /// otherwise the token would stay mounted. Workloads that need the API get a dedicated
    /// ServiceAccount and an explicit `true` instead. An explicit `true` that does not count
    /// (`require_allowlisted_opt_in`) gets no fix: it is a decision to review, not to undo silently.
    ///
    /// In a cluster: with `mutate: true` the policy sets the field on the object instead of
    /// rejecting it (Pods only on CREATE: a running Pod's spec is immutable). Turn on
    /// `context_aware` so the ServiceAccount's own setting is read from the cluster; without it a
    /// Pod that omits the field is reported as using a ServiceAccount whose setting is unknown.
    /// Disabling auto-mount on the ServiceAccount (SAG001 for `default`) fixes every Pod that uses
    /// it at once.
    pub static RULE = {
        id: "SAG002",
        slug: "implicit-token-automount",
        title: "A workload gets an API token by default, not by choice",
        category: Category::TokenMounting,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: true,
        remediation: "Set automountServiceAccountToken: false in the Pod spec (or on its ServiceAccount) when the \
            workload never calls the Kubernetes API; if it does, give it a dedicated ServiceAccount and set \
            automountServiceAccountToken: true explicitly.",
        references: &[
            "Lesson 39, hardening checklist item 3: set automountServiceAccountToken: false on Pods that don't need API access",
            "Lesson 39: the checkout-api exposure — default ServiceAccount, field not set, a token it doesn't need",
            "CIS Kubernetes Benchmark 5.1.6: ensure that Service Account Tokens are only mounted where necessary",
        ],
        peers: &[
            "Checkov CKV_K8S_38",
            "Kyverno restrict-automount-sa-token",
            "Gatekeeper K8sPSPAutomountServiceAccountTokenPod",
            "Trivy KSV036",
            "Kubescape C-0034",
            "Kubescape C-0190",
            "Polaris automountServiceAccountToken",
            "kubesec",
        ],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for (obj, spec) in cx.bundle.workloads() {
        let (sa_name, _) = spec.service_account();
        if cx.settings.is_token_allowed(obj.namespace, sa_name) {
            continue;
        }
        let service_account = describe_service_account(obj.namespace, sa_name);
        let mut level = out.level();
        let mount = token_mount(cx, obj, &spec);
        // An explicit opt-in is a decision: report it, but never take the token away silently
        // (mutation mode applies fixes without asking).
        let offer_fix = !matches!(mount, TokenMount::OptedIn(_));
        let message = match mount {
            TokenMount::Disabled => continue,
            TokenMount::OptedIn(_) if !cx.settings.require_allowlisted_opt_in => continue,
            TokenMount::OptedIn(who) => {
                let said = match who {
                    OptIn::PodSpec => "the Pod spec sets automountServiceAccountToken: true".to_string(),
                    OptIn::ServiceAccount => format!("{service_account} sets automountServiceAccountToken: true"),
                };
                format!(
                    "{said}, but require_allowlisted_opt_in is on and {service_account} is not in \
                     allowed_token_service_accounts, so the opt-in does not count"
                )
            }
            TokenMount::ByDefault => format!(
                "neither the Pod spec nor {service_account} sets automountServiceAccountToken, so Kubernetes \
                 mounts an API token by default"
            ),
            TokenMount::SaUnknown(unknown) => {
                if let Unknown::Failed(_) = unknown {
                    match level_after_lookup_failure(cx, level) {
                        Some(lowered) => level = lowered,
                        None => continue,
                    }
                }
                format!(
                    "the Pod spec does not set automountServiceAccountToken and {}; Kubernetes' default is true, \
                     so an API token is mounted",
                    unknown_clause(&service_account, &unknown)
                )
            }
            TokenMount::Invalid(raw) => format!(
                "automountServiceAccountToken is {raw}, not a boolean; Kubernetes rejects it or reads it as unset"
            ),
        };
        let fix = offer_fix.then(|| disable_automount_fix(obj, &spec));
        let finding: &mut Finding = out.report(obj, spec.pointer(AUTOMOUNT), message);
        finding.level = level;
        finding.fix = fix;
    }
}

/// `automountServiceAccountToken: false`; for a Pod (which the ServiceAccount admission plugin
/// has already changed) also the injected `kube-api-access-*` volume and its mounts. Removals
/// go from the highest index down, so the patch applies operation by operation.
fn disable_automount_fix(obj: &Obj<'_>, spec: &PodSpec<'_>) -> Fix {
    let mut ops = vec![json!({"op": "add", "path": spec.pointer(AUTOMOUNT), "value": false})];
    let mut removed_volumes = Vec::new();
    if obj.kind == "Pod" {
        let injected: Vec<(usize, &str)> = spec
            .field("volumes")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
            .filter(|(_, volume)| k8s::is_injected_api_access_volume(volume))
            .filter_map(|(i, volume)| Some((i, volume.get("name")?.as_str()?)))
            .collect();
        for (container, value) in spec.containers() {
            let mounts = value.get("volumeMounts").and_then(Value::as_array).into_iter().flatten().enumerate();
            let doomed: Vec<usize> = mounts
                .filter(|(_, m)| {
                    let name = m.get("name").and_then(Value::as_str);
                    injected.iter().any(|(_, injected)| name == Some(injected))
                })
                .map(|(i, _)| i)
                .collect();
            for i in doomed.into_iter().rev() {
                ops.push(json!({"op": "remove", "path": format!("{container}/volumeMounts/{i}")}));
            }
        }
        for (i, name) in injected.into_iter().rev() {
            ops.push(json!({"op": "remove", "path": format!("{}/volumes/{i}", spec.location.spec)}));
            removed_volumes.push(name);
        }
    }
    let description = if removed_volumes.is_empty() {
        "set automountServiceAccountToken: false".to_string()
    } else {
        removed_volumes.reverse();
        format!(
            "set automountServiceAccountToken: false and remove the injected token volume {}",
            removed_volumes.join(", ")
        )
    };
    Fix::new(description, ops)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::finding::{Finding, Level};
    use crate::lookup::StaticCluster;
    use crate::rules::testing::{admit, admit_without_cluster, in_every_pod_bearing_kind, lint, lint_with, located};
    use crate::settings::{OnLookupFailure, Settings};

    fn deployment(namespace: &str, name: &str, pod_spec: Value) -> Value {
        json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name}},
                "spec": pod_spec,
            }}
        })
    }

    fn service_account(namespace: &str, name: &str, automount: Option<Value>) -> Value {
        let mut sa =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": namespace}});
        if let Some(value) = automount {
            sa["automountServiceAccountToken"] = value;
        }
        sa
    }

    fn patch_of(finding: &Finding) -> Value {
        serde_json::to_value(&finding.fix.as_ref().expect("fixable").patch).unwrap()
    }

    fn app() -> Value {
        json!([{"name": "app", "image": "company/app:1"}])
    }

    #[test]
    fn lesson_checkout_api_fires_order_api_and_payment_processor_do_not() {
        let objects = [
            service_account("production", "default", None),
            deployment("production", "checkout-api", json!({"containers": app()})),
            service_account("production", "order-api-sa", None),
            deployment(
                "production",
                "order-api",
                json!({
                    "serviceAccountName": "order-api-sa", "automountServiceAccountToken": true, "containers": app()
                }),
            ),
            deployment(
                "payments",
                "payment-processor",
                json!({
                    "serviceAccountName": "payment-processor-sa", "automountServiceAccountToken": false, "containers": app()
                }),
            ),
        ];
        let findings = lint("SAG002", &objects);
        assert_eq!(
            located(&findings),
            [(
                "/spec/template/spec/automountServiceAccountToken",
                "neither the Pod spec nor ServiceAccount production/default sets automountServiceAccountToken, so \
             Kubernetes mounts an API token by default"
            )]
        );
        assert_eq!(findings[0].object.to_string(), "Deployment production/checkout-api");
        assert_eq!(findings[0].level, Level::Deny);
        let fix = findings[0].fix.as_ref().unwrap();
        assert_eq!(fix.description, "set automountServiceAccountToken: false");
        assert_eq!(
            patch_of(&findings[0]),
            json!([{"op": "add", "path": "/spec/template/spec/automountServiceAccountToken", "value": false}])
        );
    }

    #[test]
    fn service_account_setting_decides_when_the_pod_omits_the_field() {
        let pod_spec = json!({"serviceAccountName": "worker", "containers": app()});
        // The ServiceAccount says false (YAML 1.1 "off"): no token.
        assert!(lint(
            "SAG002",
            &[service_account("jobs", "worker", Some(json!("off"))), deployment("jobs", "w", pod_spec.clone()),]
        )
        .is_empty());
        // The ServiceAccount says true ("yes"): an explicit opt-in.
        assert!(lint(
            "SAG002",
            &[service_account("jobs", "worker", Some(json!("yes"))), deployment("jobs", "w", pod_spec.clone()),]
        )
        .is_empty());
        // The Pod's own field wins over the ServiceAccount's false.
        let findings = lint(
            "SAG002",
            &[
                service_account("jobs", "worker", Some(json!(false))),
                deployment(
                    "jobs",
                    "w",
                    json!({"serviceAccountName": "worker", "automountServiceAccountToken": "maybe", "containers": app()}),
                ),
            ],
        );
        assert_eq!(
            located(&findings),
            [(
                "/spec/template/spec/automountServiceAccountToken",
                "automountServiceAccountToken is \"maybe\", not a boolean; Kubernetes rejects it or reads it as unset"
            )]
        );
        // Pod false wins over ServiceAccount true.
        assert!(lint(
            "SAG002",
            &[
                service_account("jobs", "worker", Some(json!(true))),
                deployment(
                    "jobs",
                    "w",
                    json!({"serviceAccountName": "worker", "automountServiceAccountToken": "no", "containers": app()})
                ),
            ]
        )
        .is_empty());
    }

    #[test]
    fn undefined_service_account_in_manifests_still_fires_and_says_so() {
        let findings = lint(
            "SAG002",
            &[deployment("shop", "cart", json!({"serviceAccountName": "cart-sa", "containers": app()}))],
        );
        assert_eq!(located(&findings), [(
            "/spec/template/spec/automountServiceAccountToken",
            "the Pod spec does not set automountServiceAccountToken and ServiceAccount shop/cart-sa is not defined in \
             these manifests, so its automountServiceAccountToken is unknown; Kubernetes' default is true, so an API \
             token is mounted"
        )]);
    }

    #[test]
    fn every_pod_bearing_kind_and_spec_location() {
        let spec = json!({"containers": app()});
        for (object, spec_pointer) in in_every_pod_bearing_kind(&spec) {
            let findings = lint("SAG002", std::slice::from_ref(&object));
            let path = format!("{spec_pointer}/automountServiceAccountToken");
            assert_eq!(findings.iter().map(|f| f.path.as_str()).collect::<Vec<_>>(), [path.as_str()], "{object}");
            assert_eq!(patch_of(&findings[0]), json!([{"op": "add", "path": path, "value": false}]));
        }
    }

    #[test]
    fn allow_listed_service_accounts_never_fire() {
        let settings = Settings {
            allowed_token_service_accounts: vec!["kyverno/*".into()],
            require_allowlisted_opt_in: true,
            ..Settings::default()
        };
        let objects = [
            deployment("kyverno", "admission", json!({"serviceAccountName": "kyverno-admission", "containers": app()})),
            deployment(
                "kyverno",
                "reports",
                json!({
                    "serviceAccountName": "kyverno-reports", "automountServiceAccountToken": true, "containers": app()
                }),
            ),
        ];
        assert!(lint_with("SAG002", &objects, &settings).is_empty());
    }

    #[test]
    fn require_allowlisted_opt_in_makes_explicit_true_fire() {
        let settings = Settings { require_allowlisted_opt_in: true, ..Settings::default() };
        let objects = [
            service_account("production", "order-api-sa", None),
            deployment(
                "production",
                "order-api",
                json!({
                    "serviceAccountName": "order-api-sa", "automountServiceAccountToken": true, "containers": app()
                }),
            ),
            service_account("production", "ops", Some(json!(true))),
            deployment("production", "ops-bot", json!({"serviceAccountName": "ops", "containers": app()})),
        ];
        let findings = lint_with("SAG002", &objects, &settings);
        assert_eq!(located(&findings), [
            (
                "/spec/template/spec/automountServiceAccountToken",
                "the Pod spec sets automountServiceAccountToken: true, but require_allowlisted_opt_in is on and \
                 ServiceAccount production/order-api-sa is not in allowed_token_service_accounts, so the opt-in does not count"
            ),
            (
                "/spec/template/spec/automountServiceAccountToken",
                "ServiceAccount production/ops sets automountServiceAccountToken: true, but require_allowlisted_opt_in is \
                 on and ServiceAccount production/ops is not in allowed_token_service_accounts, so the opt-in does not count"
            ),
        ]);
        assert_eq!(findings[0].object.to_string(), "Deployment production/order-api");
        assert_eq!(findings[1].object.to_string(), "Deployment production/ops-bot");
        // An explicit opt-in is reported, never silently undone by mutation mode.
        assert!(findings.iter().all(|f| f.fix.is_none()));
        // Without the setting both are opt-ins.
        assert!(lint("SAG002", &objects).is_empty());
    }

    fn pod_without_field() -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
               "spec": {"serviceAccountName": "web-sa", "containers": app()}})
    }

    #[test]
    fn admission_without_lookups_names_the_reason() {
        let findings = admit_without_cluster("SAG002", pod_without_field());
        assert_eq!(located(&findings), [(
            "/spec/automountServiceAccountToken",
            "the Pod spec does not set automountServiceAccountToken and ServiceAccount shop/web-sa was not looked up \
             because context-aware lookups are off, so its automountServiceAccountToken is unknown; Kubernetes' default \
             is true, so an API token is mounted"
        )]);
    }

    #[test]
    fn admission_with_lookups_reads_the_service_account_from_the_cluster() {
        let settings = Settings { context_aware: true, ..Settings::default() };
        let cluster =
            StaticCluster { objects: vec![service_account("shop", "web-sa", Some(json!(false)))], failure: None };
        assert!(admit("SAG002", pod_without_field(), &settings, &cluster).is_empty());

        let empty = StaticCluster::default();
        let findings = admit("SAG002", pod_without_field(), &settings, &empty);
        assert_eq!(located(&findings), [(
            "/spec/automountServiceAccountToken",
            "the Pod spec does not set automountServiceAccountToken and ServiceAccount shop/web-sa does not exist in the \
             cluster, so its automountServiceAccountToken is unknown; Kubernetes' default is true, so an API token is mounted"
        )]);
    }

    #[test]
    fn lookup_failure_follows_on_lookup_failure() {
        let cluster = StaticCluster { objects: vec![], failure: Some("timeout after 2s".into()) };
        let message = "the Pod spec does not set automountServiceAccountToken and looking up ServiceAccount shop/web-sa \
                       failed (timeout after 2s), so its automountServiceAccountToken is unknown; Kubernetes' default is \
                       true, so an API token is mounted";
        let with = |on_lookup_failure| Settings { context_aware: true, on_lookup_failure, ..Settings::default() };

        let denied = admit("SAG002", pod_without_field(), &with(OnLookupFailure::Deny), &cluster);
        assert_eq!(located(&denied), [("/spec/automountServiceAccountToken", message)]);
        assert_eq!(denied[0].level, Level::Deny);

        let warned = admit("SAG002", pod_without_field(), &with(OnLookupFailure::Warn), &cluster);
        assert_eq!(located(&warned), [("/spec/automountServiceAccountToken", message)]);
        assert_eq!(warned[0].level, Level::Warn);

        assert!(admit("SAG002", pod_without_field(), &with(OnLookupFailure::Allow), &cluster).is_empty());
    }

    /// A Pod as the webhook sees it: the ServiceAccount admission plugin has injected the token
    /// volume and mounted it in every container.
    fn injected_pod() -> Value {
        let mount = json!({"name": "kube-api-access-x7k2p", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "readOnly": true});
        json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "checkout-api-9c4b2f-m8nzx", "namespace": "production"},
            "spec": {
                "serviceAccountName": "default", "serviceAccount": "default",
                "initContainers": [{"name": "migrate", "image": "m", "volumeMounts": [mount.clone()]}],
                "containers": [
                    {"name": "app", "image": "a", "volumeMounts": [{"name": "data", "mountPath": "/data"}, mount.clone()]},
                    {"name": "sidecar", "image": "s", "volumeMounts": [mount.clone(), {"name": "data", "mountPath": "/d"}, mount.clone()]}
                ],
                "ephemeralContainers": [{"name": "debug", "image": "d", "volumeMounts": [mount]}],
                "volumes": [
                    {"name": "data", "emptyDir": {}},
                    {"name": "kube-api-access-x7k2p", "projected": {"defaultMode": 420, "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
                    ]}}
                ]
            }
        })
    }

    #[test]
    fn pod_fix_removes_the_injected_volume_and_every_mount_of_it() {
        let findings = admit_without_cluster("SAG002", injected_pod());
        assert_eq!(located(&findings).len(), 1);
        let fix = findings[0].fix.as_ref().unwrap();
        assert_eq!(
            fix.description,
            "set automountServiceAccountToken: false and remove the injected token volume kube-api-access-x7k2p"
        );
        assert_eq!(
            patch_of(&findings[0]),
            json!([
                {"op": "add", "path": "/spec/automountServiceAccountToken", "value": false},
                {"op": "remove", "path": "/spec/containers/0/volumeMounts/1"},
                {"op": "remove", "path": "/spec/containers/1/volumeMounts/2"},
                {"op": "remove", "path": "/spec/containers/1/volumeMounts/0"},
                {"op": "remove", "path": "/spec/initContainers/0/volumeMounts/0"},
                {"op": "remove", "path": "/spec/ephemeralContainers/0/volumeMounts/0"},
                {"op": "remove", "path": "/spec/volumes/1"},
            ])
        );

        let mut fixed = injected_pod();
        json_patch::patch(&mut fixed, &fix.patch).expect("the patch applies in order");
        assert_eq!(fixed["spec"]["automountServiceAccountToken"], json!(false));
        assert_eq!(fixed["spec"]["volumes"], json!([{"name": "data", "emptyDir": {}}]));
        assert_eq!(fixed["spec"]["containers"][0]["volumeMounts"], json!([{"name": "data", "mountPath": "/data"}]));
        assert_eq!(fixed["spec"]["containers"][1]["volumeMounts"], json!([{"name": "data", "mountPath": "/d"}]));
        assert_eq!(fixed["spec"]["initContainers"][0]["volumeMounts"], json!([]));
        assert_eq!(fixed["spec"]["ephemeralContainers"][0]["volumeMounts"], json!([]));
        // And the fixed Pod passes.
        assert!(admit_without_cluster("SAG002", fixed).is_empty());
    }

    #[test]
    fn a_controller_template_fix_leaves_a_look_alike_volume_alone() {
        // Controllers' templates never get the injected volume; one that looks like it was written
        // by hand (SAG005 reports it) and is not part of this fix.
        let mut object = injected_pod();
        let spec = object["spec"].take();
        let deployment = deployment("production", "checkout-api", spec);
        object = deployment;
        let findings = lint("SAG002", &[object]);
        assert_eq!(
            patch_of(&findings[0]),
            json!([{"op": "add", "path": "/spec/template/spec/automountServiceAccountToken", "value": false}])
        );
    }
}
