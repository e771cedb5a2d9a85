//! The playground's adapter: the rule core and its YAML front-end (`sa_guard::manifest`) behind four
//! JSON-in, JSON-out functions that JavaScript calls through wasm-bindgen.
//!
//! Everything here is plain Rust ([`lint_report`], [`fix_text`], [`rule_catalog`],
//! [`check_settings`]) so it is tested natively; the `#[wasm_bindgen]` functions only move strings
//! across the boundary. Strings rather than JS objects keep the glue (and the wasm) small, and
//! `JSON.parse` in the browser is faster than building objects field by field from Rust.
//!
//! Positions are given twice: 1-based `line`/`column` as the YAML front-end reports them (columns
//! count characters), and `from`/`to` offsets in UTF-16 code units of the linted text, which is
//! what a JavaScript string (and so CodeMirror) indexes by.

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wasm_bindgen::prelude::wasm_bindgen;

use sa_guard::engine::{evaluate, Exemption, Options};
use sa_guard::manifest::{self, Manifests, Position};
use sa_guard::{k8s, rules, Finding, Fix, Level, ObjectRef, Settings};

mod bytes;
mod text;

use text::{minimal_edit, LineIndex};

/// Pastes above this are refused with a message instead of being parsed (the page says so).
pub const MAX_INPUT_BYTES: usize = 16 * 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Output shapes (camelCase, as JavaScript reads them)
// ---------------------------------------------------------------------------------------------

/// A span of the linted text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Span {
    /// 1-based line and column (characters) of the first character.
    pub line: usize,
    pub column: usize,
    /// 1-based line and column just past the last character.
    pub end_line: usize,
    pub end_column: usize,
    /// UTF-16 offsets into the linted text: `text.slice(from, to)` in JavaScript.
    pub from: usize,
    pub to: usize,
}

/// A replacement in the linted text: `text.slice(0, from) + insert + text.slice(to)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TextEdit {
    pub from: usize,
    pub to: usize,
    pub insert: String,
    /// Where the edit starts, for people ("line 12").
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixOut {
    pub description: String,
    /// The RFC 6902 patch against the object, as the policy would mutate it.
    pub patch: Value,
    /// The same fix as an edit of the text that keeps comments and layout (left out when not
    /// asked for, see [`LintOptions`], or when it could not be made).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit: Option<TextEdit>,
    /// Why there is no text edit, when one was asked for and could not be made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_error: Option<String>,
}

/// Where the span of a finding points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Anchor {
    /// The offending field itself.
    Field,
    /// The field is missing: the span is the closest enclosing node that exists (often the object).
    Parent,
}

/// What every finding of a rule shares, given once per lint in [`LintOutput::rules`] (a large
/// paste has thousands of findings). The worker copies it onto each finding before the page sees
/// the result, so the page reads `finding.title`, `finding.remediation`, `finding.docsAnchor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleText {
    pub rule_slug: &'static str,
    pub title: &'static str,
    pub remediation: &'static str,
    pub docs_anchor: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FindingOut {
    /// Stable for the same text and settings: what [`fix_text`] takes.
    pub id: String,
    pub rule_id: String,
    pub level: Level,
    pub object: ObjectRef,
    pub object_index: usize,
    /// 0-based index of the YAML document (`---`) the object is in.
    pub document: usize,
    /// JSON pointer into the object.
    pub path: String,
    pub message: String,
    /// Only when the finding's remediation is not its rule's (see [`LintOutput::remediation`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation: Option<String>,
    pub anchor: Anchor,
    pub span: Span,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<FixOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExemptionOut {
    pub rule_id: String,
    pub object: ObjectRef,
    pub object_index: usize,
    pub document: usize,
    pub path: String,
    pub reason: String,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseErrorOut {
    /// 0-based document index; null when the whole input was refused.
    pub document: Option<usize>,
    pub message: String,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectOut {
    pub index: usize,
    pub document: usize,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub line: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub deny: usize,
    pub warn: usize,
    pub fixable: usize,
    pub exempted: usize,
    pub parse_errors: usize,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LintOutput {
    /// The settings could not be used: the message the policy gives, and linting used defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_error: Option<String>,
    /// The input could not be linted at all (too large); nothing else is filled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_error: Option<String>,
    pub summary: Summary,
    /// The shared texts of each rule that has findings, by rule id.
    pub rules: BTreeMap<&'static str, RuleText>,
    pub objects: Vec<ObjectOut>,
    pub findings: Vec<FindingOut>,
    pub exemptions: Vec<ExemptionOut>,
    pub parse_errors: Vec<ParseErrorOut>,
}

impl LintOutput {
    /// A finding's remediation: its own, or its rule's.
    pub fn remediation<'o>(&'o self, finding: &'o FindingOut) -> &'o str {
        finding
            .remediation
            .as_deref()
            .or_else(|| self.rules.get(finding.rule_id.as_str()).map(|rule| rule.remediation))
            .unwrap_or_default()
    }
}

// ---------------------------------------------------------------------------------------------
// Lint
// ---------------------------------------------------------------------------------------------

/// Settings from the page: empty means defaults; an error message is the policy's own.
fn settings_or_default(settings_json: &str) -> (Settings, Option<String>) {
    match Settings::from_json(settings_json) {
        Ok(settings) => (settings, None),
        Err(message) => (Settings::default(), Some(message)),
    }
}

/// One object's YAML document, parsed alone; `start..end` is its range in the whole text.
struct DocumentAlone {
    start: usize,
    end: usize,
    manifests: Manifests,
}

/// Parsed input and the core's report on it.
pub struct Evaluated {
    manifests: Manifests,
    findings: Vec<Finding>,
    exemptions: Vec<Exemption>,
    /// Each finding's id, in order.
    ids: Vec<String>,
}

fn evaluate_manifests(mut manifests: Manifests, settings: &Settings) -> Evaluated {
    // The engine takes a slice of values: lend it the parsed ones instead of cloning them.
    let values: Vec<Value> = manifests.objects.iter_mut().map(|o| std::mem::take(&mut o.value)).collect();
    let report = evaluate(&values, settings, &Options::default());
    for (object, value) in manifests.objects.iter_mut().zip(values) {
        object.value = value;
    }
    let ids = finding_ids(&report.findings);
    Evaluated { manifests, findings: report.findings, exemptions: report.exemptions, ids }
}

fn run(text: &str, settings: &Settings) -> Evaluated {
    evaluate_manifests(manifest::parse(text, &manifest::Limits::default()), settings)
}

impl Evaluated {
    fn linted(&self) -> Linted<'_> {
        let text = self.manifests.text();
        let lines = LineIndex::with_line_starts(text, Cow::Borrowed(self.manifests.line_starts()));
        Linted { text, lines, evaluated: self }
    }
}

/// An evaluation with everything positions need.
struct Linted<'t> {
    text: &'t str,
    lines: LineIndex<'t>,
    evaluated: &'t Evaluated,
}

/// `<object index>:<rule id>:<path>`, with `#2`, `#3`… when one rule reports the same path twice.
fn finding_ids(findings: &[Finding]) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    findings
        .iter()
        .map(|f| {
            let base = format!("{}:{}:{}", f.object_index, f.rule_id, f.path);
            let count = seen.entry(base.clone()).or_insert(0);
            *count += 1;
            if *count == 1 {
                base
            } else {
                format!("{base}#{count}")
            }
        })
        .collect()
}

impl Linted<'_> {
    fn span(&self, position: Position) -> Span {
        let from = self.lines.utf16_offset(position.line, position.column);
        let to = self.lines.utf16_offset(position.end_line, position.end_column).max(from);
        Span {
            line: position.line,
            column: position.column,
            end_line: position.end_line,
            end_column: position.end_column,
            from,
            to,
        }
    }

    fn object_span(&self, object_index: usize, pointer: &str) -> (Anchor, Span) {
        let (position, found) = self.evaluated.manifests.locate_field(object_index, pointer);
        (if found { Anchor::Field } else { Anchor::Parent }, self.span(position))
    }

    fn document(&self, object_index: usize) -> usize {
        self.evaluated.manifests.objects[object_index].document
    }

    /// The byte range of the YAML document holding object `object_index`, when the object is
    /// the whole document (not an item of a `List`): from the object's first line to the next
    /// document marker (`---` or `...` at the start of a line, which always ends a document).
    fn document_range(&self, object_index: usize) -> Option<(usize, usize)> {
        let object = &self.evaluated.manifests.objects[object_index];
        if !object.base_pointer.is_empty() {
            return None;
        }
        let first_line = self.evaluated.manifests.position(object_index, "").line - 1;
        let start = self.lines.line_start(first_line);
        let end = (first_line + 1..self.lines.line_count())
            .find(|&line| is_document_marker(self.lines.line_text(line)))
            .map_or(self.text.len(), |line| self.lines.line_start(line));
        Some((start, end))
    }

    /// The object's document parsed on its own, when that reads back as the same object: the
    /// text fixes are computed against. `None` means the whole text has to be used.
    fn parse_document(&self, object_index: usize) -> Option<DocumentAlone> {
        let (start, end) = self.document_range(object_index)?;
        let alone = manifest::parse(&self.text[start..end], &manifest::Limits::default());
        let same = alone.errors.is_empty()
            && alone.objects.len() == 1
            && alone.objects[0].value == self.evaluated.manifests.objects[object_index].value;
        same.then_some(DocumentAlone { start, end, manifests: alone })
    }

    /// The fix of one finding as a text edit. Computed on the object's own document where
    /// possible (parsed once per object, in `documents`), so that many fixable findings in a
    /// large paste cost time linear in the text.
    fn text_edit(
        &self,
        documents: &mut HashMap<usize, Option<DocumentAlone>>,
        object_index: usize,
        fix: &Fix,
    ) -> Result<TextEdit, String> {
        let document = documents.entry(object_index).or_insert_with(|| self.parse_document(object_index));
        let (offset, before, fixed) = match document {
            Some(DocumentAlone { start, end, manifests }) => {
                let slice = &self.text[*start..*end];
                (*start, slice, manifest::apply_fixes(slice, manifests, &[(0, fix)]))
            }
            None => (0, self.text, manifest::apply_fixes(self.text, &self.evaluated.manifests, &[(object_index, fix)])),
        };
        let fixed = fixed.map_err(|e| e.to_string())?;
        let (start, end, insert) = minimal_edit(before, &fixed);
        let (start, end) = (offset + start, offset + end);
        let (line, column) = self.lines.line_column(start);
        Ok(TextEdit {
            from: self.lines.utf16_at_byte(start),
            to: self.lines.utf16_at_byte(end),
            insert: insert.to_string(),
            line,
            column,
        })
    }

    fn output(&self, settings_error: Option<String>, options: &LintOptions) -> LintOutput {
        let mut documents = HashMap::new();
        let mut rule_texts = BTreeMap::new();
        let mut summary = Summary {
            parse_errors: self.evaluated.manifests.errors.len(),
            exempted: self.evaluated.exemptions.len(),
            ..Summary::default()
        };
        let findings: Vec<FindingOut> = self
            .evaluated
            .findings
            .iter()
            .zip(&self.evaluated.ids)
            .map(|(f, id)| {
                match f.level {
                    Level::Deny => summary.deny += 1,
                    Level::Warn => summary.warn += 1,
                    Level::Off => {}
                }
                let (anchor, span) = self.object_span(f.object_index, &f.path);
                let meta = rules::find(&f.rule_id).map(|r| &r.meta);
                if let Some(meta) = meta {
                    rule_texts.entry(meta.id).or_insert_with(|| RuleText {
                        rule_slug: meta.slug,
                        title: meta.title,
                        remediation: meta.remediation,
                        docs_anchor: meta.docs_anchor(),
                    });
                }
                let fix = f.fix.as_ref().map(|fix| {
                    summary.fixable += 1;
                    let (edit, edit_error) = if !options.text_edits {
                        (None, None)
                    } else {
                        match self.text_edit(&mut documents, f.object_index, fix) {
                            Ok(edit) => (Some(edit), None),
                            Err(message) => (None, Some(message)),
                        }
                    };
                    FixOut {
                        description: fix.description.clone(),
                        patch: serde_json::to_value(&fix.patch).unwrap_or(Value::Null),
                        edit,
                        edit_error,
                    }
                });
                FindingOut {
                    id: id.clone(),
                    rule_id: f.rule_id.clone(),
                    level: f.level,
                    object: f.object.clone(),
                    object_index: f.object_index,
                    document: self.document(f.object_index),
                    path: f.path.clone(),
                    message: f.message.clone(),
                    remediation: (meta.map(|m| m.remediation) != Some(f.remediation.as_str()))
                        .then(|| f.remediation.clone()),
                    anchor,
                    span,
                    fix,
                }
            })
            .collect();
        let exemptions = self
            .evaluated
            .exemptions
            .iter()
            .map(|e| ExemptionOut {
                rule_id: e.rule_id.clone(),
                object: e.object.clone(),
                object_index: e.object_index,
                document: self.document(e.object_index),
                path: e.path.clone(),
                reason: e.reason.clone(),
                span: self.object_span(e.object_index, &e.path).1,
            })
            .collect();
        let parse_errors = self
            .evaluated
            .manifests
            .errors
            .iter()
            .map(|e| ParseErrorOut { document: e.document, message: e.message.clone(), span: self.span(e.position) })
            .collect();
        let objects = self
            .evaluated
            .manifests
            .objects
            .iter()
            .enumerate()
            .map(|(index, o)| ObjectOut {
                index,
                document: o.document,
                api_version: k8s::str_at(&o.value, &["apiVersion"]).unwrap_or_default().to_string(),
                kind: k8s::str_at(&o.value, &["kind"]).unwrap_or_default().to_string(),
                name: k8s::str_at(&o.value, &["metadata", "name"]).unwrap_or_default().to_string(),
                namespace: k8s::str_at(&o.value, &["metadata", "namespace"]).map(str::to_string),
                line: self.evaluated.manifests.position(index, "").line,
            })
            .collect();
        LintOutput {
            settings_error,
            input_error: None,
            summary,
            rules: rule_texts,
            objects,
            findings,
            exemptions,
            parse_errors,
        }
    }
}

fn is_document_marker(line: &str) -> bool {
    ["---", "..."]
        .iter()
        .any(|marker| line.strip_prefix(marker).is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t'])))
}

fn too_large(bytes: usize) -> Option<String> {
    (bytes > MAX_INPUT_BYTES).then(|| {
        format!(
            "the input is {:.1} MB; the playground lints up to {} MB (use the sa-guard CLI for more)",
            bytes as f64 / 1_048_576.0,
            MAX_INPUT_BYTES / 1_048_576
        )
    })
}

/// What [`lint_report_with`] computes besides findings and positions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct LintOptions {
    /// Each fix as a text edit (`fix.edit`). Costs about one YAML parse of every document that
    /// has a fixable finding; without it, fixes are applied by id with [`fix_text`].
    pub text_edits: bool,
}

impl Default for LintOptions {
    fn default() -> Self {
        LintOptions { text_edits: true }
    }
}

/// Lint `text` (one or more YAML documents) with the settings in `settings_json`.
pub fn lint_report(text: &str, settings_json: &str) -> LintOutput {
    lint_report_with(text, settings_json, &LintOptions::default())
}

pub fn lint_report_with(text: &str, settings_json: &str, options: &LintOptions) -> LintOutput {
    lint_keeping_state(text, settings_json, options).0
}

/// A lint's result and what it leaves behind: the parsed input and the core's report. Freeing
/// those is a tenth of a large lint, so the browser frees them after the result is posted
/// ([`release`]) rather than before.
fn lint_keeping_state(text: &str, settings_json: &str, options: &LintOptions) -> (LintOutput, Option<Evaluated>) {
    let manifests = match too_large(text.len()) {
        Some(input_error) => Err(input_error),
        None => Ok(manifest::parse(text, &manifest::Limits::default())),
    };
    lint_manifests(manifests, settings_json, options)
}

/// [`lint_keeping_state`] on a text already parsed, or refused with the message.
fn lint_manifests(
    manifests: Result<Manifests, String>,
    settings_json: &str,
    options: &LintOptions,
) -> (LintOutput, Option<Evaluated>) {
    let (settings, settings_error) = settings_or_default(settings_json);
    match manifests {
        Err(input_error) => (refused(settings_error, input_error), None),
        Ok(manifests) => {
            let evaluated = evaluate_manifests(manifests, &settings);
            (evaluated.linted().output(settings_error, options), Some(evaluated))
        }
    }
}

/// The output for an input that is not linted at all.
fn refused(settings_error: Option<String>, input_error: String) -> LintOutput {
    LintOutput {
        settings_error,
        input_error: Some(input_error),
        summary: Summary::default(),
        rules: BTreeMap::new(),
        objects: vec![],
        findings: vec![],
        exemptions: vec![],
        parse_errors: vec![],
    }
}

// ---------------------------------------------------------------------------------------------
// Fix
// ---------------------------------------------------------------------------------------------

/// Which findings to fix: `"all"`, or a list of ids from [`lint_report`].
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum FixSelection {
    All(AllMarker),
    Ids(Vec<String>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AllMarker {
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub id: String,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FixOutput {
    pub text: String,
    /// Ids whose fix is in `text`.
    pub applied: Vec<String>,
    /// Ids that were asked for but not fixed, and why.
    pub skipped: Vec<Skipped>,
}

/// Apply the fixes of the selected findings to `text`, keeping comments and layout.
pub fn fix_text(text: &str, settings_json: &str, selection: &FixSelection) -> Result<FixOutput, String> {
    if let Some(message) = too_large(text.len()) {
        return Err(message);
    }
    let settings = Settings::from_json(settings_json)?;
    let linted = run(text, &settings);
    let mut chosen: Vec<(usize, &Fix)> = Vec::new();
    let mut applied = Vec::new();
    let mut skipped = Vec::new();
    let wanted: Vec<&str> = match selection {
        FixSelection::All(_) => linted.ids.iter().map(String::as_str).collect(),
        FixSelection::Ids(ids) => ids.iter().map(String::as_str).collect(),
    };
    for id in wanted {
        let Some(i) = linted.ids.iter().position(|known| known == id) else {
            skipped.push(Skipped { id: id.to_string(), reason: "no such finding in this text (relint first)".into() });
            continue;
        };
        let finding = &linted.findings[i];
        match &finding.fix {
            Some(fix) => {
                chosen.push((finding.object_index, fix));
                applied.push(id.to_string());
            }
            None if matches!(selection, FixSelection::Ids(_)) => skipped
                .push(Skipped { id: id.to_string(), reason: format!("{} has no automatic fix", finding.rule_id) }),
            None => {}
        }
    }
    if chosen.is_empty() {
        return Ok(FixOutput { text: text.to_string(), applied, skipped });
    }
    let fixed = manifest::apply_fixes(text, &linted.manifests, &chosen)
        .map_err(|e| format!("could not apply the fixes: {e}"))?;
    Ok(FixOutput { text: fixed, applied, skipped })
}

// ---------------------------------------------------------------------------------------------
// Rules and settings
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuleInfo {
    pub id: &'static str,
    pub slug: &'static str,
    pub title: &'static str,
    pub category: &'static str,
    pub default_level: Level,
    /// `object` (also at admission) or `bundle` (manifests only).
    pub scope: sa_guard::Scope,
    pub fixable: bool,
    pub summary: String,
    /// Markdown, as in docs/rules.md.
    pub documentation: String,
    pub remediation: &'static str,
    pub references: &'static [&'static str],
    pub peers: &'static [&'static str],
    /// Anchor of the rule's section in docs/rules.md.
    pub docs_anchor: String,
}

pub fn rule_catalog() -> Vec<RuleInfo> {
    rules::all()
        .iter()
        .map(|rule| {
            let m = &rule.meta;
            RuleInfo {
                id: m.id,
                slug: m.slug,
                title: m.title,
                category: m.category.as_str(),
                default_level: m.default_level,
                scope: m.scope,
                fixable: m.fixable,
                summary: m.summary(),
                documentation: m.documentation(),
                remediation: m.remediation,
                references: m.references,
                peers: m.peers,
                docs_anchor: m.docs_anchor(),
            }
        })
        .collect()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsCheck {
    pub valid: bool,
    /// The policy's own message when invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The effective settings (defaults filled in) when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings: Option<Settings>,
}

pub fn check_settings(json: &str) -> SettingsCheck {
    match Settings::from_json(json) {
        Ok(settings) => SettingsCheck { valid: true, message: None, settings: Some(settings) },
        Err(message) => SettingsCheck { valid: false, message: Some(message), settings: None },
    }
}

// ---------------------------------------------------------------------------------------------
// wasm-bindgen exports: strings in, JSON strings out
// ---------------------------------------------------------------------------------------------

fn to_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| error_json(&format!("could not encode the result: {e}")))
}

fn error_json(message: &str) -> String {
    serde_json::json!({ "error": message }).to_string()
}

thread_local! {
    /// The last lint's state and output, until [`release`] frees them.
    static UNRELEASED: RefCell<Option<(LintOutput, Option<Evaluated>)>> = const { RefCell::new(None) };
}

/// Lints and keeps what the lint built for [`release`] to free. A lint that comes before the
/// previous one was released frees it first.
fn lint_json(text: &str, settings_json: &str, options: &LintOptions) -> String {
    release();
    let (output, evaluated) = lint_keeping_state(text, settings_json, options);
    keep_until_released(output, evaluated)
}

/// The output as JSON; the output and the evaluation are kept for [`release`] to free.
fn keep_until_released(output: LintOutput, evaluated: Option<Evaluated>) -> String {
    let json = to_json(&output);
    UNRELEASED.with(|kept| *kept.borrow_mut() = Some((output, evaluated)));
    json
}

/// Lint a manifest: see [`LintOutput`]. Call [`release`] once the result is on its way.
#[wasm_bindgen]
pub fn lint(text: &str, settings_json: &str) -> String {
    lint_json(text, settings_json, &LintOptions::default())
}

/// [`lint`] with options: `{"textEdits": false}` leaves out the text edits (for large inputs).
#[wasm_bindgen]
pub fn lint_with_options(text: &str, settings_json: &str, options_json: &str) -> String {
    match lint_options(options_json) {
        Ok(options) => lint_json(text, settings_json, &options),
        Err(error) => error,
    }
}

/// [`LintOptions`] from JSON; the error as the JSON the page gets.
fn lint_options(options_json: &str) -> Result<LintOptions, String> {
    serde_json::from_str(options_json).map_err(|e| error_json(&format!("invalid lint options: {e}")))
}

// ---------------------------------------------------------------------------------------------
// A lint in two Web Workers: the second reads the events of the text's second part
// ---------------------------------------------------------------------------------------------

thread_local! {
    /// What [`lint_begin`] leaves for [`lint_finish`]: the parse begun, or why the text is refused.
    static BEGUN: RefCell<Option<Result<manifest::SplitParse, String>>> = const { RefCell::new(None) };
}

/// For the second worker: the YAML events of `text` (the second part of a large paste), as bytes
/// for [`lint_finish`] in the first.
#[wasm_bindgen]
pub fn read_events(text: &str) -> Vec<u8> {
    manifest::record_events(text)
}

/// Starts a lint of `head + tail` (split at a document marker, `tail` starting with `---`): reads
/// `head` while the second worker reads `tail`'s events ([`read_events`]).
#[wasm_bindgen]
pub fn lint_begin(head: &str, tail: &str) {
    release();
    let begun = match too_large(head.len() + tail.len()) {
        Some(message) => Err(message),
        None => {
            let mut text = String::with_capacity(head.len() + tail.len());
            text.push_str(head);
            text.push_str(tail);
            Ok(manifest::SplitParse::begin(text, &manifest::Limits::default(), head.len()))
        }
    };
    BEGUN.with(|begun_cell| *begun_cell.borrow_mut() = Some(begun));
}

/// Finishes [`lint_begin`]'s lint with the second worker's events of the tail (or none, when that
/// worker failed: the tail is read here). The same result as [`lint_with_options`] on the whole
/// text; call [`release`] once it is on its way.
#[wasm_bindgen]
pub fn lint_finish(tail_events: Option<Vec<u8>>, settings_json: &str, options_json: &str) -> String {
    let Some(begun) = BEGUN.with(|begun| begun.borrow_mut().take()) else {
        return error_json("lint_finish without lint_begin");
    };
    let options = match lint_options(options_json) {
        Ok(options) => options,
        Err(error) => return error,
    };
    let manifests = begun.map(|split| split.finish(tail_events.as_deref()));
    let (output, evaluated) = lint_manifests(manifests, settings_json, &options);
    keep_until_released(output, evaluated)
}

/// Whether a lint's state is waiting for [`release`].
pub fn holds_lint_state() -> bool {
    UNRELEASED.with(|kept| kept.borrow().is_some())
}

/// Frees what the last [`lint`] built (its parsed input, findings and output). The worker calls it
/// after posting the result, so the page gets its findings without waiting for the free.
#[wasm_bindgen]
pub fn release() {
    // Taken out first: the free runs with the cell no longer borrowed.
    drop(UNRELEASED.with(|kept| kept.borrow_mut().take()));
}

/// Fix findings: `selection_json` is `"all"` or `["id", ...]`. Returns [`FixOutput`] or `{"error"}`.
#[wasm_bindgen]
pub fn fix(text: &str, settings_json: &str, selection_json: &str) -> String {
    let selection: FixSelection = match serde_json::from_str(selection_json) {
        Ok(selection) => selection,
        Err(_) => return error_json("the selection must be \"all\" or a list of finding ids"),
    };
    match fix_text(text, settings_json, &selection) {
        Ok(output) => to_json(&output),
        Err(message) => error_json(&message),
    }
}

/// Every rule's metadata: see [`RuleInfo`].
#[wasm_bindgen]
pub fn rules() -> String {
    to_json(&rule_catalog())
}

/// Validate settings JSON with the policy's messages: see [`SettingsCheck`].
#[wasm_bindgen]
pub fn validate_settings(json: &str) -> String {
    to_json(&check_settings(json))
}

/// The default settings, as the policy documents them.
#[wasm_bindgen]
pub fn default_settings() -> String {
    to_json(&Settings::default())
}

/// How many YAML events the core's parser reads in `text`, doing nothing else, or -1 at a
/// syntax error ([`sa_guard::manifest::count_yaml_events`]): the floor `make bench-web` prints
/// next to [`lint`]'s time.
#[wasm_bindgen]
pub fn yaml_events(text: &str) -> i64 {
    sa_guard::manifest::count_yaml_events(text).map_or(-1, |events| events as i64)
}

#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}
