//! A cluster's dump as `kubectl get ... -A -o json` and `-o yaml` print it (the generator the
//! benchmark uses, `benches/cluster_dump.rs`), at 10 000+ objects: read whole either way, the
//! same inventory from both, Pods collapsed into their Deployments through ownerReferences, the
//! injected token volume read as the automounted token, also when a quoted scalar in it has
//! continuation lines indented less than saphyr wants (kubectl reads it). And the input notes: a
//! Pod spec that is not a mapping, an object defined many times.

#[path = "../benches/cluster_dump.rs"]
mod cluster_dump;

use std::path::Path;

use assert_cmd::Command;
use serde_json::{json, Value};

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run_in(dir: &Path, args: &[&str]) -> Run {
    let output = Command::cargo_bin("sa-guard").unwrap().current_dir(dir).args(args).output().unwrap();
    Run {
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        code: output.status.code().expect("exited, not killed by a signal"),
    }
}

#[test]
fn a_dump_of_ten_thousand_objects_reads_the_same_as_json_and_as_yaml() {
    let list = cluster_dump::list(10_500);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dump.json"), cluster_dump::json_text(&list)).unwrap();
    std::fs::write(dir.path().join("dump.yaml"), cluster_dump::yaml_text(&list)).unwrap();
    let from_json = run_in(dir.path(), &["inventory", "--format", "json", "--system", "dump.json"]);
    let from_yaml = run_in(dir.path(), &["inventory", "--format", "json", "--system", "dump.yaml"]);
    assert_eq!((from_json.code, from_json.stderr.as_str()), (0, ""));
    assert_eq!((from_yaml.code, from_yaml.stderr.as_str()), (0, ""));
    assert_eq!(from_json.stdout, from_yaml.stdout);
    let inventory: Value = serde_json::from_str(&from_json.stdout).unwrap();
    let rows = inventory["serviceAccounts"].as_array().unwrap();

    // One workload per Deployment: its ReplicaSet and Pods are listed as what it owns.
    let row = |ns: &str, name: &str| rows.iter().find(|r| r["namespace"] == ns && r["name"] == name).unwrap();
    let svc = row("team-000", "svc-00000-sa");
    let workloads = svc["workloads"].as_array().unwrap();
    assert_eq!(workloads.len(), 1, "{svc}");
    assert_eq!(workloads[0]["kind"], "Deployment");
    let owned: Vec<&str> = workloads[0]["owned"].as_array().unwrap().iter().map(|o| o.as_str().unwrap()).collect();
    assert_eq!(owned.len(), 3, "{owned:?}");
    assert!(owned[0].starts_with("ReplicaSet/svc-00000-") && owned[1].starts_with("Pod/svc-00000-"), "{owned:?}");
    // The injected kube-api-access volume is the automounted token, not a projected one.
    assert_eq!(workloads[0]["projectedTokens"], json!([]));
    assert!(rows.iter().flat_map(|r| r["workloads"].as_array().unwrap()).all(|w| w["kind"] != "Pod"));
    // Bootstrap bindings reach the kube-system controllers, and are marked system.
    let controller = row("kube-system", "namespace-controller");
    assert_eq!(controller["system"], true);
    let bindings = controller["bindings"].as_array().unwrap();
    let own = bindings.iter().find(|b| b["role"] == "ClusterRole system:controller:namespace-controller").unwrap();
    assert_eq!((own["via"].as_str(), own["system"].as_bool()), (Some("ServiceAccount"), Some(true)));
    // and the groups every ServiceAccount is in (system:authenticated, through system:basic-user)
    assert!(bindings
        .iter()
        .any(|b| b["role"] == "ClusterRole system:basic-user" && b["via"] == "system:authenticated"));
    // A row per ServiceAccount of the dump (every one a workload or binding names is defined).
    let system = ["kube-system", "kube-public", "kube-node-lease"];
    let defined: Vec<&Value> =
        list["items"].as_array().unwrap().iter().filter(|i| i["kind"] == "ServiceAccount").collect();
    assert_eq!(rows.len(), defined.len());
    let users = defined.iter().filter(|sa| !system.contains(&sa["metadata"]["namespace"].as_str().unwrap())).count();
    assert_eq!(rows.iter().filter(|r| r["system"] == false).count(), users);

    // lint reads the JSON dump whole and places findings at its lines.
    let lint = run_in(dir.path(), &["lint", "dump.json"]);
    assert_eq!(lint.code, 1);
    assert_eq!(lint.stderr, "");
    let summary = |out: &str| out.lines().last().unwrap_or_default().to_string();
    assert!(summary(&lint.stdout).contains(" in 10500 objects from 1 file"), "{}", summary(&lint.stdout));
    let first = lint.stdout.lines().next().unwrap();
    assert!(first.starts_with("dump.json:") && !first.starts_with("dump.json:1:1:"), "{first}");
}

/// A `-o yaml` dump is one `kind: List` document. A quoted scalar whose continuation line is
/// indented less than its item (libyaml, so kubectl, reads it: the indentation is no part of the
/// value) leaves the dump read whole: what the JSON dump reads.
#[test]
fn a_yaml_dump_with_quoted_scalars_kubectl_accepts_reads_whole() {
    let list = cluster_dump::list(600);
    let yaml = cluster_dump::yaml_text(&list);
    // Double-quoted with an escaped line break, then a continuation line at column 0: the same
    // `--port=8080`.
    let quoted = yaml.replacen("- '--port=8080'\n", "- \"--port=\\\n8080\"\n", 3);
    assert_eq!(quoted.matches("\n8080\"").count(), 3, "the dump has containers with that argument");
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dump.json"), cluster_dump::json_text(&list)).unwrap();
    std::fs::write(dir.path().join("dump.yaml"), quoted).unwrap();
    let from_json = run_in(dir.path(), &["inventory", "--format", "json", "--system", "dump.json"]);
    let from_yaml = run_in(dir.path(), &["inventory", "--format", "json", "--system", "dump.yaml"]);
    assert_eq!((from_yaml.code, from_yaml.stderr.as_str()), (0, ""));
    assert_eq!(from_yaml.stdout, from_json.stdout);
    // lint: the same findings in the same objects (the summary counts both).
    let summary = |out: &str| out.lines().last().unwrap_or_default().to_string();
    let from_json = run_in(dir.path(), &["lint", "dump.json"]);
    let from_yaml = run_in(dir.path(), &["lint", "dump.yaml"]);
    assert_eq!((from_yaml.code, from_yaml.stderr.as_str()), (from_json.code, ""));
    assert_eq!(summary(&from_yaml.stdout), summary(&from_json.stdout));
    assert!(summary(&from_yaml.stdout).contains(" in 600 objects from 1 file"), "{}", summary(&from_yaml.stdout));
}

#[test]
fn an_object_defined_many_times_is_noted_with_its_first_places_and_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let document = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: ci\n  namespace: build\n---\n";
    std::fs::write(dir.path().join("many.yaml"), document.repeat(1_500)).unwrap();
    let r = run_in(dir.path(), &["lint", "many.yaml"]);
    assert_eq!(
        r.stderr,
        "many.yaml:8995:1: note: ServiceAccount build/ci is defined 1500 times; only this last definition is \
         checked, as `kubectl apply` would keep it (also at many.yaml:1, many.yaml:7, many.yaml:13, many.yaml:19, \
         many.yaml:25 and 1494 more)\n"
    );
    // Six definitions: five places and one more.
    std::fs::write(dir.path().join("six.yaml"), document.repeat(6)).unwrap();
    let r = run_in(dir.path(), &["lint", "six.yaml"]);
    assert!(
        r.stderr.ends_with("(also at six.yaml:1, six.yaml:7, six.yaml:13, six.yaml:19, six.yaml:25)\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_deployment_owning_many_pods_lists_the_first_few_in_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::from(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: shop\nspec:\n  template:\n    \
         spec:\n      serviceAccountName: web\n      automountServiceAccountToken: false\n      containers:\n      - \
         name: c\n        image: i\n",
    );
    for pod in 0..7 {
        text.push_str(&format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: web-{pod}\n  namespace: shop\n  ownerReferences:\n  - \
             kind: Deployment\n    name: web\nspec:\n  serviceAccountName: web\n  automountServiceAccountToken: false\n  \
             containers:\n  - name: c\n    image: i\n"
        ));
    }
    std::fs::write(dir.path().join("web.yaml"), text).unwrap();
    let r = run_in(dir.path(), &["inventory", "web.yaml"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(
            "  workload Deployment/web (with Pod/web-0, Pod/web-1, Pod/web-2, Pod/web-3, Pod/web-4 and 2 more): token \
             not mounted"
        ),
        "{}",
        r.stdout
    );
    // The JSON keeps every one.
    let r = run_in(dir.path(), &["inventory", "--format", "json", "web.yaml"]);
    let inventory: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(inventory["serviceAccounts"][0]["workloads"][0]["owned"].as_array().unwrap().len(), 7);
}

#[test]
fn a_workload_whose_pod_spec_is_not_a_mapping_is_noted_not_skipped_silently() {
    let dir = tempfile::tempdir().unwrap();
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec: \
                \"containers: []\"\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\n  namespace: \
                ci\nspec:\n  jobTemplate:\n    spec:\n      template:\n      - spec\n";
    std::fs::write(dir.path().join("odd.yaml"), text).unwrap();
    let expected = "odd.yaml:7:5: note: Deployment shop/web cannot be read: /spec/template/spec is a string, not a \
                    mapping, so it has no Pod spec at /spec/template/spec (the API server would reject it) and its \
                    Pods are not checked\nodd.yaml:17:7: note: CronJob ci/nightly cannot be read: \
                    /spec/jobTemplate/spec/template is a sequence, not a mapping, so it has no Pod spec at \
                    /spec/jobTemplate/spec/template/spec (the API server would reject it) and its Pods are not \
                    checked\n";
    let lint = run_in(dir.path(), &["lint", "-n", "shop", "odd.yaml"]);
    assert_eq!(lint.stderr, expected);
    let inventory = run_in(dir.path(), &["inventory", "-n", "shop", "odd.yaml"]);
    assert_eq!(inventory.stderr, expected);
    assert_eq!(inventory.code, 0);
}
