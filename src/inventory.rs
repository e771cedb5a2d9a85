//! The ServiceAccount inventory: the lesson's checklist item 5 ("Audit SA usage quarterly:
//! review all SA bindings and remove unused ones") as data. One row per ServiceAccount, defined
//! or only referenced, with its own automount setting, the workloads that run as it and whether
//! their Pods really get a token, its bindings and the risks they carry (the RBAC model of
//! [`crate::rbac`]), workload-identity annotations, legacy token Secrets and the findings of the
//! rules. The CLI renders it as a table, JSON, Markdown, CSV, DOT or Mermaid; the playground as
//! a table and a graph. The JSON field names are the documented schema (docs/inventory.md).
//! The renderings both give live here: the table's cells and Markdown ([`table`]), the graph's
//! nodes and edges ([`graph`]), the JSON ([`to_json`]).

pub mod graph;
pub mod table;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::bundle::{Bundle, Obj};
use crate::engine::{evaluate_bundle, Cx, Mode, Options, Report};
use crate::k8s;
use crate::lookup::NoCluster;
use crate::rbac::access::Identity;
use crate::rbac::catalog::Severity;
use crate::rbac::model::{self, Reach, RoleLookup};
use crate::settings::Settings;
use crate::tokens::{api_tokens, ApiToken, TokenMount};

/// Annotations that give a ServiceAccount a cloud identity.
pub const WORKLOAD_IDENTITY_ANNOTATIONS: &[(&str, &str)] = &[
    ("eks.amazonaws.com/role-arn", "AWS IRSA"),
    ("iam.gke.io/gcp-service-account", "GKE Workload Identity"),
    ("azure.workload.identity/client-id", "Azure Workload Identity"),
];

/// Namespaces whose objects Kubernetes and its add-ons own: shown apart from the user's.
pub const SYSTEM_NAMESPACES: &[&str] = &["kube-system", "kube-public", "kube-node-lease"];

/// The JSON's schema version (docs/inventory.schema.json); bumped on any change that is not an
/// added field.
pub const SCHEMA_VERSION: u32 = 1;

/// The inventory as the documented JSON (`sa-guard inventory --format json`), pretty, with a
/// final newline.
pub fn to_json(inventory: &Inventory) -> String {
    let value = serde_json::json!({"schemaVersion": SCHEMA_VERSION, "serviceAccounts": inventory.service_accounts});
    format!("{}\n", serde_json::to_string_pretty(&value).expect("JSON values serialize"))
}

/// Which rows to show.
#[derive(Debug, Clone, Default)]
pub struct Filters {
    /// Only ServiceAccounts of this namespace.
    pub namespace: Option<String>,
    /// Only ServiceAccounts whose Pods get a token and whose bindings carry a high or critical risk.
    pub risky: bool,
    /// Include system namespaces and Kubernetes' bootstrap bindings.
    pub system: bool,
}

impl Inventory {
    /// The rows `filters` keep; without `system`, also without Kubernetes' bootstrap bindings.
    pub fn filtered(mut self, filters: &Filters) -> Inventory {
        self.service_accounts.retain(|row| {
            filters.namespace.as_ref().is_none_or(|ns| *ns == row.namespace)
                && (filters.system || !row.system)
                && (!filters.risky || (row.token_mounted && row.highest_risk.is_some_and(|s| s >= Severity::High)))
        });
        if !filters.system {
            for row in &mut self.service_accounts {
                row.bindings.retain(|b| !b.system);
            }
        }
        self
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Inventory {
    pub service_accounts: Vec<ServiceAccountRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccountRow {
    pub namespace: String,
    pub name: String,
    /// Index of the ServiceAccount object in the input, when the manifests define it.
    pub object_index: Option<usize>,
    /// Its own `automountServiceAccountToken`; `None` when unset or not defined.
    pub automount: Option<bool>,
    /// In a system namespace (kube-system, ...): Kubernetes' or an add-on's, not the user's.
    pub system: bool,
    pub workloads: Vec<WorkloadUse>,
    pub bindings: Vec<BindingUse>,
    pub workload_identity: Vec<CloudIdentity>,
    /// Secrets of type kubernetes.io/service-account-token for it: tokens that never expire.
    pub legacy_token_secrets: Vec<String>,
    /// Rule ids of the findings on the ServiceAccount, its workloads and its bindings.
    pub findings: Vec<String>,
    /// The most severe risk of its bindings.
    pub highest_risk: Option<Severity>,
    /// Whether any of its workloads' Pods get an API token.
    pub token_mounted: bool,
    /// Defined or bound, but no workload of the manifests runs as it.
    pub unused: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadUse {
    pub kind: String,
    pub name: String,
    pub object_index: usize,
    /// Pods it stands for through ownerReferences (a Deployment's ReplicaSets and their Pods).
    pub owned: Vec<String>,
    /// Whether its Pods get an API token, and why.
    pub token: TokenState,
    /// Projected serviceAccountToken volumes, API audience or not.
    pub projected_tokens: Vec<ProjectedToken>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenState {
    pub mounted: bool,
    /// `pod-spec-false`, `service-account-false`, `pod-spec-true`, `service-account-true`,
    /// `default`, `service-account-unknown`, `invalid`.
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProjectedToken {
    pub volume: String,
    pub audience: Option<String>,
    pub expiration_seconds: Option<i64>,
    /// No audience or one of `denied_audiences`: the token works against the API.
    pub api_audience: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BindingUse {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub object_index: usize,
    /// How the binding names it: `ServiceAccount`, `User`, or the group's name.
    pub via: String,
    pub role: String,
    /// Index of the role's object in the input, when the manifests define it (not in the JSON:
    /// the playground places the role with it).
    #[serde(skip)]
    pub role_object_index: Option<usize>,
    /// The role was found (in the manifests or built in); unknown roles grant nothing yet.
    pub role_found: bool,
    pub risks: Vec<RiskUse>,
    /// A Kubernetes bootstrap object (`kubernetes.io/bootstrapping: rbac-defaults`).
    pub system: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct RiskUse {
    pub id: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CloudIdentity {
    pub provider: String,
    pub annotation: String,
    pub value: String,
}

/// Builds the inventory of a bundle. `report` is the rules' report on the same bundle (its
/// findings are attached to the rows).
pub fn build(bundle: &Bundle<'_>, settings: &Settings, report: &Report) -> Inventory {
    let cx = Cx::for_manifests(bundle, settings);
    let mut rows: BTreeMap<(String, String), ServiceAccountRow> = BTreeMap::new();
    let mut related: HashMap<(String, String), Vec<usize>> = HashMap::new();

    for obj in bundle.of_kind("ServiceAccount") {
        let Some(ns) = obj.namespace else { continue };
        let r = row(&mut rows, ns, obj.name);
        r.object_index = Some(obj.index);
        r.automount = obj.value.get(k8s::AUTOMOUNT).and_then(k8s::as_bool);
        for (annotation, provider) in WORKLOAD_IDENTITY_ANNOTATIONS {
            if let Some(value) = k8s::annotation(obj.value, annotation) {
                r.workload_identity.push(CloudIdentity {
                    provider: provider.to_string(),
                    annotation: annotation.to_string(),
                    value: value.to_string(),
                });
            }
        }
        related.entry((ns.to_string(), obj.name.to_string())).or_default().push(obj.index);
    }

    let owners = Owners::of(bundle);
    for (obj, spec) in bundle.workloads() {
        let Some(ns) = obj.namespace else { continue };
        if owners.is_owned(obj) {
            continue;
        }
        let (sa, _) = spec.service_account();
        let tokens = api_tokens(&cx, obj, &spec);
        let token = match tokens.iter().find_map(|t| match t {
            ApiToken::Automounted(mount) => Some(mount),
            _ => None,
        }) {
            Some(TokenMount::OptedIn(crate::tokens::OptIn::PodSpec)) => state(true, "pod-spec-true"),
            Some(TokenMount::OptedIn(crate::tokens::OptIn::ServiceAccount)) => state(true, "service-account-true"),
            Some(TokenMount::ByDefault) => state(true, "default"),
            Some(TokenMount::SaUnknown(_)) => state(true, "service-account-unknown"),
            Some(TokenMount::Invalid(_)) => state(true, "invalid"),
            Some(TokenMount::Disabled) | None => match spec.automount() {
                Some(false) => state(false, "pod-spec-false"),
                _ => state(false, "service-account-false"),
            },
        };
        let projected_tokens = projected(&spec, settings);
        let mounted = token.mounted || projected_tokens.iter().any(|p| p.api_audience);
        let r = row(&mut rows, ns, sa);
        r.token_mounted |= mounted;
        r.workloads.push(WorkloadUse {
            kind: obj.kind.to_string(),
            name: obj.name.to_string(),
            object_index: obj.index,
            owned: owners.owned_by(obj),
            token,
            projected_tokens,
        });
        related.entry((ns.to_string(), sa.to_string())).or_default().push(obj.index);
    }

    for binding in bundle.of_kind("RoleBinding").chain(bundle.of_kind("ClusterRoleBinding")) {
        let system = k8s::at(binding.value, &["metadata", "labels", "kubernetes.io/bootstrapping"])
            .and_then(Value::as_str)
            == Some("rbac-defaults");
        let (role, role_found, risks) = describe_role(&cx, binding);
        let role_object_index = role_object(bundle, binding);
        let subjects = binding.value.get("subjects").and_then(Value::as_array);
        for subject in subjects.into_iter().flatten() {
            let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
            let targets: Vec<(String, String, String)> = match kind {
                "Group" => {
                    // a group binding applies to every matching row: the defined and used ones
                    let name = subject.get("name").and_then(Value::as_str).unwrap_or("");
                    rows.keys()
                        .filter(|(ns, sa)| {
                            let id = Identity::parse(&format!("system:serviceaccount:{ns}:{sa}"), &[]);
                            id.is_ok_and(|id| id.is_named_by(subject, binding.namespace))
                        })
                        .map(|(ns, sa)| (ns.clone(), sa.clone(), name.to_string()))
                        .collect()
                }
                _ => direct_subject(subject, binding.namespace).into_iter().collect(),
            };
            for (ns, sa, via) in targets {
                let r = row(&mut rows, &ns, &sa);
                r.bindings.push(BindingUse {
                    kind: binding.kind.to_string(),
                    namespace: binding.namespace.map(String::from),
                    name: binding.name.to_string(),
                    object_index: binding.index,
                    via,
                    role: role.clone(),
                    role_object_index,
                    role_found,
                    risks: risks.clone(),
                    system,
                });
                related.entry((ns, sa)).or_default().push(binding.index);
            }
        }
    }

    for secret in bundle.of_kind("Secret") {
        if k8s::str_at(secret.value, &["type"]) != Some("kubernetes.io/service-account-token") {
            continue;
        }
        let (Some(ns), Some(sa)) =
            (secret.namespace, k8s::annotation(secret.value, "kubernetes.io/service-account.name"))
        else {
            continue;
        };
        let r = row(&mut rows, ns, sa);
        r.legacy_token_secrets.push(secret.name.to_string());
        related.entry((ns.to_string(), sa.to_string())).or_default().push(secret.index);
    }

    let mut findings_by_object: HashMap<usize, Vec<&str>> = HashMap::new();
    for finding in &report.findings {
        findings_by_object.entry(finding.object_index).or_default().push(&finding.rule_id);
    }
    for (key, r) in rows.iter_mut() {
        let mut ids: Vec<String> = related
            .get(key)
            .into_iter()
            .flatten()
            .flat_map(|i| findings_by_object.get(i).into_iter().flatten())
            .map(|id| id.to_string())
            .collect();
        ids.sort();
        ids.dedup();
        r.findings = ids;
        r.highest_risk = r.bindings.iter().flat_map(|b| b.risks.iter().map(|risk| risk.severity)).max();
        r.unused = r.workloads.is_empty();
    }
    Inventory { service_accounts: rows.into_values().collect() }
}

/// The row of a ServiceAccount, made on first mention.
fn row<'r>(
    rows: &'r mut BTreeMap<(String, String), ServiceAccountRow>,
    ns: &str,
    name: &str,
) -> &'r mut ServiceAccountRow {
    rows.entry((ns.to_string(), name.to_string())).or_insert_with(|| ServiceAccountRow {
        namespace: ns.to_string(),
        name: name.to_string(),
        object_index: None,
        automount: None,
        system: SYSTEM_NAMESPACES.contains(&ns),
        workloads: Vec::new(),
        bindings: Vec::new(),
        workload_identity: Vec::new(),
        legacy_token_secrets: Vec::new(),
        findings: Vec::new(),
        highest_risk: None,
        token_mounted: false,
        unused: false,
    })
}

/// A ServiceAccount subject, or a User spelled `system:serviceaccount:<ns>:<name>`.
fn direct_subject(subject: &Value, binding_namespace: Option<&str>) -> Option<(String, String, String)> {
    let field = |name: &str| subject.get(name).and_then(Value::as_str).unwrap_or("");
    match field("kind") {
        "ServiceAccount" => {
            let ns = Some(field("namespace")).filter(|n| !n.is_empty()).or(binding_namespace)?;
            (!field("name").is_empty()).then(|| (ns.to_string(), field("name").to_string(), "ServiceAccount".into()))
        }
        "User" => {
            let (ns, name) = field("name").strip_prefix("system:serviceaccount:")?.split_once(':')?;
            Some((ns.to_string(), name.to_string(), "User".into()))
        }
        _ => None,
    }
}

fn state(mounted: bool, reason: &str) -> TokenState {
    TokenState { mounted, reason: reason.to_string() }
}

fn projected(spec: &k8s::PodSpec<'_>, settings: &Settings) -> Vec<ProjectedToken> {
    let mut out = Vec::new();
    for (_, volume) in spec.volumes() {
        if k8s::is_injected_api_access_volume(volume) {
            continue;
        }
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("");
        let sources = k8s::at(volume, &["projected", "sources"]).and_then(Value::as_array);
        for source in sources.into_iter().flatten() {
            let Some(token) = source.get("serviceAccountToken").filter(|t| t.is_object()) else { continue };
            let audience = token.get("audience").and_then(Value::as_str).filter(|a| !a.is_empty());
            out.push(ProjectedToken {
                volume: name.to_string(),
                audience: audience.map(String::from),
                expiration_seconds: token.get("expirationSeconds").and_then(k8s::as_i64),
                api_audience: audience.is_none_or(|a| settings.is_audience_denied(a)),
            });
        }
    }
    out
}

/// "ClusterRole edit", whether it was found, and its risks where the binding applies.
fn describe_role(cx: &Cx<'_>, binding: &Obj<'_>) -> (String, bool, Vec<RiskUse>) {
    let Some((kind, name)) = k8s::role_ref(binding.value) else { return ("no roleRef".into(), false, Vec::new()) };
    let Some(reach) = Reach::of_binding(binding.kind, binding.namespace) else {
        return (format!("{kind} {name}"), false, Vec::new());
    };
    match cx.resolve_role(binding.namespace, kind, name) {
        RoleLookup::Found(role) => {
            let risks = model::risks(&role, reach)
                .into_iter()
                .map(|hit| RiskUse { id: hit.risk.id.to_string(), severity: hit.severity })
                .collect();
            (format!("{kind} {name}"), true, risks)
        }
        _ => (format!("{kind} {name}"), false, Vec::new()),
    }
}

/// The object of the role `binding` names, found as [`Cx::resolve_role`] finds it in the
/// manifests: a Role in the binding's namespace, or a ClusterRole.
fn role_object(bundle: &Bundle<'_>, binding: &Obj<'_>) -> Option<usize> {
    let role = match k8s::role_ref(binding.value)? {
        ("Role", name) => bundle.role(binding.namespace, name),
        ("ClusterRole", name) => bundle.cluster_role(name),
        _ => None,
    };
    role.map(|role| role.index)
}

/// Which workloads are run by another workload of the bundle (ownerReferences): a Pod owned by
/// a ReplicaSet owned by a Deployment is one workload, the Deployment.
struct Owners {
    /// For each owned workload, the index of its top owner.
    top_owner: HashMap<usize, usize>,
    names: HashMap<usize, String>,
}

impl Owners {
    fn of(bundle: &Bundle<'_>) -> Owners {
        let mut workloads = HashMap::new();
        for obj in bundle.subjects().filter(|o| o.pod_spec().is_some()) {
            workloads.insert((obj.namespace, obj.kind, obj.name), obj.index);
        }
        let owner_of = |obj: &Obj<'_>| -> Option<usize> {
            let refs = k8s::at(obj.value, &["metadata", "ownerReferences"]).and_then(Value::as_array)?;
            refs.iter().find_map(|r| {
                let kind = r.get("kind").and_then(Value::as_str)?;
                let name = r.get("name").and_then(Value::as_str)?;
                workloads.get(&(obj.namespace, kind, name)).copied()
            })
        };
        let direct: HashMap<usize, usize> = bundle
            .subjects()
            .filter(|o| o.pod_spec().is_some())
            .filter_map(|o| owner_of(o).filter(|&owner| owner != o.index).map(|owner| (o.index, owner)))
            .collect();
        let mut top_owner = HashMap::new();
        let mut names = HashMap::new();
        for (&owned, &owner) in &direct {
            let mut top = owner;
            // bounded: ownership chains are short, and a cycle stops at the chain's length
            for _ in 0..direct.len() {
                match direct.get(&top) {
                    Some(&next) if next != owned => top = next,
                    _ => break,
                }
            }
            top_owner.insert(owned, top);
            let obj = &bundle.objects[owned];
            names.insert(owned, format!("{}/{}", obj.kind, obj.name));
        }
        Owners { top_owner, names }
    }

    fn is_owned(&self, obj: &Obj<'_>) -> bool {
        self.top_owner.contains_key(&obj.index)
    }

    fn owned_by(&self, obj: &Obj<'_>) -> Vec<String> {
        let mut owned: Vec<(usize, &String)> = self
            .top_owner
            .iter()
            .filter(|(_, &top)| top == obj.index)
            .map(|(owned, _)| (*owned, &self.names[owned]))
            .collect();
        owned.sort();
        owned.into_iter().map(|(_, name)| name.clone()).collect()
    }
}

/// Evaluates the rules and builds the inventory of `objects` in manifest mode.
pub fn of_objects(objects: &[Value], settings: &Settings, default_namespace: Option<&str>) -> (Inventory, Report) {
    let bundle = Bundle::new(objects, default_namespace);
    let options = Options { mode: Mode::Manifest, default_namespace, lookup: &NoCluster };
    let report = evaluate_bundle(&bundle, settings, &options);
    (build(&bundle, settings, &report), report)
}
