//! The policy's published descriptions agree with each other and with the code:
//! `policy-metadata.yml` (embedded by `kwctl annotate`), `artifacthub-pkg.yml` (Artifact Hub and
//! the Rancher UI), `questions-ui.yml` (the settings form) and Cargo.toml's version.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use sa_guard::admission;
use sa_guard::lookup::{ClusterLookup, Lookup};
use sa_guard::{rules, Settings};
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
    // kwctl writes them sorted (by apiVersion, then kind), whatever the metadata file's order.
    let mut sorted = metadata["contextAwareResources"].as_array().unwrap().clone();
    sorted.sort_by_key(|r| (r["apiVersion"].to_string(), r["kind"].to_string()));
    assert_eq!(embedded(&artifacthub, "kubewarden/contextAwareResources"), Value::Array(sorted));

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
            // a list of objects, each asked by `sequence_questions`
            "sequence[" => default.as_array().is_some_and(Vec::is_empty) && question["sequence_questions"].is_array(),
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
        if let Some(max) = question.get("max") {
            let above = json!({variable: max.as_i64().unwrap() + 1});
            assert!(Settings::from_value(above).is_err(), "{variable}: max {max} is not the settings' maximum");
            Settings::from_value(json!({variable: max})).unwrap();
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
        .filter(|r| r.meta.scope.runs_at_admission())
        .map(|r| (r.meta.id.to_string(), json!(r.meta.default_level.as_str())))
        .collect();
    assert_eq!(asked, expected, "one sub-question per admission rule, defaulting to the rule's level");
    // What the form produces is valid settings.
    let form: serde_json::Map<String, Value> = asked.into_iter().collect();
    Settings::from_value(json!({"rules": form})).unwrap();
}

/// deploy/cluster-admission-policy.yaml, the deployment example of docs/policy.md, asks for what the
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

/// A policy rule as kwctl serializes it (its field order).
#[derive(serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KwctlRule {
    api_groups: Vec<String>,
    api_versions: Vec<String>,
    resources: Vec<String>,
    operations: Vec<String>,
}

/// Sorted as kwctl's set of them is: by apiVersion, then kind.
#[derive(serde::Deserialize, serde::Serialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct KwctlContextAwareResource {
    api_version: String,
    kind: String,
}

#[derive(serde::Serialize)]
struct NameImage {
    name: &'static str,
    image: String,
}

#[derive(serde::Serialize)]
struct NameUrl {
    name: &'static str,
    url: String,
}

#[derive(serde::Serialize)]
struct Name {
    name: &'static str,
}

fn yaml<T: serde::Serialize + ?Sized>(value: &T) -> serde_yaml::Value {
    serde_yaml::to_value(value).unwrap()
}

#[derive(serde::Serialize)]
struct Url {
    url: &'static str,
}

#[derive(serde::Serialize)]
struct NameEmail {
    name: String,
    email: String,
}

/// `io.kubewarden.policy.author` as kwctl reads it: comma-separated `name <email>` (RFC 5322
/// name-addr); kwctl refuses anything else ("must be csv values of \"name <email>\"").
fn maintainers(author: &str) -> Vec<NameEmail> {
    let list: Vec<NameEmail> = author
        .split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let (name, rest) =
                entry.split_once(" <").unwrap_or_else(|| panic!("author {entry:?} is not `name <email>`"));
            let email = rest.strip_suffix('>').unwrap_or_else(|| panic!("author {entry:?} is not `name <email>`"));
            let (local, domain) = email.split_once('@').unwrap_or_else(|| panic!("{email:?} is not an email address"));
            assert!(
                !local.is_empty() && domain.contains('.') && !email.contains(char::is_whitespace),
                "{email:?} is not an email address"
            );
            NameEmail { name: name.trim().to_string(), email: email.to_string() }
        })
        .collect();
    assert!(!list.is_empty(), "author {author:?}: kwctl wants at least one `name <email>`");
    list
}

/// What `kwctl scaffold artifacthub -m policy-metadata.yml -q questions-ui.yml` prints (without
/// its comment header), for a given `createdAt`: kwctl's ArtifactHubPkg (policy-evaluator's
/// `policy_artifacthub.rs`) serialized by serde_yaml, as kwctl does. Field order is the struct's;
/// annotations are a sorted map; rules and contextAwareResources are embedded as YAML text.
fn kwctl_scaffold_artifacthub(metadata: &Value, questions_text: &str, created_at: &str) -> String {
    let annotation = |key: &str| str_at(metadata, &format!("/annotations/{key}"), "policy-metadata.yml").to_string();
    let version = annotation("io.kubewarden.policy.version");
    let image = format!("{}:v{version}", annotation("io.kubewarden.policy.ociUrl"));
    let source = annotation("io.kubewarden.policy.source");
    assert!(source.starts_with("https://github.com/"), "kwctl links policy.wasm only for GitHub sources");
    let rules: Vec<KwctlRule> = serde_json::from_value(metadata["rules"].clone()).expect("rules");
    let mut resources: Vec<KwctlContextAwareResource> =
        serde_json::from_value(metadata["contextAwareResources"].clone()).expect("contextAwareResources");
    resources.sort();
    resources.dedup();
    let keywords: Vec<String> =
        annotation("io.artifacthub.keywords").split(',').map(|k| k.trim_matches(' ').to_string()).collect();
    assert!(keywords.iter().all(|k| !k.is_empty()), "kwctl refuses empty keywords");

    // kwctl's annotations are a sorted map.
    let mut annotations = BTreeMap::new();
    if !resources.is_empty() {
        annotations.insert("kubewarden/contextAwareResources", serde_yaml::to_string(&resources).unwrap());
    }
    annotations.insert("kubewarden/mutation", metadata["mutating"].as_bool().expect("mutating").to_string());
    annotations.insert("kubewarden/questions-ui", questions_text.to_string());
    annotations.insert("kubewarden/resources", annotation("io.artifacthub.resources"));
    annotations.insert("kubewarden/rules", serde_yaml::to_string(&rules).unwrap());

    let install = format!(
        "The policy can be obtained using [`kwctl`](https://github.com/kubewarden/kwctl):\n\
         ```console\nkwctl pull {image}\n```\n\
         Then, generate the policy manifest and tune it to your liking. For example:\n\
         ```console\nkwctl scaffold manifest -t ClusterAdmissionPolicy registry://{image}\n```\n"
    );
    let mut package = serde_yaml::Mapping::new();
    let mut field = |key: &str, value: serde_yaml::Value| package.insert(key.into(), value);
    field("version", version.clone().into());
    field("name", annotation("io.kubewarden.policy.title").into());
    field("displayName", annotation("io.artifacthub.displayName").into());
    field("createdAt", created_at.into());
    field("description", annotation("io.kubewarden.policy.description").into());
    field("license", annotation("io.kubewarden.policy.license").into());
    field("homeURL", annotation("io.kubewarden.policy.url").into());
    field("containersImages", yaml(&[NameImage { name: "policy", image: image.clone() }]));
    field("keywords", yaml(&keywords));
    let links = [
        NameUrl { name: "policy", url: format!("{source}/releases/download/v{version}/policy.wasm") },
        NameUrl { name: "source", url: source.clone() },
    ];
    field("links", yaml(&links));
    field("install", install.into());
    field("maintainers", yaml(&maintainers(&annotation("io.kubewarden.policy.author"))));
    field("provider", yaml(&Name { name: "kubewarden" }));
    field(
        "recommendations",
        yaml(&[Url { url: "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller" }]),
    );
    field("annotations", serde_yaml::to_value(annotations).unwrap());
    serde_yaml::to_string(&package).unwrap()
}

/// artifacthub-pkg.yml without its leading comment lines.
fn without_leading_comments(text: &str) -> &str {
    let mut rest = text;
    while rest.starts_with('#') {
        rest = rest.split_once('\n').map_or("", |(_, after)| after);
    }
    rest
}

/// artifacthub-pkg.yml is what `kwctl scaffold artifacthub -m policy-metadata.yml -q
/// questions-ui.yml` generates, but for `createdAt` (the time it ran) and the comment at the top.
/// `SA_GUARD_WRITE_ARTIFACTHUB=1 cargo test --test metadata artifacthub` rewrites it, with the
/// current time.
#[test]
fn artifacthub_pkg_is_what_kwctl_scaffold_artifacthub_generates() {
    let metadata = load("policy-metadata.yml");
    let questions = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("questions-ui.yml")).unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("artifacthub-pkg.yml");
    let committed = std::fs::read_to_string(&path).unwrap();
    let body = without_leading_comments(&committed);
    let header = &committed[..committed.len() - body.len()];

    if std::env::var_os("SA_GUARD_WRITE_ARTIFACTHUB").is_some() {
        let now = std::process::Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]).output().unwrap();
        let now = String::from_utf8(now.stdout).unwrap();
        let generated = kwctl_scaffold_artifacthub(&metadata, &questions, now.trim());
        std::fs::write(&path, format!("{header}{generated}")).unwrap();
        return;
    }
    let created_at = parse_yaml(body, "artifacthub-pkg.yml")["createdAt"].as_str().expect("createdAt").to_string();
    let generated = kwctl_scaffold_artifacthub(&metadata, &questions, &created_at);
    if body != generated {
        let line = body.lines().zip(generated.lines()).position(|(a, b)| a != b).unwrap_or(0);
        panic!(
            "artifacthub-pkg.yml differs from what kwctl scaffold artifacthub generates from policy-metadata.yml and \
             questions-ui.yml (SA_GUARD_WRITE_ARTIFACTHUB=1 cargo test --test metadata artifacthub rewrites it); \
             first difference on line {} after the comments:\n committed: {:?}\n generated: {:?}",
            line + 1,
            body.lines().nth(line),
            generated.lines().nth(line)
        );
    }
}

#[test]
fn the_author_is_what_kwctl_accepts() {
    let metadata = load("policy-metadata.yml");
    let author = str_at(&metadata, "/annotations/io.kubewarden.policy.author", "policy-metadata.yml");
    assert!(!maintainers(author).is_empty());
    // The reference input kwctl 1.31 refused, for the record: a name without an address.
    let refused = std::panic::catch_unwind(|| maintainers("sa-guard developers"));
    assert!(refused.is_err());
}
