use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::meta::{Category, Scope};

declare_rule! {
    /// TODO(helper): documentation — why it matters, what fires, what does not, the fix.
    pub static RULE = {
        id: "SAG003",
        slug: "workload-default-sa",
        title: "A workload with a mounted token runs as the default ServiceAccount",
        category: Category::Identity,
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
