//! Property tests over random bundles of workloads and ServiceAccounts:
//!
//! * SAG002's decision equals Kubernetes' precedence for the effective
//!   `automountServiceAccountToken` (reference model written here, independent of the rules);
//! * applying a finding's fix (its JSON patch) removes that finding and adds no other;
//! * linting does not depend on the order of the objects;
//! * the rules judge an object decoded for admission ([`sa_guard::projection`], which leaves
//!   out the environment variables and ConfigMap values no rule reads) exactly as they judge the
//!   whole object.

use std::collections::BTreeMap;

use proptest::prelude::*;
use proptest::sample::select;
use sa_guard::engine::{evaluate, Mode, Options, Report};
use sa_guard::{Finding, NoCluster, Settings};
use serde_json::{json, Value};

// ---------------------------------------------------------------------------------------------
// Random input

/// A field of the object: left out, `null`, or a value.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    Absent,
    Null,
    Set(Value),
}

impl Field {
    fn write(&self, object: &mut Value, key: &str) {
        match self {
            Field::Absent => {}
            Field::Null => object[key] = Value::Null,
            Field::Set(value) => object[key] = value.clone(),
        }
    }
}

/// YAML 1.1 spellings Kubernetes' decoder reads as booleans, and a word it does not.
const TRUE_WORDS: &[&str] = &["true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON", "y", "Y"];
const FALSE_WORDS: &[&str] = &["false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF", "n", "N"];

fn automount_field() -> impl Strategy<Value = Field> {
    prop_oneof![
        3 => Just(Field::Absent),
        1 => Just(Field::Null),
        3 => any::<bool>().prop_map(|b| Field::Set(json!(b))),
        2 => select(TRUE_WORDS).prop_map(|w| Field::Set(json!(w))),
        2 => select(FALSE_WORDS).prop_map(|w| Field::Set(json!(w))),
        1 => select(&["maybe", "1", ""][..]).prop_map(|w| Field::Set(json!(w))),
    ]
}

const SA_NAMES: &[&str] = &["default", "app", "ci"];
/// `None`: the object has no `metadata.namespace`.
const NAMESPACES: &[Option<&str>] = &[Some("shop"), Some("other"), None];

fn sa_name_field() -> impl Strategy<Value = Field> {
    prop_oneof![
        2 => Just(Field::Absent),
        1 => Just(Field::Null),
        1 => Just(Field::Set(json!(""))),
        4 => select(SA_NAMES).prop_map(|n| Field::Set(json!(n))),
    ]
}

/// Where each pod-bearing kind keeps its Pod spec (written from the Kubernetes API reference,
/// not read from the crate).
const KINDS: &[(&str, &str, &str)] = &[
    ("v1", "Pod", "/spec"),
    ("apps/v1", "Deployment", "/spec/template/spec"),
    ("apps/v1", "ReplicaSet", "/spec/template/spec"),
    ("apps/v1", "StatefulSet", "/spec/template/spec"),
    ("apps/v1", "DaemonSet", "/spec/template/spec"),
    ("batch/v1", "Job", "/spec/template/spec"),
    ("batch/v1", "CronJob", "/spec/jobTemplate/spec/template/spec"),
    ("v1", "ReplicationController", "/spec/template/spec"),
    ("v1", "PodTemplate", "/template/spec"),
];

#[derive(Debug, Clone)]
struct Workload {
    kind: usize,
    namespace: Option<&'static str>,
    service_account_name: Field,
    deprecated_service_account: Field,
    automount: Field,
    /// A projected token volume: (audience, expirationSeconds).
    token_volume: Option<(Option<&'static str>, Option<Value>)>,
    /// The app container's environment variables.
    env: Vec<Value>,
}

#[derive(Debug, Clone)]
struct ServiceAccount {
    namespace: Option<&'static str>,
    name: &'static str,
    automount: Field,
    legacy_secrets: bool,
}

/// An environment variable in the shapes the API accepts and some it does not: credential-like
/// names and others, inline values, every `valueFrom` source, odd names and extra fields.
fn env_var() -> impl Strategy<Value = Value> {
    let name = prop_oneof![
        4 => select(&["PORT", "LOG_LEVEL", "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "backup-aws-access-key-id",
                      "GOOGLE_APPLICATION_CREDENTIALS", "AZURE_CLIENT_SECRET", "OCI_CLI_KEY_CONTENT",
                      "ci-ic-api-key", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "TOKEN", ""][..])
            .prop_map(|n| Field::Set(json!(n))),
        1 => Just(Field::Absent),
        1 => Just(Field::Null),
        1 => Just(Field::Set(json!(7))),
    ];
    let value = prop_oneof![
        2 => Just(Field::Absent),
        1 => Just(Field::Set(json!(""))),
        2 => Just(Field::Set(json!("s3cr3t"))),
        1 => Just(Field::Set(json!({"nested": true}))),
    ];
    let value_from = prop_oneof![
        4 => Just(Field::Absent),
        1 => Just(Field::Null),
        1 => Just(Field::Set(json!({"secretKeyRef": {"name": "ci-token-x1", "key": "token"}}))),
        1 => Just(Field::Set(json!({"secretKeyRef": {"name": "cloud", "key": "id"}}))),
        1 => Just(Field::Set(json!({"configMapKeyRef": {"name": "settings", "key": "k"}}))),
        1 => Just(Field::Set(json!({"fieldRef": {"fieldPath": "metadata.name"}}))),
    ];
    let extra = proptest::option::weighted(0.1, Just(json!("anything")));
    (name, value, value_from, extra).prop_map(|(name, value, value_from, extra)| {
        let mut var = json!({});
        name.write(&mut var, "name");
        value.write(&mut var, "value");
        value_from.write(&mut var, "valueFrom");
        if let Some(extra) = extra {
            var["unknownField"] = extra;
        }
        var
    })
}

fn workload() -> impl Strategy<Value = Workload> {
    let token_volume = proptest::option::weighted(
        0.3,
        (
            proptest::option::of(select(&["vault", "api", "https://kubernetes.default.svc"][..])),
            proptest::option::of(select(vec![json!(600), json!(3600), json!(7200), json!("7200"), json!(86400)])),
        ),
    );
    let env = proptest::collection::vec(env_var(), 0..6);
    (0..KINDS.len(), select(NAMESPACES), sa_name_field(), sa_name_field(), automount_field(), token_volume, env)
        .prop_map(
            |(kind, namespace, service_account_name, deprecated_service_account, automount, token_volume, env)| {
                Workload {
                    kind,
                    namespace,
                    service_account_name,
                    deprecated_service_account,
                    automount,
                    token_volume,
                    env,
                }
            },
        )
}

fn service_account() -> impl Strategy<Value = ServiceAccount> {
    (select(NAMESPACES), select(SA_NAMES), automount_field(), proptest::bool::weighted(0.2)).prop_map(
        |(namespace, name, automount, legacy_secrets)| ServiceAccount { namespace, name, automount, legacy_secrets },
    )
}

#[derive(Debug, Clone)]
struct Case {
    workloads: Vec<Workload>,
    /// Unique by (namespace, name): a bundle that defines one twice has no single answer.
    service_accounts: Vec<ServiceAccount>,
    require_allowlisted_opt_in: bool,
    /// `shop/ci` may have a token.
    allow_ci: bool,
    /// The CLI's `--namespace` for objects that have none.
    default_namespace: Option<&'static str>,
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::collection::vec(workload(), 1..6),
        proptest::collection::vec(service_account(), 0..6),
        any::<bool>(),
        any::<bool>(),
        select(&[None, Some("shop")][..]),
    )
        .prop_map(|(workloads, mut service_accounts, require_allowlisted_opt_in, allow_ci, default_namespace)| {
            let mut seen = Vec::new();
            service_accounts.retain(|sa| {
                let key = (sa.namespace.or(default_namespace), sa.name);
                let fresh = !seen.contains(&key);
                seen.push(key);
                fresh
            });
            Case { workloads, service_accounts, require_allowlisted_opt_in, allow_ci, default_namespace }
        })
}

fn metadata(name: &str, namespace: Option<&str>) -> Value {
    match namespace {
        Some(ns) => json!({"name": name, "namespace": ns}),
        None => json!({"name": name}),
    }
}

/// Sets `pointer`, creating objects on the way.
fn put(object: &mut Value, pointer: &str, value: Value) {
    let mut target = object;
    for token in pointer.trim_start_matches('/').split('/') {
        if !target.get(token).is_some_and(Value::is_object) {
            target[token] = json!({});
        }
        target = &mut target[token];
    }
    *target = value;
}

impl Workload {
    fn to_json(&self, index: usize) -> Value {
        let (api_version, kind, spec_pointer) = KINDS[self.kind];
        let mut spec = json!({"containers": [{"name": "app", "image": "registry.example/app:1"}]});
        if !self.env.is_empty() {
            spec["containers"][0]["env"] = json!(self.env);
        }
        self.service_account_name.write(&mut spec, "serviceAccountName");
        self.deprecated_service_account.write(&mut spec, "serviceAccount");
        self.automount.write(&mut spec, "automountServiceAccountToken");
        if let Some((audience, expiration)) = &self.token_volume {
            let mut token = json!({"path": "token"});
            if let Some(audience) = audience {
                token["audience"] = json!(audience);
            }
            if let Some(expiration) = expiration {
                token["expirationSeconds"] = expiration.clone();
            }
            spec["volumes"] = json!([{"name": "token", "projected": {"sources": [{"serviceAccountToken": token}]}}]);
        }
        let mut object = json!({"apiVersion": api_version, "kind": kind, "metadata": metadata(&format!("w{index}"), self.namespace)});
        put(&mut object, spec_pointer, spec);
        object
    }
}

impl ServiceAccount {
    fn to_json(&self) -> Value {
        let mut object =
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata(self.name, self.namespace)});
        self.automount.write(&mut object, "automountServiceAccountToken");
        if self.legacy_secrets {
            object["secrets"] = json!([{"name": format!("{}-token-x1", self.name)}]);
        }
        object
    }
}

impl Case {
    /// Workloads first (so a workload's index is its position in `workloads`), then ServiceAccounts.
    fn objects(&self) -> Vec<Value> {
        let workloads = self.workloads.iter().enumerate().map(|(i, w)| w.to_json(i));
        workloads.chain(self.service_accounts.iter().map(ServiceAccount::to_json)).collect()
    }

    fn settings(&self) -> Settings {
        Settings {
            require_allowlisted_opt_in: self.require_allowlisted_opt_in,
            allowed_token_service_accounts: if self.allow_ci { vec!["shop/ci".into()] } else { vec![] },
            ..Settings::default()
        }
    }

    fn lint(&self, objects: &[Value]) -> Report {
        let options = Options { mode: Mode::Manifest, default_namespace: self.default_namespace, lookup: &NoCluster };
        evaluate(objects, &self.settings(), &options)
    }
}

// ---------------------------------------------------------------------------------------------
// Reference model: Kubernetes' precedence, written from the API documentation

/// How Kubernetes reads a value of `automountServiceAccountToken` decoded from YAML 1.1:
/// `Some(Ok(b))` a boolean, `Some(Err(()))` present but not a boolean, `None` unset.
fn k8s_bool(field: &Field) -> Option<Result<bool, ()>> {
    match field {
        Field::Absent | Field::Null => None,
        Field::Set(Value::Bool(b)) => Some(Ok(*b)),
        Field::Set(Value::String(s)) if TRUE_WORDS.contains(&s.as_str()) => Some(Ok(true)),
        Field::Set(Value::String(s)) if FALSE_WORDS.contains(&s.as_str()) => Some(Ok(false)),
        Field::Set(_) => Some(Err(())),
    }
}

fn non_empty_name(field: &Field) -> Option<&str> {
    match field {
        Field::Set(Value::String(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// What SAG002 must do with a workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sag002 {
    Silent,
    /// A token nobody asked for, or a value that is not a boolean: reported with the fix
    /// `automountServiceAccountToken: false`.
    ReportsWithFix,
    /// An explicit `true` that require_allowlisted_opt_in does not accept: reported, but a
    /// decision to review, so no fix.
    ReportsWithoutFix,
}

/// SAG002's decision for this workload. Kubernetes: the ServiceAccount is `serviceAccountName`,
/// else the deprecated `serviceAccount`, else `default`; the token is mounted per the Pod's
/// `automountServiceAccountToken`, else the ServiceAccount's, else `true`. SAG002 reports a
/// mounted token nobody asked for (or, with `require_allowlisted_opt_in`, any mounted token of
/// a ServiceAccount not allow-listed) and a Pod value that is not a boolean.
fn sag002_expected(case: &Case, workload: &Workload) -> Sag002 {
    let namespace = workload.namespace.or(case.default_namespace);
    let name = non_empty_name(&workload.service_account_name)
        .or_else(|| non_empty_name(&workload.deprecated_service_account))
        .unwrap_or("default");
    if case.allow_ci && namespace == Some("shop") && name == "ci" {
        return Sag002::Silent;
    }
    let defined =
        case.service_accounts.iter().find(|sa| sa.namespace.or(case.default_namespace) == namespace && sa.name == name);
    let explicit = match k8s_bool(&workload.automount) {
        Some(Err(())) => return Sag002::ReportsWithFix,
        Some(Ok(pod)) => Some(pod),
        // an unknown ServiceAccount is read as unset: Kubernetes' default then applies
        None => defined.and_then(|sa| k8s_bool(&sa.automount)).and_then(Result::ok),
    };
    match explicit {
        Some(false) => Sag002::Silent,
        Some(true) if case.require_allowlisted_opt_in => Sag002::ReportsWithoutFix,
        Some(true) => Sag002::Silent,
        None => Sag002::ReportsWithFix,
    }
}

// ---------------------------------------------------------------------------------------------
// Properties

fn key(f: &Finding) -> (usize, String, String) {
    (f.object_index, f.rule_id.clone(), f.path.clone())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn sag002_follows_kubernetes_precedence(case in case()) {
        let report = case.lint(&case.objects());
        for (index, workload) in case.workloads.iter().enumerate() {
            let found: Vec<&Finding> =
                report.findings.iter().filter(|f| f.rule_id == "SAG002" && f.object_index == index).collect();
            let expected = sag002_expected(&case, workload);
            let reports = expected != Sag002::Silent;
            prop_assert_eq!(found.len(), usize::from(reports), "workload {}: {:?}\nfindings: {:#?}", index, workload, found);
            if reports {
                let path = format!("{}/automountServiceAccountToken", KINDS[workload.kind].2);
                prop_assert_eq!(&found[0].path, &path);
                prop_assert_eq!(found[0].fix.is_some(), expected == Sag002::ReportsWithFix, "{:?}", expected);
            }
        }
    }

    #[test]
    fn a_fix_removes_its_finding_and_adds_no_other(case in case()) {
        let objects = case.objects();
        let before = case.lint(&objects);
        for finding in before.findings.iter().filter(|f| f.fix.is_some()) {
            let fix = finding.fix.as_ref().unwrap();
            let mut fixed = objects.clone();
            let applied = json_patch::patch(&mut fixed[finding.object_index], &fix.patch);
            prop_assert!(applied.is_ok(), "fix of {} does not apply: {:?}\n{:#?}", finding.one_line(), applied, objects[finding.object_index]);
            let after = case.lint(&fixed);
            prop_assert!(
                !after.findings.iter().any(|f| key(f) == key(finding)),
                "{} is still reported after its fix ({})", finding.one_line(), fix.description
            );
            // Compared per object and rule, not per path: a finding may move (SAG003 points at
            // serviceAccountName once SAG004's fix has renamed the deprecated field).
            let mut budget: BTreeMap<(usize, String), isize> = BTreeMap::new();
            for f in &before.findings {
                *budget.entry((f.object_index, f.rule_id.clone())).or_default() += 1;
            }
            *budget.get_mut(&(finding.object_index, finding.rule_id.clone())).unwrap() -= 1;
            for f in &after.findings {
                let left = budget.entry((f.object_index, f.rule_id.clone())).or_default();
                *left -= 1;
                prop_assert!(*left >= 0, "fixing {} ({}) added {}", finding.one_line(), fix.description, f.one_line());
            }
        }
    }

    #[test]
    fn findings_do_not_depend_on_object_order(
        (case, order) in case().prop_flat_map(|case| {
            let n = case.workloads.len() + case.service_accounts.len();
            (Just(case), Just((0..n).collect::<Vec<usize>>()).prop_shuffle())
        })
    ) {
        let objects = case.objects();
        let shuffled: Vec<Value> = order.iter().map(|&i| objects[i].clone()).collect();
        let normalise = |report: Report, original_index: &dyn Fn(usize) -> usize| {
            let mut out: Vec<_> = report
                .findings
                .into_iter()
                .map(|f| (original_index(f.object_index), f.rule_id, f.path, f.level, f.message))
                .collect();
            out.sort();
            out
        };
        let in_order = normalise(case.lint(&objects), &|i| i);
        let reordered = normalise(case.lint(&shuffled), &|i| order[i]);
        prop_assert_eq!(in_order, reordered);
    }

    #[test]
    fn rules_judge_the_admitted_reading_as_the_whole_object(case in case()) {
        // The legacy token Secret the variables' `secretKeyRef: ci-token-x1` reads (SAG007).
        let mut objects = case.objects();
        objects.push(json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "ci-token-x1", "namespace": "shop",
                         "annotations": {"kubernetes.io/service-account.name": "ci"}}}));
        let read: Vec<Value> = objects
            .iter()
            .map(|object| sa_guard::projection::read_object(&object.to_string()).expect("JSON").object)
            .collect();
        prop_assert_eq!(case.lint(&read), case.lint(&objects));
    }

    #[test]
    fn rules_judge_an_admitted_config_map_as_the_whole_object(
        values in prop::collection::vec(
            (select(CONFIG_MAP_KEYS), prop::collection::vec(select(CONFIG_MAP_TEXT), 0..12)),
            0..6,
        ),
        kind_first in any::<bool>(),
        escape_dashes in any::<bool>(),
    ) {
        // Values made of pieces of kubeconfigs (SAG014) and of credential files (SAG013), the
        // words in any case, and what JSON escapes (quotes, backslashes, control characters as
        // `\u0001`), under plain keys and keys named like credentials, in ConfigMaps read for
        // admission.
        let data: serde_json::Map<String, Value> = values
            .iter()
            .enumerate()
            .map(|(i, (key, pieces))| {
                let key = if *key == "key" { format!("key-{i}") } else { key.to_string() };
                (key, Value::String(pieces.concat()))
            })
            .collect();
        // `-` written as `\u002d`, as JSON allows for any character: the key hidden in escapes
        let data = Value::Object(data).to_string();
        let data = if escape_dashes { data.replace('-', "\\u002d") } else { data };
        let text = if kind_first {
            format!(r#"{{"kind":"ConfigMap","metadata":{{"name":"c","namespace":"shop"}},"data":{data}}}"#)
        } else {
            format!(r#"{{"data":{data},"kind":"ConfigMap","metadata":{{"name":"c","namespace":"shop"}}}}"#)
        };
        let whole: Value = serde_json::from_str(&text).unwrap();
        let read = sa_guard::projection::read_object(&text).expect("JSON").object;
        let options = Options { mode: Mode::Admission, default_namespace: Some("shop"), lookup: &NoCluster };
        let lint = |object: &Value| evaluate(std::slice::from_ref(object), &Settings::default(), &options);
        prop_assert_eq!(lint(&read), lint(&whole));
    }
}

/// Keys of ConfigMap values for `rules_judge_an_admitted_config_map_as_the_whole_object`: plain
/// (`key` is numbered), and named like a cloud credential or close to one.
const CONFIG_MAP_KEYS: &[&str] =
    &["key", "key", "aws_secret_access_key", "AWS-SESSION-TOKEN", "backup_ic_api_key", "aws_region", "app.env"];

/// Pieces of ConfigMap values for `rules_judge_an_admitted_config_map_as_the_whole_object`.
const CONFIG_MAP_TEXT: &[&str] = &[
    // credential files (SAG013) and the words they are made of
    "aws_secret_access_key",
    "AWS-SESSION",
    "_TOKEN",
    "IC",
    "_API_KEY",
    "metric",
    "=",
    "export ",
    "'",
    "\u{a0}",
    "\u{b}",
    "\r",
    "{\"type\": \"service_account\", \"private_key\": \"k\"}",
    "\"private_key\"",
    "{\"clientId\": \"i\", \"clientSecret\": \"s\"}",
    "clientSecret",
    // kubeconfigs (SAG014)
    "insecure-skip-tls-verify",
    "INSECURE-SKIP-TLS-VERIFY",
    "Insecure-Skip",
    "-tls-verify",
    "insecure",
    ": true",
    ": \"true\"",
    ": false",
    "\n",
    "\"",
    "\\",
    "\u{1}",
    "\t",
    "é",
    "-",
    "clusters:\n- cluster:\n    ",
    "# ",
    " ",
    "x",
    "{",
    "}",
];

/// The model itself, on the lesson's three workloads: a test of the oracle, so a wrong model
/// cannot make the properties pass vacuously.
#[test]
fn the_reference_model_reads_the_lessons_examples() {
    let workload = |sa: Field, automount: Field| Workload {
        kind: 1,
        namespace: Some("shop"),
        service_account_name: sa,
        deprecated_service_account: Field::Absent,
        automount,
        token_volume: None,
        env: vec![],
    };
    let case = Case {
        workloads: vec![],
        service_accounts: vec![ServiceAccount {
            namespace: Some("shop"),
            name: "app",
            automount: Field::Set(json!("off")),
            legacy_secrets: false,
        }],
        require_allowlisted_opt_in: false,
        allow_ci: true,
        default_namespace: None,
    };
    // checkout-api: default ServiceAccount, nothing set
    assert_eq!(sag002_expected(&case, &workload(Field::Absent, Field::Absent)), Sag002::ReportsWithFix);
    // order-api: explicit true
    assert_eq!(sag002_expected(&case, &workload(Field::Set(json!("app")), Field::Set(json!(true)))), Sag002::Silent);
    let strict = Case { require_allowlisted_opt_in: true, ..case.clone() };
    assert_eq!(
        sag002_expected(&strict, &workload(Field::Set(json!("app")), Field::Set(json!(true)))),
        Sag002::ReportsWithoutFix
    );
    // payment-processor-like: the ServiceAccount says off
    assert_eq!(sag002_expected(&case, &workload(Field::Set(json!("app")), Field::Null)), Sag002::Silent);
    // the Pod's value wins over the ServiceAccount's
    assert_eq!(sag002_expected(&case, &workload(Field::Set(json!("app")), Field::Set(json!("yes")))), Sag002::Silent);
    assert_eq!(
        sag002_expected(&case, &workload(Field::Set(json!("app")), Field::Set(json!("maybe")))),
        Sag002::ReportsWithFix
    );
    // allow-listed
    assert_eq!(sag002_expected(&case, &workload(Field::Set(json!("ci")), Field::Absent)), Sag002::Silent);
    // the deprecated field names the ServiceAccount only when serviceAccountName is empty
    let mut deprecated = workload(Field::Set(json!("")), Field::Absent);
    deprecated.deprecated_service_account = Field::Set(json!("app"));
    assert_eq!(sag002_expected(&case, &deprecated), Sag002::Silent);
    deprecated.service_account_name = Field::Set(json!("default"));
    assert_eq!(sag002_expected(&case, &deprecated), Sag002::ReportsWithFix);
}
