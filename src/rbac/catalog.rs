//! The privilege-escalation paths a ServiceAccount's permissions can open, one entry per path:
//! what requests make it up, how severe it is, what an attacker does with it. SAG009 reports
//! them, `sa-guard explain SAG009` and docs/rules.md list them, the inventory and the playground
//! show them. Sources: the Kubernetes documentation "Role Based Access Control Good Practices"
//! (privilege escalation risks), CIS Kubernetes Benchmark 5.1.x, and the risky-permission
//! catalogs of attack-path tools (rbac-police, KubeHound), made precise by matching requests
//! the way the RBAC authorizer does ([`super::rule`]).

use serde::{Deserialize, Serialize};

/// How far a risk reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Misuse that needs more than the permission, or reaches only part of a namespace.
    Medium,
    /// Takes over other identities (ServiceAccounts, Pods) of the namespace.
    High,
    /// Takes over the cluster.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Which objects of a resource a grant must cover to count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// Any grant, even one restricted to some objects by `resourceNames`.
    Any,
    /// Only a grant on every object of the resource.
    Every,
    /// Only a grant restricted to some objects by `resourceNames` (the lower-severity twin of
    /// an [`Names::Every`] entry).
    SomeOnly,
}

/// Where the resource lives, which decides what a RoleBinding can grant of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceScope {
    Namespaced,
    /// Granted only by a ClusterRoleBinding: a RoleBinding's grants apply to requests inside
    /// its namespace, and a cluster-scoped object is in none.
    Cluster,
    /// The `namespaces` resource: a RoleBinding grants it on its own namespace (the API server
    /// files `/api/v1/namespaces/<ns>` under namespace `<ns>`).
    OwnNamespace,
}

/// Requests that open (part of) a path: any of these verbs on any of these resources.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    pub verbs: &'static [&'static str],
    pub api_group: &'static str,
    /// Resources, maybe with a subresource (`pods/exec`).
    pub resources: &'static [&'static str],
    pub scope: ResourceScope,
}

/// One escalation path.
#[derive(Debug, Clone, Copy)]
pub struct Risk {
    /// Stable id, used in messages, settings and reports.
    pub id: &'static str,
    /// Severity when granted across the cluster (a ClusterRoleBinding).
    pub severity: Severity,
    /// Severity when granted in one namespace (a RoleBinding); `None` when a RoleBinding cannot
    /// grant it (every resource it needs is cluster-scoped).
    pub in_namespace: Option<Severity>,
    /// What the permission is, in a few words ("create Pods or workloads").
    pub title: &'static str,
    /// What an attacker holding the token does with it, in one sentence.
    pub attack: &'static str,
    /// Every one of these must be granted, each by any of its requests; most paths need one.
    pub needs: &'static [&'static [Access]],
    pub names: Names,
    pub references: &'static [&'static str],
}

/// The `wildcard` entry is judged on a rule's shape (`*` verbs on `*` resources of `*` groups,
/// unrestricted), not on requests: such a rule grants every other entry, now and whatever the
/// API adds later, and is reported once instead of once per entry.
pub const WILDCARD: &str = "wildcard";

const GOOD_PRACTICES: &str =
    "Kubernetes documentation: Role Based Access Control Good Practices, privilege escalation risks";
const CIS_SECRETS: &str = "CIS Kubernetes Benchmark 5.1.2: minimize access to secrets";
const CIS_WILDCARD: &str = "CIS Kubernetes Benchmark 5.1.3: minimize wildcard use in Roles and ClusterRoles";
const CIS_PODS: &str = "CIS Kubernetes Benchmark 5.1.4: minimize access to create pods";
const CIS_ESCALATION: &str =
    "CIS Kubernetes Benchmark 5.1.8: limit use of the bind, impersonate and escalate permissions";
const CIS_PV: &str = "CIS Kubernetes Benchmark 5.1.9: minimize access to create persistent volumes";
const CIS_NODES_PROXY: &str = "CIS Kubernetes Benchmark 5.1.10: minimize access to the proxy sub-resource of nodes";
const CIS_CSR: &str =
    "CIS Kubernetes Benchmark 5.1.11: minimize access to the approval sub-resource of certificatesigningrequests objects";
const CIS_WEBHOOKS: &str = "CIS Kubernetes Benchmark 5.1.12: minimize access to webhook configuration objects";
const CIS_TOKEN: &str = "CIS Kubernetes Benchmark 5.1.13: minimize access to the service account token creation";

const RBAC: &str = "rbac.authorization.k8s.io";
// The API server asks for `bind` and `escalate` on roles and ClusterRoles in the namespace of
// the binding or role being written, so a RoleBinding can grant them on both.
const NAMESPACED: ResourceScope = ResourceScope::Namespaced;
const CLUSTER: ResourceScope = ResourceScope::Cluster;

const WRITE: &[&str] = &["create", "update", "patch"];
const READ: &[&str] = &["get", "list", "watch"];

/// The catalog, most severe first.
pub static RISKS: &[Risk] = &[
    Risk {
        id: WILDCARD,
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "every verb on every resource (`*` in verbs, resources and apiGroups)",
        attack: "does anything the API allows where the binding applies, including every other path of this catalog \
            and whatever later API versions add",
        needs: &[],
        names: Names::Every,
        references: &[
            GOOD_PRACTICES,
            CIS_WILDCARD,
            "CIS Kubernetes Benchmark 5.1.1: ensure that the cluster-admin role is only used where required",
        ],
    },
    Risk {
        id: "escalate",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "the escalate verb on Roles or ClusterRoles, with write access to them",
        attack: "edits a role to grant permissions it does not hold itself, then uses them",
        needs: &[
            &[Access {
                verbs: &["escalate"],
                api_group: RBAC,
                resources: &["roles", "clusterroles"],
                scope: NAMESPACED,
            }],
            &[
                Access { verbs: WRITE, api_group: RBAC, resources: &["roles"], scope: NAMESPACED },
                Access { verbs: WRITE, api_group: RBAC, resources: &["clusterroles"], scope: CLUSTER },
            ],
        ],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_ESCALATION],
    },
    Risk {
        id: "bind",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "the bind verb on Roles or ClusterRoles, with write access to bindings",
        attack: "binds itself to a role it does not hold, cluster-admin included",
        needs: &[
            &[Access { verbs: &["bind"], api_group: RBAC, resources: &["roles", "clusterroles"], scope: NAMESPACED }],
            &[
                Access { verbs: WRITE, api_group: RBAC, resources: &["rolebindings"], scope: NAMESPACED },
                Access { verbs: WRITE, api_group: RBAC, resources: &["clusterrolebindings"], scope: CLUSTER },
            ],
        ],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_ESCALATION],
    },
    Risk {
        id: "impersonate",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "impersonate users, groups or ServiceAccounts",
        attack: "sends requests as another user, group or ServiceAccount (`--as`) and gets all of its permissions",
        needs: &[&[
            Access { verbs: &["impersonate"], api_group: "", resources: &["users", "groups"], scope: CLUSTER },
            Access { verbs: &["impersonate"], api_group: "", resources: &["serviceaccounts"], scope: NAMESPACED },
        ]],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_ESCALATION],
    },
    Risk {
        id: "token-request",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "create tokens for ServiceAccounts (serviceaccounts/token)",
        attack: "mints a token for any ServiceAccount within reach (TokenRequest) and acts as it",
        needs: &[&[Access {
            verbs: &["create"],
            api_group: "",
            resources: &["serviceaccounts/token"],
            scope: NAMESPACED,
        }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_TOKEN],
    },
    Risk {
        id: "read-secrets",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "read every Secret (get, list or watch)",
        attack: "reads every Secret within reach: ServiceAccount tokens, cloud keys, TLS keys, passwords",
        needs: &[&[Access { verbs: READ, api_group: "", resources: &["secrets"], scope: NAMESPACED }]],
        names: Names::Every,
        references: &[GOOD_PRACTICES, CIS_SECRETS],
    },
    Risk {
        id: "create-workloads",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "create Pods, or create or change workloads that create them",
        attack:
            "runs a Pod as any ServiceAccount within reach and reads its token (or mounts any Secret, or a host path \
            where Pod Security allows)",
        needs: &[WORKLOAD_ACCESSES],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_PODS],
    },
    Risk {
        id: "exec",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "exec or attach into Pods (pods/exec, pods/attach)",
        attack: "runs commands in running Pods and takes their ServiceAccount tokens",
        // create, and get for clients that still upgrade a GET to a stream
        needs: &[&[Access {
            verbs: &["create", "get"],
            api_group: "",
            resources: &["pods/exec", "pods/attach"],
            scope: NAMESPACED,
        }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_PODS],
    },
    Risk {
        id: "ephemeral-containers",
        severity: Severity::Critical,
        in_namespace: Some(Severity::High),
        title: "add ephemeral containers to Pods (pods/ephemeralcontainers)",
        attack: "adds a debug container to a running Pod, with that Pod's ServiceAccount token and volumes",
        needs: &[&[Access {
            verbs: &["update", "patch"],
            api_group: "",
            resources: &["pods/ephemeralcontainers"],
            scope: NAMESPACED,
        }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES],
    },
    Risk {
        id: "nodes-proxy",
        severity: Severity::Critical,
        in_namespace: None,
        title: "the nodes/proxy subresource",
        attack: "talks to the kubelet API of every node and runs commands in any Pod there, unseen by audit logs and \
            admission control",
        needs: &[&[Access { verbs: &["get", "create"], api_group: "", resources: &["nodes/proxy"], scope: CLUSTER }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_NODES_PROXY],
    },
    Risk {
        id: "approve-csr",
        severity: Severity::Critical,
        in_namespace: None,
        title: "create and approve CertificateSigningRequests",
        attack: "has a client certificate issued for any user or group, system:masters included, and authenticates \
            with it",
        needs: &[
            &[Access {
                verbs: &["create"],
                api_group: "certificates.k8s.io",
                resources: &["certificatesigningrequests"],
                scope: CLUSTER,
            }],
            &[Access {
                verbs: &["update", "patch"],
                api_group: "certificates.k8s.io",
                resources: &["certificatesigningrequests/approval"],
                scope: CLUSTER,
            }],
            &[Access {
                verbs: &["approve"],
                api_group: "certificates.k8s.io",
                resources: &["signers"],
                scope: CLUSTER,
            }],
        ],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_CSR],
    },
    Risk {
        id: "webhook-config",
        severity: Severity::Critical,
        in_namespace: None,
        title: "create or change admission webhook configurations",
        attack: "registers a webhook that receives every object sent to the API server, Secrets included, and can \
            change or block them",
        needs: &[&[Access {
            verbs: WRITE,
            api_group: "admissionregistration.k8s.io",
            resources: &["mutatingwebhookconfigurations", "validatingwebhookconfigurations"],
            scope: CLUSTER,
        }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_WEBHOOKS],
    },
    Risk {
        id: "create-pv",
        severity: Severity::Critical,
        in_namespace: None,
        title: "create PersistentVolumes",
        attack: "creates a hostPath PersistentVolume and mounts the node's file system, kubelet credentials included",
        needs: &[&[Access { verbs: &["create"], api_group: "", resources: &["persistentvolumes"], scope: CLUSTER }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES, CIS_PV],
    },
    Risk {
        id: "modify-node",
        severity: Severity::High,
        in_namespace: None,
        title: "change Nodes or their status",
        attack: "relabels or taints nodes (or fakes their status) to draw chosen Pods, and their tokens, onto a node \
            it controls",
        needs: &[&[Access {
            verbs: &["update", "patch"],
            api_group: "",
            resources: &["nodes", "nodes/status"],
            scope: CLUSTER,
        }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES],
    },
    Risk {
        id: "modify-namespace",
        severity: Severity::High,
        in_namespace: Some(Severity::High),
        title: "change Namespaces (their Pod Security labels)",
        attack: "removes a namespace's Pod Security labels so that privileged Pods run there",
        needs: &[&[Access {
            verbs: &["update", "patch"],
            api_group: "",
            resources: &["namespaces"],
            scope: ResourceScope::OwnNamespace,
        }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES],
    },
    Risk {
        id: "create-secrets",
        severity: Severity::High,
        in_namespace: Some(Severity::Medium),
        title: "create Secrets",
        attack: "creates a service-account-token Secret, which the token controller fills with a token that never \
            expires for any ServiceAccount within reach",
        needs: &[&[Access { verbs: &["create"], api_group: "", resources: &["secrets"], scope: NAMESPACED }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES],
    },
    Risk {
        id: "read-named-secret",
        severity: Severity::Medium,
        in_namespace: Some(Severity::Medium),
        title: "read Secrets named in resourceNames",
        attack: "reads the named Secrets, and any ServiceAccount token or credential stored in them",
        needs: &[&[Access { verbs: READ, api_group: "", resources: &["secrets"], scope: NAMESPACED }]],
        names: Names::SomeOnly,
        references: &[CIS_SECRETS],
    },
    Risk {
        id: "service-status",
        severity: Severity::Medium,
        in_namespace: Some(Severity::Medium),
        title: "change the status of Services",
        attack: "sets a Service's load-balancer address to intercept traffic meant for other addresses (CVE-2020-8554)",
        needs: &[&[Access {
            verbs: &["update", "patch"],
            api_group: "",
            resources: &["services/status"],
            scope: NAMESPACED,
        }]],
        names: Names::Any,
        references: &[GOOD_PRACTICES],
    },
];

/// Pods, and the workload kinds whose create or change runs Pods as a ServiceAccount of the
/// caller's choice.
const WORKLOAD_ACCESSES: &[Access] = &[
    Access { verbs: &["create"], api_group: "", resources: &["pods"], scope: NAMESPACED },
    Access { verbs: WRITE, api_group: "", resources: &["replicationcontrollers"], scope: NAMESPACED },
    Access {
        verbs: WRITE,
        api_group: "apps",
        resources: &["deployments", "daemonsets", "statefulsets", "replicasets"],
        scope: NAMESPACED,
    },
    Access { verbs: WRITE, api_group: "batch", resources: &["jobs", "cronjobs"], scope: NAMESPACED },
];

impl Risk {
    /// Severity where the binding applies.
    pub fn severity_for(&self, across_cluster: bool) -> Option<Severity> {
        if across_cluster {
            Some(self.severity)
        } else {
            self.in_namespace
        }
    }
}

/// A catalog entry by id.
pub fn risk(id: &str) -> Option<&'static Risk> {
    RISKS.iter().find(|r| r.id == id)
}

/// The catalog as a Markdown table (docs/rules.md, `sa-guard explain SAG009`).
pub fn markdown_table() -> String {
    let mut out = String::from(
        "| risk | severity (cluster / namespace) | permission | what an attacker does with it |\n|---|---|---|---|\n",
    );
    for risk in RISKS {
        let in_namespace = risk.in_namespace.map_or("not grantable", Severity::as_str);
        out.push_str(&format!(
            "| `{}` | {} / {} | {} | {} |\n",
            risk.id,
            risk.severity.as_str(),
            in_namespace,
            risk.title,
            risk.attack
        ));
    }
    out
}
