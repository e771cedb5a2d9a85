//! The lesson's manifests applied through policy.wasm the way `sa-guard-e2e verdicts` (the
//! project's main job on examples/) applies them: in order, each as a CREATE request, later
//! look-ups answered from what was admitted before.

use serde_json::{json, Value};

use sa_guard_e2e::verdicts::{self, ManifestObject, ObjectVerdict, Outcome, Setup};

use crate::support::*;

fn examples(files: &[&str]) -> Vec<ManifestObject> {
    files.iter().flat_map(|f| verdicts::read_manifest(&repo_root().join("examples").join(f)).unwrap()).collect()
}

fn run(objects: &[ManifestObject], settings: Value) -> Vec<ObjectVerdict> {
    let setup = Setup {
        policy: policy(),
        settings,
        metadata: Some(metadata()),
        namespace: "default".into(),
        capabilities: None,
    };
    verdicts::run(&setup, objects).unwrap()
}

/// (object, allowed, rules in the message, patch operations)
fn summary(verdicts: &[ObjectVerdict]) -> Vec<(String, bool, Vec<String>, usize)> {
    verdicts
        .iter()
        .map(|v| match &v.outcome {
            Outcome::NotSent(reason) => panic!("{} not sent: {reason}", v.object),
            Outcome::Evaluated(r) => {
                let message = r.status.as_ref().and_then(|s| s.message.clone()).unwrap_or_default();
                // one finding per line, `[SAG009] ...`; messages themselves may hold `rules[0]`
                let mut rules: Vec<String> = message
                    .lines()
                    .skip(1)
                    .filter_map(|line| line.strip_prefix('[')?.split_once(']').map(|(id, _)| id.to_string()))
                    .collect();
                rules.dedup();
                let patch = r.patch_operations().unwrap().map(|p| p.as_array().unwrap().len()).unwrap_or(0);
                (v.object.clone(), r.allowed, rules, patch)
            }
        })
        .collect()
}

fn row(object: &str, allowed: bool, rules: &[&str], patch: usize) -> (String, bool, Vec<String>, usize) {
    (object.to_string(), allowed, rules.iter().map(|r| r.to_string()).collect(), patch)
}

#[test]
fn the_lessons_manifests_as_a_cluster_sees_them() {
    let objects =
        examples(&["checkout-api.yaml", "hardened-default-sa.yaml", "order-api.yaml", "payment-processor.yaml"]);
    assert_eq!(
        summary(&run(&objects, json!({}))),
        vec![
            row("ServiceAccount production/default", false, &["SAG001"], 0),
            row("Deployment production/checkout-api", false, &["SAG002", "SAG003"], 0),
            row("ServiceAccount production/default", true, &[], 0),
            row("ServiceAccount production/order-api-sa", true, &[], 0),
            row("Role production/order-api-role", true, &[], 0),
            row("RoleBinding production/order-api-binding", true, &[], 0),
            row("Deployment production/order-api", true, &[], 0),
            row("ServiceAccount payments/payment-processor-sa", true, &[], 0),
            row("Deployment payments/payment-processor", true, &[], 0),
        ]
    );
}

#[test]
fn with_mutation_and_lookups_the_fixed_default_service_account_protects_checkout_api() {
    // The policy fixes the default ServiceAccount as it is created; the Deployment that follows
    // then runs on a ServiceAccount without auto-mount, which the look-up shows.
    let objects = examples(&["checkout-api.yaml"]);
    let verdicts = run(&objects, json!({"mutate": true, "context_aware": true}));
    assert_eq!(
        summary(&verdicts),
        vec![
            row("ServiceAccount production/default", true, &[], 1),
            row("Deployment production/checkout-api", true, &[], 0)
        ]
    );
    // Without the fix, the looked-up default ServiceAccount leaves the token on.
    let verdicts = run(&objects, json!({"context_aware": true}));
    assert_eq!(summary(&verdicts)[1], row("Deployment production/checkout-api", false, &["SAG002", "SAG003"], 0));
}

#[test]
fn the_bad_examples_are_each_denied_for_their_rule() {
    let cases = [
        ("all-serviceaccounts-binding.yaml", "RoleBinding production/every-sa-reads-configmaps", vec!["SAG010"]),
        ("cluster-admin-binding.yaml", "ClusterRoleBinding deploy-bot-cluster-admin", vec!["SAG009"]),
        ("default-sa-edit.yaml", "RoleBinding production/default-edit", vec!["SAG008", "SAG009"]),
        ("legacy-token-secret.yaml", "Secret production/order-api-sa-token", vec!["SAG007"]),
        ("static-aws-keys.yaml", "Deployment analytics/report-exporter", vec!["SAG013"]),
        ("insecure-kubeconfig.yaml", "ConfigMap production/legacy-client-kubeconfig", vec!["SAG014"]),
    ];
    for (file, object, rules) in cases {
        let verdicts = run(&examples(&[&format!("bad/{file}")]), json!({}));
        let denied: Vec<_> = summary(&verdicts).into_iter().filter(|(_, allowed, _, _)| !allowed).collect();
        assert_eq!(denied, vec![row(object, false, &rules, 0)], "{file}");
    }
}

#[test]
fn pods_in_manifests_get_the_service_account_plugins_token_volume() {
    let dir = std::env::temp_dir().join(format!("sa-guard-e2e-verdicts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("pods.yaml");
    std::fs::write(
        &path,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: quiet, namespace: shop}\nautomountServiceAccountToken: false\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata: {name: a, namespace: shop}\nspec:\n  serviceAccountName: quiet\n  containers: [{name: c, image: x}]\n\
         ---\napiVersion: v1\nkind: Pod\nmetadata: {name: b, namespace: shop}\nspec:\n  containers: [{name: c, image: x}]\n",
    )
    .unwrap();
    let objects = verdicts::read_manifest(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    // Look-ups on: the ServiceAccount applied first is what the policy reads for Pod a.
    let verdicts = run(&objects, json!({"context_aware": true}));
    let pod = |i: usize| verdicts[i].request.as_ref().unwrap()["object"]["spec"].clone();
    // The ServiceAccount applied first disables auto-mount: no volume for Pod a.
    assert_eq!(pod(1).get("volumes"), None);
    assert_eq!(pod(1)["serviceAccount"], "quiet");
    // Pod b runs as default, whose controller-made ServiceAccount mounts the token.
    assert_eq!(pod(2)["serviceAccountName"], "default");
    assert!(pod(2)["volumes"][0]["name"].as_str().unwrap().starts_with("kube-api-access-"));
    assert_eq!(
        summary(&verdicts[1..]),
        vec![row("Pod shop/a", true, &[], 0), row("Pod shop/b", false, &["SAG002", "SAG003"], 0)]
    );
    assert_eq!(verdicts[1].line, 6);
}

#[test]
fn objects_outside_the_webhook_rules_are_not_sent() {
    let dir = std::env::temp_dir().join(format!("sa-guard-e2e-notsent-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("svc.yaml");
    std::fs::write(&path, "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n")
        .unwrap();
    let objects = verdicts::read_manifest(&path).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let verdicts = run(&objects, json!({}));
    assert_eq!(verdicts[0].outcome, Outcome::NotSent("the policy's rules do not cover core/services CREATE".into()));
    assert!(verdicts::render(&verdicts).contains("default/web"));
}

#[test]
fn the_report_reads_as_verdicts() {
    let objects = examples(&["checkout-api.yaml"]);
    let report = verdicts::render(&run(&objects, json!({"mutate": true})));
    let file = repo_root().join("examples").join("checkout-api.yaml").display().to_string();
    let expected_head = format!(
        "{file}:13  ServiceAccount production/default\n  \
         ALLOWED\n  \
         WARNINGS\n    \
         sa-guard changed ServiceAccount production/default: set automountServiceAccountToken: false at /automountServiceAccountToken ([SAG001])\n  \
         MUTATED (JSONPatch)\n    \
         add /automountServiceAccountToken = false\n  \
         AUDIT\n"
    );
    assert!(report.starts_with(&expected_head), "{report}");
    assert!(
        report.ends_with("\n2 objects: 2 allowed, 0 denied, 2 with warnings, 2 mutated, 0 not sent to the policy\n"),
        "{report}"
    );
}
