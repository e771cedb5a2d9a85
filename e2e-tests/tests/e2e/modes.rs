//! Settings that change what a finding does: levels, exemptions, mutation, and context-aware
//! look-ups answered by the host from recorded kwctl sessions.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use sa_guard_e2e::apiserver::TOKEN_MOUNT_PATH;
use sa_guard_e2e::host::NoCapabilities;
use sa_guard_e2e::review::AdmissionResponse;

use crate::rules::SAG002_API_NOT_LOOKED_UP;
use crate::support::*;

const SAG001_MESSAGE: &str = "the default ServiceAccount does not set automountServiceAccountToken, so every Pod in \
    namespace production that names no ServiceAccount gets an API token mounted";

#[test]
fn warn_level_accepts_with_warnings() {
    let request = fixture("serviceaccount-default.create");
    let settings = only(&["SAG001"], json!({"rules": {"default-sa-automount": "warn"}}));
    assert_eq!(
        evaluate(&request, &settings),
        warned(
            &request,
            "ServiceAccount production/default",
            &[finding("SAG001", "/automountServiceAccountToken", SAG001_MESSAGE)]
        )
    );
    let off = json!({"rules": {"SAG001": "off"}});
    assert_eq!(evaluate(&request, &off), plain_accept("create-serviceaccount-default"));
}

fn exempted(uid: &str, entry: &str) -> AdmissionResponse {
    AdmissionResponse {
        audit_annotations: Some(BTreeMap::from([("sa-guard.exempted".to_string(), entry.to_string())])),
        ..plain_accept(uid)
    }
}

#[test]
fn exempt_namespaces_accept_and_audit_why() {
    let request = fixture("serviceaccount-default.create");
    let settings = json!({"exempt_namespaces": ["kube-*", "production"]});
    assert_eq!(
        evaluate(&request, &settings),
        exempted(
            "create-serviceaccount-default",
            "SAG001 /automountServiceAccountToken: namespace production is exempt by settings"
        )
    );
    // Cluster-scoped objects have no namespace to exempt.
    let crb = fixture("clusterrolebinding-cluster-admin.create");
    let response = evaluate(&crb, &json!({"exempt_namespaces": ["*"]}));
    assert!(!response.allowed);
}

#[test]
fn exemption_annotation_needs_a_reason_and_is_audited() {
    let request = fixture("serviceaccount-default-exempt.create");
    assert_eq!(
        evaluate(&request, &json!({})),
        exempted(
            "create-serviceaccount-default-exempt",
            "SAG001 /automountServiceAccountToken: sa-guard.io/exempt: legacy batch jobs read the token; tracked in OPS-42"
        )
    );
    // Without the reason the exemption does not hold, and the message says so.
    let no_reason = with_object(&request, |o| {
        o["metadata"]["annotations"].as_object_mut().unwrap().remove("sa-guard.io/exempt-reason");
    });
    let message = SAG001_MESSAGE.replace("production", "legacy-batch")
        + " (the sa-guard.io/exempt annotation is ignored: sa-guard.io/exempt-reason must say why)";
    assert_eq!(
        evaluate(&no_reason, &only(&["SAG001"], json!({}))),
        denied(
            &no_reason,
            "ServiceAccount legacy-batch/default",
            &[finding("SAG001", "/automountServiceAccountToken", &message)]
        )
    );
}

#[test]
fn allow_listed_service_accounts_may_have_a_token() {
    let deployment = fixture("deployment-api.create");
    assert_eq!(
        evaluate(&deployment, &json!({"allowed_token_service_accounts": ["shop/api"]})),
        plain_accept("create-deployment-api")
    );
    // An explicit opt-in counts only for allow-listed ServiceAccounts when that is required.
    let operator = fixture("pod-explicit-token.create");
    assert_eq!(evaluate(&operator, &json!({})), plain_accept("create-pod-explicit-token"));
    let strict = json!({"require_allowlisted_opt_in": true});
    assert_eq!(
        evaluate(&operator, &strict),
        denied(
            &operator,
            "Pod shop/shop-operator",
            &[finding(
                "SAG002",
                "/spec/automountServiceAccountToken",
                "the Pod spec sets automountServiceAccountToken: true, but require_allowlisted_opt_in is on and \
                 ServiceAccount shop/shop-operator is not in allowed_token_service_accounts, so the opt-in does not count"
            )]
        )
    );
    let listed = json!({"require_allowlisted_opt_in": true, "allowed_token_service_accounts": ["shop/shop-*"]});
    assert_eq!(evaluate(&operator, &listed), plain_accept("create-pod-explicit-token"));
}

fn patch_of(response: &AdmissionResponse) -> Value {
    response.patch_operations().unwrap().expect("a patch")
}

#[test]
fn mutation_fixes_the_default_service_account() {
    let request = fixture("serviceaccount-default.create");
    let response = evaluate(&request, &json!({"mutate": true}));
    assert_eq!(patch_of(&response), json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}]));
    assert_eq!(
        response,
        AdmissionResponse {
            patch_type: Some("JSONPatch".into()),
            patch: response.patch.clone(),
            audit_annotations: Some(BTreeMap::from([
                ("sa-guard.SAG001".to_string(), format!("deny /automountServiceAccountToken: {SAG001_MESSAGE}")),
                (
                    "sa-guard.fixed".to_string(),
                    "SAG001 /automountServiceAccountToken: set automountServiceAccountToken: false".to_string()
                ),
            ])),
            warnings: Some(vec![
                "sa-guard changed ServiceAccount production/default: set automountServiceAccountToken: false at \
                 /automountServiceAccountToken ([SAG001])"
                    .to_string()
            ]),
            ..plain_accept("create-serviceaccount-default")
        }
    );
}

#[test]
fn mutation_of_a_new_pod_sets_the_field_and_drops_the_injected_token() {
    let request = fixture("pod-default-sa.create");
    let volume = request["object"]["spec"]["volumes"][0]["name"].as_str().unwrap().to_string();
    assert!(volume.starts_with("kube-api-access-"), "the fixture carries the injected volume: {volume}");
    let response = evaluate(&request, &json!({"mutate": true}));
    assert!(response.allowed, "{response:?}");
    assert_eq!(response.status, None);
    assert_eq!(
        patch_of(&response),
        json!([
            {"op": "add", "path": "/spec/automountServiceAccountToken", "value": false},
            {"op": "remove", "path": "/spec/containers/0/volumeMounts/0"},
            {"op": "remove", "path": "/spec/initContainers/0/volumeMounts/0"},
            {"op": "remove", "path": "/spec/volumes/0"}
        ])
    );
    let fixed = format!("set automountServiceAccountToken: false and remove the injected token volume {volume}");
    assert_eq!(
        response.warnings,
        Some(vec![format!("sa-guard changed Pod shop/web: {fixed} at /spec/automountServiceAccountToken ([SAG002])")])
    );
    assert_eq!(
        response.audit_annotations.as_ref().unwrap()["sa-guard.fixed"],
        format!("SAG002 /spec/automountServiceAccountToken: {fixed}")
    );

    // What the API server stores once it applies the patch: no token anywhere, and a clean verdict.
    let patch: json_patch::Patch = serde_json::from_value(patch_of(&response)).unwrap();
    let mut pod = request["object"].clone();
    json_patch::patch(&mut pod, &patch).unwrap();
    assert_eq!(pod["spec"]["automountServiceAccountToken"], json!(false));
    assert_eq!(pod["spec"]["volumes"], json!([]));
    for container in ["containers", "initContainers"] {
        let mounts = &pod["spec"][container][0]["volumeMounts"];
        assert!(mounts.as_array().unwrap().iter().all(|m| m["mountPath"] != TOKEN_MOUNT_PATH), "{container}: {mounts}");
    }
    let stored = with_object(&request, |o| *o = pod.clone());
    assert_eq!(evaluate(&stored, &json!({})), plain_accept("create-pod-default-sa"));
}

#[test]
fn mutation_fixes_workload_templates_of_every_kind() {
    for (name, subject, spec) in crate::rules::WORKLOADS {
        let request = fixture(&format!("{name}.update"));
        let response = evaluate(&request, &json!({"mutate": true}));
        let path = format!("{spec}/automountServiceAccountToken");
        assert_eq!(patch_of(&response), json!([{"op": "add", "path": path, "value": false}]), "{name}");
        assert_eq!(
            response,
            AdmissionResponse {
                patch_type: Some("JSONPatch".into()),
                patch: response.patch.clone(),
                audit_annotations: Some(BTreeMap::from([
                    ("sa-guard.SAG002".to_string(), format!("deny {path}: {SAG002_API_NOT_LOOKED_UP}")),
                    ("sa-guard.fixed".to_string(), format!("SAG002 {path}: set automountServiceAccountToken: false")),
                ])),
                warnings: Some(vec![format!(
                    "sa-guard changed {subject}: set automountServiceAccountToken: false at {path} ([SAG002])"
                )]),
                ..plain_accept(&format!("update-{name}"))
            },
            "{name}"
        );
    }
}

#[test]
fn running_pods_and_deletions_are_never_mutated() {
    // A Pod's spec is immutable once created: the update is judged, not patched.
    let update = fixture("pod-default-sa.update");
    let response = evaluate(&update, &json!({"mutate": true}));
    assert!(!response.allowed);
    assert_eq!((response.patch, response.patch_type), (None, None));

    let delete = fixture("serviceaccount-default.delete");
    assert_eq!(delete["object"], Value::Null);
    assert_eq!(evaluate(&delete, &json!({"mutate": true})), plain_accept("delete-serviceaccount-default"));
    assert_eq!(evaluate(&delete, &json!({})), plain_accept("delete-serviceaccount-default"));
}

/// The host call the policy makes for ServiceAccount shop/api.
fn service_account_lookup() -> Value {
    json!({"api_version": "v1", "kind": "ServiceAccount", "name": "api", "namespace": "shop",
           "disable_cache": false, "field_masks": null})
}

#[test]
fn context_aware_reads_the_service_account_from_the_host() {
    let request = fixture("deployment-api.create");
    let settings = json!({"context_aware": true});
    let (response, calls) = evaluate_replay(&request, &settings, "sa-api-automount-false");
    assert_eq!(response, plain_accept("create-deployment-api"));
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(
        (calls[0].binding.as_str(), calls[0].namespace.as_str(), calls[0].operation.as_str()),
        ("kubewarden", "kubernetes", "get_resource")
    );
    assert_eq!(calls[0].payload, service_account_lookup());

    // An explicit true on the ServiceAccount is an opt-in...
    let (response, _) = evaluate_replay(&request, &settings, "sa-api-automount-true");
    assert_eq!(response, plain_accept("create-deployment-api"));
    // ...unless opt-ins must be allow-listed.
    let strict = json!({"context_aware": true, "require_allowlisted_opt_in": true});
    let (response, _) = evaluate_replay(&request, &strict, "sa-api-automount-true");
    assert_eq!(
        response,
        denied(
            &request,
            "Deployment shop/api",
            &[finding(
                "SAG002",
                "/spec/template/spec/automountServiceAccountToken",
                "ServiceAccount shop/api sets automountServiceAccountToken: true, but require_allowlisted_opt_in is on \
                 and ServiceAccount shop/api is not in allowed_token_service_accounts, so the opt-in does not count"
            )]
        )
    );
    // Neither says anything: Kubernetes' default.
    let (response, _) = evaluate_replay(&request, &settings, "sa-api-automount-unset");
    assert_eq!(
        response,
        denied(
            &request,
            "Deployment shop/api",
            &[finding(
                "SAG002",
                "/spec/template/spec/automountServiceAccountToken",
                "neither the Pod spec nor ServiceAccount shop/api sets automountServiceAccountToken, so Kubernetes \
                 mounts an API token by default"
            )]
        )
    );
    // The API server's 404 is an answer, not a failure.
    let (response, _) = evaluate_replay(&request, &settings, "sa-api-not-found");
    assert_eq!(
        response,
        denied(
            &request,
            "Deployment shop/api",
            &[finding(
                "SAG002",
                "/spec/template/spec/automountServiceAccountToken",
                "the Pod spec does not set automountServiceAccountToken and ServiceAccount shop/api does not exist in \
                 the cluster, so its automountServiceAccountToken is unknown; Kubernetes' default is true, so an API \
                 token is mounted"
            )]
        )
    );
}

#[test]
fn failed_lookups_follow_on_lookup_failure() {
    let request = fixture("deployment-api.create");
    let session = session("sa-api-lookup-error");
    let host_error = session.exchanges[0].response.clone().unwrap_err();
    // What the SDK makes of the host's error before the policy sees it.
    let message = format!(
        "the Pod spec does not set automountServiceAccountToken and looking up ServiceAccount shop/api failed \
         (error invoking host capability kubernetes.get_resource: Host error: {host_error}), so its \
         automountServiceAccountToken is unknown; Kubernetes' default is true, so an API token is mounted"
    );
    let sag002 = || finding("SAG002", "/spec/template/spec/automountServiceAccountToken", &message);

    let (response, _) = evaluate_replay(&request, &json!({"context_aware": true}), "sa-api-lookup-error");
    assert_eq!(response, denied(&request, "Deployment shop/api", &[sag002()]));
    let (response, _) =
        evaluate_replay(&request, &json!({"context_aware": true, "on_lookup_failure": "warn"}), "sa-api-lookup-error");
    assert_eq!(response, warned(&request, "Deployment shop/api", &[sag002()]));
    let (response, _) =
        evaluate_replay(&request, &json!({"context_aware": true, "on_lookup_failure": "allow"}), "sa-api-lookup-error");
    assert_eq!(response, plain_accept("create-deployment-api"));
}

#[test]
fn context_aware_reads_the_role_a_binding_grants() {
    let request = fixture("rolebinding-pod-exec.create");
    // Without the look-up a Role that is not built in cannot be judged.
    assert_eq!(evaluate(&request, &json!({})), plain_accept("create-rolebinding-pod-exec"));
    let (response, calls) = evaluate_replay(&request, &json!({"context_aware": true}), "role-pod-debugger");
    assert_eq!(calls[0].payload["kind"], "Role");
    assert_eq!(
        response,
        denied(
            &request,
            "RoleBinding shop/debugger",
            &[finding(
                "SAG009",
                "/subjects/0",
                "ServiceAccount shop/debugger is bound to Role pod-debugger in namespace shop: rules[1] grants create on \
                 pods/exec — exec (high): runs commands in running Pods and takes their ServiceAccount tokens"
            )]
        )
    );
}

#[test]
fn lookup_secrets_reads_the_secret_a_pod_reads_from_the_cluster() {
    let request = fixture("pod-reads-token-secret.create");
    // Secrets are not read by default, even in context-aware mode: the Pod cannot be judged.
    assert_eq!(evaluate(&request, &json!({})), plain_accept("create-pod-reads-token-secret"));
    let (response, calls) = evaluate_with(&request, &json!({"context_aware": true}), Arc::new(NoCapabilities));
    assert_eq!((response, calls), (plain_accept("create-pod-reads-token-secret"), vec![]));

    let settings = json!({"context_aware": true, "lookup_secrets": true});
    let (response, calls) = evaluate_replay(&request, &settings, "secret-order-api-sa-token");
    assert_eq!(calls.len(), 1, "{calls:#?}");
    assert_eq!(
        (&calls[0].payload["kind"], &calls[0].payload["name"]),
        (&json!("Secret"), &json!("order-api-sa-token"))
    );
    assert_eq!(
        response,
        denied(
            &request,
            "Pod production/order-report",
            &[finding(
                "SAG007",
                "/spec/containers/0/env/0/valueFrom/secretKeyRef/name",
                "container report reads environment variable API_TOKEN from Secret order-api-sa-token, a legacy token \
                 of ServiceAccount order-api-sa that never expires; mount a projected serviceAccountToken with an \
                 audience and expirationSeconds instead"
            )]
        )
    );
}

#[test]
fn failed_permission_reviews_follow_on_lookup_failure() {
    let request = fixture("deployment-api.create");
    let session = session("sar-api-forbidden");
    let host_error = session.exchanges[1].response.clone().unwrap_err();
    let review = |extra: Value| {
        let mut settings = json!({"context_aware": true, "review_service_account_permissions": true});
        settings.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
        only(&["SAG015"], settings)
    };
    let (response, calls) = evaluate_replay(&request, &review(json!({})), "sar-api-forbidden");
    assert_eq!(calls.len(), 19, "every part of every risk is asked when none can be answered");
    let message = response.status.as_ref().and_then(|s| s.message.clone()).unwrap();
    assert!(
        message.contains(&format!(
            "[SAG015] Deployment shop/api /spec/template/spec/automountServiceAccountToken: Kubernetes mounts an API \
             token (automountServiceAccountToken is not false) for ServiceAccount shop/api, and whether it holds \
             these risks is unknown: the SubjectAccessReviews failed for impersonate (impersonate users \
             cluster-wide: Host error: {host_error}), nodes-proxy ("
        )),
        "{message}"
    );
    assert_eq!(response.status.as_ref().map(|s| s.code), Some(Some(403)));
    let (response, _) = evaluate_replay(&request, &review(json!({"on_lookup_failure": "warn"})), "sar-api-forbidden");
    assert!(response.allowed);
    assert_eq!(response.warnings.as_ref().map(Vec::len), Some(1));
    let (response, _) = evaluate_replay(&request, &review(json!({"on_lookup_failure": "allow"})), "sar-api-forbidden");
    assert_eq!(response, plain_accept("create-deployment-api"));
}

#[test]
fn permission_reviews_past_the_budget_are_not_asked() {
    let request = fixture("deployment-api.create");
    let settings = only(
        &["SAG015"],
        json!({"context_aware": true, "review_service_account_permissions": true, "max_permission_reviews": 3,
               "on_lookup_failure": "warn"}),
    );
    // The session's first three reviews, refused: the budget stops the policy there.
    let mut replayed = session("sar-api-exec");
    replayed.exchanges.truncate(4);
    let replay = Arc::new(sa_guard_e2e::replay::Replay::new(replayed));
    let (response, calls) = evaluate_with(&request, &settings, declared(replay.clone()));
    assert_eq!((calls.len(), replay.leftovers()), (4, 0));
    assert_eq!(
        response.warnings.unwrap(),
        ["[SAG015] Deployment shop/api /spec/template/spec/automountServiceAccountToken: Kubernetes mounts an API \
          token (automountServiceAccountToken is not false) for ServiceAccount shop/api, and whether it holds these \
          risks is unknown: webhook-config, create-pv, escalate, bind, token-request, read-secrets, \
          create-workloads, exec, ephemeral-containers, modify-node, modify-namespace were not asked: \
          max_permission_reviews (3) was spent"]
    );
}

#[test]
fn malformed_subject_access_review_answers_are_failures_that_say_why() {
    let request = fixture("deployment-api.create");
    let settings = only(
        &["SAG015"],
        json!({"context_aware": true, "review_service_account_permissions": true, "on_lookup_failure": "warn"}),
    );
    // The recorded session with its first two answers spoilt: not JSON, and a status whose
    // `allowed` is not a boolean. Each is its risk's failure; the other risks are still judged.
    let mut spoilt = session("sar-api-exec");
    spoilt.exchanges[1].response = Ok("<html>502 Bad Gateway</html>".into());
    spoilt.exchanges[2].response = Ok(r#"{"allowed":"yes"}"#.into());
    let replay = Arc::new(sa_guard_e2e::replay::Replay::new(spoilt));
    let (response, _) = evaluate_with(&request, &settings, declared(replay.clone()));
    assert_eq!(replay.leftovers(), 0);
    // exec is still held (denied); on_lookup_failure: warn makes the failures a warning
    let message = response.status.as_ref().and_then(|s| s.message.clone()).unwrap();
    assert!(!response.allowed && message.contains("which holds exec (high)"), "{message}");
    let warnings = response.warnings.unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].ends_with(
            "the SubjectAccessReviews failed for impersonate (impersonate users cluster-wide: the SubjectAccessReview \
             answer is not JSON: expected value at line 1 column 1), nodes-proxy (get nodes/proxy cluster-wide: the \
             SubjectAccessReview status has allowed: \"yes\")"
        ),
        "{}",
        warnings[0]
    );
}

#[test]
fn no_host_calls_unless_context_aware() {
    for name in ["deployment-api.create", "pod-default-sa.create", "rolebinding-pod-exec.create"] {
        let (_, calls) = evaluate_with(&fixture(name), &json!({}), Arc::new(NoCapabilities));
        assert_eq!(calls, vec![], "{name}");
    }
}

#[test]
fn a_host_without_capabilities_is_a_failed_lookup() {
    // kwctl without --allow-context-aware: the host refuses, the policy applies on_lookup_failure.
    let request = fixture("deployment-api.create");
    let (response, calls) = evaluate_with(
        &request,
        &json!({"context_aware": true, "on_lookup_failure": "allow"}),
        Arc::new(NoCapabilities),
    );
    assert_eq!(response, plain_accept("create-deployment-api"));
    assert_eq!(calls.len(), 1);
    assert!(calls[0].result.is_err());
    let (response, _) = evaluate_with(&request, &json!({"context_aware": true}), Arc::new(NoCapabilities));
    assert_eq!(response.status.as_ref().map(|s| s.code), Some(Some(403)));
}
