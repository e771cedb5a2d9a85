use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::meta::{Category, Scope};

declare_rule! {
    /// TODO(helper): documentation — why it matters, what fires, what does not, the fix.
    pub static RULE = {
        id: "SAG009",
        slug: "sa-privileged-role",
        title: "A ServiceAccount is bound to a powerful role",
        category: Category::Rbac,
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
