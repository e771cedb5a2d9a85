use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::meta::{Category, Scope};

declare_rule! {
    /// TODO(helper): documentation — why it matters, what fires, what does not, the fix.
    pub static RULE = {
        id: "SAG002",
        slug: "implicit-token-automount",
        title: "A workload gets an API token by default, not by choice",
        category: Category::TokenMounting,
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
