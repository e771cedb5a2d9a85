use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::lookup::Lookup;
use crate::meta::{Category, Scope};
use crate::rbac;
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
    /// as `kind: User, name: system:serviceaccount:<ns>:<name>`) whose roleRef is:
    ///
    /// * the built-in ClusterRole `cluster-admin`, `admin` or `edit` — judged by name, since they
    ///   exist in every cluster and are never in the linted files (a RoleBinding to them counts
    ///   too: it grants the role inside that namespace);
    /// * a Role or ClusterRole found in the bundle, or in the cluster at admission with
    ///   `context_aware: true`, any of whose rules (every position, not only `rules[0]`) has
    ///   `*` in apiGroups, resources or verbs; get, list or watch on `secrets`; create on `pods`;
    ///   create or get on `pods/exec` or `pods/attach`; create on `serviceaccounts/token`; or
    ///   the `bind`, `escalate` or `impersonate` verb. A RoleBinding that references a
    ///   ClusterRole is resolved to that ClusterRole. A ClusterRole that aggregates others
    ///   (`aggregationRule`) is judged with the rules of the bundle's ClusterRoles it selects.
    ///
    /// The finding is reported once per ServiceAccount subject, at `/subjects/<i>`, and its
    /// message names the subject, the role, where it applies and which rule grants what, e.g.
    /// "ServiceAccount ci/deployer is bound to ClusterRole ci-deployer in namespace ci:
    /// rules[2] grants create on pods/exec".
    ///
    /// When the role cannot be read because the cluster look-up failed, `on_lookup_failure`
    /// decides: `deny` reports the finding naming the error, `warn` reports it as a warning,
    /// `allow` reports nothing.
    ///
    /// Does not fire on: the lesson's `order-api-role` (get, list, watch on ConfigMaps); users
    /// and groups (SAG010 covers the ServiceAccount groups); a role that is neither built in nor
    /// found (a binding to a missing role grants nothing until the role exists; at admission
    /// without `context_aware` only built-in roles can be judged). `resourceNames` does not
    /// lower the verdict (a named Secret still holds a credential). Create on
    /// Deployments and other controllers also runs Pods as any ServiceAccount of the namespace,
    /// but is what every deployment tool needs, so it is not flagged. At admission the rule sees
    /// bindings, not roles: a Role widened after it was bound is caught by linting the manifests
    /// or at the binding's next update.
    ///
    /// Fix: give the ServiceAccount a Role listing the exact resources and verbs it uses (as the
    /// lesson's `order-api-role` does); read Secrets through a mounted volume rather than the
    /// API; run one-off admin tasks as a person, not as a workload.
    pub static RULE = {
        id: "SAG009",
        slug: "sa-privileged-role",
        title: "A ServiceAccount is bound to a powerful role",
        category: Category::Rbac,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Bind the ServiceAccount to a Role that lists only the resources and verbs the workload uses; \
            no wildcards, no Secrets access, no pod creation or exec, no bind, escalate or impersonate.",
        references: &[
            "Lesson 39: a dedicated ServiceAccount bound to a minimal Role (order-api-sa can only read ConfigMaps); \
             quiz: the edit ClusterRole granted to a ServiceAccount",
            "Lesson 39, hardening checklist item 2: one SA per application, scoped to exactly the resources it needs",
            "CIS Kubernetes Benchmark 5.1.1: ensure that the cluster-admin role is only used where required",
            "CIS Kubernetes Benchmark 5.1.2: minimize access to secrets",
            "CIS Kubernetes Benchmark 5.1.3: minimize wildcard use in Roles and ClusterRoles",
            "CIS Kubernetes Benchmark 5.1.4: minimize access to create pods",
            "CIS Kubernetes Benchmark 5.1.8: limit use of the bind, impersonate and escalate permissions",
            "Kubernetes documentation: RBAC good practices (privilege escalation risks)",
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
        check: check,
    };
}

/// What the binding's role amounts to.
enum Verdict {
    /// Nothing dangerous found, or nothing to judge.
    Fine,
    /// The role is powerful: how to name it, and what it grants.
    Powerful { role: String, grants: String },
    /// The cluster look-up failed with this error.
    LookupFailed(String),
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for binding in cx.bundle.subjects().filter(|o| k8s::is_binding(o.kind)) {
        let subjects = k8s::service_account_subjects(binding.value, binding.namespace);
        if subjects.is_empty() {
            continue;
        }
        let Some((role_kind, role_name)) = k8s::role_ref(binding.value) else { continue };
        let role = format!("{role_kind} {role_name}");
        let scope = rbac::binding_scope(binding);
        let verdict = judge(cx, binding.namespace, role_kind, role_name);
        for subject in &subjects {
            let path = format!("/subjects/{}", subject.index);
            let subject = rbac::describe_subject(subject);
            match &verdict {
                Verdict::Fine => {}
                Verdict::Powerful { role, grants } => {
                    out.report(binding, path, format!("{subject} is bound to {role} {scope}: {grants}"));
                }
                Verdict::LookupFailed(error) => {
                    let level = match cx.settings.on_lookup_failure {
                        OnLookupFailure::Allow => continue,
                        OnLookupFailure::Warn => out.level().min(Level::Warn),
                        OnLookupFailure::Deny => out.level(),
                    };
                    let setting = match cx.settings.on_lookup_failure {
                        OnLookupFailure::Warn => "warn",
                        _ => "deny",
                    };
                    let message = format!(
                        "{subject} is bound to {role} {scope}, which could not be read from the cluster ({error}); \
                         on_lookup_failure is {setting}"
                    );
                    out.report(binding, path, message).level = level;
                }
            }
        }
    }
}

fn judge(cx: &Cx<'_>, binding_namespace: Option<&str>, role_kind: &str, role_name: &str) -> Verdict {
    if role_kind == "ClusterRole" {
        if let Some(grants) = rbac::built_in_powerful_cluster_role(role_name) {
            let role = format!("the built-in ClusterRole {role_name}");
            return Verdict::Powerful { role, grants: grants.to_string() };
        }
    }
    let role = match cx.role(role_kind, binding_namespace, role_name) {
        Lookup::Found(role) => role,
        Lookup::Failed(error) => return Verdict::LookupFailed(error),
        Lookup::NotFound | Lookup::NotAvailable => return Verdict::Fine,
    };
    let mut grants = rbac::role_grants(&role);
    if role_kind == "ClusterRole" {
        for aggregated in rbac::aggregated_cluster_roles(&role, cx.bundle) {
            grants.extend(
                rbac::role_grants(aggregated.value)
                    .into_iter()
                    .map(|grant| format!("aggregated ClusterRole {} {grant}", aggregated.name)),
            );
        }
    }
    if grants.is_empty() {
        Verdict::Fine
    } else {
        Verdict::Powerful { role: format!("{role_kind} {role_name}"), grants: grants.join("; ") }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::finding::Level;
    use crate::lookup::StaticCluster;
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

    const HARMLESS: &str = r#"{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list", "watch"]}"#;

    fn harmless() -> Value {
        serde_json::from_str(HARMLESS).unwrap()
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
    fn cluster_admin_through_a_cluster_role_binding() {
        let findings = lint(
            "SAG009",
            &[binding("ClusterRoleBinding", None, sa("deployer", "ci"), "ClusterRole", "cluster-admin")],
        );
        assert_eq!(
            located(&findings),
            [(
                "/subjects/0",
                "ServiceAccount ci/deployer is bound to the built-in ClusterRole cluster-admin across the cluster: \
             every verb on every resource"
            )]
        );
        assert_eq!(findings[0].object.to_string(), "ClusterRoleBinding b");
        assert_eq!(findings[0].level, Level::Deny);
    }

    #[test]
    fn edit_through_a_role_binding_to_a_user_spelled_service_account() {
        let subjects = json!([
            {"kind": "User", "name": "alice"},
            {"kind": "User", "name": "system:serviceaccount:production:default"},
        ]);
        let findings = lint("SAG009", &[binding("RoleBinding", Some("production"), subjects, "ClusterRole", "edit")]);
        assert_eq!(located(&findings), [(
            "/subjects/1",
            "ServiceAccount production/default (written as User system:serviceaccount:production:default) is bound to \
             the built-in ClusterRole edit in namespace production: read and write on most namespaced objects, \
             including Secrets, pods/exec and running Pods as any ServiceAccount of the namespace"
        )]);
    }

    #[test]
    fn admin_at_admission_without_a_cluster() {
        let findings = admit_without_cluster(
            "SAG009",
            binding("RoleBinding", Some("apps"), sa("ops", "apps"), "ClusterRole", "admin"),
        );
        assert_eq!(located(&findings), [(
            "/subjects/0",
            "ServiceAccount apps/ops is bound to the built-in ClusterRole admin in namespace apps: read and write on \
             almost every namespaced object, including Secrets, pods/exec, Roles and RoleBindings, and running Pods \
             as any ServiceAccount of the namespace"
        )]);
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
                    {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["get", "update"]},
                    {"apiGroups": [""], "resources": ["pods/exec"], "verbs": ["create"]},
                ]),
            ),
            binding("RoleBinding", Some("ci"), sa("deployer", "ci"), "ClusterRole", "ci-deployer"),
        ];
        let findings = lint("SAG009", &objects);
        assert_eq!(located(&findings), [(
            "/subjects/0",
            "ServiceAccount ci/deployer is bound to ClusterRole ci-deployer in namespace ci: rules[2] grants create on pods/exec"
        )]);
        assert_eq!(findings[0].object_index, 1);
    }

    #[test]
    fn wildcards_in_any_field_and_any_rule_position() {
        for (field, expected) in [
            ("apiGroups", "rules[1] grants * in apiGroups"),
            ("resources", "rules[1] grants * in resources"),
            ("verbs", "rules[1] grants * in verbs"),
        ] {
            let mut wide = json!({"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get"]});
            wide[field] = json!(["*"]);
            for (binding_kind, namespace, scope) in
                [("RoleBinding", Some("ci"), "in namespace ci"), ("ClusterRoleBinding", None, "across the cluster")]
            {
                let objects = [
                    role("ClusterRole", "wide", None, json!([harmless(), wide.clone()])),
                    binding(binding_kind, namespace, sa("runner", "ci"), "ClusterRole", "wide"),
                ];
                let message = format!("ServiceAccount ci/runner is bound to ClusterRole wide {scope}: {expected}");
                assert_eq!(
                    located(&lint("SAG009", &objects)),
                    [("/subjects/0", message.as_str())],
                    "{field} {binding_kind}"
                );
            }
        }
    }

    #[test]
    fn several_dangerous_rules_are_all_named() {
        let objects = [
            role(
                "Role",
                "reader",
                Some("ops"),
                json!([
                    {"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "list"]},
                    harmless(),
                    {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["rolebindings"], "verbs": ["create", "bind"]},
                    {"apiGroups": [""], "resources": ["serviceaccounts/token", "pods"], "verbs": ["create"]},
                ]),
            ),
            binding("RoleBinding", Some("ops"), sa("reader", "ops"), "Role", "reader"),
        ];
        assert_eq!(located(&lint("SAG009", &objects)), [(
            "/subjects/0",
            "ServiceAccount ops/reader is bound to Role reader in namespace ops: rules[0] grants get, list on secrets; \
             rules[2] grants bind on rolebindings; rules[3] grants create on pods, create on serviceaccounts/token"
        )]);
    }

    #[test]
    fn one_finding_per_service_account_subject() {
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
                "ServiceAccount tools/bot is bound to ClusterRole umbrella across the cluster: \
             aggregated ClusterRole piece rules[1] grants impersonate on users"
            )]
        );
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
        assert_eq!(located(&findings), [(
            "/subjects/0",
            "ServiceAccount ci/deployer is bound to Role ci-deployer in namespace ci: rules[1] grants * in apiGroups, watch on secrets"
        )]);
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
                json!([
                    {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
                ]),
            )],
            failure: None,
        };
        let request = binding("RoleBinding", Some("ci"), sa("deployer", "ci"), "ClusterRole", "token-minter");
        assert_eq!(
            located(&admit("SAG009", request, &context_aware(OnLookupFailure::Deny), &cluster)),
            [(
                "/subjects/0",
                "ServiceAccount ci/deployer is bound to ClusterRole token-minter in namespace ci: \
             rules[0] grants create on serviceaccounts/token"
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
