//! Runs the enabled rules over a bundle, then applies exemptions.

use std::borrow::Cow;
use std::cell::RefCell;
use std::ops::Range;

use serde::Serialize;
use serde_json::Value;

use crate::bundle::{Bundle, Obj};
use crate::finding::{Finding, Level, ObjectRef};
use crate::k8s;
use crate::lookup::{AccessAnswer, AccessReview, ClusterLookup, Lookup};
use crate::meta::{RuleMeta, Scope};
use crate::rbac::model::{resolve_role, RoleLookup};
use crate::rules::{self, Rule};
use crate::settings::{Settings, EXEMPT_ANNOTATION, EXEMPT_REASON_ANNOTATION};

/// Where the objects come from, which decides what the rules may assume.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A set of manifests analysed together (CLI, playground). Bundle-scoped rules run, and a
    /// ServiceAccount missing from the bundle is "not defined here".
    Manifest,
    /// One object at admission. Only object-scoped rules run; what is not in the request is
    /// looked up in the cluster when context-aware mode is on, and otherwise unknown.
    Admission,
}

pub struct Options<'a> {
    pub mode: Mode,
    /// Namespace for objects that have none (the request's namespace, or the CLI's `--namespace`).
    pub default_namespace: Option<&'a str>,
    pub lookup: &'a dyn ClusterLookup,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Options { mode: Mode::Manifest, default_namespace: None, lookup: &crate::lookup::NoCluster }
    }
}

/// A finding that was not reported because of an exemption, kept for audit trails.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Exemption {
    pub rule_id: String,
    pub object: ObjectRef,
    pub object_index: usize,
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    /// Sorted by object, then rule, then path.
    pub findings: Vec<Finding>,
    pub exemptions: Vec<Exemption>,
}

impl Report {
    pub fn at_least(&self, level: Level) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(move |f| f.level >= level)
    }
}

/// What a rule's check sees.
pub struct Cx<'a> {
    pub bundle: &'a Bundle<'a>,
    pub settings: &'a Settings,
    pub mode: Mode,
    lookup: &'a dyn ClusterLookup,
    /// The cluster's answers so far in this evaluation: several rules read the same
    /// ServiceAccount or Role, and the host is asked once (recorded sessions replay one
    /// exchange per object).
    asked: RefCell<Vec<(Asked, Lookup<'static>)>>,
    /// The authorizer's answers so far in this evaluation (SubjectAccessReviews), for the same
    /// reason.
    reviewed: RefCell<Vec<(AccessReview, AccessAnswer)>>,
}

/// An answer from [`Cx::review_access`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reviewed {
    Answer(AccessAnswer),
    /// Not asked: the caller's budget of reviews is spent.
    OverBudget,
}

/// One cluster look-up: apiVersion, kind, namespace, name.
type Asked = (String, String, Option<String>, String);

impl<'a> Cx<'a> {
    /// A context for reading a bundle outside an evaluation (the inventory): manifest mode, no
    /// cluster.
    pub fn for_manifests(bundle: &'a Bundle<'a>, settings: &'a Settings) -> Cx<'a> {
        Cx {
            bundle,
            settings,
            mode: Mode::Manifest,
            lookup: &crate::lookup::NoCluster,
            asked: RefCell::new(Vec::new()),
            reviewed: RefCell::new(Vec::new()),
        }
    }

    /// A ServiceAccount from the bundle, else from the cluster (admission, context-aware mode).
    pub fn service_account(&self, namespace: Option<&str>, name: &str) -> Lookup<'a> {
        self.find("v1", "ServiceAccount", namespace, name)
    }

    /// A Role (namespaced) or ClusterRole from the bundle, else from the cluster.
    pub fn role(&self, kind: &str, namespace: Option<&str>, name: &str) -> Lookup<'a> {
        let namespace = if kind == "ClusterRole" { None } else { namespace };
        self.find("rbac.authorization.k8s.io/v1", kind, namespace, name)
    }

    /// The role a binding names, with every rule that counts (see [`crate::rbac::model`]).
    pub fn resolve_role(&self, binding_namespace: Option<&str>, kind: &str, name: &str) -> RoleLookup<'a> {
        resolve_role(self.bundle, binding_namespace, kind, name, &|kind, namespace, name| {
            self.role(kind, namespace, name)
        })
    }

    /// A Secret from the cluster (admission, context-aware mode with `lookup_secrets`). The
    /// bundle's own Secrets are read with `bundle.secret`, without copying their data.
    pub fn cluster_secret(&self, namespace: Option<&str>, name: &str) -> Lookup<'static> {
        match self.mode {
            Mode::Manifest => Lookup::NotFound,
            Mode::Admission if self.looks_up_secrets() => self.lookup.get("v1", "Secret", namespace, name),
            Mode::Admission => Lookup::NotAvailable,
        }
    }

    /// Whether [`Cx::cluster_secret`] asks the cluster, so it can answer with a Secret at all.
    pub fn looks_up_secrets(&self) -> bool {
        self.mode == Mode::Admission && self.settings.lookup_secrets && self.settings.context_aware
    }

    /// Asks the cluster's authorizer whether `review` is allowed (admission, with
    /// `review_service_account_permissions`). An answer already given in this evaluation is
    /// reused for free; a new review costs one of `budget`, and none is asked when it is spent.
    pub fn review_access(&self, review: &AccessReview, budget: &mut usize) -> Reviewed {
        if !self.reviews_permissions() {
            return Reviewed::Answer(AccessAnswer::NotAvailable);
        }
        if let Some((_, answer)) = self.reviewed.borrow().iter().find(|(asked, _)| asked == review) {
            return Reviewed::Answer(answer.clone());
        }
        if *budget == 0 {
            return Reviewed::OverBudget;
        }
        *budget -= 1;
        let answer = self.lookup.can_i(review);
        self.reviewed.borrow_mut().push((review.clone(), answer.clone()));
        Reviewed::Answer(answer)
    }

    /// Whether [`Cx::review_access`] asks the cluster's authorizer.
    pub fn reviews_permissions(&self) -> bool {
        self.mode == Mode::Admission && self.settings.review_service_account_permissions
    }

    fn find(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup<'a> {
        let local = match kind {
            "ServiceAccount" => self.bundle.service_account(namespace, name),
            "Role" => self.bundle.role(namespace, name),
            "ClusterRole" => self.bundle.cluster_role(name),
            _ => None,
        };
        if let Some(obj) = local {
            return Lookup::Found(Cow::Borrowed(obj.value));
        }
        match self.mode {
            Mode::Manifest => Lookup::NotFound,
            Mode::Admission if self.settings.context_aware => self.ask_cluster(api_version, kind, namespace, name),
            Mode::Admission => Lookup::NotAvailable,
        }
    }

    fn ask_cluster(&self, api_version: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup<'a> {
        let key: Asked = (api_version.into(), kind.into(), namespace.map(String::from), name.into());
        if let Some((_, answer)) = self.asked.borrow().iter().find(|(asked, _)| *asked == key) {
            return answer.clone();
        }
        let answer = self.lookup.get(api_version, kind, namespace, name);
        self.asked.borrow_mut().push((key, answer.clone()));
        answer
    }
}

/// Collects one rule's findings, with the rule's metadata and configured level filled in.
pub struct Emitter<'r> {
    meta: &'static RuleMeta,
    level: Level,
    findings: &'r mut Vec<Finding>,
}

impl Emitter<'_> {
    /// Report `message` about `obj` at `path` (a JSON pointer). The returned finding can be given
    /// a fix, a more specific remediation, or a lower level.
    pub fn report(&mut self, obj: &Obj<'_>, path: impl Into<String>, message: impl Into<String>) -> &mut Finding {
        self.findings.push(Finding {
            rule_id: self.meta.id.to_string(),
            rule_slug: self.meta.slug.to_string(),
            level: self.level,
            object: obj.object_ref(),
            object_index: obj.index,
            path: path.into(),
            message: message.into(),
            remediation: self.meta.remediation.to_string(),
            fix: None,
        });
        self.findings.last_mut().expect("just pushed")
    }

    /// The level configured for this rule.
    pub fn level(&self) -> Level {
        self.level
    }
}

/// Evaluate every enabled rule over `objects`.
pub fn evaluate(objects: &[Value], settings: &Settings, options: &Options<'_>) -> Report {
    evaluate_bundle(&Bundle::new(objects, options.default_namespace), settings, options)
}

/// One part of a bundle evaluated on its own: the findings and exemptions of `objects[subjects]`,
/// as [`evaluate`] of the whole bundle gives them, when every other index holds what its part
/// shows other parts ([`crate::bundle::seen_from_other_parts`], else `null`).
pub fn evaluate_part(objects: &[Value], subjects: Range<usize>, settings: &Settings, options: &Options<'_>) -> Report {
    evaluate_bundle(&Bundle::part(objects, options.default_namespace, subjects), settings, options)
}

/// [`evaluate`] over a bundle the caller built (with `options.default_namespace`) and reads
/// again afterwards, e.g. for [`Bundle::duplicates`].
pub fn evaluate_bundle(bundle: &Bundle<'_>, settings: &Settings, options: &Options<'_>) -> Report {
    let cx = Cx {
        bundle,
        settings,
        mode: options.mode,
        lookup: options.lookup,
        asked: RefCell::new(Vec::new()),
        reviewed: RefCell::new(Vec::new()),
    };
    let mut findings = Vec::new();
    for rule in rules::all() {
        if !runs_in(rule, options.mode, settings) {
            continue;
        }
        let level = settings.level(&rule.meta);
        if level == Level::Off {
            continue;
        }
        let mut emitter = Emitter { meta: &rule.meta, level, findings: &mut findings };
        (rule.check)(&cx, &mut emitter);
    }
    // Rules iterate the subjects; a finding about another part's object belongs to that part.
    findings.retain(|finding| bundle.is_subject(finding.object_index));
    let mut report = apply_exemptions(bundle, settings, findings);
    // Unstable: findings equal in all four are interchangeable (and the stable sort's code is
    // twice the size in policy.wasm).
    report.findings.sort_unstable_by(|a, b| {
        (a.object_index, &a.rule_id, &a.path, &a.message).cmp(&(b.object_index, &b.rule_id, &b.path, &b.message))
    });
    report
}

fn runs_in(rule: &Rule, mode: Mode, settings: &Settings) -> bool {
    match rule.meta.scope {
        Scope::Object => true,
        Scope::Bundle => mode == Mode::Manifest,
        Scope::BundleOrAuthorizer => mode == Mode::Manifest || settings.review_service_account_permissions,
    }
}

fn apply_exemptions(bundle: &Bundle<'_>, settings: &Settings, findings: Vec<Finding>) -> Report {
    let mut report = Report::default();
    for mut finding in findings {
        let obj = &bundle.objects[finding.object_index];
        let exemption = |reason: String| Exemption {
            rule_id: finding.rule_id.clone(),
            object: finding.object.clone(),
            object_index: finding.object_index,
            path: finding.path.clone(),
            reason,
        };
        if settings.is_namespace_exempt(obj.namespace) {
            let reason = format!("namespace {} is exempt by settings", obj.namespace.unwrap_or_default());
            report.exemptions.push(exemption(reason));
            continue;
        }
        match annotation_exemption(obj, &finding) {
            AnnotationExemption::None => {}
            AnnotationExemption::Exempt(reason) => {
                report.exemptions.push(exemption(format!("{EXEMPT_ANNOTATION}: {reason}")));
                continue;
            }
            AnnotationExemption::MissingReason => finding.message.push_str(&format!(
                " (the {EXEMPT_ANNOTATION} annotation is ignored: {EXEMPT_REASON_ANNOTATION} must say why)"
            )),
        }
        report.findings.push(finding);
    }
    report
}

enum AnnotationExemption {
    None,
    Exempt(String),
    MissingReason,
}

/// The exemption annotation on the object, or on its Pod template (Pods created from the
/// template inherit it, so the same exemption holds for them at admission).
fn annotation_exemption(obj: &Obj<'_>, finding: &Finding) -> AnnotationExemption {
    let template_metadata = obj.pod_spec().and_then(|s| s.metadata);
    let read = |key: &str| {
        k8s::annotation(obj.value, key).or_else(|| template_metadata?.get("annotations")?.get(key)?.as_str())
    };
    let Some(listed) = read(EXEMPT_ANNOTATION) else { return AnnotationExemption::None };
    let names_rule = listed
        .split(',')
        .map(str::trim)
        .any(|r| r == "*" || r.eq_ignore_ascii_case(&finding.rule_id) || r == finding.rule_slug);
    if !names_rule {
        return AnnotationExemption::None;
    }
    match read(EXEMPT_REASON_ANNOTATION).map(str::trim).filter(|r| !r.is_empty()) {
        Some(reason) => AnnotationExemption::Exempt(reason.to_string()),
        None => AnnotationExemption::MissingReason,
    }
}
