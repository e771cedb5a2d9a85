//! Malformed input on the admission path (`admission::validate`, what policy.wasm's `validate`
//! runs): whatever arrives, the answer is a verdict — code 400 naming the problem for bad
//! payloads and settings — and never a panic, a stack overflow or a silent accept of garbage.

use sa_guard::admission::{validate, validate_settings, Verdict, CODE_BAD_REQUEST};
use sa_guard::NoCluster;
use serde_json::{json, Value};

/// Rejected with 400 and exactly `message`, nothing else set.
fn assert_bad_request(payload: &[u8], message: &str) {
    let verdict = run_on_small_stack(payload.to_vec());
    assert_eq!(
        verdict,
        Verdict {
            accepted: false,
            message: Some(message.to_string()),
            code: Some(CODE_BAD_REQUEST),
            mutated_object: None,
            audit_annotations: None,
            warnings: None,
        },
        "payload: {}",
        String::from_utf8_lossy(&payload[..payload.len().min(200)])
    );
}

/// policy.wasm runs on a 1 MiB wasm stack; evaluating on a 320 KiB native stack (unoptimized in
/// `cargo test`, so with larger frames than the module's) shows that no input makes the core
/// recurse deeply (serde_json stops at 128 levels). 128 objects nested in `Value` take about
/// 280 KiB here since serde_json's `raw_value` feature (which `src/projection.rs` uses).
fn run_on_small_stack(payload: Vec<u8>) -> Verdict {
    std::thread::Builder::new()
        .stack_size(320 * 1024)
        .spawn(move || validate(&payload, &NoCluster))
        .expect("spawn")
        .join()
        .expect("validate panicked")
}

fn request(object: Value, settings: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "request": {"uid": "u", "operation": "CREATE", "namespace": "shop", "object": object},
        "settings": settings,
    }))
    .unwrap()
}

/// A Pod that SAG002 rejects (no automount setting anywhere), with every other rule off so the
/// tests below pin one decision.
fn token_pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": "shop"},
           "spec": {"serviceAccountName": "web", "containers": [{"name": "app", "image": "app:1"}]}})
}

fn only_sag002() -> Value {
    let rules: serde_json::Map<String, Value> = sa_guard::rules::all()
        .iter()
        .filter(|r| r.meta.id != "SAG002")
        .map(|r| (r.meta.id.to_string(), json!("off")))
        .collect();
    json!({"rules": rules})
}

const SAG002_LOOKUPS_OFF: &str = "sa-guard denied Pod shop/web (1 finding):\n[SAG002] Pod shop/web \
    /spec/automountServiceAccountToken: the Pod spec does not set automountServiceAccountToken and ServiceAccount \
    shop/web was not looked up because context-aware lookups are off, so its automountServiceAccountToken is \
    unknown; Kubernetes' default is true, so an API token is mounted";

fn denied_by_sag002(verdict: &Verdict) -> bool {
    !verdict.accepted
        && verdict.code == Some(403)
        && verdict.message.as_deref().is_some_and(|m| m.starts_with(SAG002_LOOKUPS_OFF))
}

#[test]
fn non_json_is_rejected_naming_the_parse_error() {
    assert_bad_request(b"kind: Pod\n", "invalid admission payload: not JSON: expected value at line 1 column 1");
    assert_bad_request(b"   ", "invalid admission payload: not JSON: EOF while parsing a value at line 1 column 3");
    assert_bad_request(
        b"{\"request\": {}",
        "invalid admission payload: not JSON: EOF while parsing an object at line 1 column 14",
    );
    assert_bad_request(b"{} {}", "invalid admission payload: not JSON: trailing characters at line 1 column 4");
    assert_bad_request(b"\x00\x01\x02", "invalid admission payload: not JSON: expected value at line 1 column 1");
    // a NaN/Infinity literal is not JSON either
    assert_bad_request(
        br#"{"request": {"operation": "CREATE", "object": {"x": NaN}}}"#,
        "invalid admission payload: not JSON: expected value at line 1 column 53",
    );
}

#[test]
fn invalid_utf8_is_rejected_with_its_offset() {
    // a lone continuation byte inside a string value
    let mut payload = br#"{"request": {"operation": "CREATE", "object": {"a": "#.to_vec();
    let offset = payload.len() + 2; // after the opening quote and the `x`
    payload.extend_from_slice(b"\"x\x80y\"}}}");
    assert_bad_request(
        &payload,
        &format!("invalid admission payload: not valid UTF-8 (invalid byte at offset {offset})"),
    );
    // overlong encoding of '/' (0xC0 0xAF), a classic filter bypass, is not UTF-8 either
    assert_bad_request(
        b"{\"request\": \"\xc0\xaf\"}",
        "invalid admission payload: not valid UTF-8 (invalid byte at offset 13)",
    );
    // a lone surrogate written as a JSON escape cannot become a Rust string
    assert_bad_request(
        br#"{"request": {"operation": "CREATE", "object": {"kind": "\ud800"}}}"#,
        "invalid admission payload: not JSON: unexpected end of hex escape at line 1 column 63",
    );
    assert_bad_request(
        br#"{"request": {"operation": "CREATE", "object": {"kind": "\ud800\u0041"}}}"#,
        "invalid admission payload: not JSON: lone leading surrogate in hex escape at line 1 column 68",
    );
}

#[test]
fn wrong_shapes_are_rejected_naming_the_field() {
    let cases: &[(&[u8], &str)] = &[
        (
            b"\"CREATE\"",
            "invalid admission payload: expected a JSON object with `request` and `settings`, found a string",
        ),
        (b"42", "invalid admission payload: expected a JSON object with `request` and `settings`, found a number"),
        (b"true", "invalid admission payload: expected a JSON object with `request` and `settings`, found a boolean"),
        (br#"{"request": []}"#, "invalid admission payload: `request` must be an object, found an array"),
        (br#"{"request": 1.5}"#, "invalid admission payload: `request` must be an object, found a number"),
        (
            br#"{"request": {"operation": "create", "object": {}}}"#,
            "invalid admission payload: `request.operation` is `create`, expected CREATE, UPDATE, DELETE or CONNECT",
        ),
        (
            br#"{"request": {"operation": ["CREATE"], "object": {}}}"#,
            "invalid admission payload: `request.operation` must be a string, found an array",
        ),
        (
            br#"{"request": {"operation": "UPDATE", "object": 5}}"#,
            "invalid admission payload: `request.object` must be an object, found a number",
        ),
        (
            br#"{"request": {"operation": "CREATE", "object": true}}"#,
            "invalid admission payload: `request.object` must be an object, found a boolean",
        ),
        (
            br#"{"request": {"operation": "CREATE", "object": {}, "namespace": {"name": "x"}}}"#,
            "invalid admission payload: `request.namespace` must be a string, found an object",
        ),
        (
            br#"{"request": {"operation": "CREATE", "object": {}, "sub_resource": false}}"#,
            "invalid admission payload: `request.sub_resource` must be a string, found a boolean",
        ),
    ];
    for (payload, message) in cases {
        assert_bad_request(payload, message);
    }
}

#[test]
fn a_missing_or_null_object_is_rejected_for_create_and_update_only() {
    assert_bad_request(
        br#"{"request": {"operation": "CREATE", "oldObject": {"kind": "Pod"}}}"#,
        "invalid admission payload: `request.object` is missing; CREATE requests carry the object being admitted",
    );
    assert_bad_request(
        br#"{"request": {"operation": "UPDATE", "object": null, "oldObject": {"kind": "Pod"}}}"#,
        "invalid admission payload: `request.object` is null; UPDATE requests carry the object being admitted",
    );
    let delete = run_on_small_stack(br#"{"request": {"operation": "DELETE", "object": null}}"#.to_vec());
    assert!(delete.accepted && delete.code.is_none(), "{delete:?}");
}

#[test]
fn null_fields_read_as_absent_not_as_false() {
    // `automountServiceAccountToken: null` is "unset" to Kubernetes: the token is mounted.
    let mut pod = token_pod();
    pod["spec"]["automountServiceAccountToken"] = Value::Null;
    assert!(denied_by_sag002(&run_on_small_stack(request(pod, only_sag002()))));
    // null metadata, namespace, serviceAccountName: still judged (as `default` in the request's namespace)
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "namespace": null, "annotations": null},
                     "spec": {"serviceAccountName": null, "serviceAccount": null, "volumes": null, "containers": null}});
    let verdict = run_on_small_stack(request(pod, only_sag002()));
    assert_eq!(
        verdict.message.as_deref(),
        Some(
            "sa-guard denied Pod shop/web (1 finding):\n[SAG002] Pod shop/web /spec/automountServiceAccountToken: \
             the Pod spec does not set automountServiceAccountToken and ServiceAccount shop/default was not looked \
             up because context-aware lookups are off, so its automountServiceAccountToken is unknown; Kubernetes' \
             default is true, so an API token is mounted What to do: Set automountServiceAccountToken: false in the \
             Pod spec (or on its ServiceAccount) when the workload never calls the Kubernetes API; if it does, give \
             it a dedicated ServiceAccount and set automountServiceAccountToken: true explicitly."
        )
    );
    // null settings are the defaults; null rule levels are not levels
    let verdict = run_on_small_stack(request(token_pod(), Value::Null));
    assert_eq!(verdict.code, Some(403));
    assert_bad_request(
        &request(token_pod(), json!({"rules": {"SAG002": null}})),
        "invalid settings: invalid type: null, expected one of `off`, `warn`, `deny` (in `rules.SAG002`)",
    );
}

#[test]
fn unknown_kinds_and_kinds_of_the_wrong_type_are_accepted_untouched() {
    for object in [
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": {"template": {"spec": {}}}}),
        json!({"kind": 7, "metadata": {"name": "w"}}),
        json!({"kind": ["Pod"], "spec": {}}),
        json!({}),
    ] {
        let verdict = run_on_small_stack(request(object.clone(), json!({"mutate": true})));
        assert_eq!(
            serde_json::to_value(&verdict).unwrap(),
            json!({"accepted": true, "message": null, "code": null, "mutated_object": null, "audit_annotations": null, "warnings": null}),
            "{object}"
        );
    }
}

#[test]
fn a_wrongly_typed_kind_falls_back_to_the_request_kind() {
    // `kind: 7` is not a kind; request.kind says what the API server is admitting, so the Pod is judged.
    let mut pod = token_pod();
    pod["kind"] = json!(7);
    let payload = serde_json::to_vec(&json!({
        "request": {"operation": "CREATE", "namespace": "shop", "kind": {"group": "", "version": "v1", "kind": "Pod"}, "object": pod},
        "settings": only_sag002(),
    }))
    .unwrap();
    assert!(denied_by_sag002(&run_on_small_stack(payload)));
}

#[test]
fn huge_and_odd_numbers_never_panic() {
    // beyond f64: serde_json refuses the number, so the payload is rejected
    assert_bad_request(
        br#"{"request": {"operation": "CREATE", "object": {"spec": {"x": 1e400}}}}"#,
        "invalid admission payload: not JSON: number out of range at line 1 column 66",
    );
    // beyond u64 but within f64, negative, fractional: read, judged, never a panic
    for expiration in [
        json!(1e300),
        json!(18446744073709551616u128 as f64),
        json!(-1),
        json!(i64::MIN),
        json!(u64::MAX),
        json!(0.5),
        json!("9".repeat(400)),
    ] {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"automountServiceAccountToken": false, "containers": [{"name": "c"}], "volumes": [{"name": "t",
                "projected": {"sources": [{"serviceAccountToken": {"path": "token", "audience": "vault", "expirationSeconds": expiration}}]}}]}});
        let verdict = run_on_small_stack(request(pod, json!({"mutate": true})));
        assert!(matches!(verdict.code, None | Some(403)), "{expiration}: {verdict:?}");
    }
    // settings: a number too large for i64 is named
    assert_bad_request(
        &request(token_pod(), json!({"max_token_expiration_seconds": u64::MAX})),
        "invalid settings: invalid value: integer `18446744073709551615`, expected i64 (in `max_token_expiration_seconds`)",
    );
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn deeply_nested_json_is_rejected_without_overflowing_the_stack() {
    // 100 000 levels anywhere in the payload: serde_json's recursion limit (128 levels) answers at
    // the bracket that goes one level too deep, without a stack overflow.
    let deep = nested(100_000);
    let too_deep_at = |prefix: &str| {
        let open = prefix.matches(['{', '[']).count();
        format!(
            "invalid admission payload: not JSON: recursion limit exceeded at line 1 column {}",
            prefix.len() + 128 - open
        )
    };
    let prefix = r#"{"request": {"operation": "CREATE", "object": {"kind": "Pod", "spec": {"x": "#;
    assert_bad_request(format!("{prefix}{deep}}}}}}}}}").as_bytes(), &too_deep_at(prefix));
    // Along the paths the admission decoder reads in its own way (see src/projection.rs): a
    // container list, a variable's name, a variable's valueFrom, in a Pod and in a template.
    for prefix in [
        r#"{"request": {"operation": "CREATE", "object": {"kind": "Pod", "spec": {"containers": "#,
        r#"{"request": {"operation": "CREATE", "object": {"spec": {"containers": [{"env": [{"name": "#,
        r#"{"request": {"operation": "CREATE", "object": {"spec": {"template": {"spec": {"initContainers": [{"env": [{"name": "A", "valueFrom": "#,
    ] {
        assert_bad_request(format!("{prefix}{deep}").as_bytes(), &too_deep_at(prefix));
    }
    let prefix = r#"{"settings": {"rules": "#;
    assert_bad_request(format!(r#"{prefix}{deep}}}, "request": {{}}}}"#).as_bytes(), &too_deep_at(prefix));
    let payload = "{\"a\":".repeat(50_000);
    assert_bad_request(payload.as_bytes(), &too_deep_at(&payload[..127 * 5]));
    assert!(!validate_settings(nested(100_000).as_bytes()).valid);
}

#[test]
fn nesting_just_under_the_limit_is_evaluated() {
    // 120 levels of junk inside a Pod that SAG002 rejects: parsed, judged, mutated, serialized
    let junk: Value = serde_json::from_str(&nested(120)).unwrap();
    let mut pod = token_pod();
    pod["metadata"]["annotations"] = json!({"note": "x"});
    pod["spec"]["containers"][0]["args"] = junk;
    assert!(denied_by_sag002(&run_on_small_stack(request(pod.clone(), only_sag002()))));
    // and inside a variable the admission decoder keeps whole (it has a valueFrom)
    let mut with_variable = pod.clone();
    let junk: Value = serde_json::from_str(&nested(118)).unwrap();
    with_variable["spec"]["containers"][0]["env"] = json!([{"name": "A", "valueFrom": junk}]);
    assert!(denied_by_sag002(&run_on_small_stack(request(with_variable, only_sag002()))));
    let mut settings = only_sag002();
    settings["mutate"] = json!(true);
    let verdict = run_on_small_stack(request(pod, settings));
    assert!(verdict.accepted, "{verdict:?}");
    assert_eq!(verdict.mutated_object.unwrap()["spec"]["automountServiceAccountToken"], json!(false));
}

#[test]
fn settings_of_the_wrong_type_or_unknown_fields_are_named() {
    let cases = [
        (json!("mutate"), "invalid settings: expected an object, found a string"),
        (json!(true), "invalid settings: expected an object, found a boolean"),
        (json!({"mutate": 1}), "invalid settings: invalid type: integer `1`, expected a boolean (in `mutate`)"),
        (json!({"context_aware": "true"}), "invalid settings: invalid type: string \"true\", expected a boolean (in `context_aware`)"),
        (json!({"exempt_namespaces": "kube-system"}), "invalid settings: invalid type: string \"kube-system\", expected a sequence (in `exempt_namespaces`)"),
        (json!({"exempt_namespaces": [""]}), "invalid settings: exempt_namespaces: entries must not be empty"),
        (json!({"exempt_namespaces": [7]}), "invalid settings: invalid type: integer `7`, expected a string (in `exempt_namespaces[0]`)"),
        (json!({"rules": ["SAG001"]}), "invalid settings: invalid type: sequence, expected a map (in `rules`)"),
        (json!({"rules": {"SAG001": "block"}}), "invalid settings: unknown variant `block`, expected one of `off`, `warn`, `deny` (in `rules.SAG001`)"),
        (json!({"on_lookup_failure": "ignore"}), "invalid settings: unknown variant `ignore`, expected one of `deny`, `warn`, `allow` (in `on_lookup_failure`)"),
        (json!({"max_token_expiration_seconds": 3600.5}), "invalid settings: invalid type: floating point `3600.5`, expected i64 (in `max_token_expiration_seconds`)"),
        (json!({"max_token_expiration_seconds": -1}), "invalid settings: max_token_expiration_seconds: -1 is below the Kubernetes minimum of 600"),
        (json!({"allowed_token_service_accounts": ["a/b/c"]}), "invalid settings: allowed_token_service_accounts: `a/b/c` is not of the form namespace/name"),
        (json!({"external_service_accounts": ["/x"]}), "invalid settings: external_service_accounts: `/x` is not of the form namespace/name"),
        (json!({"max_permission_reviews": -3}), "invalid settings: invalid value: integer `-3`, expected usize (in `max_permission_reviews`)"),
        (json!({"additional_risky_requests": [{"verb": "get", "resource": "secrets", "groups": ["x"]}]}), "invalid settings: unknown field `groups`, expected one of `verb`, `group`, `resource`, `subresource`, `name`, `namespace`, `severity`"),
        (json!({"Mutate": true}), "invalid settings: unknown field `Mutate`, expected one of `rules`, `exempt_namespaces`, `allowed_token_service_accounts`, `require_allowlisted_opt_in`, `max_token_expiration_seconds`, `denied_audiences`, `mutate`, `context_aware`, `lookup_secrets`, `on_lookup_failure`, `external_service_accounts`, `rbac_min_severity_to_deny`, `review_service_account_permissions`, `max_permission_reviews`, `additional_risky_requests`"),
        (json!({"contextAware": true}), "invalid settings: unknown field `contextAware`, expected one of `rules`, `exempt_namespaces`, `allowed_token_service_accounts`, `require_allowlisted_opt_in`, `max_token_expiration_seconds`, `denied_audiences`, `mutate`, `context_aware`, `lookup_secrets`, `on_lookup_failure`, `external_service_accounts`, `rbac_min_severity_to_deny`, `review_service_account_permissions`, `max_permission_reviews`, `additional_risky_requests`"),
    ];
    for (settings, message) in cases {
        // Settings travel inside the payload (validate) and alone (validate_settings); both name the
        // problem and the field it is in.
        let standalone = validate_settings(settings.to_string().as_bytes());
        assert!(!standalone.valid, "{settings}");
        assert_eq!(standalone.message.as_deref(), Some(message), "{settings}");
        let verdict = run_on_small_stack(request(token_pod(), settings.clone()));
        assert_eq!(verdict.code, Some(CODE_BAD_REQUEST), "{settings}");
        assert_eq!(verdict.message.as_deref(), Some(message), "{settings}");
    }
}

#[test]
fn settings_are_checked_even_for_requests_that_are_not_evaluated() {
    // invalid settings are a configuration error whatever the request: DELETE and subresources too
    for payload in [
        br#"{"request": {"operation": "DELETE"}, "settings": {"mutate": "no"}}"#.as_slice(),
        br#"{"request": {"operation": "UPDATE", "subResource": "status", "object": {}}, "settings": {"mutate": "no"}}"#,
    ] {
        assert_bad_request(payload, "invalid settings: invalid type: string \"no\", expected a boolean (in `mutate`)");
    }
}
