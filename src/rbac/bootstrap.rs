//! The user-facing ClusterRoles every cluster has, as Kubernetes' bootstrap policy defines them
//! (`plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go`, Kubernetes 1.31 and later):
//! `cluster-admin`, and `admin`, `edit` and `view`, which are aggregated from
//! `system:aggregate-to-admin|edit|view` (and from any ClusterRole labelled
//! `rbac.authorization.k8s.io/aggregate-to-admin|edit|view: "true"`). They are never in the
//! linted files, so a binding to one is judged by these rules rather than by the role's name.
//! Only the rules that matter to a ServiceAccount's risks are spelled out in full; the read-only
//! rules of `view` are kept so that `can-i` answers as the cluster does.

use std::sync::OnceLock;

use serde_json::{json, Value};

const AGGREGATE_TO_ADMIN: &str = "rbac.authorization.k8s.io/aggregate-to-admin";
const AGGREGATE_TO_EDIT: &str = "rbac.authorization.k8s.io/aggregate-to-edit";
const AGGREGATE_TO_VIEW: &str = "rbac.authorization.k8s.io/aggregate-to-view";

/// The verbs the bootstrap policy calls Read and Write.
const READ: [&str; 3] = ["get", "list", "watch"];
const WRITE: [&str; 5] = ["create", "update", "patch", "delete", "deletecollection"];

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Value {
    json!({"apiGroups": groups, "resources": resources, "verbs": verbs})
}

fn cluster_role(name: &str, labels: Value, aggregates: Option<&str>, rules: Vec<Value>) -> Value {
    let mut role = json!({
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": name, "labels": labels},
        "rules": rules,
    });
    if let Some(label) = aggregates {
        role["aggregationRule"] = json!({"clusterRoleSelectors": [{"matchLabels": {label: "true"}}]});
    }
    role
}

fn build() -> Vec<Value> {
    let both = [READ.as_slice(), WRITE.as_slice()].concat();
    vec![
        cluster_role(
            "cluster-admin",
            json!({}),
            None,
            vec![rule(&["*"], &["*"], &["*"]), json!({"nonResourceURLs": ["*"], "verbs": ["*"]})],
        ),
        cluster_role("admin", json!({}), Some(AGGREGATE_TO_ADMIN), Vec::new()),
        cluster_role("edit", json!({AGGREGATE_TO_ADMIN: "true"}), Some(AGGREGATE_TO_EDIT), Vec::new()),
        cluster_role("view", json!({AGGREGATE_TO_EDIT: "true"}), Some(AGGREGATE_TO_VIEW), Vec::new()),
        cluster_role(
            "system:aggregate-to-admin",
            json!({AGGREGATE_TO_ADMIN: "true"}),
            None,
            vec![
                rule(&["authorization.k8s.io"], &["localsubjectaccessreviews"], &["create"]),
                rule(&["rbac.authorization.k8s.io"], &["rolebindings", "roles"], &both),
            ],
        ),
        cluster_role(
            "system:aggregate-to-edit",
            json!({AGGREGATE_TO_EDIT: "true"}),
            None,
            vec![
                rule(
                    &[""],
                    &["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
                    &READ,
                ),
                rule(&[""], &["serviceaccounts"], &["impersonate"]),
                rule(&[""], &["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"], &WRITE),
                rule(&[""], &["pods/eviction"], &["create"]),
                rule(
                    &[""],
                    &[
                        "configmaps",
                        "events",
                        "persistentvolumeclaims",
                        "replicationcontrollers",
                        "replicationcontrollers/scale",
                        "secrets",
                        "serviceaccounts",
                        "services",
                        "services/proxy",
                    ],
                    &WRITE,
                ),
                rule(&[""], &["serviceaccounts/token"], &["create"]),
                rule(
                    &["apps"],
                    &[
                        "daemonsets",
                        "deployments",
                        "deployments/rollback",
                        "deployments/scale",
                        "replicasets",
                        "replicasets/scale",
                        "statefulsets",
                        "statefulsets/scale",
                    ],
                    &WRITE,
                ),
                rule(&["autoscaling"], &["horizontalpodautoscalers"], &WRITE),
                rule(&["batch"], &["cronjobs", "jobs"], &WRITE),
                rule(
                    &["extensions"],
                    &[
                        "daemonsets",
                        "deployments",
                        "deployments/rollback",
                        "deployments/scale",
                        "ingresses",
                        "networkpolicies",
                        "replicasets",
                        "replicasets/scale",
                        "replicationcontrollers/scale",
                    ],
                    &WRITE,
                ),
                rule(&["policy"], &["poddisruptionbudgets"], &WRITE),
                rule(&["networking.k8s.io"], &["ingresses", "networkpolicies"], &WRITE),
                rule(&["coordination.k8s.io"], &["leases"], &both),
            ],
        ),
        cluster_role(
            "system:aggregate-to-view",
            json!({AGGREGATE_TO_VIEW: "true"}),
            None,
            vec![
                rule(
                    &[""],
                    &[
                        "configmaps",
                        "endpoints",
                        "persistentvolumeclaims",
                        "persistentvolumeclaims/status",
                        "pods",
                        "replicationcontrollers",
                        "replicationcontrollers/scale",
                        "serviceaccounts",
                        "services",
                        "services/status",
                    ],
                    &READ,
                ),
                rule(
                    &[""],
                    &[
                        "bindings",
                        "events",
                        "limitranges",
                        "namespaces/status",
                        "pods/log",
                        "pods/status",
                        "replicationcontrollers/status",
                        "resourcequotas",
                        "resourcequotas/status",
                    ],
                    &READ,
                ),
                rule(&[""], &["namespaces"], &READ),
                rule(&["discovery.k8s.io"], &["endpointslices"], &READ),
                rule(
                    &["apps"],
                    &[
                        "controllerrevisions",
                        "daemonsets",
                        "daemonsets/status",
                        "deployments",
                        "deployments/scale",
                        "deployments/status",
                        "replicasets",
                        "replicasets/scale",
                        "replicasets/status",
                        "statefulsets",
                        "statefulsets/scale",
                        "statefulsets/status",
                    ],
                    &READ,
                ),
                rule(&["autoscaling"], &["horizontalpodautoscalers", "horizontalpodautoscalers/status"], &READ),
                rule(&["batch"], &["cronjobs", "cronjobs/status", "jobs", "jobs/status"], &READ),
                rule(
                    &["extensions"],
                    &[
                        "daemonsets",
                        "daemonsets/status",
                        "deployments",
                        "deployments/scale",
                        "deployments/status",
                        "ingresses",
                        "ingresses/status",
                        "networkpolicies",
                        "replicasets",
                        "replicasets/scale",
                        "replicasets/status",
                        "replicationcontrollers/scale",
                    ],
                    &READ,
                ),
                rule(&["policy"], &["poddisruptionbudgets", "poddisruptionbudgets/status"], &READ),
                rule(&["networking.k8s.io"], &["ingresses", "ingresses/status", "networkpolicies"], &READ),
            ],
        ),
    ]
}

/// Every built-in ClusterRole modelled here.
pub fn cluster_roles() -> &'static [Value] {
    static ROLES: OnceLock<Vec<Value>> = OnceLock::new();
    ROLES.get_or_init(build)
}

/// A built-in ClusterRole by name.
pub fn cluster_role_named(name: &str) -> Option<&'static Value> {
    cluster_roles().iter().find(|role| crate::k8s::name(role) == name)
}

/// Whether a binding to this ClusterRole is judged by the bootstrap policy's rules.
pub fn is_built_in(name: &str) -> bool {
    cluster_role_named(name).is_some()
}
