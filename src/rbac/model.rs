//! What a binding really grants: its role resolved (from the bundle, the bootstrap policy's
//! built-in ClusterRoles, or the cluster), aggregated ClusterRoles included, and judged against
//! the [risk catalog](super::catalog) or a single request, the way the RBAC authorizer would.
//! SAG008–SAG010, `sa-guard can-i`, `sa-guard who-can` and the inventory all read this.

use std::borrow::Cow;
use std::collections::HashSet;

use serde_json::Value;

use super::bootstrap;
use super::catalog::{self, Names, ResourceScope, Risk, Severity};
use super::rule::{PolicyRule, ResourceRequest};
use crate::bundle::Bundle;
use crate::k8s;
use crate::lookup::Lookup;

/// Where a binding's grants apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach<'a> {
    /// A ClusterRoleBinding: every namespace and the cluster-scoped resources.
    Cluster,
    /// A RoleBinding: requests inside this namespace (and on the namespace object itself).
    Namespace(&'a str),
}

impl<'a> Reach<'a> {
    /// The reach of a RoleBinding or ClusterRoleBinding; `None` for a RoleBinding without a
    /// namespace (the API server files it under the request's; the caller decides).
    pub fn of_binding(kind: &str, namespace: Option<&'a str>) -> Option<Reach<'a>> {
        match (kind, namespace) {
            ("ClusterRoleBinding", _) => Some(Reach::Cluster),
            (_, Some(ns)) => Some(Reach::Namespace(ns)),
            _ => None,
        }
    }
}

/// One object whose rules count toward a role: the role itself or a ClusterRole aggregated
/// into it.
#[derive(Debug, Clone)]
pub struct RolePart<'a> {
    /// The aggregated ClusterRole's name; `None` for the role's own rules.
    pub aggregated_from: Option<&'a str>,
    pub object: Cow<'a, Value>,
    /// Index in the bundle, when the object is one of the bundle's (to locate its rules).
    pub object_index: Option<usize>,
}

/// A role as a binding names it, with every rule that counts.
#[derive(Debug, Clone)]
pub struct ResolvedRole<'a> {
    pub kind: String,
    pub name: String,
    /// One of the bootstrap policy's ClusterRoles, judged by Kubernetes' own definition.
    pub built_in: bool,
    pub parts: Vec<RolePart<'a>>,
}

/// Where a rule is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RulePlace<'a> {
    pub aggregated_from: Option<&'a str>,
    pub object_index: Option<usize>,
    /// Index in the object's `rules`.
    pub index: usize,
}

impl std::fmt::Display for RulePlace<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.aggregated_from {
            Some(name) => write!(f, "aggregated ClusterRole {name} rules[{}]", self.index),
            None => write!(f, "rules[{}]", self.index),
        }
    }
}

impl<'a> ResolvedRole<'a> {
    /// "Role name", "ClusterRole name", or "the built-in ClusterRole name".
    pub fn describe(&self) -> String {
        if self.built_in {
            format!("the built-in ClusterRole {}", self.name)
        } else {
            format!("{} {}", self.kind, self.name)
        }
    }

    /// Every rule with its place, read generously when malformed (the shape is reported apart).
    /// A rule repeated word for word by an aggregated part (a cluster's dump lists an
    /// aggregated ClusterRole's rules filled in by the controller) counts once.
    pub fn rules(&self) -> Vec<(RulePlace<'_>, PolicyRule<'_>)> {
        let mut seen: Vec<&Value> = Vec::new();
        let mut out = Vec::new();
        for part in &self.parts {
            let Some(rules) = part.object.get("rules").and_then(Value::as_array) else { continue };
            for (index, rule) in rules.iter().enumerate() {
                if seen.contains(&rule) {
                    continue;
                }
                seen.push(rule);
                let place = RulePlace { aggregated_from: part.aggregated_from, object_index: part.object_index, index };
                out.push((place, PolicyRule::read_lenient(rule)));
            }
        }
        out
    }
}

/// What a binding's roleRef resolves to.
#[derive(Debug, Clone)]
pub enum RoleLookup<'a> {
    Found(ResolvedRole<'a>),
    /// Neither in the bundle, nor built in, nor in the cluster: the binding grants nothing yet.
    Missing,
    /// The cluster look-up failed.
    Failed(String),
}

/// Resolves a roleRef: the bundle first, then the bootstrap policy's ClusterRoles, then
/// `remote` (the cluster at admission). A RoleBinding's Role is looked up in its namespace.
pub fn resolve_role<'a>(
    bundle: &Bundle<'a>,
    binding_namespace: Option<&str>,
    kind: &str,
    name: &str,
    remote: &dyn Fn(&str, Option<&str>, &str) -> Lookup<'a>,
) -> RoleLookup<'a> {
    let local = match kind {
        "Role" => bundle.role(binding_namespace, name),
        "ClusterRole" => bundle.cluster_role(name),
        _ => return RoleLookup::Missing,
    };
    let (object, object_index, built_in) = match local {
        Some(obj) => (Cow::Borrowed(obj.value), Some(obj.index), false),
        None => match bootstrap::cluster_role_named(name).filter(|_| kind == "ClusterRole") {
            Some(role) => (Cow::Borrowed(role), None, true),
            None => match remote(kind, binding_namespace, name) {
                Lookup::Found(object) => (object, None, false),
                Lookup::Failed(error) => return RoleLookup::Failed(error),
                Lookup::NotFound | Lookup::NotAvailable => return RoleLookup::Missing,
            },
        },
    };
    let mut parts = vec![RolePart { aggregated_from: None, object, object_index }];
    if kind == "ClusterRole" {
        parts.extend(aggregated_parts(&parts[0].object, bundle));
    }
    RoleLookup::Found(ResolvedRole { kind: kind.to_string(), name: name.to_string(), built_in, parts })
}

/// ClusterRoles whose rules the aggregation controller copies into `role`, transitively: the
/// bundle's, and the built-in ones the bundle does not redefine (so a bundle ClusterRole
/// labelled `aggregate-to-edit` widens the built-in `edit` and `admin`).
fn aggregated_parts<'a>(role: &Value, bundle: &Bundle<'a>) -> Vec<RolePart<'a>> {
    let mut seen_bundle: HashSet<usize> = HashSet::new();
    let mut seen_built_in: HashSet<&str> = HashSet::new();
    let mut parts: Vec<RolePart<'a>> = Vec::new();
    let mut pending: Vec<&Value> = vec![role];
    let mut found_in_bundle: Vec<usize> = Vec::new();
    while let Some(aggregating) = pending.pop() {
        let Some(selectors) =
            k8s::at(aggregating, &["aggregationRule", "clusterRoleSelectors"]).and_then(Value::as_array)
        else {
            continue;
        };
        for selector in selectors {
            for candidate in super::aggregation_candidates(selector, bundle) {
                if std::ptr::eq(candidate.value, role) || seen_bundle.contains(&candidate.index) {
                    continue;
                }
                let labels = k8s::at(candidate.value, &["metadata", "labels"]).and_then(Value::as_object);
                if super::selector_matches(selector, labels) {
                    seen_bundle.insert(candidate.index);
                    found_in_bundle.push(candidate.index);
                    pending.push(candidate.value);
                }
            }
            for built_in in bootstrap::cluster_roles() {
                let name = k8s::name(built_in);
                if std::ptr::eq(built_in, role) || seen_built_in.contains(name) || bundle.cluster_role(name).is_some() {
                    continue;
                }
                let labels = k8s::at(built_in, &["metadata", "labels"]).and_then(Value::as_object);
                if super::selector_matches(selector, labels) {
                    seen_built_in.insert(name);
                    parts.push(RolePart {
                        aggregated_from: Some(name),
                        object: Cow::Borrowed(built_in),
                        object_index: None,
                    });
                    pending.push(built_in);
                }
            }
        }
    }
    // The bundle's in its order, then the built-in ones in the order found.
    found_in_bundle.sort_unstable();
    let mut ordered: Vec<RolePart<'a>> = found_in_bundle
        .into_iter()
        .map(|index| {
            let obj = bundle.objects[index];
            RolePart { aggregated_from: Some(obj.name), object: Cow::Borrowed(obj.value), object_index: Some(index) }
        })
        .collect();
    ordered.extend(parts);
    ordered
}

/// What one rule grants toward a risk: "get, list on secrets", "create on pods/exec named web".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evidence<'r> {
    pub place: RulePlace<'r>,
    pub grants: String,
}

/// A catalog risk a role carries where a binding applies.
#[derive(Debug, Clone)]
pub struct RiskHit<'r> {
    pub risk: &'static Risk,
    pub severity: Severity,
    /// The rules that make it up, in the role's order.
    pub evidence: Vec<Evidence<'r>>,
}

impl RiskHit<'_> {
    /// "rules[2] grants create on pods/exec; rules[4] grants get on pods/attach".
    pub fn describe_evidence(&self) -> String {
        self.evidence.iter().map(|e| format!("{} grants {}", e.place, e.grants)).collect::<Vec<_>>().join("; ")
    }
}

/// The catalog's risks that `role` carries where `reach` applies, most severe first (then in
/// catalog order). A rule of `*` on everything is reported once, as `wildcard`, not once per
/// risk it implies.
pub fn risks<'r>(role: &'r ResolvedRole<'_>, reach: Reach<'_>) -> Vec<RiskHit<'r>> {
    let rules = role.rules();
    let mut hits = Vec::new();
    let wildcards: Vec<Evidence<'r>> = rules
        .iter()
        .filter(|(_, rule)| rule.is_full_wildcard())
        .map(|(place, _)| Evidence { place: *place, grants: "every verb on every resource of every API group".into() })
        .collect();
    let across_cluster = reach == Reach::Cluster;
    for risk in catalog::RISKS {
        let Some(severity) = risk.severity_for(across_cluster) else { continue };
        if risk.id == catalog::WILDCARD {
            if !wildcards.is_empty() {
                hits.push(RiskHit { risk, severity, evidence: wildcards.clone() });
            }
            continue;
        }
        let mut evidence: Vec<Evidence<'r>> = Vec::new();
        let mut every_need_met = true;
        for need in risk.needs {
            let mut met = false;
            for (place, rule) in rules.iter().filter(|(_, rule)| !rule.is_full_wildcard()) {
                let granted = granted_toward(rule, need, risk.names, reach);
                if granted.is_empty() {
                    continue;
                }
                met = true;
                let grants = describe_grants(&granted);
                match evidence.iter_mut().find(|e| e.place == *place) {
                    Some(existing) => {
                        existing.grants.push_str(", ");
                        existing.grants.push_str(&grants);
                    }
                    None => evidence.push(Evidence { place: *place, grants }),
                }
            }
            every_need_met &= met;
        }
        if every_need_met && !evidence.is_empty() {
            evidence.sort_by_key(|e| (e.place.aggregated_from.is_some(), e.place.object_index, e.place.index));
            hits.push(RiskHit { risk, severity, evidence });
        }
    }
    hits.sort_by(|a, b| b.severity.cmp(&a.severity));
    hits
}

/// One granted request toward a risk: verb, resource, and the names it is restricted to.
struct Granted<'s> {
    verb: &'static str,
    resource: &'static str,
    names: Option<&'s [&'s str]>,
}

fn granted_toward<'s>(
    rule: &'s PolicyRule<'_>,
    need: &[catalog::Access],
    names: Names,
    reach: Reach<'_>,
) -> Vec<Granted<'s>> {
    let mut granted = Vec::new();
    for access in need {
        let name = match (access.scope, reach) {
            (ResourceScope::Cluster, Reach::Namespace(_)) => continue,
            (ResourceScope::OwnNamespace, Reach::Namespace(ns)) => ns,
            _ => "",
        };
        for &resource in access.resources {
            for &verb in access.verbs {
                let request = ResourceRequest::new(verb, access.api_group, resource, name);
                let every = rule.allows(&request);
                let some = if every { None } else { rule.allows_only_named(&request) };
                let counts = match names {
                    Names::Any => every || some.is_some(),
                    Names::Every => every,
                    Names::SomeOnly => some.is_some(),
                };
                if counts {
                    granted.push(Granted { verb, resource, names: some });
                }
            }
        }
    }
    granted
}

/// "get, list on secrets named db", one clause per resource, in the catalog's order.
fn describe_grants(granted: &[Granted<'_>]) -> String {
    let mut clauses: Vec<(&str, Vec<&str>, Option<&[&str]>)> = Vec::new();
    for g in granted {
        match clauses.iter_mut().find(|(resource, _, names)| *resource == g.resource && *names == g.names) {
            Some((_, verbs, _)) => verbs.push(g.verb),
            None => clauses.push((g.resource, vec![g.verb], g.names)),
        }
    }
    clauses
        .into_iter()
        .map(|(resource, verbs, names)| match names {
            Some(names) => format!("{} on {resource} named {}", verbs.join(", "), names.join(", ")),
            None => format!("{} on {resource}", verbs.join(", ")),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// "read-secrets (high), exec (high)", or `None` when the role carries no risk of the catalog.
pub fn summarize(hits: &[RiskHit<'_>]) -> Option<String> {
    (!hits.is_empty())
        .then(|| hits.iter().map(|h| format!("{} ({})", h.risk.id, h.severity.as_str())).collect::<Vec<_>>().join(", "))
}

/// The rules of `role` that grant `request` where `reach` applies (a RoleBinding grants nothing
/// outside its namespace, and no cluster-scoped resource but its own namespace object).
pub fn rules_granting<'r>(
    role: &'r ResolvedRole<'_>,
    reach: Reach<'_>,
    request: &ResourceRequest<'_>,
    request_namespace: Option<&str>,
) -> Vec<RulePlace<'r>> {
    if let Reach::Namespace(ns) = reach {
        if request_namespace != Some(ns) {
            return Vec::new();
        }
    }
    role.rules().into_iter().filter(|(_, rule)| rule.allows(request)).map(|(place, _)| place).collect()
}
