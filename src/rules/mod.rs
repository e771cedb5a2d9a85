//! The rules: one file per rule, each declaring its metadata (with [`declare_rule!`]) next to its
//! check and its tests. A rule's check reads the bundle through [`Cx`] and reports through an
//! [`Emitter`]; levels, exemptions and ordering are the engine's job.

use crate::engine::{Cx, Emitter};
use crate::meta::RuleMeta;

pub mod default_sa_automount;
pub mod default_sa_bound;
pub mod deprecated_service_account_field;
pub mod implicit_token_automount;
pub mod insecure_kubeconfig;
pub mod legacy_token_secret;
pub mod projected_token_audience;
pub mod projected_token_expiry;
pub mod risky_token_mounted;
pub mod sa_group_binding;
pub mod sa_privileged_role;
pub mod shared_service_account;
pub mod static_cloud_credentials;
pub(crate) mod stored_values;
pub mod undefined_service_account;
pub mod unused_service_account;
pub mod workload_default_sa;

#[cfg(test)]
pub(crate) mod testing;

/// A rule: its metadata and its check.
pub struct Rule {
    pub meta: RuleMeta,
    pub check: fn(&Cx<'_>, &mut Emitter<'_>),
}

static ALL: [&Rule; 16] = [
    &default_sa_automount::RULE,
    &implicit_token_automount::RULE,
    &workload_default_sa::RULE,
    &deprecated_service_account_field::RULE,
    &projected_token_audience::RULE,
    &projected_token_expiry::RULE,
    &legacy_token_secret::RULE,
    &default_sa_bound::RULE,
    &sa_privileged_role::RULE,
    &sa_group_binding::RULE,
    &undefined_service_account::RULE,
    &shared_service_account::RULE,
    &static_cloud_credentials::RULE,
    &insecure_kubeconfig::RULE,
    &risky_token_mounted::RULE,
    &unused_service_account::RULE,
];

/// Every rule, in id order.
pub fn all() -> &'static [&'static Rule] {
    &ALL
}

/// A rule by id (case-insensitive) or slug.
pub fn find(id_or_slug: &str) -> Option<&'static Rule> {
    ALL.iter().copied().find(|r| r.meta.id.eq_ignore_ascii_case(id_or_slug) || r.meta.slug == id_or_slug)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_slugs_are_unique_ordered_and_well_formed() {
        for (i, rule) in all().iter().enumerate() {
            assert_eq!(rule.meta.id, format!("SAG{:03}", i + 1));
            assert!(rule.meta.slug.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{}", rule.meta.slug);
            assert!(!rule.meta.documentation().is_empty(), "{} has no doc comment", rule.meta.id);
            assert!(!rule.meta.remediation.is_empty());
            assert_eq!(find(rule.meta.slug).map(|r| r.meta.id), Some(rule.meta.id));
        }
    }
}
