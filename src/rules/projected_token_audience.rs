use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::meta::{Category, Scope};

declare_rule! {
    /// TODO(helper): documentation — why it matters, what fires, what does not, the fix.
    pub static RULE = {
        id: "SAG005",
        slug: "projected-token-audience",
        title: "A projected token has no audience, or a denied one",
        category: Category::TokenHygiene,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "TODO(helper)",
        references: &[],
        peers: &[],
        check: check,
    };
}

fn check(_cx: &Cx<'_>, _out: &mut Emitter<'_>) {}
