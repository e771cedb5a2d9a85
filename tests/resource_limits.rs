//! Requests as large as the API server accepts (3 MiB, its default request body limit) are
//! evaluated completely and correctly: the finding at the far end of a huge object is reported,
//! the fix is applied to the whole object, and the answer stays proportional to the input.
//! Timings are printed, not asserted (benches/core.rs measures scaling).

use std::time::Instant;

use sa_guard::admission::{validate, Verdict, MAX_LISTED_FINDINGS};
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
        let env: Vec<Value> =
            (0..20).map(|j| json!({"name": format!("SETTING_{j}"), "value": format!("value-{i}-{j}")})).collect();
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
    let (mut i, mut bytes) = (0, 0);
    while bytes < API_SERVER_REQUEST_LIMIT - 64 * 1024 {
        let next = container(i);
        bytes += serde_json::to_vec(&next).unwrap().len() + 1;
        spec["containers"].as_array_mut().unwrap().push(next);
        i += 1;
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
    assert!(
        request.len() <= API_SERVER_REQUEST_LIMIT && request.len() > API_SERVER_REQUEST_LIMIT - 100 * 1024,
        "{}",
        request.len()
    );
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
fn a_3_mib_binding_of_thousands_of_service_accounts_counts_each_and_answers_briefly() {
    // Every subject a ServiceAccount bound to cluster-admin: one finding per subject. The answer
    // lists the first ones and counts the rest, so it stays small whatever the request.
    let mut subjects = Vec::new();
    let mut binding = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
        "metadata": {"name": "everyone", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"}});
    let mut bytes = 0;
    while bytes < API_SERVER_REQUEST_LIMIT - 64 * 1024 {
        let next = json!({"kind": "ServiceAccount", "name": format!("sa-{}", subjects.len()), "namespace": "shop"});
        bytes += serde_json::to_vec(&next).unwrap().len() + 1;
        subjects.push(next);
    }
    let count = subjects.len();
    binding["subjects"] = Value::Array(subjects);
    let request = payload(&binding, only(&["SAG009"], json!({})));
    assert!(request.len() <= API_SERVER_REQUEST_LIMIT);
    let verdict = timed("3 MiB RoleBinding", &request);
    let message = verdict.message.as_deref().unwrap();
    assert!(
        message.starts_with(&format!("sa-guard denied RoleBinding shop/everyone ({count} findings):\n")),
        "{}",
        &message[..200]
    );
    assert!(message.contains("/subjects/0: ServiceAccount shop/sa-0 is bound to"));
    let listed = MAX_LISTED_FINDINGS;
    assert!(message
        .ends_with(&format!("\n… and {} more (run `sa-guard lint` on the object for the full list)", count - listed)));
    let annotation = &verdict.audit_annotations.as_ref().unwrap()["sa-guard.SAG009"];
    assert!(annotation
        .ends_with(&format!("; … and {} more (run `sa-guard lint` on the object for the full list)", count - listed)));
    let answer = serde_json::to_vec(&verdict).unwrap().len();
    assert!(answer < 64 * 1024, "a {} byte request got a {} byte answer", request.len(), answer);
}

/// The CLI's and the playground's front-end: nesting and alias expansion are bounded, refused
/// with an error naming the limit, on a small stack (the browser's is small too).
#[test]
fn yaml_nesting_and_alias_bombs_are_refused_with_a_clear_error() {
    use sa_guard::manifest::{self, Limits};
    let parse = |text: String| {
        std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(move || {
                let start = Instant::now();
                let manifests = manifest::parse(&text, &Limits::default());
                let messages: Vec<String> = manifests.errors.iter().map(|e| e.message.clone()).collect();
                (messages, manifests.objects.len(), start.elapsed())
            })
            .unwrap()
            .join()
            .expect("parse panicked")
    };
    // a million flow sequences: saphyr's parser stops first
    let (errors, objects, took) = parse(format!("a: {}", "[".repeat(1_000_000)));
    eprintln!("1 000 000 nested flow sequences refused in {:.1} ms", took.as_secs_f64() * 1e3);
    assert_eq!((errors, objects), (vec!["YAML syntax error: recursion limit exceeded".to_string()], 0));
    // block sequences: the front-end's own depth limit
    let (errors, objects, took) = parse(format!("{}x", "- ".repeat(100_000)));
    eprintln!("100 000 nested block sequences refused in {:.1} ms", took.as_secs_f64() * 1e3);
    assert_eq!((errors, objects), (vec!["the document nests deeper than 256 levels".to_string()], 0));
    // billion laughs: nine levels of nine aliases (387 420 489 strings) stop at a million nodes
    let mut bomb = String::from("kind: ConfigMap\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for (previous, name) in "abcdefgh".chars().zip("bcdefghi".chars()) {
        let aliases = vec![format!("*{previous}"); 9].join(", ");
        bomb.push_str(&format!("{name}: &{name} [{aliases}]\n"));
    }
    let (errors, objects, took) = parse(bomb);
    eprintln!("billion laughs refused in {:.1} ms", took.as_secs_f64() * 1e3);
    assert_eq!(
        (errors, objects),
        (vec!["alias expansion exceeds the limit of 1000000 nodes (a \"billion laughs\" document?)".to_string()], 0)
    );
}
