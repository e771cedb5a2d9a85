//! The report formats of `sa-guard lint`: text, json, sarif (2.1.0, as GitHub code scanning
//! reads it) and github (workflow annotations).

use sa_guard::meta::{Category, Scope};
use sa_guard::{rules, Fix, Level, ObjectRef, RuleMeta};
use serde::Serialize;
use serde_json::{json, Value};

use crate::docs;
use crate::lint::{Located, Outcome};

/// `file:line:col: SAG002 deny message`, the object and path, the remediation and the fix.
pub fn text(outcome: &Outcome<'_>) -> String {
    let mut out = String::new();
    for located in &outcome.findings {
        let f = located.finding;
        out.push_str(&format!(
            "{}:{}:{}: {} {} {}\n",
            located.file, located.span.line, located.span.column, f.rule_id, f.level, f.message
        ));
        out.push_str(&format!("    object: {} at {}\n", f.object, pointer_or_root(&f.path)));
        out.push_str(&format!("    help: {}\n", f.remediation));
        if let Some(fix) = &f.fix {
            out.push_str(&format!("    fix: {} (sa-guard fix)\n", fix.description));
        }
    }
    for exempted in &outcome.exemptions {
        let e = exempted.exemption;
        out.push_str(&format!(
            "{}:{}:{}: {} exempted: {} ({})\n",
            exempted.file, exempted.span.line, exempted.span.column, e.rule_id, e.reason, e.object
        ));
    }
    out.push_str(&summary(outcome));
    out.push('\n');
    out
}

fn pointer_or_root(path: &str) -> &str {
    if path.is_empty() {
        "the object"
    } else {
        path
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line: counts by level, objects and files, fixable, exempted, input errors.
pub fn summary(outcome: &Outcome<'_>) -> String {
    let findings = outcome.findings.len();
    let mut line = format!("sa-guard: {}", plural(findings, "finding", "findings"));
    if findings > 0 {
        line.push_str(&format!(" ({} deny, {} warn)", outcome.count(Level::Deny), outcome.count(Level::Warn)));
    }
    line.push_str(&format!(
        " in {} from {}",
        plural(outcome.objects, "object", "objects"),
        plural(outcome.files, "file", "files")
    ));
    if outcome.fixable() > 0 {
        line.push_str(&format!("; {} with `sa-guard fix`", plural(outcome.fixable(), "fixable", "fixable")));
    }
    if !outcome.exemptions.is_empty() {
        line.push_str(&format!("; {} exempted", outcome.exemptions.len()));
    }
    if !outcome.errors.is_empty() {
        line.push_str(&format!("; {} (see above)", plural(outcome.errors.len(), "input error", "input errors")));
    }
    line
}

fn rule_meta(id: &str) -> &'static RuleMeta {
    &rules::find(id).expect("findings come from registered rules").meta
}

// The JSON report as structs, so its fields keep this order (serde_json's maps sort keys).

#[derive(Serialize)]
struct JsonReport<'a> {
    tool: JsonTool,
    summary: JsonSummary,
    findings: Vec<JsonFinding<'a>>,
    exemptions: Vec<JsonExemption<'a>>,
    errors: Vec<JsonError<'a>>,
}

#[derive(Serialize)]
struct JsonTool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct JsonSummary {
    files: usize,
    objects: usize,
    findings: usize,
    deny: usize,
    warn: usize,
    fixable: usize,
    exempted: usize,
    errors: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonFinding<'a> {
    rule_id: &'a str,
    rule_slug: &'a str,
    level: Level,
    file: &'a str,
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    object: &'a ObjectRef,
    path: &'a str,
    message: &'a str,
    remediation: &'a str,
    fix: Option<&'a Fix>,
    rule: JsonRule,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonRule {
    title: &'static str,
    category: Category,
    scope: Scope,
    default_level: Level,
    fixable: bool,
    help_uri: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct JsonExemption<'a> {
    rule_id: &'a str,
    file: &'a str,
    line: usize,
    column: usize,
    object: &'a ObjectRef,
    path: &'a str,
    reason: &'a str,
}

#[derive(Serialize)]
struct JsonError<'a> {
    file: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<usize>,
    message: &'a str,
}

/// Findings with file/line/column and the rule's metadata; exemptions; input errors; a summary.
pub fn json(outcome: &Outcome<'_>) -> String {
    let findings = outcome
        .findings
        .iter()
        .map(|located| {
            let f = located.finding;
            let meta = rule_meta(&f.rule_id);
            JsonFinding {
                rule_id: &f.rule_id,
                rule_slug: &f.rule_slug,
                level: f.level,
                file: located.file,
                line: located.span.line,
                column: located.span.column,
                end_line: located.span.end_line,
                end_column: located.span.end_column,
                object: &f.object,
                path: &f.path,
                message: &f.message,
                remediation: &f.remediation,
                fix: f.fix.as_ref(),
                rule: JsonRule {
                    title: meta.title,
                    category: meta.category,
                    scope: meta.scope,
                    default_level: meta.default_level,
                    fixable: meta.fixable,
                    help_uri: docs::help_uri(meta),
                },
            }
        })
        .collect();
    let exemptions = outcome
        .exemptions
        .iter()
        .map(|e| JsonExemption {
            rule_id: &e.exemption.rule_id,
            file: e.file,
            line: e.span.line,
            column: e.span.column,
            object: &e.exemption.object,
            path: &e.exemption.path,
            reason: &e.exemption.reason,
        })
        .collect();
    let errors = outcome
        .errors
        .iter()
        .map(|e| JsonError {
            file: &e.file,
            line: e.span.map(|s| s.line),
            column: e.span.map(|s| s.column),
            message: &e.message,
        })
        .collect();
    let report = JsonReport {
        tool: JsonTool { name: "sa-guard", version: env!("CARGO_PKG_VERSION") },
        summary: JsonSummary {
            files: outcome.files,
            objects: outcome.objects,
            findings: outcome.findings.len(),
            deny: outcome.count(Level::Deny),
            warn: outcome.count(Level::Warn),
            fixable: outcome.fixable(),
            exempted: outcome.exemptions.len(),
            errors: outcome.errors.len(),
        },
        findings,
        exemptions,
        errors,
    };
    serde_json::to_string_pretty(&report).expect("the report serializes") + "\n"
}

fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Deny => "error",
        Level::Warn => "warning",
        Level::Off => "none",
    }
}

/// GitHub ranks alerts by `security-severity` (a CVSS-like score): deny is high, warn medium.
fn security_severity(level: Level) -> &'static str {
    match level {
        Level::Deny => "7.5",
        Level::Warn => "5.0",
        Level::Off => "0.0",
    }
}

/// `implicit-token-automount` -> `ImplicitTokenAutomount` (SARIF's rule `name` is an identifier).
fn pascal_case(slug: &str) -> String {
    slug.split('-')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect()
}

/// A relative URI reference for a report path (SARIF `artifactLocation.uri`).
fn uri_reference(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// Stable across line moves: rule, object and field, not the line (FNV-1a, 64 bits).
fn fingerprint(located: &Located<'_>) -> String {
    let f = located.finding;
    let key = format!("{}\0{}\0{}\0{}\0{}", f.rule_id, located.file, f.object, f.path, f.message);
    let hash = key.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3));
    format!("{hash:016x}")
}

fn sarif_rule(meta: &RuleMeta) -> Value {
    let mut tags = vec!["security".to_string(), "kubernetes".to_string(), meta.category.as_str().to_string()];
    if meta.fixable {
        tags.push("fixable".into());
    }
    json!({
        "id": meta.id,
        "name": pascal_case(meta.slug),
        "shortDescription": {"text": meta.title},
        "fullDescription": {"text": meta.summary()},
        "help": {
            "text": format!("{}\n\nRemediation: {}", meta.documentation(), meta.remediation),
            "markdown": docs::rule_section(meta, 2),
        },
        "helpUri": docs::help_uri(meta),
        "defaultConfiguration": {"level": sarif_level(meta.default_level)},
        "properties": {
            "tags": tags,
            "precision": "high",
            "problem.severity": if meta.default_level == Level::Deny { "error" } else { "warning" },
            "security-severity": security_severity(meta.default_level),
        },
    })
}

fn sarif_region(span: crate::input::Span) -> Value {
    json!({
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": span.end_line.max(span.line),
        "endColumn": if span.end_line > span.line { span.end_column } else { span.end_column.max(span.column + 1) },
    })
}

/// SARIF 2.1.0: every rule in the driver (so suppressed and clean rules show in code scanning),
/// one result per finding with its region, input errors as tool notifications.
pub fn sarif(outcome: &Outcome<'_>) -> String {
    let all = rules::all();
    let results: Vec<Value> = outcome
        .findings
        .iter()
        .map(|located| {
            let f = located.finding;
            let rule_index = all.iter().position(|r| r.meta.id == f.rule_id).expect("registered rule");
            let mut result = json!({
                "ruleId": f.rule_id,
                "ruleIndex": rule_index,
                "level": sarif_level(f.level),
                "message": {"text": format!("{} ({} at {}). {}", f.message, f.object, pointer_or_root(&f.path), f.remediation)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri_reference(located.file)},
                        "region": sarif_region(located.span),
                    },
                    "logicalLocations": [{
                        "fullyQualifiedName": format!("{}{}", f.object, f.path),
                        "name": f.object.name,
                        "kind": "object",
                    }],
                }],
                "partialFingerprints": {"saGuardFinding/v1": fingerprint(located)},
                "properties": {"object": f.object, "path": f.path},
            });
            if let Some(fix) = &f.fix {
                result["properties"]["fix"] = json!(fix.description);
            }
            result
        })
        .collect();
    // Exempted findings stay visible as suppressed results, with the annotation's reason.
    let suppressed = outcome.exemptions.iter().map(|exempted| {
        let e = exempted.exemption;
        let rule_index = all.iter().position(|r| r.meta.id == e.rule_id).expect("registered rule");
        json!({
            "ruleId": e.rule_id,
            "ruleIndex": rule_index,
            "level": sarif_level(rule_meta(&e.rule_id).default_level),
            "message": {"text": format!("{} at {} is exempt: {}", e.object, pointer_or_root(&e.path), e.reason)},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": uri_reference(exempted.file)},
                "region": sarif_region(exempted.span),
            }}],
            "suppressions": [{"kind": "inSource", "justification": e.reason}],
        })
    });
    let results: Vec<Value> = results.into_iter().chain(suppressed).collect();
    let notifications: Vec<Value> = outcome
        .errors
        .iter()
        .map(|error| {
            let mut location = json!({"physicalLocation": {"artifactLocation": {"uri": uri_reference(&error.file)}}});
            if let Some(span) = error.span {
                location["physicalLocation"]["region"] = sarif_region(span);
            }
            json!({"level": "error", "message": {"text": error.message}, "locations": [location]})
        })
        .collect();
    let report = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sa-guard",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": all.iter().map(|r| sarif_rule(&r.meta)).collect::<Vec<_>>(),
            }},
            "invocations": [{
                "executionSuccessful": outcome.errors.is_empty(),
                "toolExecutionNotifications": notifications,
            }],
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    serde_json::to_string_pretty(&report).expect("JSON values serialize") + "\n"
}

/// Workflow command escaping: the message (data) and the properties differ.
fn escape_data(text: &str) -> String {
    text.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// `::error file=…,line=…,col=…,title=SAG002::message` per finding (warn -> `::warning`), input
/// errors as `::error`, then the summary as a plain log line.
pub fn github(outcome: &Outcome<'_>) -> String {
    let mut out = String::new();
    for error in outcome.errors {
        let mut properties = format!("file={}", escape_property(&error.file));
        if let Some(span) = error.span {
            properties.push_str(&format!(",line={},col={}", span.line, span.column));
        }
        out.push_str(&format!("::error {properties},title=sa-guard input error::{}\n", escape_data(&error.message)));
    }
    for (file, span, message) in &outcome.notes {
        out.push_str(&format!(
            "::notice file={},line={},col={},title=sa-guard::{}\n",
            escape_property(file),
            span.line,
            span.column,
            escape_data(message)
        ));
    }
    for located in &outcome.findings {
        let f = located.finding;
        let command = if f.level == Level::Deny { "error" } else { "warning" };
        let s = located.span;
        out.push_str(&format!(
            "::{command} file={},line={},col={},endLine={},endColumn={},title={}::{}\n",
            escape_property(located.file),
            s.line,
            s.column,
            s.end_line.max(s.line),
            s.end_column,
            escape_property(&format!("{} {}", f.rule_id, f.rule_slug)),
            escape_data(&format!("{} ({} at {})\n{}", f.message, f.object, pointer_or_root(&f.path), f.remediation)),
        ));
    }
    out.push_str(&summary(outcome));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workflow_command_escaping() {
        assert_eq!(escape_data("50% done\nnext"), "50%25 done%0Anext");
        assert_eq!(escape_property("a:b,c"), "a%3Ab%2Cc");
    }

    #[test]
    fn uri_reference_escapes_what_a_uri_cannot_hold() {
        assert_eq!(uri_reference("k8s/my app/x.yaml"), "k8s/my%20app/x.yaml");
        assert_eq!(uri_reference("<stdin>"), "%3Cstdin%3E");
    }

    #[test]
    fn rule_names_are_identifiers() {
        assert_eq!(pascal_case("implicit-token-automount"), "ImplicitTokenAutomount");
    }
}
