//! `sa-guard can-i` and `sa-guard who-can`: the lesson's `kubectl auth can-i --as` checks,
//! answered offline from manifests, with the binding → role → rule that grants each answer and
//! where it is written. The model is the rule core's (`sa_guard::rbac::access`).
//!
//! Exit codes: 0 yes (who-can: somebody can), 1 no, 2 usage or input error.

use sa_guard::bundle::Bundle;
use sa_guard::rbac::access::{self, Grant, Identity};
use sa_guard::rbac::rule::ResourceRequest;
use serde_json::{json, Value};

use crate::input::{self, Inputs};
use crate::lint::print_answer;
use crate::{InputArgs, EXIT_FINDINGS, EXIT_INPUT_ERROR};

/// What is asked: the request and the namespace it is made in.
pub struct Question {
    pub verb: String,
    pub resource: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AccessFormat {
    /// yes/no, then one line per grant with file:line.
    Text,
    /// The answer, the request and every grant, with files and lines.
    Json,
}

/// The request's attributes, checked.
struct Parsed {
    group: String,
    resource: String,
    subresource: String,
    name: String,
    /// `None` for a cluster-scoped request.
    namespace: Option<String>,
}

impl Parsed {
    fn request<'s>(&'s self, verb: &'s str) -> ResourceRequest<'s> {
        ResourceRequest {
            verb,
            api_group: &self.group,
            resource: &self.resource,
            subresource: &self.subresource,
            name: &self.name,
        }
    }

    fn json(&self, verb: &str) -> Value {
        json!({"verb": verb, "apiGroup": self.group, "resource": self.resource, "subresource": self.subresource,
               "name": self.name, "namespace": self.namespace})
    }
}

fn parse(question: &Question, default_namespace: Option<&str>) -> Result<Parsed, String> {
    if question.verb.is_empty() || question.verb.contains(char::is_whitespace) {
        return Err(format!("`{}` is not a verb (get, list, create, ...)", question.verb));
    }
    let (group, resource, subresource, namespaced, assumed) = access::parse_resource(&question.resource)?;
    if assumed {
        eprintln!(
            "sa-guard: `{resource}` is not a resource sa-guard knows; taking it as a core-group resource (write \
             RESOURCE.GROUP for another group)"
        );
    }
    let name = question.name.clone().unwrap_or_default();
    // The API server files a Namespace under itself: a RoleBinding there reaches it.
    let namespace = if resource == "namespaces" && !name.is_empty() {
        Some(name.clone())
    } else if namespaced {
        Some(question.namespace.clone().or(default_namespace.map(String::from)).unwrap_or_else(|| "default".into()))
    } else {
        None
    };
    Ok(Parsed { group, resource, subresource, name, namespace })
}

fn load(args: &InputArgs) -> Result<Inputs, String> {
    let paths = input::effective_paths(&args.paths)?;
    let inputs = input::load_values(&paths, args.jobs());
    for error in &inputs.errors {
        eprintln!("{error}");
    }
    if !inputs.errors.is_empty() {
        return Err("the manifests could not all be read; no answer is given from part of them".into());
    }
    Ok(inputs)
}

/// "file:line" of an object's field.
fn place(inputs: &Inputs, object_index: usize, pointer: &str) -> (String, usize) {
    let (source, span) = inputs.locate(object_index, pointer);
    (source.label.clone(), span.line)
}

fn grant_json(inputs: &Inputs, grant: &Grant<'_>) -> Value {
    let (binding_file, binding_line) =
        place(inputs, grant.binding.index, &format!("/subjects/{}", grant.subject_index));
    let rules: Vec<Value> = grant
        .rules
        .iter()
        .map(|rule| {
            let at = rule.object_index.map(|i| place(inputs, i, &format!("/rules/{}", rule.index)));
            json!({"index": rule.index, "aggregatedFrom": rule.aggregated_from,
                   "file": at.as_ref().map(|(f, _)| f), "line": at.as_ref().map(|(_, l)| l)})
        })
        .collect();
    let role_at = grant.role_index.map(|i| place(inputs, i, ""));
    json!({
        "subject": access::describe_subject(grant.subject, grant.binding.namespace),
        "binding": {"kind": grant.binding.kind, "namespace": grant.binding.namespace, "name": grant.binding.name,
                    "subjectIndex": grant.subject_index, "file": binding_file, "line": binding_line},
        "role": {"name": grant.role, "builtIn": grant.role_built_in,
                 "file": role_at.as_ref().map(|(f, _)| f), "line": role_at.as_ref().map(|(_, l)| l)},
        "rules": rules,
    })
}

/// "  RoleBinding production/order-api-binding (a.yaml:30) → Role order-api-role (a.yaml:12) rules[0] (a.yaml:17)"
fn grant_line(inputs: &Inputs, grant: &Grant<'_>) -> String {
    let (file, line) = place(inputs, grant.binding.index, &format!("/subjects/{}", grant.subject_index));
    let role = match grant.role_index {
        Some(i) => {
            let (file, line) = place(inputs, i, "");
            format!("{} ({file}:{line})", grant.role)
        }
        None => grant.role.clone(),
    };
    let rules: Vec<String> = grant
        .rules
        .iter()
        .map(|rule| {
            let name = match &rule.aggregated_from {
                Some(from) => format!("aggregated ClusterRole {from} rules[{}]", rule.index),
                None => format!("rules[{}]", rule.index),
            };
            match rule.object_index {
                Some(i) => {
                    let (file, line) = place(inputs, i, &format!("/rules/{}", rule.index));
                    format!("{name} ({file}:{line})")
                }
                None => name,
            }
        })
        .collect();
    format!("{} ({file}:{line}) → {role}: {}", grant.binding.object_ref(), rules.join(", "))
}

pub fn can_i(question: &Question, who: &str, groups: &[String], args: &InputArgs, format: AccessFormat) -> u8 {
    let answer = (|| -> Result<(Identity, Parsed, Inputs), String> {
        let identity = Identity::parse(who, groups)?;
        // Like a Pod of that ServiceAccount, a question without -n is asked in its namespace.
        let own_namespace = identity.service_account.as_ref().map(|(ns, _)| ns.as_str());
        let parsed = parse(question, args.namespace.as_deref().or(own_namespace))?;
        Ok((identity, parsed, load(args)?))
    })();
    let (identity, parsed, inputs) = match answer {
        Ok(answer) => answer,
        Err(message) => {
            eprintln!("sa-guard: {message}");
            return EXIT_INPUT_ERROR;
        }
    };
    let bundle = Bundle::new(&inputs.objects, args.namespace.as_deref());
    let grants = access::can_i(&bundle, &identity, &parsed.request(&question.verb), parsed.namespace.as_deref());
    let code = if grants.is_empty() { EXIT_FINDINGS } else { 0 };
    let text = match format {
        AccessFormat::Json => {
            let grants: Vec<Value> = grants.iter().map(|g| grant_json(&inputs, g)).collect();
            let answer = json!({"allowed": !grants.is_empty(), "as": identity.user, "groups": identity.groups,
                                "request": parsed.json(&question.verb), "grants": grants});
            format!("{}\n", serde_json::to_string_pretty(&answer).expect("JSON values serialize"))
        }
        AccessFormat::Text => {
            let mut out = String::from(if grants.is_empty() { "no\n" } else { "yes\n" });
            for grant in &grants {
                out.push_str(&format!("  {}\n", grant_line(&inputs, grant)));
            }
            out
        }
    };
    print_answer(&text, code, "answer")
}

pub fn who_can(question: &Question, args: &InputArgs, format: AccessFormat) -> u8 {
    let answer =
        (|| -> Result<(Parsed, Inputs), String> { Ok((parse(question, args.namespace.as_deref())?, load(args)?)) })();
    let (parsed, inputs) = match answer {
        Ok(answer) => answer,
        Err(message) => {
            eprintln!("sa-guard: {message}");
            return EXIT_INPUT_ERROR;
        }
    };
    let bundle = Bundle::new(&inputs.objects, args.namespace.as_deref());
    let grants = access::who_can(&bundle, &parsed.request(&question.verb), parsed.namespace.as_deref());
    let code = if grants.is_empty() { EXIT_FINDINGS } else { 0 };
    let text = match format {
        AccessFormat::Json => {
            let grants: Vec<Value> = grants.iter().map(|g| grant_json(&inputs, g)).collect();
            let answer = json!({"request": parsed.json(&question.verb), "subjects": grants});
            format!("{}\n", serde_json::to_string_pretty(&answer).expect("JSON values serialize"))
        }
        AccessFormat::Text if grants.is_empty() => "nobody in these manifests\n".to_string(),
        AccessFormat::Text => {
            let width = grants
                .iter()
                .map(|g| access::describe_subject(g.subject, g.binding.namespace).chars().count())
                .max()
                .unwrap_or(0);
            let mut out = String::new();
            for grant in &grants {
                let subject = access::describe_subject(grant.subject, grant.binding.namespace);
                out.push_str(&format!("{subject:<width$}  {}\n", grant_line(&inputs, grant)));
            }
            out
        }
    };
    print_answer(&text, code, "answer")
}
