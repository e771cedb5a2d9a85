//! Host capabilities answered from a recorded session, in kwctl's format
//! (`kwctl run --record-host-capabilities-interactions` writes it,
//! `--replay-host-capabilities-interactions` reads it):
//!
//! ```yaml
//! - type: Exchange
//!   request: |
//!     !KubernetesGetResource
//!     api_version: v1
//!     kind: ServiceAccount
//!     name: ci
//!     namespace: payments
//!     disable_cache: false
//!   response:
//!     type: Success
//!     payload: '{"apiVersion":"v1","kind":"ServiceAccount",...}'
//! ```
//!
//! `request` is itself a YAML document: policy-evaluator's `CallbackRequestType` as serde_yaml
//! writes an enum (the variant as a local tag). Exchanges are replayed in order, and each one
//! must match the request the policy makes, as in kwctl.
//!
//! Most variants carry the guest's payload fields as they are. `KubernetesCanI` (Kubewarden 1.27
//! and later) carries the guest's whole request, the SDK's `CanIRequest`, under `request`, and
//! its `disable_cache` once more beside it (policy-evaluator's "remove the kubernetes object
//! wrapper" change, kubewarden/policy-evaluator#721):
//!
//! ```yaml
//! - type: Exchange
//!   request: |
//!     !KubernetesCanI
//!     request:
//!       subject_access_review:
//!         groups: [system:serviceaccounts, system:serviceaccounts:shop, system:authenticated]
//!         resource_attributes: {group: '', name: null, namespace: shop, resource: pods,
//!                               subresource: exec, verb: create, version: null}
//!         user: system:serviceaccount:shop:api
//!       disable_cache: false
//!     disable_cache: false
//!   response:
//!     type: Success
//!     payload: '{"allowed":true,"reason":"RBAC: allowed by RoleBinding ..."}'
//! ```
//!
//! The response is the SubjectAccessReview's `status` as the API server returned it.

use std::sync::Mutex;

use serde_json::Value;

use crate::host::Capabilities;
use crate::yaml::{self, Schema};

/// One recorded request and its answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// The `CallbackRequestType` variant, e.g. `KubernetesGetResource`.
    pub request_type: String,
    /// The variant's fields.
    pub request: Value,
    /// `Ok(payload)` for `type: Success`, `Err(message)` for `type: Error`.
    pub response: Result<String, String>,
}

/// A recorded session.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Session {
    pub exchanges: Vec<Exchange>,
}

impl Session {
    pub fn parse(text: &str) -> Result<Session, String> {
        let docs = yaml::documents(text, Schema::Core)?;
        let list = match docs.as_slice() {
            [] => return Ok(Session::default()),
            [doc] => &doc.value,
            _ => return Err("a session file holds one YAML document (a list of exchanges)".into()),
        };
        let Value::Array(items) = list else {
            return Err("a session file is a YAML list of exchanges".into());
        };
        let exchanges = items
            .iter()
            .enumerate()
            .map(|(i, item)| parse_exchange(item).map_err(|e| format!("exchange {}: {e}", i + 1)));
        Ok(Session { exchanges: exchanges.collect::<Result<_, _>>()? })
    }

    pub fn load(path: &std::path::Path) -> Result<Session, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Session::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

fn parse_exchange(item: &Value) -> Result<Exchange, String> {
    let field = |name: &str| item.get(name).ok_or_else(|| format!("`{name}` is missing"));
    if field("type")? != "Exchange" {
        return Err(format!("`type` is {}, expected Exchange", field("type")?));
    }
    let request_text = field("request")?.as_str().ok_or("`request` must be a string holding a YAML document")?;
    let (tag, request) = yaml::tagged_document(request_text, Schema::Core).map_err(|e| format!("`request`: {e}"))?;
    let request_type = tag.ok_or("`request` must start with the request type, e.g. !KubernetesGetResource")?;
    let response = field("response")?;
    let text = |name: &str| -> Result<String, String> {
        response
            .get(name)
            .and_then(Value::as_str)
            .map(String::from)
            .ok_or_else(|| format!("`response.{name}` must be a string"))
    };
    let response = match response.get("type").and_then(Value::as_str) {
        Some("Success") => Ok(text("payload")?),
        Some("Error") => Err(text("message")?),
        other => return Err(format!("`response.type` is {other:?}, expected Success or Error")),
    };
    Ok(Exchange { request_type, request, response })
}

/// The `CallbackRequestType` policy-evaluator builds for a waPC host call.
pub fn request_type(binding: &str, namespace: &str, operation: &str) -> Option<&'static str> {
    if binding != "kubewarden" {
        return None;
    }
    Some(match (namespace, operation) {
        ("kubernetes", "get_resource") => "KubernetesGetResource",
        ("kubernetes", "list_resources_by_namespace") => "KubernetesListResourceNamespace",
        ("kubernetes", "list_resources_all") => "KubernetesListResourceAll",
        ("kubernetes", "can_i") => "KubernetesCanI",
        ("oci", "v1/manifest_digest") => "OciManifestDigest",
        ("net", "v1/dns_lookup_host") => "DNSLookupHost",
        _ => return None,
    })
}

/// Replays a [`Session`] to the policy.
pub struct Replay {
    exchanges: Vec<Exchange>,
    next: Mutex<usize>,
}

impl Replay {
    pub fn new(session: Session) -> Replay {
        Replay { exchanges: session.exchanges, next: Mutex::new(0) }
    }

    /// Exchanges not consumed yet (kwctl warns about them at the end of a run).
    pub fn leftovers(&self) -> usize {
        self.exchanges.len() - (*self.next.lock().unwrap_or_else(|e| e.into_inner())).min(self.exchanges.len())
    }
}

impl Capabilities for Replay {
    fn call(&self, binding: &str, namespace: &str, operation: &str, payload: &[u8]) -> Result<Vec<u8>, String> {
        let got_type = request_type(binding, namespace, operation)
            .ok_or_else(|| format!("unknown host capability {binding}/{namespace}/{operation}"))?;
        let got: Value = serde_json::from_slice(payload)
            .map_err(|e| format!("{namespace}/{operation}: payload is not JSON: {e}"))?;
        let got = as_recorded(got_type, got)?;
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let Some(expected) = self.exchanges.get(*next) else {
            return Err("the list of recorded responses is empty".into());
        };
        *next += 1;
        if expected.request_type != got_type || without_nulls(&expected.request) != without_nulls(&got) {
            return Err(format!(
                "Replay error: unexpected request. Was expecting {} {}, got {got_type} {} instead",
                expected.request_type, expected.request, got
            ));
        }
        expected.response.clone().map(String::into_bytes)
    }
}

/// The request as kwctl records it, from the guest's payload (see the module's documentation).
pub fn as_recorded(request_type: &str, payload: Value) -> Result<Value, String> {
    if request_type != "KubernetesCanI" {
        return Ok(payload);
    }
    let attributes = payload.pointer("/subject_access_review/resource_attributes").filter(|a| a.is_object());
    let disable_cache = payload.get("disable_cache").and_then(Value::as_bool);
    let (Some(_), Some(disable_cache)) = (attributes, disable_cache) else {
        return Err("kubernetes/can_i: the payload is not a CanIRequest (subject_access_review.resource_attributes, \
                    disable_cache)"
            .into());
    };
    Ok(serde_json::json!({"request": payload, "disable_cache": disable_cache}))
}

/// Absent and `null` fields mean the same `None` to serde, which is how kwctl compares.
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const SESSION: &str = r#"
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: ci
    namespace: payments
    disable_cache: false
  response:
    type: Success
    payload: '{"apiVersion":"v1","kind":"ServiceAccount","metadata":{"name":"ci","namespace":"payments"}}'
- type: Exchange
  request: |
    !KubernetesGetResource
    api_version: v1
    kind: ServiceAccount
    name: gone
    namespace: payments
    disable_cache: false
  response:
    type: Error
    message: 'ApiError: serviceaccounts "gone" not found'
"#;

    fn get(name: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({"api_version": "v1", "kind": "ServiceAccount", "name": name,
                                   "namespace": "payments", "disable_cache": false, "field_masks": null}))
        .unwrap()
    }

    #[test]
    fn replays_in_order_and_matches_requests() {
        let replay = Replay::new(Session::parse(SESSION).unwrap());
        let first = replay.call("kubewarden", "kubernetes", "get_resource", &get("ci")).unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&first).unwrap()["metadata"]["name"], "ci");
        assert_eq!(replay.leftovers(), 1);
        assert_eq!(
            replay.call("kubewarden", "kubernetes", "get_resource", &get("gone")).unwrap_err(),
            "ApiError: serviceaccounts \"gone\" not found"
        );
        assert_eq!(
            replay.call("kubewarden", "kubernetes", "get_resource", &get("ci")).unwrap_err(),
            "the list of recorded responses is empty"
        );
    }

    #[test]
    fn a_different_request_is_a_replay_error() {
        let replay = Replay::new(Session::parse(SESSION).unwrap());
        let err = replay.call("kubewarden", "kubernetes", "get_resource", &get("other")).unwrap_err();
        assert!(err.starts_with("Replay error: unexpected request. Was expecting KubernetesGetResource"), "{err}");
        let err = replay.call("kubewarden", "kubernetes", "list_resources_all", b"{}").unwrap_err();
        assert!(err.contains("got KubernetesListResourceAll {}"), "{err}");
        assert_eq!(replay.call("other", "x", "y", b"{}").unwrap_err(), "unknown host capability other/x/y");
    }

    #[test]
    fn can_i_is_matched_as_the_request_kwctl_records() {
        let session = r#"
- type: Exchange
  request: |
    !KubernetesCanI
    request:
      subject_access_review:
        groups: [system:serviceaccounts]
        resource_attributes: {group: '', name: null, namespace: shop, resource: pods, subresource: exec, verb: create, version: null}
        user: system:serviceaccount:shop:api
      disable_cache: false
    disable_cache: false
  response:
    type: Success
    payload: '{"allowed":true}'
"#;
        let payload = |verb: &str| {
            serde_json::to_vec(&json!({"subject_access_review": {"groups": ["system:serviceaccounts"],
                "resource_attributes": {"group": "", "name": null, "namespace": "shop", "resource": "pods",
                                        "subresource": "exec", "verb": verb, "version": null},
                "user": "system:serviceaccount:shop:api"}, "disable_cache": false}))
            .unwrap()
        };
        let replay = Replay::new(Session::parse(session).unwrap());
        assert_eq!(
            replay.call("kubewarden", "kubernetes", "can_i", &payload("create")).unwrap(),
            br#"{"allowed":true}"#
        );
        let replay = Replay::new(Session::parse(session).unwrap());
        let err = replay.call("kubewarden", "kubernetes", "can_i", &payload("get")).unwrap_err();
        assert!(err.starts_with("Replay error: unexpected request. Was expecting KubernetesCanI"), "{err}");
        let err = replay.call("kubewarden", "kubernetes", "can_i", b"{\"user\": \"x\"}").unwrap_err();
        assert!(err.contains("not a CanIRequest"), "{err}");
    }

    #[test]
    fn malformed_sessions_are_explained() {
        assert_eq!(Session::parse("").unwrap(), Session::default());
        assert_eq!(Session::parse("a: 1").unwrap_err(), "a session file is a YAML list of exchanges");
        assert_eq!(Session::parse("- type: Call").unwrap_err(), "exchange 1: `type` is \"Call\", expected Exchange");
        assert_eq!(
            Session::parse(
                "- type: Exchange\n  request: 'api_version: v1'\n  response: {type: Success, payload: '{}'}"
            )
            .unwrap_err(),
            "exchange 1: `request` must start with the request type, e.g. !KubernetesGetResource"
        );
        assert_eq!(
            Session::parse("- type: Exchange\n  request: '!KubernetesGetResource {}'\n  response: {type: Maybe}")
                .unwrap_err(),
            "exchange 1: `response.type` is Some(\"Maybe\"), expected Success or Error"
        );
    }
}
