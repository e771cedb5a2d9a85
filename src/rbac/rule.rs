//! One PolicyRule, read from its JSON, and the RBAC authorizer's matching of a request against it
//! (Kubernetes `pkg/apis/rbac/v1/evaluation_helpers.go`, `RuleAllows`):
//!
//! * a verb, API group or resource matches when the rule lists it or `*`;
//! * `pods/exec` is its own resource: `pods` does not include it, `*/exec` matches the `exec`
//!   subresource of every resource, and `pods/*` matches nothing but a resource literally named so;
//! * a rule with `resourceNames` matches only a request that carries one of those names (a
//!   create of a new object, a deletecollection and an unnamed list or watch carry none);
//! * `nonResourceURLs` match a path exactly or, when they end in `*`, by prefix;
//! * empty lists and empty strings match nothing.

use serde_json::Value;

use crate::k8s::json_type;

/// A resource request's attributes, as the API server's request info hands them to the
/// authorizer. `subresource` and `name` are empty when the request has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceRequest<'a> {
    pub verb: &'a str,
    pub api_group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
}

impl<'a> ResourceRequest<'a> {
    /// `resource` may name a subresource (`pods/exec`), as `kubectl auth can-i` takes it.
    pub fn new(verb: &'a str, api_group: &'a str, resource: &'a str, name: &'a str) -> Self {
        let (resource, subresource) = resource.split_once('/').unwrap_or((resource, ""));
        ResourceRequest { verb, api_group, resource, subresource, name }
    }

    /// `pods/exec`, or `pods` without a subresource.
    pub fn combined_resource(&self) -> String {
        if self.subresource.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}/{}", self.resource, self.subresource)
        }
    }

    /// Whether such a request can carry an object's name: creating a new object (not a
    /// subresource of an existing one) and deletecollection never do. A rule restricted by
    /// `resourceNames` can only ever match requests that do.
    pub fn can_carry_a_name(&self) -> bool {
        !((self.verb == "create" && self.subresource.is_empty()) || self.verb == "deletecollection")
    }
}

/// A PolicyRule's lists. Missing and `null` fields are empty lists, as the API server reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PolicyRule<'a> {
    pub verbs: Vec<&'a str>,
    pub api_groups: Vec<&'a str>,
    pub resources: Vec<&'a str>,
    pub resource_names: Vec<&'a str>,
    pub non_resource_urls: Vec<&'a str>,
}

/// The PolicyRule fields, with their JSON names.
pub const FIELDS: [&str; 5] = ["verbs", "apiGroups", "resources", "resourceNames", "nonResourceURLs"];

/// What is wrong with a rule's shape, as the API server would refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShapeProblem {
    /// JSON pointer below the rule (`/verbs`, `/resources/2`, or empty for the rule itself).
    pub pointer: String,
    pub message: String,
}

impl<'a> PolicyRule<'a> {
    /// Reads a rule strictly: every field a list of strings. On a problem, also returns the
    /// generous reading (a lone string as a one-element list, other entries dropped), so a
    /// malformed rule is reported and still judged by what it would grant if read loosely.
    pub fn read(value: &'a Value) -> Result<PolicyRule<'a>, (Vec<ShapeProblem>, PolicyRule<'a>)> {
        let Value::Object(fields) = value else {
            let problem = ShapeProblem {
                pointer: String::new(),
                message: format!("a rule must be an object, found {}", json_type(value)),
            };
            return Err((vec![problem], PolicyRule::default()));
        };
        let mut problems = Vec::new();
        let mut list = |field: &'static str| -> Vec<&'a str> {
            match fields.get(field) {
                None | Some(Value::Null) => Vec::new(),
                Some(Value::Array(items)) => items
                    .iter()
                    .enumerate()
                    .filter_map(|(i, item)| match item {
                        Value::String(s) => Some(s.as_str()),
                        other => {
                            problems.push(ShapeProblem {
                                pointer: format!("/{field}/{i}"),
                                message: format!("{field}[{i}] must be a string, found {}", json_type(other)),
                            });
                            None
                        }
                    })
                    .collect(),
                Some(Value::String(s)) => {
                    problems.push(ShapeProblem {
                        pointer: format!("/{field}"),
                        message: format!("{field} must be a list of strings, found the string \"{s}\""),
                    });
                    vec![s.as_str()]
                }
                Some(other) => {
                    problems.push(ShapeProblem {
                        pointer: format!("/{field}"),
                        message: format!("{field} must be a list of strings, found {}", json_type(other)),
                    });
                    Vec::new()
                }
            }
        };
        let rule = PolicyRule {
            verbs: list("verbs"),
            api_groups: list("apiGroups"),
            resources: list("resources"),
            resource_names: list("resourceNames"),
            non_resource_urls: list("nonResourceURLs"),
        };
        if problems.is_empty() {
            Ok(rule)
        } else {
            Err((problems, rule))
        }
    }

    /// The rule, read generously when malformed.
    pub fn read_lenient(value: &'a Value) -> PolicyRule<'a> {
        PolicyRule::read(value).unwrap_or_else(|(_, rule)| rule)
    }

    /// `RuleAllows` for a resource request.
    pub fn allows(&self, request: &ResourceRequest<'_>) -> bool {
        self.allows_ignoring_names(request) && self.names_match(request.name)
    }

    /// Whether the rule grants the request for some, but not every, object: it matches but for
    /// its `resourceNames`, and the request is of a kind that can name an object. Returns the
    /// names it is restricted to.
    pub fn allows_only_named(&self, request: &ResourceRequest<'_>) -> Option<&[&'a str]> {
        (!self.resource_names.is_empty() && request.can_carry_a_name() && self.allows_ignoring_names(request))
            .then_some(self.resource_names.as_slice())
    }

    fn allows_ignoring_names(&self, request: &ResourceRequest<'_>) -> bool {
        verb_matches(&self.verbs, request.verb)
            && self.api_groups.iter().any(|&g| g == "*" || g == request.api_group)
            && self.resource_matches(request)
    }

    fn resource_matches(&self, request: &ResourceRequest<'_>) -> bool {
        if request.resource.is_empty() {
            return false;
        }
        let combined = request.combined_resource();
        self.resources.iter().any(|&r| {
            r == "*"
                || r == combined
                || (!request.subresource.is_empty() && r.strip_prefix("*/") == Some(request.subresource))
        })
    }

    fn names_match(&self, name: &str) -> bool {
        self.resource_names.is_empty() || (!name.is_empty() && self.resource_names.contains(&name))
    }

    /// `RuleAllows` for a non-resource request (`get /healthz`).
    pub fn allows_url(&self, verb: &str, path: &str) -> bool {
        verb_matches(&self.verbs, verb)
            && self.non_resource_urls.iter().any(|&url| {
                url == "*" || url == path || url.strip_suffix('*').is_some_and(|prefix| path.starts_with(prefix))
            })
    }

    /// Whether no request at all can match: no real verb, or neither a resource (with an API
    /// group) nor a URL.
    pub fn grants_nothing(&self) -> bool {
        let real = |items: &[&str]| items.iter().any(|s| !s.is_empty());
        let resources = real(&self.api_groups) || self.api_groups.contains(&"");
        !real(&self.verbs) || !((resources && real(&self.resources)) || real(&self.non_resource_urls))
    }

    /// `*` in verbs, API groups and resources, unrestricted by names: every request on every
    /// resource (what `cluster-admin` grants).
    pub fn is_full_wildcard(&self) -> bool {
        self.verbs.contains(&"*")
            && self.api_groups.contains(&"*")
            && self.resources.contains(&"*")
            && self.resource_names.is_empty()
    }
}

fn verb_matches(verbs: &[&str], verb: &str) -> bool {
    !verb.is_empty() && verbs.iter().any(|&v| v == "*" || v == verb)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// One case: a request, a rule, and whether the authorizer lets the rule grant it.
    struct Case {
        why: &'static str,
        rule: Value,
        /// verb, API group, resource (maybe `res/sub`), name
        request: (&'static str, &'static str, &'static str, &'static str),
        allowed: bool,
    }

    fn case(
        why: &'static str,
        rule: Value,
        request: (&'static str, &'static str, &'static str, &'static str),
        allowed: bool,
    ) -> Case {
        Case { why, rule, request, allowed }
    }

    #[test]
    fn the_authorizer_matching_rules() {
        let core = |resources: Value, verbs: Value| json!({"apiGroups": [""], "resources": resources, "verbs": verbs});
        let cases = [
            case(
                "exact verb, group and resource",
                core(json!(["pods"]), json!(["get"])),
                ("get", "", "pods", ""),
                true,
            ),
            case("another verb", core(json!(["pods"]), json!(["get"])), ("list", "", "pods", ""), false),
            case("verb wildcard", core(json!(["pods"]), json!(["*"])), ("delete", "", "pods", "p"), true),
            case("resource wildcard", core(json!(["*"]), json!(["get"])), ("get", "", "secrets", "s"), true),
            case(
                "resource wildcard covers subresources",
                core(json!(["*"]), json!(["create"])),
                ("create", "", "pods/exec", "p"),
                true,
            ),
            case(
                "group wildcard",
                json!({"apiGroups": ["*"], "resources": ["deployments"], "verbs": ["create"]}),
                ("create", "apps", "deployments", ""),
                true,
            ),
            case(
                "another group",
                core(json!(["deployments"]), json!(["create"])),
                ("create", "apps", "deployments", ""),
                false,
            ),
            case(
                "the core group is the empty string, not a wildcard",
                json!({"apiGroups": ["apps"], "resources": ["secrets"], "verbs": ["get"]}),
                ("get", "", "secrets", ""),
                false,
            ),
            case(
                "a resource does not include its subresources",
                core(json!(["pods"]), json!(["create"])),
                ("create", "", "pods/exec", "p"),
                false,
            ),
            case(
                "a subresource is named whole",
                core(json!(["pods/exec"]), json!(["create"])),
                ("create", "", "pods/exec", "p"),
                true,
            ),
            case(
                "a subresource is not its parent",
                core(json!(["pods/exec"]), json!(["get"])),
                ("get", "", "pods", "p"),
                false,
            ),
            case(
                "*/sub matches that subresource of any resource",
                core(json!(["*/exec"]), json!(["create"])),
                ("create", "", "pods/exec", "p"),
                true,
            ),
            case(
                "*/sub matches no other subresource",
                core(json!(["*/exec"]), json!(["create"])),
                ("create", "", "pods/attach", "p"),
                false,
            ),
            case(
                "*/sub matches no top-level resource",
                core(json!(["*/exec"]), json!(["get"])),
                ("get", "", "pods", "p"),
                false,
            ),
            case(
                "pods/* is no wildcard",
                core(json!(["pods/*"]), json!(["create"])),
                ("create", "", "pods/exec", "p"),
                false,
            ),
            case("an empty verb list grants nothing", core(json!(["*"]), json!([])), ("get", "", "pods", ""), false),
            case("an empty verb grants nothing", core(json!(["*"]), json!([""])), ("get", "", "pods", ""), false),
            case("an empty resource grants nothing", core(json!([""]), json!(["*"])), ("get", "", "pods", ""), false),
            case(
                "no apiGroups grants nothing",
                json!({"resources": ["pods"], "verbs": ["get"]}),
                ("get", "", "pods", ""),
                false,
            ),
            case(
                "resourceNames: a named get",
                json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["get"]}),
                ("get", "", "secrets", "db"),
                true,
            ),
            case(
                "resourceNames: another name",
                json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["get"]}),
                ("get", "", "secrets", "other"),
                false,
            ),
            case(
                "resourceNames: an unnamed list",
                json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["list"]}),
                ("list", "", "secrets", ""),
                false,
            ),
            case(
                "resourceNames: a list narrowed by metadata.name",
                json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db"], "verbs": ["list"]}),
                ("list", "", "secrets", "db"),
                true,
            ),
            case(
                "resourceNames: a create carries no name",
                json!({"apiGroups": [""], "resources": ["pods"], "resourceNames": ["p"], "verbs": ["create"]}),
                ("create", "", "pods", ""),
                false,
            ),
            case(
                "resourceNames: a subresource create names its object",
                json!({"apiGroups": [""], "resources": ["pods/exec"], "resourceNames": ["p"], "verbs": ["create"]}),
                ("create", "", "pods/exec", "p"),
                true,
            ),
        ];
        for Case { why, rule, request, allowed } in cases {
            let rule = PolicyRule::read(&rule).expect("well formed");
            let (verb, group, resource, name) = request;
            let request = ResourceRequest::new(verb, group, resource, name);
            assert_eq!(rule.allows(&request), allowed, "{why}: {request:?}");
        }
    }

    #[test]
    fn only_named_grants() {
        let rule = json!({"apiGroups": [""], "resources": ["secrets"], "resourceNames": ["db", "tls"], "verbs": ["get", "list", "create", "deletecollection"]});
        let rule = PolicyRule::read(&rule).unwrap();
        let unnamed = |verb| ResourceRequest::new(verb, "", "secrets", "");
        assert_eq!(rule.allows_only_named(&unnamed("get")), Some(&["db", "tls"][..]));
        assert_eq!(rule.allows_only_named(&unnamed("list")), Some(&["db", "tls"][..]));
        // never a name on these: the rule grants them for nothing at all
        assert_eq!(rule.allows_only_named(&unnamed("create")), None);
        assert_eq!(rule.allows_only_named(&unnamed("deletecollection")), None);
        assert_eq!(rule.allows_only_named(&unnamed("watch")), None);
        let everything = json!({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]});
        assert_eq!(PolicyRule::read(&everything).unwrap().allows_only_named(&unnamed("get")), None);
    }

    #[test]
    fn non_resource_urls() {
        let rule = json!({"nonResourceURLs": ["/healthz", "/logs/*"], "verbs": ["get"]});
        let rule = PolicyRule::read(&rule).unwrap();
        assert!(rule.allows_url("get", "/healthz"));
        assert!(!rule.allows_url("get", "/healthz/etcd"));
        assert!(rule.allows_url("get", "/logs/kube-apiserver.log"));
        assert!(!rule.allows_url("post", "/healthz"));
        // a URL rule grants no resource
        assert!(!rule.allows(&ResourceRequest::new("get", "", "healthz", "")));
        let everything = json!({"nonResourceURLs": ["*"], "verbs": ["*"]});
        assert!(PolicyRule::read(&everything).unwrap().allows_url("delete", "/anything"));
    }

    #[test]
    fn rules_that_grant_nothing() {
        for rule in [
            json!({"apiGroups": ["*"], "resources": ["*"], "verbs": [""]}),
            json!({"apiGroups": ["*"], "resources": ["*"], "verbs": []}),
            json!({"apiGroups": ["*"], "resources": [], "verbs": ["*"]}),
            json!({"apiGroups": [], "resources": ["*"], "verbs": ["*"]}),
            json!({"verbs": ["get"]}),
        ] {
            assert!(PolicyRule::read(&rule).unwrap().grants_nothing(), "{rule}");
        }
        for rule in [
            json!({"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}),
            json!({"nonResourceURLs": ["/metrics"], "verbs": ["get"]}),
        ] {
            assert!(!PolicyRule::read(&rule).unwrap().grants_nothing(), "{rule}");
        }
    }

    #[test]
    fn malformed_rules_are_named_and_read_generously() {
        let rule = json!({"apiGroups": "", "resources": ["secrets", 7], "verbs": {"get": true}});
        let (problems, lenient) = PolicyRule::read(&rule).unwrap_err();
        let messages: Vec<(&str, &str)> = problems.iter().map(|p| (p.pointer.as_str(), p.message.as_str())).collect();
        assert_eq!(
            messages,
            [
                ("/verbs", "verbs must be a list of strings, found an object"),
                ("/apiGroups", "apiGroups must be a list of strings, found the string \"\""),
                ("/resources/1", "resources[1] must be a string, found a number"),
            ]
        );
        assert_eq!(lenient.api_groups, [""]);
        assert_eq!(lenient.resources, ["secrets"]);
        assert!(lenient.verbs.is_empty());
        let (problems, _) = PolicyRule::read(&json!("get secrets")).unwrap_err();
        assert_eq!(problems[0].message, "a rule must be an object, found a string");
        // null fields are empty lists, as the API server reads them
        assert_eq!(PolicyRule::read(&json!({"verbs": null})), Ok(PolicyRule::default()));
    }
}
