//! Reading Kubernetes objects as JSON: kinds, names, Pod specs inside every pod-bearing kind,
//! and values written the way Kubernetes' YAML decoder accepts them.

use serde_json::Value;

use crate::finding::ObjectRef;

pub const AUTOMOUNT: &str = "automountServiceAccountToken";
pub const LEGACY_TOKEN_SECRET_TYPE: &str = "kubernetes.io/service-account-token";

/// The value at `keys` under `value`, one object key after another. For fixed paths in hot
/// loops: `Value::pointer` allocates two strings per token to unescape it.
pub fn at<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a Value> {
    keys.iter().try_fold(value, |value, key| value.get(key))
}

/// The value at a constant JSON pointer without `~` escapes (`/spec/template/spec`): like
/// `Value::pointer` without its two allocations per token.
pub fn at_plain_pointer<'a>(value: &'a Value, pointer: &str) -> Option<&'a Value> {
    debug_assert!(!pointer.contains('~'), "{pointer} has escapes");
    pointer.split('/').skip(1).try_fold(value, |value, key| value.get(key))
}

/// The string at `keys` under `value`.
pub fn str_at<'a>(value: &'a Value, keys: &[&str]) -> Option<&'a str> {
    at(value, keys).and_then(Value::as_str)
}

pub fn kind(obj: &Value) -> &str {
    obj.get("kind").and_then(Value::as_str).unwrap_or("")
}

pub fn api_version(obj: &Value) -> &str {
    obj.get("apiVersion").and_then(Value::as_str).unwrap_or("")
}

pub fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"]).unwrap_or("")
}

/// The object's own namespace; `None` when the manifest leaves it to `kubectl -n` or the request.
pub fn namespace(obj: &Value) -> Option<&str> {
    str_at(obj, &["metadata", "namespace"]).filter(|ns| !ns.is_empty())
}

/// `metadata.name`, or `generateName` + `*` for objects named by the API server.
pub fn display_name(obj: &Value) -> String {
    match name(obj) {
        "" => match str_at(obj, &["metadata", "generateName"]) {
            Some(prefix) => format!("{prefix}*"),
            None => "<unnamed>".to_string(),
        },
        n => n.to_string(),
    }
}

pub fn object_ref(obj: &Value, namespace: Option<&str>) -> ObjectRef {
    ObjectRef {
        api_version: api_version(obj).to_string(),
        kind: kind(obj).to_string(),
        namespace: namespace.map(str::to_string),
        name: display_name(obj),
    }
}

pub fn annotation<'a>(obj: &'a Value, key: &str) -> Option<&'a str> {
    obj.get("metadata")?.get("annotations")?.get(key)?.as_str()
}

/// A boolean as Kubernetes' YAML decoder (YAML 1.1) reads it: `true`, `yes`, `on`, `y` and
/// their capitalisations. Quoted strings arrive here too when the source was JSON-like; the
/// API server rejects those, so treating them as the boolean they spell is the safe reading.
pub fn as_bool(value: &Value) -> Option<bool> {
    match value {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.as_str() {
            "true" | "True" | "TRUE" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "y" | "Y" => Some(true),
            "false" | "False" | "FALSE" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "n" | "N" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// An integer, also when written as a string ("7200") or as a float with no fraction (7200.0).
/// Values beyond i64 saturate, so a huge expiry still counts as "too long".
pub fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64().or_else(|| n.as_u64().map(|_| i64::MAX)).or_else(|| {
            n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f.clamp(i64::MIN as f64, i64::MAX as f64) as i64)
        }),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                // all digits but too large for i64
                (!s.is_empty() && s.trim_start_matches(['+', '-']).bytes().all(|b| b.is_ascii_digit())).then(|| {
                    if s.starts_with('-') {
                        i64::MIN
                    } else {
                        i64::MAX
                    }
                })
            })
        }
        _ => None,
    }
}

/// Where the Pod spec sits inside a pod-bearing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PodSpecLocation {
    /// JSON pointer of the Pod spec, e.g. `/spec/template/spec`.
    pub spec: &'static str,
    /// JSON pointer of the Pod's metadata (labels, annotations), e.g. `/spec/template/metadata`.
    pub metadata: &'static str,
    /// The keys of the pointers, e.g. `["spec", "template", "spec"]` and `["spec", "template",
    /// "metadata"]`: every object of a bundle is looked at (a test keeps them equal).
    spec_keys: &'static [&'static str],
    metadata_keys: &'static [&'static str],
}

/// The Pod spec location for every kind that creates Pods. `None` for other kinds.
pub fn pod_spec_location(kind: &str) -> Option<PodSpecLocation> {
    Some(match kind {
        "Pod" => {
            PodSpecLocation { spec: "/spec", metadata: "/metadata", spec_keys: &["spec"], metadata_keys: &["metadata"] }
        }
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "ReplicationController" => {
            PodSpecLocation {
                spec: "/spec/template/spec",
                metadata: "/spec/template/metadata",
                spec_keys: &["spec", "template", "spec"],
                metadata_keys: &["spec", "template", "metadata"],
            }
        }
        "CronJob" => PodSpecLocation {
            spec: "/spec/jobTemplate/spec/template/spec",
            metadata: "/spec/jobTemplate/spec/template/metadata",
            spec_keys: &["spec", "jobTemplate", "spec", "template", "spec"],
            metadata_keys: &["spec", "jobTemplate", "spec", "template", "metadata"],
        },
        "PodTemplate" => PodSpecLocation {
            spec: "/template/spec",
            metadata: "/template/metadata",
            spec_keys: &["template", "spec"],
            metadata_keys: &["template", "metadata"],
        },
        _ => return None,
    })
}

pub const POD_BEARING_KINDS: &[&str] = &[
    "Pod",
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "ReplicationController",
    "PodTemplate",
];

/// A Pod spec found inside an object.
#[derive(Debug, Clone, Copy)]
pub struct PodSpec<'a> {
    pub spec: &'a Value,
    pub location: PodSpecLocation,
    /// The Pod template's metadata (or the Pod's own), if present.
    pub metadata: Option<&'a Value>,
}

pub fn pod_spec(obj: &Value) -> Option<PodSpec<'_>> {
    let location = pod_spec_location(kind(obj))?;
    let spec = at(obj, location.spec_keys).filter(|s| s.is_object())?;
    Some(PodSpec { spec, location, metadata: at(obj, location.metadata_keys) })
}

/// Where a pod-bearing object's Pod spec belongs but something other than a mapping is written:
/// the first field on the way (`/spec`, `/spec/template`, `/spec/template/spec`, ...) that holds
/// a string, number, boolean or sequence, and what it holds ("a string"). The API server cannot
/// decode such an object, and no rule can read its Pods: front-ends say so rather than stay
/// silent. `None` for other kinds, and when the way is mappings, or stops at a missing or null
/// field (which the API server reads as absent).
pub fn pod_spec_not_a_mapping(obj: &Value) -> Option<(&'static str, &'static str)> {
    let location = pod_spec_location(kind(obj))?;
    let mut value = obj;
    for (depth, key) in location.spec_keys.iter().enumerate() {
        value = match value.get(key)? {
            Value::Null => return None,
            next @ Value::Object(_) => next,
            other => {
                // The pointer up to this key: a prefix of the constant pointer.
                let end = location.spec.match_indices('/').nth(depth + 1).map_or(location.spec.len(), |(at, _)| at);
                return Some((&location.spec[..end], yaml_type(other)));
            }
        };
    }
    None
}

/// "a string", "a sequence", ... for messages to manifest authors (YAML's words).
pub fn yaml_type(value: &Value) -> &'static str {
    match value {
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
        other => json_type(other),
    }
}

/// "a string", "an array", ... for messages about JSON payloads, settings and API fields.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// "Deployment shop/web: /spec/template/spec is a string, not a mapping; ..." (see
/// [`pod_spec_not_a_mapping`]), naming the object with `namespace` when it sets none.
pub fn pod_spec_shape_message(obj: &Value, namespace: Option<&str>) -> Option<String> {
    let (pointer, found) = pod_spec_not_a_mapping(obj)?;
    let spec = pod_spec_location(kind(obj))?.spec;
    Some(format!(
        "{} cannot be read: {pointer} is {found}, not a mapping, so it has no Pod spec at {spec} (the API server \
         would reject it) and its Pods are not checked",
        object_ref(obj, self::namespace(obj).or(namespace))
    ))
}

/// (Manifests only: at admission there are no parts, and policy.wasm stays within its budget.)
///
/// What another part of a bundle sees of `obj`, a workload: its kind, name, namespace and
/// labels, its Pod template's labels and the fields naming the ServiceAccount (none for one that
/// runs as `default` without naming it: SAG016 still counts it as a use of `default`), where they
/// are in the object. `None` for other objects. See `bundle::seen_from_other_parts`.
#[cfg(feature = "manifest")]
pub fn with_only_service_account_fields(obj: &Value) -> Option<Value> {
    let spec = pod_spec(obj)?;
    let mut seen = serde_json::Map::new();
    for key in ["apiVersion", "kind"] {
        if let Some(value) = obj.get(key) {
            seen.insert(key.to_string(), value.clone());
        }
    }
    let mut seen = Value::Object(seen);
    let identity = |metadata: &Value| {
        let kept = ["name", "namespace", "labels"].into_iter();
        Value::Object(kept.filter_map(|key| Some((key.to_string(), metadata.get(key)?.clone()))).collect())
    };
    if let Some(metadata) = obj.get("metadata") {
        put(&mut seen, &["metadata"], identity(metadata));
    }
    if let Some(labels) = spec.metadata.and_then(|metadata| metadata.get("labels")) {
        // For a Pod this is its own metadata: the labels go in with its name and namespace.
        put(&mut seen, &[spec.location.metadata_keys, &["labels"]].concat(), labels.clone());
    }
    let fields = ["serviceAccountName", "serviceAccount"].into_iter();
    let named = fields.filter_map(|field| Some((field.to_string(), spec.spec.get(field)?.clone())));
    put(&mut seen, spec.location.spec_keys, Value::Object(named.collect()));
    Some(seen)
}

/// Sets `value` at `keys` in `root`, making the mappings on the way.
#[cfg(feature = "manifest")]
fn put(root: &mut Value, keys: &[&str], value: Value) {
    let Some((last, path)) = keys.split_last() else { return };
    let mut at = root;
    for key in path {
        at = at
            .as_object_mut()
            .expect("made here")
            .entry(key.to_string())
            .or_insert_with(|| Value::Object(Default::default()));
    }
    at.as_object_mut().expect("made here").insert(last.to_string(), value);
}

/// How the ServiceAccount of a Pod spec was named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SaSource {
    /// `serviceAccountName` (non-empty).
    ServiceAccountName,
    /// Only the deprecated `serviceAccount` field.
    DeprecatedField,
    /// Neither: Kubernetes uses `default`.
    Defaulted,
}

impl<'a> PodSpec<'a> {
    pub fn field(&self, name: &str) -> Option<&'a Value> {
        self.spec.get(name).filter(|v| !v.is_null())
    }

    pub fn pointer(&self, field: &str) -> String {
        format!("{}/{}", self.location.spec, field)
    }

    /// The ServiceAccount the Pod runs as: `serviceAccountName`, else the deprecated
    /// `serviceAccount`, else `default` — the order the API server applies.
    pub fn service_account(&self) -> (&'a str, SaSource) {
        let non_empty = |f: &str| self.field(f).and_then(Value::as_str).filter(|s| !s.is_empty());
        if let Some(name) = non_empty("serviceAccountName") {
            (name, SaSource::ServiceAccountName)
        } else if let Some(name) = non_empty("serviceAccount") {
            (name, SaSource::DeprecatedField)
        } else {
            ("default", SaSource::Defaulted)
        }
    }

    /// The Pod's own `automountServiceAccountToken`, if set.
    pub fn automount(&self) -> Option<bool> {
        self.field(AUTOMOUNT).and_then(as_bool)
    }

    pub fn labels(&self) -> Option<&'a serde_json::Map<String, Value>> {
        self.metadata?.get("labels")?.as_object()
    }

    pub fn annotation(&self, key: &str) -> Option<&'a str> {
        self.metadata?.get("annotations")?.get(key)?.as_str()
    }

    /// `(pointer, container)` for containers, initContainers and ephemeralContainers.
    pub fn containers(&self) -> Vec<(String, &'a Value)> {
        let mut out = Vec::new();
        for group in ["containers", "initContainers", "ephemeralContainers"] {
            if let Some(list) = self.field(group).and_then(Value::as_array) {
                for (i, c) in list.iter().enumerate() {
                    out.push((format!("{}/{}/{}", self.location.spec, group, i), c));
                }
            }
        }
        out
    }

    /// `(pointer, volume)` for every volume.
    pub fn volumes(&self) -> Vec<(String, &'a Value)> {
        self.field("volumes")
            .and_then(Value::as_array)
            .map(|list| {
                list.iter().enumerate().map(|(i, v)| (format!("{}/volumes/{}", self.location.spec, i), v)).collect()
            })
            .unwrap_or_default()
    }
}

/// The `expirationSeconds` the ServiceAccount admission plugin writes into the volume it injects
/// (Kubernetes' `WarnOnlyBoundTokenExpirationSeconds`), whatever lifetime the API server issues.
pub const INJECTED_TOKEN_EXPIRATION_SECONDS: i64 = 3607;

/// The volume the ServiceAccount admission plugin injects into Pods (`kube-api-access-<suffix>`):
/// one projected serviceAccountToken without audience, for 3607 seconds, at `token`, plus
/// `kube-root-ca.crt` and the namespace. It is the automount mechanism itself, so token-shape
/// rules skip it. A volume that only borrows the name (a long lifetime, an audience, a second
/// token) is not the plugin's and is checked like any other.
pub fn is_injected_api_access_volume(volume: &Value) -> bool {
    let named = volume.get("name").and_then(Value::as_str).is_some_and(|n| n.starts_with("kube-api-access-"));
    let sources = at(volume, &["projected", "sources"]).and_then(Value::as_array);
    let is_plugin_token = |token: &Value| {
        let no_audience = token.get("audience").is_none_or(|a| a.is_null() || a.as_str() == Some(""));
        no_audience
            && token.get("expirationSeconds").and_then(as_i64) == Some(INJECTED_TOKEN_EXPIRATION_SECONDS)
            && token.get("path").and_then(Value::as_str) == Some("token")
    };
    named
        && sources.is_some_and(|sources| {
            let tokens: Vec<&Value> = sources.iter().filter_map(|s| s.get("serviceAccountToken")).collect();
            matches!(tokens[..], [token] if is_plugin_token(token))
                && sources.iter().any(|s| str_at(s, &["configMap", "name"]) == Some("kube-root-ca.crt"))
        })
}

/// Escape one reference token for a JSON pointer (RFC 6901).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Shell-style pattern with `*` (any run) and `?` (one char); no other syntax, so settings
/// cannot smuggle in an expensive regex.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    if pattern.is_ascii() && text.is_ascii() {
        // One character per byte: no copy (every workload is matched against the settings).
        return glob_match_units(pattern.as_bytes(), text.as_bytes());
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    glob_match_units(&p, &t)
}

/// [`glob_match`] over characters (or bytes of ASCII text).
fn glob_match_units<C: Copy + PartialEq + From<u8>>(p: &[C], t: &[C]) -> bool {
    let (any, one) = (C::from(b'*'), C::from(b'?'));
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == any)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    #[cfg(feature = "manifest")]
    fn other_parts_see_a_workload_by_its_service_account_fields() {
        let spec = json!({"serviceAccountName": "api", "serviceAccount": "old", "containers": [{"name": "c"}],
            "automountServiceAccountToken": true, "volumes": []});
        for (obj, pointer) in crate::rules::testing::in_every_pod_bearing_kind(&spec) {
            let mut obj = obj;
            obj["metadata"] =
                json!({"name": "w", "namespace": "shop", "labels": {"app": "shop"}, "annotations": {"a": "b"}});
            let seen = with_only_service_account_fields(&obj).expect("a workload");
            assert_eq!(
                seen.pointer(pointer),
                Some(&json!({"serviceAccountName": "api", "serviceAccount": "old"})),
                "{pointer}"
            );
            assert_eq!(seen["metadata"], json!({"name": "w", "namespace": "shop", "labels": {"app": "shop"}}));
            assert_eq!(seen["kind"], obj["kind"]);
            // Read as the rules read it: the same Pod spec location and ServiceAccount.
            let found = pod_spec(&seen).expect("a Pod spec");
            assert_eq!(
                (found.location, found.service_account()),
                (pod_spec(&obj).unwrap().location, ("api", SaSource::ServiceAccountName))
            );
        }
        let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {
            "replicas": 2, "template": {"metadata": {"labels": {"app.kubernetes.io/name": "shop"}, "annotations": {"x": "y"}},
            "spec": {"serviceAccount": "shop", "containers": []}}}});
        assert_eq!(
            with_only_service_account_fields(&deployment),
            Some(
                json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"}, "spec": {"template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "shop"}}, "spec": {"serviceAccount": "shop"}}}})
            )
        );
        // Nothing for what names no ServiceAccount, and for other kinds.
        // a workload on `default` is seen too (SAG016 counts it as a use), without fields
        assert_eq!(
            with_only_service_account_fields(
                &json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}})
            ),
            Some(json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {}}))
        );
        assert_eq!(with_only_service_account_fields(&json!({"kind": "Pod", "spec": "none"})), None);
        assert_eq!(with_only_service_account_fields(&json!({"kind": "ServiceAccount"})), None);
    }

    #[test]
    fn a_pod_spec_way_that_is_not_a_mapping_is_named() {
        let deployment = |template: Value| {
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "shop"}, "spec": {"template": template}})
        };
        assert_eq!(
            pod_spec_not_a_mapping(&deployment(json!({"spec": "x"}))),
            Some(("/spec/template/spec", "a string"))
        );
        assert_eq!(pod_spec_not_a_mapping(&deployment(json!([1]))), Some(("/spec/template", "a sequence")));
        assert_eq!(pod_spec_not_a_mapping(&deployment(json!({"spec": {}}))), None);
        assert_eq!(pod_spec_not_a_mapping(&deployment(json!({"spec": null}))), None);
        assert_eq!(pod_spec_not_a_mapping(&deployment(json!({}))), None);
        let pod = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": 7});
        assert_eq!(pod_spec_not_a_mapping(&pod), Some(("/spec", "a number")));
        let cron = json!({"kind": "CronJob", "metadata": {"name": "c"},
            "spec": {"jobTemplate": {"spec": {"template": {"spec": true}}}}});
        assert_eq!(pod_spec_not_a_mapping(&cron), Some(("/spec/jobTemplate/spec/template/spec", "a boolean")));
        let cron = json!({"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": "x"}});
        assert_eq!(pod_spec_not_a_mapping(&cron), Some(("/spec/jobTemplate", "a string")));
        assert_eq!(pod_spec_not_a_mapping(&json!({"kind": "ConfigMap", "spec": "x"})), None);
        assert_eq!(
            pod_spec_shape_message(&deployment(json!({"spec": "x"})), None).as_deref(),
            Some(
                "Deployment shop/web cannot be read: /spec/template/spec is a string, not a mapping, so it has no Pod \
                 spec at /spec/template/spec (the API server would reject it) and its Pods are not checked"
            )
        );
        assert_eq!(
            pod_spec_shape_message(&pod, Some("dev")).as_deref(),
            Some(
                "Pod dev/p cannot be read: /spec is a number, not a mapping, so it has no Pod spec at /spec (the API \
                 server would reject it) and its Pods are not checked"
            )
        );
    }

    #[test]
    fn pod_spec_found_in_every_pod_bearing_kind() {
        for (obj, pointer) in crate::rules::testing::in_every_pod_bearing_kind(&json!({"serviceAccountName": "x"})) {
            let spec = pod_spec(&obj).unwrap_or_else(|| panic!("{obj}"));
            assert_eq!(spec.location.spec, pointer);
            assert_eq!(format!("/{}", spec.location.spec_keys.join("/")), spec.location.spec);
            assert_eq!(format!("/{}", spec.location.metadata_keys.join("/")), spec.location.metadata);
            assert_eq!(spec.service_account(), ("x", SaSource::ServiceAccountName));
        }
        assert!(pod_spec(&json!({"kind": "Service", "spec": {}})).is_none());
    }

    #[test]
    fn service_account_precedence_follows_the_api_server() {
        let spec = |s: Value| PodSpec {
            spec: Box::leak(Box::new(s)),
            location: pod_spec_location("Pod").unwrap(),
            metadata: None,
        };
        assert_eq!(spec(json!({})).service_account(), ("default", SaSource::Defaulted));
        assert_eq!(spec(json!({"serviceAccountName": ""})).service_account(), ("default", SaSource::Defaulted));
        assert_eq!(spec(json!({"serviceAccount": "old"})).service_account(), ("old", SaSource::DeprecatedField));
        assert_eq!(
            spec(json!({"serviceAccountName": "new", "serviceAccount": "old"})).service_account(),
            ("new", SaSource::ServiceAccountName)
        );
    }

    #[test]
    fn yaml_1_1_booleans_and_string_numbers() {
        assert_eq!(as_bool(&json!("yes")), Some(true));
        assert_eq!(as_bool(&json!("Off")), Some(false));
        assert_eq!(as_bool(&json!("maybe")), None);
        assert_eq!(as_i64(&json!("7200")), Some(7200));
        assert_eq!(as_i64(&json!(7200.0)), Some(7200));
        assert_eq!(as_i64(&json!(u64::MAX)), Some(i64::MAX));
        assert_eq!(as_i64(&json!("99999999999999999999999")), Some(i64::MAX));
        assert_eq!(as_i64(&json!("ten")), None);
    }

    #[test]
    fn injected_volume_has_the_plugins_exact_token() {
        let volume = |token: Value| {
            json!({"name": "kube-api-access-x7k2p", "projected": {"sources": [
                {"serviceAccountToken": token},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            ]}})
        };
        assert!(is_injected_api_access_volume(&volume(json!({"expirationSeconds": 3607, "path": "token"}))));
        // look-alikes written by hand: a long lifetime, an audience, another path
        assert!(!is_injected_api_access_volume(&volume(json!({"expirationSeconds": 315360000, "path": "token"}))));
        assert!(!is_injected_api_access_volume(&volume(
            json!({"expirationSeconds": 3607, "path": "token", "audience": "vault"})
        )));
        assert!(!is_injected_api_access_volume(&volume(json!({"path": "token"}))));
        assert!(!is_injected_api_access_volume(&volume(json!({"expirationSeconds": 3607, "path": "other"}))));
        // a second token source rides along
        let mut two = volume(json!({"expirationSeconds": 3607, "path": "token"}));
        two["projected"]["sources"]
            .as_array_mut()
            .unwrap()
            .push(json!({"serviceAccountToken": {"path": "t2", "expirationSeconds": 3607}}));
        assert!(!is_injected_api_access_volume(&two));
        // not named like the plugin's
        let mut renamed = volume(json!({"expirationSeconds": 3607, "path": "token"}));
        renamed["name"] = json!("api-access");
        assert!(!is_injected_api_access_volume(&renamed));
    }

    #[test]
    fn glob() {
        assert!(glob_match("kube-*", "kube-system"));
        assert!(glob_match("*/kyverno*", "kyverno/kyverno-admission-controller"));
        assert!(glob_match("a?c", "abc"));
        assert!(!glob_match("kube-*", "default"));
        assert!(glob_match("*", ""));
        // `?` is one character, not one byte, beyond ASCII.
        assert!(glob_match("?", "é") && glob_match("é?", "éa") && glob_match("*ü*", "grün"));
        assert!(!glob_match("??", "é") && !glob_match("?", "ab"));
    }
}

/// A ServiceAccount named by a RoleBinding or ClusterRoleBinding subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SaSubject<'a> {
    /// Index in `subjects`.
    pub index: usize,
    pub namespace: Option<&'a str>,
    pub name: &'a str,
    /// Named as `kind: User, name: system:serviceaccount:<ns>:<name>` — the same identity,
    /// and a way around checks that only read `kind: ServiceAccount`.
    pub as_user: bool,
}

/// ServiceAccounts among a binding's subjects. A subject without a namespace takes the
/// binding's (what `kubectl create rolebinding --serviceaccount` relies on).
pub fn service_account_subjects<'a>(binding: &'a Value, binding_namespace: Option<&'a str>) -> Vec<SaSubject<'a>> {
    let Some(subjects) = binding.get("subjects").and_then(Value::as_array) else { return Vec::new() };
    subjects
        .iter()
        .enumerate()
        .filter_map(|(index, s)| {
            let kind = s.get("kind").and_then(Value::as_str)?;
            let name = s.get("name").and_then(Value::as_str)?;
            match kind {
                "ServiceAccount" => {
                    let namespace =
                        s.get("namespace").and_then(Value::as_str).filter(|n| !n.is_empty()).or(binding_namespace);
                    Some(SaSubject { index, namespace, name, as_user: false })
                }
                "User" => {
                    let rest = name.strip_prefix("system:serviceaccount:")?;
                    let (namespace, name) = rest.split_once(':')?;
                    Some(SaSubject { index, namespace: Some(namespace), name, as_user: true })
                }
                _ => None,
            }
        })
        .collect()
}

/// `(kind, name)` of a binding's roleRef.
pub fn role_ref(binding: &Value) -> Option<(&str, &str)> {
    let role_ref = binding.get("roleRef")?;
    Some((role_ref.get("kind")?.as_str()?, role_ref.get("name")?.as_str()?))
}

pub fn is_binding(kind: &str) -> bool {
    kind == "RoleBinding" || kind == "ClusterRoleBinding"
}

#[cfg(test)]
mod subject_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn service_account_subjects_include_user_spelling_and_default_namespace() {
        let binding = json!({"kind": "RoleBinding", "subjects": [
            {"kind": "ServiceAccount", "name": "ci"},
            {"kind": "User", "name": "system:serviceaccount:prod:default"},
            {"kind": "User", "name": "alice"},
            {"kind": "Group", "name": "system:serviceaccounts"},
        ]});
        assert_eq!(
            service_account_subjects(&binding, Some("dev")),
            vec![
                SaSubject { index: 0, namespace: Some("dev"), name: "ci", as_user: false },
                SaSubject { index: 1, namespace: Some("prod"), name: "default", as_user: true },
            ]
        );
    }
}
