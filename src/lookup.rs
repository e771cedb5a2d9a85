//! Objects the rules need but the evaluated bundle may not contain: a Pod's ServiceAccount at
//! admission, the Role a binding references. Manifest mode has no cluster; the Kubewarden policy
//! answers from the host (context-aware mode); tests answer from fixtures.

use std::borrow::Cow;

use serde_json::Value;

/// The answer to one look-up. A rule's look-up of an object of the evaluated bundle borrows it
/// (a large bundle looks up its ServiceAccounts and Roles thousands of times).
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup<'a> {
    Found(Cow<'a, Value>),
    /// The cluster answered: no such object.
    NotFound,
    /// The look-up was attempted and failed (host error, timeout, permission).
    Failed(String),
    /// No cluster to ask (manifest mode, or context-aware mode off).
    NotAvailable,
}

impl Lookup<'_> {
    /// An object the cluster answered with.
    pub fn found(object: Value) -> Lookup<'static> {
        Lookup::Found(Cow::Owned(object))
    }
}

/// Kinds the policy looks up; `policy-metadata.yml` declares the same in `contextAwareResources`.
pub trait ClusterLookup {
    fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup<'static>;

    /// Asks the cluster's authorizer (a SubjectAccessReview). Hosts without one answer
    /// [`AccessAnswer::NotAvailable`].
    fn can_i(&self, _review: &AccessReview) -> AccessAnswer {
        AccessAnswer::NotAvailable
    }
}

/// No cluster: every look-up is [`Lookup::NotAvailable`].
pub struct NoCluster;

impl ClusterLookup for NoCluster {
    fn get(&self, _: &str, _: &str, _: Option<&str>, _: &str) -> Lookup<'static> {
        Lookup::NotAvailable
    }
}

/// A fixed set of objects standing in for a cluster (tests, the e2e host's recorded fixtures).
#[derive(Debug, Default, Clone)]
pub struct StaticCluster {
    pub objects: Vec<Value>,
    /// When set, every look-up fails with this message.
    pub failure: Option<String>,
}

impl ClusterLookup for StaticCluster {
    fn get(&self, _api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup<'static> {
        if let Some(message) = &self.failure {
            return Lookup::Failed(message.clone());
        }
        self.objects
            .iter()
            .find(|o| {
                crate::k8s::kind(o) == kind && crate::k8s::name(o) == name && crate::k8s::namespace(o) == namespace
            })
            .map(|o| Lookup::found(o.clone()))
            .unwrap_or(Lookup::NotFound)
    }
}

/// One SubjectAccessReview: may `user` (with `groups`) make this request? What Kubewarden's
/// `kubernetes/can_i` host capability sends to the API server's authorizer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessReview {
    pub user: String,
    pub groups: Vec<String>,
    pub verb: String,
    /// API group, `""` for the core group.
    pub group: String,
    pub resource: String,
    pub subresource: Option<String>,
    /// `None` for a cluster-scoped request (or one across every namespace).
    pub namespace: Option<String>,
    /// `None` for a request about every object of the resource.
    pub name: Option<String>,
}

impl AccessReview {
    /// `create pods/exec in namespace shop`, for messages.
    pub fn describe(&self) -> String {
        let resource = match &self.subresource {
            Some(sub) => format!("{}/{sub}", self.resource),
            None => self.resource.clone(),
        };
        let resource = if self.group.is_empty() { resource } else { format!("{resource}.{}", self.group) };
        let named = self.name.as_ref().map(|n| format!(" named {n}")).unwrap_or_default();
        match &self.namespace {
            Some(ns) => format!("{} {resource}{named} in namespace {ns}", self.verb),
            None => format!("{} {resource}{named} cluster-wide", self.verb),
        }
    }
}

/// The authorizer's answer to an [`AccessReview`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessAnswer {
    /// Allowed; `reason` is the authorizer's explanation when it gave one (the RBAC authorizer
    /// names the binding and the role).
    Allowed { reason: Option<String> },
    /// Not allowed (no opinion, or explicitly denied).
    NotAllowed,
    /// The review could not be made or its answer could not be read.
    Failed(String),
    /// No cluster to ask.
    NotAvailable,
}

impl AccessAnswer {
    /// Reads a SubjectAccessReview `status` as the API server returns it (`allowed`, `denied`,
    /// `reason`, `evaluationError`). Anything else is a failure that says what was wrong.
    pub fn from_status(status: &Value) -> AccessAnswer {
        let Some(fields) = status.as_object() else {
            return AccessAnswer::Failed(format!("the SubjectAccessReview status is not an object: {status}"));
        };
        let text = |name: &str| fields.get(name).and_then(Value::as_str).filter(|t| !t.is_empty()).map(String::from);
        match fields.get("allowed") {
            Some(Value::Bool(true)) => AccessAnswer::Allowed { reason: text("reason") },
            // an authorizer that failed says no with an evaluation error: the answer is unknown
            Some(Value::Bool(false)) => match text("evaluationError") {
                Some(error) => AccessAnswer::Failed(format!("the authorizer could not decide: {error}")),
                None => AccessAnswer::NotAllowed,
            },
            Some(other) => AccessAnswer::Failed(format!("the SubjectAccessReview status has allowed: {other}")),
            None => AccessAnswer::Failed("the SubjectAccessReview status has no `allowed` field".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn subject_access_review_statuses_are_read_strictly() {
        let reason = "RBAC: allowed by ClusterRoleBinding \"x\" of ClusterRole \"y\" to ServiceAccount \"z/w\"";
        assert_eq!(
            AccessAnswer::from_status(&json!({"allowed": true, "reason": reason})),
            AccessAnswer::Allowed { reason: Some(reason.into()) }
        );
        assert_eq!(
            AccessAnswer::from_status(&json!({"allowed": true, "reason": ""})),
            AccessAnswer::Allowed { reason: None }
        );
        assert_eq!(AccessAnswer::from_status(&json!({"allowed": false, "denied": true})), AccessAnswer::NotAllowed);
        assert_eq!(
            AccessAnswer::from_status(&json!({"allowed": false, "evaluationError": "webhook: timeout"})),
            AccessAnswer::Failed("the authorizer could not decide: webhook: timeout".into())
        );
        assert_eq!(
            AccessAnswer::from_status(&json!({"allowed": "yes"})),
            AccessAnswer::Failed("the SubjectAccessReview status has allowed: \"yes\"".into())
        );
        assert_eq!(
            AccessAnswer::from_status(&json!({"reason": "x"})),
            AccessAnswer::Failed("the SubjectAccessReview status has no `allowed` field".into())
        );
        assert_eq!(
            AccessAnswer::from_status(&json!([true])),
            AccessAnswer::Failed("the SubjectAccessReview status is not an object: [true]".into())
        );
    }
}
