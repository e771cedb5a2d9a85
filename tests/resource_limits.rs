//! Requests as large as the API server accepts (3 MiB, its default request body limit) are
//! evaluated completely and correctly: the finding at the far end of a huge object is reported,
//! the fix is applied to the whole object, and the answer stays proportional to the input.
//! Timings are printed, not asserted (benches/core.rs measures scaling).

use std::time::Instant;

use sa_guard::admission::{validate, Verdict};
use sa_guard::NoCluster;
use serde_json::{json, Value};

const API_SERVER_REQUEST_LIMIT: usize = 3 * 1024 * 1024;

fn payload(object: &Value, settings: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "request": {"uid": "big", "operation": "CREATE", "namespace": "shop", "object": object},
        "settings": settings,
    }))
    .unwrap()
}

fn timed(label: &str, payload: &[u8]) -> Verdict {
    let start = Instant::now();
    let verdict = validate(payload, &NoCluster);
    let answer = serde_json::to_vec(&verdict).unwrap();
    eprintln!(
        "{label}: {} KiB request -> {} KiB answer in {:.1} ms",
        payload.len() / 1024,
        answer.len() / 1024,
        start.elapsed().as_secs_f64() * 1e3
    );
    verdict
}

/// Every rule off but `enabled`.
fn only(enabled: &[&str], mut extra: Value) -> Value {
    let rules: serde_json::Map<String, Value> = sa_guard::rules::all()
        .iter()
        .filter(|r| !enabled.contains(&r.meta.id))
        .map(|r| (r.meta.id.to_string(), json!("off")))
        .collect();
    extra["rules"] = Value::Object(rules);
    extra
}

/// A Deployment of just under 3 MiB: thousands of containers with environment variables and
/// mounts. The only thing wrong is at the very end: the last init container reads a Secret
/// through a projected volume whose token has no audience.
fn huge_deployment() -> Value {
    let container = |i: usize| {
        let env: Vec<Value> = (0..20).map(|j| json!({"name": format!("SETTING_{j}"), "value": format!("value-{i}-{j}")})).collect();
        json!({"name": format!("c{i}"), "image": format!("registry.example/c:{i}"), "env": env,
               "volumeMounts": [{"name": "data", "mountPath": format!("/data/{i}")}]})
    };
    let mut deployment = json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "huge", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "huge"}}, "template": {"metadata": {"labels": {"app": "huge"}}, "spec": {
            "serviceAccountName": "huge", "automountServiceAccountToken": false,
            "containers": [], "initContainers": [],
            "volumes": [{"name": "data", "emptyDir": {}}],
        }}}
    });
    let spec = &mut deployment["spec"]["template"]["spec"];
    let mut i = 0;
    while serde_json::to_vec(&spec["containers"]).unwrap().len() < API_SERVER_REQUEST_LIMIT - 64 * 1024 {
        for _ in 0..100 {
            spec["containers"].as_array_mut().unwrap().push(container(i));
            i += 1;
        }
    }
    spec["initContainers"].as_array_mut().unwrap().push(container(i));
    spec["volumes"].as_array_mut().unwrap().push(json!({"name": "api", "projected": {"sources": [
        {"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}
    ]}}));
    deployment
}

#[test]
fn a_3_mib_deployment_is_judged_to_its_last_volume() {
    let deployment = huge_deployment();
    let request = payload(&deployment, only(&["SAG005"], json!({})));
    assert!(request.len() <= API_SERVER_REQUEST_LIMIT && request.len() > API_SERVER_REQUEST_LIMIT - 100 * 1024, "{}", request.len());
    let verdict = timed("3 MiB Deployment", &request);
    assert_eq!(verdict.code, Some(403));
    assert_eq!(
        verdict.audit_annotations.unwrap(),
        [(
            "sa-guard.SAG005".to_string(),
            "deny /spec/template/spec/volumes/1/projected/sources/0/serviceAccountToken: the projected token in volume \
             api has no audience, so it gets the API server's audience and works as a Kubernetes API credential"
                .to_string()
        )]
        .into()
    );
}

#[test]
fn a_3_mib_pod_is_fixed_whole_with_mutate() {
    let mut pod = huge_deployment();
    pod["kind"] = json!("Pod");
    pod["apiVersion"] = json!("v1");
    let spec = pod["spec"]["template"]["spec"].take();
    pod["spec"] = spec;
    pod["spec"].as_object_mut().unwrap().remove("automountServiceAccountToken");
    let verdict = timed("3 MiB Pod, mutate", &payload(&pod, only(&["SAG002"], json!({"mutate": true}))));
    assert!(verdict.accepted, "{:?}", verdict.message);
    let mut expected = pod.clone();
    expected["spec"]["automountServiceAccountToken"] = json!(false);
    assert!(verdict.mutated_object.as_ref() == Some(&expected), "the mutated object is the whole Pod plus the fix");
}

#[test]
fn a_3_mib_binding_of_thousands_of_service_accounts_reports_each_and_answers_in_proportion() {
    // Every subject a ServiceAccount bound to cluster-admin: one finding per subject, so the
    // answer grows with the request. It must stay proportional (a few times the request), never
    // explode.
    let mut subjects = Vec::new();
    let mut binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "everyone", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}});
    while serde_json::to_vec(&subjects).unwrap().len() < API_SERVER_REQUEST_LIMIT - 64 * 1024 {
        for _ in 0..1000 {
            subjects.push(json!({"kind": "ServiceAccount", "name": format!("sa-{}", subjects.len()), "namespace": "shop"}));
        }
    }
    let count = subjects.len();
    binding["subjects"] = Value::Array(subjects);
    let request = payload(&binding, only(&["SAG009"], json!({})));
    assert!(request.len() <= API_SERVER_REQUEST_LIMIT);
    let verdict = timed("3 MiB RoleBinding", &request);
    let message = verdict.message.as_deref().unwrap();
    assert!(message.starts_with(&format!("sa-guard denied RoleBinding shop/everyone ({count} findings):\n")), "{}", &message[..200]);
    assert!(message.contains(&format!("/subjects/{}: ServiceAccount shop/sa-{} is bound to", count - 1, count - 1)));
    let answer = serde_json::to_vec(&verdict).unwrap().len();
    assert!(answer < 16 * request.len(), "a {} byte request got a {} byte answer", request.len(), answer);
}

