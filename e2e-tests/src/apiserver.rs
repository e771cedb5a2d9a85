//! What the API server does to an object before a webhook sees it, and the AdmissionRequest it
//! sends: group/version/kind and resource, namespace, user, and for Pods the ServiceAccount
//! admission plugin's changes (default ServiceAccount, the `kube-api-access-<suffix>` projected
//! token volume mounted in every container) plus the v1 conversion that copies
//! `serviceAccountName` into the deprecated `serviceAccount`.

use serde_json::{json, Map, Value};

/// Where the ServiceAccount admission plugin mounts the token.
pub const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Lifetime the API server gives the injected token (one hour plus 7 s, so kubelets can tell it
/// from a user's one-hour token).
pub const INJECTED_TOKEN_EXPIRATION_SECONDS: i64 = 3607;

/// An API resource: the `resource` block of an AdmissionRequest, and whether it is namespaced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiResource {
    pub group: String,
    pub version: String,
    pub kind: String,
    pub resource: String,
    pub namespaced: bool,
}

/// Kinds whose plural or scope cannot be guessed (`kubectl api-resources`).
const KNOWN: &[(&str, &str, &str, bool)] = &[
    // (group, kind, resource, namespaced)
    ("", "Pod", "pods", true),
    ("", "PodTemplate", "podtemplates", true),
    ("", "ReplicationController", "replicationcontrollers", true),
    ("", "ServiceAccount", "serviceaccounts", true),
    ("", "Secret", "secrets", true),
    ("", "ConfigMap", "configmaps", true),
    ("", "Service", "services", true),
    ("", "Endpoints", "endpoints", true),
    ("", "PersistentVolumeClaim", "persistentvolumeclaims", true),
    ("", "Namespace", "namespaces", false),
    ("", "Node", "nodes", false),
    ("", "PersistentVolume", "persistentvolumes", false),
    ("apps", "Deployment", "deployments", true),
    ("apps", "ReplicaSet", "replicasets", true),
    ("apps", "StatefulSet", "statefulsets", true),
    ("apps", "DaemonSet", "daemonsets", true),
    ("batch", "Job", "jobs", true),
    ("batch", "CronJob", "cronjobs", true),
    ("rbac.authorization.k8s.io", "Role", "roles", true),
    ("rbac.authorization.k8s.io", "RoleBinding", "rolebindings", true),
    ("rbac.authorization.k8s.io", "ClusterRole", "clusterroles", false),
    ("rbac.authorization.k8s.io", "ClusterRoleBinding", "clusterrolebindings", false),
    ("networking.k8s.io", "NetworkPolicy", "networkpolicies", true),
    ("networking.k8s.io", "Ingress", "ingresses", true),
    ("policy", "PodDisruptionBudget", "poddisruptionbudgets", true),
    ("apiextensions.k8s.io", "CustomResourceDefinition", "customresourcedefinitions", false),
    ("storage.k8s.io", "StorageClass", "storageclasses", false),
];

/// The resource for `apiVersion` + `kind`: from the table of built-in kinds, else the lowercase
/// plural kubectl would guess, namespaced.
pub fn api_resource(api_version: &str, kind: &str) -> ApiResource {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let (resource, namespaced) = KNOWN
        .iter()
        .find(|(g, k, _, _)| *g == group && *k == kind)
        .map(|(_, _, r, n)| (r.to_string(), *n))
        .unwrap_or_else(|| (guess_plural(kind), true));
    ApiResource { group: group.into(), version: version.into(), kind: kind.into(), resource, namespaced }
}

fn guess_plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") || lower.ends_with("sh") {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y').filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u'])) {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// The user `kubectl` runs as on a kubeadm cluster.
pub fn admin_user() -> Value {
    json!({"username": "kubernetes-admin", "groups": ["kubeadm:cluster-admins", "system:authenticated"]})
}

/// Options of an AdmissionRequest for each operation, as the API server fills them.
fn options(operation: &str) -> Value {
    match operation {
        "CREATE" => {
            json!({"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"})
        }
        "UPDATE" => {
            json!({"kind": "UpdateOptions", "apiVersion": "meta.k8s.io/v1", "fieldManager": "kubectl-client-side-apply", "fieldValidation": "Strict"})
        }
        "DELETE" => json!({"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "propagationPolicy": "Background"}),
        _ => Value::Null,
    }
}

/// An AdmissionRequest for `operation` on `object` (`old` for UPDATE and DELETE). Namespaced
/// objects without a namespace get `namespace` (kubectl's current namespace).
pub fn admission_request(
    uid: &str,
    operation: &str,
    object: Option<&Value>,
    old: Option<&Value>,
    namespace: &str,
) -> Value {
    let subject = object.or(old).cloned().unwrap_or(Value::Null);
    let api_version = subject.get("apiVersion").and_then(Value::as_str).unwrap_or("v1");
    let kind = subject.get("kind").and_then(Value::as_str).unwrap_or("");
    let res = api_resource(api_version, kind);
    let name = subject.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("");
    let object_namespace = subject.pointer("/metadata/namespace").and_then(Value::as_str).filter(|s| !s.is_empty());
    let namespace = res.namespaced.then(|| object_namespace.unwrap_or(namespace).to_string());
    let with_namespace = |o: &Value| {
        let mut o = o.clone();
        if let (Some(ns), Some(meta)) = (&namespace, o.get_mut("metadata").and_then(Value::as_object_mut)) {
            meta.insert("namespace".into(), Value::String(ns.clone()));
        }
        o
    };
    let gvk = json!({"group": res.group, "version": res.version, "kind": res.kind});
    let gvr = json!({"group": res.group, "version": res.version, "resource": res.resource});
    let mut request = Map::new();
    request.insert("uid".into(), json!(uid));
    request.insert("kind".into(), gvk.clone());
    request.insert("resource".into(), gvr.clone());
    request.insert("requestKind".into(), gvk);
    request.insert("requestResource".into(), gvr);
    request.insert("name".into(), json!(name));
    if let Some(ns) = &namespace {
        request.insert("namespace".into(), json!(ns));
    }
    request.insert("operation".into(), json!(operation));
    request.insert("userInfo".into(), admin_user());
    request.insert("object".into(), object.map(with_namespace).unwrap_or(Value::Null));
    request.insert("oldObject".into(), old.map(with_namespace).unwrap_or(Value::Null));
    request.insert("dryRun".into(), json!(false));
    request.insert("options".into(), options(operation));
    Value::Object(request)
}

/// Paths of the Pod specs in an object of `kind` (the Pod's own, or the template's).
fn pod_spec_pointer(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "Pod" => "/spec",
        "PodTemplate" => "/template/spec",
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => {
            "/spec/template/spec"
        }
        "CronJob" => "/spec/jobTemplate/spec/template/spec",
        _ => return None,
    })
}

/// The v1 conversion every Pod spec goes through on its way to a webhook: the deprecated
/// `serviceAccount` is an alias of `serviceAccountName`, which wins when both are set.
pub fn convert_pod_specs(object: &mut Value) {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
    let Some(pointer) = pod_spec_pointer(&kind) else { return };
    let Some(spec) = object.pointer_mut(pointer).and_then(Value::as_object_mut) else { return };
    let non_empty = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(String::from);
    let name = non_empty(spec.get("serviceAccountName")).or_else(|| non_empty(spec.get("serviceAccount")));
    match name {
        Some(name) => {
            spec.insert("serviceAccountName".into(), Value::String(name.clone()));
            spec.insert("serviceAccount".into(), Value::String(name));
        }
        None => {
            spec.remove("serviceAccountName");
            spec.remove("serviceAccount");
        }
    }
}

/// The ServiceAccount admission plugin on a Pod being created. `service_account` is the Pod's
/// ServiceAccount when known (its `automountServiceAccountToken` counts when the Pod does not set
/// its own); `suffix` is the five random characters of the volume name.
pub fn admit_pod(pod: &mut Value, service_account: Option<&Value>, suffix: &str) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else { return };
    let named = spec.get("serviceAccountName").and_then(Value::as_str).is_some_and(|s| !s.is_empty())
        || spec.get("serviceAccount").and_then(Value::as_str).is_some_and(|s| !s.is_empty());
    if !named {
        spec.insert("serviceAccountName".into(), json!("default"));
    }
    let automount = spec
        .get("automountServiceAccountToken")
        .and_then(Value::as_bool)
        .or_else(|| service_account?.get("automountServiceAccountToken")?.as_bool())
        .unwrap_or(true);
    if automount {
        mount_token(spec, suffix);
    }
    convert_pod_specs(pod);
}

fn mount_token(spec: &mut Map<String, Value>, suffix: &str) {
    let existing = spec
        .get("volumes")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|v| v.get("name").and_then(Value::as_str))
        .find(|name| name.starts_with("kube-api-access-"))
        .map(String::from);
    let volume_name = existing.clone().unwrap_or_else(|| format!("kube-api-access-{suffix}"));
    let mount = json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH});
    let mut needs_volume = false;
    for list in ["initContainers", "containers"] {
        for container in spec.get_mut(list).and_then(Value::as_array_mut).into_iter().flatten() {
            let Some(container) = container.as_object_mut() else { continue };
            let mounts = container.entry("volumeMounts").or_insert_with(|| json!([]));
            let Some(mounts) = mounts.as_array_mut() else { continue };
            if !mounts.iter().any(|m| m.get("mountPath").and_then(Value::as_str) == Some(TOKEN_MOUNT_PATH)) {
                mounts.push(mount.clone());
                needs_volume = true;
            }
        }
    }
    if existing.is_none() && needs_volume {
        let volumes = spec.entry("volumes").or_insert_with(|| json!([]));
        if let Some(volumes) = volumes.as_array_mut() {
            volumes.push(injected_volume(&volume_name));
        }
    }
}

/// The projected volume the plugin adds.
pub fn injected_volume(name: &str) -> Value {
    json!({
        "name": name,
        "projected": {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": INJECTED_TOKEN_EXPIRATION_SECONDS, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ]
        }
    })
}

/// Five characters from the alphabet of Kubernetes' generated names, derived from `seed` so
/// that runs are reproducible.
pub fn name_suffix(seed: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // FNV-1a: stable across runs and platforms, unlike std's hasher.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in seed.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    (0..5).map(|i| ALPHABET[((hash >> (i * 12)) % ALPHABET.len() as u64) as usize] as char).collect()
}

/// A UUID-shaped request uid derived from `seed`.
pub fn request_uid(seed: &str) -> String {
    let a = name_suffix(seed);
    let mut hash: u64 = 0x8422_2325_cbf2_9ce4;
    for byte in seed.bytes().chain(a.bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let hex = format!("{hash:016x}{:016x}", hash.rotate_left(29) ^ 0x9e37_79b9_7f4a_7c15);
    format!("{}-{}-4{}-a{}-{}", &hex[0..8], &hex[8..12], &hex[13..16], &hex[17..20], &hex[20..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(spec: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"}, "spec": spec})
    }

    #[test]
    fn plugin_defaults_the_service_account_and_mounts_the_token_everywhere() {
        let mut p =
            pod(json!({"initContainers": [{"name": "init"}], "containers": [{"name": "app"}, {"name": "side"}]}));
        admit_pod(&mut p, None, "abcde");
        let spec = &p["spec"];
        assert_eq!(spec["serviceAccountName"], "default");
        assert_eq!(spec["serviceAccount"], "default");
        assert_eq!(spec["volumes"], json!([injected_volume("kube-api-access-abcde")]));
        for c in ["/spec/initContainers/0", "/spec/containers/0", "/spec/containers/1"] {
            assert_eq!(
                p.pointer(&format!("{c}/volumeMounts")).unwrap(),
                &json!([{"name": "kube-api-access-abcde", "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}])
            );
        }
    }

    #[test]
    fn automount_off_on_the_pod_or_its_service_account_means_no_volume() {
        let mut p = pod(json!({"automountServiceAccountToken": false, "containers": [{"name": "app"}]}));
        admit_pod(&mut p, Some(&json!({"automountServiceAccountToken": true})), "abcde");
        assert!(p["spec"].get("volumes").is_none());
        let mut p = pod(json!({"serviceAccountName": "api", "containers": [{"name": "app"}]}));
        admit_pod(&mut p, Some(&json!({"automountServiceAccountToken": false})), "abcde");
        assert!(p["spec"].get("volumes").is_none());
        assert_eq!(p["spec"]["serviceAccount"], "api");
        // the Pod's own setting wins over the ServiceAccount's
        let mut p = pod(json!({"automountServiceAccountToken": true, "containers": [{"name": "app"}]}));
        admit_pod(&mut p, Some(&json!({"automountServiceAccountToken": false})), "abcde");
        assert_eq!(p["spec"]["volumes"][0]["name"], "kube-api-access-abcde");
    }

    #[test]
    fn a_container_with_its_own_mount_at_the_token_path_is_left_alone() {
        let own = json!({"name": "mine", "mountPath": TOKEN_MOUNT_PATH});
        let mut p = pod(json!({"containers": [{"name": "app", "volumeMounts": [own.clone()]}]}));
        admit_pod(&mut p, None, "abcde");
        assert_eq!(p["spec"]["containers"][0]["volumeMounts"], json!([own]));
        assert!(p["spec"].get("volumes").is_none());
    }

    #[test]
    fn deprecated_field_is_an_alias_in_every_pod_spec() {
        let mut d = json!({"kind": "Deployment", "spec": {"template": {"spec": {"serviceAccount": "old"}}}});
        convert_pod_specs(&mut d);
        assert_eq!(d["spec"]["template"]["spec"], json!({"serviceAccount": "old", "serviceAccountName": "old"}));
        let mut c = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": {"serviceAccountName": "new", "serviceAccount": "old"}}}}}});
        convert_pod_specs(&mut c);
        assert_eq!(c.pointer("/spec/jobTemplate/spec/template/spec/serviceAccount").unwrap(), "new");
    }

    #[test]
    fn requests_carry_resource_and_namespace() {
        let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api"}});
        let r = admission_request("u", "CREATE", Some(&sa), None, "shop");
        assert_eq!(r["resource"], json!({"group": "", "version": "v1", "resource": "serviceaccounts"}));
        assert_eq!(r["namespace"], "shop");
        assert_eq!(r["object"]["metadata"]["namespace"], "shop");
        assert_eq!(r["oldObject"], Value::Null);
        let crb = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "x"}});
        let r = admission_request("u", "DELETE", None, Some(&crb), "shop");
        assert!(r.get("namespace").is_none());
        assert_eq!(
            r["kind"],
            json!({"group": "rbac.authorization.k8s.io", "version": "v1", "kind": "ClusterRoleBinding"})
        );
        assert_eq!(r["object"], Value::Null);
        assert_eq!(api_resource("example.com/v1", "Policy").resource, "policies");
        assert_eq!(api_resource("example.com/v1", "Gateway").resource, "gateways");
    }

    #[test]
    fn generated_names_are_stable_and_well_formed() {
        assert_eq!(name_suffix("web"), name_suffix("web"));
        assert_ne!(name_suffix("web"), name_suffix("api"));
        assert!(name_suffix("web").bytes().all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)));
        let uid = request_uid("x");
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.matches('-').count(), 4);
    }
}
