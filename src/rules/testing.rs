//! Helpers for the rules' unit tests: evaluate objects and pick one rule's findings.

use serde_json::{json, Value};

use crate::engine::{evaluate, Mode, Options};
use crate::finding::Finding;
use crate::lookup::{ClusterLookup, NoCluster};
use crate::settings::Settings;

/// Findings of `rule_id` for `objects` in manifest mode with default settings.
pub fn lint(rule_id: &str, objects: &[Value]) -> Vec<Finding> {
    lint_with(rule_id, objects, &Settings::default())
}

pub fn lint_with(rule_id: &str, objects: &[Value], settings: &Settings) -> Vec<Finding> {
    only(rule_id, evaluate(objects, settings, &Options::default()).findings)
}

/// Findings of `rule_id` for one object at admission, with `lookup` standing in for the cluster.
pub fn admit(rule_id: &str, object: Value, settings: &Settings, lookup: &dyn ClusterLookup) -> Vec<Finding> {
    let options = Options { mode: Mode::Admission, default_namespace: None, lookup };
    only(rule_id, evaluate(&[object], settings, &options).findings)
}

pub fn admit_without_cluster(rule_id: &str, object: Value) -> Vec<Finding> {
    admit(rule_id, object, &Settings::default(), &NoCluster)
}

fn only(rule_id: &str, findings: Vec<Finding>) -> Vec<Finding> {
    findings.into_iter().filter(|f| f.rule_id == rule_id).collect()
}

/// `(path, message)` pairs: what most tests pin.
pub fn located(findings: &[Finding]) -> Vec<(&str, &str)> {
    findings.iter().map(|f| (f.path.as_str(), f.message.as_str())).collect()
}

/// `spec` as the Pod spec of every pod-bearing kind, with the JSON pointer of that Pod spec.
/// Written out from the Kubernetes API reference rather than taken from
/// `k8s::pod_spec_location`, which the tests using it check.
pub fn in_every_pod_bearing_kind(spec: &Value) -> Vec<(Value, &'static str)> {
    let template = json!({"template": {"spec": spec}});
    let controller = |kind: &str, name: &str| json!({"kind": kind, "metadata": {"name": name}, "spec": template});
    vec![
        (json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}), "/spec"),
        (controller("Deployment", "deploy"), "/spec/template/spec"),
        (controller("ReplicaSet", "r"), "/spec/template/spec"),
        (controller("StatefulSet", "s"), "/spec/template/spec"),
        (controller("DaemonSet", "d"), "/spec/template/spec"),
        (controller("Job", "j"), "/spec/template/spec"),
        (controller("ReplicationController", "rc"), "/spec/template/spec"),
        (
            json!({"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": template}}}),
            "/spec/jobTemplate/spec/template/spec",
        ),
        (json!({"kind": "PodTemplate", "metadata": {"name": "t"}, "template": {"spec": spec}}), "/template/spec"),
    ]
}
