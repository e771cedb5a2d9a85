use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::meta::{Category, Scope};

declare_rule! {
    /// TODO(helper): documentation — why it matters, what fires, what does not, the fix.
    pub static RULE = {
        id: "SAG006",
        slug: "projected-token-expiry",
        title: "A projected token lives too long, or less than Kubernetes allows",
        category: Category::TokenHygiene,
        default_level: Level::Warn,
        scope: Scope::Object,
        fixable: true,
        remediation: "TODO(helper)",
        references: &[],
        peers: &[],
        check: check,
    };
}

fn check(_cx: &Cx<'_>, _out: &mut Emitter<'_>) {}
