//! Each admission rule denying or warning through policy.wasm, on requests shaped like the API
//! server's. Settings enable one rule at a time so a verdict shows that rule alone.

use serde_json::json;

use crate::support::*;

const SAG001_MESSAGE: &str = "the default ServiceAccount does not set automountServiceAccountToken, so every Pod in \
    namespace production that names no ServiceAccount gets an API token mounted";

#[test]
fn sag001_default_service_account_that_mounts_tokens_is_denied() {
    for name in
        ["serviceaccount-default.create", "serviceaccount-default.update", "lesson-checkout-api-serviceaccount-default"]
    {
        let request = fixture(name);
        let response = evaluate(&request, &only(&["SAG001"], json!({})));
        // The whole message once literally, to pin the format the other tests build.
        assert_eq!(
            response.status.as_ref().unwrap().message.as_deref().unwrap(),
            "sa-guard denied ServiceAccount production/default (1 finding):\n\
             [SAG001] ServiceAccount production/default /automountServiceAccountToken: the default ServiceAccount \
             does not set automountServiceAccountToken, so every Pod in namespace production that names no \
             ServiceAccount gets an API token mounted What to do: Set automountServiceAccountToken: false on the \
             default ServiceAccount (kubectl patch serviceaccount default -n <ns> -p \
             '{\"automountServiceAccountToken\": false}').",
            "{name}"
        );
        assert_eq!(
            response,
            denied(
                &request,
                "ServiceAccount production/default",
                &[finding("SAG001", "/automountServiceAccountToken", SAG001_MESSAGE)]
            ),
            "{name}"
        );
    }
    let hardened = fixture("serviceaccount-default-hardened.create");
    assert_eq!(
        evaluate(&hardened, &only(&["SAG001"], json!({}))),
        plain_accept("create-serviceaccount-default-hardened")
    );
}

/// Where each pod-bearing kind keeps its Pod spec.
pub const WORKLOADS: &[(&str, &str, &str)] = &[
    ("deployment-api", "Deployment shop/api", "/spec/template/spec"),
    ("replicaset-api", "ReplicaSet shop/api-7c9d6b5f4", "/spec/template/spec"),
    ("statefulset-api", "StatefulSet shop/api", "/spec/template/spec"),
    ("daemonset-api", "DaemonSet shop/api", "/spec/template/spec"),
    ("job-api", "Job shop/api-migrate", "/spec/template/spec"),
    ("cronjob-api", "CronJob shop/api-report", "/spec/jobTemplate/spec/template/spec"),
    ("replicationcontroller-api", "ReplicationController shop/api", "/spec/template/spec"),
    ("podtemplate-api", "PodTemplate shop/api", "/template/spec"),
];

pub const SAG002_API_NOT_LOOKED_UP: &str = "the Pod spec does not set automountServiceAccountToken and ServiceAccount \
    shop/api was not looked up because context-aware lookups are off, so its automountServiceAccountToken is unknown; \
    Kubernetes' default is true, so an API token is mounted";

#[test]
fn sag002_implicit_token_is_denied_in_every_pod_bearing_kind() {
    for (name, subject, spec) in WORKLOADS {
        for operation in ["create", "update"] {
            let request = fixture(&format!("{name}.{operation}"));
            let path = format!("{spec}/automountServiceAccountToken");
            assert_eq!(
                evaluate(&request, &only(&["SAG002"], json!({}))),
                denied(&request, subject, &[finding("SAG002", &path, SAG002_API_NOT_LOOKED_UP)]),
                "{name}.{operation}"
            );
        }
    }
}

#[test]
fn sag002_and_sag003_pod_on_the_default_service_account() {
    let request = fixture("pod-default-sa.create");
    let unknown = "the Pod spec does not set automountServiceAccountToken and ServiceAccount shop/default was not \
        looked up because context-aware lookups are off, so its automountServiceAccountToken is unknown; Kubernetes' \
        default is true";
    let sag002 = format!("{unknown}, so an API token is mounted");
    let sag003 = format!(
        "serviceAccountName is default, so the workload runs as the namespace's shared default ServiceAccount with an \
         API token mounted ({unknown})"
    );
    assert_eq!(
        evaluate(&request, &only(&["SAG003"], json!({}))),
        denied(&request, "Pod shop/web", &[finding("SAG003", "/spec/serviceAccountName", &sag003)])
    );
    // Default settings: both, in rule order.
    assert_eq!(
        evaluate(&request, &json!({})),
        denied(
            &request,
            "Pod shop/web",
            &[
                finding("SAG002", "/spec/automountServiceAccountToken", &sag002),
                finding("SAG003", "/spec/serviceAccountName", &sag003),
            ]
        )
    );
    // A dedicated ServiceAccount without a token: nothing to say.
    let worker = fixture("pod-no-token.create");
    assert_eq!(evaluate(&worker, &json!({})), plain_accept("create-pod-no-token"));
}

#[test]
fn sag004_deprecated_service_account_field_warns() {
    // Only a hand-written request can carry it: the API server copies serviceAccount into
    // serviceAccountName before admission.
    let request = fixture("handwritten-deployment-deprecated-field");
    let sag004 = finding(
        "SAG004",
        "/spec/template/spec/serviceAccount",
        "only the deprecated serviceAccount field names the ServiceAccount (api); use serviceAccountName",
    );
    assert_eq!(evaluate(&request, &json!({})), warned(&request, "Deployment shop/api", &[sag004]));
    let deny = json!({"rules": {"SAG004": "deny"}});
    let request_deny = evaluate(&request, &deny);
    assert_eq!(request_deny.status.as_ref().and_then(|s| s.code), Some(403));
}

const REPORTER: &str = "Pod shop/reporter";
const TOKEN: &str = "/spec/volumes/0/projected/sources/0/serviceAccountToken";

#[test]
fn sag005_projected_token_for_the_api_server_is_denied() {
    let request = fixture("pod-projected-api-token.create");
    let path = format!("{TOKEN}/audience");
    assert_eq!(
        evaluate(&request, &only(&["SAG005"], json!({}))),
        denied(
            &request,
            REPORTER,
            &[finding(
                "SAG005",
                &path,
                "the projected token in volume api-token has audience \"https://kubernetes.default.svc\", which is in denied_audiences"
            )]
        )
    );
}

#[test]
fn sag006_long_lived_projected_token_warns() {
    let request = fixture("pod-projected-api-token.create");
    let path = format!("{TOKEN}/expirationSeconds");
    let sag006 = finding(
        "SAG006",
        &path,
        "the projected token in volume api-token lives 86400 seconds, longer than max_token_expiration_seconds (3600)",
    );
    assert_eq!(evaluate(&request, &only(&["SAG006"], json!({}))), warned(&request, REPORTER, &[sag006]));
    // A day is within a two-day maximum.
    let relaxed = only(&["SAG006"], json!({"max_token_expiration_seconds": 172800}));
    assert_eq!(evaluate(&request, &relaxed), plain_accept("create-pod-projected-api-token"));
}

#[test]
fn sag007_legacy_token_secret_and_secrets_list_are_denied() {
    let secret = fixture("secret-legacy-token.create");
    assert_eq!(
        evaluate(&secret, &only(&["SAG007"], json!({}))),
        denied(
            &secret,
            "Secret production/order-api-sa-token",
            &[finding(
                "SAG007",
                "/type",
                "a Secret of type kubernetes.io/service-account-token holds a token for ServiceAccount order-api-sa \
                 that never expires, readable by anyone who can read Secrets in namespace production"
            )]
        )
    );
    let sa = fixture("serviceaccount-legacy-secrets.update");
    assert_eq!(
        evaluate(&sa, &only(&["SAG007"], json!({}))),
        denied(
            &sa,
            "ServiceAccount ci/build-bot",
            &[finding(
                "SAG007",
                "/secrets",
                "the ServiceAccount lists Secrets under secrets (build-bot-token-x8k2d), the legacy way of attaching \
                 long-lived token Secrets; Pods get short-lived projected tokens without it"
            )]
        )
    );
}

const DEFAULT_EDIT_SAG008: &str = "the default ServiceAccount of namespace production is bound to ClusterRole edit in \
    namespace production: every Pod in production that names no ServiceAccount inherits these permissions; the \
    built-in ClusterRole edit carries impersonate (high), token-request (high), read-secrets (high), create-workloads \
    (high), exec (high), create-secrets (medium)";

/// SAG009's findings for the built-in `edit` bound to production/default: one per risk, each
/// naming the rules of the bootstrap role `system:aggregate-to-edit` that grant it.
fn default_edit_sag009() -> Vec<(&'static str, String)> {
    let subject = "ServiceAccount production/default is bound to the built-in ClusterRole edit in namespace \
        production: aggregated ClusterRole system:aggregate-to-edit";
    [
        ("rules[0] grants get on pods/exec, get on pods/attach; aggregated ClusterRole system:aggregate-to-edit \
          rules[2] grants create on pods/exec, create on pods/attach",
         "exec (high): runs commands in running Pods and takes their ServiceAccount tokens"),
        ("rules[0] grants get, list, watch on secrets",
         "read-secrets (high): reads every Secret within reach: ServiceAccount tokens, cloud keys, TLS keys, passwords"),
        ("rules[1] grants impersonate on serviceaccounts",
         "impersonate (high): sends requests as another user, group or ServiceAccount (`--as`) and gets all of its \
          permissions"),
        ("rules[2] grants create on pods; aggregated ClusterRole system:aggregate-to-edit rules[4] grants create, \
          update, patch on replicationcontrollers; aggregated ClusterRole system:aggregate-to-edit rules[6] grants \
          create, update, patch on deployments, create, update, patch on daemonsets, create, update, patch on \
          statefulsets, create, update, patch on replicasets; aggregated ClusterRole system:aggregate-to-edit \
          rules[8] grants create, update, patch on jobs, create, update, patch on cronjobs",
         "create-workloads (high): runs a Pod as any ServiceAccount within reach and reads its token (or mounts any \
          Secret, or a host path where Pod Security allows)"),
        ("rules[4] grants create on secrets",
         "create-secrets (medium): creates a service-account-token Secret, which the token controller fills with a \
          token that never expires for any ServiceAccount within reach"),
        ("rules[5] grants create on serviceaccounts/token",
         "token-request (high): mints a token for any ServiceAccount within reach (TokenRequest) and acts as it"),
    ]
    .into_iter()
    .map(|(grant, risk)| ("/subjects/0", format!("{subject} {grant} — {risk}")))
    .collect()
}

#[test]
fn sag008_default_service_account_with_a_role_is_denied() {
    let request = fixture("rolebinding-default-edit.create");
    assert_eq!(
        evaluate(&request, &only(&["SAG008"], json!({}))),
        denied(
            &request,
            "RoleBinding production/default-edit",
            &[finding("SAG008", "/subjects/0", DEFAULT_EDIT_SAG008)]
        )
    );
}

#[test]
fn sag009_service_account_with_a_privileged_built_in_role_is_denied() {
    let request = fixture("clusterrolebinding-cluster-admin.create");
    assert_eq!(
        evaluate(&request, &only(&["SAG009"], json!({}))),
        denied(
            &request,
            "ClusterRoleBinding deploy-bot-cluster-admin",
            &[finding(
                "SAG009",
                "/subjects/0",
                "ServiceAccount ci/deploy-bot is bound to the built-in ClusterRole cluster-admin across the cluster: \
                 rules[0] grants every verb on every resource of every API group — wildcard (critical): does \
                 anything the API allows where the binding applies, including every other path of this catalog and \
                 whatever later API versions add"
            )]
        )
    );
    // The lesson's quiz: edit for the default ServiceAccount trips both binding rules, SAG009
    // once per risk the built-in role carries. With medium risks denied too, all are in the
    // rejection; by default create-secrets (medium) is a warning beside it.
    let edit = fixture("rolebinding-default-edit.update");
    let sag009 = default_edit_sag009();
    let mut expected = vec![finding("SAG008", "/subjects/0", DEFAULT_EDIT_SAG008)];
    expected.extend(sag009.iter().map(|(path, message)| finding("SAG009", path, message)));
    assert_eq!(
        evaluate(&edit, &json!({"rbac_min_severity_to_deny": "medium", "rules": {"SAG016": "off"}})),
        denied(&edit, "RoleBinding production/default-edit", &expected)
    );
    let by_default = evaluate(&edit, &json!({}));
    let create_secrets = &sag009[4].1;
    assert!(!by_default.allowed);
    assert_eq!(
        by_default.warnings,
        Some(vec![format!("[SAG009] RoleBinding production/default-edit /subjects/0: {create_secrets}")])
    );
    let message = by_default.status.and_then(|s| s.message).unwrap_or_default();
    assert!(message.starts_with("sa-guard denied RoleBinding production/default-edit (6 findings):"), "{message}");
    assert!(!message.contains("— create-secrets"), "{message}");
    // The lesson's read-only binding passes.
    let order_api = fixture("rolebinding-order-api.create");
    assert_eq!(evaluate(&order_api, &json!({})), plain_accept("create-rolebinding-order-api"));
}

#[test]
fn sag010_binding_to_every_service_account_is_denied() {
    let request = fixture("rolebinding-all-serviceaccounts.create");
    assert_eq!(
        evaluate(&request, &only(&["SAG010"], json!({}))),
        denied(
            &request,
            "RoleBinding production/every-sa-reads-configmaps",
            &[finding(
                "SAG010",
                "/subjects/0",
                "Group system:serviceaccounts is bound to Role configmap-reader in namespace production: every \
                 ServiceAccount in the cluster, and so every Pod with a token gets these permissions"
            )]
        )
    );
}

fn aws_key(variable: &str) -> String {
    format!(
        "container report-exporter sets {variable} inline, putting a static AWS credential in the manifest; use \
         workload identity instead (IRSA's eks.amazonaws.com/role-arn annotation or an EKS Pod Identity association, \
         on the workload's own ServiceAccount), so the projected ServiceAccount token is the only credential"
    )
}

#[test]
fn sag013_static_cloud_keys_in_the_environment_are_denied() {
    for operation in ["create", "update"] {
        let request = fixture(&format!("pod-aws-keys.{operation}"));
        // The keys, each at its env entry; AWS_REGION (env/2) is configuration, not a credential.
        assert_eq!(
            evaluate(&request, &only(&["SAG013"], json!({}))),
            denied(
                &request,
                "Pod analytics/report-exporter",
                &[
                    finding("SAG013", "/spec/containers/0/env/0", &aws_key("AWS_ACCESS_KEY_ID")),
                    finding("SAG013", "/spec/containers/0/env/1", &aws_key("AWS_SECRET_ACCESS_KEY")),
                ]
            ),
            "{operation}"
        );
    }
}

#[test]
fn sag013_cloud_credentials_in_a_config_map_are_denied() {
    let config_map_warning = "a ConfigMap is not even access-controlled like a Secret: anyone who can read \
        ConfigMaps in the namespace can take it";
    let aws = format!(
        "ConfigMap key aws_secret_access_key holds a static AWS credential, and {config_map_warning}; use workload \
         identity instead (IRSA's eks.amazonaws.com/role-arn annotation or an EKS Pod Identity association, on the \
         workload's own ServiceAccount), so the projected ServiceAccount token is the only credential"
    );
    let gcp = format!(
        "ConfigMap key gcp-key.json holds a GCP service-account key (\"type\": \"service_account\" with a \
         private_key), a static GCP credential, and {config_map_warning}; use workload identity instead (GKE \
         Workload Identity Federation, an iam.gke.io/gcp-service-account annotation or IAM roles for the workload's \
         own ServiceAccount), so the projected ServiceAccount token is the only credential"
    );
    for operation in ["create", "update"] {
        let request = fixture(&format!("configmap-cloud-credentials.{operation}"));
        // aws_region and jobs.yaml are configuration, left out by the admission decoder.
        assert_eq!(
            evaluate(&request, &only(&["SAG013"], json!({}))),
            denied(
                &request,
                "ConfigMap analytics/legacy-cloud-settings",
                &[
                    finding("SAG013", "/data/aws_secret_access_key", &aws),
                    finding("SAG013", "/data/gcp-key.json", &gcp),
                ]
            ),
            "{operation}"
        );
    }
    let settings = fixture("configmap-app-settings.create");
    assert_eq!(evaluate(&settings, &only(&["SAG013"], json!({}))), plain_accept("create-configmap-app-settings"));
}

#[test]
fn sag014_kubeconfig_that_skips_tls_verification_is_denied() {
    for (name, subject, path, what) in [
        (
            "configmap-insecure-kubeconfig",
            "ConfigMap production/legacy-client-kubeconfig",
            "/data/kubeconfig",
            "ConfigMap key kubeconfig",
        ),
        (
            "secret-insecure-kubeconfig",
            "Secret production/legacy-client-kubeconfig",
            "/stringData/config",
            "Secret key config",
        ),
    ] {
        let message = format!(
            "{what} holds a kubeconfig with insecure-skip-tls-verify: true (line 7), so its client does not verify \
             the API server's certificate and sends its credentials to whoever answers"
        );
        for operation in ["create", "update"] {
            let request = fixture(&format!("{name}.{operation}"));
            assert_eq!(
                evaluate(&request, &only(&["SAG014"], json!({}))),
                denied(&request, subject, &[finding("SAG014", path, &message)]),
                "{name}.{operation}"
            );
        }
    }
    let settings = fixture("configmap-app-settings.create");
    assert_eq!(evaluate(&settings, &only(&["SAG014"], json!({}))), plain_accept("create-configmap-app-settings"));
}

/// SAG015 at admission: the Deployment's ServiceAccount may exec into Pods (a RoleBinding the
/// request does not show), as the cluster's authorizer answers in a recorded kwctl session.
const SAG015_HOLDS_EXEC: &str =
    "holds exec (high): the cluster's authorizer allows create pods/exec in namespace shop \
    (RBAC: allowed by RoleBinding \"debug/shop\" of Role \"pod-debugger\" to ServiceAccount \"api/shop\") \
    (SubjectAccessReview)";

#[test]
fn sag015_a_token_for_a_service_account_that_may_exec_is_denied() {
    let request = fixture("deployment-api.create");
    let settings = only(&["SAG015"], json!({"context_aware": true, "review_service_account_permissions": true}));
    // Off by default: no SubjectAccessReview, nothing to say.
    assert_eq!(evaluate(&request, &only(&["SAG015"], json!({}))), plain_accept("create-deployment-api"));
    let (response, calls) = evaluate_replay(&request, &settings, "sar-api-exec");
    assert_eq!(calls.iter().filter(|c| c.operation == "can_i").count(), 14);
    assert_eq!(
        calls[11].payload,
        json!({"subject_access_review": {
                   "groups": ["system:serviceaccounts", "system:serviceaccounts:shop", "system:authenticated"],
                   "resource_attributes": {"group": "", "name": null, "namespace": "shop", "resource": "pods",
                                           "subresource": "exec", "verb": "create", "version": null},
                   "user": "system:serviceaccount:shop:api"},
               "disable_cache": false}),
        "the SDK's CanIRequest, with the ServiceAccount's groups"
    );
    let message = format!(
        "Kubernetes mounts an API token (automountServiceAccountToken is not false) for ServiceAccount shop/api, \
         which {SAG015_HOLDS_EXEC}: an attacker with code execution in any of these Pods runs commands in running \
         Pods and takes their ServiceAccount tokens"
    );
    assert_eq!(
        response,
        denied(
            &request,
            "Deployment shop/api",
            &[finding("SAG015", "/spec/template/spec/automountServiceAccountToken", &message)]
        )
    );
}

#[test]
fn sag015_without_a_token_the_same_service_account_is_a_warning() {
    let request = fixture("deployment-api.create");
    let settings = only(&["SAG015"], json!({"context_aware": true, "review_service_account_permissions": true}));
    let (response, _) = evaluate_replay(&request, &settings, "sar-api-exec-no-token");
    let message = format!(
        "These Pods get no API token for ServiceAccount shop/api, so they cannot use its permissions; but it \
         {SAG015_HOLDS_EXEC}, and any Pod that gets its token runs commands in running Pods and takes their \
         ServiceAccount tokens"
    );
    assert_eq!(
        response,
        warned(
            &request,
            "Deployment shop/api",
            &[finding("SAG015", "/spec/template/spec/serviceAccountName", &message)]
        )
    );
}

/// Like kube-linter's check-has-e2e gate: every rule that runs at admission has a test above
/// whose name carries its id. (Bundle-scope rules need several objects at once and run in the
/// CLI and the playground; their end-to-end tests are the CLI's fixture trees.)
#[test]
fn every_admission_rule_has_an_end_to_end_test_here() {
    let source = include_str!("rules.rs");
    let tests: Vec<&str> =
        source.split("#[test]\nfn ").skip(1).filter_map(|rest| rest.split_once('(').map(|(name, _)| name)).collect();
    let missing: Vec<&str> = sa_guard::rules::all()
        .iter()
        .filter(|rule| rule.meta.scope.runs_at_admission())
        .map(|rule| rule.meta.id)
        .filter(|id| !tests.iter().any(|name| name.split('_').any(|word| word == id.to_ascii_lowercase())))
        .collect();
    assert!(missing.is_empty(), "rules without an end-to-end test in e2e-tests/tests/e2e/rules.rs: {missing:?}");
}
