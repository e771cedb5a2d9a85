//! The set of objects evaluated together, indexed for the cross-object rules.

#[cfg(feature = "manifest")]
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

use serde_json::Value;

use crate::k8s;
#[cfg(feature = "manifest")]
use crate::rules::static_cloud_credentials;

/// Kinds that never carry a namespace.
const CLUSTER_SCOPED: &[&str] = &["ClusterRole", "ClusterRoleBinding", "Namespace", "PersistentVolume", "StorageClass"];

/// One object of the bundle, with the namespace it will live in.
#[derive(Debug, Clone, Copy)]
pub struct Obj<'a> {
    /// Position in the evaluated list.
    pub index: usize,
    pub value: &'a Value,
    pub kind: &'a str,
    pub name: &'a str,
    /// `metadata.namespace`, else the default namespace (from the request or `--namespace`);
    /// always `None` for cluster-scoped kinds.
    pub namespace: Option<&'a str>,
    /// The Pod spec of a pod-bearing kind, found once here rather than by every rule.
    spec: Option<k8s::PodSpec<'a>>,
}

impl<'a> Obj<'a> {
    pub fn object_ref(&self) -> crate::finding::ObjectRef {
        k8s::object_ref(self.value, self.namespace)
    }

    pub fn pod_spec(&self) -> Option<k8s::PodSpec<'a>> {
        self.spec
    }
}

type Key<'a> = (Option<&'a str>, &'a str);

/// Objects indexed by kind and name. Building it is linear; look-ups are O(1), so cross-object
/// rules stay linear in the bundle size.
///
/// A bundle can be evaluated in parts (the playground lints a large paste in several Web
/// Workers): each part reports on its own objects, its *subjects*, and sees of the other parts'
/// objects only what [`seen_from_other_parts`] keeps, at their indices (the rest are `null`).
/// Rules iterate [`Bundle::subjects`] to report and look everything else up.
#[derive(Debug, Default)]
pub struct Bundle<'a> {
    /// Every object, by index: subjects and what other parts let this one see.
    pub objects: Vec<Obj<'a>>,
    /// The objects reported on: all of them, unless the bundle is evaluated in parts.
    subjects: Range<usize>,
    service_accounts: HashMap<Key<'a>, usize>,
    roles: HashMap<Key<'a>, usize>,
    cluster_roles: HashMap<&'a str, usize>,
    secrets: HashMap<Key<'a>, usize>,
    /// Only manifests have ConfigMaps to look up (for `envFrom`): at admission an object is alone.
    #[cfg(feature = "manifest")]
    config_maps: HashMap<Key<'a>, usize>,
    /// Every ClusterRole, in order, and by label: aggregation selectors look candidates up
    /// instead of scanning the bundle once per aggregating role (quadratic in manifest mode).
    cluster_role_indices: Vec<usize>,
    cluster_roles_by_label: HashMap<&'a str, HashMap<&'a str, Vec<usize>>>,
}

impl<'a> Bundle<'a> {
    pub fn new(values: &'a [Value], default_namespace: Option<&'a str>) -> Self {
        Bundle::part(values, default_namespace, 0..values.len())
    }

    /// A bundle whose rules report on `values[subjects]` only; the other values are what other
    /// parts show of their objects ([`seen_from_other_parts`], or `null`).
    pub fn part(values: &'a [Value], default_namespace: Option<&'a str>, subjects: Range<usize>) -> Self {
        let subjects = subjects.start.min(values.len())..subjects.end.min(values.len());
        let mut bundle = Bundle { subjects, ..Bundle::default() };
        for (index, value) in values.iter().enumerate() {
            let kind = k8s::kind(value);
            let namespace =
                if CLUSTER_SCOPED.contains(&kind) { None } else { k8s::namespace(value).or(default_namespace) };
            let obj = Obj { index, value, kind, name: k8s::name(value), namespace, spec: k8s::pod_spec(value) };
            let key = (namespace, obj.name);
            // An object defined twice is what the last definition says: `kubectl apply` applies
            // the documents in order, and the cluster keeps the last one.
            match kind {
                "ServiceAccount" => {
                    bundle.service_accounts.insert(key, index);
                }
                "Role" => {
                    bundle.roles.insert(key, index);
                }
                "ClusterRole" => {
                    bundle.cluster_roles.insert(obj.name, index);
                    bundle.cluster_role_indices.push(index);
                    let labels = k8s::at(value, &["metadata", "labels"]).and_then(Value::as_object);
                    for (key, label) in labels.into_iter().flatten() {
                        if let Some(label) = label.as_str() {
                            bundle
                                .cluster_roles_by_label
                                .entry(key.as_str())
                                .or_default()
                                .entry(label)
                                .or_default()
                                .push(index);
                        }
                    }
                }
                "Secret" => {
                    bundle.secrets.insert(key, index);
                }
                #[cfg(feature = "manifest")]
                "ConfigMap" => {
                    bundle.config_maps.insert(key, index);
                }
                _ => {}
            }
            bundle.objects.push(obj);
        }
        bundle
    }

    pub fn service_account(&self, namespace: Option<&str>, name: &str) -> Option<&Obj<'a>> {
        self.service_accounts.get(&(namespace, name)).map(|&i| &self.objects[i])
    }

    /// How many ServiceAccounts the bundle defines (each once, other parts' included), in one
    /// namespace or in all.
    pub fn service_account_count(&self, namespace: Option<&str>) -> usize {
        self.service_accounts.keys().filter(|(ns, _)| namespace.is_none() || *ns == namespace).count()
    }

    pub fn role(&self, namespace: Option<&str>, name: &str) -> Option<&Obj<'a>> {
        self.roles.get(&(namespace, name)).map(|&i| &self.objects[i])
    }

    pub fn cluster_role(&self, name: &str) -> Option<&Obj<'a>> {
        self.cluster_roles.get(name).map(|&i| &self.objects[i])
    }

    pub fn secret(&self, namespace: Option<&str>, name: &str) -> Option<&Obj<'a>> {
        self.secrets.get(&(namespace, name)).map(|&i| &self.objects[i])
    }

    /// A ConfigMap; one of another part shows only the keys [`seen_from_other_parts`] keeps.
    #[cfg(feature = "manifest")]
    pub fn config_map(&self, namespace: Option<&str>, name: &str) -> Option<&Obj<'a>> {
        self.config_maps.get(&(namespace, name)).map(|&i| &self.objects[i])
    }

    /// Every ClusterRole, in order.
    pub fn cluster_roles<'s>(&'s self) -> impl Iterator<Item = &'s Obj<'a>> + 's {
        self.cluster_role_indices.iter().map(|&i| &self.objects[i])
    }

    /// The ClusterRoles whose label `key` is `value`, in order.
    pub fn cluster_roles_labelled<'s>(&'s self, key: &str, value: &str) -> impl Iterator<Item = &'s Obj<'a>> + 's {
        let indices = self.cluster_roles_by_label.get(key).and_then(|values| values.get(value));
        indices.into_iter().flatten().map(|&i| &self.objects[i])
    }

    /// The objects to report on, in order.
    pub fn subjects<'s>(&'s self) -> std::slice::Iter<'s, Obj<'a>> {
        self.objects[self.subjects.clone()].iter()
    }

    /// Whether the object at `index` is reported on.
    pub fn is_subject(&self, index: usize) -> bool {
        self.subjects.contains(&index)
    }

    /// Subjects of one kind.
    pub fn of_kind<'s>(&'s self, kind: &'s str) -> impl Iterator<Item = &'s Obj<'a>> + 's {
        self.subjects().filter(move |o| o.kind == kind)
    }

    /// Every RoleBinding and ClusterRoleBinding, other parts' included (kept whole by
    /// [`seen_from_other_parts`]).
    pub fn bindings<'s>(&'s self) -> impl Iterator<Item = &'s Obj<'a>> + 's {
        self.objects.iter().filter(|o| k8s::is_binding(o.kind))
    }

    /// Subjects that carry a Pod spec.
    pub fn workloads<'s>(&'s self) -> impl Iterator<Item = (&'s Obj<'a>, k8s::PodSpec<'a>)> + 's {
        self.subjects().filter_map(|o| o.spec.map(|spec| (o, spec)))
    }

    /// Every object that carries a Pod spec, other parts' included (those that name their
    /// ServiceAccount, shown by their name, namespace, labels and ServiceAccount fields).
    pub fn every_workload<'s>(&'s self) -> impl Iterator<Item = (&'s Obj<'a>, k8s::PodSpec<'a>)> + 's {
        self.objects.iter().filter_map(|o| o.spec.map(|spec| (o, spec)))
    }

    /// Objects defined more than once (same apiVersion, kind, namespace and name), each group
    /// in order: only the last of each counts, as with `kubectl apply`, which the CLI tells
    /// the user rather than leave them wondering why an earlier definition was ignored.
    pub fn duplicates(&self) -> Vec<Vec<&Obj<'a>>> {
        let mut groups: HashMap<(&str, &str, Option<&str>, &str), Vec<usize>> = HashMap::new();
        for obj in self.objects.iter().filter(|o| !o.name.is_empty() && !o.kind.is_empty()) {
            groups.entry((k8s::api_version(obj.value), obj.kind, obj.namespace, obj.name)).or_default().push(obj.index);
        }
        let mut duplicates: Vec<Vec<&Obj<'a>>> = groups
            .into_values()
            .filter(|indices| indices.len() > 1)
            .map(|indices| indices.into_iter().map(|i| &self.objects[i]).collect())
            .collect();
        duplicates.sort_by_key(|group| group[0].index);
        duplicates
    }
}

/// What evaluating another part of a bundle needs to see of `value` (`None`: nothing). Rules
/// look other objects up by kind and name — ServiceAccounts, Roles, ClusterRoles, Secrets, which
/// are shown whole, and ConfigMaps, which a container's `envFrom` loads (SAG013), shown by their
/// kind, name, namespace and the `data` entries whose keys may name a cloud credential after an
/// `envFrom` prefix ([`static_cloud_credentials::may_name_a_credential_with_a_prefix`]; a
/// ConfigMap can hold megabytes no other part reads) — and one compares workloads across the
/// bundle (SAG012), which reads of a workload that names its ServiceAccount its kind, name,
/// namespace, labels, its Pod template's labels and the fields naming the ServiceAccount
/// ([`k8s::with_only_service_account_fields`]).
/// (Manifests only: at admission every object is evaluated alone.) A rule that reads more of
/// objects it does not report on must widen this; the parts test
/// (`parts_of_a_bundle_evaluate_as_the_whole` in `manifest/tests.rs`) fails when evaluating in
/// parts differs from evaluating the whole.
#[cfg(feature = "manifest")]
pub fn seen_from_other_parts(value: &Value) -> Option<Cow<'_, Value>> {
    match k8s::kind(value) {
        "ServiceAccount" | "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding" | "Secret" => {
            Some(Cow::Borrowed(value))
        }
        "ConfigMap" => Some(Cow::Owned(config_map_seen_from_other_parts(value))),
        _ => k8s::with_only_service_account_fields(value).map(Cow::Owned),
    }
}

/// A ConfigMap as other parts see it: see [`seen_from_other_parts`].
#[cfg(feature = "manifest")]
fn config_map_seen_from_other_parts(value: &Value) -> Value {
    let mut seen = serde_json::Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(field) = value.get(key) {
            seen.insert(key.to_string(), field.clone());
        }
    }
    if let Some(metadata) = value.get("metadata") {
        let identity =
            ["name", "namespace"].into_iter().filter_map(|key| Some((key.to_string(), metadata.get(key)?.clone())));
        seen.insert("metadata".to_string(), Value::Object(identity.collect()));
    }
    if let Some(data) = value.get("data").and_then(Value::as_object) {
        let kept = data.iter().filter(|(key, _)| static_cloud_credentials::may_name_a_credential_with_a_prefix(key));
        seen.insert("data".to_string(), Value::Object(kept.map(|(key, value)| (key.clone(), value.clone())).collect()));
    }
    Value::Object(seen)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn duplicates_are_grouped_in_order_by_api_version_kind_namespace_and_name() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "build"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "shop"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r", "namespace": "x"}}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "r"}}),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "ci", "namespace": "build"}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {}}),
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {}}),
        ];
        let bundle = Bundle::new(&objects, Some("build"));
        let groups: Vec<Vec<usize>> = bundle.duplicates().iter().map(|g| g.iter().map(|o| o.index).collect()).collect();
        // build/ci twice (the second from the default namespace); ClusterRole r twice (its
        // namespace ignored); unnamed objects are not compared.
        assert_eq!(groups, [vec![0, 2], vec![3, 4]]);
    }

    #[test]
    fn the_last_definition_of_an_object_wins_as_with_kubectl_apply() {
        let objects = [
            json!({"kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "build"}, "automountServiceAccountToken": false}),
            json!({"kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "build"}}),
            json!({"kind": "ClusterRole", "metadata": {"name": "r"}, "rules": []}),
            json!({"kind": "ClusterRole", "metadata": {"name": "r", "labels": {"a": "1"}}, "rules": [{"verbs": ["*"]}]}),
        ];
        let bundle = Bundle::new(&objects, None);
        assert_eq!(bundle.service_account(Some("build"), "ci").map(|o| o.index), Some(1));
        assert_eq!(bundle.cluster_role("r").map(|o| o.index), Some(3));
        // the label index keeps both definitions in order; the role look-up decides which counts
        assert_eq!(bundle.cluster_roles_labelled("a", "1").map(|o| o.index).collect::<Vec<_>>(), [3]);
        assert_eq!(bundle.cluster_roles().map(|o| o.index).collect::<Vec<_>>(), [2, 3]);
    }
}
