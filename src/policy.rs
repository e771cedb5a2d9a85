//! The Kubewarden policy module: waPC entry points over [`crate::admission`], and cluster
//! look-ups through the host's `kubernetes/get_resource` capability. No decisions are made here.

use kubewarden_policy_sdk::host_capabilities::kubernetes::{
    get_resource, CanIRequest, GetResourceRequest, ResourceAttributes, SubjectAccessReview,
};
use kubewarden_policy_sdk::protocol_version_guest;
use kubewarden_policy_sdk::wapc_guest::{self, register_function, CallResult};
use serde_json::Value;

use crate::admission;
use crate::lookup::{AccessAnswer, AccessReview, ClusterLookup, Lookup};

#[no_mangle]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version_guest);
}

fn validate(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&admission::validate(payload, &HostCluster))?)
}

fn validate_settings(payload: &[u8]) -> CallResult {
    Ok(serde_json::to_vec(&admission::validate_settings(payload))?)
}

/// The cluster as the policy host sees it (policy-server, or kwctl with `--allow-context-aware`
/// or a replay file). The kinds asked for must be listed in `policy-metadata.yml`'s
/// `contextAwareResources`, or the host refuses.
struct HostCluster;

impl ClusterLookup for HostCluster {
    fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup<'static> {
        let request = GetResourceRequest {
            api_version: api_version.to_string(),
            kind: kind.to_string(),
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            // The host's 5 s cache is fine: ServiceAccounts and Roles change rarely.
            disable_cache: false,
            field_masks: field_masks(kind),
        };
        match get_resource::<Value>(&request) {
            Ok(object) => Lookup::found(object),
            Err(error) => admission::lookup_from_host_error(&error.to_string()),
        }
    }

    /// `kubernetes/can_i` with the SDK's request type (its wire format), but the answer read by
    /// [`AccessAnswer::from_status`], so that a malformed status is a failure that says what
    /// was wrong rather than a deserialization error.
    fn can_i(&self, review: &AccessReview) -> AccessAnswer {
        let request = CanIRequest {
            subject_access_review: SubjectAccessReview {
                groups: Some(review.groups.clone()),
                resource_attributes: ResourceAttributes {
                    group: Some(review.group.clone()),
                    name: review.name.clone(),
                    namespace: review.namespace.clone(),
                    resource: review.resource.clone(),
                    subresource: review.subresource.clone(),
                    verb: review.verb.clone(),
                    version: None,
                },
                user: review.user.clone(),
            },
            // The host's 5 s cache is fine: bindings change rarely.
            disable_cache: false,
        };
        let payload = match serde_json::to_vec(&request) {
            Ok(payload) => payload,
            Err(error) => return AccessAnswer::Failed(format!("cannot encode the SubjectAccessReview: {error}")),
        };
        match wapc_guest::host_call("kubewarden", "kubernetes", "can_i", &payload) {
            Ok(answer) => match serde_json::from_slice::<Value>(&answer) {
                Ok(status) => AccessAnswer::from_status(&status),
                Err(error) => AccessAnswer::Failed(format!("the SubjectAccessReview answer is not JSON: {error}")),
            },
            Err(error) => AccessAnswer::Failed(error.to_string()),
        }
    }
}

/// What the rules read of a Secret (SAG007: is it a legacy token, and whose): the host drops
/// the rest, so the token and other data never reach the policy.
fn field_masks(kind: &str) -> Option<std::collections::BTreeSet<String>> {
    (kind == "Secret").then(|| crate::rules::legacy_token_secret::SECRET_FIELDS.iter().map(|f| f.to_string()).collect())
}
