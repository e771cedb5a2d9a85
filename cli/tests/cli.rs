//! The `sa-guard` binary on fixture trees (tests/fixtures/cli): output of every format, exit
//! codes, stdin, directories, broken and unreadable inputs, settings, fix, admission requests.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cli")
}

struct Run {
    stdout: String,
    stderr: String,
    code: i32,
}

fn run_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    let mut command = Command::cargo_bin("sa-guard").unwrap();
    command.current_dir(dir).args(args);
    if let Some(input) = stdin {
        command.write_stdin(input);
    }
    let output = command.output().unwrap();
    Run {
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
        code: output.status.code().expect("exited, not killed by a signal"),
    }
}

fn run(args: &[&str]) -> Run {
    run_in(&fixtures(), args, None)
}

fn json_of(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"))
}

const APP_FINDING: &str = "\
tree/app.yaml:2:1: SAG001 deny the default ServiceAccount does not set automountServiceAccountToken, so every Pod in namespace production that names no ServiceAccount gets an API token mounted
    object: ServiceAccount production/default at /automountServiceAccountToken
    help: Set automountServiceAccountToken: false on the default ServiceAccount (kubectl patch serviceaccount default -n <ns> -p '{\"automountServiceAccountToken\": false}').
    fix: set automountServiceAccountToken: false (sa-guard fix)
";

const DEPRECATED_FINDING: &str = "\
tree/nested/deprecated.yml:22:7: SAG004 warn only the deprecated serviceAccount field names the ServiceAccount (order-api-sa); use serviceAccountName
    object: Deployment staging/order-api at /spec/template/spec/serviceAccount
    help: Name the ServiceAccount with serviceAccountName and delete the deprecated serviceAccount field.
    fix: rename serviceAccount to serviceAccountName: order-api-sa (sa-guard fix)
";

#[test]
fn text_report_of_a_directory() {
    let r = run(&["lint", "tree"]);
    assert_eq!(r.stderr, "");
    assert_eq!(
        r.stdout,
        format!(
            "{APP_FINDING}{DEPRECATED_FINDING}sa-guard: 2 findings (1 deny, 1 warn) in 5 objects from 3 files; \
             2 fixable with `sa-guard fix`\n"
        )
    );
    assert_eq!(r.code, 1, "a deny finding fails the run");
}

#[test]
fn directories_are_walked_in_order_skipping_hidden_entries_and_other_extensions() {
    let r = run(&["lint", "--format", "json", "tree"]);
    let report = json_of(&r.stdout);
    // tree/.hidden/legacy.yaml (a SAG007 Secret) and tree/notes.txt (not YAML) are not read.
    assert_eq!(
        report["summary"],
        json!({
            "files": 3, "objects": 5, "findings": 2, "deny": 1, "warn": 1, "fixable": 2, "exempted": 0, "errors": 0
        })
    );
    let files: Vec<&str> = report["findings"].as_array().unwrap().iter().map(|f| f["file"].as_str().unwrap()).collect();
    assert_eq!(files, ["tree/app.yaml", "tree/nested/deprecated.yml"]);
    // A file named explicitly is read whatever its extension: notes.txt is not YAML.
    let r = run(&["lint", "tree/notes.txt"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "tree/notes.txt:2:1: error: YAML syntax error: while parsing a flow mapping, did not find expected ',' or '}'\n");
}

#[test]
fn stdin_with_dash_and_when_piped_without_paths() {
    let input = std::fs::read_to_string(fixtures().join("tree/app.yaml")).unwrap();
    let expected = APP_FINDING.replace("tree/app.yaml", "<stdin>")
        + "sa-guard: 1 finding (1 deny, 0 warn) in 2 objects from 1 file; 1 fixable with `sa-guard fix`\n";
    for args in [&["lint", "-"][..], &["lint"][..]] {
        let r = run_in(&fixtures(), args, Some(&input));
        assert_eq!((r.stdout.as_str(), r.stderr.as_str(), r.code), (expected.as_str(), "", 1), "{args:?}");
    }
}

#[test]
fn files_and_stdin_form_one_bundle() {
    // The ServiceAccount comes from stdin, the Deployment naming it from a file: SAG011 stays
    // silent only because both are evaluated together.
    let sa = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: order-api-sa\n  namespace: staging\nautomountServiceAccountToken: false\n";
    let dir = tempfile::tempdir().unwrap();
    let deployment = std::fs::read_to_string(fixtures().join("tree/nested/deprecated.yml")).unwrap();
    let deployment = deployment.split("---\n").nth(1).unwrap().replace(
        "serviceAccount: order-api-sa   # deprecated alias (SAG004, warn)",
        "serviceAccountName: order-api-sa",
    );
    std::fs::write(dir.path().join("deployment.yaml"), deployment).unwrap();
    let r = run_in(dir.path(), &["lint", "deployment.yaml", "-"], Some(sa));
    assert_eq!(r.stdout, "sa-guard: 0 findings in 2 objects from 2 files\n");
    assert_eq!(r.code, 0);
}

#[test]
fn an_object_defined_twice_is_noted_at_the_definition_that_counts() {
    // A hardened default ServiceAccount, then an overlay that redefines it: the later one wins
    // (kubectl apply order), so SAG001 fires, and the note says why the first was ignored.
    let dir = tempfile::tempdir().unwrap();
    let sa = |extra: &str| {
        format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  namespace: shop\n{extra}")
    };
    std::fs::write(dir.path().join("a-base.yaml"), sa("automountServiceAccountToken: false\n")).unwrap();
    std::fs::write(dir.path().join("b-overlay.yaml"), format!("# overlay\n{}", sa(""))).unwrap();
    let r = run_in(dir.path(), &["lint", "a-base.yaml", "b-overlay.yaml"], None);
    assert_eq!(
        r.stderr,
        "b-overlay.yaml:2:1: note: ServiceAccount shop/default is defined 2 times; only this last definition is checked, \
         as `kubectl apply` would keep it (also at a-base.yaml:1)\n"
    );
    assert!(r.stdout.starts_with("b-overlay.yaml:2:1: SAG001 deny "), "{}", r.stdout);
    assert_eq!(r.code, 1);

    // In GitHub Actions the note is an annotation on the same line.
    let r = run_in(dir.path(), &["lint", "--format", "github", "a-base.yaml", "b-overlay.yaml"], None);
    assert!(
        r.stdout.starts_with(
            "::notice file=b-overlay.yaml,line=2,col=1,title=sa-guard::ServiceAccount shop/default is defined 2 times; \
             only this last definition is checked, as `kubectl apply` would keep it (also at a-base.yaml:1)\n::error "
        ),
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, "");
}

#[test]
fn fail_on_decides_which_level_fails() {
    let warn_only = run(&["lint", "tree/nested"]);
    assert_eq!(warn_only.stdout, format!("{DEPRECATED_FINDING}sa-guard: 1 finding (0 deny, 1 warn) in 3 objects from 2 files; 1 fixable with `sa-guard fix`\n"));
    assert_eq!(warn_only.code, 0, "warnings alone pass by default");
    assert_eq!(run(&["lint", "--fail-on", "warn", "tree/nested"]).code, 1);
    assert_eq!(run(&["lint", "--fail-on", "deny", "tree/nested"]).code, 0);
}

#[test]
fn clean_input_exits_0() {
    let r = run(&["lint", "tree/nested/clean.json"]);
    assert_eq!(
        (r.stdout.as_str(), r.stderr.as_str(), r.code),
        ("sa-guard: 0 findings in 1 object from 1 file\n", "", 0)
    );
}

#[test]
fn a_syntax_error_in_one_file_does_not_hide_the_findings_of_another() {
    let r = run(&["lint", "broken"]);
    assert_eq!(r.code, 2, "input errors win over findings");
    assert_eq!(
        r.stderr,
        "broken/bad.yaml:6:29: error: YAML syntax error: illegal placement of ':' indicator\n\
         broken/latin1.yaml:4:12: error: not valid UTF-8 (invalid byte at offset 57)\n"
    );
    assert!(
        r.stdout.starts_with("broken/good.yaml:1:1: SAG001 deny the default ServiceAccount does not set"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.ends_with(
        "sa-guard: 1 finding (1 deny, 0 warn) in 1 object from 3 files; 1 fixable with `sa-guard fix`; 2 input errors (see above)\n"
    ), "{}", r.stdout);
}

#[test]
fn parallel_parsing_changes_nothing_in_the_output() {
    // Every fixture tree at once: findings, syntax and encoding errors, duplicates, a fix.
    let paths = ["tree", "broken", "fix", "missing.yaml", "tree/app.yaml"];
    for format in ["text", "json", "sarif"] {
        let args = |jobs: &'static str| [&["lint", "--format", format, "--jobs", jobs][..], &paths[..]].concat();
        let one = run(&args("1"));
        assert_eq!(one.code, 2, "{}", one.stderr);
        assert!(one.stdout.contains("broken/good.yaml"), "{}", one.stdout);
        for jobs in ["2", "7"] {
            let parallel = run(&args(jobs));
            assert_eq!(
                (parallel.code, &parallel.stdout, &parallel.stderr),
                (one.code, &one.stdout, &one.stderr),
                "--jobs {jobs}"
            );
        }
    }
    // One stream on stdin (`helm template … | sa-guard lint -`) is parsed in pieces; with a
    // syntax error in it, whole.
    let stream = |files: &[&str]| {
        files
            .iter()
            .map(|file| format!("---\n{}\n", std::fs::read_to_string(fixtures().join(file)).unwrap()))
            .collect::<String>()
            .repeat(3)
    };
    let clean = stream(&["tree/app.yaml", "tree/nested/deprecated.yml", "broken/good.yaml"]);
    let broken = stream(&["tree/app.yaml", "broken/bad.yaml", "broken/good.yaml"]);
    for (input, format) in [(&clean, "text"), (&clean, "json"), (&broken, "text")] {
        let piped = |jobs| run_in(&fixtures(), &["lint", "--format", format, "--jobs", jobs, "-"], Some(input));
        let one = piped("1");
        assert!(one.stdout.contains("<stdin>"), "{}", one.stdout);
        for jobs in ["2", "5"] {
            let parallel = piped(jobs);
            assert_eq!(
                (parallel.code, &parallel.stdout, &parallel.stderr),
                (one.code, &one.stdout, &one.stderr),
                "stdin, --jobs {jobs}"
            );
        }
    }
    let zero = run(&["lint", "--jobs", "0", "tree"]);
    assert_eq!(zero.code, 2);
    assert!(zero.stderr.contains("invalid value '0' for '--jobs <N>'"), "{}", zero.stderr);
}

#[test]
fn an_unreadable_path_is_reported_and_the_others_are_still_checked() {
    let r = run(&["lint", "missing.yaml", "tree/app.yaml"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stderr, "missing.yaml: error: cannot read: no such file or directory\n");
    assert!(r.stdout.starts_with(APP_FINDING), "{}", r.stdout);

    let report = json_of(&run(&["lint", "--format", "json", "missing.yaml"]).stdout);
    assert_eq!(
        report["errors"],
        json!([{"file": "missing.yaml", "message": "cannot read: no such file or directory"}])
    );
}

#[test]
fn settings_files_in_yaml_and_json() {
    // YAML: `default-sa-automount: "off"` silences SAG001.
    let r = run(&["lint", "--settings", "settings/sag001-off.yaml", "tree/app.yaml"]);
    assert_eq!((r.stdout.as_str(), r.code), ("sa-guard: 0 findings in 2 objects from 1 file\n", 0));
    // A bare YAML `off` is read as the level, as the policy reads the same file.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.yaml"), "rules:\n  SAG001: off\n").unwrap();
    let settings = dir.path().join("s.yaml");
    let r = run(&["lint", "--settings", settings.to_str().unwrap(), "tree/app.yaml"]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    // JSON: SAG004 raised to deny fails the run.
    let r = run(&["lint", "--settings", "settings/sag004-deny.json", "tree/nested"]);
    assert!(r.stdout.starts_with("tree/nested/deprecated.yml:22:7: SAG004 deny "), "{}", r.stdout);
    assert_eq!(r.code, 1);
}

#[test]
fn invalid_or_missing_settings_are_usage_errors() {
    let r = run(&["lint", "--settings", "settings/typo.yaml", "tree"]);
    assert_eq!(r.code, 2);
    assert_eq!(r.stdout, "");
    assert!(
        r.stderr.starts_with(
            "sa-guard: settings/typo.yaml: invalid settings: unknown field `exempt_namespace`, expected one of"
        ),
        "{}",
        r.stderr
    );
    let r = run(&["lint", "--settings", "settings/none.yaml", "tree"]);
    assert_eq!(
        (r.stderr.as_str(), r.code),
        ("sa-guard: settings/none.yaml: cannot read: no such file or directory\n", 2)
    );
}

#[test]
fn namespace_applies_to_objects_without_one() {
    let manifest = "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n";
    let r = run_in(&fixtures(), &["lint", "--namespace", "team-a", "-"], Some(manifest));
    assert!(r.stdout.starts_with("<stdin>:1:1: SAG001 deny the default ServiceAccount does not set automountServiceAccountToken, so every Pod in namespace team-a "), "{}", r.stdout);
    assert!(r.stdout.contains("    object: ServiceAccount team-a/default at /automountServiceAccountToken\n"));
}

#[test]
fn exemptions_are_listed() {
    let manifest = "\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: kube-system
  annotations:
    sa-guard.io/exempt: default-sa-automount
    sa-guard.io/exempt-reason: managed by the cloud provider
";
    let r = run_in(&fixtures(), &["lint", "-"], Some(manifest));
    assert_eq!(
        r.stdout,
        "<stdin>:1:1: SAG001 exempted: sa-guard.io/exempt: managed by the cloud provider (ServiceAccount kube-system/default)\n\
         sa-guard: 0 findings in 1 object from 1 file; 1 exempted\n"
    );
    assert_eq!(r.code, 0);

    // In SARIF an exempted finding is a suppressed result carrying the reason.
    let r = run_in(&fixtures(), &["lint", "--format", "sarif", "-"], Some(manifest));
    let sarif = json_of(&r.stdout);
    assert_valid_sarif(&sarif_validator(), &sarif);
    let result = &sarif["runs"][0]["results"][0];
    assert_eq!(result["ruleId"], "SAG001");
    assert_eq!(
        result["suppressions"],
        json!([{"kind": "inSource", "justification": "sa-guard.io/exempt: managed by the cloud provider"}])
    );
}

#[test]
fn a_directory_without_manifests_is_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("README.md"), "# not a manifest\n").unwrap();
    let r = run_in(dir.path(), &["lint", "."], None);
    assert_eq!((r.stderr.as_str(), r.code), (".: error: no .yaml, .yml or .json files in this directory\n", 2));
}

#[test]
fn json_findings_carry_exact_positions_and_rule_metadata() {
    let report = json_of(&run(&["lint", "--format", "json", "tree/nested"]).stdout);
    assert_eq!(
        report["findings"],
        json!([{
            "ruleId": "SAG004",
            "ruleSlug": "deprecated-service-account-field",
            "level": "warn",
            "file": "tree/nested/deprecated.yml",
            "line": 22,
            "column": 7,
            "endLine": 22,
            "endColumn": 35,
            "object": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "staging", "name": "order-api"},
            "path": "/spec/template/spec/serviceAccount",
            "message": "only the deprecated serviceAccount field names the ServiceAccount (order-api-sa); use serviceAccountName",
            "remediation": "Name the ServiceAccount with serviceAccountName and delete the deprecated serviceAccount field.",
            "fix": {
                "description": "rename serviceAccount to serviceAccountName: order-api-sa",
                "patch": [
                    {"op": "add", "path": "/spec/template/spec/serviceAccountName", "value": "order-api-sa"},
                    {"op": "remove", "path": "/spec/template/spec/serviceAccount"}
                ]
            },
            "rule": {
                "title": "The deprecated serviceAccount field names the ServiceAccount",
                "category": "identity",
                "scope": "object",
                "defaultLevel": "warn",
                "fixable": true,
                "helpUri": "https://github.com/sa-guard/sa-guard/blob/main/docs/rules.md#sag004-deprecated-service-account-field"
            }
        }])
    );
    // The position is where the field is written.
    let text = std::fs::read_to_string(fixtures().join("tree/nested/deprecated.yml")).unwrap();
    let line = text.lines().nth(21).unwrap();
    assert_eq!(&line[6..34], "serviceAccount: order-api-sa");
}

/// The vendored OASIS schema, with one known defect patched in memory: the pattern of the
/// `language` properties (of `run` and `toolComponent`) has a stray `]`
/// (`^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`), not a valid ECMA-262 regex, so strict validators
/// refuse the schema. sa-guard never writes `language`.
fn sarif_validator() -> jsonschema::Validator {
    const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    fn patch(value: &mut Value, count: &mut usize) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    if key == "pattern" && child == BROKEN {
                        *child = json!("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$");
                        *count += 1;
                    } else {
                        patch(child, count);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|item| patch(item, count)),
            _ => {}
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schema/sarif-schema-2.1.0.json");
    let mut schema = json_of(&std::fs::read_to_string(path).unwrap());
    let mut patched = 0;
    patch(&mut schema, &mut patched);
    assert_eq!(patched, 2, "the vendored schema changed");
    jsonschema::options().should_validate_formats(true).build(&schema).expect("the SARIF schema compiles")
}

fn assert_valid_sarif(validator: &jsonschema::Validator, sarif: &Value) {
    let errors: Vec<String> = validator.iter_errors(sarif).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "SARIF schema violations:\n{}", errors.join("\n"));
}

#[test]
fn sarif_is_valid_2_1_0_with_rules_regions_and_notifications() {
    let validator = sarif_validator();
    let r = run(&["lint", "--format", "sarif", "tree", "broken"]);
    assert_eq!(r.code, 2);
    let sarif = json_of(&r.stdout);
    assert_valid_sarif(&validator, &sarif);
    // The validator does reject what GitHub would reject.
    let mut broken = sarif.clone();
    broken["runs"][0]["results"][0]["level"] = json!("deny");
    broken["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] = json!(0);
    assert_eq!(validator.iter_errors(&broken).count(), 2);

    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), sa_guard::rules::all().len(), "every rule is described, not only those that fired");
    let sag004 = &rules[3];
    assert_eq!(sag004["id"], "SAG004");
    assert_eq!(sag004["name"], "DeprecatedServiceAccountField");
    assert_eq!(sag004["shortDescription"]["text"], "The deprecated serviceAccount field names the ServiceAccount");
    assert_eq!(
        sag004["helpUri"],
        "https://github.com/sa-guard/sa-guard/blob/main/docs/rules.md#sag004-deprecated-service-account-field"
    );
    assert_eq!(sag004["defaultConfiguration"]["level"], "warning");
    assert!(sag004["help"]["markdown"].as_str().unwrap().starts_with("## SAG004 deprecated-service-account-field\n"));

    let located: Vec<(String, String, &str, u64, u64)> = run["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let location = &r["locations"][0]["physicalLocation"];
            (
                r["ruleId"].as_str().unwrap().to_string(),
                location["artifactLocation"]["uri"].as_str().unwrap().to_string(),
                r["level"].as_str().unwrap(),
                location["region"]["startLine"].as_u64().unwrap(),
                location["region"]["startColumn"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        located,
        [
            ("SAG001".into(), "tree/app.yaml".into(), "error", 2, 1),
            ("SAG004".into(), "tree/nested/deprecated.yml".into(), "warning", 22, 7),
            ("SAG001".into(), "broken/good.yaml".into(), "error", 1, 1),
        ]
    );
    assert_eq!(run["results"][1]["ruleIndex"], 3);

    let invocation = &run["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    let notes = invocation["toolExecutionNotifications"].as_array().unwrap();
    assert_eq!(notes.len(), 2);
    assert_eq!(notes[0]["message"]["text"], "YAML syntax error: illegal placement of ':' indicator");
    assert_eq!(notes[0]["locations"][0]["physicalLocation"]["region"]["startLine"], 6);
}

#[test]
fn sarif_of_stdin_and_of_a_clean_run_is_valid() {
    let validator = sarif_validator();
    let input = std::fs::read_to_string(fixtures().join("tree/app.yaml")).unwrap();
    let r = run_in(&fixtures(), &["lint", "--format", "sarif", "-"], Some(&input));
    let sarif = json_of(&r.stdout);
    assert_valid_sarif(&validator, &sarif);
    assert_eq!(
        sarif["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "%3Cstdin%3E"
    );

    let r = run(&["lint", "--format", "sarif", "tree/nested/clean.json"]);
    assert_eq!(r.code, 0);
    let sarif = json_of(&r.stdout);
    assert_valid_sarif(&validator, &sarif);
    assert_eq!(sarif["runs"][0]["results"], json!([]));
    assert_eq!(sarif["runs"][0]["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn github_annotations() {
    let r = run(&["lint", "--format", "github", "tree/nested", "missing.yaml"]);
    assert_eq!(r.code, 2);
    assert_eq!(
        r.stdout,
        "::error file=missing.yaml,title=sa-guard input error::cannot read: no such file or directory\n\
         ::warning file=tree/nested/deprecated.yml,line=22,col=7,endLine=22,endColumn=35,title=SAG004 deprecated-service-account-field::\
         only the deprecated serviceAccount field names the ServiceAccount (order-api-sa); use serviceAccountName \
         (Deployment staging/order-api at /spec/template/spec/serviceAccount)%0A\
         Name the ServiceAccount with serviceAccountName and delete the deprecated serviceAccount field.\n\
         sa-guard: 1 finding (0 deny, 1 warn) in 3 objects from 3 files; 1 fixable with `sa-guard fix`; 1 input error (see above)\n"
    );
    assert_eq!(r.stderr, "", "annotations replace stderr messages");
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["lint", "--format", "xml", "tree"][..],
        &["lint", "--fail-on", "info", "tree"][..],
        &["frobnicate"][..],
        &["fix", "--write", "-"][..],
        &["fix", "--write"][..],
    ] {
        let r = run_in(&fixtures(), args, Some(""));
        assert_eq!(r.code, 2, "{args:?}: {}", r.stderr);
    }
}

#[test]
fn help_shows_examples() {
    let r = run(&["lint", "--help"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("helm template . | sa-guard lint -"), "{}", r.stdout);
    assert!(r.stdout.contains("--fail-on <FAIL_ON>"), "{}", r.stdout);
    let r = run(&["--help"]);
    assert!(r.stdout.contains("Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error."));
}

#[test]
fn admission_requests_one_review_per_object() {
    let out = tempfile::tempdir().unwrap();
    let r = run(&["admission-requests", "tree", "--out", out.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut names: Vec<String> =
        std::fs::read_dir(out.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "001-serviceaccount-production-default.json",
            "002-serviceaccount-production-order-api-sa.json",
            "003-serviceaccount-staging-default.json",
            "004-serviceaccount-staging-order-api-sa.json",
            "005-deployment-staging-order-api.json",
        ]
    );
    let review = json_of(&std::fs::read_to_string(out.path().join("005-deployment-staging-order-api.json")).unwrap());
    assert_eq!(review["apiVersion"], "admission.k8s.io/v1");
    assert_eq!(review["kind"], "AdmissionReview");
    let request = &review["request"];
    assert_eq!(request["operation"], "CREATE");
    assert_eq!(request["uid"], "00000000-0000-4000-8000-000000000005");
    assert_eq!(request["kind"], json!({"group": "apps", "version": "v1", "kind": "Deployment"}));
    assert_eq!(request["resource"], json!({"group": "apps", "version": "v1", "resource": "deployments"}));
    assert_eq!((&request["namespace"], &request["name"]), (&json!("staging"), &json!("order-api")));
    assert_eq!(request["object"]["spec"]["template"]["spec"]["serviceAccount"], "order-api-sa");

    // The policy core reads each request as kwctl would hand it over.
    let default_sa =
        json_of(&std::fs::read_to_string(out.path().join("001-serviceaccount-production-default.json")).unwrap());
    let payload = json!({"request": default_sa["request"], "settings": {}});
    let verdict = sa_guard::admission::validate(payload.to_string().as_bytes(), &sa_guard::NoCluster);
    assert!(!verdict.accepted);
    assert_eq!(verdict.code, Some(403));
    assert!(verdict.message.unwrap().contains("SAG001"));
}

#[test]
fn fix_prints_a_diff_then_writes_keeping_comments() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(fixtures().join("fix/app.yaml")).unwrap();
    std::fs::write(dir.path().join("app.yaml"), &original).unwrap();

    let r = run_in(dir.path(), &["fix", "app.yaml"], None);
    assert_eq!(
        r.stdout,
        "--- a/app.yaml\n+++ b/app.yaml\n@@ -4,6 +4,7 @@\n \
         metadata:\n   \
         name: default            # created by Kubernetes in every namespace\n   \
         namespace: production\n\
         +automountServiceAccountToken: false\n \
         ---\n \
         apiVersion: v1\n \
         kind: ServiceAccount\n"
    );
    assert_eq!(r.stderr, "sa-guard: would fix 1 finding in 1 file; run with --write to apply\n");
    assert_eq!(r.code, 0);
    assert_eq!(std::fs::read_to_string(dir.path().join("app.yaml")).unwrap(), original, "no --write, no change");

    let r = run_in(dir.path(), &["fix", "--write", "app.yaml"], None);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str(), r.code), ("", "sa-guard: fixed 1 finding in 1 file\n", 0));
    let fixed = std::fs::read_to_string(dir.path().join("app.yaml")).unwrap();
    assert_eq!(
        fixed,
        original.replace(
            "  namespace: production\n---",
            "  namespace: production\nautomountServiceAccountToken: false\n---"
        )
    );

    // Nothing left to fix or to report.
    let r = run_in(dir.path(), &["fix", "app.yaml"], None);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str(), r.code), ("", "sa-guard: would fix 0 findings in 0 files\n", 0));
    assert_eq!(run_in(dir.path(), &["lint", "app.yaml"], None).code, 0);
}

#[test]
fn fix_of_a_whole_bundle_and_of_stdin() {
    let r = run(&["fix", "tree"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.starts_with("--- a/tree/app.yaml\n+++ b/tree/app.yaml\n"), "{}", r.stdout);
    assert!(r.stdout.contains(
        "--- a/tree/nested/deprecated.yml\n+++ b/tree/nested/deprecated.yml\n@@ -19,7 +19,7 @@\n       labels:\n         app: order-api\n     spec:\n\
         -      serviceAccount: order-api-sa   # deprecated alias (SAG004, warn)\n"
    ), "{}", r.stdout);
    assert_eq!(r.stderr, "sa-guard: would fix 2 findings in 2 files; run with --write to apply\n");

    let input = std::fs::read_to_string(fixtures().join("tree/app.yaml")).unwrap();
    let r = run_in(&fixtures(), &["fix", "-"], Some(&input));
    assert!(r.stdout.starts_with("--- a/<stdin>\n+++ b/<stdin>\n@@ -4,6 +4,7 @@\n"), "{}", r.stdout);
    assert_eq!(r.code, 0);
}

#[test]
fn fix_reports_what_it_cannot_write_and_exits_1() {
    let r = run(&["fix", "fix/alias.yaml"]);
    assert_eq!(r.code, 1);
    assert_eq!(r.stdout, "", "no partial fix of an object that is also an alias");
    let lines: Vec<&str> = r.stderr.lines().collect();
    assert_eq!(lines.len(), 3, "{}", r.stderr);
    assert!(lines[1].starts_with(
        "fix/alias.yaml:9:5: SAG001 fix not applied (set automountServiceAccountToken: false): object 1: cannot edit \
         /automountServiceAccountToken in the text: the field is inside an alias"
    ), "{}", r.stderr);
    assert_eq!(lines[2], "sa-guard: would fix 0 findings in 0 files; 2 fixes could not be applied (see above)");
}

/// The repository's examples (the lesson's manifests).
fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

#[test]
fn can_i_reproduces_the_lessons_three_answers() {
    let sa = "system:serviceaccount:production:order-api-sa";
    let ask = |verb: &str, resource: &str| {
        run_in(&examples(), &["can-i", verb, resource, "--as", sa, "-n", "production", "order-api.yaml"], None)
    };
    let yes = ask("list", "configmaps");
    assert_eq!(yes.code, 0, "{}", yes.stderr);
    assert_eq!(
        yes.stdout,
        "yes\n  RoleBinding production/order-api-binding (order-api.yaml:33) → Role order-api-role \
         (order-api.yaml:14): rules[0] (order-api.yaml:20)\n"
    );
    for (verb, resource) in [("list", "pods"), ("get", "secrets")] {
        let no = ask(verb, resource);
        assert_eq!((no.code, no.stdout.as_str()), (1, "no\n"), "{verb} {resource}: {}", no.stderr);
    }
}

#[test]
fn can_i_in_json_names_every_place() {
    let sa = "system:serviceaccount:production:order-api-sa";
    let out =
        run_in(&examples(), &["can-i", "watch", "configmaps", "--as", sa, "order-api.yaml", "--format", "json"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        json_of(&out.stdout),
        json!({
            "allowed": true,
            "as": sa,
            "groups": ["system:serviceaccounts", "system:serviceaccounts:production", "system:authenticated"],
            "request": {"verb": "watch", "apiGroup": "", "resource": "configmaps", "subresource": "", "name": "",
                        "namespace": "production"},
            "grants": [{
                "subject": "ServiceAccount production/order-api-sa",
                "binding": {"kind": "RoleBinding", "namespace": "production", "name": "order-api-binding",
                            "subjectIndex": 0, "file": "order-api.yaml", "line": 33},
                "role": {"name": "Role order-api-role", "builtIn": false, "file": "order-api.yaml", "line": 14},
                "rules": [{"index": 0, "aggregatedFrom": null, "file": "order-api.yaml", "line": 20}],
            }],
        })
    );
}

#[test]
fn can_i_judges_built_in_roles_resource_names_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbac.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: ci-edit, namespace: ci}\n\
         subjects: [{kind: ServiceAccount, name: deployer}]\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}\n\
         ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: db, namespace: shop}\n\
         rules: [{apiGroups: [\"\"], resources: [secrets], resourceNames: [db-password], verbs: [get]}]\n\
         ---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: db, namespace: shop}\n\
         subjects: [{kind: ServiceAccount, name: api}]\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: db}\n",
    )
    .unwrap();
    let ask = |args: &[&str]| run_in(dir.path(), args, None);
    let exec = ask(&["can-i", "create", "pods/exec", "--as", "system:serviceaccount:ci:deployer", "rbac.yaml"]);
    assert_eq!(
        (exec.code, exec.stdout.as_str()),
        (
            0,
            "yes\n  RoleBinding ci/ci-edit (rbac.yaml:4) → the built-in ClusterRole edit: aggregated ClusterRole \
             system:aggregate-to-edit rules[2]\n"
        )
    );
    let api = "system:serviceaccount:shop:api";
    assert_eq!(ask(&["can-i", "get", "secrets", "--name", "db-password", "--as", api, "rbac.yaml"]).code, 0);
    assert_eq!(ask(&["can-i", "get", "secrets", "--name", "other", "--as", api, "rbac.yaml"]).code, 1);
    assert_eq!(ask(&["can-i", "list", "secrets", "--as", api, "rbac.yaml"]).code, 1);
    let bad = ask(&["can-i", "get", "secrets", "--as", "system:serviceaccount:shop", "rbac.yaml"]);
    assert_eq!(bad.code, 2);
    assert_eq!(
        bad.stderr,
        "sa-guard: --as system:serviceaccount:shop: a ServiceAccount is written system:serviceaccount:<namespace>:<name>\n"
    );
    assert_eq!(ask(&["can-i", "get", "pods/exec/x", "--as", api, "rbac.yaml"]).code, 2);
    assert_eq!(ask(&["can-i", "get", "pods", "--as", api, "missing.yaml"]).code, 2);
}

#[test]
fn who_can_lists_service_accounts_first_with_their_grants() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("rbac.yaml"),
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: ops}\n\
         subjects: [{kind: User, name: alice}, {kind: Group, name: system:serviceaccounts:ci}, \
         {kind: ServiceAccount, name: bot, namespace: ci}]\n\
         roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\n",
    )
    .unwrap();
    let out = run_in(dir.path(), &["who-can", "get", "secrets", "-n", "ci", "rbac.yaml"], None);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        out.stdout,
        "ServiceAccount ci/bot            ClusterRoleBinding ops (rbac.yaml:4) → the built-in ClusterRole cluster-admin: rules[0]\n\
         Group system:serviceaccounts:ci  ClusterRoleBinding ops (rbac.yaml:4) → the built-in ClusterRole cluster-admin: rules[0]\n\
         User alice                       ClusterRoleBinding ops (rbac.yaml:4) → the built-in ClusterRole cluster-admin: rules[0]\n"
    );
    let nobody = run_in(&examples(), &["who-can", "get", "secrets", "-n", "production", "order-api.yaml"], None);
    assert_eq!((nobody.code, nobody.stdout.as_str()), (1, "nobody in these manifests\n"), "{}", nobody.stderr);
}

const LESSON: [&str; 3] = ["checkout-api.yaml", "order-api.yaml", "payment-processor.yaml"];

fn inventory_of(format: &str, extra: &[&str]) -> Run {
    let mut args = vec!["inventory", "--format", format];
    args.extend_from_slice(extra);
    args.extend_from_slice(&LESSON);
    run_in(&examples(), &args, None)
}

#[test]
fn inventory_table_of_the_lessons_manifests() {
    let out = inventory_of("text", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let table: Vec<&str> = out.stdout.lines().take(4).collect();
    assert_eq!(
        table,
        [
            "SERVICEACCOUNT                  AUTOMOUNT    WORKLOADS             TOKEN  ROLES           RISK",
            "payments/payment-processor-sa   false        Deployment/payment-…  no     -               -",
            "production/default              <unset>      Deployment/checkout…  yes    -               -",
            "production/order-api-sa         <unset>      Deployment/order-api  yes    Role order-ap…  -",
        ]
    );
    // The table fits 100 columns; the details below it are prose, one line per fact.
    assert!(
        out.stdout.lines().take_while(|line| !line.is_empty()).all(|line| line.chars().count() <= 100),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "production/default\n  workload Deployment/checkout-api: token mounted (neither the Pod spec nor the \
         ServiceAccount sets automountServiceAccountToken: Kubernetes' default)\n  findings: SAG001, SAG002, SAG003"
        ),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(
        "    projected token in volume token-payment-gateway: audience payment-gateway-prod, expires after 1800 s\n"
    ));
    assert!(out.stdout.contains(
        "  RoleBinding production/order-api-binding (as ServiceAccount) → Role order-api-role: no privilege-escalation path\n"
    ));
}

#[test]
fn inventory_json_follows_its_schema() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(examples().join("../docs/inventory.schema.json")).unwrap())
            .unwrap();
    let validator = jsonschema::validator_for(&schema).expect("the inventory schema compiles");
    let out = inventory_of("json", &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let inventory = json_of(&out.stdout);
    let errors: Vec<String> =
        validator.iter_errors(&inventory).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let rows: Vec<(&str, bool, Value)> = inventory["serviceAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["tokenMounted"].as_bool().unwrap(), r["findings"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("payment-processor-sa", false, json!([])),
            ("default", true, json!(["SAG001", "SAG002", "SAG003"])),
            ("order-api-sa", true, json!([])),
        ]
    );
    // and the schema is no formality: a wrong shape fails it
    let mut broken = inventory.clone();
    broken["serviceAccounts"][0]["highestRisk"] = json!("severe");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn inventory_markdown_csv_and_graphs() {
    let markdown = inventory_of("markdown", &["--namespace", "production"]).stdout;
    assert_eq!(
        markdown,
        "| ServiceAccount | automount | workloads | token | roles | highest risk | findings |\n|---|---|---|---|---|---|---|\n\
         | `production/default` | <unset> | Deployment/checkout-api | yes | - | - | SAG001,SAG002,SAG003 |\n\
         | `production/order-api-sa` | <unset> | Deployment/order-api | yes | Role order-api-role | - | - |\n"
    );
    let csv = inventory_of("csv", &[]).stdout;
    assert_eq!(
        csv.lines().next(),
        Some("namespace,name,automount,workloads,token,roles,highest_risk,risks,findings,unused")
    );
    assert!(
        csv.contains(
            "\npayments,payment-processor-sa,false,Deployment/payment-processor,no (2 audience-bound),-,-,,-,false\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains("\nproduction,default,<unset>,Deployment/checkout-api,yes,-,-,,\"SAG001,SAG002,SAG003\",false\n"),
        "{csv}"
    );
    let dot = inventory_of("dot", &[]).stdout;
    assert!(dot.starts_with("digraph serviceaccounts {\n"));
    assert!(
        dot.contains("\"wl:production/Deployment/checkout-api\" -> \"sa:production/default\" [color=\"#607d8b\"];"),
        "{dot}"
    );
    assert!(dot.contains("\"sa:production/order-api-sa\" -> \"rb:RoleBinding:production/order-api-binding\""), "{dot}");
    let mermaid = inventory_of("mermaid", &[]).stdout;
    assert!(mermaid.starts_with("flowchart LR\n"));
    assert!(mermaid.contains("([\"production/order-api-sa\"])"), "{mermaid}");
}

#[test]
fn inventory_of_a_kubectl_dump_on_stdin_with_risky_filter() {
    // the shape `kubectl get ... -A -o json` prints: a List with items, status and managedFields
    let dump = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "api", "namespace": "shop",
            "uid": "4a0f", "resourceVersion": "100", "creationTimestamp": "2026-01-01T00:00:00Z"}},
        {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "api", "namespace": "shop",
            "managedFields": [{"manager": "kubectl", "operation": "Apply", "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {}}}]},
         "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}},
            "spec": {"serviceAccountName": "api", "containers": [{"name": "api", "image": "api:1"}]}}},
         "status": {"replicas": 1, "readyReplicas": 1}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "api-5d8f-x2x", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "api-5d8f", "uid": "1", "controller": true}]},
         "spec": {"serviceAccountName": "api", "containers": [{"name": "api", "image": "api:1"}],
            "volumes": [{"name": "kube-api-access-8k2lq", "projected": {"defaultMode": 420, "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}]},
         "status": {"phase": "Running"}},
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "api-5d8f", "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "api", "uid": "2", "controller": true}]},
         "spec": {"selector": {"matchLabels": {"app": "api"}}, "template": {"metadata": {"labels": {"app": "api"}},
            "spec": {"serviceAccountName": "api", "containers": [{"name": "api", "image": "api:1"}]}}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "api-edit", "namespace": "shop"},
         "subjects": [{"kind": "ServiceAccount", "name": "api", "namespace": "shop"}],
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "coredns", "namespace": "kube-system"}},
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "quiet", "namespace": "shop"}},
    ]});
    let out = run_in(&fixtures(), &["inventory", "--risky", "--format", "json", "-"], Some(&dump.to_string()));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let inventory = json_of(&out.stdout);
    let rows = inventory["serviceAccounts"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{inventory:#}");
    assert_eq!(rows[0]["name"], "api");
    assert_eq!(rows[0]["workloads"].as_array().unwrap().len(), 1, "the Pod and its ReplicaSet are the Deployment's");
    assert_eq!(rows[0]["workloads"][0]["owned"], json!(["Pod/api-5d8f-x2x", "ReplicaSet/api-5d8f"]));
    assert_eq!(rows[0]["highestRisk"], "high");
    // without --risky the quiet ServiceAccount shows; kube-system only with --system
    let all = run_in(&fixtures(), &["inventory", "--format", "json", "-"], Some(&dump.to_string()));
    let names: Vec<String> = json_of(&all.stdout)["serviceAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["api", "quiet"]);
    let system = run_in(&fixtures(), &["inventory", "--system", "--format", "json", "-"], Some(&dump.to_string()));
    assert_eq!(json_of(&system.stdout)["serviceAccounts"].as_array().unwrap().len(), 3);
}

#[test]
fn a_file_named_twice_is_read_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(examples().join("checkout-api.yaml"), dir.path().join("checkout-api.yaml")).unwrap();
    let once = run_in(dir.path(), &["lint", "checkout-api.yaml"], None);
    assert_eq!(once.code, 1, "{}", once.stdout);
    for twice in [&["lint", "checkout-api.yaml", "./checkout-api.yaml"], &["lint", ".", "checkout-api.yaml"]] {
        let out = run_in(dir.path(), twice, None);
        assert!(!out.stdout.contains("defined 2 times") && !out.stderr.contains("defined 2 times"), "{}", out.stdout);
        assert_eq!((out.code, &out.stdout), (once.code, &once.stdout), "{twice:?}");
    }
}
