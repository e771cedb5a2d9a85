//! sa-guard: Kubernetes ServiceAccount hardening.
//!
//! The crate is the rule core: Kubernetes objects (as `serde_json::Value`) go in, typed
//! [`Finding`]s come out. It has no front-end types; the Kubewarden policy (`--features policy`),
//! the CLI (`cli/`) and the browser playground (`web/`) adapt it.
//!
//! * [`rules`] — one file per rule; each declares its metadata next to its check.
//! * [`engine::evaluate`] — runs the enabled rules over a bundle and applies exemptions.
//! * [`admission`] — turns an admission payload into a verdict (used by the policy and its tests).
//! * `manifest` (feature `manifest`) — multi-document YAML with source positions, and fixes
//!   applied to the text.

pub mod admission;
pub mod bundle;
mod byte_words;
pub mod engine;
pub mod finding;
pub mod inventory;
pub mod k8s;
pub mod lookup;
pub mod meta;
pub mod projection;
pub mod rbac;
pub mod rules;
pub mod settings;
pub mod tokens;

#[cfg(feature = "manifest")]
pub mod manifest;

#[cfg(all(feature = "policy", target_arch = "wasm32"))]
mod policy;

pub use engine::{evaluate, Mode, Report};
pub use finding::{Finding, Fix, Level, ObjectRef};
pub use lookup::{ClusterLookup, Lookup, NoCluster};
pub use meta::{Category, RuleMeta, Scope};
pub use settings::Settings;

/// The text of `settings.rs`: the doc comments of `Settings`' fields are the settings
/// documentation the CLI generates. Exposed here rather than read by path from the CLI, so that
/// the CLI also builds from its published package (`cargo package`), where `../src` is not there.
#[doc(hidden)]
pub const SETTINGS_SOURCE: &str = include_str!("settings.rs");
