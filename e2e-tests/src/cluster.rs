//! Host capabilities without a recording: a stand-in cluster made of the objects admitted so far
//! (`sa-guard-e2e verdicts` applies manifests in order, like `kubectl apply -f`), and the
//! `contextAwareResources` check policy-server makes before any look-up.

use std::sync::{Arc, Mutex};

use serde_json::Value;

use crate::host::Capabilities;
use crate::metadata::Metadata;

/// Objects standing in for a cluster. Only `kubernetes/get_resource` is answered.
#[derive(Default)]
pub struct ObjectCluster {
    objects: Mutex<Vec<Value>>,
}

impl ObjectCluster {
    pub fn new() -> ObjectCluster {
        ObjectCluster::default()
    }

    /// Store `object` (replacing one with the same identity), as if created.
    pub fn add(&self, object: Value) {
        let mut objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let key = identity(&object);
        objects.retain(|o| identity(o) != key);
        objects.push(object);
    }

    /// The stored object; every namespace also has the `default` ServiceAccount its controller
    /// creates (without `automountServiceAccountToken`) until a manifest replaces it.
    pub fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Option<Value> {
        let objects = self.objects.lock().unwrap_or_else(|e| e.into_inner());
        let stored = objects.iter().find(|o| identity(o) == (api_version, kind, namespace, name)).cloned();
        match (stored, api_version, kind, namespace, name) {
            (None, "v1", "ServiceAccount", Some(ns), "default") => Some(serde_json::json!({
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": ns}
            })),
            (stored, ..) => stored,
        }
    }
}

fn identity(o: &Value) -> (&str, &str, Option<&str>, &str) {
    let s = |p: &str| o.pointer(p).and_then(Value::as_str);
    (
        s("/apiVersion").unwrap_or(""),
        s("/kind").unwrap_or(""),
        s("/metadata/namespace"),
        s("/metadata/name").unwrap_or(""),
    )
}

/// The error text policy-server returns when the API server answers 404 (kube-rs's `ApiError`).
pub fn not_found_message(resource: &str, name: &str) -> String {
    format!(
        "ApiError: {resource} \"{name}\" not found: NotFound (ErrorResponse {{ status: \"Failure\", message: \
         \"{resource} \\\"{name}\\\" not found\", reason: \"NotFound\", code: 404 }})"
    )
}

impl Capabilities for ObjectCluster {
    fn call(&self, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        if (binding, namespace, operation) != ("kubewarden", "kubernetes", "get_resource") {
            return Err(format!(
                "{binding}/{namespace}/{operation} is not available in this host (only kubernetes/get_resource)"
            ));
        }
        let request: Value =
            serde_json::from_slice(payload).map_err(|e| format!("get_resource: payload is not JSON: {e}"))?;
        let field = |name: &str| request.get(name).and_then(Value::as_str);
        let (Some(api_version), Some(kind), Some(name)) = (field("api_version"), field("kind"), field("name")) else {
            return Err("get_resource: api_version, kind and name are required".into());
        };
        let masks: Vec<&str> = request
            .get("field_masks")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match self.get(api_version, kind, field("namespace"), name) {
            Some(object) if !masks.is_empty() => {
                Ok(serde_json::to_vec(&masked(&object, &masks)).expect("JSON values serialize"))
            }
            Some(object) => Ok(serde_json::to_vec(&object).expect("JSON values serialize")),
            None => Err(not_found_message(&crate::apiserver::api_resource(api_version, kind).resource, name)),
        }
    }
}

/// What policy-server returns for `field_masks`: only the listed dotted paths (through arrays,
/// item by item); everything else is dropped.
fn masked(object: &Value, masks: &[&str]) -> Value {
    fn keep(source: &Value, path: &[&str], target: &mut Value) {
        let Some((first, rest)) = path.split_first() else {
            *target = source.clone();
            return;
        };
        match source {
            Value::Object(map) => {
                let Some(child) = map.get(*first) else { return };
                let target = target.as_object_mut().expect("built as objects");
                let slot = target.entry(first.to_string()).or_insert_with(|| match child {
                    Value::Object(_) if !rest.is_empty() => Value::Object(Default::default()),
                    Value::Array(items) if !rest.is_empty() => {
                        Value::Array(vec![Value::Object(Default::default()); items.len()])
                    }
                    _ => Value::Null,
                });
                keep(child, rest, slot);
            }
            Value::Array(items) => {
                let Some(slots) = target.as_array_mut() else { return };
                for (item, slot) in items.iter().zip(slots) {
                    keep(item, path, slot);
                }
            }
            _ => {}
        }
    }
    let mut result = Value::Object(Default::default());
    for mask in masks {
        keep(object, &mask.split('.').collect::<Vec<_>>(), &mut result);
    }
    result
}

/// Refuses look-ups of resources the policy's metadata does not declare in
/// `contextAwareResources`, as policy-server does; the rest goes to `inner`.
pub struct Declared {
    pub metadata: Metadata,
    pub inner: Arc<dyn Capabilities>,
}

impl Capabilities for Declared {
    fn call(&self, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        if namespace == "kubernetes" {
            let request: Value = serde_json::from_slice(payload).unwrap_or(Value::Null);
            let api_version = request.get("api_version").and_then(Value::as_str).unwrap_or("");
            let kind = request.get("kind").and_then(Value::as_str).unwrap_or("");
            if operation != "can_i" && !self.metadata.may_look_up(api_version, kind) {
                return Err(format!(
                    "kubernetes/{operation}: the policy has not been granted access to {api_version}/{kind} \
                     (add it to contextAwareResources in policy-metadata.yml)"
                ));
            }
        }
        self.inner.call(binding, namespace, operation, payload)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn field_masks_keep_only_the_listed_paths() {
        let object = json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
            "metadata": {"name": "t", "namespace": "ci", "annotations": {"a": "b"}, "labels": {"x": "y"}},
            "data": {"token": "c2VjcmV0"}, "spec": {"containers": [{"name": "a", "image": "i"}, {"name": "b"}]}});
        assert_eq!(
            masked(&object, &["type", "metadata.annotations", "spec.containers.image", "missing.path"]),
            json!({"type": "kubernetes.io/service-account-token", "metadata": {"annotations": {"a": "b"}},
                   "spec": {"containers": [{"image": "i"}, {}]}})
        );
    }

    #[test]
    fn answers_get_resource_from_admitted_objects() {
        let cluster = ObjectCluster::new();
        cluster.add(
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ci", "namespace": "build"}}),
        );
        let ask = |name: &str| {
            cluster.call("kubewarden", "kubernetes", "get_resource",
                &serde_json::to_vec(&json!({"api_version": "v1", "kind": "ServiceAccount", "name": name, "namespace": "build", "disable_cache": false})).unwrap())
        };
        assert_eq!(serde_json::from_slice::<Value>(&ask("ci").unwrap()).unwrap()["metadata"]["name"], "ci");
        let err = ask("nope").unwrap_err();
        assert!(err.starts_with("ApiError: serviceaccounts \"nope\" not found: NotFound"), "{err}");
        assert!(err.contains("reason: \"NotFound\", code: 404"), "{err}");
        // The controller-made default ServiceAccount exists in every namespace.
        assert_eq!(
            cluster.get("v1", "ServiceAccount", Some("build"), "default"),
            Some(
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": "build"}})
            )
        );
    }

    #[test]
    fn undeclared_resources_are_refused() {
        let metadata =
            Metadata::parse("rules: []\ncontextAwareResources:\n- {apiVersion: v1, kind: ServiceAccount}\n").unwrap();
        let declared = Declared { metadata, inner: Arc::new(ObjectCluster::new()) };
        let err = declared
            .call(
                "kubewarden",
                "kubernetes",
                "get_resource",
                br#"{"api_version": "v1", "kind": "Secret", "name": "s"}"#,
            )
            .unwrap_err();
        assert!(err.contains("has not been granted access to v1/Secret"), "{err}");
    }
}
