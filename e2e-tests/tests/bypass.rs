//! The bypass corpus through policy.wasm on the waPC/wasmtime engine: every scenario of
//! `fixtures/bypass/scenarios.yaml` sends its AdmissionReview (`fixtures/bypass/<name>.json`, as
//! the API server would) with its settings; look-ups are answered from the scenario's `cluster`
//! objects behind policy-server's contextAwareResources check. The findings of the rules under
//! test, read back from the AdmissionResponse (denial message lines and warnings), must be
//! exactly the expected ones, and `allowed` must match.
//!
//! A scenario with `known_bypass` is one the policy still gets wrong: it must still fail (and is
//! printed), so a fix makes the test ask for the marker to be removed.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use serde_json::Value;

use sa_guard_e2e::cluster::{Declared, ObjectCluster};
use sa_guard_e2e::host::{Capabilities, NoCapabilities, Policy};
use sa_guard_e2e::metadata::Metadata;
use sa_guard_e2e::review::{self, AdmissionResponse};
use sa_guard_e2e::yaml::{self, Schema};

fn here() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn policy() -> &'static Policy {
    static POLICY: OnceLock<Policy> = OnceLock::new();
    POLICY.get_or_init(|| {
        let path = sa_guard_e2e::default_policy_path();
        assert!(path.exists(), "{} not found: run `make policy` (scripts/build-policy.sh) first", path.display());
        Policy::load(&path).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn scenarios() -> Vec<Value> {
    let path = here().join("fixtures/bypass/scenarios.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let documents = yaml::documents(&text, Schema::Kubectl).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    match documents.into_iter().next().map(|d| d.value) {
        Some(Value::Array(list)) => list,
        other => panic!("scenarios.yaml must be a list, found {other:?}"),
    }
}

/// An object of the bypass corpus (`{source, index}`) or an inline object.
fn cluster_object(reference: &Value) -> Value {
    let Some(source) = reference.get("source").and_then(Value::as_str) else { return reference.clone() };
    let path = here().join("../tests/bypass").join(source);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let index = reference.get("index").and_then(Value::as_u64).unwrap_or(0) as usize;
    let objects = yaml::objects(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    objects.into_iter().nth(index).unwrap_or_else(|| panic!("{source} has no object {index}")).value
}

/// `(rule, path)` of every finding the response reports: deny-level ones are the lines of the
/// denial message, warn-level ones the warnings; both read `[RULE] <object> <path>: <message>`.
fn reported(response: &AdmissionResponse) -> Vec<(String, String)> {
    let message_lines = response.status.iter().filter_map(|s| s.message.as_deref()).flat_map(str::lines);
    let warnings = response.warnings.iter().flatten().map(String::as_str);
    let mut found: Vec<(String, String)> = message_lines
        .chain(warnings)
        .filter_map(|line| {
            let rest = line.strip_prefix('[')?;
            let (rule, rest) = rest.split_once("] ")?;
            let path = rest.split_whitespace().find(|t| t.starts_with('/') && t.ends_with(':'))?;
            Some((rule.to_string(), path.trim_end_matches(':').to_string()))
        })
        .collect();
    found.sort();
    found
}

fn strings(value: &Value, field: &str) -> Vec<String> {
    value
        .get(field)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect()
}

/// Runs one scenario; `Err` describes how it differs from its expectation.
fn run(scenario: &Value, metadata: &Metadata) -> Result<(), String> {
    let name = scenario["name"].as_str().expect("name");
    let fixture = here().join("fixtures/bypass").join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&fixture).map_err(|e| format!("{}: {e} (run generate.py)", fixture.display()))?;
    let request = review::admission_request(&serde_json::from_str(&text).map_err(|e| e.to_string())?)?;
    let settings = scenario.get("settings").cloned().unwrap_or(serde_json::json!({}));

    let capabilities: Arc<dyn Capabilities> = match scenario.get("cluster").and_then(Value::as_array) {
        Some(objects) => {
            let cluster = ObjectCluster::new();
            for reference in objects {
                cluster.add(cluster_object(reference));
            }
            Arc::new(Declared { metadata: metadata.clone(), inner: Arc::new(cluster) })
        }
        None => Arc::new(NoCapabilities),
    };
    let evaluator = policy().instantiate(capabilities)?;
    let check = evaluator.validate_settings(&settings).map_err(|e| format!("{e:?}"))?;
    if !check.valid {
        return Err(format!("settings rejected: {:?}", check.message));
    }
    let response = evaluator.validate(&request, &settings);

    let checks = strings(scenario, "checks");
    let mut expected: Vec<(String, String)> = scenario["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| (f[0].as_str().unwrap().to_string(), f[1].as_str().unwrap().to_string()))
        .collect();
    expected.sort();
    let found: Vec<(String, String)> =
        reported(&response).into_iter().filter(|(rule, _)| checks.contains(rule)).collect();
    let allowed = scenario["allowed"].as_bool().expect("allowed");
    let patched = scenario.get("patched").and_then(Value::as_bool).unwrap_or(false);
    if found == expected && response.allowed == allowed && response.patch.is_some() == patched {
        return Ok(());
    }
    Err(format!(
        "expected allowed={allowed} patched={patched} {expected:?}\n  found allowed={} patched={} {found:?}\n  response: {}",
        response.allowed,
        response.patch.is_some(),
        serde_json::to_string(&response).unwrap()
    ))
}

#[test]
fn every_bypass_request_is_answered_as_expected() {
    let metadata = Metadata::load(&here().join("../policy-metadata.yml")).unwrap_or_else(|e| panic!("{e}"));
    let scenarios = scenarios();
    let mut failures = Vec::new();
    for scenario in &scenarios {
        let name = scenario["name"].as_str().expect("name");
        let known = scenario.get("known_bypass").and_then(Value::as_str);
        match (run(scenario, &metadata), known) {
            (Ok(()), None) => {}
            (Err(problem), None) => failures.push(format!("{name}: {problem}")),
            (Err(problem), Some(bug)) => eprintln!("known bypass, still open: {name}: {bug}\n  {problem}"),
            (Ok(()), Some(_)) => failures.push(format!("{name}: passes now; remove its `known_bypass`")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} bypass requests failed:\n\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n\n")
    );
}

/// Every scenario has its request and says why; every request belongs to a scenario.
#[test]
fn fixtures_and_scenarios_match() {
    let scenarios = scenarios();
    let names: Vec<String> = scenarios.iter().map(|s| s["name"].as_str().expect("name").to_string()).collect();
    for scenario in &scenarios {
        assert!(
            scenario.get("why").and_then(Value::as_str).is_some_and(|w| !w.is_empty()),
            "{}: no `why`",
            scenario["name"]
        );
    }
    let mut files: Vec<String> = std::fs::read_dir(here().join("fixtures/bypass"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json").map(String::from))
        .collect();
    files.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(files, sorted, "fixtures/bypass/*.json and scenarios.yaml differ: run generate.py");
    // the two admission-only cases the corpus must keep
    assert!(scenarios
        .iter()
        .any(|s| s["operation"] == "UPDATE" && s.get("subresource").is_none() && s["allowed"] == false));
    assert!(scenarios.iter().any(|s| s["subresource"] == "ephemeralcontainers"));
}

/// A request as large as the API server accepts (3 MiB) through policy.wasm: answered, with the
/// finding at its far end. Loaded with a generous deadline so a busy machine cannot fail it; the
/// time is printed (policy-server's default deadline is 2 s; `make bench` measures latency).
#[test]
fn a_3_mib_request_is_judged_through_policy_wasm() {
    use sa_guard_e2e::host::DEFAULT_TIMEOUT;
    let container = |i: usize| {
        let env: Vec<Value> = (0..20)
            .map(|j| serde_json::json!({"name": format!("SETTING_{j}"), "value": format!("value-{i}-{j}")}))
            .collect();
        serde_json::json!({"name": format!("c{i}"), "image": format!("registry.example/c:{i}"), "env": env})
    };
    let (mut containers, mut bytes) = (Vec::new(), 0);
    while bytes < 3 * 1024 * 1024 - 64 * 1024 {
        let next = container(containers.len());
        bytes += serde_json::to_vec(&next).unwrap().len() + 1;
        containers.push(next);
    }
    let deployment = serde_json::json!({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "huge", "namespace": "shop"},
        "spec": {"selector": {"matchLabels": {"app": "huge"}}, "template": {"metadata": {"labels": {"app": "huge"}}, "spec": {
            "serviceAccountName": "huge", "automountServiceAccountToken": false, "containers": containers,
            "volumes": [{"name": "api", "projected": {"sources": [{"serviceAccountToken": {"path": "token", "expirationSeconds": 600}}]}}],
        }}}
    });
    let request = sa_guard_e2e::apiserver::admission_request("huge", "CREATE", Some(&deployment), None, "shop");
    let size = serde_json::to_vec(&request).unwrap().len();
    assert!(size > 3 * 1024 * 1024 - 100 * 1024 && size <= 3 * 1024 * 1024, "{size}");

    let path = sa_guard_e2e::default_policy_path();
    let patient = Policy::load_with_timeout(&path, DEFAULT_TIMEOUT * 30).unwrap_or_else(|e| panic!("{e}"));
    let evaluator = patient.instantiate(Arc::new(NoCapabilities)).unwrap();
    let start = std::time::Instant::now();
    let response = evaluator.validate(&request, &serde_json::json!({}));
    eprintln!("3 MiB Deployment through policy.wasm: {:.0} ms", start.elapsed().as_secs_f64() * 1e3);
    assert!(!response.allowed, "{response:?}");
    assert_eq!(
        reported(&response),
        [("SAG005".to_string(), "/spec/template/spec/volumes/0/projected/sources/0/serviceAccountToken".to_string())]
    );
}
