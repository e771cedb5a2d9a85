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
//! Most variants carry the guest's payload fields as they are. `KubernetesCanI` does not: the
//! host reads the guest's payload as the SDK's `CanIRequest` and records its
//! `subject_access_review` (the SDK's own `SubjectAccessReview`: groups, resource_attributes,
//! user; not the Kubernetes object) under `request`, and its `disable_cache` beside it:
//!
//! ```yaml
//! - type: Exchange
//!   request: |
//!     !KubernetesCanI
//!     request:
//!       groups:
//!       - system:serviceaccounts
//!       - system:serviceaccounts:shop
//!       - system:authenticated
//!       resource_attributes:
//!         group: ''
//!         name: null
//!         namespace: shop
//!         resource: pods
//!         subresource: exec
//!         verb: create
//!         version: null
//!       user: system:serviceaccount:shop:api
//!     disable_cache: false
//!   response:
//!     type: Success
//!     payload: '{"allowed":true,"reason":"RBAC: allowed by RoleBinding ..."}'
//! ```
//!
//! The response is the SubjectAccessReview's `status` as the API server returned it (serialized
//! with serde_json, so absent fields are left out), or the host's error text.
//!
//! Read from Kubewarden's source (the standalone kwctl v1.31.0 tree and its Cargo.lock are not in
//! the index we searched; these are the same code in the kubewarden-controller monorepo, where kwctl
//! and policy-evaluator moved after 1.31):
//! - kwctl `src/callback_handler/proxy.rs` (kubewarden/kubewarden-controller
//!   `crates/kwctl/src/callback_handler/proxy.rs` @ 1e4817149cd61a360173c163b471b1870f80fc93):
//!   records `serde_yaml::to_string(&CallbackRequestType)` as the `request` string of an
//!   `Exchange {request, response: Success {payload} | Error {message}}`; on replay it pops the
//!   exchanges in order, parses `request` back with `serde_yaml::from_str` (a request it cannot
//!   parse is a panic, "Cannot deserialize recorded request into `CallbackRequestType`") and
//!   compares it with the policy's request by the derived `PartialEq`: every field of the variant,
//!   `None` and a missing optional field being the same, unknown fields ignored.
//! - policy-evaluator `src/callback_requests.rs` (viccuad/kubewarden-controller
//!   `crates/policy-evaluator/src/callback_requests.rs` @ 5d3bf0861fd92659e8ed2d70856695a0a122020e,
//!   policy-evaluator 0.32.0; the same in kubewarden/adm-controller @
//!   8886945769273ce944f2d968f7bee2fd68e44b80): `KubernetesCanI { request: KWSubjectAccessReview,
//!   disable_cache: bool }` and `From<CanIRequest>` taking `req.subject_access_review` and
//!   `req.disable_cache`. This layout is kubewarden/policy-evaluator#721 (2025-07-11); the first
//!   `can_i` release (v0.27.0, #716) recorded a Kubernetes `SubjectAccessReview` under
//!   `subject_access_review` instead. kwctl 1.31 (release issue kubewarden/adm-controller#1247,
//!   2025-11-24) is later than #721 and earlier than the monorepo code above; the exact
//!   policy-evaluator tag kwctl v1.31.0 pins was not read.
//! - policy-evaluator `src/runtimes/callback.rs` (kubewarden/kubewarden-controller @
//!   00eb529e72077b844d10d2148185297058808a8a): `kubewarden`/`kubernetes`/`can_i` reads the payload
//!   as `CanIRequest` and turns it into `CallbackRequestType::from(req)`.
//! - policy-evaluator `src/callback_handler/kubernetes/client.rs` (viccuad/kubewarden-controller @
//!   4f232f31f1a723b81c3f2eeeffec000d12498603): `can_i` answers with the created review's `status`.
//! - kubewarden-policy-sdk 0.17.3 `src/host_capabilities/kubernetes.rs`: `CanIRequest
//!   {subject_access_review, disable_cache}`, `SubjectAccessReview {groups, resource_attributes,
//!   user}`, `ResourceAttributes {group, name, namespace, resource, subresource, verb, version}`,
//!   fields in that (serialization) order; serde_yaml 0.9 writes a struct variant as a local tag
//!   on a mapping and `None` as `null`.

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
    if request_type == "KubernetesCanI" {
        check_can_i(&request)?;
    }
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

/// The request as kwctl records it, from the guest's payload (see the module's documentation):
/// for `KubernetesCanI`, the `CanIRequest`'s `subject_access_review` under `request` and its
/// `disable_cache` beside it.
pub fn as_recorded(request_type: &str, payload: Value) -> Result<Value, String> {
    if request_type != "KubernetesCanI" {
        return Ok(payload);
    }
    let review =
        payload.get("subject_access_review").filter(|r| r.get("resource_attributes").is_some_and(Value::is_object));
    let disable_cache = payload.get("disable_cache").and_then(Value::as_bool);
    let (Some(review), Some(disable_cache)) = (review, disable_cache) else {
        return Err("kubernetes/can_i: the payload is not a CanIRequest (subject_access_review.resource_attributes, \
                    disable_cache)"
            .into());
    };
    Ok(serde_json::json!({"request": review, "disable_cache": disable_cache}))
}

/// kwctl panics on a recorded `KubernetesCanI` that does not deserialize into policy-evaluator's
/// variant; here it is a session error. The fields serde requires: `request.user`,
/// `request.resource_attributes.{resource, verb}` (strings) and `disable_cache` (a boolean).
fn check_can_i(request: &Value) -> Result<(), String> {
    let string = |pointer: &str| request.pointer(pointer).is_some_and(Value::is_string);
    if string("/request/user")
        && string("/request/resource_attributes/resource")
        && string("/request/resource_attributes/verb")
        && request.get("disable_cache").is_some_and(Value::is_boolean)
    {
        return Ok(());
    }
    Err("`request`: KubernetesCanI holds `request` (the SubjectAccessReview: user, groups, resource_attributes \
         with resource and verb) and `disable_cache`, as kwctl records it"
        .into())
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
      groups: [system:serviceaccounts]
      resource_attributes: {group: '', name: null, namespace: shop, resource: pods, subresource: exec, verb: create, version: null}
      user: system:serviceaccount:shop:api
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
    fn a_can_i_record_kwctl_cannot_read_is_a_session_error() {
        // The whole CanIRequest under `request` (how these fixtures were first written): kwctl finds
        // no `request.resource_attributes`, cannot deserialize the record and panics.
        let wrapped = r#"
- type: Exchange
  request: |
    !KubernetesCanI
    request:
      subject_access_review:
        resource_attributes: {resource: pods, verb: create}
        user: system:serviceaccount:shop:api
      disable_cache: false
    disable_cache: false
  response: {type: Success, payload: '{"allowed":true}'}
"#;
        let err = Session::parse(wrapped).unwrap_err();
        assert!(err.starts_with("exchange 1: `request`: KubernetesCanI holds `request`"), "{err}");
        let no_cache_flag = "- type: Exchange\n  request: \"!KubernetesCanI\\nrequest: {user: u, resource_attributes: \
                             {resource: pods, verb: get}}\"\n  response: {type: Success, payload: '{}'}";
        assert!(Session::parse(no_cache_flag).unwrap_err().contains("KubernetesCanI holds"));
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
