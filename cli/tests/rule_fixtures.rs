//! Every rule has `tests/fixtures/rules/<ID>-<slug>/fires.yaml` (the rule reports at least one
//! finding) and `passes.yaml` (it reports none). The text output of both is snapshotted, so the
//! `file:line:col` of every finding is pinned.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rules")
}

/// `sa-guard lint --format FORMAT FILE` run from the fixtures directory (stable relative paths).
fn lint(file: &str, format: &str) -> (String, i32) {
    let output = Command::cargo_bin("sa-guard")
        .unwrap()
        .current_dir(fixtures())
        .args(["lint", "--format", format, file])
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.is_empty(), "{file}: unexpected stderr:\n{stderr}");
    (String::from_utf8(output.stdout).unwrap(), output.status.code().unwrap())
}

fn rule_ids_reported(file: &str) -> Vec<String> {
    let (json, _) = lint(file, "json");
    let report: Value = serde_json::from_str(&json).unwrap();
    report["findings"].as_array().unwrap().iter().map(|f| f["ruleId"].as_str().unwrap().to_string()).collect()
}

#[test]
fn every_rule_has_a_fixture_that_fires_and_one_that_passes() {
    let mut problems = Vec::new();
    for rule in sa_guard::rules::all() {
        let dir = format!("{}-{}", rule.meta.id, rule.meta.slug);
        for (name, should_fire) in [("fires.yaml", true), ("passes.yaml", false)] {
            let file = format!("{dir}/{name}");
            if !fixtures().join(&file).is_file() {
                problems.push(format!("{file} is missing"));
                continue;
            }
            let fired = rule_ids_reported(&file).iter().any(|id| id == rule.meta.id);
            if fired != should_fire {
                problems.push(format!(
                    "{file}: {} {}",
                    rule.meta.id,
                    if should_fire { "does not fire" } else { "fires" }
                ));
            }
        }
    }
    assert!(problems.is_empty(), "rule fixtures:\n  {}", problems.join("\n  "));
}

#[test]
fn no_fixture_for_an_unknown_rule() {
    let known: Vec<String> = sa_guard::rules::all().iter().map(|r| format!("{}-{}", r.meta.id, r.meta.slug)).collect();
    for entry in std::fs::read_dir(fixtures()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        assert!(known.contains(&name), "tests/fixtures/rules/{name} matches no rule id and slug");
    }
}

/// The text report of each fixture, findings of every rule included (a change in any rule's
/// location or message shows up here).
#[test]
fn fixture_reports_are_pinned() {
    for rule in sa_guard::rules::all() {
        let dir = format!("{}-{}", rule.meta.id, rule.meta.slug);
        for name in ["fires", "passes"] {
            let file = format!("{dir}/{name}.yaml");
            if !fixtures().join(&file).is_file() {
                continue; // reported by every_rule_has_a_fixture_that_fires_and_one_that_passes
            }
            let (text, code) = lint(&file, "text");
            insta::assert_snapshot!(format!("{dir}-{name}"), format!("exit code: {code}\n{text}"));
        }
    }
}
