//! The cheapest waPC policy that still does what every policy must: read kwctl's payload
//! (`{"request": ..., "settings": ...}`) into a JSON value, as `policy.wasm` does, and answer.
//! `make bench` divides policy.wasm's latency by this module's to show what the rules cost
//! on top of getting the request in and the answer out.
//!
//! `scan` is a lower floor still: it reads the payload as UTF-8 JSON without building anything,
//! what any policy must at least do with a request before it can judge it.

use serde_json::Value;
use wapc_guest::{register_function, CallResult};

/// Every field present and `null`, as the Kubewarden SDK writes an acceptance.
const ACCEPT: &[u8] =
    br#"{"accepted":true,"message":null,"code":null,"mutated_object":null,"audit_annotations":null,"warnings":null}"#;

#[no_mangle]
pub extern "C" fn wapc_init() {
    register_function("validate", validate);
    register_function("validate_settings", validate_settings);
    register_function("protocol_version", protocol_version);
    register_function("scan", scan);
}

fn validate(payload: &[u8]) -> CallResult {
    let parsed: Value = serde_json::from_slice(payload)?;
    // Keep the parse from being optimised away.
    std::hint::black_box(&parsed);
    Ok(ACCEPT.to_vec())
}

fn scan(payload: &[u8]) -> CallResult {
    let text = std::str::from_utf8(payload)?;
    let scanned: serde::de::IgnoredAny = serde_json::from_str(text)?;
    std::hint::black_box(scanned);
    Ok(ACCEPT.to_vec())
}

fn validate_settings(payload: &[u8]) -> CallResult {
    let parsed: Value = serde_json::from_slice(payload)?;
    std::hint::black_box(&parsed);
    Ok(br#"{"valid":true,"message":null}"#.to_vec())
}

fn protocol_version(_: &[u8]) -> CallResult {
    Ok(br#""v1""#.to_vec())
}
