//! Every fixture through policy.wasm: what the API server would deliver, answered exactly as the
//! native rule core answers it.

use std::sync::Arc;

use serde_json::{json, Value};

use sa_guard_e2e::apiserver::{injected_volume, TOKEN_MOUNT_PATH};
use sa_guard_e2e::host::NoCapabilities;

use crate::support::*;

#[test]
fn pods_are_delivered_as_the_api_server_delivers_them() {
    let mut pods = 0;
    for (name, request) in all_requests() {
        for object in [&request["object"], &request["oldObject"]] {
            if object["kind"] != "Pod" {
                continue;
            }
            pods += 1;
            let spec = &object["spec"];
            let sa = spec["serviceAccountName"].as_str().unwrap_or("");
            assert!(!sa.is_empty(), "{name}: the plugin always sets serviceAccountName");
            assert_eq!(spec["serviceAccount"], json!(sa), "{name}: the v1 conversion copies it into serviceAccount");
            let injected: Vec<&Value> = spec["volumes"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|v| v["name"].as_str().is_some_and(|n| n.starts_with("kube-api-access-")))
                .collect();
            if spec["automountServiceAccountToken"] == json!(false) {
                assert!(injected.is_empty(), "{name}: no token volume when automount is off");
                continue;
            }
            assert_eq!(injected.len(), 1, "{name}");
            let volume_name = injected[0]["name"].as_str().unwrap();
            assert_eq!(injected[0], &injected_volume(volume_name), "{name}");
            for list in ["initContainers", "containers"] {
                for container in spec[list].as_array().into_iter().flatten() {
                    let mounts = container["volumeMounts"].as_array().unwrap();
                    assert!(
                        mounts.contains(&json!({"name": volume_name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH})),
                        "{name}: {list} {}",
                        container["name"]
                    );
                }
            }
        }
    }
    assert!(pods >= 10, "only {pods} Pods in the fixtures");
}

/// The native rule core's answer to the same payload.
fn native(payload: &[u8]) -> Value {
    serde_json::to_value(sa_guard::admission::validate(payload, &sa_guard::lookup::NoCluster)).unwrap()
}

#[test]
fn every_fixture_is_answered_as_the_native_rule_core_answers_it() {
    let evaluator = policy().instantiate(Arc::new(NoCapabilities)).unwrap();
    let mut verdicts = 0;
    for (name, request) in all_requests() {
        for settings in [json!({}), json!({"mutate": true}), json!({"rules": {"SAG002": "warn", "SAG003": "warn"}})] {
            let payload = serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap();
            let wasm = evaluator.validate_raw(&payload).unwrap_or_else(|e| panic!("{name} {settings}: {e}"));
            assert_eq!(serde_json::to_value(&wasm).unwrap(), native(&payload), "{name} with {settings}");
            verdicts += 1;
        }
    }
    assert!(verdicts >= 150, "{verdicts}");
}
