use serde_json::{json, Value};

use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::{Fix, Level};
use crate::k8s::{self, AUTOMOUNT};
use crate::meta::{Category, Scope};

declare_rule! {
    /// Every namespace has a `default` ServiceAccount, and every Pod that names no ServiceAccount
    /// runs as it. Unless that ServiceAccount sets `automountServiceAccountToken: false`, each of
    /// those Pods gets an API token mounted at `/var/run/secrets/kubernetes.io/serviceaccount/token`,
    /// whether it calls the API or not. The token has no permissions until someone binds a role to
    /// `default` by mistake, and then every Pod of the namespace inherits them.
    ///
    /// This is item 1 of the lesson's hardening checklist: disable auto-mount on the default
    /// ServiceAccount in every application namespace. Pods that need a token then say so
    /// explicitly, ideally with a dedicated ServiceAccount.
    ///
    /// In a cluster, prefer running this rule with `mutate: true`: namespaces get their `default`
    /// ServiceAccount from a controller, and the policy then sets the field as it is created
    /// instead of rejecting it.
    ///
    /// Fires on: a ServiceAccount named `default` whose `automountServiceAccountToken` is missing or
    /// `true`. Fix: set it to `false`.
    pub static RULE = {
        id: "SAG001",
        slug: "default-sa-automount",
        title: "The default ServiceAccount mounts its token into Pods",
        category: Category::TokenMounting,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: true,
        remediation: "Set automountServiceAccountToken: false on the default ServiceAccount \
            (kubectl patch serviceaccount default -n <ns> -p '{\"automountServiceAccountToken\": false}').",
        references: &[
            "Lesson 39, hardening checklist item 1: disable auto-mount on the default ServiceAccount",
            "CIS Kubernetes Benchmark 5.1.5: ensure that default service accounts are not actively used",
        ],
        peers: &[
            "Checkov CKV_K8S_41",
            "Kubescape C-0189",
            "Kyverno restrict-sa-automount-sa-token",
        ],
        check: check,
    };
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for sa in cx.bundle.of_kind("ServiceAccount").filter(|sa| sa.name == "default") {
        let path = format!("/{AUTOMOUNT}");
        let namespace = sa.namespace.map(|ns| format!("namespace {ns}")).unwrap_or_else(|| "its namespace".into());
        let message = match sa.value.get(AUTOMOUNT) {
            None | Some(Value::Null) => format!(
                "the default ServiceAccount does not set automountServiceAccountToken, so every Pod in {namespace} \
                 that names no ServiceAccount gets an API token mounted"
            ),
            Some(value) => match k8s::as_bool(value) {
                Some(false) => continue,
                Some(true) => format!(
                    "the default ServiceAccount sets automountServiceAccountToken: true, so every Pod in {namespace} \
                     that names no ServiceAccount gets an API token mounted"
                ),
                None => format!("automountServiceAccountToken is {value}, not a boolean; Kubernetes will reject it or read it as unset"),
            },
        };
        out.report(sa, path.clone(), message).fix = Some(Fix::new(
            "set automountServiceAccountToken: false",
            [json!({"op": "add", "path": path, "value": false})],
        ));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::rules::testing::{admit_without_cluster, lint, located};

    #[test]
    fn fires_when_unset_with_the_namespace_in_the_message() {
        let findings = lint(
            "SAG001",
            &[json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": "production"}
            })],
        );
        assert_eq!(located(&findings), [(
            "/automountServiceAccountToken",
            "the default ServiceAccount does not set automountServiceAccountToken, so every Pod in namespace production \
             that names no ServiceAccount gets an API token mounted"
        )]);
        assert_eq!(findings[0].object.to_string(), "ServiceAccount production/default");
        let fix = findings[0].fix.as_ref().expect("fixable");
        assert_eq!(
            serde_json::to_value(&fix.patch).unwrap(),
            json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}])
        );
    }

    #[test]
    fn fires_when_true_also_at_admission() {
        let findings = admit_without_cluster(
            "SAG001",
            json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default"}, "automountServiceAccountToken": true
            }),
        );
        assert_eq!(
            located(&findings),
            [(
                "/automountServiceAccountToken",
                "the default ServiceAccount sets automountServiceAccountToken: true, so every Pod in its namespace \
             that names no ServiceAccount gets an API token mounted"
            )]
        );
    }

    #[test]
    fn silent_when_false_or_not_the_default_sa() {
        assert!(lint(
            "SAG001",
            &[json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": "production"}, "automountServiceAccountToken": false
            })]
        )
        .is_empty());
        // YAML 1.1 spelling, as Kubernetes' decoder reads it
        assert!(lint(
            "SAG001",
            &[json!({
                "kind": "ServiceAccount", "metadata": {"name": "default"}, "automountServiceAccountToken": "off"
            })]
        )
        .is_empty());
        assert!(lint("SAG001", &[json!({
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "order-api-sa", "namespace": "production"}
        })]).is_empty());
    }
}
