//! Rule documentation generated from the rules' own metadata: the terminal table, docs/rules.md,
//! the README's index, JSON, `explain`, and the help text SARIF carries.

use sa_guard::meta::Scope;
use sa_guard::{rules, Level, RuleMeta, Settings};
use serde_json::{json, Value};

/// Where docs/rules.md is published (SARIF `helpUri`, JSON `helpUri`).
const RULES_DOC_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/blob/main/docs/rules.md");

/// The settings source: the doc comments of `Settings`' fields are the settings documentation.
const SETTINGS_SOURCE: &str = sa_guard::SETTINGS_SOURCE;

pub fn help_uri(meta: &RuleMeta) -> String {
    format!("{RULES_DOC_URL}#{}", meta.docs_anchor())
}

pub fn known_rules() -> String {
    rules::all().iter().map(|r| format!("{} ({})", r.meta.id, r.meta.slug)).collect::<Vec<_>>().join(", ")
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

/// `sa-guard rules`: aligned columns for a terminal.
pub fn rules_table() -> String {
    let header = ["ID", "SLUG", "LEVEL", "CATEGORY", "FIXABLE", "TITLE"].map(String::from);
    let rows: Vec<[String; 6]> = rules::all()
        .iter()
        .map(|r| {
            let m = &r.meta;
            [
                m.id.to_string(),
                m.slug.to_string(),
                m.default_level.to_string(),
                m.category.as_str().to_string(),
                yes_no(m.fixable).to_string(),
                m.title.to_string(),
            ]
        })
        .collect();
    let mut widths = header.clone().map(|h| h.chars().count());
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(widths)
            .enumerate()
            .map(|(i, (cell, width))| if i == row.len() - 1 { cell.clone() } else { format!("{cell:<width$}") })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// A table cell: pipes escaped, newlines folded.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

fn scope_text(scope: Scope) -> &'static str {
    match scope {
        Scope::Object => "object: at admission (policy) and on manifests (CLI, playground)",
        Scope::Bundle => "bundle: on manifests only (CLI, playground); it needs the other objects of the bundle",
        Scope::BundleOrAuthorizer => {
            "bundle or authorizer: on manifests (CLI, playground) from the bundle's bindings; at admission (policy) \
             with `review_service_account_permissions`, from the cluster's authorizer"
        }
    }
}

/// The index table; `link_prefix` is `""` inside docs/rules.md and `docs/rules.md` in the README.
fn index_table(link_prefix: &str) -> String {
    let mut out = String::from("| Rule | Slug | Title | Default | Category | Scope | Fixable |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for rule in rules::all() {
        let m = &rule.meta;
        out.push_str(&format!(
            "| [{}]({link_prefix}#{}) | `{}` | {} | {} | {} | {} | {} |\n",
            m.id,
            m.docs_anchor(),
            m.slug,
            cell(m.title),
            m.default_level,
            m.category.as_str(),
            match m.scope {
                Scope::Object => "object",
                Scope::Bundle => "bundle",
                Scope::BundleOrAuthorizer => "bundle or authorizer",
            },
            yes_no(m.fixable),
        ));
    }
    out
}

/// `sa-guard rules --format markdown-index`: the README's rules table (links into docs/rules.md).
pub fn rules_index_markdown() -> String {
    index_table("docs/rules.md")
}

/// One rule's documentation. `level` is the heading level of its title (1 for `explain`, 2 in
/// docs/rules.md); the heading text makes GitHub's anchor equal [`RuleMeta::docs_anchor`].
pub fn rule_section(meta: &RuleMeta, level: usize) -> String {
    let h = "#".repeat(level);
    let sub = "#".repeat(level + 1);
    let mut out = format!("{h} {} {}\n\n**{}**\n\n", meta.id, meta.slug, meta.title);
    out.push_str("| | |\n|---|---|\n");
    out.push_str(&format!("| ID | `{}` |\n| Slug | `{}` |\n", meta.id, meta.slug));
    out.push_str(&format!("| Default level | {} |\n", meta.default_level));
    out.push_str(&format!("| Category | {} |\n", meta.category.as_str()));
    out.push_str(&format!("| Scope | {} |\n", scope_text(meta.scope)));
    out.push_str(&format!(
        "| Fixable | {} |\n\n",
        if meta.fixable { "yes: `sa-guard fix`, the playground's fix button" } else { "no" }
    ));
    out.push_str(&meta.documentation());
    out.push_str(&format!("\n\n{sub} Remediation\n\n{}\n", meta.remediation));
    if !meta.references.is_empty() {
        out.push_str(&format!("\n{sub} References\n\n"));
        for reference in meta.references {
            out.push_str(&format!("- {reference}\n"));
        }
    }
    if !meta.peers.is_empty() {
        out.push_str(&format!("\n{sub} Peer equivalents\n\nReplaces/overlaps: {}.\n", meta.peers.join(", ")));
    }
    out.push_str(&format!(
        "\nLevel: `rules: {{{}: deny|warn|off}}` in the settings. Exempt one object: annotation \
         `sa-guard.io/exempt: \"{}\"` with `sa-guard.io/exempt-reason`.\n",
        meta.id, meta.slug
    ));
    out
}

/// `sa-guard rules --format markdown`: the complete docs/rules.md.
pub fn rules_markdown() -> String {
    let mut out = String::from(
        "# sa-guard rules\n\n\
         <!-- Generated by `sa-guard rules --format markdown` (make docs) from the rules' metadata in src/rules/. \
         Do not edit by hand: tests fail when this file differs from the generator. -->\n\n",
    );
    out.push_str(
        "Every rule runs in the CLI and the playground; object-scoped rules also run in the Kubewarden policy, \
         and SAG015 there with `review_service_account_permissions`. \
         Levels are `deny` (rejects at admission, exit code 1 in the CLI), `warn` (admission warning, \
         reported but exit code 0 unless `--fail-on warn`) and `off`.\n\n",
    );
    out.push_str(&index_table(""));
    for rule in rules::all() {
        out.push('\n');
        out.push_str(&rule_section(&rule.meta, 2));
    }
    out.push('\n');
    out.push_str(&settings_section());
    out
}

/// `sa-guard rules --format json`.
pub fn rules_json() -> String {
    let list: Vec<Value> = rules::all()
        .iter()
        .map(|r| {
            let m = &r.meta;
            json!({
                "id": m.id,
                "slug": m.slug,
                "title": m.title,
                "category": m.category,
                "defaultLevel": m.default_level,
                "scope": m.scope,
                "fixable": m.fixable,
                "summary": m.summary(),
                "documentation": m.documentation(),
                "remediation": m.remediation,
                "references": m.references,
                "peers": m.peers,
                "helpUri": help_uri(m),
            })
        })
        .collect();
    serde_json::to_string_pretty(&list).expect("JSON values serialize") + "\n"
}

/// `(field, documentation)` for each field of `struct Settings`, read from its doc comments.
pub fn settings_fields() -> Vec<(String, String)> {
    let mut fields = Vec::new();
    let mut in_struct = false;
    let mut doc: Vec<&str> = Vec::new();
    for line in SETTINGS_SOURCE.lines().map(str::trim) {
        if line.starts_with("pub struct Settings") {
            in_struct = true;
            continue;
        }
        if !in_struct {
            continue;
        }
        if line == "}" {
            break;
        }
        if let Some(text) = line.strip_prefix("///") {
            doc.push(text.trim());
        } else if let Some(rest) = line.strip_prefix("pub ") {
            if let Some((name, _)) = rest.split_once(':') {
                fields.push((name.trim().to_string(), doc.join(" ")));
            }
            doc.clear();
        } else if !line.starts_with("#[") && !line.is_empty() {
            doc.clear();
        }
    }
    fields
}

fn default_text(value: &Value) -> String {
    match value {
        Value::String(s) => format!("`{s}`"),
        Value::Array(items) if items.is_empty() => "`[]`".into(),
        Value::Object(map) if map.is_empty() => "`{}`".into(),
        other => format!("`{other}`"),
    }
}

/// `sa-guard rules --format markdown-settings`: each settings field, its default (from
/// `Settings::default()`) and its doc comment; in docs/rules.md and docs/policy.md.
pub fn settings_table() -> String {
    let defaults = serde_json::to_value(Settings::default()).expect("settings serialize");
    let mut out = String::from("| Setting | Default | Description |\n|---|---|---|\n");
    for (field, doc) in settings_fields() {
        let default = defaults.get(&field).map(default_text).unwrap_or_default();
        out.push_str(&format!("| `{field}` | {default} | {} |\n", cell(&doc)));
    }
    out
}

/// docs/rules.md's settings section: the table and which rules do not deny by default.
pub fn settings_section() -> String {
    let mut out = String::from(
        "## Settings\n\n\
         The policy's settings, the CLI's `--settings FILE` (YAML or JSON) and the playground's settings \
         panel share this format and its validation; unknown fields are rejected.\n\n",
    );
    out.push_str(&settings_table());
    let levels: Vec<String> = rules::all()
        .iter()
        .filter(|r| r.meta.default_level != Level::Deny)
        .map(|r| format!("`{}` ({})", r.meta.id, r.meta.default_level))
        .collect();
    if !levels.is_empty() {
        out.push_str(&format!("\nRules whose default level is not `deny`: {}.\n", levels.join(", ")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_settings_field_is_documented_and_nothing_else() {
        let defaults = serde_json::to_value(Settings::default()).unwrap();
        let documented: Vec<String> = settings_fields()
            .into_iter()
            .map(|(name, doc)| {
                assert!(!doc.is_empty(), "settings field {name} has no doc comment");
                name
            })
            .collect();
        let mut serialized: Vec<String> = defaults.as_object().unwrap().keys().cloned().collect();
        let mut sorted = documented.clone();
        sorted.sort();
        serialized.sort();
        assert_eq!(sorted, serialized);
    }

    #[test]
    fn table_has_a_row_per_rule() {
        let table = rules_table();
        assert_eq!(table.lines().count(), rules::all().len() + 1);
        assert!(table.lines().nth(1).unwrap().starts_with("SAG001  default-sa-automount"));
    }
}
