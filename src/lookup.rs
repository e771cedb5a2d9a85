//! Objects the rules need but the evaluated bundle may not contain: a Pod's ServiceAccount at
//! admission, the Role a binding references. Manifest mode has no cluster; the Kubewarden policy
//! answers from the host (context-aware mode); tests answer from fixtures.

use serde_json::Value;

/// The answer to one look-up.
#[derive(Debug, Clone, PartialEq)]
pub enum Lookup {
    Found(Value),
    /// The cluster answered: no such object.
    NotFound,
    /// The look-up was attempted and failed (host error, timeout, permission).
    Failed(String),
    /// No cluster to ask (manifest mode, or context-aware mode off).
    NotAvailable,
}

/// Kinds the policy looks up; `policy-metadata.yml` declares the same in `contextAwareResources`.
pub trait ClusterLookup {
    fn get(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup;
}

/// No cluster: every look-up is [`Lookup::NotAvailable`].
pub struct NoCluster;

impl ClusterLookup for NoCluster {
    fn get(&self, _: &str, _: &str, _: Option<&str>, _: &str) -> Lookup {
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
    fn get(&self, _api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup {
        if let Some(message) = &self.failure {
            return Lookup::Failed(message.clone());
        }
        self.objects
            .iter()
            .find(|o| {
                crate::k8s::kind(o) == kind && crate::k8s::name(o) == name && crate::k8s::namespace(o) == namespace
            })
            .map(|o| Lookup::Found(o.clone()))
            .unwrap_or(Lookup::NotFound)
    }
}
