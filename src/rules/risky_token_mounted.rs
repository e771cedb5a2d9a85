use std::collections::HashMap;

use crate::bundle::Obj;
use crate::declare_rule;
use crate::engine::{Cx, Emitter, Mode, Reviewed};
use crate::finding::Level;
use crate::k8s::{self, PodSpec, AUTOMOUNT};
use crate::lookup::AccessAnswer;
use crate::meta::{Category, Scope};
use crate::rbac::access::Identity;
use crate::rbac::catalog::Severity;
use crate::rbac::model::{self, Reach, RoleLookup};
use crate::rbac::review::{questions, RiskQuestion};
use crate::tokens::{api_tokens, describe_service_account, level_after_lookup_failure, ApiToken};

declare_rule! {
    /// A ServiceAccount's danger is its token's exposure times its permissions. SAG009 judges
    /// the permissions, the token rules judge the exposure; this rule joins them, which is the
    /// heart of the lesson: "an attacker who gets code execution in that Pod" holds whatever
    /// the token holds, so a Pod that "never calls the API" should carry no token, and one that
    /// does should carry the token of a ServiceAccount "scoped to exactly the resources it
    /// needs".
    ///
    /// Fires on every Pod spec (Pod, Deployment, ReplicaSet, StatefulSet, DaemonSet, Job,
    /// CronJob, ReplicationController, PodTemplate) whose Pods get an API token — Kubernetes
    /// mounts one (`automountServiceAccountToken` effectively true, or unknown and so true by
    /// default), or a projected `serviceAccountToken` has no audience or one of
    /// `denied_audiences` — for a ServiceAccount that a binding of the manifests grants a
    /// critical or high risk of SAG009's catalog. The binding may name the ServiceAccount
    /// itself (also spelled as a User) or a group it is in (`system:serviceaccounts`,
    /// `system:serviceaccounts:<ns>`, `system:authenticated`). One finding per token and
    /// binding, at `<pod spec>/automountServiceAccountToken` or at the projected token's
    /// source, naming the ServiceAccount, the binding, the role and the risks; the level
    /// follows the most severe risk and `rbac_min_severity_to_deny`, as in SAG009.
    ///
    /// Does not fire on: Pods that get no API token for their ServiceAccount (tokens with an
    /// audience of their own, like the lesson's payment-processor, cannot be used against the
    /// API), whatever the ServiceAccount may do — SAG009 reports the binding itself; medium
    /// risks; ServiceAccounts whose bindings are not in the manifests.
    ///
    /// At admission the policy sees one object, not the bindings, so with
    /// `review_service_account_permissions` (and `context_aware`) it asks the cluster's
    /// authorizer instead: one SubjectAccessReview per request, through Kubewarden's `can_i` host
    /// capability (Kubewarden 1.27 and later; policy-server's ServiceAccount must be allowed to
    /// create SubjectAccessReviews), for `system:serviceaccount:<ns>:<name>` with the groups
    /// every ServiceAccount is in. Each critical or high risk of the catalog is asked through a
    /// representative request of each part it needs (`create pods/exec` for exec, `bind roles`
    /// and `create rolebindings` for bind: a risk holds when every part is allowed); a
    /// namespaced request is asked in the workload's namespace and proves the risk's
    /// in-namespace severity, so create-secrets (medium there) is not asked. Then each entry of
    /// `additional_risky_requests`. Critical risks first; each answer is asked once per request
    /// and at most `max_permission_reviews` per workload (the catalog needs 18 at most); the
    /// risks left unasked are one finding, at the level `on_lookup_failure` gives, as are
    /// reviews that fail (a host error, an authorizer's `evaluationError`, an answer that is not
    /// a SubjectAccessReview status). Unlike Kubewarden's High-Risk Service Account Blocker,
    /// which denies a workload whose ServiceAccount may make user-listed requests whether or
    /// not a token is mounted, a workload whose Pods get a token is denied (one finding per
    /// token and risk, at the token as above, level following `rbac_min_severity_to_deny`) and
    /// one whose Pods get none is only warned, at `<pod spec>/serviceAccountName`. The message
    /// names the risk, its severity, what an attacker does with it and the authorizer's reason,
    /// which for the RBAC authorizer names the binding and the role (`RBAC: allowed by
    /// RoleBinding "debug/shop" of Role "pod-debugger" to ServiceAccount "api/shop"`).
    ///
    /// Fix: set `automountServiceAccountToken: false` on Pods that do not call the API; give
    /// those that do a dedicated ServiceAccount whose Role lists only what they use; move the
    /// risky permission to a separate ServiceAccount that only the Pods needing it run as.
    pub static RULE = {
        id: "SAG015",
        slug: "risky-token-mounted",
        title: "Pods get an API token for a ServiceAccount with a privilege-escalation path",
        category: Category::Rbac,
        default_level: Level::Deny,
        scope: Scope::BundleOrAuthorizer,
        fixable: false,
        remediation: "Set automountServiceAccountToken: false on Pods that never call the API; run those that do as \
            a dedicated ServiceAccount bound to a Role without the risky permission.",
        references: &[
            "Lesson 39, hardening checklist item 3: set automountServiceAccountToken: false on Pods that don't need API \
             access — an attacker with code execution in the Pod has no API credentials to escalate with",
            "Lesson 39, hardening checklist item 2: one SA per application, scoped to exactly the resources it needs",
            "Kubernetes documentation: Role Based Access Control Good Practices, privilege escalation risks",
            "Kubewarden policy: High-Risk Service Account Blocker (SubjectAccessReviews through can_i)",
        ],
        peers: &[
            "Kubewarden high-risk-service-account-blocker (admission only, user-listed operations, mounted token or not)",
            "KubeHound and rbac-police attack paths (need a live cluster)",
        ],
        check: check,
    };
}

/// What one binding grants where it applies: its critical and high risks.
struct RiskyBinding<'a> {
    binding: &'a Obj<'a>,
    role: String,
    risks: String,
    severity: Severity,
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    if cx.mode == Mode::Admission {
        if cx.reviews_permissions() {
            check_with_authorizer(cx, out);
        }
        return;
    }
    let index = RiskIndex::build(cx);
    if index.is_empty() {
        return;
    }
    for (obj, spec) in cx.bundle.workloads() {
        let (sa_name, _) = spec.service_account();
        let Some(namespace) = obj.namespace else { continue };
        let tokens = api_tokens(cx, obj, &spec);
        if tokens.is_empty() {
            continue;
        }
        let identity = Identity::parse(&format!("system:serviceaccount:{namespace}:{sa_name}"), &[])
            .expect("a ServiceAccount identity");
        let account = describe_service_account(Some(namespace), sa_name);
        for risky in index.for_identity(&identity) {
            for token in &tokens {
                let (path, how) = token_place(&spec, token);
                let message = format!(
                    "{how} for {account}, which {} grants {} through {}: code execution in any of these Pods is \
                     enough to use them",
                    risky.binding.object_ref(),
                    risky.risks,
                    risky.role
                );
                let level = cx.settings.level_for_risk(out.level(), risky.severity);
                out.report(obj, path, message).level = level;
            }
        }
    }
}

/// Where a token reaches the Pods, and how, for messages.
fn token_place(spec: &PodSpec<'_>, token: &ApiToken<'_>) -> (String, String) {
    match token {
        ApiToken::Automounted(_) => (
            spec.pointer(AUTOMOUNT),
            "Kubernetes mounts an API token (automountServiceAccountToken is not false)".to_string(),
        ),
        ApiToken::Projected { volume, pointer } => {
            (pointer.clone(), format!("volume {volume} projects a token with the API server's audience"))
        }
    }
}

/// What the authorizer said about one risk.
enum Outcome {
    /// Every review allowed: the authorizer's reasons (the RBAC authorizer names the binding).
    Held(Vec<String>),
    NotHeld,
    Failed(String),
    /// Not (fully) asked: the budget was spent.
    Unasked,
}

fn ask(cx: &Cx<'_>, question: &RiskQuestion, budget: &mut usize) -> Outcome {
    let mut reasons = Vec::new();
    let mut failure = None;
    for review in &question.reviews {
        match cx.review_access(review, budget) {
            Reviewed::Answer(AccessAnswer::Allowed { reason }) => {
                let asked = review.describe();
                reasons.push(match reason {
                    Some(reason) => format!("{asked} ({reason})"),
                    None => asked,
                });
            }
            // one part refused settles it, whatever the others say
            Reviewed::Answer(AccessAnswer::NotAllowed) => return Outcome::NotHeld,
            Reviewed::Answer(AccessAnswer::Failed(error)) => {
                failure.get_or_insert(format!("{}: {error}", review.describe()));
            }
            Reviewed::Answer(AccessAnswer::NotAvailable) => {
                failure.get_or_insert(format!("{}: the host offers no SubjectAccessReviews", review.describe()));
            }
            Reviewed::OverBudget => return failure.map_or(Outcome::Unasked, Outcome::Failed),
        }
    }
    failure.map_or(Outcome::Held(reasons), Outcome::Failed)
}

/// At admission the bindings are not in the request: ask the cluster's authorizer about each
/// risk for the workload's ServiceAccount.
fn check_with_authorizer(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for (obj, spec) in cx.bundle.workloads() {
        let Some(namespace) = obj.namespace else { continue };
        let (sa_name, _) = spec.service_account();
        let account = describe_service_account(Some(namespace), sa_name);
        let tokens = api_tokens(cx, obj, &spec);
        // where the findings go: every token, or the ServiceAccount's name when there is none
        let places: Vec<(String, String)> = if tokens.is_empty() {
            vec![(spec.pointer("serviceAccountName"), format!("These Pods get no API token for {account}"))]
        } else {
            tokens.iter().map(|token| token_place(&spec, token)).collect()
        };
        // a risk held without a token is at most a warning: these Pods cannot use it
        let ceiling = if tokens.is_empty() { Level::Warn } else { Level::Deny };
        let mut budget = cx.settings.max_permission_reviews;
        let (mut failed, mut unasked) = (Vec::new(), Vec::new());
        for question in questions(cx.settings, namespace, sa_name) {
            let reasons = match ask(cx, &question, &mut budget) {
                Outcome::Held(reasons) => reasons,
                Outcome::NotHeld => continue,
                Outcome::Failed(error) => {
                    failed.push(format!("{} ({error})", question.id));
                    continue;
                }
                Outcome::Unasked => {
                    unasked.push(question.id);
                    continue;
                }
            };
            let held = format!(
                "holds {} ({}): the cluster's authorizer allows {} (SubjectAccessReview)",
                question.id,
                question.severity.as_str(),
                reasons.join(" and ")
            );
            let level = cx.settings.level_for_risk(out.level(), question.severity).min(ceiling);
            for (path, how) in &places {
                let message = if tokens.is_empty() {
                    format!(
                        "{how}, so they cannot use its permissions; but it {held}, and any Pod that gets its token {}",
                        question.attack
                    )
                } else {
                    format!(
                        "{how} for {account}, which {held}: an attacker with code execution in any of these Pods {}",
                        question.attack
                    )
                };
                out.report(obj, path.clone(), message).level = level;
            }
        }
        let mut doubts = Vec::new();
        if !failed.is_empty() {
            doubts.push(format!("the SubjectAccessReviews failed for {}", failed.join(", ")));
        }
        if !unasked.is_empty() {
            doubts.push(format!(
                "{} {} not asked: max_permission_reviews ({}) was spent",
                unasked.join(", "),
                if unasked.len() == 1 { "was" } else { "were" },
                cx.settings.max_permission_reviews
            ));
        }
        if doubts.is_empty() {
            continue;
        }
        let Some(level) = level_after_lookup_failure(cx, out.level().min(ceiling)) else { continue };
        let (path, how) = &places[0];
        let for_account = if tokens.is_empty() { String::new() } else { format!(" for {account}") };
        let message = format!("{how}{for_account}, and whether it holds these risks is unknown: {}", doubts.join("; "));
        out.report(obj, path.clone(), message).level = level;
    }
}

/// The bundle's bindings that grant a critical or high risk, by who they name.
struct RiskIndex<'a> {
    risky: Vec<RiskyBinding<'a>>,
    /// Group subjects of each risky binding: (index in `risky`, subject).
    groups: Vec<(usize, &'a serde_json::Value)>,
    by_service_account: HashMap<(&'a str, &'a str), Vec<usize>>,
}

impl<'a> RiskIndex<'a> {
    fn build(cx: &Cx<'a>) -> RiskIndex<'a> {
        let mut index = RiskIndex { risky: Vec::new(), groups: Vec::new(), by_service_account: HashMap::new() };
        for binding in cx.bundle.bindings() {
            let Some((kind, name)) = k8s::role_ref(binding.value) else { continue };
            let Some(reach) = Reach::of_binding(binding.kind, binding.namespace) else { continue };
            let RoleLookup::Found(role) = cx.resolve_role(binding.namespace, kind, name) else { continue };
            let hits: Vec<_> =
                model::risks(&role, reach).into_iter().filter(|hit| hit.severity >= Severity::High).collect();
            let Some(severity) = hits.iter().map(|hit| hit.severity).max() else { continue };
            let risks = model::summarize(&hits).expect("hits are not empty");
            let at = index.risky.len();
            index.risky.push(RiskyBinding { binding, role: role.describe(), risks, severity });
            // ServiceAccount subjects (either spelling) are indexed below; only groups are read
            // per identity, and they are few.
            let subjects = binding.value.get("subjects").and_then(serde_json::Value::as_array);
            for subject in subjects.into_iter().flatten() {
                if subject.get("kind").and_then(serde_json::Value::as_str) == Some("Group") {
                    index.groups.push((at, subject));
                }
            }
            for sa in k8s::service_account_subjects(binding.value, binding.namespace) {
                if let Some(ns) = sa.namespace {
                    index.by_service_account.entry((ns, sa.name)).or_default().push(at);
                }
            }
        }
        index
    }

    fn is_empty(&self) -> bool {
        self.risky.is_empty()
    }

    /// The risky bindings that name `identity` or a group it is in, each once, in order.
    fn for_identity(&self, identity: &Identity) -> Vec<&RiskyBinding<'a>> {
        let (ns, name) = identity.service_account.as_ref().expect("a ServiceAccount");
        let mut found: Vec<usize> =
            self.by_service_account.get(&(ns.as_str(), name.as_str())).cloned().unwrap_or_default();
        for (at, subject) in &self.groups {
            if identity.is_named_by(subject, self.risky[*at].binding.namespace) {
                found.push(*at);
            }
        }
        found.sort_unstable();
        found.dedup();
        found.into_iter().map(|at| &self.risky[at]).collect()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::finding::Level;
    use crate::rules::testing::{lint, located};

    fn deployment(spec: Value) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
               "spec": {"template": {"spec": spec}}})
    }

    fn binding(kind: &str, subjects: Value, role: &str) -> Value {
        let mut metadata = json!({"name": "b"});
        if kind == "RoleBinding" {
            metadata["namespace"] = json!("shop");
        }
        json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": metadata, "subjects": subjects,
               "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}})
    }

    fn sa(name: &str) -> Value {
        json!([{"kind": "ServiceAccount", "name": name, "namespace": "shop"}])
    }

    const EDIT_RISKS: &str = "impersonate (high), token-request (high), read-secrets (high), create-workloads (high), \
        exec (high)";

    #[test]
    fn an_automounted_token_for_a_service_account_bound_to_edit() {
        let objects = [
            deployment(json!({"serviceAccountName": "api", "containers": [{"name": "c", "image": "i"}]})),
            binding("RoleBinding", sa("api"), "edit"),
        ];
        let findings = lint("SAG015", &objects);
        assert_eq!(
            located(&findings),
            [(
                "/spec/template/spec/automountServiceAccountToken",
                format!(
                    "Kubernetes mounts an API token (automountServiceAccountToken is not false) for ServiceAccount \
                 shop/api, which RoleBinding shop/b grants {EDIT_RISKS} through the built-in ClusterRole edit: code \
                 execution in any of these Pods is enough to use them"
                )
                .as_str()
            )]
        );
        assert_eq!(findings[0].level, Level::Deny);
    }

    #[test]
    fn a_projected_api_token_and_a_group_binding() {
        let objects = [
            deployment(json!({"serviceAccountName": "api", "automountServiceAccountToken": false,
                "volumes": [{"name": "kube", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}},
                            {"name": "vault", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "audience": "vault"}}]}}],
                "containers": [{"name": "c", "image": "i"}]})),
            binding(
                "ClusterRoleBinding",
                json!([{"kind": "Group", "name": "system:serviceaccounts:shop"}]),
                "cluster-admin",
            ),
        ];
        assert_eq!(
            located(&lint("SAG015", &objects)),
            [(
                "/spec/template/spec/volumes/0/projected/sources/0/serviceAccountToken",
                "volume kube projects a token with the API server's audience for ServiceAccount shop/api, which \
             ClusterRoleBinding b grants wildcard (critical) through the built-in ClusterRole cluster-admin: code \
             execution in any of these Pods is enough to use them"
            )]
        );
    }

    #[test]
    fn near_misses() {
        let risky = binding("RoleBinding", sa("api"), "edit");
        // no token: the lesson's payment-processor shape
        let no_token = deployment(json!({"serviceAccountName": "api", "automountServiceAccountToken": false,
            "volumes": [{"name": "t", "projected": {"sources": [{"serviceAccountToken": {"path": "t", "audience": "fraud-detection-api"}}]}}],
            "containers": [{"name": "c", "image": "i"}]}));
        assert!(lint("SAG015", &[no_token, risky.clone()]).is_empty());
        // the ServiceAccount's own setting turns automount off
        let quiet_sa = json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop"},
                              "automountServiceAccountToken": false});
        let plain = deployment(json!({"serviceAccountName": "api", "containers": [{"name": "c", "image": "i"}]}));
        assert!(lint("SAG015", &[quiet_sa, plain.clone(), risky]).is_empty());
        // a token, but the role carries no critical or high risk
        assert!(lint("SAG015", &[plain.clone(), binding("RoleBinding", sa("api"), "view")]).is_empty());
        // a risky binding of another ServiceAccount
        assert!(lint("SAG015", &[plain, binding("RoleBinding", sa("other"), "edit")]).is_empty());
    }

    mod at_admission {
        use std::cell::RefCell;

        use serde_json::{json, Value};

        use crate::finding::{Finding, Level};
        use crate::lookup::{AccessAnswer, AccessReview, ClusterLookup, Lookup};
        use crate::rules::testing::{admit, located};
        use crate::settings::{OnLookupFailure, Settings};

        /// An authorizer that allows the listed requests (`create pods/exec` ...) in namespace
        /// shop, refuses the rest, and counts what it is asked. Fails every review when
        /// `failure` is set.
        #[derive(Default)]
        struct Authorizer {
            allowed: Vec<(&'static str, Option<&'static str>)>,
            failure: Option<AccessAnswer>,
            service_account: Option<Value>,
            asked: RefCell<Vec<String>>,
        }

        impl ClusterLookup for Authorizer {
            fn get(&self, _: &str, _: &str, _: Option<&str>, _: &str) -> Lookup<'static> {
                self.service_account.clone().map_or(Lookup::NotFound, Lookup::found)
            }

            fn can_i(&self, review: &AccessReview) -> AccessAnswer {
                self.asked.borrow_mut().push(review.describe());
                assert_eq!(review.user, "system:serviceaccount:shop:api");
                if let Some(failure) = &self.failure {
                    return failure.clone();
                }
                let held = self.allowed.iter().find(|(asked, _)| review.describe().starts_with(asked));
                match held {
                    Some((_, reason)) => AccessAnswer::Allowed { reason: reason.map(String::from) },
                    None => AccessAnswer::NotAllowed,
                }
            }
        }

        fn reviewing(extra: Value) -> Settings {
            let mut settings = json!({"context_aware": true, "review_service_account_permissions": true});
            settings.as_object_mut().unwrap().extend(extra.as_object().cloned().unwrap_or_default());
            Settings::from_value(settings).unwrap()
        }

        fn deployment(spec: Value) -> Value {
            json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop"},
                   "spec": {"template": {"spec": spec}}})
        }

        fn with_token() -> Value {
            deployment(json!({"serviceAccountName": "api", "containers": [{"name": "c", "image": "i"}]}))
        }

        const EXEC_REASON: &str =
            r#"RBAC: allowed by RoleBinding "debug/shop" of Role "pod-debugger" to ServiceAccount "api/shop""#;

        fn exec_allowed() -> Authorizer {
            Authorizer { allowed: vec![("create pods/exec", Some(EXEC_REASON))], ..Authorizer::default() }
        }

        fn levels(findings: &[Finding]) -> Vec<Level> {
            findings.iter().map(|f| f.level).collect()
        }

        #[test]
        fn a_token_for_a_service_account_the_authorizer_lets_exec_is_denied() {
            let cluster = exec_allowed();
            let findings = admit("SAG015", with_token(), &reviewing(json!({})), &cluster);
            assert_eq!(
                located(&findings),
                [(
                    "/spec/template/spec/automountServiceAccountToken",
                    "Kubernetes mounts an API token (automountServiceAccountToken is not false) for ServiceAccount \
                     shop/api, which holds exec (high): the cluster's authorizer allows create pods/exec in namespace shop \
                     (RBAC: allowed by RoleBinding \"debug/shop\" of Role \"pod-debugger\" to ServiceAccount \
                     \"api/shop\") (SubjectAccessReview): an attacker with code execution in any of these Pods runs \
                     commands in running Pods and takes their ServiceAccount tokens"
                )]
            );
            assert_eq!(levels(&findings), [Level::Deny]);
            // the whole catalog was asked, each review once; a refused first part of bind,
            // escalate and approve-csr settles them (18 reviews at most)
            assert_eq!(cluster.asked.borrow().len(), 14);
        }

        #[test]
        fn without_a_token_it_is_a_warning_at_the_service_account_name() {
            let no_token = deployment(json!({"serviceAccountName": "api", "automountServiceAccountToken": false,
                "containers": [{"name": "c", "image": "i"}]}));
            let findings = admit("SAG015", no_token, &reviewing(json!({})), &exec_allowed());
            assert_eq!(
                located(&findings),
                [(
                    "/spec/template/spec/serviceAccountName",
                    "These Pods get no API token for ServiceAccount shop/api, so they cannot use its permissions; but \
                     it holds exec (high): the cluster's authorizer allows create pods/exec in \
                     namespace shop (RBAC: allowed by RoleBinding \"debug/shop\" of Role \"pod-debugger\" to \
                     ServiceAccount \"api/shop\") (SubjectAccessReview), and any Pod that gets its token runs \
                     commands in running Pods and takes their ServiceAccount tokens"
                )]
            );
            assert_eq!(levels(&findings), [Level::Warn]);
            // the ServiceAccount's own automountServiceAccountToken: false counts too
            let quiet = Authorizer {
                service_account: Some(json!({"apiVersion": "v1", "kind": "ServiceAccount",
                    "metadata": {"name": "api", "namespace": "shop"}, "automountServiceAccountToken": false})),
                ..exec_allowed()
            };
            assert_eq!(levels(&admit("SAG015", with_token(), &reviewing(json!({})), &quiet)), [Level::Warn]);
        }

        #[test]
        fn nothing_when_the_authorizer_refuses_everything_or_reviews_are_off() {
            let cluster = Authorizer::default();
            assert!(admit("SAG015", with_token(), &reviewing(json!({})), &cluster).is_empty());
            assert_eq!(cluster.asked.borrow().len(), 14);
            let off = Settings { context_aware: true, ..Settings::default() };
            let cluster = exec_allowed();
            assert!(admit("SAG015", with_token(), &off, &cluster).is_empty());
            assert!(cluster.asked.borrow().is_empty(), "no review without the setting");
        }

        #[test]
        fn a_conjunctive_risk_holds_only_when_every_part_is_allowed() {
            let bind_only =
                Authorizer { allowed: vec![("bind roles.rbac.authorization.k8s.io", None)], ..Authorizer::default() };
            assert!(admit("SAG015", with_token(), &reviewing(json!({})), &bind_only).is_empty());
            let both = Authorizer {
                allowed: vec![
                    ("bind roles.rbac.authorization.k8s.io", None),
                    ("create rolebindings.rbac.authorization.k8s.io", None),
                ],
                ..Authorizer::default()
            };
            let findings = admit("SAG015", with_token(), &reviewing(json!({})), &both);
            assert_eq!(findings.len(), 1);
            assert!(
                findings[0].message.contains(
                    "holds bind (high): the cluster's authorizer allows bind roles.rbac.authorization.k8s.io in \
                     namespace shop and create rolebindings.rbac.authorization.k8s.io in namespace shop \
                     (SubjectAccessReview)"
                ),
                "{}",
                findings[0].message
            );
        }

        #[test]
        fn each_review_is_asked_once_for_two_tokens() {
            let two_tokens = deployment(json!({"serviceAccountName": "api",
                "volumes": [{"name": "kube", "projected": {"sources": [{"serviceAccountToken": {"path": "t"}}]}}],
                "containers": [{"name": "a", "image": "i"}, {"name": "b", "image": "i"}]}));
            let cluster = exec_allowed();
            let findings = admit("SAG015", two_tokens, &reviewing(json!({})), &cluster);
            let paths: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
            assert_eq!(
                paths,
                [
                    "/spec/template/spec/automountServiceAccountToken",
                    "/spec/template/spec/volumes/0/projected/sources/0/serviceAccountToken"
                ]
            );
            let asked = cluster.asked.borrow();
            assert_eq!(asked.len(), 14);
            assert_eq!(asked.iter().filter(|a| a.as_str() == "create pods/exec in namespace shop").count(), 1);
        }

        #[test]
        fn failures_follow_on_lookup_failure() {
            let failing = || Authorizer {
                failure: Some(AccessAnswer::Failed("the authorizer could not decide: webhook timed out".into())),
                ..Authorizer::default()
            };
            let findings = admit("SAG015", with_token(), &reviewing(json!({})), &failing());
            assert_eq!(findings.len(), 1, "one finding for every failed review");
            assert_eq!(findings[0].path, "/spec/template/spec/automountServiceAccountToken");
            assert!(
                findings[0].message.starts_with(
                    "Kubernetes mounts an API token (automountServiceAccountToken is not false) for ServiceAccount \
                     shop/api, and whether it holds these risks is unknown: the SubjectAccessReviews failed for \
                     impersonate (impersonate users cluster-wide: the authorizer could not decide: webhook timed \
                     out), nodes-proxy ("
                ),
                "{}",
                findings[0].message
            );
            assert_eq!(levels(&findings), [Level::Deny]);
            let warn = reviewing(json!({"on_lookup_failure": "warn"}));
            assert_eq!(levels(&admit("SAG015", with_token(), &warn, &failing())), [Level::Warn]);
            let allow = reviewing(json!({"on_lookup_failure": "allow"}));
            assert!(admit("SAG015", with_token(), &allow, &failing()).is_empty());
            // a host without SubjectAccessReviews is a failure too
            let settings = reviewing(json!({}));
            assert_eq!(settings.on_lookup_failure, OnLookupFailure::Deny);
            let findings = admit("SAG015", with_token(), &settings, &crate::lookup::StaticCluster::default());
            assert!(findings[0].message.contains("the host offers no SubjectAccessReviews"), "{}", findings[0].message);
        }

        #[test]
        fn reviews_past_the_budget_are_one_finding_and_held_risks_are_still_reported() {
            let settings = reviewing(json!({"max_permission_reviews": 10}));
            let cluster = Authorizer { allowed: vec![("impersonate users", None)], ..Authorizer::default() };
            let findings = admit("SAG015", with_token(), &settings, &cluster);
            assert_eq!(cluster.asked.borrow().len(), 10);
            assert_eq!(levels(&findings), [Level::Deny, Level::Deny]);
            assert!(findings.iter().any(|f| f.message.contains("holds impersonate (critical)")));
            let unasked = findings.iter().find(|f| f.message.contains("max_permission_reviews")).unwrap();
            assert!(
                unasked.message.ends_with(
                    "whether it holds these risks is unknown: exec, ephemeral-containers, \
                     modify-node, modify-namespace were not asked: max_permission_reviews (10) was spent"
                ),
                "{}",
                unasked.message
            );
            let warn = reviewing(json!({"max_permission_reviews": 10, "on_lookup_failure": "warn"}));
            let findings = admit("SAG015", with_token(), &warn, &cluster);
            let level_of = |text: &str| findings.iter().find(|f| f.message.contains(text)).map(|f| f.level);
            assert_eq!(level_of("max_permission_reviews"), Some(Level::Warn), "past the budget: on_lookup_failure");
            assert_eq!(level_of("holds impersonate"), Some(Level::Deny), "a held risk keeps its level");
        }

        #[test]
        fn additional_risky_requests_are_asked_after_the_catalog() {
            let settings = reviewing(json!({"additional_risky_requests": [
                {"verb": "delete", "group": "apps", "resource": "deployments", "severity": "medium"}]}));
            let cluster = Authorizer { allowed: vec![("delete deployments.apps", None)], ..Authorizer::default() };
            let findings = admit("SAG015", with_token(), &settings, &cluster);
            assert_eq!(cluster.asked.borrow().len(), 15);
            assert_eq!(levels(&findings), [Level::Warn], "medium is below rbac_min_severity_to_deny");
            assert!(findings[0].message.contains(
                "holds additional_risky_requests[0] (medium): the cluster's authorizer allows delete \
                 deployments.apps in namespace shop (SubjectAccessReview): an attacker with code execution in any \
                 of these Pods makes a request the policy's settings list as risky"
            ));
        }
    }
}
