//! What the API server injects is not a finding; bad settings and bad payloads are answered,
//! never trapped on; the host's deadline holds.

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;

use sa_guard_e2e::apiserver::{injected_volume, INJECTED_TOKEN_EXPIRATION_SECONDS, TOKEN_MOUNT_PATH};
use sa_guard_e2e::host::{GuestFailure, NoCapabilities, Policy, SettingsResponse};
use sa_guard_e2e::review::{AdmissionResponse, ValidationResponse};

use crate::support::*;

#[test]
fn the_injected_api_access_volume_is_not_a_projected_token_finding() {
    let request = fixture("pod-default-sa.create");
    let spec = &request["object"]["spec"];
    // The fixture is what the API server delivers: the plugin's volume, mounted everywhere, and
    // the deprecated field filled in by the v1 conversion.
    let volume = &spec["volumes"][0];
    let name = volume["name"].as_str().unwrap();
    assert_eq!(volume, &injected_volume(name));
    assert_eq!(
        volume["projected"]["sources"][0]["serviceAccountToken"],
        json!({"expirationSeconds": INJECTED_TOKEN_EXPIRATION_SECONDS, "path": "token"})
    );
    for list in ["containers", "initContainers"] {
        assert_eq!(
            spec[list][0]["volumeMounts"],
            json!([{"name": name, "readOnly": true, "mountPath": TOKEN_MOUNT_PATH}])
        );
    }
    assert_eq!(spec["serviceAccount"], spec["serviceAccountName"]);

    for operation in ["create", "update"] {
        let request = fixture(&format!("pod-default-sa.{operation}"));
        let settings = only(&["SAG004", "SAG005", "SAG006"], json!({"rules": {"SAG006": "deny"}}));
        assert_eq!(evaluate(&request, &settings), plain_accept(&format!("{operation}-pod-default-sa")));
        // Even with a maximum below the injected 3607 seconds.
        let strict = only(&["SAG006"], json!({"max_token_expiration_seconds": 600, "rules": {"SAG006": "deny"}}));
        assert_eq!(evaluate(&request, &strict), plain_accept(&format!("{operation}-pod-default-sa")));
    }
}

#[test]
fn a_hand_written_copy_of_the_injected_volume_in_a_template_is_a_finding() {
    // Same volume, written into a Deployment to get an API token despite automount: false.
    let request = with_object(&fixture("deployment-api.create"), |o| {
        let spec = &mut o["spec"]["template"]["spec"];
        spec["automountServiceAccountToken"] = json!(false);
        spec["volumes"] = json!([injected_volume("kube-api-access-abcde")]);
    });
    let token = "/spec/template/spec/volumes/0/projected/sources/0/serviceAccountToken";
    let expiry = format!("{token}/expirationSeconds");
    let settings = only(&["SAG005", "SAG006"], json!({}));
    let mut expected = denied(
        &request,
        "Deployment shop/api",
        &[finding(
            "SAG005",
            token,
            "the projected token in volume kube-api-access-abcde has no audience, so it gets the API server's \
             audience and works as a Kubernetes API credential",
        )],
    );
    let sag006 = [finding(
        "SAG006",
        &expiry,
        "the projected token in volume kube-api-access-abcde lives 3607 seconds, longer than \
         max_token_expiration_seconds (3600)",
    )];
    let warning = warned(&request, "Deployment shop/api", &sag006);
    expected.warnings = warning.warnings;
    expected.audit_annotations.as_mut().unwrap().extend(warning.audit_annotations.unwrap());
    assert_eq!(evaluate(&request, &settings), expected);
}

fn settings_verdict(settings: &[u8]) -> SettingsResponse {
    policy().instantiate(Arc::new(NoCapabilities)).unwrap().validate_settings_raw(settings).unwrap()
}

#[test]
fn invalid_settings_are_rejected_naming_the_field() {
    let invalid = |settings: &str, message: &str| {
        let verdict = settings_verdict(settings.as_bytes());
        assert!(!verdict.valid, "{settings}");
        let got = verdict.message.unwrap_or_default();
        assert!(got.starts_with(message), "{settings}\n got: {got}\nwant: {message}");
    };
    invalid(
        r#"{"max_token_expiration_seconds": 60}"#,
        "invalid settings: max_token_expiration_seconds: 60 is below the Kubernetes minimum of 600",
    );
    invalid(r#"{"exempt_namespace": ["kube-system"]}"#, "invalid settings: unknown field `exempt_namespace`");
    invalid(r#"{"mutate": "yes"}"#, "invalid settings: invalid type: string \"yes\", expected a boolean");
    invalid(r#"{"rules": {"SAG404": "deny"}}"#, "invalid settings: rules: unknown rule `SAG404`");
    invalid(
        r#"{"rules": {"SAG001": "loud"}}"#,
        "invalid settings: unknown variant `loud`, expected one of `off`, `warn`, `deny`",
    );
    invalid(
        r#"{"allowed_token_service_accounts": ["kyverno"]}"#,
        "invalid settings: allowed_token_service_accounts: `kyverno` is not of the form namespace/name",
    );
    invalid(
        r#"{"on_lookup_failure": "retry"}"#,
        "invalid settings: unknown variant `retry`, expected one of `deny`, `warn`, `allow`",
    );
    invalid(r#"["mutate"]"#, "invalid settings: expected an object, found an array");
    invalid("{", "invalid settings: not JSON");

    invalid(
        r#"{"rules": {"SAG001": true}}"#,
        "invalid settings: invalid value: boolean `true`, expected one of `off`, `warn`, `deny`",
    );

    // `SAG004: off` in a ClusterAdmissionPolicy applied with kubectl (YAML 1.1) arrives as false.
    let yaml_1_1_off = r#"{"rules": {"SAG004": false}}"#;
    for valid in [
        r#"{}"#,
        "null",
        r#"{"mutate": true, "context_aware": true, "rules": {"SAG003": "warn"}, "exempt_namespaces": ["kube-system"]}"#,
        yaml_1_1_off,
    ] {
        assert_eq!(settings_verdict(valid.as_bytes()), SettingsResponse { valid: true, message: None }, "{valid}");
    }
}

/// `validate` on raw bytes must answer (400) rather than trap or error.
fn answer(payload: &[u8]) -> ValidationResponse {
    let evaluator = policy().instantiate(Arc::new(NoCapabilities)).unwrap();
    match evaluator.validate_raw(payload) {
        Ok(response) => response,
        Err(failure) => {
            panic!("{failure} for payload {:?}", String::from_utf8_lossy(&payload[..payload.len().min(200)]))
        }
    }
}

fn assert_bad_request(payload: &[u8], message_start: &str) {
    let response = answer(payload);
    assert!(!response.accepted, "{response:?}");
    assert_eq!(response.code, Some(400), "{response:?}");
    let message = response.message.unwrap_or_default();
    assert!(message.starts_with(message_start), "got: {message}\nwant: {message_start}");
}

#[test]
fn malformed_payloads_are_answered_with_400() {
    assert_bad_request(b"", "invalid admission payload: not JSON");
    assert_bad_request(b"\xff\xfe\x00", "invalid admission payload: not valid UTF-8");
    assert_bad_request(b"kind: Pod", "invalid admission payload: not JSON");
    assert_bad_request(
        b"[]",
        "invalid admission payload: expected a JSON object with `request` and `settings`, found an array",
    );
    assert_bad_request(br#"{"settings": {}}"#, "invalid admission payload: `request` is missing");
    assert_bad_request(
        br#"{"request": {"operation": "CREATE"}}"#,
        "invalid admission payload: `request.object` is missing",
    );
    assert_bad_request(
        br#"{"request": {"operation": "CREATE", "object": 7}}"#,
        "invalid admission payload: `request.object` must be an object, found a number",
    );
    assert_bad_request(
        br#"{"request": {"operation": "PATCH", "object": {}}}"#,
        "invalid admission payload: `request.operation` is `PATCH`",
    );
    assert_bad_request(
        br#"{"request": {"operation": "CREATE", "object": {}}, "settings": {"mutates": true}}"#,
        "invalid settings: unknown field `mutates`",
    );
    // Nesting beyond serde_json's recursion limit must not overflow the guest's stack.
    let deep = format!("{{\"request\": {}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert_bad_request(deep.as_bytes(), "invalid admission payload: not JSON: recursion limit exceeded");
    // objects nested as deep, on the module's own stack
    let deep = "{\"a\":".repeat(50_000);
    assert_bad_request(deep.as_bytes(), "invalid admission payload: not JSON: recursion limit exceeded");
}

#[test]
fn truncated_requests_never_trap() {
    let request = fixture("pod-default-sa.create");
    let payload =
        serde_json::to_vec(&json!({"request": request, "settings": {"mutate": true, "context_aware": true}})).unwrap();
    let evaluator = policy().instantiate(Arc::new(NoCapabilities)).unwrap();
    let step = (payload.len() / 150).max(1);
    for cut in (0..payload.len()).step_by(step) {
        match evaluator.validate_raw(&payload[..cut]) {
            Ok(response) => assert_eq!(response.code, Some(400), "cut at {cut}: {response:?}"),
            Err(failure) => panic!("cut at {cut}: {failure}"),
        }
    }
}

#[test]
fn odd_shapes_in_valid_json_are_judged_not_trapped_on() {
    let base = fixture("pod-default-sa.create");
    let odd = [json!(null), json!("x"), json!(-1), json!(1e300), json!([]), json!([null, {}, "a"]), json!({})];
    let places = [
        "/spec",
        "/spec/containers",
        "/spec/volumes",
        "/spec/volumes/0/projected",
        "/spec/containers/0/env",
        "/metadata",
        "/metadata/annotations",
        "/spec/serviceAccountName",
        "/spec/automountServiceAccountToken",
    ];
    let evaluator = policy().instantiate(Arc::new(NoCapabilities)).unwrap();
    for place in places {
        for value in &odd {
            let request = with_object(&base, |o| {
                if let Some(target) = o.pointer_mut(place) {
                    *target = value.clone();
                }
            });
            let payload = serde_json::to_vec(&json!({"request": request, "settings": {"mutate": true}})).unwrap();
            match evaluator.validate_raw(&payload) {
                // A Pod whose `spec` is not a mapping is one the API server refuses to decode: 400,
                // naming the field. Every other odd shape is judged (accepted or denied).
                Ok(r) if place == "/spec" && !(value.is_null() || value.is_object()) => {
                    assert_eq!(r.code, Some(400), "{place} = {value}: {r:?}");
                    let message = r.message.as_deref().unwrap_or_default();
                    assert!(
                        message.starts_with("Pod shop/web cannot be read: /spec is a"),
                        "{place} = {value}: {message}"
                    );
                }
                Ok(r) => assert!(matches!(r.code, None | Some(403)), "{place} = {value}: {r:?}"),
                Err(failure) => panic!("{place} = {value}: {failure}"),
            }
        }
    }
}

#[test]
fn a_three_megabyte_request_is_answered() {
    // The API server's request size limit.
    let request = with_object(&fixture("pod-no-token.create"), |o| {
        o["metadata"]["annotations"] = json!({"bulk": "x".repeat(3 * 1024 * 1024)});
    });
    let response = evaluate(&request, &json!({}));
    assert_eq!(response, plain_accept("create-pod-no-token"));
}

#[test]
fn protocol_version_is_v1() {
    let evaluator = policy().instantiate(Arc::new(NoCapabilities)).unwrap();
    assert_eq!(evaluator.protocol_version().unwrap(), "v1");
}

#[test]
fn the_host_deadline_stops_a_runaway_guest_with_a_500() {
    // A waPC guest that never returns (WebAssembly text, compiled by wasmtime).
    let dir = std::env::temp_dir().join(format!("sa-guard-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("spin.wat");
    std::fs::write(
        &path,
        r#"(module (func (export "__guest_call") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 1)))"#,
    )
    .unwrap();
    let spinning = Policy::load_with_timeout(&path, Duration::from_millis(200)).unwrap();
    let evaluator = spinning.instantiate(Arc::new(NoCapabilities)).unwrap();
    let started = std::time::Instant::now();
    let failure = evaluator.validate_raw(b"{}").unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());
    assert!(matches!(&failure, GuestFailure::Trap(m) if m.contains("execution deadline exceeded")), "{failure:?}");
    let response = evaluator.validate(&json!({"uid": "u1", "operation": "CREATE", "object": {}}), &json!({}));
    assert_eq!(
        response,
        AdmissionResponse {
            uid: "u1".into(),
            allowed: false,
            patch_type: None,
            patch: None,
            status: Some(sa_guard_e2e::review::Status {
                message: Some(
                    "internal server error: guest trapped: guest code interrupted, execution deadline exceeded".into()
                ),
                code: Some(500)
            }),
            audit_annotations: None,
            warnings: None,
        }
    );
    let _ = std::fs::remove_dir_all(&dir);
}
