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

use sa_guard::engine::{evaluate_part, Exemption, Options};
use sa_guard::inventory::graph::{self, Graph, NodeKind};
use sa_guard::inventory::table::{self, Cells};
use sa_guard::inventory::Filters;
use sa_guard::manifest::{self, Manifests, Position};
use sa_guard::rbac::catalog::Severity;
use sa_guard::{rules, Finding, Fix, Level, ObjectRef, Settings};

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

impl RuleText {
    fn of(meta: &'static sa_guard::RuleMeta) -> RuleText {
        RuleText {
            rule_slug: meta.slug,
            title: meta.title,
            remediation: meta.remediation,
            docs_anchor: meta.docs_anchor(),
        }
    }
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

/// An object that was linted: the page counts objects and documents. (Findings and exemptions
/// name their object; a large paste has thousands of objects, so nothing else is repeated here.)
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectOut {
    pub index: usize,
    pub document: usize,
    /// Where the object starts.
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
    /// Where the text sits in the text linted, when it is one part of it.
    place: Place,
}

/// Where a part of a larger text begins: what its objects, documents, lines and UTF-16 offsets
/// are counted on from. All zero for a whole text.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Place {
    objects: usize,
    documents: usize,
    lines: usize,
    utf16: usize,
}

fn evaluate_manifests(manifests: Manifests, settings: &Settings) -> Evaluated {
    evaluate_in_place(manifests, settings, Place::default(), &mut Vec::new(), 0)
}

/// Evaluates `manifests`, a part at `place` of a bundle of `total` objects, whose other parts
/// left in `seen` (one value per object of the bundle, or none for a whole text) what they show
/// of their objects; the report is the part's findings and exemptions, with the bundle's indices.
fn evaluate_in_place(
    mut manifests: Manifests,
    settings: &Settings,
    place: Place,
    seen: &mut Vec<Value>,
    total: usize,
) -> Evaluated {
    let own = manifests.objects.len();
    seen.resize(total.max(place.objects + own), Value::Null);
    // The engine takes a slice of values: lend it the parsed ones instead of cloning them.
    for (object, slot) in manifests.objects.iter_mut().zip(&mut seen[place.objects..]) {
        *slot = std::mem::take(&mut object.value);
    }
    let subjects = place.objects..place.objects + own;
    let mut report = evaluate_part(seen, subjects.clone(), settings, &Options::default());
    for (object, value) in manifests.objects.iter_mut().zip(seen.drain(subjects)) {
        object.value = value;
    }
    // In the order of the text, so that the parts of a text give the whole's list end to end
    // (the engine lists them in the order its rules run).
    report.exemptions.sort_by(|a, b| (a.object_index, &a.rule_id, &a.path).cmp(&(b.object_index, &b.rule_id, &b.path)));
    let ids = finding_ids(&report.findings);
    Evaluated { manifests, findings: report.findings, exemptions: report.exemptions, ids, place }
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

/// A position of a text at `place` (in the whole text's lines) as a span of the whole text;
/// `lines` indexes the text at `place`.
fn span_at(lines: &LineIndex<'_>, place: Place, position: Position) -> Span {
    let offset = |line: usize, column| place.utf16 + lines.utf16_offset(line - place.lines, column);
    let from = offset(position.line, position.column);
    let to = offset(position.end_line, position.end_column).max(from);
    Span {
        line: position.line,
        column: position.column,
        end_line: position.end_line,
        end_column: position.end_column,
        from,
        to,
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
    /// A position of the part (in the whole text's lines) as a span of the whole text.
    fn span(&self, position: Position) -> Span {
        span_at(&self.lines, self.evaluated.place, position)
    }

    /// The part's own index of an object of the bundle.
    fn local(&self, object_index: usize) -> usize {
        object_index - self.evaluated.place.objects
    }

    fn object_span(&self, object_index: usize, pointer: &str) -> (Anchor, Span) {
        let (position, found) = self.evaluated.manifests.locate_field(self.local(object_index), pointer);
        (if found { Anchor::Field } else { Anchor::Parent }, self.span(position))
    }

    /// Objects whose Pod spec is not a mapping: the API server would refuse them and no rule can
    /// read their Pods, so they are input problems at the field, as the CLI's notes are.
    fn pod_spec_notes(&self) -> impl Iterator<Item = ParseErrorOut> + '_ {
        self.evaluated.manifests.objects.iter().enumerate().filter_map(|(local, object)| {
            let (pointer, _) = sa_guard::k8s::pod_spec_not_a_mapping(&object.value)?;
            let message = sa_guard::k8s::pod_spec_shape_message(&object.value, None)?;
            let (position, _) = self.evaluated.manifests.locate_field(local, pointer);
            Some(ParseErrorOut {
                document: Some(self.evaluated.place.documents + object.document),
                message,
                span: self.span(position),
            })
        })
    }

    fn document(&self, object_index: usize) -> usize {
        self.evaluated.place.documents + self.evaluated.manifests.objects[self.local(object_index)].document
    }

    /// The byte range of the YAML document holding object `object_index`, when the object is
    /// the whole document (not an item of a `List`): from the object's first line to the next
    /// document marker (`---` or `...` at the start of a line, which always ends a document).
    fn document_range(&self, object_index: usize) -> Option<(usize, usize)> {
        let object = &self.evaluated.manifests.objects[self.local(object_index)];
        if !object.base_pointer.is_empty() {
            return None;
        }
        let first_line =
            self.evaluated.manifests.position(self.local(object_index), "").line - 1 - self.evaluated.place.lines;
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
            && alone.objects[0].value == self.evaluated.manifests.objects[self.local(object_index)].value;
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
            None => {
                let fixes = [(self.local(object_index), fix)];
                (0, self.text, manifest::apply_fixes(self.text, &self.evaluated.manifests, &fixes))
            }
        };
        let fixed = fixed.map_err(|e| e.to_string())?;
        let (start, end, insert) = minimal_edit(before, &fixed);
        let (start, end) = (offset + start, offset + end);
        let (line, column) = self.lines.line_column(start);
        Ok(TextEdit {
            from: self.evaluated.place.utf16 + self.lines.utf16_at_byte(start),
            to: self.evaluated.place.utf16 + self.lines.utf16_at_byte(end),
            insert: insert.to_string(),
            line: self.evaluated.place.lines + line,
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
                    rule_texts.entry(meta.id).or_insert_with(|| RuleText::of(meta));
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
        let parse_errors: Vec<ParseErrorOut> = self
            .evaluated
            .manifests
            .errors
            .iter()
            .map(|e| ParseErrorOut {
                document: e.document.map(|document| self.evaluated.place.documents + document),
                message: e.message.clone(),
                span: self.span(e.position),
            })
            .chain(self.pod_spec_notes())
            .collect();
        summary.parse_errors = parse_errors.len();
        let objects = self
            .evaluated
            .manifests
            .objects
            .iter()
            .enumerate()
            .map(|(index, o)| ObjectOut {
                index: self.evaluated.place.objects + index,
                document: self.evaluated.place.documents + o.document,
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
// Inventory
// ---------------------------------------------------------------------------------------------

/// The ServiceAccount inventory of a text, for the playground's Inventory view: everything the
/// core computes (`sa_guard::inventory`), rendered by the core as the CLI renders it (`sa-guard
/// inventory` without `--system`), and where its objects are in the text. Settings, input and
/// YAML errors are given as [`LintOutput`] gives them.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryOutput {
    /// The settings could not be used: the policy's message; the inventory used the defaults.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settings_error: Option<String>,
    /// The input was not read at all (too large); the rest is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_error: Option<String>,
    /// One per ServiceAccount, in the inventory's order.
    pub rows: Vec<InventoryRow>,
    /// Workload → ServiceAccount → binding → role.
    pub graph: Graph,
    /// The graph's columns, left to right.
    pub columns: Vec<GraphColumn>,
    /// The edges' colours, most severe first.
    pub legend: Vec<LegendEntry>,
    /// `sa-guard inventory --format json` of the text.
    pub json: String,
    /// `sa-guard inventory --format markdown` of the text.
    pub markdown: String,
    /// Where each object the rows and the graph name is in the text, by object index.
    pub spans: BTreeMap<usize, Span>,
    pub parse_errors: Vec<ParseErrorOut>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InventoryRow {
    /// The id of the row's ServiceAccount node in the graph.
    pub node: String,
    /// The ServiceAccount's object, when the manifests define it.
    pub object_index: Option<usize>,
    pub cells: Cells,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GraphColumn {
    pub kind: NodeKind,
    pub title: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LegendEntry {
    pub severity: Option<Severity>,
    pub label: &'static str,
    pub colour: &'static str,
}

/// The inventory of `text` with the settings in `settings_json`: [`sa_guard::inventory::of_objects`]
/// on the objects the lint reads, without system namespaces and bootstrap bindings (as the CLI
/// shows it by default).
pub fn inventory_report(text: &str, settings_json: &str) -> InventoryOutput {
    let (settings, settings_error) = settings_or_default(settings_json);
    let mut output = InventoryOutput {
        settings_error,
        input_error: too_large(text.len()),
        rows: Vec::new(),
        graph: Graph::default(),
        columns: NodeKind::ALL.iter().map(|&kind| GraphColumn { kind, title: kind.title() }).collect(),
        legend: graph::LEGEND
            .iter()
            .map(|&severity| LegendEntry {
                severity,
                label: severity.map_or("no risk", Severity::as_str),
                colour: graph::colour(severity),
            })
            .collect(),
        json: String::new(),
        markdown: String::new(),
        spans: BTreeMap::new(),
        parse_errors: Vec::new(),
    };
    if output.input_error.is_some() {
        return output;
    }
    let mut manifests = manifest::parse(text, &manifest::Limits::default());
    // Positions come from the parsed tree, not the values: lend these to the core, uncloned.
    let values: Vec<Value> = manifests.objects.iter_mut().map(|object| std::mem::take(&mut object.value)).collect();
    let (inventory, _) = sa_guard::inventory::of_objects(&values, &settings, None);
    let inventory = inventory.filtered(&Filters::default());
    let lines = LineIndex::with_line_starts(manifests.text(), Cow::Borrowed(manifests.line_starts()));
    output.graph = Graph::of(&inventory);
    for index in output.graph.nodes.iter().filter_map(|node| node.object_index) {
        output
            .spans
            .entry(index)
            .or_insert_with(|| span_at(&lines, Place::default(), manifests.object_position(index)));
    }
    output.rows = inventory
        .service_accounts
        .iter()
        .map(|row| InventoryRow {
            node: graph::service_account_id(&row.namespace, &row.name),
            object_index: row.object_index,
            cells: Cells::of(row),
        })
        .collect();
    output.json = sa_guard::inventory::to_json(&inventory);
    output.markdown = table::markdown(&inventory);
    output.parse_errors = manifests
        .errors
        .iter()
        .map(|e| ParseErrorOut {
            document: e.document,
            message: e.message.clone(),
            span: span_at(&lines, Place::default(), e.position),
        })
        .collect();
    output
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
    // A lint of the whole text here: a part begun for a lint in parts is not needed.
    PART.with(|slot| slot.borrow_mut().take());
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

/// The ServiceAccount inventory of `text`: see [`InventoryOutput`]. Keeps nothing.
#[wasm_bindgen]
pub fn inventory(text: &str, settings_json: &str) -> String {
    to_json(&inventory_report(text, settings_json))
}

/// [`LintOptions`] from JSON; the error as the JSON the page gets.
fn lint_options(options_json: &str) -> Result<LintOptions, String> {
    serde_json::from_str(options_json).map_err(|e| error_json(&format!("invalid lint options: {e}")))
}

// ---------------------------------------------------------------------------------------------
// A lint in parts: each of several Web Workers lints one part of a large text
// ---------------------------------------------------------------------------------------------
//
// Workers share no memory, so a large paste is cut at document markers and each worker parses
// its part, evaluates the rules on its own objects and renders their findings; what the rules
// need of the other parts' objects (`sa_guard::bundle::seen_from_other_parts`) is passed between
// them as JSON. The first worker, which the page talks to, plans the cut (in JavaScript: passing
// the whole text into wasm only to find the cuts would cost as much as a helper's head start) and
// relays what the others send; each part's output has the whole text's indices, lines and
// offsets, so the parts' lists end to end are the whole text's lint (the worker joins them).
// Every part reports how it was cut ([`PartCut`]) and [`parts_agree`] checks that the cuts are at
// document markers and that the lines and offsets the parts were told add up, so a wrong plan
// costs a lint by one worker, never a wrong lint. When the parts would not read as the whole (a
// bad cut, a directive, an error before the last part, alias copies over the budget), or anything
// fails, the first worker lints the whole text itself.
//
//   first worker                                  each other worker
//   plans the cut (worker.js)
//   part_begin(part 0) + part_context()           part_begin(part k) + part_context()
//   parts_agree(summaries) -------- summaries, the other parts' contexts -------->
//   part_finish(part 0)                           part_finish(part k)
//   joins the outputs <------------------------- its output

/// Where a part of the text lies, for JavaScript to cut it (`text.slice(from, to)`, UTF-16
/// units) and for the part's parser to number its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartPlan {
    pub from: usize,
    pub to: usize,
    /// Lines before the part.
    pub first_line: usize,
}

/// The parts to lint `text` in: at most `parts`, cut at document markers into shares of similar
/// size; one (the whole text) when it cannot be cut (a directive, too large to lint). The page's
/// worker cuts by the same rule in JavaScript (`planParts` in web/app/plan.js), without passing
/// the text into wasm first.
pub fn plan_parts(text: &str, parts: usize) -> Vec<PartPlan> {
    let limits = manifest::Limits::default();
    let starts = if too_large(text.len()).is_none() && manifest::can_cut(text, &limits) {
        manifest::part_starts(text, parts)
    } else {
        vec![0]
    };
    let line_starts = manifest::line_starts(text);
    // A paste is mostly ASCII, where UTF-16 offsets are byte offsets.
    let lines = (!text.is_ascii()).then(|| LineIndex::with_line_starts(text, Cow::Borrowed(&line_starts)));
    let utf16 = |byte: usize| lines.as_ref().map_or(byte, |lines| lines.utf16_at_byte(byte));
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| {
            let first_line = line_starts.partition_point(|&line| line <= start) - 1;
            PartPlan { from: utf16(start), to: utf16(end), first_line }
        })
        .collect()
}

/// What a part tells the others once read: how many objects and documents it holds (the next
/// parts count theirs on from there), whether it reads as in the whole text, and how it was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartSummary {
    pub objects: usize,
    #[serde(flatten)]
    pub shape: manifest::PartShape,
    #[serde(flatten)]
    pub cut: PartCut,
}

/// Where a part lies in the text linted, as the part was told and as its own text shows: what
/// [`parts_read_as_whole`] checks the cut by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartCut {
    /// Lines before the part (as told).
    pub first_line: usize,
    /// UTF-16 units before the part (as told).
    pub utf16_start: usize,
    /// Line breaks in the part.
    pub lines: usize,
    /// The part's length in UTF-16 units, and in bytes.
    pub utf16_len: usize,
    pub bytes: usize,
    /// It starts with a document marker, as every part after the first must.
    pub starts_at_marker: bool,
    /// It ends with a line break, as every part before the last must (so the next one's marker
    /// starts a line of the whole text).
    pub ends_at_line_break: bool,
    /// [`manifest::can_cut`] allows its text to be cut (no directive in it).
    pub cuttable: bool,
}

impl PartCut {
    fn of(text: &str, manifests: &Manifests, first_line: usize, utf16_start: usize) -> PartCut {
        let limits = manifest::Limits::default();
        PartCut {
            first_line,
            utf16_start,
            lines: manifests.line_starts().len() - 1,
            utf16_len: if text.is_ascii() { text.len() } else { text.encode_utf16().count() },
            bytes: text.len(),
            starts_at_marker: manifest::starts_with_document_marker(text),
            ends_at_line_break: text.ends_with(['\n', '\r']),
            cuttable: manifest::can_cut(text, &limits),
        }
    }

    /// Whether `next` is cut where this part ends: at a document marker that starts a line, with
    /// the lines and UTF-16 units before it that this part ends at.
    fn followed_by(&self, next: &PartCut) -> bool {
        self.ends_at_line_break
            && next.starts_at_marker
            && self.first_line.checked_add(self.lines) == Some(next.first_line)
            && self.utf16_start.checked_add(self.utf16_len) == Some(next.utf16_start)
    }
}

/// Whether parts that sent these summaries, in order, are the whole text cut at document markers
/// and read as the whole text ([`manifest::parts_read_as_whole`]).
pub fn parts_read_as_whole(summaries: &[PartSummary]) -> bool {
    let limits = manifest::Limits::default();
    let Some(first) = summaries.first() else { return false };
    let bytes = summaries.iter().fold(0usize, |sum, s| sum.saturating_add(s.cut.bytes));
    let cut_well = first.cut.first_line == 0
        && first.cut.utf16_start == 0
        && summaries.iter().all(|s| s.cut.cuttable)
        && summaries.windows(2).all(|pair| pair[0].cut.followed_by(&pair[1].cut))
        && bytes <= limits.max_bytes
        && too_large(bytes).is_none();
    let shapes: Vec<manifest::PartShape> = summaries.iter().map(|summary| summary.shape).collect();
    cut_well && manifest::parts_read_as_whole(&shapes, &limits)
}

/// What another part shows of its objects, by its own object index.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct OtherPart {
    pub part: usize,
    pub context: Vec<(usize, Value)>,
}

/// A part read and waiting for the other parts' contexts.
pub struct Part {
    manifests: Manifests,
    cut: PartCut,
    settings: Settings,
    settings_error: Option<String>,
    options: LintOptions,
}

impl Part {
    /// Reads the part `text`, which starts `first_line` lines and `utf16_start` UTF-16 units
    /// into the text linted.
    pub fn begin(text: &str, first_line: usize, utf16_start: usize, settings_json: &str, options: LintOptions) -> Part {
        let (settings, settings_error) = settings_or_default(settings_json);
        let manifests = manifest::parse_part(text, &manifest::Limits::default(), first_line);
        let cut = PartCut::of(text, &manifests, first_line, utf16_start);
        Part { manifests, cut, settings, settings_error, options }
    }

    pub fn summary(&self) -> PartSummary {
        PartSummary { objects: self.manifests.objects.len(), shape: self.manifests.part_shape(), cut: self.cut }
    }

    /// What the other parts' rules need of this part's objects, by object index.
    pub fn context(&self) -> Vec<(usize, Cow<'_, Value>)> {
        let seen = self.manifests.objects.iter().map(|o| sa_guard::bundle::seen_from_other_parts(&o.value));
        seen.enumerate().filter_map(|(i, value)| Some((i, value?))).collect()
    }

    /// Lints the part, part `index` of those that sent `summaries`, with what the `others` show.
    /// Summaries of more objects than a lintable text can hold are refused.
    pub fn finish(
        self,
        summaries: &[PartSummary],
        index: usize,
        others: Vec<OtherPart>,
    ) -> Result<(LintOutput, Evaluated), String> {
        // Every object takes a few bytes of the text.
        let total = summaries.iter().fold(0usize, |sum, s| sum.saturating_add(s.objects));
        if total > MAX_INPUT_BYTES {
            return Err(format!("invalid part summaries: {total} objects"));
        }
        let before = &summaries[..index.min(summaries.len())];
        let place = Place {
            objects: before.iter().map(|s| s.objects).sum(),
            documents: before.iter().map(|s| s.shape.documents).sum(),
            lines: self.cut.first_line,
            utf16: self.cut.utf16_start,
        };
        let mut seen = vec![Value::Null; total];
        for other in others {
            let base: usize = summaries[..other.part.min(summaries.len())].iter().map(|s| s.objects).sum();
            let count = summaries.get(other.part).map_or(0, |s| s.objects);
            // A context that does not fit its part's summary is left out, not trusted.
            for (i, value) in other.context.into_iter().filter(|(i, _)| *i < count) {
                if let Some(slot) = seen.get_mut(base + i) {
                    *slot = value;
                }
            }
        }
        let evaluated = evaluate_in_place(self.manifests, &self.settings, place, &mut seen, total);
        Ok((evaluated.linted().output(self.settings_error, &self.options), evaluated))
    }
}

thread_local! {
    /// The part this worker read ([`part_begin`]), until [`part_finish`].
    static PART: RefCell<Option<Part>> = const { RefCell::new(None) };
}

/// Reads a part of the text linted (cut as [`plan_parts`] cuts); returns its [`PartSummary`] as JSON,
/// or `{"error"}` for bad options.
#[wasm_bindgen]
pub fn part_begin(
    text: &str,
    first_line: usize,
    utf16_start: usize,
    settings_json: &str,
    options_json: &str,
) -> String {
    release();
    let options = match lint_options(options_json) {
        Ok(options) => options,
        Err(error) => return error,
    };
    let part = Part::begin(text, first_line, utf16_start, settings_json, options);
    let summary = to_json(&part.summary());
    PART.with(|slot| *slot.borrow_mut() = Some(part));
    summary
}

/// What the other parts need of the part read here ([`Part::context`]), as JSON.
#[wasm_bindgen]
pub fn part_context() -> String {
    PART.with(|slot| slot.borrow().as_ref().map_or_else(|| "[]".to_string(), |part| to_json(&part.context())))
}

/// Whether the parts' summaries (a JSON list, in order) allow the lint in parts.
#[wasm_bindgen]
pub fn parts_agree(summaries_json: &str) -> bool {
    serde_json::from_str::<Vec<PartSummary>>(summaries_json).is_ok_and(|summaries| parts_read_as_whole(&summaries))
}

/// Lints the part read here, part `index` of those that sent `summaries_json`, with the other
/// parts' contexts (`[{"part", "context"}]`): its [`LintOutput`] as JSON, with the whole text's
/// indices, lines and offsets. Call [`release`] once it is on its way.
#[wasm_bindgen]
pub fn part_finish(summaries_json: &str, index: usize, others_json: &str) -> String {
    let Some(part) = PART.with(|slot| slot.borrow_mut().take()) else {
        return error_json("part_finish without part_begin");
    };
    let summaries: Vec<PartSummary> = match serde_json::from_str(summaries_json) {
        Ok(summaries) => summaries,
        Err(e) => return error_json(&format!("invalid part summaries: {e}")),
    };
    let others: Vec<OtherPart> = match serde_json::from_str(others_json) {
        Ok(others) => others,
        Err(e) => return error_json(&format!("invalid part contexts: {e}")),
    };
    match part.finish(&summaries, index, others) {
        Ok((output, evaluated)) => keep_until_released(output, Some(evaluated)),
        Err(message) => error_json(&message),
    }
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

/// Lints `text` and throws the result away, touching no worker state (a lint in parts may be
/// waiting between its steps): the workers run it a few times when idle after start-up, so that
/// the engine compiles the hot functions with its optimizing tier before the first large paste,
/// which otherwise takes about four times as long as the next ones. Returns the length of the
/// lint's JSON, or 0 for bad options.
#[wasm_bindgen]
pub fn warm_up(text: &str, options_json: &str) -> usize {
    let Ok(options) = lint_options(options_json) else { return 0 };
    to_json(&lint_keeping_state(text, "", &options).0).len()
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
