//! The inventory of the lesson's manifests (examples/): every column pinned.

use sa_guard::inventory::{self, BindingUse, Inventory, ServiceAccountRow, TokenState};
use sa_guard::manifest::{parse, Limits};
use sa_guard::rbac::catalog::Severity;
use sa_guard::Settings;
use serde_json::{json, Value};

fn objects_of(files: &[&str]) -> Vec<Value> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    files
        .iter()
        .flat_map(|file| {
            let text = std::fs::read_to_string(root.join(file)).unwrap();
            let manifests = parse(&text, &Limits::default());
            assert!(manifests.errors.is_empty(), "{file}: {:?}", manifests.errors);
            manifests.values()
        })
        .collect()
}

fn inventory_of(objects: &[Value]) -> Inventory {
    inventory::of_objects(objects, &Settings::default(), None).0
}

fn row<'i>(inventory: &'i Inventory, namespace: &str, name: &str) -> &'i ServiceAccountRow {
    inventory
        .service_accounts
        .iter()
        .find(|r| r.namespace == namespace && r.name == name)
        .unwrap_or_else(|| panic!("no row {namespace}/{name}"))
}

#[test]
fn the_lessons_service_accounts() {
    let objects = objects_of(&["checkout-api.yaml", "order-api.yaml", "payment-processor.yaml"]);
    let inventory = inventory_of(&objects);
    let rows: Vec<String> = inventory.service_accounts.iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect();
    assert_eq!(rows, ["payments/payment-processor-sa", "production/default", "production/order-api-sa"]);

    // checkout-api runs on default and gets a token it does not need
    let default = row(&inventory, "production", "default");
    assert_eq!(default.automount, None);
    assert!(default.object_index.is_some());
    assert_eq!(default.workloads.len(), 1);
    assert_eq!(
        (default.workloads[0].kind.as_str(), default.workloads[0].name.as_str()),
        ("Deployment", "checkout-api")
    );
    assert_eq!(default.workloads[0].token, TokenState { mounted: true, reason: "default".into() });
    assert!(default.token_mounted && default.bindings.is_empty() && default.highest_risk.is_none());
    assert_eq!(default.findings, ["SAG001", "SAG002", "SAG003"]);

    // order-api runs on its own ServiceAccount, bound to read-only ConfigMaps
    let order = row(&inventory, "production", "order-api-sa");
    assert_eq!(order.workloads[0].token, TokenState { mounted: true, reason: "pod-spec-true".into() });
    assert_eq!(
        order.bindings,
        [BindingUse {
            kind: "RoleBinding".into(),
            namespace: Some("production".into()),
            name: "order-api-binding".into(),
            object_index: 4,
            via: "ServiceAccount".into(),
            role: "Role order-api-role".into(),
            role_object_index: Some(3),
            role_found: true,
            risks: vec![],
            system: false,
        }]
    );
    assert_eq!(order.highest_risk, None);
    assert!(!order.unused);

    // payment-processor mounts no API token, only two audience-bound projected tokens
    let payment = row(&inventory, "payments", "payment-processor-sa");
    assert_eq!(payment.automount, Some(false));
    assert_eq!(payment.workloads[0].token, TokenState { mounted: false, reason: "pod-spec-false".into() });
    let projected: Vec<Value> = payment.workloads[0]
        .projected_tokens
        .iter()
        .map(|p| json!([p.volume, p.audience, p.expiration_seconds, p.api_audience]))
        .collect();
    assert_eq!(
        projected,
        [
            json!(["token-fraud-detection", "fraud-detection-api", 3600, false]),
            json!(["token-payment-gateway", "payment-gateway-prod", 1800, false]),
        ]
    );
    assert!(!payment.token_mounted);
}

#[test]
fn a_dump_collapses_owned_pods_and_attaches_risks_groups_and_legacy_tokens() {
    let owner =
        |kind: &str, name: &str| json!([{"apiVersion": "apps/v1", "kind": kind, "name": name, "controller": true}]);
    let spec = json!({"serviceAccountName": "api", "containers": [{"name": "c", "image": "i"}]});
    let objects = [
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
               "spec": {"template": {"spec": spec}}}),
        json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
               "metadata": {"name": "api-7f9b4d", "namespace": "shop", "ownerReferences": owner("Deployment", "api")},
               "spec": {"template": {"spec": spec}}}),
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": "api-7f9b4d-2xkpj", "namespace": "shop", "ownerReferences": owner("ReplicaSet", "api-7f9b4d")},
               "spec": spec}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "api-edit", "namespace": "shop"},
               "subjects": [{"kind": "ServiceAccount", "name": "api"}], "roleRef": {"kind": "ClusterRole", "name": "edit"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "all-view"},
               "subjects": [{"kind": "Group", "name": "system:serviceaccounts"}], "roleRef": {"kind": "ClusterRole", "name": "view"}}),
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
               "metadata": {"name": "api-token", "namespace": "shop", "annotations": {"kubernetes.io/service-account.name": "api"}}}),
        json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "idle", "namespace": "shop",
               "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::1:role/idle"}}}),
    ];
    let inventory = inventory_of(&objects);
    let api = row(&inventory, "shop", "api");
    assert_eq!(api.workloads.len(), 1, "the ReplicaSet and the Pod are the Deployment's");
    assert_eq!(api.workloads[0].owned, ["ReplicaSet/api-7f9b4d", "Pod/api-7f9b4d-2xkpj"]);
    let bindings: Vec<(&str, &str, Vec<(&str, Severity)>)> = api
        .bindings
        .iter()
        .map(|b| (b.name.as_str(), b.via.as_str(), b.risks.iter().map(|r| (r.id.as_str(), r.severity)).collect()))
        .collect();
    assert_eq!(
        bindings,
        [
            (
                "api-edit",
                "ServiceAccount",
                vec![
                    ("impersonate", Severity::High),
                    ("token-request", Severity::High),
                    ("read-secrets", Severity::High),
                    ("create-workloads", Severity::High),
                    ("exec", Severity::High),
                    ("create-secrets", Severity::Medium),
                ]
            ),
            ("all-view", "system:serviceaccounts", vec![]),
        ]
    );
    assert_eq!(api.highest_risk, Some(Severity::High));
    assert_eq!(api.legacy_token_secrets, ["api-token"]);
    assert!(
        api.findings.contains(&"SAG015".to_string()) && api.findings.contains(&"SAG007".to_string()),
        "{:?}",
        api.findings
    );

    let idle = row(&inventory, "shop", "idle");
    assert!(idle.unused && idle.workloads.is_empty());
    assert_eq!(idle.workload_identity[0].provider, "AWS IRSA");
    assert_eq!(idle.bindings.len(), 1, "the group binding reaches it too");
}
