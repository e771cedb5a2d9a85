//! Which API tokens a Pod spec's Pods get, and why: the effective `automountServiceAccountToken`
//! (the Pod's field, else its ServiceAccount's, else `true`) and projected `serviceAccountToken`
//! volumes with the API server's audience. Read by the token rules (SAG002, SAG003, SAG005),
//! SAG015 and the inventory.

use serde_json::Value;

use crate::bundle::Obj;
use crate::engine::{Cx, Mode};
use crate::finding::Level;
use crate::k8s::{self, PodSpec, AUTOMOUNT};
use crate::lookup::Lookup;
use crate::settings::OnLookupFailure;

/// Who said `true`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptIn {
    PodSpec,
    ServiceAccount,
}

/// Why a ServiceAccount's own `automountServiceAccountToken` could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unknown {
    /// Manifest mode: the ServiceAccount is not among the linted objects.
    NotDefined,
    /// Admission without context-aware look-ups.
    LookupsOff,
    /// Admission: the cluster has no such ServiceAccount.
    NotInCluster,
    /// Admission: the look-up failed.
    Failed(String),
}

/// Whether Kubernetes mounts a token into Pods from a Pod spec, and why.
#[derive(Debug, Clone, PartialEq)]
pub enum TokenMount<'a> {
    /// `false` on the Pod, or on its ServiceAccount when the Pod omits the field.
    Disabled,
    /// An explicit `true`.
    OptedIn(OptIn),
    /// Neither the Pod nor its ServiceAccount sets the field: Kubernetes' default, `true`.
    ByDefault,
    /// The Pod omits the field and the ServiceAccount's setting is unknown: probably `true`.
    SaUnknown(Unknown),
    /// The Pod's field is present but not a boolean.
    Invalid(&'a Value),
}

/// Works out the effective `automountServiceAccountToken` the way Kubernetes does: the Pod's
/// field, else the ServiceAccount's (looked up only when needed), else `true`.
pub fn token_mount<'a>(cx: &Cx<'_>, obj: &Obj<'_>, spec: &PodSpec<'a>) -> TokenMount<'a> {
    if let Some(raw) = spec.field(AUTOMOUNT) {
        return match k8s::as_bool(raw) {
            Some(false) => TokenMount::Disabled,
            Some(true) => TokenMount::OptedIn(OptIn::PodSpec),
            None => TokenMount::Invalid(raw),
        };
    }
    let (sa_name, _) = spec.service_account();
    match cx.service_account(obj.namespace, sa_name) {
        // A non-boolean value on the ServiceAccount would not have been admitted: read as unset.
        Lookup::Found(sa) => match sa.get(AUTOMOUNT).and_then(k8s::as_bool) {
            Some(false) => TokenMount::Disabled,
            Some(true) => TokenMount::OptedIn(OptIn::ServiceAccount),
            None => TokenMount::ByDefault,
        },
        Lookup::NotFound if cx.mode == Mode::Manifest => TokenMount::SaUnknown(Unknown::NotDefined),
        Lookup::NotFound => TokenMount::SaUnknown(Unknown::NotInCluster),
        Lookup::NotAvailable => TokenMount::SaUnknown(Unknown::LookupsOff),
        Lookup::Failed(error) => TokenMount::SaUnknown(Unknown::Failed(error)),
    }
}

/// "ServiceAccount production/default", or without the namespace when none is known.
pub fn describe_service_account(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("ServiceAccount {ns}/{name}"),
        None => format!("ServiceAccount {name}"),
    }
}

/// "<ServiceAccount ...> is not defined in these manifests, so its automountServiceAccountToken is unknown".
pub fn unknown_clause(service_account: &str, unknown: &Unknown) -> String {
    let why = match unknown {
        Unknown::NotDefined => format!("{service_account} is not defined in these manifests"),
        Unknown::LookupsOff => format!("{service_account} was not looked up because context-aware lookups are off"),
        Unknown::NotInCluster => format!("{service_account} does not exist in the cluster"),
        Unknown::Failed(error) => format!("looking up {service_account} failed ({error})"),
    };
    format!("{why}, so its automountServiceAccountToken is unknown")
}

/// What `on_lookup_failure` makes of a finding that rests on a failed look-up: `None` to drop
/// it, else the level to report it at.
pub fn level_after_lookup_failure(cx: &Cx<'_>, configured: Level) -> Option<Level> {
    match cx.settings.on_lookup_failure {
        OnLookupFailure::Deny => Some(configured),
        OnLookupFailure::Warn => Some(configured.min(Level::Warn)),
        OnLookupFailure::Allow => None,
    }
}

/// How a Pod gets a token the API server accepts.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiToken<'a> {
    /// Mounted by Kubernetes (`automountServiceAccountToken` is effectively true, or unknown and
    /// so by Kubernetes' default true): at `<pod spec>/automountServiceAccountToken`.
    Automounted(TokenMount<'a>),
    /// A projected `serviceAccountToken` without an audience, or with one of `denied_audiences`
    /// (the API server's own): the JSON pointer of its source.
    Projected { volume: &'a str, pointer: String },
}

/// Every API token the Pods of `spec` get for their ServiceAccount: what an attacker with code
/// execution in one of them holds.
pub fn api_tokens<'a>(cx: &Cx<'_>, obj: &Obj<'_>, spec: &PodSpec<'a>) -> Vec<ApiToken<'a>> {
    let mut tokens = Vec::new();
    match token_mount(cx, obj, spec) {
        TokenMount::Disabled => {}
        mount => tokens.push(ApiToken::Automounted(mount)),
    }
    for (pointer, volume) in spec.volumes() {
        if k8s::is_injected_api_access_volume(volume) {
            // the admission plugin's own copy of the automounted token, counted above
            continue;
        }
        let name = volume.get("name").and_then(Value::as_str).unwrap_or("");
        let sources = k8s::at(volume, &["projected", "sources"]).and_then(Value::as_array);
        for (j, source) in sources.into_iter().flatten().enumerate() {
            let Some(token) = source.get("serviceAccountToken").filter(|t| t.is_object()) else { continue };
            let audience = token.get("audience").and_then(Value::as_str).unwrap_or("");
            if audience.is_empty() || cx.settings.is_audience_denied(audience) {
                tokens.push(ApiToken::Projected {
                    volume: name,
                    pointer: format!("{pointer}/projected/sources/{j}/serviceAccountToken"),
                });
            }
        }
    }
    tokens
}
