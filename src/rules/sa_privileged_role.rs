use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::meta::{Category, Scope};
use crate::rbac::catalog;
use crate::rbac::model::{self, Reach, RoleLookup};
use crate::rbac::{self, shape};
use crate::settings::OnLookupFailure;

declare_rule! {
    /// A ServiceAccount's token is a credential that sits in a file inside every Pod running as
    /// it. Whatever RBAC grants the ServiceAccount, an attacker with code execution in one of
    /// those Pods gets too. The lesson's model is a dedicated ServiceAccount "scoped to exactly
    /// the resources it needs" (`order-api-sa` may only get, list and watch ConfigMaps), and its
    /// quiz spells out the opposite: granting `edit` to a ServiceAccount hands every Pod using it
    /// read and write on most of the namespace, Secrets included.
    ///
    /// Fires on a RoleBinding or ClusterRoleBinding with a ServiceAccount subject (also written
    /// as `kind: User, name: system:serviceaccount:<ns>:<name>`) whose role carries a
    /// privilege-escalation path of the risk catalog below. The role is resolved as the API
    /// server would: a Role or ClusterRole of the bundle (or, at admission with `context_aware:
    /// true`, of the cluster); the built-in `cluster-admin`, `admin`, `edit` and `view` by the
    /// rules Kubernetes' bootstrap policy gives them (1.31 and later), widened by any ClusterRole
    /// of the bundle labelled `rbac.authorization.k8s.io/aggregate-to-admin|edit|view: "true"`;
    /// a ClusterRole with an `aggregationRule` by the rules of the ClusterRoles it selects. Each
    /// rule is matched request by request the way the RBAC authorizer matches it: `*`
    /// wildcards, `*/exec` for one subresource of every resource, `pods` not including
    /// `pods/exec`, `resourceNames` matching only requests that name an object (never a create
    /// or an unnamed list), empty lists and empty strings granting nothing. A RoleBinding grants
    /// nothing on cluster-scoped resources (nodes, PersistentVolumes, CertificateSigningRequests,
    /// webhook configurations) but its own Namespace object, and a path granted only inside a
    /// namespace is reported at the catalog's namespace severity.
    ///
    /// One finding per ServiceAccount subject and risk, at `/subjects/<i>`, naming the rules
    /// that make the risk up, the risk's id and severity, and what an attacker does with it, e.g.
    /// "ServiceAccount ci/deployer is bound to ClusterRole ci-deployer in namespace ci:
    /// rules[2] grants create on pods/exec — exec (high): runs commands in running Pods and
    /// takes their ServiceAccount tokens". A rule of `*` on everything is reported once, as
    /// `wildcard`. The level follows the severity: risks at or above `rbac_min_severity_to_deny`
    /// (default `high`) at the rule's level, others as warnings. A path that needs several
    /// permissions (`approve-csr`, `bind`, `escalate`) is reported when one role grants them
    /// all; `sa-guard can-i` answers each permission across every binding.
    ///
    /// Also reported, at their place and at the rule's level: RBAC objects the API server
    /// refuses (rules whose fields are not lists of strings, a ClusterRoleBinding naming a
    /// Role, a ServiceAccount subject of a ClusterRoleBinding without a namespace), since
    /// they would hide a grant from the judgement. At admission such a request is rejected with
    /// code 400.
    ///
    /// When the role cannot be read because the cluster look-up failed, `on_lookup_failure`
    /// decides: `deny` reports the finding naming the error, `warn` reports it as a warning,
    /// `allow` reports nothing.
    ///
    /// Does not fire on: the lesson's `order-api-role` (get, list, watch on ConfigMaps) or the
    /// built-in `view`; a role that grants nothing (`verbs: [""]`); `apiGroups: ["*"]` with
    /// read-only verbs on resources that hold no credentials; users and groups (SAG010 covers
    /// the groups every ServiceAccount is in); a role that is neither built in nor found (a
    /// binding to a missing role grants nothing until the role exists; at admission without
    /// `context_aware` only built-in roles can be judged). Reading only Secrets named in
    /// `resourceNames` is the `read-named-secret` risk (medium), not `read-secrets`. At
    /// admission the rule sees bindings, not roles: a Role widened after it was bound is caught
    /// by linting the manifests or at the binding's next update.
    ///
    /// Fix: give the ServiceAccount a Role listing the exact resources and verbs it uses (as the
    /// lesson's `order-api-role` does), naming single objects in `resourceNames` where it can;
    /// read Secrets through a mounted volume rather than the API; run one-off admin tasks as a
    /// person, not as a workload.
    pub static RULE = {
        id: "SAG009",
        slug: "sa-privileged-role",
        title: "A ServiceAccount is bound to a role with a privilege-escalation path",
        category: Category::Rbac,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Bind the ServiceAccount to a Role that lists only the resources and verbs the workload uses: \
            no wildcards, no Secrets access beyond named Secrets, no pod or workload creation, no exec, no token \
            requests, no bind, escalate or impersonate.",
        references: &[
            "Lesson 39: a dedicated ServiceAccount bound to a minimal Role (order-api-sa can only read ConfigMaps); \
             quiz: the edit ClusterRole granted to a ServiceAccount",
            "Lesson 39, hardening checklist item 2: one SA per application, scoped to exactly the resources it needs",
            "Kubernetes documentation: Role Based Access Control Good Practices, privilege escalation risks",
            "Kubernetes documentation: Using RBAC Authorization (default roles, aggregated ClusterRoles, \
             privilege escalation prevention)",
            "CIS Kubernetes Benchmark 5.1.1-5.1.4 and 5.1.8-5.1.13",
        ],
        peers: &[
            "kube-linter cluster-admin-role-binding (ClusterRoleBindings only)",
            "kube-linter wildcard-in-rules, access-to-secrets, access-to-create-pods (do not resolve RoleBinding→ClusterRole)",
            "Kyverno restrict-binding-clusteradmin",
            "Checkov CKV_K8S_49 (reads only rules[0]), CKV_K8S_155-158, CKV2_K8S_1..5",
            "Trivy KSV041-056, KSV111-113",
            "Kubescape C-0015, C-0035, C-0185, C-0186-0188, C-0191, C-0282",
            "Polaris clusterrolebinding* checks",
        ],
        appendix: risk_catalog,
        check: check,
    };
}

/// The catalog, rendered where the rule's documentation is (docs/rules.md, `explain`, the
/// playground).
fn risk_catalog() -> String {
    format!(
        "**Risk catalog.** Each path and its severity when a ClusterRoleBinding grants it (across the cluster) \
         and when a RoleBinding does (in one namespace; \"not grantable\" when a RoleBinding cannot grant it). \
         Critical takes over the cluster, high takes over other identities of the namespace.\n\n{}",
        catalog::markdown_table()
    )
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for object in cx.bundle.subjects() {
        for problem in shape::problems(object.value) {
            let message =
                format!("{} is not valid RBAC: {}; the API server rejects it", object.object_ref(), problem.message);
            out.report(object, problem.pointer, message);
        }
    }
    for binding in cx.bundle.subjects().filter(|o| k8s::is_binding(o.kind)) {
        let subjects = k8s::service_account_subjects(binding.value, binding.namespace);
        if subjects.is_empty() {
            continue;
        }
        let Some((role_kind, role_name)) = k8s::role_ref(binding.value) else { continue };
        let Some(reach) = Reach::of_binding(binding.kind, binding.namespace) else { continue };
        let scope = rbac::binding_scope(binding);
        match cx.resolve_role(binding.namespace, role_kind, role_name) {
            RoleLookup::Missing => {}
            RoleLookup::Found(role) => {
                let hits = model::risks(&role, reach);
                for subject in &subjects {
                    let path = format!("/subjects/{}", subject.index);
                    let who = rbac::describe_subject(subject);
                    for hit in &hits {
                        let message = format!(
                            "{who} is bound to {} {scope}: {} — {} ({}): {}",
                            role.describe(),
                            hit.describe_evidence(),
                            hit.risk.id,
                            hit.severity.as_str(),
                            hit.risk.attack
                        );
                        let level = cx.settings.level_for_risk(out.level(), hit.severity);
                        out.report(binding, path.clone(), message).level = level;
                    }
                }
            }
            RoleLookup::Failed(error) => {
                let level = match cx.settings.on_lookup_failure {
                    OnLookupFailure::Allow => continue,
                    OnLookupFailure::Warn => out.level().min(Level::Warn),
                    OnLookupFailure::Deny => out.level(),
                };
                let setting = match cx.settings.on_lookup_failure {
                    OnLookupFailure::Warn => "warn",
                    _ => "deny",
                };
                for subject in &subjects {
                    let message = format!(
                        "{} is bound to {role_kind} {role_name} {scope}, which could not be read from the cluster \
                         ({error}); on_lookup_failure is {setting}",
                        rbac::describe_subject(subject)
                    );
                    out.report(binding, format!("/subjects/{}", subject.index), message).level = level;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::finding::Level;
    use crate::lookup::StaticCluster;
    use crate::rbac::catalog::{self, Severity};
    use crate::rules::testing::{admit, admit_without_cluster, lint, lint_with, located};
    use crate::settings::{OnLookupFailure, Settings};

    fn binding(kind: &str, namespace: Option<&str>, subjects: Value, role_kind: &str, role: &str) -> Value {
        let mut metadata = json!({"name": "b"});
        if let Some(ns) = namespace {
            metadata["namespace"] = json!(ns);
        }
        json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata,
            "subjects": subjects,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}
        })
    }

    fn sa(name: &str, namespace: &str) -> Value {
        json!([{"kind": "ServiceAccount", "name": name, "namespace": namespace}])
    }

    fn role(kind: &str, name: &str, namespace: Option<&str>, rules: Value) -> Value {
        let mut metadata = json!({"name": name});
        if let Some(ns) = namespace {
            metadata["namespace"] = json!(ns);
        }
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, "rules": rules})
    }

    fn harmless() -> Value {
        json!({"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]})
    }

    fn attack(id: &str) -> &'static str {
        catalog::risk(id).expect("in the catalog").attack
    }

    /// `(path, level, message)` of each finding.
    fn pinned(findings: &[crate::finding::Finding]) -> Vec<(String, Level, String)> {
        findings.iter().map(|f| (f.path.clone(), f.level, f.message.clone())).collect()
    }

    /// A ClusterRole `r` with `rules`, bound to ServiceAccount ci/bot by a RoleBinding in ci or a
    /// ClusterRoleBinding.
    fn bound(rules: Value, cluster_wide: bool) -> Vec<crate::finding::Finding> {
        let binding = if cluster_wide {
            binding("ClusterRoleBinding", None, sa("bot", "ci"), "ClusterRole", "r")
        } else {
            binding("RoleBinding", Some("ci"), sa("bot", "ci"), "ClusterRole", "r")
        };
        lint("SAG009", &[role("ClusterRole", "r", None, rules), binding])
    }

    /// For every catalog entry: rules that carry it, what the finding says of them, and a near
    /// miss that does not carry it (and carries nothing else).
    #[test]
    fn every_catalog_risk_fires_and_its_near_miss_does_not() {
        struct Entry {
            risk: &'static str,
            rules: Value,
            evidence: &'static str,
            near_miss: Value,
        }
        let core =
            |resources: &[&str], verbs: &[&str]| json!({"apiGroups": [""], "resources": resources, "verbs": verbs});
        let rbac = |resources: &[&str], verbs: &[&str]| json!({"apiGroups": ["rbac.authorization.k8s.io"], "resources": resources, "verbs": verbs});
        let certificates = |resources: &[&str], verbs: &[&str]| json!({"apiGroups": ["certificates.k8s.io"], "resources": resources, "verbs": verbs});
        let entries = [
            Entry {
                risk: "wildcard",
                rules: json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]),
                evidence: "rules[0] grants every verb on every resource of every API group",
                near_miss: json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": [""]}]),
            },
            Entry {
                risk: "escalate",
                rules: json!([rbac(&["clusterroles"], &["escalate"]), rbac(&["clusterroles"], &["patch"])]),
                evidence: "rules[0] grants escalate on clusterroles; rules[1] grants patch on clusterroles",
                near_miss: json!([rbac(&["clusterroles"], &["escalate", "get"])]),
            },
            Entry {
                risk: "bind",
                rules: json!([rbac(&["clusterroles"], &["bind"]), rbac(&["clusterrolebindings"], &["create"])]),
                evidence: "rules[0] grants bind on clusterroles; rules[1] grants create on clusterrolebindings",
                near_miss: json!([
                    rbac(&["clusterroles"], &["bind"]),
                    rbac(&["clusterrolebindings"], &["get", "list"])
                ]),
            },
            Entry {
                risk: "impersonate",
                rules: json!([core(&["users"], &["impersonate"])]),
                evidence: "rules[0] grants impersonate on users",
                near_miss: json!([core(&["users"], &["get", "list"])]),
            },
            Entry {
                risk: "token-request",
                rules: json!([core(&["serviceaccounts/token"], &["create"])]),
                evidence: "rules[0] grants create on serviceaccounts/token",
                near_miss: json!([core(&["serviceaccounts"], &["create", "get"])]),
            },
            Entry {
                risk: "read-secrets",
                rules: json!([core(&["secrets"], &["list"])]),
                evidence: "rules[0] grants list on secrets",
                near_miss: json!([{"apiGroups": ["example.com"], "resources": ["secrets"], "verbs": ["get"]}]),
            },
            Entry {
                risk: "read-named-secret",
                rules: json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["get"]}]),
                evidence: "rules[0] grants get on secrets named db",
                near_miss: json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["create"]}]),
            },
            Entry {
                risk: "create-workloads",
                rules: json!([{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]}]),
                evidence: "rules[0] grants patch on deployments",
                near_miss: json!([{"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"]}]),
            },
            Entry {
                risk: "exec",
                rules: json!([core(&["*/exec"], &["create"])]),
                evidence: "rules[0] grants create on pods/exec",
                near_miss: json!([core(&["pods/log"], &["get"])]),
            },
            Entry {
                risk: "ephemeral-containers",
                rules: json!([core(&["pods/ephemeralcontainers"], &["patch"])]),
                evidence: "rules[0] grants patch on pods/ephemeralcontainers",
                near_miss: json!([core(&["pods/ephemeralcontainers"], &["get"])]),
            },
            Entry {
                risk: "nodes-proxy",
                rules: json!([core(&["nodes/proxy"], &["get"])]),
                evidence: "rules[0] grants get on nodes/proxy",
                near_miss: json!([core(&["nodes"], &["get"])]),
            },
            Entry {
                risk: "approve-csr",
                rules: json!([
                    certificates(&["certificatesigningrequests"], &["create"]),
                    certificates(&["certificatesigningrequests/approval"], &["update"]),
                    {"apiGroups": ["certificates.k8s.io"], "resources": ["signers"],
                     "resourceNames": ["kubernetes.io/kube-apiserver-client"], "verbs": ["approve"]},
                ]),
                evidence: "rules[0] grants create on certificatesigningrequests; rules[1] grants update on \
                    certificatesigningrequests/approval; rules[2] grants approve on signers named \
                    kubernetes.io/kube-apiserver-client",
                near_miss: json!([
                    certificates(&["certificatesigningrequests"], &["create"]),
                    certificates(&["certificatesigningrequests/approval"], &["update"]),
                ]),
            },
            Entry {
                risk: "webhook-config",
                rules: json!([{"apiGroups": ["admissionregistration.k8s.io"],
                    "resources": ["mutatingwebhookconfigurations"], "verbs": ["create"]}]),
                evidence: "rules[0] grants create on mutatingwebhookconfigurations",
                near_miss: json!([{"apiGroups": ["admissionregistration.k8s.io"],
                    "resources": ["mutatingwebhookconfigurations"], "verbs": ["get", "list"]}]),
            },
            Entry {
                risk: "create-pv",
                rules: json!([core(&["persistentvolumes"], &["create"])]),
                evidence: "rules[0] grants create on persistentvolumes",
                near_miss: json!([core(&["persistentvolumeclaims"], &["create"])]),
            },
            Entry {
                risk: "modify-node",
                rules: json!([core(&["nodes/status"], &["patch"])]),
                evidence: "rules[0] grants patch on nodes/status",
                near_miss: json!([core(&["nodes"], &["get", "list", "watch"])]),
            },
            Entry {
                risk: "modify-namespace",
                rules: json!([core(&["namespaces"], &["update"])]),
                evidence: "rules[0] grants update on namespaces",
                near_miss: json!([core(&["namespaces/status"], &["update"])]),
            },
            Entry {
                risk: "create-secrets",
                rules: json!([core(&["secrets"], &["create"])]),
                evidence: "rules[0] grants create on secrets",
                near_miss: json!([core(&["secrets"], &["delete"])]),
            },
            Entry {
                risk: "service-status",
                rules: json!([core(&["services/status"], &["patch"])]),
                evidence: "rules[0] grants patch on services/status",
                near_miss: json!([core(&["services"], &["patch"])]),
            },
        ];
        assert_eq!(entries.len(), catalog::RISKS.len(), "one entry per catalog risk");
        for entry in entries {
            let risk = catalog::risk(entry.risk).unwrap();
            let level = if risk.severity >= Severity::High { Level::Deny } else { Level::Warn };
            let message = format!(
                "ServiceAccount ci/bot is bound to ClusterRole r across the cluster: {} — {} ({}): {}",
                entry.evidence,
                risk.id,
                risk.severity.as_str(),
                risk.attack
            );
            assert_eq!(pinned(&bound(entry.rules, true)), [("/subjects/0".to_string(), level, message)], "{}", risk.id);
            assert_eq!(pinned(&bound(entry.near_miss, true)), [], "near miss of {}", risk.id);
        }
    }

    #[test]
    fn a_role_binding_reaches_its_namespace_only() {
        // cluster-scoped resources are not granted by a RoleBinding ...
        assert_eq!(
            pinned(&bound(json!([{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}]), false)),
            []
        );
        // ... but its own Namespace object is
        let findings = bound(json!([{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["patch"]}]), false);
        assert_eq!(pinned(&findings), [(
            "/subjects/0".to_string(),
            Level::Deny,
            format!(
                "ServiceAccount ci/bot is bound to ClusterRole r in namespace ci: rules[0] grants patch on namespaces — \
                 modify-namespace (high): {}",
                attack("modify-namespace")
            )
        )]);
        // namespaced paths take the catalog's namespace severity
        let findings = bound(json!([{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}]), false);
        assert_eq!(
            pinned(&findings),
            [(
                "/subjects/0".to_string(),
                Level::Warn,
                format!(
                "ServiceAccount ci/bot is bound to ClusterRole r in namespace ci: rules[0] grants create on secrets — \
                 create-secrets (medium): {}",
                attack("create-secrets")
            )
            )]
        );
        // impersonating users is cluster-wide; ServiceAccounts of the namespace are within reach
        let findings = bound(
            json!([{"apiGroups": [""], "resources": ["users", "serviceaccounts"], "verbs": ["impersonate"]}]),
            false,
        );
        assert_eq!(
            located(&findings),
            [(
                "/subjects/0",
                format!(
                    "ServiceAccount ci/bot is bound to ClusterRole r in namespace ci: rules[0] grants impersonate on \
                 serviceaccounts — impersonate (high): {}",
                    attack("impersonate")
                )
                .as_str()
            )]
        );
    }

    #[test]
    fn lesson_order_api_trio_is_silent() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "order-api-sa", "namespace": "production"}}),
            role("Role", "order-api-role", Some("production"), json!([harmless()])),
            binding("RoleBinding", Some("production"), sa("order-api-sa", "production"), "Role", "order-api-role"),
        ];
        assert!(lint("SAG009", &objects).is_empty());
    }

    #[test]
    fn lesson_manifests_are_silent_for_the_legacy_token_and_rbac_rules() {
        let objects = [
            json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "order-api-sa", "namespace": "production"},
                   "automountServiceAccountToken": false}),
            role("Role", "order-api-role", Some("production"), json!([harmless()])),
            binding("RoleBinding", Some("production"), sa("order-api-sa", "production"), "Role", "order-api-role"),
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "payment-processor", "namespace": "payments"},
                   "spec": {"template": {"spec": {
                       "serviceAccountName": "payment-processor-sa", "automountServiceAccountToken": false,
                       "volumes": [{"name": "token-payment-gateway", "projected": {"sources": [
                           {"serviceAccountToken": {"path": "token", "expirationSeconds": 1800, "audience": "payment-gateway-prod"}},
                           {"configMap": {"name": "payment-gateway-ca"}},
                       ]}}],
                       "containers": [{"name": "payment-processor", "image": "company/payment-processor:3.1.0"}]}}}}),
        ];
        for rule in ["SAG007", "SAG008", "SAG009", "SAG010"] {
            assert!(lint(rule, &objects).is_empty(), "{rule}");
        }
    }

    #[test]
    fn harmless_roles_are_silent() {
        for rules in [
            // grants nothing at all
            json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": [""]}]),
            // any group, read-only, on resources without credentials
            json!([{"apiGroups": ["*"], "resources": ["configmaps", "deployments"], "verbs": ["get", "list", "watch"]}]),
            // URLs only
            json!([{"nonResourceURLs": ["*"], "verbs": ["get"]}]),
        ] {
            assert_eq!(pinned(&bound(rules.clone(), true)), [], "{rules}");
        }
    }

    #[test]
    fn cluster_admin_is_one_wildcard_finding() {
        let findings = lint(
            "SAG009",
            &[binding("ClusterRoleBinding", None, sa("deployer", "ci"), "ClusterRole", "cluster-admin")],
        );
        assert_eq!(
            pinned(&findings),
            [(
                "/subjects/0".to_string(),
                Level::Deny,
                format!(
                "ServiceAccount ci/deployer is bound to the built-in ClusterRole cluster-admin across the cluster: \
                 rules[0] grants every verb on every resource of every API group — wildcard (critical): {}",
                attack("wildcard")
            )
            )]
        );
        assert_eq!(findings[0].object.to_string(), "ClusterRoleBinding b");
    }

    #[test]
    fn built_in_view_is_silent_and_edit_and_admin_name_their_risks() {
        let ids = |role: &str| -> Vec<String> {
            let objects = [binding("RoleBinding", Some("production"), sa("app", "production"), "ClusterRole", role)];
            let mut ids: Vec<String> = lint("SAG009", &objects)
                .iter()
                .map(|f| f.message.split(" — ").nth(1).unwrap().split(':').next().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        assert!(ids("view").is_empty());
        let edit = [
            "create-secrets (medium)",
            "create-workloads (high)",
            "exec (high)",
            "impersonate (high)",
            "read-secrets (high)",
            "token-request (high)",
        ];
        assert_eq!(ids("edit"), edit);
        // admin is edit plus Roles and RoleBindings, which grant no bind or escalate
        assert_eq!(ids("admin"), edit);
    }

    #[test]
    fn edit_evidence_names_the_aggregated_built_in_rules() {
        let subjects = json!([
            {"kind": "User", "name": "alice"},
            {"kind": "User", "name": "system:serviceaccount:production:default"},
        ]);
        let findings = lint("SAG009", &[binding("RoleBinding", Some("production"), subjects, "ClusterRole", "edit")]);
        let exec = findings.iter().find(|f| f.message.contains("— exec (high)")).expect("exec");
        assert_eq!(exec.path, "/subjects/1");
        assert_eq!(exec.level, Level::Deny);
        assert_eq!(
            exec.message,
            format!(
                "ServiceAccount production/default (written as User system:serviceaccount:production:default) is \
                 bound to the built-in ClusterRole edit in namespace production: aggregated ClusterRole \
                 system:aggregate-to-edit rules[0] grants get on pods/exec, get on pods/attach; aggregated ClusterRole \
                 system:aggregate-to-edit rules[2] grants create on pods/exec, create on pods/attach — exec (high): {}",
                attack("exec")
            )
        );
    }

    #[test]
    fn a_bundle_cluster_role_labelled_aggregate_to_view_widens_view() {
        let objects = [
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "read-crds", "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"}},
                   "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}),
            binding("RoleBinding", Some("apps"), sa("viewer", "apps"), "ClusterRole", "view"),
        ];
        assert_eq!(
            located(&lint("SAG009", &objects)),
            [(
                "/subjects/0",
                format!(
                "ServiceAccount apps/viewer is bound to the built-in ClusterRole view in namespace apps: aggregated \
                 ClusterRole read-crds rules[0] grants get on secrets — read-secrets (high): {}",
                attack("read-secrets")
            )
                .as_str()
            )]
        );
    }

    #[test]
    fn admin_at_admission_without_a_cluster() {
        let findings = admit_without_cluster(
            "SAG009",
            binding("RoleBinding", Some("apps"), sa("ops", "apps"), "ClusterRole", "admin"),
        );
        assert_eq!(findings.len(), 6);
        assert!(findings
            .iter()
            .all(|f| f.path == "/subjects/0" && f.level == Level::Deny || f.message.contains("(medium)")));
        let impersonate = format!(
            "ServiceAccount apps/ops is bound to the built-in ClusterRole admin in namespace apps: aggregated \
             ClusterRole system:aggregate-to-edit rules[1] grants impersonate on serviceaccounts — impersonate (high): {}",
            attack("impersonate")
        );
        assert!(findings.iter().any(|f| f.message == impersonate), "{findings:#?}");
    }

    #[test]
    fn a_role_binding_resolves_its_cluster_role_and_every_rule_counts() {
        let objects = [
            role(
                "ClusterRole",
                "ci-deployer",
                None,
                json!([
                    harmless(),
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get"]},
                    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
                ]),
            ),
            binding("RoleBinding", Some("ci"), sa("deployer", "ci"), "ClusterRole", "ci-deployer"),
        ];
        let findings = lint("SAG009", &objects);
        assert_eq!(located(&findings), [(
            "/subjects/0",
            format!(
                "ServiceAccount ci/deployer is bound to ClusterRole ci-deployer in namespace ci: rules[2] grants create \
                 on pods/exec — exec (high): {}",
                attack("exec")
            )
            .as_str()
        )]);
        assert_eq!(findings[0].object_index, 1);
    }

    #[test]
    fn one_finding_per_risk_naming_every_rule_that_grants_it() {
        let objects = [
            role(
                "Role",
                "reader",
                Some("ops"),
                json!([
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
                    harmless(),
                    {"apiGroups": ["*"], "resources": ["secrets"], "verbs": ["watch"]},
                ]),
            ),
            binding("RoleBinding", Some("ops"), sa("reader", "ops"), "Role", "reader"),
        ];
        assert_eq!(
            located(&lint("SAG009", &objects)),
            [(
                "/subjects/0",
                format!(
                    "ServiceAccount ops/reader is bound to Role reader in namespace ops: rules[0] grants get, list on \
                 secrets; rules[2] grants watch on secrets — read-secrets (high): {}",
                    attack("read-secrets")
                )
                .as_str()
            )]
        );
    }

    #[test]
    fn findings_are_per_service_account_subject() {
        let subjects = json!([
            {"kind": "Group", "name": "developers"},
            {"kind": "ServiceAccount", "name": "a"},
            {"kind": "ServiceAccount", "name": "b", "namespace": "other"},
        ]);
        let findings = lint("SAG009", &[binding("RoleBinding", Some("ns"), subjects, "ClusterRole", "cluster-admin")]);
        let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["/subjects/1", "/subjects/2"]);
        assert!(findings[0].message.starts_with("ServiceAccount ns/a is bound to"), "{}", findings[0].message);
        assert!(findings[1].message.starts_with("ServiceAccount other/b is bound to"), "{}", findings[1].message);
    }

    #[test]
    fn a_role_of_another_namespace_or_an_undefined_role_is_not_judged() {
        let objects = [
            role("Role", "wide", Some("elsewhere"), json!([{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])),
            binding("RoleBinding", Some("ci"), sa("runner", "ci"), "Role", "wide"),
            binding("RoleBinding", Some("ci"), sa("runner", "ci"), "ClusterRole", "not-in-the-bundle"),
        ];
        assert!(lint("SAG009", &objects).is_empty());
    }

    #[test]
    fn aggregated_cluster_roles_count_in_manifests() {
        let objects = [
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "umbrella"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"example.com/aggregate-to-umbrella": "true"}}]},
                   "rules": []}),
            json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                   "metadata": {"name": "piece", "labels": {"example.com/aggregate-to-umbrella": "true"}},
                   "rules": [harmless(), {"apiGroups": [""], "resources": ["users"], "verbs": ["impersonate"]}]}),
            binding("ClusterRoleBinding", None, sa("bot", "tools"), "ClusterRole", "umbrella"),
        ];
        assert_eq!(
            located(&lint("SAG009", &objects)),
            [(
                "/subjects/0",
                format!(
                "ServiceAccount tools/bot is bound to ClusterRole umbrella across the cluster: aggregated ClusterRole \
                 piece rules[1] grants impersonate on users — impersonate (critical): {}",
                attack("impersonate")
            )
                .as_str()
            )]
        );
    }

    #[test]
    fn rbac_min_severity_to_deny_sets_the_level() {
        let rules = json!([{"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["get"]},
                           {"apiGroups": [""], "resources": ["pods"], "verbs": ["create"]}]);
        let objects =
            [role("Role", "r", Some("ci"), rules), binding("RoleBinding", Some("ci"), sa("bot", "ci"), "Role", "r")];
        let levels = |settings: &Settings| -> Vec<Level> {
            lint_with("SAG009", &objects, settings).iter().map(|f| f.level).collect()
        };
        // read-named-secret (medium, from rules[0]), then create-workloads (high, from rules[1])
        assert_eq!(levels(&Settings::default()), [Level::Warn, Level::Deny]);
        let medium = Settings { rbac_min_severity_to_deny: Severity::Medium, ..Settings::default() };
        assert_eq!(levels(&medium), [Level::Deny, Level::Deny]);
        let critical = Settings { rbac_min_severity_to_deny: Severity::Critical, ..Settings::default() };
        assert_eq!(levels(&critical), [Level::Warn, Level::Warn]);
    }

    #[test]
    fn malformed_rbac_is_reported_where_it_is() {
        let objects = [
            role("Role", "r", Some("ci"), json!([{"apiGroups": [""], "resources": "secrets", "verbs": ["get"]}])),
            binding("ClusterRoleBinding", None, json!([{"kind": "ServiceAccount", "name": "bot"}]), "Role", "r"),
            binding("RoleBinding", Some("ci"), sa("bot", "ci"), "Role", "r"),
        ];
        let findings = lint("SAG009", &objects);
        assert_eq!(pinned(&findings), [
            (
                "/rules/0/resources".to_string(),
                Level::Deny,
                "Role ci/r is not valid RBAC: rules[0]: resources must be a list of strings, found the string \
                 \"secrets\"; the API server rejects it"
                    .to_string()
            ),
            (
                "/roleRef/kind".to_string(),
                Level::Deny,
                "ClusterRoleBinding b is not valid RBAC: a ClusterRoleBinding can only reference a ClusterRole, not a \
                 Role; the API server rejects it"
                    .to_string()
            ),
            (
                "/subjects/0/namespace".to_string(),
                Level::Deny,
                "ClusterRoleBinding b is not valid RBAC: subjects[0]: a ServiceAccount subject of a \
                 ClusterRoleBinding needs a namespace; the API server rejects it"
                    .to_string()
            ),
            // the malformed rule is still judged, read generously
            (
                "/subjects/0".to_string(),
                Level::Deny,
                format!(
                    "ServiceAccount ci/bot is bound to Role r in namespace ci: rules[0] grants get on secrets — \
                     read-secrets (high): {}",
                    attack("read-secrets")
                )
            ),
        ]);
    }

    fn context_aware(on_lookup_failure: OnLookupFailure) -> Settings {
        Settings { context_aware: true, on_lookup_failure, ..Settings::default() }
    }

    #[test]
    fn admission_reads_the_role_from_the_cluster() {
        let cluster = StaticCluster {
            objects: vec![role(
                "Role",
                "ci-deployer",
                Some("ci"),
                json!([harmless(), {"apiGroups": ["*"], "resources": ["secrets"], "verbs": ["watch"]}]),
            )],
            failure: None,
        };
        let request = binding("RoleBinding", Some("ci"), sa("deployer", "ci"), "Role", "ci-deployer");
        let findings = admit("SAG009", request.clone(), &context_aware(OnLookupFailure::Deny), &cluster);
        assert_eq!(
            located(&findings),
            [(
                "/subjects/0",
                format!(
                "ServiceAccount ci/deployer is bound to Role ci-deployer in namespace ci: rules[1] grants watch on \
                 secrets — read-secrets (high): {}",
                attack("read-secrets")
            )
                .as_str()
            )]
        );
        // without context-aware mode the cluster is not asked, and a custom role cannot be judged
        assert!(admit("SAG009", request, &Settings::default(), &cluster).is_empty());
    }

    #[test]
    fn admission_resolves_a_role_binding_to_a_cluster_role_in_the_cluster() {
        let cluster = StaticCluster {
            objects: vec![role(
                "ClusterRole",
                "token-minter",
                None,
                json!([{"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]}]),
            )],
            failure: None,
        };
        let request = binding("RoleBinding", Some("ci"), sa("deployer", "ci"), "ClusterRole", "token-minter");
        assert_eq!(
            located(&admit("SAG009", request, &context_aware(OnLookupFailure::Deny), &cluster)),
            [(
                "/subjects/0",
                format!(
                    "ServiceAccount ci/deployer is bound to ClusterRole token-minter in namespace ci: rules[0] grants \
                 create on serviceaccounts/token — token-request (high): {}",
                    attack("token-request")
                )
                .as_str()
            )]
        );
    }

    #[test]
    fn a_failed_lookup_follows_on_lookup_failure() {
        let cluster = StaticCluster { objects: Vec::new(), failure: Some("connection refused".into()) };
        let request = binding("RoleBinding", Some("ci"), sa("deployer", "ci"), "Role", "ci-deployer");

        let denied = admit("SAG009", request.clone(), &context_aware(OnLookupFailure::Deny), &cluster);
        assert_eq!(located(&denied), [(
            "/subjects/0",
            "ServiceAccount ci/deployer is bound to Role ci-deployer in namespace ci, which could not be read from \
             the cluster (connection refused); on_lookup_failure is deny"
        )]);
        assert_eq!(denied[0].level, Level::Deny);

        let warned = admit("SAG009", request.clone(), &context_aware(OnLookupFailure::Warn), &cluster);
        assert_eq!(warned.len(), 1);
        assert!(warned[0].message.ends_with("on_lookup_failure is warn"), "{}", warned[0].message);
        assert_eq!(warned[0].level, Level::Warn);

        assert!(admit("SAG009", request, &context_aware(OnLookupFailure::Allow), &cluster).is_empty());
    }

    #[test]
    fn warn_level_from_settings_is_kept_for_lookup_failures() {
        let cluster = StaticCluster { objects: Vec::new(), failure: Some("timeout".into()) };
        let mut settings = context_aware(OnLookupFailure::Deny);
        settings.rules.insert("sa-privileged-role".into(), Level::Warn);
        let findings =
            admit("SAG009", binding("RoleBinding", Some("ci"), sa("x", "ci"), "Role", "r"), &settings, &cluster);
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].level, Level::Warn);
        // and a rule turned off reports nothing
        settings.rules.insert("SAG009".into(), Level::Off);
        settings.rules.remove("sa-privileged-role");
        assert!(lint_with(
            "SAG009",
            &[binding("ClusterRoleBinding", None, sa("x", "ci"), "ClusterRole", "cluster-admin")],
            &settings
        )
        .is_empty());
    }
}
