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
