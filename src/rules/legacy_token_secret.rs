use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::meta::{Category, Scope};

declare_rule! {
    /// TODO(helper): documentation — why it matters, what fires, what does not, the fix.
    pub static RULE = {
        id: "SAG007",
        slug: "legacy-token-secret",
        title: "A long-lived legacy ServiceAccount token Secret",
        category: Category::TokenHygiene,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: true,
        remediation: "TODO(helper)",
        references: &[],
        peers: &[],
        check: check,
    };
}

fn check(_cx: &Cx<'_>, _out: &mut Emitter<'_>) {}
