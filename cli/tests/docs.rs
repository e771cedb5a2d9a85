//! docs/rules.md, the README's rules table and docs/policy.md's settings table are generated
//! (`make docs`); these tests fail when they drift from the rules' metadata.

use std::path::{Path, PathBuf};

use assert_cmd::Command;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn sa_guard(args: &[&str]) -> String {
    let output = Command::cargo_bin("sa-guard").unwrap().args(args).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn docs_rules_md_is_generated_from_the_rules() {
    let path = repo_root().join("docs/rules.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = sa_guard(&["rules", "--format", "markdown"]);
    assert!(committed == generated, "docs/rules.md differs from `sa-guard rules --format markdown`: run `make docs`");
}

/// `file`'s text between `<!-- {name}:start -->` and `<!-- {name}:end -->`.
fn generated_block(file: &str, name: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join(file)).expect(file);
    let start_marker = format!("<!-- {name}:start -->\n");
    let end_marker = format!("<!-- {name}:end -->");
    let start = text.find(&start_marker).unwrap_or_else(|| panic!("{file} has no {start_marker:?}"));
    let end = text.find(&end_marker).unwrap_or_else(|| panic!("{file} has no {end_marker:?}"));
    text[start + start_marker.len()..end].to_string()
}

#[test]
fn readme_rules_table_is_generated_from_the_rules() {
    let generated = sa_guard(&["rules", "--format", "markdown-index"]);
    assert!(
        generated_block("README.md", "rules") == generated,
        "the README's rules table differs from the generator: run `make docs`"
    );
}

#[test]
fn policy_doc_settings_table_is_generated_from_the_settings() {
    let generated = sa_guard(&["rules", "--format", "markdown-settings"]);
    assert!(generated.contains("| `on_lookup_failure` | `deny` |"));
    assert!(
        generated_block("docs/policy.md", "settings") == generated,
        "docs/policy.md's settings table differs from the generator: run `make docs`"
    );
}

#[test]
fn every_rule_has_a_section_with_its_anchor_and_documentation() {
    let markdown = sa_guard(&["rules", "--format", "markdown"]);
    for rule in sa_guard::rules::all() {
        let m = &rule.meta;
        let heading = format!("\n## {} {}\n", m.id, m.slug);
        assert!(markdown.contains(&heading), "no section for {}", m.id);
        // GitHub's anchor for that heading is the one SARIF's helpUri and the index link use.
        assert!(markdown.contains(&format!("](#{})", m.docs_anchor())), "no index link to {}", m.id);
        assert!(markdown.contains(&m.documentation()), "{}'s documentation is not in its section", m.id);
    }
    assert!(markdown.contains("\n## Settings\n"));
    assert!(markdown.contains("| `max_token_expiration_seconds` | `3600` |"));
}

#[test]
fn explain_prints_the_rule_section() {
    let by_id = sa_guard(&["explain", "SAG001"]);
    let by_slug = sa_guard(&["explain", "default-sa-automount"]);
    assert_eq!(by_id, by_slug);
    assert!(by_id
        .starts_with("# SAG001 default-sa-automount\n\n**The default ServiceAccount mounts its token into Pods**\n"));
    assert!(by_id.contains("## Remediation\n\nSet automountServiceAccountToken: false on the default ServiceAccount"));
    assert!(by_id.contains("## Peer equivalents\n\nReplaces/overlaps: Checkov CKV_K8S_41, Kubescape C-0189, Kyverno restrict-sa-automount-sa-token.\n"));
}

#[test]
fn explain_unknown_rule_is_a_usage_error() {
    let output = Command::cargo_bin("sa-guard").unwrap().args(["explain", "SAG999"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.starts_with("sa-guard: unknown rule `SAG999` (known: SAG001 (default-sa-automount), "), "{stderr}");
}

#[test]
fn rules_table_and_json() {
    let table = sa_guard(&["rules"]);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), sa_guard::rules::all().len() + 1);
    assert!(lines[0].starts_with("ID      SLUG"), "{}", lines[0]);
    assert!(lines[1].starts_with("SAG001  default-sa-automount "), "{}", lines[1]);
    assert!(
        lines[1].ends_with("  deny   token-mounting  yes      The default ServiceAccount mounts its token into Pods"),
        "{}",
        lines[1]
    );

    let json: serde_json::Value = serde_json::from_str(&sa_guard(&["rules", "--format", "json"])).unwrap();
    let rules = json.as_array().unwrap();
    assert_eq!(rules.len(), sa_guard::rules::all().len());
    assert_eq!(rules[0]["id"], "SAG001");
    assert_eq!(rules[0]["defaultLevel"], "deny");
    assert_eq!(rules[0]["category"], "token-mounting");
    assert_eq!(
        rules[0]["helpUri"],
        "https://github.com/sa-guard/sa-guard/blob/main/docs/rules.md#sag001-default-sa-automount"
    );
    assert_eq!(rules[0]["peers"][0], "Checkov CKV_K8S_41");
}

#[test]
fn policy_doc_settings_example_is_valid_settings() {
    let doc = std::fs::read_to_string(repo_root().join("docs/policy.md")).unwrap();
    let intro = "as a file for `sa-guard lint --settings`:\n\n```yaml\n";
    let start = doc.find(intro).expect("docs/policy.md's settings example") + intro.len();
    let example = &doc[start..start + doc[start..].find("```").unwrap()];
    let path = std::env::temp_dir().join(format!("sa-guard-doc-settings-{}.yaml", std::process::id()));
    std::fs::write(&path, example).unwrap();
    // SAG004 is raised to deny by the example: the deprecated field alone now fails the lint.
    let manifest = "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: shop}\n\
                    spec: {serviceAccount: api, automountServiceAccountToken: false, containers: []}\n";
    let output = Command::cargo_bin("sa-guard")
        .unwrap()
        .args(["lint", "--settings", path.to_str().unwrap(), "-"])
        .write_stdin(manifest)
        .output()
        .unwrap();
    std::fs::remove_file(&path).ok();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", String::from_utf8_lossy(&output.stderr));
    assert!(stdout.contains("SAG004 deny "), "{stdout}");
}

/// Relative links and images of the README and docs/ point at files that exist (a screenshot
/// the README shows must be committed, not only written by a test run).
#[test]
fn relative_links_of_the_readme_and_docs_resolve() {
    let root = repo_root();
    let mut pages = vec![root.join("README.md"), root.join("DEVELOPERS.md")];
    for entry in std::fs::read_dir(root.join("docs")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "md") {
            pages.push(path);
        }
    }
    let mut broken = Vec::new();
    for page in &pages {
        let text = std::fs::read_to_string(page).unwrap();
        // `](target)` of Markdown links and images; absolute URLs and in-page anchors aside.
        for target in text.split("](").skip(1).filter_map(|rest| rest.split_once(')').map(|(t, _)| t)) {
            let file = target.split('#').next().unwrap_or("").trim();
            if file.is_empty() || file.contains("://") || file.starts_with("mailto:") {
                continue;
            }
            if !page.parent().unwrap().join(file).exists() {
                broken.push(format!("{}: {target}", page.strip_prefix(&root).unwrap().display()));
            }
        }
    }
    assert!(broken.is_empty(), "links to missing files:\n{}", broken.join("\n"));
}
