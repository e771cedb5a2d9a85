//! Rule metadata: written once per rule, read by admission messages, the CLI's rule listing,
//! `docs/rules.md` and the playground's explanations.

use serde::Serialize;

use crate::finding::Level;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    /// Whether and how a token reaches a Pod.
    TokenMounting,
    /// Which identity a workload runs as.
    Identity,
    /// Token shape: audience, lifetime, legacy secrets.
    TokenHygiene,
    /// What RBAC grants to ServiceAccounts.
    Rbac,
    /// Credentials that should be replaced by workload identity or proper TLS.
    Credentials,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::TokenMounting => "token-mounting",
            Category::Identity => "identity",
            Category::TokenHygiene => "token-hygiene",
            Category::Rbac => "rbac",
            Category::Credentials => "credentials",
        }
    }
}

/// Where a rule can decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Decides from one object (plus cluster look-ups): runs at admission and on manifests.
    Object,
    /// Needs the whole bundle (e.g. "is this ServiceAccount defined?"): manifests only.
    Bundle,
    /// Reads the bundle's bindings on manifests; at admission, with
    /// `review_service_account_permissions`, asks the cluster's authorizer instead
    /// (SubjectAccessReviews).
    BundleOrAuthorizer,
}

impl Scope {
    /// Whether the rule can run in the Kubewarden policy (for some settings).
    pub fn runs_at_admission(self) -> bool {
        self != Scope::Bundle
    }
}

/// Everything known about a rule, independent of any front-end.
#[derive(Debug, Clone, Serialize)]
pub struct RuleMeta {
    /// Stable identifier, e.g. `SAG001`.
    pub id: &'static str,
    /// Stable kebab-case name, e.g. `default-sa-automount`. Settings accept either.
    pub slug: &'static str,
    pub title: &'static str,
    pub category: Category,
    pub default_level: Level,
    pub scope: Scope,
    /// Whether the rule offers a machine-applicable fix.
    pub fixable: bool,
    /// The rule's doc comment as written (each line keeps rustdoc's leading space);
    /// use [`RuleMeta::documentation`] for the Markdown.
    #[serde(skip)]
    pub docs: &'static str,
    /// What to do about a finding, in one or two sentences.
    pub remediation: &'static str,
    /// Where the practice comes from (the lesson, CIS benchmark items, Kubernetes docs).
    pub references: &'static [&'static str],
    /// Equivalent or overlapping checks in other tools, for people migrating.
    pub peers: &'static [&'static str],
    /// Documentation kept with the data it describes rather than in the doc comment (SAG009's
    /// risk catalog), appended to [`RuleMeta::documentation`].
    #[serde(skip)]
    pub appendix: Option<fn() -> String>,
}

impl RuleMeta {
    /// The rule's documentation as Markdown (the doc comment on its declaration).
    pub fn documentation(&self) -> String {
        let lines: Vec<&str> = self.docs.lines().map(|l| l.strip_prefix(' ').unwrap_or(l)).collect();
        let mut docs = lines.join("\n").trim().to_string();
        if let Some(appendix) = self.appendix.filter(|_| WITH_DOCS) {
            docs.push_str("\n\n");
            docs.push_str(appendix().trim_end());
        }
        docs
    }

    /// The first paragraph of the documentation: the rationale in brief.
    pub fn summary(&self) -> String {
        let docs = self.documentation();
        docs.split("\n\n").next().unwrap_or_default().replace('\n', " ")
    }

    /// Anchor of this rule's section in docs/rules.md.
    pub fn docs_anchor(&self) -> String {
        format!("{}-{}", self.id.to_ascii_lowercase(), self.slug)
    }
}

/// Whether rule documentation, references and peers are compiled in: everywhere but the
/// Kubewarden policy module, which only needs titles and remediations.
pub const WITH_DOCS: bool = !cfg!(all(feature = "policy", target_arch = "wasm32"));

/// Declares a rule: its doc comment becomes `RuleMeta::docs`.
///
/// ```ignore
/// declare_rule! {
///     /// Why it matters ...
///     pub static RULE = {
///         id: "SAG001", slug: "...", title: "...", category: Category::Identity,
///         default_level: Level::Deny, scope: Scope::Object, fixable: true,
///         remediation: "...", references: &[...], peers: &[...],
///         check: check,
///     };
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (@appendix) => { None };
    (@appendix $appendix:expr) => { if $crate::meta::WITH_DOCS { Some($appendix) } else { None } };
    (
        $(#[doc = $doc:expr])*
        pub static $name:ident = {
            id: $id:expr,
            slug: $slug:expr,
            title: $title:expr,
            category: $category:expr,
            default_level: $level:expr,
            scope: $scope:expr,
            fixable: $fixable:expr,
            remediation: $remediation:expr,
            references: $references:expr,
            peers: $peers:expr,
            $(appendix: $appendix:expr,)?
            check: $check:path $(,)?
        };
    ) => {
        $(#[doc = $doc])*
        pub static $name: $crate::rules::Rule = $crate::rules::Rule {
            meta: $crate::meta::RuleMeta {
                id: $id,
                slug: $slug,
                title: $title,
                category: $category,
                default_level: $level,
                scope: $scope,
                fixable: $fixable,
                // The policy module never shows documentation, references or peers; leaving
                // them out keeps policy.wasm within its size budget.
                docs: if $crate::meta::WITH_DOCS { concat!($($doc, "\n"),*) } else { "" },
                remediation: $remediation,
                references: if $crate::meta::WITH_DOCS { $references } else { &[] },
                peers: if $crate::meta::WITH_DOCS { $peers } else { &[] },
                appendix: $crate::declare_rule!(@appendix $($appendix)?),
            },
            check: $check,
        };
    };
}
