//! The admission path as policy.wasm runs it: any bytes as the `validate` payload.
//! Invariants: never a panic; the verdict is well-formed (accepted, or 400/403 with a message)
//! and serializes; a mutated object passes the same policy unchanged (fixes converge); the rules
//! judge the object as admission decodes it (`sa_guard::projection`) as they judge it whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sa_guard::admission::{validate, Verdict};
use sa_guard::engine::{evaluate, Mode, Options};
use sa_guard::lookup::{ClusterLookup, Lookup, StaticCluster};
use sa_guard::{NoCluster, Settings};
use serde_json::Value;

fn check_well_formed(verdict: &Verdict) {
    if verdict.accepted {
        assert!(verdict.code.is_none() && verdict.message.is_none(), "accepted with a code or message: {verdict:?}");
    } else {
        assert!(matches!(verdict.code, Some(400) | Some(403)), "rejected with code {:?}", verdict.code);
        assert!(verdict.message.as_deref().is_some_and(|m| !m.is_empty()), "rejected without a message");
        assert!(verdict.mutated_object.is_none(), "a rejection carries a mutated object");
    }
    serde_json::to_vec(verdict).expect("the verdict serializes");
}

fuzz_target!(|data: &[u8]| {
    let verdict = validate(data, &NoCluster);
    check_well_formed(&verdict);

    // Context-aware look-ups that fail, and that find nothing: other branches of the same rules.
    let failing = StaticCluster { objects: Vec::new(), failure: Some("timeout".into()) };
    check_well_formed(&validate(data, &failing));
    check_well_formed(&validate(data, &StaticCluster::default()));

    // A mutation is final: the mutated object is accepted as it is.
    if let Some(mutated) = verdict.mutated_object {
        let mut payload: Value = serde_json::from_slice(data).expect("a mutated verdict came from JSON");
        payload["request"]["object"] = mutated;
        let again = validate(&serde_json::to_vec(&payload).unwrap(), &NoCluster);
        assert!(again.accepted && again.mutated_object.is_none(), "the mutated object is not final: {again:?}");
    }

    // The admission decoder leaves out environment variables no rule reads: never a difference,
    // in a cluster where every Secret is a legacy token (so SAG007 judges every reference).
    if let Some(object) =
        serde_json::from_slice::<Value>(data).ok().and_then(|p| p.get("request")?.get("object").cloned())
    {
        let read = sa_guard::projection::read_object(&object.to_string()).expect("a JSON value reads");
        let options =
            Options { mode: Mode::Admission, default_namespace: Some("default"), lookup: &EverySecretIsAToken };
        let settings = Settings { context_aware: true, lookup_secrets: true, ..Settings::default() };
        assert_eq!(
            evaluate(std::slice::from_ref(&read.object), &settings, &options),
            evaluate(std::slice::from_ref(&object), &settings, &options),
            "the rules judge the decoded object differently"
        );
    }
});

/// Answers every Secret look-up with a legacy ServiceAccount token of that name, and nothing else.
struct EverySecretIsAToken;

impl ClusterLookup for EverySecretIsAToken {
    fn get(&self, _: &str, kind: &str, namespace: Option<&str>, name: &str) -> Lookup<'static> {
        match kind {
            "Secret" => Lookup::found(serde_json::json!({
                "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
                "metadata": {"name": name, "namespace": namespace,
                             "annotations": {"kubernetes.io/service-account.name": "app"}}
            })),
            _ => Lookup::NotFound,
        }
    }
}
