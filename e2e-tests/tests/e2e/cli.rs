//! The `sa-guard-e2e` binary, as people and scripts call it.

use std::io::Write as _;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use sa_guard_e2e::review::AdmissionResponse;

use crate::support::*;

fn binary() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sa-guard-e2e"));
    command.current_dir(repo_root());
    command
}

fn run_with_stdin(args: &[&str], stdin: &[u8]) -> std::process::Output {
    let mut child =
        binary().args(args).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn run_reads_a_review_from_stdin_or_a_bare_request_from_a_file_like_kwctl() {
    let path = fixtures().join("requests/serviceaccount-default.create.json");
    let review = std::fs::read(&path).unwrap();
    let settings = r#"{"mutate": true}"#;
    let from_stdin = run_with_stdin(&["run", "--settings-json", settings], &review);
    assert!(from_stdin.status.success(), "{}", String::from_utf8_lossy(&from_stdin.stderr));
    let printed: AdmissionResponse = serde_json::from_slice(&from_stdin.stdout).unwrap();
    assert_eq!(printed, evaluate(&fixture("serviceaccount-default.create"), &json!({"mutate": true})));

    let bare = fixtures().join("requests/handwritten-deployment-deprecated-field.json");
    let from_file = binary().args(["run", "-r"]).arg(&bare).output().unwrap();
    assert!(from_file.status.success());
    let printed: Value = serde_json::from_slice(&from_file.stdout).unwrap();
    assert_eq!(printed["uid"], "handwritten-deployment-deprecated-field");
    assert_eq!(printed["allowed"], true);
}

#[test]
fn run_refuses_invalid_settings_like_kwctl() {
    let path = fixtures().join("requests/pod-no-token.create.json");
    let output = binary().args(["run", "--settings-json", r#"{"mutates": true}"#, "-r"]).arg(&path).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("sa-guard-e2e: Provided settings are not valid: invalid settings: unknown field `mutates`"),
        "{stderr}"
    );
    assert!(output.stdout.is_empty());
}

#[test]
fn a_missing_policy_says_how_to_build_it() {
    let output = binary().args(["run", "--policy", "no-such-policy.wasm", "-r", "-"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "sa-guard-e2e: no-such-policy.wasm does not exist: build it with `make policy` (scripts/build-policy.sh)\n"
    );
}

#[test]
fn review_prints_what_the_api_server_sends() {
    let object = fixtures().join("objects/pod-default-sa.yaml");
    let output = binary().args(["review", "--uid", "create-pod-default-sa"]).arg(&object).output().unwrap();
    assert!(output.status.success());
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let committed: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("requests/pod-default-sa.create.json")).unwrap())
            .unwrap();
    assert_eq!(printed, committed, "fixtures/generate.py is out of date with `sa-guard-e2e review`");
}

#[test]
fn verdicts_prints_one_block_per_object() {
    let output = binary()
        .args(["verdicts", "examples/hardened-default-sa.yaml", "examples/bad/legacy-token-secret.yaml"])
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("examples/hardened-default-sa.yaml:3  ServiceAccount production/default\n  ALLOWED\n"),
        "{text}"
    );
    assert!(text.contains("examples/bad/legacy-token-secret.yaml:4  Secret production/order-api-sa-token\n  DENIED 403\n    sa-guard denied Secret production/order-api-sa-token (1 finding):\n    [SAG007] "), "{text}");
    assert!(
        text.ends_with("\n2 objects: 1 allowed, 1 denied, 0 with warnings, 0 mutated, 0 not sent to the policy\n"),
        "{text}"
    );
}
