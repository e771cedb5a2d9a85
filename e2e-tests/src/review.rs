//! The admission types on both sides of the policy: the request kwctl reads (AdmissionReview or
//! bare AdmissionRequest), the policy's `ValidationResponse`, and the AdmissionResponse
//! policy-server derives from it (what the API server, and `kwctl run`, show).

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::host::GuestFailure;

/// The policy's answer (the SDK's `ValidationResponse`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationResponse {
    pub accepted: bool,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub code: Option<u16>,
    #[serde(default)]
    pub mutated_object: Option<Value>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

/// `admission.k8s.io/v1` AdmissionResponse as policy-server writes it: `patchType`, `patch` and
/// `status` are left out when unset, `auditAnnotations` and `warnings` are written as `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub uid: String,
    pub allowed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<String>,
    /// Base64 of the JSON patch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    #[serde(default)]
    pub audit_annotations: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub warnings: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<u16>,
}

/// policy-evaluator's message when a policy mutates on DELETE.
pub const MUTATION_ON_DELETE: &str = "Incoming object is null, which happens only with DELETE operations, but the \
    policy is attempting a mutation. This is not allowed";

impl AdmissionResponse {
    /// What policy-evaluator makes of a policy's answer: the mutated object becomes a JSON patch
    /// against the request's object (none when nothing changed).
    pub fn from_validation_response(
        uid: String,
        object: Option<&Value>,
        response: &ValidationResponse,
    ) -> AdmissionResponse {
        let object = object.filter(|o| !o.is_null());
        if response.mutated_object.is_some() && object.is_none() {
            return AdmissionResponse {
                uid,
                allowed: false,
                patch_type: None,
                patch: None,
                status: Some(Status { message: Some(MUTATION_ON_DELETE.to_string()), code: None }),
                audit_annotations: None,
                warnings: None,
            };
        }
        let patch = match (&response.mutated_object, object) {
            (Some(mutated), Some(original)) => {
                let diff = json_patch::diff(original, mutated);
                (!diff.0.is_empty()).then(|| {
                    base64::engine::general_purpose::STANDARD
                        .encode(serde_json::to_string(&diff).expect("patches serialize"))
                })
            }
            _ => None,
        };
        let status = (response.message.is_some() || response.code.is_some())
            .then(|| Status { message: response.message.clone(), code: response.code });
        AdmissionResponse {
            uid,
            allowed: response.accepted,
            patch_type: patch.as_ref().map(|_| "JSONPatch".to_string()),
            patch,
            status,
            audit_annotations: response.audit_annotations.clone(),
            warnings: response.warnings.clone(),
        }
    }

    /// policy-server's answer when the evaluation itself failed (trap, timeout, guest error).
    pub fn internal_server_error(uid: String, failure: &GuestFailure) -> AdmissionResponse {
        AdmissionResponse {
            uid,
            allowed: false,
            patch_type: None,
            patch: None,
            status: Some(Status { message: Some(format!("internal server error: {failure}")), code: Some(500) }),
            audit_annotations: None,
            warnings: None,
        }
    }

    /// The decoded JSON patch, if any.
    pub fn patch_operations(&self) -> Result<Option<Value>, String> {
        let Some(patch) = &self.patch else { return Ok(None) };
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(patch).map_err(|e| format!("patch is not base64: {e}"))?;
        serde_json::from_slice(&bytes).map(Some).map_err(|e| format!("patch is not JSON: {e}"))
    }
}

/// The AdmissionRequest in `input`: either an AdmissionReview (`{"request": ...}`) or the
/// request itself, as `kwctl run -r` accepts.
pub fn admission_request(input: &Value) -> Result<Value, String> {
    let Value::Object(map) = input else {
        return Err("the request must be a JSON object: an AdmissionReview or an AdmissionRequest".into());
    };
    // An AdmissionRequest has no `request` field; an AdmissionReview carries one.
    let request = map.get("request").unwrap_or(input);
    if !request.is_object() {
        return Err("the AdmissionReview's `request` must be an object".into());
    }
    Ok(request.clone())
}

/// An AdmissionReview around `request`, as the API server sends it.
pub fn admission_review(request: Value) -> Value {
    serde_json::json!({"kind": "AdmissionReview", "apiVersion": "admission.k8s.io/v1", "request": request})
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn response(mutated: Option<Value>) -> ValidationResponse {
        ValidationResponse {
            accepted: true,
            message: None,
            code: None,
            mutated_object: mutated,
            audit_annotations: None,
            warnings: Some(vec!["w".into()]),
        }
    }

    #[test]
    fn mutation_becomes_a_base64_json_patch() {
        let object = json!({"kind": "ServiceAccount", "metadata": {"name": "default"}});
        let mutated =
            json!({"kind": "ServiceAccount", "metadata": {"name": "default"}, "automountServiceAccountToken": false});
        let r = AdmissionResponse::from_validation_response("u".into(), Some(&object), &response(Some(mutated)));
        assert_eq!(r.patch_type.as_deref(), Some("JSONPatch"));
        assert_eq!(
            r.patch_operations().unwrap(),
            Some(json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}]))
        );
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            json!({"uid": "u", "allowed": true, "patchType": "JSONPatch", "patch": r.patch.clone().unwrap(),
                   "auditAnnotations": null, "warnings": ["w"]})
        );
    }

    #[test]
    fn identical_mutation_is_no_patch_and_delete_mutation_is_refused() {
        let object = json!({"a": 1});
        let r = AdmissionResponse::from_validation_response("u".into(), Some(&object), &response(Some(object.clone())));
        assert_eq!((r.patch, r.patch_type), (None, None));
        let r = AdmissionResponse::from_validation_response("u".into(), Some(&Value::Null), &response(Some(object)));
        assert!(!r.allowed);
        assert_eq!(r.status, Some(Status { message: Some(MUTATION_ON_DELETE.into()), code: None }));
    }

    #[test]
    fn review_or_bare_request() {
        let request = json!({"uid": "1", "operation": "CREATE"});
        assert_eq!(admission_request(&admission_review(request.clone())).unwrap(), request);
        assert_eq!(admission_request(&request).unwrap(), request);
        assert!(admission_request(&json!([1])).is_err());
        assert!(admission_request(&json!({"kind": "AdmissionReview", "request": 5})).is_err());
    }
}
