//! The SubjectAccessReviews that tell, at admission, whether a ServiceAccount holds a risk of
//! the catalog: the cluster's authorizer answers for every binding, which one admission request
//! cannot show. SAG015 asks them (`review_service_account_permissions`).

use super::catalog::{Access, ResourceScope, Risk, Severity, RISKS};
use crate::lookup::AccessReview;
use crate::settings::{RiskyRequest, Settings};

/// One risk to ask about: held when the authorizer allows every one of `reviews`.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskQuestion {
    /// The catalog id, or `additional_risky_requests[<i>]`.
    pub id: String,
    pub severity: Severity,
    /// What an attacker holding the token does with it, in one sentence without a subject.
    pub attack: String,
    pub reviews: Vec<AccessReview>,
}

/// The groups every ServiceAccount is in: a SubjectAccessReview without them would miss the
/// bindings to `system:serviceaccounts` and the like.
pub fn service_account_groups(namespace: &str) -> Vec<String> {
    vec![
        "system:serviceaccounts".to_string(),
        format!("system:serviceaccounts:{namespace}"),
        "system:authenticated".to_string(),
    ]
}

/// What to ask about ServiceAccount `namespace/name`, most severe first: each critical or high
/// risk of the catalog, then each of `additional_risky_requests`.
///
/// A risk is asked through one representative request per part it needs (the first request of
/// each, e.g. `create pods` for create-workloads): every request of the catalog would be
/// ~60 reviews per workload. A namespaced request is asked in the workload's namespace, so it
/// proves the risk there only, at the catalog's in-namespace severity; a cluster-scoped one
/// proves it across the cluster. Risks that are medium where they can be proved are not asked.
pub fn questions(settings: &Settings, namespace: &str, name: &str) -> Vec<RiskQuestion> {
    let user = format!("system:serviceaccount:{namespace}:{name}");
    let groups = service_account_groups(namespace);
    let review = |verb: &str, group: &str, resource: &str, ns: Option<&str>, object: Option<&str>| {
        let (resource, subresource) = match resource.split_once('/') {
            Some((resource, sub)) => (resource, Some(sub.to_string())),
            None => (resource, None),
        };
        AccessReview {
            user: user.clone(),
            groups: groups.clone(),
            verb: verb.to_string(),
            group: group.to_string(),
            resource: resource.to_string(),
            subresource,
            namespace: ns.map(String::from),
            name: object.map(String::from),
        }
    };
    let representative = |access: &Access| {
        let (verb, resource) = (access.verbs[0], access.resources[0]);
        match access.scope {
            ResourceScope::Namespaced => review(verb, access.api_group, resource, Some(namespace), None),
            ResourceScope::Cluster => review(verb, access.api_group, resource, None, None),
            // the API server files a Namespace under its own name
            ResourceScope::OwnNamespace => review(verb, access.api_group, resource, Some(namespace), Some(namespace)),
        }
    };
    let question = |risk: &Risk| {
        if risk.needs.is_empty() {
            return None;
        }
        let firsts: Vec<&Access> = risk.needs.iter().filter_map(|part| part.first()).collect();
        let across_cluster = firsts.iter().any(|access| access.scope == ResourceScope::Cluster);
        let severity = risk.severity_for(across_cluster)?;
        Some(RiskQuestion {
            id: risk.id.to_string(),
            severity,
            attack: risk.attack.to_string(),
            reviews: firsts.into_iter().map(representative).collect(),
        })
    };
    // critical first, then high, each in the catalog's order (two passes: no sort code in
    // policy.wasm)
    let mut questions = Vec::new();
    for wanted in [Severity::Critical, Severity::High] {
        questions.extend(RISKS.iter().filter_map(question).filter(|q| q.severity == wanted));
    }
    for (i, request) in settings.additional_risky_requests.iter().enumerate() {
        questions.push(addition(i, request, &review, namespace));
    }
    questions
}

fn addition(
    i: usize,
    request: &RiskyRequest,
    review: &dyn Fn(&str, &str, &str, Option<&str>, Option<&str>) -> AccessReview,
    namespace: &str,
) -> RiskQuestion {
    let resource = match &request.subresource {
        Some(sub) => format!("{}/{sub}", request.resource),
        None => request.resource.clone(),
    };
    let ns = match request.namespace.as_deref() {
        None => Some(namespace),
        Some("") => None,
        Some(other) => Some(other),
    };
    RiskQuestion {
        id: format!("additional_risky_requests[{i}]"),
        severity: request.severity,
        attack: "makes a request the policy's settings list as risky".to_string(),
        reviews: vec![review(&request.verb, &request.group, &resource, ns, request.name.as_deref())],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_catalog_is_asked_with_eighteen_reviews_most_severe_first() {
        let questions = questions(&Settings::default(), "shop", "api");
        let reviews: usize = questions.iter().map(|q| q.reviews.len()).sum();
        assert_eq!(reviews, 18, "the count max_permission_reviews' documentation gives");
        assert!(questions.windows(2).all(|w| w[0].severity >= w[1].severity));
        let ids: Vec<&str> = questions.iter().map(|q| q.id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "impersonate",
                "nodes-proxy",
                "approve-csr",
                "webhook-config",
                "create-pv",
                "escalate",
                "bind",
                "token-request",
                "read-secrets",
                "create-workloads",
                "exec",
                "ephemeral-containers",
                "modify-node",
                "modify-namespace"
            ]
        );
        let exec = questions.iter().find(|q| q.id == "exec").unwrap();
        assert_eq!(exec.severity, Severity::High);
        assert_eq!(exec.reviews[0].describe(), "create pods/exec in namespace shop");
        assert_eq!(exec.reviews[0].user, "system:serviceaccount:shop:api");
        assert_eq!(exec.reviews[0].groups, service_account_groups("shop"));
        let impersonate = &questions[0];
        assert_eq!(
            (impersonate.severity, impersonate.reviews[0].describe().as_str()),
            (Severity::Critical, "impersonate users cluster-wide")
        );
        let namespace = questions.iter().find(|q| q.id == "modify-namespace").unwrap();
        assert_eq!(namespace.reviews[0].describe(), "update namespaces named shop in namespace shop");
        let bind = questions.iter().find(|q| q.id == "bind").unwrap();
        let asked: Vec<String> = bind.reviews.iter().map(AccessReview::describe).collect();
        assert_eq!(
            asked,
            [
                "bind roles.rbac.authorization.k8s.io in namespace shop",
                "create rolebindings.rbac.authorization.k8s.io in namespace shop"
            ]
        );
        // create-secrets is medium inside a namespace: not asked
        assert!(!ids.contains(&"create-secrets"));
    }

    #[test]
    fn additions_follow_the_catalog() {
        let settings = Settings::from_json(
            r#"{"additional_risky_requests": [
                {"verb": "delete", "group": "apps", "resource": "deployments"},
                {"verb": "get", "resource": "configmaps", "name": "keys", "namespace": "", "severity": "critical"},
                {"verb": "create", "resource": "pods", "subresource": "portforward", "namespace": "db"}]}"#,
        )
        .unwrap();
        let questions = questions(&settings, "shop", "api");
        let added: Vec<(String, Severity, String)> =
            questions[14..].iter().map(|q| (q.id.clone(), q.severity, q.reviews[0].describe())).collect();
        assert_eq!(
            added,
            [
                (
                    "additional_risky_requests[0]".into(),
                    Severity::High,
                    "delete deployments.apps in namespace shop".into()
                ),
                (
                    "additional_risky_requests[1]".into(),
                    Severity::Critical,
                    "get configmaps named keys cluster-wide".into()
                ),
                (
                    "additional_risky_requests[2]".into(),
                    Severity::High,
                    "create pods/portforward in namespace db".into()
                ),
            ]
        );
    }
}
