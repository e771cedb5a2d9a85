//! The policy's published descriptions agree with each other and with the code:
//! `policy-metadata.yml` (embedded by `kwctl annotate`), `artifacthub-pkg.yml` (Artifact Hub and
//! the Rancher UI), `questions-ui.yml` (the settings form) and Cargo.toml's version.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sa_guard::admission;
use sa_guard::lookup::{ClusterLookup, Lookup};
use sa_guard::{rules, Scope, Settings};
use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{json, Value};

/// A YAML file of the repository as JSON (one document).
fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse_yaml(&text, name)
}

fn parse_yaml(text: &str, what: &str) -> Value {
    let docs = Yaml::load_from_str(text).unwrap_or_else(|e| panic!("{what}: {e}"));
    assert_eq!(docs.len(), 1, "{what}: expected one YAML document");
    to_json(&docs[0], what)
}

fn to_json(yaml: &Yaml, what: &str) -> Value {
    match yaml {
        Yaml::Value(Scalar::Null) => Value::Null,
        Yaml::Value(Scalar::Boolean(b)) => json!(b),
        Yaml::Value(Scalar::Integer(i)) => json!(i),
        Yaml::Value(Scalar::FloatingPoint(f)) => json!(f.into_inner()),
        Yaml::Value(Scalar::String(s)) => json!(s),
        Yaml::Sequence(items) => Value::Array(items.iter().map(|i| to_json(i, what)).collect()),
        Yaml::Mapping(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Yaml::Value(Scalar::String(s)) => s.to_string(),
                        other => panic!("{what}: non-string key {other:?}"),
                    };
                    (key, to_json(v, what))
                })
                .collect(),
        ),
        Yaml::Tagged(_, inner) => to_json(inner, what),
        other => panic!("{what}: unexpected YAML node {other:?}"),
    }
}

fn str_at<'a>(value: &'a Value, pointer: &str, what: &str) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{what}: no string at {pointer}"))
}

/// `kubewarden/...` annotations of artifacthub-pkg.yml that hold YAML text.
fn embedded(artifacthub: &Value, key: &str) -> Value {
    let text = artifacthub["annotations"][key].as_str().unwrap_or_else(|| panic!("artifacthub-pkg.yml: no {key}"));
    parse_yaml(text, key)
}

#[test]
fn versions_agree_with_cargo() {
    let version = env!("CARGO_PKG_VERSION");
    let parts: Vec<&str> = version.split('.').collect();
    assert!(parts.len() == 3 && parts.iter().all(|p| p.parse::<u64>().is_ok()), "{version} is not x.y.z");

    let metadata = load("policy-metadata.yml");
    assert_eq!(str_at(&metadata, "/annotations/io.kubewarden.policy.version", "policy-metadata.yml"), version);

    let artifacthub = load("artifacthub-pkg.yml");
    assert_eq!(str_at(&artifacthub, "/version", "artifacthub-pkg.yml"), version);
    let tag = format!("v{version}");
    let image = str_at(&artifacthub, "/containersImages/0/image", "artifacthub-pkg.yml");
    assert_eq!(image, format!("{}:{tag}", str_at(&metadata, "/annotations/io.kubewarden.policy.ociUrl", "")));
    let links = artifacthub["links"].as_array().expect("links");
    let policy_link = links.iter().find(|l| l["name"] == "policy").expect("a `policy` link");
    assert!(policy_link["url"].as_str().unwrap().contains(&format!("/{tag}/policy.wasm")), "{policy_link}");
    let install = str_at(&artifacthub, "/install", "artifacthub-pkg.yml");
    assert!(install.contains(&format!("{}:{tag}", str_at(&metadata, "/annotations/io.kubewarden.policy.ociUrl", ""))));
}

/// (apiGroup, resource) for every kind the core reads a Pod spec from.
fn resource_of_pod_bearing_kind(kind: &str) -> (&'static str, &'static str) {
    match kind {
        "Pod" => ("", "pods"),
        "ReplicationController" => ("", "replicationcontrollers"),
        "PodTemplate" => ("", "podtemplates"),
        "Deployment" => ("apps", "deployments"),
        "ReplicaSet" => ("apps", "replicasets"),
        "StatefulSet" => ("apps", "statefulsets"),
        "DaemonSet" => ("apps", "daemonsets"),
        "Job" => ("batch", "jobs"),
        "CronJob" => ("batch", "cronjobs"),
        other => {
            panic!("k8s::POD_BEARING_KINDS has {other}: add its resource to this table and to policy-metadata.yml")
        }
    }
}

#[test]
fn rules_cover_every_kind_the_core_checks_for_create_and_update() {
    let metadata = load("policy-metadata.yml");
    let mut declared = BTreeSet::new();
    for rule in metadata["rules"].as_array().expect("rules") {
        assert_eq!(rule["operations"], json!(["CREATE", "UPDATE"]), "{rule}");
        assert_eq!(rule["apiVersions"], json!(["v1"]), "{rule}");
        let groups = rule["apiGroups"].as_array().unwrap();
        for group in groups {
            for resource in rule["resources"].as_array().unwrap() {
                let entry = (group.as_str().unwrap().to_string(), resource.as_str().unwrap().to_string());
                assert!(declared.insert(entry.clone()), "{entry:?} declared twice");
            }
        }
    }
    let mut expected: BTreeSet<(String, String)> = sa_guard::k8s::POD_BEARING_KINDS
        .iter()
        .map(|kind| resource_of_pod_bearing_kind(kind))
        .chain([
            ("", "pods/ephemeralcontainers"),
            ("", "serviceaccounts"),
            ("", "secrets"),
            ("", "configmaps"),
            ("rbac.authorization.k8s.io", "roles"),
            ("rbac.authorization.k8s.io", "clusterroles"),
            ("rbac.authorization.k8s.io", "rolebindings"),
            ("rbac.authorization.k8s.io", "clusterrolebindings"),
        ])
        .map(|(g, r)| (g.to_string(), r.to_string()))
        .collect();
    assert_eq!(declared, std::mem::take(&mut expected));

    let artifacthub = load("artifacthub-pkg.yml");
    assert_eq!(embedded(&artifacthub, "kubewarden/rules"), metadata["rules"]);
}

#[test]
fn listed_resources_agree() {
    let metadata = load("policy-metadata.yml");
    let artifacthub = load("artifacthub-pkg.yml");
    let listed = str_at(&metadata, "/annotations/io.artifacthub.resources", "policy-metadata.yml");
    assert_eq!(str_at(&artifacthub, "/annotations/kubewarden~1resources", "artifacthub-pkg.yml"), listed);
    let kinds: BTreeSet<&str> = listed.split(", ").collect();
    let mut expected: BTreeSet<&str> = sa_guard::k8s::POD_BEARING_KINDS.iter().copied().collect();
    expected.extend([
        "ServiceAccount",
        "Secret",
        "ConfigMap",
        "Role",
        "ClusterRole",
        "RoleBinding",
        "ClusterRoleBinding",
    ]);
    assert_eq!(kinds, expected);

    for (ours, theirs) in [
        ("/annotations/io.artifacthub.displayName", "/displayName"),
        ("/annotations/io.kubewarden.policy.description", "/description"),
        ("/annotations/io.kubewarden.policy.license", "/license"),
        ("/annotations/io.kubewarden.policy.source", "/homeURL"),
    ] {
        assert_eq!(str_at(&metadata, ours, "policy-metadata.yml"), str_at(&artifacthub, theirs, "artifacthub-pkg.yml"));
    }
    let keywords: Vec<&str> =
        str_at(&metadata, "/annotations/io.artifacthub.keywords", "policy-metadata.yml").split(", ").collect();
    assert_eq!(artifacthub["keywords"], json!(keywords));
    assert_eq!(str_at(&metadata, "/annotations/io.kubewarden.policy.license", ""), env!("CARGO_PKG_LICENSE"));
}

#[test]
fn execution_settings() {
    let metadata = load("policy-metadata.yml");
    assert_eq!(metadata["executionMode"], "kubewarden-wapc");
    assert_eq!(metadata["policyType"], "kubernetes");
    assert_eq!(metadata["backgroundAudit"], true);
    let annotations = metadata["annotations"].as_object().unwrap();
    for key in [
        "io.artifacthub.displayName",
        "io.artifacthub.resources",
        "io.artifacthub.keywords",
        "io.kubewarden.policy.title",
        "io.kubewarden.policy.version",
        "io.kubewarden.policy.description",
        "io.kubewarden.policy.author",
        "io.kubewarden.policy.url",
        "io.kubewarden.policy.source",
        "io.kubewarden.policy.license",
        "io.kubewarden.policy.severity",
        "io.kubewarden.policy.category",
        "io.kubewarden.policy.ociUrl",
    ] {
        assert!(annotations.get(key).is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty())), "{key}");
    }
}

#[test]
fn mutation_is_declared_because_the_settings_can_mutate() {
    let metadata = load("policy-metadata.yml");
    let artifacthub = load("artifacthub-pkg.yml");
    let settings = serde_json::to_value(Settings::default()).unwrap();
    assert!(settings.get("mutate").is_some());
    assert_eq!(metadata["mutating"], true);
    assert_eq!(artifacthub["annotations"]["kubewarden/mutation"], "true");
}

/// Records every look-up the policy makes.
#[derive(Default)]
struct Recording(RefCell<BTreeSet<(String, String)>>);

impl ClusterLookup for Recording {
    fn get(&self, api_version: &str, kind: &str, _: Option<&str>, _: &str) -> Lookup<'static> {
        self.0.borrow_mut().insert((api_version.to_string(), kind.to_string()));
        Lookup::NotFound
    }
}

#[test]
fn context_aware_resources_are_exactly_what_the_policy_looks_up() {
    let metadata = load("policy-metadata.yml");
    let declared: BTreeSet<(String, String)> = metadata["contextAwareResources"]
        .as_array()
        .expect("contextAwareResources")
        .iter()
        .map(|r| (r["apiVersion"].as_str().unwrap().to_string(), r["kind"].as_str().unwrap().to_string()))
        .collect();
    let artifacthub = load("artifacthub-pkg.yml");
    assert_eq!(embedded(&artifacthub, "kubewarden/contextAwareResources"), metadata["contextAwareResources"]);

    // Objects that make the rules reach into the cluster: a workload's ServiceAccount, the role a
    // binding grants (namespaced and cluster-wide).
    let objects = [
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "app", "namespace": "shop"},
               "spec": {"template": {"spec": {"serviceAccountName": "app-sa", "containers": [{"name": "app"}]}}}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
               "metadata": {"name": "b", "namespace": "shop"},
               "subjects": [{"kind": "ServiceAccount", "name": "app-sa", "namespace": "shop"}],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "app-role"}}),
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "c"},
               "subjects": [{"kind": "ServiceAccount", "name": "app-sa", "namespace": "shop"}],
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "app-cluster-role"}}),
    ];
    let reads_secret = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "shop"},
        "spec": {"automountServiceAccountToken": false, "containers": [{"name": "c", "envFrom": [{"secretRef": {"name": "s"}}]}]}});
    let recording = Recording::default();
    let settings = json!({"context_aware": true, "lookup_secrets": true});
    for object in objects.into_iter().chain([reads_secret]) {
        let payload = json!({"request": {"operation": "CREATE", "object": object}, "settings": settings});
        admission::validate(&serde_json::to_vec(&payload).unwrap(), &recording);
    }
    assert_eq!(recording.0.into_inner(), declared, "the host refuses look-ups of undeclared kinds");
}

#[test]
fn questions_are_one_per_settings_field_with_the_code_defaults() {
    let questions = load("questions-ui.yml");
    let artifacthub = load("artifacthub-pkg.yml");
    assert_eq!(embedded(&artifacthub, "kubewarden/questions-ui"), questions);

    let defaults = serde_json::to_value(Settings::default()).unwrap();
    let fields: BTreeSet<&str> = defaults.as_object().unwrap().keys().map(String::as_str).collect();
    let list = questions["questions"].as_array().expect("questions");
    let variables: Vec<&str> = list.iter().map(|q| str_at(q, "/variable", "question")).collect();
    assert_eq!(variables.iter().copied().collect::<BTreeSet<_>>(), fields, "one question per Settings field");
    assert_eq!(variables.len(), fields.len(), "no field asked twice");

    for question in list {
        let variable = str_at(question, "/variable", "question");
        let kind = str_at(question, "/type", variable);
        assert!(question["label"].as_str().is_some_and(|l| !l.is_empty()), "{variable}: label");
        assert!(question["description"].as_str().is_some_and(|l| !l.is_empty()), "{variable}: description");
        let default = &question["default"];
        assert_eq!(default, &defaults[variable], "{variable}: default differs from Settings::default()");
        let type_fits = match kind {
            "boolean" => default.is_boolean(),
            "int" => default.is_i64(),
            "string" | "enum" => default.is_string(),
            "array[" => default.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            "map[" => default.is_object(),
            other => panic!("{variable}: unknown question type {other}"),
        };
        assert!(type_fits, "{variable}: default {default} does not fit type {kind}");
        if kind == "enum" {
            for option in question["options"].as_array().expect("enum options") {
                let settings = json!({variable: option});
                Settings::from_value(settings.clone()).unwrap_or_else(|e| panic!("{variable}: option {option}: {e}"));
            }
        }
        if let Some(min) = question.get("min") {
            let below = json!({variable: min.as_i64().unwrap() - 1});
            assert!(Settings::from_value(below).is_err(), "{variable}: min {min} is not the settings' minimum");
            Settings::from_value(json!({variable: min})).unwrap();
        }
    }
}

#[test]
fn rule_questions_cover_the_rules_that_run_at_admission() {
    let questions = load("questions-ui.yml");
    let rules_question = questions["questions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["variable"] == "rules")
        .expect("a `rules` question");
    let mut asked = BTreeMap::new();
    for sub in rules_question["subquestions"].as_array().expect("one sub-question per rule") {
        let variable = str_at(sub, "/variable", "rules sub-question");
        let id = variable.strip_prefix("rules.").unwrap_or_else(|| panic!("{variable} is not rules.<id>"));
        assert_eq!(sub["type"], "enum", "{variable}");
        assert_eq!(sub["options"], json!(["deny", "warn", "off"]), "{variable}");
        assert!(sub["label"].as_str().unwrap().starts_with(id), "{variable}: label starts with the id");
        assert!(asked.insert(id.to_string(), sub["default"].clone()).is_none(), "{variable} twice");
    }
    let expected: BTreeMap<String, Value> = rules::all()
        .iter()
        .filter(|r| r.meta.scope == Scope::Object)
        .map(|r| (r.meta.id.to_string(), json!(r.meta.default_level.as_str())))
        .collect();
    assert_eq!(asked, expected, "one sub-question per admission rule, defaulting to the rule's level");
    // What the form produces is valid settings.
    let form: serde_json::Map<String, Value> = asked.into_iter().collect();
    Settings::from_value(json!({"rules": form})).unwrap();
}

/// deploy/cluster-admission-policy.yaml, the README's deployment example, asks for what the
/// policy declares and passes settings the policy accepts.
#[test]
fn the_shipped_cluster_admission_policy_agrees_with_the_metadata() {
    let metadata = load("policy-metadata.yml");
    let policy = load("deploy/cluster-admission-policy.yaml");
    assert_eq!(policy["apiVersion"], "policies.kubewarden.io/v1");
    assert_eq!(policy["kind"], "ClusterAdmissionPolicy");
    let spec = &policy["spec"];
    assert_eq!(spec["rules"], metadata["rules"]);
    assert_eq!(spec["mutating"], metadata["mutating"]);
    assert_eq!(spec["backgroundAudit"], metadata["backgroundAudit"]);
    // A policy may grant fewer look-ups than the module declares; this one does not enable
    // lookup_secrets, so it leaves Secret out.
    let granted = spec["contextAwareResources"].as_array().expect("contextAwareResources");
    let declared = metadata["contextAwareResources"].as_array().unwrap();
    assert!(granted.iter().all(|r| declared.contains(r)), "{granted:?} not all in {declared:?}");
    assert!(!granted.iter().any(|r| r["kind"] == "Secret") && spec["settings"]["lookup_secrets"].is_null());
    let version = env!("CARGO_PKG_VERSION");
    let oci = str_at(&metadata, "/annotations/io.kubewarden.policy.ociUrl", "policy-metadata.yml");
    assert_eq!(str_at(spec, "/module", "deploy/cluster-admission-policy.yaml"), format!("registry://{oci}:v{version}"));
    let verdict = admission::validate_settings(&serde_json::to_vec(&spec["settings"]).unwrap());
    assert!(verdict.valid, "{:?}", verdict.message);
}
