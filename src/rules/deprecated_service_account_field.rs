use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::meta::{Category, Scope};

declare_rule! {
    /// TODO(helper): documentation — why it matters, what fires, what does not, the fix.
    pub static RULE = {
        id: "SAG004",
        slug: "deprecated-service-account-field",
        title: "The deprecated serviceAccount field names the ServiceAccount",
        category: Category::Identity,
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
