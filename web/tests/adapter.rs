//! The playground adapter, natively: what the page receives for a given text and settings.
//! Positions are pinned exactly; UTF-16 offsets are checked against the text itself.

use sa_guard::inventory::graph::NodeKind;
use serde_json::{json, Value};

use sa_guard_web::{
    check_settings, fix_text, inventory_report, lint_report, rule_catalog, Anchor, FindingOut, FixSelection,
    InventoryOutput, LintOutput, Span,
};

/// UTF-16 offset of the first occurrence of `needle`, as JavaScript's `text.indexOf(needle)`.
fn js_index(text: &str, needle: &str) -> usize {
    let byte = text.find(needle).unwrap_or_else(|| panic!("{needle:?} not in the text"));
    text[..byte].encode_utf16().count()
}

/// Apply a text edit the way the page does (UTF-16 offsets).
fn apply_edit(text: &str, from: usize, to: usize, insert: &str) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    let mut out: Vec<u16> = units[..from].to_vec();
    out.extend(insert.encode_utf16());
    out.extend(&units[to..]);
    String::from_utf16(&out).expect("edit on character boundaries")
}

fn only<'a>(output: &'a LintOutput, rule: &str) -> Vec<&'a FindingOut> {
    output.findings.iter().filter(|f| f.rule_id == rule).collect()
}

fn span(line: usize, column: usize, end_line: usize, end_column: usize, from: usize, to: usize) -> Span {
    Span { line, column, end_line, end_column, from, to }
}

const TWO_DEFAULT_SAS: &str = "\
# production: automount not set
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: production
---
# staging: automount explicitly on
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: staging
automountServiceAccountToken: true   # the lesson says: false
";

#[test]
fn multi_document_positions_of_present_and_missing_fields() {
    let text = TWO_DEFAULT_SAS;
    let output = lint_report(text, "");
    assert_eq!(output.settings_error, None);
    assert!(output.parse_errors.is_empty());
    assert_eq!(output.objects.iter().map(|o| (o.document, o.line)).collect::<Vec<_>>(), [(0, 2), (1, 9)]);

    let findings = only(&output, "SAG001");
    assert_eq!(findings.len(), 2);
    // Missing field: reported on the object's first line.
    let missing = findings[0];
    assert_eq!(missing.id, "0:SAG001:/automountServiceAccountToken");
    assert_eq!((missing.document, missing.anchor), (0, Anchor::Parent));
    let first = js_index(text, "apiVersion: v1");
    assert_eq!(missing.span, span(2, 1, 2, 15, first, first + "apiVersion: v1".len()));
    // Present field: from the key to the end of the value, without the comment.
    let present = findings[1];
    assert_eq!((present.document, present.anchor), (1, Anchor::Field));
    let at = js_index(text, "automountServiceAccountToken: true");
    assert_eq!(present.span, span(14, 1, 14, 35, at, at + 34));
    assert_eq!(present.object.namespace.as_deref(), Some("staging"));
    // The rule's texts come once, for every finding of the rule.
    let sag001 = &output.rules["SAG001"];
    assert_eq!(sag001.docs_anchor, "sag001-default-sa-automount");
    assert_eq!(sag001.title, "The default ServiceAccount mounts its token into Pods");
    assert_eq!(sag001.rule_slug, "default-sa-automount");
    assert_eq!(present.remediation, None, "the rule's own remediation is not repeated");
    assert!(output.remediation(present).starts_with("Set automountServiceAccountToken: false on the default"));
    assert_eq!(output.rules.keys().copied().collect::<Vec<_>>(), ["SAG001"], "only rules with findings");

    // The fix of the present field rewrites the value in place, keeping the comment.
    let edit = present.fix.as_ref().and_then(|f| f.edit.as_ref()).expect("a text edit");
    let fixed = apply_edit(text, edit.from, edit.to, &edit.insert);
    assert!(fixed.ends_with("automountServiceAccountToken: false   # the lesson says: false\n"), "{fixed}");
    assert_eq!((edit.line, edit.column), (14, 31));
    // The missing field is added to the first document only.
    let edit = missing.fix.as_ref().and_then(|f| f.edit.as_ref()).expect("a text edit");
    let fixed = apply_edit(text, edit.from, edit.to, &edit.insert);
    assert_eq!(only(&lint_report(&fixed, ""), "SAG001").len(), 1);
    assert!(fixed.starts_with("# production: automount not set\napiVersion: v1\n"));
}

#[test]
fn crlf_positions_and_fixes_keep_crlf() {
    let text = TWO_DEFAULT_SAS.replace('\n', "\r\n");
    let output = lint_report(&text, "");
    let findings = only(&output, "SAG001");
    let at = js_index(&text, "automountServiceAccountToken: true");
    // Same lines and columns as with LF; offsets count the extra \r of each line above.
    assert_eq!(findings[1].span, span(14, 1, 14, 35, at, at + 34));
    assert_eq!(at, js_index(TWO_DEFAULT_SAS, "automountServiceAccountToken: true") + 13);

    let fixed = fix_text(&text, "", &FixSelection::Ids(vec![findings[0].id.clone(), findings[1].id.clone()])).unwrap();
    assert_eq!(fixed.applied.len(), 2);
    assert!(fixed.skipped.is_empty());
    assert_eq!(
        fixed.text.matches('\n').count(),
        fixed.text.matches("\r\n").count(),
        "only CRLF line breaks: {:?}",
        fixed.text
    );
    assert!(only(&lint_report(&fixed.text, ""), "SAG001").is_empty());
    // Each finding's own edit, applied alone, matches what fix_text does for that finding.
    for finding in &findings {
        let edit = finding.fix.as_ref().unwrap().edit.as_ref().unwrap();
        let alone = fix_text(&text, "", &FixSelection::Ids(vec![finding.id.clone()])).unwrap();
        assert_eq!(apply_edit(&text, edit.from, edit.to, &edit.insert), alone.text);
    }
}

#[test]
fn utf16_offsets_after_non_ascii_text() {
    let text = "# déjà vu 🚀🚀\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n  annotations:\n    note: \"ünïcödé 🚀\"\nautomountServiceAccountToken: yes\n";
    let output = lint_report(text, "");
    let finding = only(&output, "SAG001")[0];
    let at = js_index(text, "automountServiceAccountToken");
    assert_eq!(finding.span, span(8, 1, 8, 34, at, at + 33));
    // "yes" is YAML 1.1 true, as Kubernetes reads it; the fix replaces just that value.
    let edit = finding.fix.as_ref().unwrap().edit.as_ref().unwrap();
    assert_eq!((edit.from, edit.to, edit.insert.as_str()), (at + 30, at + 33, "false"));
    assert!(apply_edit(text, edit.from, edit.to, &edit.insert).ends_with("automountServiceAccountToken: false\n"));
}

#[test]
fn anchors_and_aliases() {
    let text = "\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: production
  labels:
    automount: &on \"true\"
automountServiceAccountToken: *on
";
    let output = lint_report(text, "");
    assert!(output.parse_errors.is_empty(), "{:?}", output.parse_errors);
    let finding = only(&output, "SAG001")[0];
    let at = js_index(text, "automountServiceAccountToken: *on");
    assert_eq!(finding.span, span(8, 1, 8, 34, at, at + 33));
    assert_eq!(finding.anchor, Anchor::Field);
    let fix = finding.fix.as_ref().unwrap();
    let edit = fix.edit.as_ref().expect("the alias itself is replaced");
    let fixed = apply_edit(text, edit.from, edit.to, &edit.insert);
    assert!(fixed.ends_with("automountServiceAccountToken: false\n"), "{fixed}");
    assert!(fixed.contains("automount: &on \"true\""), "the anchored value is left alone");
}

#[test]
fn a_syntax_error_mid_file_keeps_the_other_documents() {
    let text = "\
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: a
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: broken
data:
  key: [unclosed
---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: default
  namespace: c
";
    let output = lint_report(text, "");
    assert_eq!(output.parse_errors.len(), 1);
    let error = &output.parse_errors[0];
    assert_eq!(error.document, Some(1));
    assert_eq!((error.span.line, error.span.column), (13, 1));
    assert!(error.message.contains("flow sequence"), "{}", error.message);
    assert_eq!(output.summary.parse_errors, 1);
    let findings = only(&output, "SAG001");
    assert_eq!(findings.iter().map(|f| (f.document, f.span.line)).collect::<Vec<_>>(), [(0, 1), (2, 14)]);
    // Fixes still work around the broken document, which is left as it was.
    let fixed = fix_text(text, "", &FixSelection::All(sa_guard_web::AllMarker::All)).unwrap();
    assert_eq!(fixed.applied.len(), 2);
    assert!(fixed.text.contains("  key: [unclosed\n"));
    let relinted = lint_report(&fixed.text, "");
    assert!(only(&relinted, "SAG001").is_empty());
    assert_eq!(relinted.parse_errors.len(), 1);
}

#[test]
fn fix_round_trip_on_the_lesson_checkout_api() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/checkout-api.yaml")).unwrap();
    let output = lint_report(&text, "");
    let sag001 = only(&output, "SAG001");
    assert_eq!(sag001.len(), 1);
    let line = text.lines().position(|l| l == "apiVersion: v1").unwrap() + 1;
    assert_eq!(sag001[0].span.line, line);

    let fixable: Vec<&FindingOut> = output.findings.iter().filter(|f| f.fix.is_some()).collect();
    assert!(!fixable.is_empty());
    for finding in &fixable {
        let fix = finding.fix.as_ref().unwrap();
        assert_eq!(fix.edit_error, None, "{}: {:?}", finding.id, fix.edit_error);
        let edit = fix.edit.as_ref().unwrap();
        let by_edit = apply_edit(&text, edit.from, edit.to, &edit.insert);
        let by_id = fix_text(&text, "", &FixSelection::Ids(vec![finding.id.clone()])).unwrap();
        assert_eq!(by_edit, by_id.text, "{}", finding.id);
        assert!(
            !lint_report(&by_edit, "").findings.iter().any(|f| f.id == finding.id),
            "{} is gone after its fix",
            finding.id
        );
    }
    let all = fix_text(&text, "", &FixSelection::All(sa_guard_web::AllMarker::All)).unwrap();
    assert_eq!(all.applied.len(), fixable.len());
    assert!(lint_report(&all.text, "").findings.iter().all(|f| f.fix.is_none()));
    // Comments survive.
    assert!(all.text.contains("# Created automatically in every namespace"));

    let unknown = fix_text(&text, "", &FixSelection::Ids(vec!["9:SAG001:/nope".into()])).unwrap();
    assert_eq!(unknown.text, text);
    assert_eq!(unknown.skipped[0].reason, "no such finding in this text (relint first)");
}

#[test]
fn settings_change_levels_and_bad_settings_fall_back_to_defaults_with_the_message() {
    let warn = lint_report(TWO_DEFAULT_SAS, r#"{"rules": {"default-sa-automount": "warn"}}"#);
    assert!(only(&warn, "SAG001").iter().all(|f| f.level == sa_guard::Level::Warn));
    assert_eq!((warn.summary.deny, warn.summary.warn), (0, 2));

    let off = lint_report(TWO_DEFAULT_SAS, r#"{"rules": {"SAG001": "off"}}"#);
    assert!(only(&off, "SAG001").is_empty());

    let exempt = lint_report(TWO_DEFAULT_SAS, r#"{"exempt_namespaces": ["stag*"]}"#);
    assert_eq!(only(&exempt, "SAG001").len(), 1);
    assert_eq!(exempt.exemptions.len(), 1);
    assert_eq!(exempt.exemptions[0].reason, "namespace staging is exempt by settings");
    assert_eq!(exempt.exemptions[0].span.line, 14);

    let bad = lint_report(TWO_DEFAULT_SAS, r#"{"max_token_expiration_seconds": 300}"#);
    assert_eq!(
        bad.settings_error.as_deref(),
        Some("invalid settings: max_token_expiration_seconds: 300 is below the Kubernetes minimum of 600")
    );
    assert_eq!(only(&bad, "SAG001").len(), 2, "linted with the defaults");
    assert!(fix_text(TWO_DEFAULT_SAS, r#"{"max_token_expiration_seconds": 300}"#, &FixSelection::Ids(vec![]))
        .unwrap_err()
        .starts_with("invalid settings: max_token_expiration_seconds"));
}

#[test]
fn validate_settings_gives_the_policy_messages() {
    let check = check_settings(r#"{"exempt_namespace": ["kube-system"]}"#);
    assert!(!check.valid);
    assert!(check.message.unwrap().starts_with("invalid settings: unknown field `exempt_namespace`"));
    let check = check_settings(r#"{"allowed_token_service_accounts": ["kyverno"]}"#);
    assert_eq!(
        check.message.as_deref(),
        Some("invalid settings: allowed_token_service_accounts: `kyverno` is not of the form namespace/name")
    );
    let check = check_settings("{}");
    assert!(check.valid);
    assert_eq!(check.settings.unwrap().max_token_expiration_seconds, 3600);
}

#[test]
fn rule_catalog_is_the_rules_metadata() {
    let catalog = rule_catalog();
    assert_eq!(catalog.len(), 16);
    let ids: Vec<&str> = catalog.iter().map(|r| r.id).collect();
    assert_eq!(ids[0], "SAG001");
    assert_eq!(ids[15], "SAG016");
    let sag001 = &catalog[0];
    assert_eq!(sag001.docs_anchor, "sag001-default-sa-automount");
    assert!(sag001.documentation.starts_with("Every namespace has a `default` ServiceAccount"));
    assert!(sag001.fixable);
    let value = serde_json::to_value(sag001).unwrap();
    assert_eq!(value["defaultLevel"], "deny");
    assert_eq!(value["scope"], "object");
    assert_eq!(value["category"], "token-mounting");
}

#[test]
fn wasm_exports_speak_json() {
    let output: Value = serde_json::from_str(&sa_guard_web::lint(TWO_DEFAULT_SAS, "")).unwrap();
    let finding = &output["findings"][0];
    for key in ["id", "ruleId", "level", "object", "objectIndex", "document", "path", "message", "span", "fix"] {
        assert!(finding.get(key).is_some(), "findings have {key}: {finding}");
    }
    // What all findings of a rule share is given once (the worker copies it onto each finding).
    for key in ["title", "remediation", "docsAnchor", "ruleSlug"] {
        assert!(finding.get(key).is_none(), "not repeated on each finding: {key}");
        assert!(output["rules"]["SAG001"].get(key).is_some(), "given once per rule: {key}");
    }
    assert_eq!(finding["span"]["endLine"], 2);
    assert_eq!(
        finding["fix"]["patch"],
        json!([{"op": "add", "path": "/automountServiceAccountToken", "value": false}])
    );
    assert!(finding["fix"]["edit"]["insert"].as_str().unwrap().contains("automountServiceAccountToken: false"));
    assert_eq!(output["summary"]["fixable"], 2);

    let quick: Value =
        serde_json::from_str(&sa_guard_web::lint_with_options(TWO_DEFAULT_SAS, "", r#"{"textEdits": false}"#)).unwrap();
    assert_eq!(
        quick["findings"][0]["fix"],
        json!({"description": "set automountServiceAccountToken: false", "patch": finding["fix"]["patch"]})
    );
    assert_eq!(quick["findings"][0]["span"], finding["span"]);
    let wrong: Value =
        serde_json::from_str(&sa_guard_web::lint_with_options(TWO_DEFAULT_SAS, "", r#"{"edits": false}"#)).unwrap();
    assert!(wrong["error"].as_str().unwrap().starts_with("invalid lint options: unknown field `edits`"), "{wrong}");

    let fixed: Value = serde_json::from_str(&sa_guard_web::fix(TWO_DEFAULT_SAS, "", "\"all\"")).unwrap();
    assert_eq!(fixed["applied"].as_array().unwrap().len(), 2);
    let wrong: Value = serde_json::from_str(&sa_guard_web::fix(TWO_DEFAULT_SAS, "", "\"some\"")).unwrap();
    assert_eq!(wrong["error"], "the selection must be \"all\" or a list of finding ids");

    let rules: Value = serde_json::from_str(&sa_guard_web::rules()).unwrap();
    assert_eq!(rules.as_array().unwrap().len(), 16);
    let check: Value = serde_json::from_str(&sa_guard_web::validate_settings("{\"mutate\": 1}")).unwrap();
    assert_eq!(check["valid"], false);
    assert!(check["message"]
        .as_str()
        .unwrap()
        .starts_with("invalid settings: invalid type: integer `1`, expected a boolean"));
}

/// The wasm exports keep a lint's state until the worker has posted the result; `release` frees
/// it, and a lint that comes before a release frees the previous state itself.
#[test]
fn lint_state_is_kept_until_released() {
    let first = sa_guard_web::lint(TWO_DEFAULT_SAS, "");
    assert!(sa_guard_web::holds_lint_state());
    sa_guard_web::release();
    assert!(!sa_guard_web::holds_lint_state());
    sa_guard_web::release();
    assert_eq!(sa_guard_web::lint_with_options(TWO_DEFAULT_SAS, "", "{}"), first);
    assert_eq!(sa_guard_web::lint(TWO_DEFAULT_SAS, ""), first, "a lint before a release");
    assert!(sa_guard_web::holds_lint_state());
    sa_guard_web::release();
    assert!(!sa_guard_web::holds_lint_state());
    // The Rust API keeps nothing.
    lint_report(TWO_DEFAULT_SAS, "");
    assert!(!sa_guard_web::holds_lint_state());
}

#[test]
fn empty_huge_and_non_kubernetes_input() {
    let empty = lint_report("", "");
    assert!(empty.findings.is_empty() && empty.parse_errors.is_empty() && empty.objects.is_empty());

    let huge = "#".repeat(sa_guard_web::MAX_INPUT_BYTES + 1);
    let output = lint_report(&huge, "");
    assert_eq!(
        output.input_error.as_deref(),
        Some("the input is 16.0 MB; the playground lints up to 16 MB (use the sa-guard CLI for more)")
    );
    assert!(fix_text(&huge, "", &FixSelection::Ids(vec![])).is_err());

    // A bare scalar document is not an object: an error on its line, never a panic.
    let output = lint_report("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: x}\n---\njust text\n", "");
    assert_eq!(output.objects.len(), 1);
    assert_eq!(output.parse_errors.len(), 1);
    assert_eq!((output.parse_errors[0].document, output.parse_errors[0].span.line), (Some(1), 5));
}

#[test]
fn the_benchmark_floor_counts_the_parsers_events_and_stops_at_a_syntax_error() {
    // stream start, document start, mapping start, 2 scalars, mapping end, document end, stream end
    assert_eq!(sa_guard::manifest::count_yaml_events("kind: Pod\n"), Some(8));
    // two documents: 2 + 2 * 6
    assert_eq!(sa_guard::manifest::count_yaml_events("kind: Pod\n---\nkind: Job\n"), Some(14));
    assert_eq!(sa_guard::manifest::count_yaml_events("kind: [Pod\n"), None);
    assert_eq!(sa_guard_web::yaml_events("kind: [Pod\n"), -1);
}

/// Every example (good and bad), each document of it in its own `---` section.
fn examples_bundle() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut paths: Vec<_> = ["", "/bad"]
        .iter()
        .flat_map(|dir| std::fs::read_dir(format!("{root}{dir}")).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "yaml"))
        .collect();
    paths.sort();
    paths.iter().map(|path| format!("---\n{}\n", std::fs::read_to_string(path).unwrap())).collect()
}

/// Texts a lint in parts must give the whole text's lint for: the examples many times over, with
/// a syntax error in the last part, CRLF line breaks, characters beyond ASCII before the cuts
/// (UTF-16 offsets), a default ServiceAccount in one part and the Pods it mounts a token into
/// in another, and one application's ServiceAccount shared with another part's.
fn texts_for_parts() -> Vec<(&'static str, String)> {
    let bundle = examples_bundle().repeat(3);
    let across = "---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {name: shared, namespace: late}\n";
    let user = |app: &str| {
        format!(
            "---\napiVersion: v1\nkind: Pod\nmetadata: {{name: {app}, namespace: late, labels: {{app: {app}}}}}\n\
             spec: {{serviceAccountName: shared, containers: [{{name: c, image: i}}]}}\n"
        )
    };
    vec![
        ("the examples", bundle.clone()),
        ("a syntax error at the end", format!("{bundle}---\nkind: [broken\n---\nkind: Pod\nmetadata: {{name: p}}\n")),
        ("CRLF", bundle.replace('\n', "\r\n")),
        ("beyond ASCII", format!("# überall — 🚀\n{}", bundle.replace("# ", "# é "))),
        ("objects that need each other across the cuts", format!("{across}{}{bundle}{}", user("one"), user("two"))),
    ]
}

/// The lint of `text` in up to `parts` parts, every step in this thread, through the JSON the
/// workers exchange (as web/app/worker.js does): the parts' outputs, or `None` when the text is
/// not cut or its parts would not read as the whole.
fn lint_in_parts(text: &str, settings: &str, options: &str, parts: usize) -> Option<Vec<Value>> {
    use sa_guard_web::{OtherPart, Part, PartSummary};
    let plan = sa_guard_web::plan_parts(text, parts);
    let units: Vec<u16> = text.encode_utf16().collect();
    let options = serde_json::from_str(options).unwrap();
    let read: Vec<Part> = plan
        .iter()
        .map(|p| {
            Part::begin(&String::from_utf16(&units[p.from..p.to]).unwrap(), p.first_line, p.from, settings, options)
        })
        .collect();
    let summaries: Vec<PartSummary> = read.iter().map(Part::summary).collect();
    if plan.len() < 2 || !sa_guard_web::parts_read_as_whole(&summaries) {
        return None;
    }
    let contexts: Vec<String> = read.iter().map(|part| serde_json::to_string(&part.context()).unwrap()).collect();
    let summaries: Vec<PartSummary> = serde_json::from_str(&serde_json::to_string(&summaries).unwrap()).unwrap();
    let outputs = read.into_iter().enumerate().map(|(index, part)| {
        let others: Vec<String> = (0..contexts.len())
            .filter(|&j| j != index)
            .map(|j| format!(r#"{{"part":{j},"context":{}}}"#, contexts[j]))
            .collect();
        let others: Vec<OtherPart> = serde_json::from_str(&format!("[{}]", others.join(","))).unwrap();
        serde_json::to_value(part.finish(&summaries, index, others).unwrap().0).unwrap()
    });
    Some(outputs.collect())
}

/// The parts' outputs end to end, as the page joins them (`joinOutputs` in app/lint-output.js):
/// the lists one after the other, the counts added up, the rules' texts of every part.
fn joined(outputs: Vec<Value>) -> Value {
    let mut outputs = outputs.into_iter();
    let mut whole = outputs.next().unwrap();
    for part in outputs {
        for list in ["objects", "findings", "exemptions", "parseErrors"] {
            let items = part[list].as_array().unwrap().clone();
            whole[list].as_array_mut().unwrap().extend(items);
        }
        for (count, value) in part["summary"].as_object().unwrap() {
            whole["summary"][count] = json!(whole["summary"][count].as_u64().unwrap() + value.as_u64().unwrap());
        }
        for (id, text) in part["rules"].as_object().unwrap() {
            whole["rules"][id] = text.clone();
        }
    }
    whole
}

/// The lint in parts (each worker reading its part, the parts exchanging what their rules need of
/// each other) gives the whole text's lint, in two, three and four parts, with and without text
/// edits and with settings, and falls back to the whole text where parts would read differently.
#[test]
fn a_lint_in_parts_is_the_lint_of_the_whole_text() {
    let settings = r#"{"rules": {"SAG004": "warn"}, "exempt_namespaces": ["analytics"]}"#;
    for (name, text) in texts_for_parts() {
        for options in [r#"{"textEdits": false}"#, "{}"] {
            let whole: Value =
                serde_json::from_str(&sa_guard_web::lint_with_options(&text, settings, options)).unwrap();
            assert!(whole["findings"].as_array().unwrap().len() > 20, "{name}: {whole}");
            assert!(!whole["exemptions"].as_array().unwrap().is_empty(), "{name}: exemptions");
            for parts in [2, 3, 4] {
                assert_eq!(sa_guard_web::plan_parts(&text, parts).len(), parts, "{name}: cut in {parts}");
                let outputs = lint_in_parts(&text, settings, options, parts).expect("read as the whole");
                assert!(joined(outputs) == whole, "{name}: in {parts} parts ({options})");
            }
        }
    }
    // An error before the last part: the parts would not read as the whole (the whole is linted).
    let early = format!("---\nkind: [broken\n{}", examples_bundle().repeat(3));
    assert_eq!(sa_guard_web::plan_parts(&early, 2).len(), 2);
    assert!(lint_in_parts(&early, "", "{}", 2).is_none());
    // A directive applies to the documents after it: such a text is not cut at all.
    assert_eq!(sa_guard_web::plan_parts(&format!("%YAML 1.1\n{}", examples_bundle()), 2).len(), 1);
}

/// The wasm exports as the workers call them, each worker on its own thread (each keeps its part
/// in thread-local state, as each Web Worker has its own module): the joined outputs are the whole
/// text's lint; bad summaries or contexts are errors, not panics.
#[test]
fn the_workers_exports_lint_in_parts() {
    use sa_guard_web::{part_begin, part_context, part_finish, parts_agree};
    let text = texts_for_parts().pop().unwrap().1;
    let options = r#"{"textEdits": true}"#;
    let plan = sa_guard_web::plan_parts(&text, 2);
    let units: Vec<u16> = text.encode_utf16().collect();
    let slice = move |p: &sa_guard_web::PartPlan| String::from_utf16(&units[p.from..p.to]).unwrap();
    let tail = slice(&plan[1]);
    let tail_plan = plan[1];
    let (to_helper, helper_inbox) = std::sync::mpsc::channel::<(String, String)>();
    let (to_first, first_inbox) = std::sync::mpsc::channel::<(String, String)>();
    let helper = std::thread::spawn(move || {
        to_first.send((part_begin(&tail, tail_plan.first_line, tail_plan.from, "", options), part_context())).unwrap();
        let (summaries, others) = helper_inbox.recv().unwrap();
        part_finish(&summaries, 1, &others)
    });
    let summary = part_begin(&slice(&plan[0]), 0, 0, "", options);
    let context = part_context();
    let (helper_summary, helper_context) = first_inbox.recv().unwrap();
    let summaries = format!("[{summary},{helper_summary}]");
    assert!(parts_agree(&summaries));
    assert!(!parts_agree(&format!("[{helper_summary},{summary}]")), "the parts out of order");
    to_helper.send((summaries.clone(), format!(r#"[{{"part":0,"context":{context}}}]"#))).unwrap();
    let first = part_finish(&summaries, 0, &format!(r#"[{{"part":1,"context":{helper_context}}}]"#));
    let outputs = [first, helper.join().unwrap()].map(|json| serde_json::from_str::<Value>(&json).unwrap());
    let whole: Value = serde_json::from_str(&sa_guard_web::lint_with_options(&text, "", options)).unwrap();
    assert!(joined(outputs.to_vec()) == whole, "the workers' lint");
    sa_guard_web::release();

    let error = |json: String| serde_json::from_str::<Value>(&json).unwrap()["error"].as_str().unwrap().to_string();
    assert_eq!(error(part_finish(&summaries, 0, "[]")), "part_finish without part_begin");
    part_begin(&slice(&plan[0]), 0, 0, "", options);
    assert!(error(part_finish("[{}]", 0, "[]")).starts_with("invalid part summaries"));
    part_begin(&slice(&plan[0]), 0, 0, "", options);
    let mut huge: Value = serde_json::from_str(&summary).unwrap();
    huge["objects"] = json!(u64::MAX);
    assert!(
        error(part_finish(&format!("[{huge}]"), 1, "[]")).starts_with("invalid part summaries"),
        "no allocation of that size"
    );
    part_begin(&slice(&plan[0]), 0, 0, "", options);
    assert!(error(part_finish(&summaries, 0, r#"[{"part": "x"}]"#)).starts_with("invalid part contexts"));
    assert!(!parts_agree("not json") && !parts_agree("[]"));
    assert!(error(part_begin("kind: Pod\n", 0, 0, "", r#"{"edits": 1}"#)).starts_with("invalid lint options"));
    // A context that does not fit the summaries is left out, not trusted (nor a panic).
    part_begin(&slice(&plan[0]), 0, 0, "", options);
    let odd = part_finish(
        &summaries,
        0,
        r#"[{"part": 7, "context": [[99999, {"kind": "ServiceAccount"}]]},
            {"part": 1, "context": [[18446744073709551615, {"kind": "ServiceAccount"}]]}]"#,
    );
    assert!(serde_json::from_str::<Value>(&odd).unwrap()["findings"].is_array());
    sa_guard_web::release();
}

/// The page plans the cut in JavaScript, so the parts themselves vouch for it: a cut that is not
/// at a document marker starting a line, lines or UTF-16 offsets that do not add up, a part with
/// a directive, or parts over the size limit together make the parts disagree (the whole text is
/// then linted by one worker).
#[test]
fn parts_cut_anywhere_but_at_document_markers_do_not_agree() {
    use sa_guard_web::{Part, PartPlan, PartSummary};
    let bundle = format!("# é\n{}", examples_bundle());
    let text = format!("{bundle}{bundle}");
    let units: Vec<u16> = text.encode_utf16().collect();
    let summaries = |plan: &[PartPlan]| -> Vec<PartSummary> {
        let options = || serde_json::from_str(r#"{"textEdits": false}"#).unwrap();
        let part = |p: &PartPlan| String::from_utf16(&units[p.from..p.to]).unwrap();
        plan.iter().map(|p| Part::begin(&part(p), p.first_line, p.from, "", options()).summary()).collect()
    };
    let agree = |plan: &[PartPlan]| sa_guard_web::parts_read_as_whole(&summaries(plan));
    let plan = sa_guard_web::plan_parts(&text, 2);
    assert_eq!(plan.len(), 2);
    assert!(agree(&plan), "as planned");
    let cut_at = |from: usize, first_line: usize| {
        [PartPlan { from: 0, to: from, first_line: 0 }, PartPlan { from, to: units.len(), first_line }]
    };
    let lines_before = |at: usize| String::from_utf16(&units[..at]).unwrap().matches('\n').count();
    let second = plan[1];
    assert!(agree(&cut_at(second.from, second.first_line)));
    assert!(!agree(&cut_at(second.from, second.first_line + 1)), "one line too many before the second part");
    assert!(!agree(&cut_at(second.from, second.first_line - 1)), "one line too few");
    let mut told_wrong = summaries(&plan);
    told_wrong[1].cut.utf16_start += 1;
    assert!(!sa_guard_web::parts_read_as_whole(&told_wrong), "an offset the first part does not end at");
    // In the middle of a document: the second part does not start with a marker.
    let middle = text[..text.len() / 2 + 1].rfind("kind:").unwrap();
    let middle_utf16 = text[..middle].encode_utf16().count();
    assert!(!agree(&cut_at(middle_utf16, lines_before(middle_utf16))), "cut in a document");
    // `---` that does not start a line of the whole text.
    let inline = format!("{bundle}a: b ---\n{bundle}");
    let inline_units: Vec<u16> = inline.encode_utf16().collect();
    let at = inline.find("a: b ---").unwrap() + "a: b ".len();
    let at_utf16 = inline[..at].encode_utf16().count();
    let options = || serde_json::from_str(r#"{"textEdits": false}"#).unwrap();
    let head = String::from_utf16(&inline_units[..at_utf16]).unwrap();
    let tail = String::from_utf16(&inline_units[at_utf16..]).unwrap();
    let inline_parts = [
        Part::begin(&head, 0, 0, "", options()).summary(),
        Part::begin(&tail, head.matches('\n').count(), at_utf16, "", options()).summary(),
    ];
    assert!(!sa_guard_web::parts_read_as_whole(&inline_parts), "a marker inside a line");
    // A directive in a part (here a valid one, after an explicit document end, in the second
    // part, so that no part has an error) applies to the documents after it.
    let directive = format!("{bundle}{bundle}...\n%YAML 1.2\n{bundle}");
    let plain = directive.replace("%YAML 1.2\n", "#YAML 1.2\n");
    let cut = sa_guard_web::plan_parts(&plain, 2)[1];
    assert!(cut.from < directive.find("%YAML").unwrap(), "the directive is in the second part");
    let directive_units: Vec<u16> = directive.encode_utf16().collect();
    let directive_parts = [
        PartPlan { from: 0, to: cut.from, first_line: 0 },
        PartPlan { from: cut.from, to: directive_units.len(), first_line: cut.first_line },
    ]
    .map(|p| {
        let part = String::from_utf16(&directive_units[p.from..p.to]).unwrap();
        Part::begin(&part, p.first_line, p.from, "", options()).summary()
    });
    assert_eq!(directive_parts.map(|s| s.shape.errors), [0, 0]);
    assert!(!sa_guard_web::parts_read_as_whole(&directive_parts), "a directive");
    // A first part that does not start the text, and parts larger than a lint can be together.
    let mut late_start = summaries(&plan);
    late_start[0].cut.first_line = 1;
    late_start[1].cut.first_line += 1;
    assert!(!sa_guard_web::parts_read_as_whole(&late_start), "the first part after line 1");
    let mut huge = summaries(&plan);
    huge[1].cut.bytes = sa_guard_web::MAX_INPUT_BYTES;
    assert!(!sa_guard_web::parts_read_as_whole(&huge), "over the size limit together");
}

/// The workers' warm-up lints and throws the result away without touching their state: a part
/// read for a lint in parts is still there to finish, and the last lint's state is kept.
#[test]
fn a_warm_up_lint_leaves_the_workers_state_alone() {
    use sa_guard_web::{part_begin, part_context, part_finish, parts_agree, warm_up};
    let text = examples_bundle();
    let options = r#"{"textEdits": false}"#;
    let whole = sa_guard_web::lint_with_options(&text, "", options);
    assert!(sa_guard_web::holds_lint_state());
    assert_eq!(warm_up(&text, options), whole.len(), "the warm-up does the lint's work");
    assert!(sa_guard_web::holds_lint_state(), "the last lint's state is not released by a warm-up");
    sa_guard_web::release();
    let summary = part_begin(&text, 0, 0, "", options);
    let _context = part_context();
    assert!(warm_up(&text, r#"{"textEdits": true}"#) > whole.len(), "with text edits, the JSON is longer");
    let summaries = format!("[{summary}]");
    assert!(parts_agree(&summaries));
    let finished = part_finish(&summaries, 0, "[]");
    assert_eq!(finished, whole, "the part begun before the warm-up finishes as the whole text");
    sa_guard_web::release();
    assert_eq!(warm_up(&text, r#"{"edits": 1}"#), 0, "bad options: no lint");
}

/// The lesson's three manifests, as one text (objects 0-1 checkout-api, 2-5 order-api, 6-7
/// payment-processor).
fn lesson_text() -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    ["checkout-api.yaml", "order-api.yaml", "payment-processor.yaml"]
        .iter()
        .map(|file| format!("---\n{}\n", std::fs::read_to_string(format!("{root}/{file}")).unwrap()))
        .collect()
}

/// The rows' cells, each as [account, automount, workloads, token, roles, risk, findings].
fn inventory_cells(output: &InventoryOutput) -> Vec<[String; 7]> {
    output
        .rows
        .iter()
        .map(|row| {
            let c = &row.cells;
            [&c.account, &c.automount, &c.workloads, &c.token, &c.roles, &c.risk, &c.findings].map(|s| s.to_string())
        })
        .collect()
}

fn edges_of(output: &InventoryOutput) -> Vec<(String, String, Option<&'static str>, &'static str)> {
    output
        .graph
        .edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone(), e.severity.map(|s| s.as_str()), e.colour))
        .collect()
}

#[test]
fn the_inventory_of_the_lessons_manifests() {
    let text = lesson_text();
    let output = inventory_report(&text, "");
    assert_eq!((output.settings_error.as_deref(), output.input_error.as_deref()), (None, None));
    assert!(output.parse_errors.is_empty());
    // checkout-api on `default` with a token it does not need, order-api on `order-api-sa` with
    // read-only ConfigMaps, payment-processor with its projected tokens.
    assert_eq!(
        inventory_cells(&output),
        [
            [
                "payments/payment-processor-sa",
                "false",
                "Deployment/payment-processor",
                "no (2 audience-bound)",
                "-",
                "-",
                "-"
            ],
            ["production/default", "<unset>", "Deployment/checkout-api", "yes", "-", "-", "SAG001,SAG002,SAG003"],
            ["production/order-api-sa", "<unset>", "Deployment/order-api", "yes", "Role order-api-role", "-", "-"],
        ]
        .map(|row| row.map(String::from))
    );
    assert_eq!(
        output.rows.iter().map(|r| (r.node.as_str(), r.object_index)).collect::<Vec<_>>(),
        [
            ("sa:payments/payment-processor-sa", Some(6)),
            ("sa:production/default", Some(0)),
            ("sa:production/order-api-sa", Some(2))
        ]
    );

    let nodes: Vec<(&str, NodeKind, &str, Option<usize>)> =
        output.graph.nodes.iter().map(|n| (n.id.as_str(), n.kind, n.label.as_str(), n.object_index)).collect();
    assert_eq!(
        nodes,
        [
            ("sa:payments/payment-processor-sa", NodeKind::ServiceAccount, "payments/payment-processor-sa", Some(6)),
            ("wl:payments/Deployment/payment-processor", NodeKind::Workload, "Deployment payment-processor", Some(7)),
            ("sa:production/default", NodeKind::ServiceAccount, "production/default", Some(0)),
            ("wl:production/Deployment/checkout-api", NodeKind::Workload, "Deployment checkout-api (token)", Some(1)),
            ("sa:production/order-api-sa", NodeKind::ServiceAccount, "production/order-api-sa", Some(2)),
            ("wl:production/Deployment/order-api", NodeKind::Workload, "Deployment order-api (token)", Some(5)),
            (
                "rb:RoleBinding:production/order-api-binding",
                NodeKind::Binding,
                "RoleBinding production/order-api-binding",
                Some(4)
            ),
            ("role:production/Role order-api-role", NodeKind::Role, "Role order-api-role", Some(3)),
        ]
    );
    let grey = "#607d8b";
    let edge = |from: &str, to: &str| (from.to_string(), to.to_string(), None, grey);
    assert_eq!(
        edges_of(&output),
        [
            edge("wl:payments/Deployment/payment-processor", "sa:payments/payment-processor-sa"),
            edge("wl:production/Deployment/checkout-api", "sa:production/default"),
            edge("wl:production/Deployment/order-api", "sa:production/order-api-sa"),
            edge("sa:production/order-api-sa", "rb:RoleBinding:production/order-api-binding"),
            edge("rb:RoleBinding:production/order-api-binding", "role:production/Role order-api-role"),
        ]
    );

    // Every object the graph names is placed in the text: the whole object, from its first line.
    let indices: Vec<usize> = output.spans.keys().copied().collect();
    assert_eq!(indices, [0, 1, 2, 3, 4, 5, 6, 7]);
    let role = &output.spans[&3];
    let role_at = text.find("apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n").unwrap();
    assert_eq!((role.from, role.line), (text[..role_at].encode_utf16().count(), text[..role_at].lines().count() + 1));
    let units: Vec<u16> = text.encode_utf16().collect();
    let role_text = String::from_utf16(&units[role.from..role.to]).unwrap();
    assert!(role_text.contains("name: order-api-role") && role_text.contains("verbs: [\"get\", \"list\", \"watch\"]"));
    assert!(!role_text.contains("RoleBinding"), "{role_text}");
    assert_eq!(role.end_line, role.line + text[role_at..].lines().position(|l| l.contains("verbs:")).unwrap());

    // The downloads are the CLI's renderings of the same inventory.
    assert_eq!(
        output.markdown,
        "| ServiceAccount | automount | workloads | token | roles | highest risk | findings |\n\
         |---|---|---|---|---|---|---|\n\
         | `payments/payment-processor-sa` | false | Deployment/payment-processor | no (2 audience-bound) | - | - | - |\n\
         | `production/default` | <unset> | Deployment/checkout-api | yes | - | - | SAG001,SAG002,SAG003 |\n\
         | `production/order-api-sa` | <unset> | Deployment/order-api | yes | Role order-api-role | - | - |\n"
    );
    let json: Value = serde_json::from_str(&output.json).unwrap();
    assert_eq!(json["schemaVersion"], 1);
    let payment = &json["serviceAccounts"][0];
    assert_eq!(
        payment["workloads"][0]["projectedTokens"],
        json!([
            {"volume": "token-fraud-detection", "audience": "fraud-detection-api", "expirationSeconds": 3600, "apiAudience": false},
            {"volume": "token-payment-gateway", "audience": "payment-gateway-prod", "expirationSeconds": 1800, "apiAudience": false},
        ])
    );
    assert_eq!(json["serviceAccounts"][1]["workloads"][0]["token"], json!({"mounted": true, "reason": "default"}));
    assert!(json["serviceAccounts"][2]["bindings"][0].get("roleObjectIndex").is_none(), "the CLI's schema");
    assert!(output.json.ends_with("}\n"));
}

#[test]
fn a_binding_to_cluster_admin_is_critical_in_the_graph() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/bad/cluster-admin-binding.yaml"))
            .unwrap();
    let output = inventory_report(&text, "");
    let critical = Some("critical");
    assert_eq!(
        edges_of(&output),
        [
            (
                "sa:ci/deploy-bot".to_string(),
                "rb:ClusterRoleBinding:deploy-bot-cluster-admin".to_string(),
                critical,
                "#b00020"
            ),
            (
                "rb:ClusterRoleBinding:deploy-bot-cluster-admin".to_string(),
                "role:ClusterRole cluster-admin".to_string(),
                critical,
                "#b00020"
            ),
        ]
    );
    let role = output.graph.nodes.iter().find(|n| n.id == "role:ClusterRole cluster-admin").unwrap();
    assert_eq!((role.object_index, role.severity.map(|s| s.as_str())), (None, critical), "built in, not in the text");
    assert_eq!(inventory_cells(&output)[0][5], "critical");
    assert_eq!(
        output.legend.iter().map(|l| (l.label, l.colour)).collect::<Vec<_>>(),
        [("critical", "#b00020"), ("high", "#e65100"), ("medium", "#f9a825"), ("no risk", "#607d8b")]
    );
    assert_eq!(
        output.columns.iter().map(|c| c.title).collect::<Vec<_>>(),
        ["Workloads", "ServiceAccounts", "Bindings", "Roles"]
    );
}

#[test]
fn the_inventory_of_bad_input_says_what_is_wrong() {
    // A syntax error in one document: the others are inventoried, the error placed.
    let text = format!("{}---\nkind: [\n", lesson_text());
    let output = inventory_report(&text, "");
    assert_eq!(output.rows.len(), 3);
    assert_eq!(output.parse_errors.len(), 1);
    let lint = lint_report(&text, "");
    assert_eq!(output.parse_errors[0].span, lint.parse_errors[0].span, "placed as the lint places it");
    assert_eq!(output.parse_errors[0].message, lint.parse_errors[0].message);

    let output = inventory_report(&lesson_text(), "{\"mutate\": 1}");
    assert!(output.settings_error.as_deref().unwrap().starts_with("invalid settings:"));
    assert_eq!(output.rows.len(), 3, "the defaults are used");

    let huge = "#".repeat(sa_guard_web::MAX_INPUT_BYTES + 1);
    let output = inventory_report(&huge, "");
    assert!(output.input_error.as_deref().unwrap().starts_with("the input is 16.0 MB"));
    assert!(output.rows.is_empty() && output.graph.nodes.is_empty() && output.json.is_empty());

    for text in ["", "just text\n", "- 1\n- 2\n", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n"] {
        let output = inventory_report(text, "");
        assert!(output.rows.is_empty() && output.graph.edges.is_empty(), "{text:?}");
        assert_eq!(output.json, "{\n  \"schemaVersion\": 1,\n  \"serviceAccounts\": []\n}\n");
    }
}

#[test]
fn the_inventory_export_speaks_json() {
    let output: Value = serde_json::from_str(&sa_guard_web::inventory(&lesson_text(), "")).unwrap();
    for key in ["rows", "graph", "columns", "legend", "json", "markdown", "spans", "parseErrors"] {
        assert!(output.get(key).is_some(), "{key}");
    }
    assert_eq!(output["rows"][0]["cells"]["account"], "payments/payment-processor-sa");
    assert_eq!(output["rows"][0]["objectIndex"], 6);
    assert_eq!(
        output["graph"]["nodes"][1],
        json!({"id": "wl:payments/Deployment/payment-processor", "kind": "workload", "label": "Deployment payment-processor", "objectIndex": 7, "severity": null})
    );
    assert_eq!(output["graph"]["edges"][0]["colour"], "#607d8b");
    assert_eq!(output["spans"]["6"]["line"], 118);
    assert_eq!(output["columns"][1], json!({"kind": "sa", "title": "ServiceAccounts"}));
}

#[test]
fn a_pod_spec_that_is_not_a_mapping_is_an_input_problem_at_its_field() {
    let text = "\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: shop
spec:
  template:
    spec: \"containers: []\"
";
    let output = lint_report(text, "");
    assert_eq!(output.parse_errors.len(), 1, "{:?}", output.parse_errors);
    let note = &output.parse_errors[0];
    assert_eq!((note.document, note.span.line, note.span.column), (Some(0), 8, 5));
    assert_eq!(
        note.message,
        "Deployment shop/api cannot be read: /spec/template/spec is a string, not a mapping, so it has no Pod spec \
         at /spec/template/spec (the API server would reject it) and its Pods are not checked"
    );
    assert_eq!(output.summary.parse_errors, 1);
}
