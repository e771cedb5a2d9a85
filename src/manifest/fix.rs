//! Fixes (RFC 6902 patches against objects) applied to the YAML text.
//!
//! Each operation becomes one text edit computed against the parsed tree, so untouched lines —
//! comments, quoting, key order, blank lines — stay as they were. Operations of one patch apply
//! in sequence (JSON Patch semantics): sequence indices are mapped back to the original items,
//! keys added or removed earlier are remembered. The edits are applied in one pass, which is
//! the same as applying them bottom-up; and the new text is re-parsed and compared with the
//! JSON-patched objects before it is returned.

use std::collections::{HashMap, HashSet};

use json_patch::PatchOperation;
use serde_json::{Map, Value};

use super::scalar::render_scalar;
use super::source::Source;
use super::tree::{Entry, Kind, Node};
use super::{escape_token, parse, unescape_token, Limits, Manifests};
use crate::finding::Fix;

/// Why fixes could not be applied. No partial result is returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixError {
    /// The text is not the one the manifests were parsed from.
    TextChanged,
    UnknownObject {
        object_index: usize,
    },
    /// The patch does not apply to the object (missing path, failed `test`, ...).
    Patch {
        object_index: usize,
        message: String,
    },
    /// The operation applies to the object but cannot be written into this text (a field that
    /// comes from an alias or a merge key, `move`/`copy`, editing inside added content, ...).
    Unsupported {
        object_index: usize,
        path: String,
        reason: String,
    },
    /// Two fixes edit the same text.
    Conflict {
        object_index: usize,
        path: String,
    },
    /// The edited text does not read back as the patched objects; the edit is refused.
    Unverified {
        message: String,
    },
}

impl std::fmt::Display for FixError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FixError::TextChanged => f.write_str("the text changed since it was parsed"),
            FixError::UnknownObject { object_index } => write!(f, "there is no object {object_index}"),
            FixError::Patch { object_index, message } => {
                write!(f, "object {object_index}: the patch does not apply: {message}")
            }
            FixError::Unsupported { object_index, path, reason } => {
                write!(f, "object {object_index}: cannot edit {path} in the text: {reason}")
            }
            FixError::Conflict { object_index, path } => {
                write!(f, "object {object_index}: the fix for {path} overlaps another fix")
            }
            FixError::Unverified { message } => write!(f, "the fixed text would not read back as intended: {message}"),
        }
    }
}

impl std::error::Error for FixError {}

/// Applies fixes (`(object_index, fix)`, in order) to `text`, the text `manifests` was parsed
/// from, and returns the new text. Fixes that change nothing (a duplicate) are skipped.
pub fn apply_fixes(text: &str, manifests: &Manifests, fixes: &[(usize, &Fix)]) -> Result<String, FixError> {
    let source = &manifests.source;
    if text != source.text {
        return Err(FixError::TextChanged);
    }
    if manifests.trees_on_demand() {
        // Read by the JSON fast path or without trees: edit against the YAML path's whole tree,
        // built from the same text (the same objects, and the document ranges the check below needs).
        let full = super::parse::parse_yaml(text, &manifests.limits, manifests.source.first_line());
        return apply_fixes(text, &full, fixes);
    }
    // The patched objects; the others are expected unchanged.
    let mut patched_objects: HashMap<usize, Value> = HashMap::new();
    let mut planner = Planner { source, newline: source.newline(), edits: Vec::new(), objects: HashMap::new() };
    for &(object_index, fix) in fixes {
        let Some(original) = manifests.objects.get(object_index) else {
            return Err(FixError::UnknownObject { object_index });
        };
        let current = patched_objects.get(&object_index).unwrap_or(&original.value);
        let mut patched = current.clone();
        json_patch::patch(&mut patched, &fix.patch)
            .map_err(|e| FixError::Patch { object_index, message: e.to_string() })?;
        if &patched == current {
            continue;
        }
        let root = &manifests.nodes[object_index];
        for operation in fix.patch.iter() {
            planner.plan(object_index, root, operation)?;
        }
        patched_objects.insert(object_index, patched);
    }
    if planner.edits.is_empty() {
        return Ok(text.to_owned());
    }
    let (output, applied) = planner.apply()?;
    let expected = Expected { manifests, patched: &patched_objects };
    // The per-document shortcut needs every document boundary to be where it was; after a
    // syntax error, where the parser resumes depends on the text that follows, so re-read it all.
    if !manifests.errors.is_empty() || !documents_read_back(&output, &expected, &applied) {
        verify(&output, &expected)?;
    }
    Ok(output)
}

/// A replacement of `text[start..end]`.
#[derive(Debug)]
struct Edit {
    start: usize,
    end: usize,
    text: String,
    object_index: usize,
    /// Original pointer of the node the edit writes, to drop edits a later replace overrides.
    target: String,
}

/// Per object, what earlier operations changed, in terms of the original tree.
#[derive(Default)]
struct Changes {
    /// Sequence (original pointer) → its current items: `Some(original index)` or `None` (added).
    sequences: HashMap<String, Vec<Option<usize>>>,
    /// Original pointers of entries removed, and of entries added or replaced.
    removed: HashSet<String>,
    written: HashSet<String>,
}

struct Planner<'a> {
    source: &'a Source,
    newline: &'static str,
    edits: Vec<Edit>,
    objects: HashMap<usize, Changes>,
}

/// Where an operation's path leads in the original tree.
enum Target<'n> {
    /// The object's root.
    Root,
    /// An entry of a mapping.
    Entry { map: &'n Node, map_pointer: String, key: String, entry: Option<&'n Entry> },
    /// A position in a sequence: the original item there, or the end.
    Item { seq: &'n Node, seq_pointer: String, index: usize, item: Option<(usize, &'n Node)> },
}

impl<'a> Planner<'a> {
    fn plan(&mut self, object_index: usize, root: &Node, operation: &PatchOperation) -> Result<(), FixError> {
        let path = operation.path().as_str().to_owned();
        let unsupported =
            |reason: &str| FixError::Unsupported { object_index, path: path.clone(), reason: reason.into() };
        let target = self.resolve(object_index, root, &path).map_err(|reason| unsupported(&reason))?;
        let changes = self.objects.entry(object_index).or_default();
        match operation {
            PatchOperation::Test(_) => Ok(()),
            PatchOperation::Move(_) | PatchOperation::Copy(_) => Err(unsupported("move and copy are not supported")),
            PatchOperation::Add(add) => match target {
                Target::Root => Err(unsupported("replacing a whole object is not supported")),
                Target::Entry { map, map_pointer, key, entry } => {
                    let pointer = format!("{map_pointer}/{}", escape_token(&key));
                    if !changes.written.insert(pointer.clone()) {
                        return Err(unsupported("the field was already written by an earlier operation"));
                    }
                    let flow = matches!(map.kind, Kind::Map { flow: true, .. });
                    match entry {
                        Some(entry) => self
                            .replace_entry(object_index, pointer, entry, flow, &add.value)
                            .map_err(|r| unsupported(&r)),
                        None => {
                            changes.removed.remove(&pointer);
                            self.insert_entry(object_index, pointer, map, &key, &add.value).map_err(|r| unsupported(&r))
                        }
                    }
                }
                Target::Item { seq, seq_pointer, index, item } => {
                    let slots = changes.sequences.get_mut(&seq_pointer).expect("resolve registers sequences");
                    if index < slots.len() && item.is_none() {
                        return Err(unsupported(
                            "inserting before an item added by an earlier operation is not supported",
                        ));
                    }
                    slots.insert(index, None);
                    self.insert_item(object_index, seq_pointer, seq, item, &add.value).map_err(|r| unsupported(&r))
                }
            },
            PatchOperation::Replace(replace) => match target {
                Target::Root => Err(unsupported("replacing a whole object is not supported")),
                Target::Entry { map, entry: Some(entry), map_pointer, key } => {
                    let pointer = format!("{map_pointer}/{}", escape_token(&key));
                    if !changes.written.insert(pointer.clone()) {
                        return Err(unsupported("the field was already written by an earlier operation"));
                    }
                    let flow = matches!(map.kind, Kind::Map { flow: true, .. });
                    self.replace_entry(object_index, pointer, entry, flow, &replace.value).map_err(|r| unsupported(&r))
                }
                Target::Item { item: Some((original, node)), seq, seq_pointer, .. } => {
                    let pointer = format!("{seq_pointer}/{original}");
                    if !changes.written.insert(pointer.clone()) {
                        return Err(unsupported("the item was changed by an earlier operation"));
                    }
                    self.replace_item(object_index, pointer, seq, node, &replace.value).map_err(|r| unsupported(&r))
                }
                _ => Err(unsupported("the field does not exist or was added by an earlier operation")),
            },
            PatchOperation::Remove(_) => match target {
                Target::Root => Err(unsupported("removing a whole object is not supported")),
                Target::Entry { map, map_pointer, key, entry: Some(entry) } => {
                    let pointer = format!("{map_pointer}/{}", escape_token(&key));
                    if changes.written.contains(&pointer) || !changes.removed.insert(pointer.clone()) {
                        return Err(unsupported("the field was changed by an earlier operation"));
                    }
                    let remaining = remaining_entries(&self.source.text, map, &map_pointer, changes);
                    self.remove_entry(object_index, pointer, map, &map_pointer, entry, remaining)
                        .map_err(|r| unsupported(&r))
                }
                Target::Item { seq, seq_pointer, index, item: Some((original, node)) } => {
                    let slots = changes.sequences.get_mut(&seq_pointer).expect("resolve registers sequences");
                    slots.remove(index);
                    let remaining = slots.len();
                    let pointer = format!("{seq_pointer}/{original}");
                    if changes.written.contains(&pointer) {
                        return Err(unsupported("the item was changed by an earlier operation"));
                    }
                    changes.removed.insert(pointer.clone());
                    self.remove_item(object_index, pointer, seq, &seq_pointer, original, node, remaining)
                        .map_err(|r| unsupported(&r))
                }
                _ => Err(unsupported("the field does not exist or was added by an earlier operation")),
            },
        }
    }

    /// Follows `path` through the original tree, translating sequence indices through earlier
    /// operations. Only the last token may name something that does not exist (yet).
    fn resolve<'n>(&mut self, object_index: usize, root: &'n Node, path: &str) -> Result<Target<'n>, String> {
        let changes = self.objects.entry(object_index).or_default();
        let Some(rest) = path.strip_prefix('/') else {
            return if path.is_empty() { Ok(Target::Root) } else { Err("not a JSON pointer".into()) };
        };
        let tokens: Vec<String> = rest.split('/').map(|token| unescape_token(token).into_owned()).collect();
        let mut node = root;
        let mut pointer = String::new();
        for (i, token) in tokens.iter().enumerate() {
            let last = i + 1 == tokens.len();
            if node.aliased {
                return Err("the field is inside an alias (*name); edit the anchor instead".into());
            }
            match &node.kind {
                Kind::Map { entries, .. } => {
                    let child = format!("{pointer}/{}", escape_token(token));
                    let entry = entries.iter().find(|e| e.key_text(&self.source.text) == token.as_str());
                    if entry.is_some_and(|e| e.merged) {
                        return Err("the field comes from a merge key (<<); edit the merged mapping instead".into());
                    }
                    if changes.written.contains(&child) && !last {
                        return Err("the path goes through a value added by an earlier operation".into());
                    }
                    let entry = entry.filter(|_| !changes.removed.contains(&child));
                    if last {
                        return Ok(Target::Entry { map: node, map_pointer: pointer, key: token.clone(), entry });
                    }
                    let Some(entry) = entry else { return Err("the path does not exist".into()) };
                    node = &entry.value;
                    pointer = child;
                }
                Kind::Seq { items, .. } => {
                    let slots = changes
                        .sequences
                        .entry(pointer.clone())
                        .or_insert_with(|| (0..items.len()).map(Some).collect());
                    let index = if token == "-" && last {
                        slots.len()
                    } else {
                        token.parse::<usize>().map_err(|_| format!("{token:?} is not a sequence index"))?
                    };
                    if index > slots.len() || (index == slots.len() && !last) {
                        return Err("the index is out of range".into());
                    }
                    let item = slots.get(index).copied();
                    if last {
                        let item = item.flatten().map(|original| (original, &items[original]));
                        return Ok(Target::Item { seq: node, seq_pointer: pointer, index, item });
                    }
                    let Some(Some(original)) = item else {
                        return Err("the path goes through an item added by an earlier operation".into());
                    };
                    pointer = format!("{pointer}/{original}");
                    if changes.written.contains(&pointer) {
                        return Err("the path goes through a value changed by an earlier operation".into());
                    }
                    node = &items[original];
                }
                Kind::Scalar { .. } => return Err("the path goes through a scalar".into()),
            }
        }
        unreachable!("the loop returns at the last token")
    }

    fn push(&mut self, object_index: usize, target: String, start: usize, end: usize, text: String) {
        self.edits.push(Edit { start, end, text, object_index, target });
    }

    /// The indentation of a block mapping's keys: that of a key starting its line (or of its
    /// `?` for an explicit key), else the column of the first key (after `- `).
    fn map_indent(&self, entries: &[Entry], first_key: usize) -> String {
        let source = self.source;
        // An explicit key (`? key`) starts at its `?`.
        let entry_start = |key: usize| {
            let before = source.trim_back(0, key);
            if before > 0 && source.text.as_bytes()[before - 1] == b'?' && source.starts_line(before - 1) {
                before - 1
            } else {
                key
            }
        };
        let starts = std::iter::once(first_key)
            .chain(entries.iter().filter(|e| !e.merged).map(|e| e.key_start))
            .map(entry_start);
        let at = starts.clone().find(|&k| source.starts_line(k)).unwrap_or(entry_start(first_key));
        source.indent_before(at)
    }

    /// Inserts `line` as a new line after the line holding `after`. It goes at the start of the
    /// next line, so that deleting the line holding `after` does not overlap it.
    fn push_line_after(&mut self, object_index: usize, target: String, after: usize, line: String) {
        let nl = self.newline;
        let line_end = self.source.line_end(after);
        if line_end == self.source.text.len() {
            self.push(object_index, target, line_end, line_end, format!("{nl}{line}"));
        } else {
            let at = self.source.next_line_start(after);
            self.push(object_index, target, at, at, format!("{line}{nl}"));
        }
    }

    /// A whole-value rewrite makes earlier edits inside that value moot.
    fn supersede(&mut self, object_index: usize, pointer: &str) {
        let inner = format!("{pointer}/");
        self.edits.retain(|e| e.object_index != object_index || !e.target.starts_with(&inner));
    }

    fn insert_entry(
        &mut self,
        object_index: usize,
        pointer: String,
        map: &Node,
        key: &str,
        value: &Value,
    ) -> Result<(), String> {
        let Kind::Map { entries, flow, first_key } = &map.kind else { unreachable!("resolved to a mapping") };
        let nl = self.newline;
        if *flow {
            let key_text = render_scalar(&Value::String(key.to_owned()), true);
            let pair = format!("{key_text}: {}", render_flow(value));
            let (at, text) = match entries.iter().filter(|e| !e.merged).map(|e| e.value.end.max(e.colon_end)).max() {
                Some(last_end) => (last_end, format!(", {pair}")),
                None if first_key.is_none() => (map.end - 1, pair),
                None => return Err("the flow mapping only has merge keys".into()),
            };
            self.push(object_index, pointer, at, at, text);
            return Ok(());
        }
        let Some(first_key) = first_key else { return Err("the mapping has no keys".into()) };
        let indent = self.map_indent(entries, *first_key);
        let line = format!("{indent}{}", render_entry(key, value, &indent, nl));
        self.push_line_after(object_index, pointer, map.end, line);
        Ok(())
    }

    fn replace_entry(
        &mut self,
        object_index: usize,
        pointer: String,
        entry: &Entry,
        flow: bool,
        value: &Value,
    ) -> Result<(), String> {
        if entry.merged {
            return Err("the field comes from a merge key (<<)".into());
        }
        let text = if flow {
            format!(" {}", render_flow(value))
        } else {
            after_colon(value, &self.source.indent_before(entry.key_start), self.newline)
        };
        let start = entry.colon_end;
        let end = entry.value.end.max(entry.colon_end);
        self.supersede(object_index, &pointer);
        self.push(object_index, pointer, start, end, text);
        Ok(())
    }

    fn remove_entry(
        &mut self,
        object_index: usize,
        pointer: String,
        map: &Node,
        map_pointer: &str,
        entry: &Entry,
        remaining: usize,
    ) -> Result<(), String> {
        let Kind::Map { entries, flow, .. } = &map.kind else { unreachable!("resolved to a mapping") };
        if remaining == 0 {
            return self.empty_container(object_index, map_pointer, map, "{}");
        }
        let own: Vec<&Entry> = entries.iter().filter(|e| !e.merged).collect();
        let at = own.iter().position(|e| e.key_start == entry.key_start).expect("the entry is in its mapping");
        let entry_end = entry.value.end.max(entry.colon_end);
        let (start, end) = if !*flow && self.source.starts_line(entry.key_start) {
            (self.source.line_start(self.source.line_of(entry.key_start)), self.source.next_line_start(entry_end))
        } else if let Some(next) = own.get(at + 1) {
            (entry.key_start, next.key_start)
        } else if *flow && at > 0 {
            (own[at - 1].value.end.max(own[at - 1].colon_end), entry_end)
        } else {
            return Err("cannot delete the entry without its line".into());
        };
        self.push(object_index, pointer, start, end, String::new());
        Ok(())
    }

    fn insert_item(
        &mut self,
        object_index: usize,
        seq_pointer: String,
        seq: &Node,
        before: Option<(usize, &Node)>,
        value: &Value,
    ) -> Result<(), String> {
        let Kind::Seq { items, flow } = &seq.kind else { unreachable!("resolved to a sequence") };
        let nl = self.newline;
        let pointer = format!("{seq_pointer}/+");
        if *flow {
            let rendered = render_flow(value);
            let (at, text) = match (before, items.last()) {
                (Some((_, item)), _) => (item.start, format!("{rendered}, ")),
                (None, Some(last)) => (last.end, format!(", {rendered}")),
                (None, None) => (seq.end - 1, rendered),
            };
            self.push(object_index, pointer, at, at, text);
            return Ok(());
        }
        let first = items.first().ok_or("the sequence is empty")?;
        let first_dash = self.source.dash_before(first.start).ok_or("cannot find the sequence's first dash")?;
        let indent = self.source.indent_before(first_dash);
        let body = render_item(value, &format!("{indent}  "), nl);
        match before {
            Some((_, item)) => {
                let dash = self.source.dash_before(item.start).filter(|&d| self.source.starts_line(d));
                let dash = dash.ok_or("the item does not start its line")?;
                let at = self.source.line_start(self.source.line_of(dash));
                self.push(object_index, pointer, at, at, format!("{indent}- {body}{nl}"));
            }
            None => {
                // After the last item still there (one removed earlier keeps its line until
                // the edits are applied).
                let remaining = self.objects[&object_index]
                    .sequences
                    .get(&seq_pointer)
                    .and_then(|slots| slots.iter().rev().flatten().next().copied());
                let last = remaining.map_or_else(|| items.last().expect("not empty"), |i| &items[i]);
                self.push_line_after(object_index, pointer, last.end.max(last.start), format!("{indent}- {body}"));
            }
        }
        Ok(())
    }

    fn replace_item(
        &mut self,
        object_index: usize,
        pointer: String,
        seq: &Node,
        item: &Node,
        value: &Value,
    ) -> Result<(), String> {
        let Kind::Seq { flow, .. } = &seq.kind else { unreachable!("resolved to a sequence") };
        let text = if *flow {
            render_flow(value)
        } else {
            let (_, column) = self.source.line_col(item.start);
            render_item(value, &" ".repeat(column - 1), self.newline)
        };
        self.supersede(object_index, &pointer);
        self.push(object_index, pointer, item.start, item.end, text);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn remove_item(
        &mut self,
        object_index: usize,
        pointer: String,
        seq: &Node,
        seq_pointer: &str,
        original: usize,
        item: &Node,
        remaining: usize,
    ) -> Result<(), String> {
        let Kind::Seq { items, flow } = &seq.kind else { unreachable!("resolved to a sequence") };
        if remaining == 0 {
            return self.empty_container(object_index, seq_pointer, seq, "[]");
        }
        let (start, end) = if *flow {
            match (items.get(original + 1), original.checked_sub(1).map(|i| &items[i])) {
                (Some(next), _) => (item.start, next.start),
                (None, Some(previous)) => (previous.end, item.end),
                (None, None) => return Err("cannot delete the only item".into()),
            }
        } else {
            let dash = self.source.dash_before(item.start).ok_or("cannot find the item's dash")?;
            if self.source.starts_line(dash) {
                (
                    self.source.line_start(self.source.line_of(dash)),
                    self.source.next_line_start(item.end.max(item.start)),
                )
            } else {
                let next = items.get(original + 1).ok_or("the item does not start its line")?;
                (dash, self.source.dash_before(next.start).ok_or("cannot find the next item's dash")?)
            }
        };
        self.push(object_index, pointer, start, end, String::new());
        Ok(())
    }

    /// Rewrites a mapping or sequence that lost its last entry as `{}` / `[]` (deleting its lines
    /// would leave `key:`, which reads as null).
    fn empty_container(&mut self, object_index: usize, pointer: &str, node: &Node, empty: &str) -> Result<(), String> {
        if pointer.is_empty() {
            return Err("removing every field of an object is not supported".into());
        }
        self.supersede(object_index, pointer);
        let start = node.start;
        let end = node.end;
        let is_block = !matches!(node.kind, Kind::Map { flow: true, .. } | Kind::Seq { flow: true, .. });
        if is_block {
            // `key:\n  a: 1` → `key: {}`: replace from the end of the previous token.
            let previous = self.source.trim_back(0, start);
            self.push(object_index, pointer.to_owned(), previous, end, format!(" {empty}"));
        } else {
            self.push(object_index, pointer.to_owned(), start, end, empty.to_owned());
        }
        Ok(())
    }

    /// Applies the edits in one pass (equivalent to bottom-up), refusing overlaps. Also returns
    /// what was applied: (object, start, end, length of the inserted text).
    fn apply(mut self) -> Result<(String, Vec<Applied>), FixError> {
        // Stable: insertions at the same offset keep the order of the fixes.
        self.edits.sort_by_key(|e| (e.start, e.end));
        let text = &self.source.text;
        let mut output = String::with_capacity(text.len() + 256);
        let mut cursor = 0;
        let mut applied = Vec::with_capacity(self.edits.len());
        for edit in &self.edits {
            if edit.start < cursor {
                return Err(FixError::Conflict { object_index: edit.object_index, path: edit.target.clone() });
            }
            output.push_str(&text[cursor..edit.start]);
            // A line appended at the end of a text without a final line break starts with one;
            // if the line before it was deleted, the output already ends with one.
            let appended_after_deletion = edit.start == text.len() && output.ends_with('\n');
            let inserted = match edit.text.strip_prefix(self.newline).filter(|_| appended_after_deletion) {
                Some(line) => line,
                None => &edit.text,
            };
            output.push_str(inserted);
            applied.push(Applied {
                object_index: edit.object_index,
                start: edit.start,
                end: edit.end,
                inserted: inserted.len(),
            });
            cursor = edit.end;
        }
        output.push_str(&text[cursor..]);
        Ok((output, applied))
    }
}

/// Entries a mapping has left (its own, not removed, plus added), not counting merged ones.
fn remaining_entries(text: &str, map: &Node, map_pointer: &str, changes: &Changes) -> usize {
    let Kind::Map { entries, .. } = &map.kind else { return 0 };
    let prefix = format!("{map_pointer}/");
    let own = entries
        .iter()
        .filter(|e| !e.merged && !changes.removed.contains(&format!("{prefix}{}", escape_token(e.key_text(text)))))
        .count();
    let added = changes
        .written
        .iter()
        .filter(|p| p.strip_prefix(&prefix).is_some_and(|rest| !rest.contains('/')))
        .filter(|p| !entries.iter().any(|e| format!("{prefix}{}", escape_token(e.key_text(text))) == **p))
        .count();
    own + added + entries.iter().filter(|e| e.merged).count()
}

/// `value` in flow style (`{a: 1, b: [x]}`), valid anywhere.
fn render_flow(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let pairs: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", render_scalar(&Value::String(k.clone()), true), render_flow(v)))
                .collect();
            format!("{{{}}}", pairs.join(", "))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(render_flow).collect::<Vec<_>>().join(", ")),
        scalar => render_scalar(scalar, true),
    }
}

fn is_block_collection(value: &Value) -> bool {
    matches!(value, Value::Object(m) if !m.is_empty()) || matches!(value, Value::Array(a) if !a.is_empty())
}

/// What follows `key:` (the key indented by `key_indent`) in block style: ` scalar`, or the
/// collection on the next lines: a mapping indented by two more spaces, a sequence's dashes
/// under the key, as kubectl writes them.
fn after_colon(value: &Value, key_indent: &str, nl: &str) -> String {
    match value {
        Value::Object(_) if is_block_collection(value) => {
            let indent = format!("{key_indent}  ");
            format!("{nl}{indent}{}", render_item(value, &indent, nl))
        }
        Value::Array(_) if is_block_collection(value) => {
            format!("{nl}{key_indent}{}", render_item(value, key_indent, nl))
        }
        _ => format!(" {}", render_flow(value)),
    }
}

/// `key: value` in block style, the first line without indentation.
fn render_entry(key: &str, value: &Value, indent: &str, nl: &str) -> String {
    let key_text = render_scalar(&Value::String(key.to_owned()), false);
    format!("{key_text}:{}", after_colon(value, indent, nl))
}

/// A block node whose first line starts where the cursor is and whose other lines start at
/// `indent`: mapping entries, `- item` lines, or a scalar.
fn render_item(value: &Value, indent: &str, nl: &str) -> String {
    match value {
        Value::Object(map) if !map.is_empty() => render_map_lines(map, indent, nl),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|item| format!("- {}", render_item(item, &format!("{indent}  "), nl)))
            .collect::<Vec<_>>()
            .join(&format!("{nl}{indent}")),
        scalar => render_flow(scalar),
    }
}

fn render_map_lines(map: &Map<String, Value>, indent: &str, nl: &str) -> String {
    map.iter().map(|(k, v)| render_entry(k, v, indent, nl)).collect::<Vec<_>>().join(&format!("{nl}{indent}"))
}

/// An edit as applied: `text[start..end]` became `inserted` bytes.
struct Applied {
    object_index: usize,
    start: usize,
    end: usize,
    inserted: usize,
}

/// The quick check: re-parses only the documents that were edited, each on its own, and
/// compares their objects. A document that reads back alone, error-free and with its `---`
/// lines untouched, reads back the same inside the whole text (anchors do not cross documents).
/// `false` means "not shown", and the whole text is then checked.
/// What each object must read back as.
struct Expected<'a> {
    manifests: &'a Manifests,
    patched: &'a HashMap<usize, Value>,
}

impl Expected<'_> {
    fn value(&self, object_index: usize) -> &Value {
        self.patched.get(&object_index).unwrap_or(&self.manifests.objects[object_index].value)
    }
}

fn documents_read_back(output: &str, expected: &Expected<'_>, applied: &[Applied]) -> bool {
    let manifests = expected.manifests;
    let document_of = |object_index: usize| manifests.objects[object_index].document;
    let mut edited: Vec<usize> = applied.iter().map(|a| document_of(a.object_index)).collect();
    edited.sort_unstable();
    edited.dedup();
    let delta = |a: &Applied| a.inserted as isize - (a.end - a.start) as isize;
    for document in edited {
        let Some(&Some((start, end))) = manifests.documents.get(document) else { return false };
        let mut before = 0isize;
        let mut inside = 0isize;
        for a in applied {
            let owner = document_of(a.object_index);
            let in_place = match owner.cmp(&document) {
                std::cmp::Ordering::Less => a.end <= start,
                std::cmp::Ordering::Equal => start <= a.start && a.end <= end,
                std::cmp::Ordering::Greater => a.start >= end,
            };
            if !in_place {
                return false;
            }
            match owner.cmp(&document) {
                std::cmp::Ordering::Less => before += delta(a),
                std::cmp::Ordering::Equal => inside += delta(a),
                std::cmp::Ordering::Greater => {}
            }
        }
        let new_start = (start as isize + before) as usize;
        let new_end = (end as isize + before + inside) as usize;
        let Some(slice) = output.get(new_start..new_end) else { return false };
        // The document's first line (`---`) and the next one's are where they were.
        let text = &manifests.source.text;
        let same_at = |old: usize, new: usize| {
            let old_line = &text[old..text[old..].find('\n').map_or(text.len(), |i| old + i)];
            !(old_line.starts_with("---") || old_line.starts_with("...")) || output[new..].starts_with(old_line)
        };
        if !same_at(start, new_start) || !same_at(end, new_end) {
            return false;
        }
        let alone = parse(slice, &Limits { max_bytes: usize::MAX, ..manifests.limits });
        let want: Vec<&Value> = (0..manifests.objects.len())
            .filter(|&i| manifests.objects[i].document == document)
            .map(|i| expected.value(i))
            .collect();
        if !alone.errors.is_empty()
            || alone.objects.len() != want.len()
            || alone.objects.iter().zip(want).any(|(o, w)| &o.value != w)
        {
            return false;
        }
    }
    true
}

/// Re-parses the fixed text and checks it holds exactly the patched objects.
fn verify(output: &str, expected: &Expected<'_>) -> Result<(), FixError> {
    let manifests = expected.manifests;
    let limits = Limits { max_bytes: usize::MAX, ..manifests.limits };
    let reparsed = parse(output, &limits);
    if reparsed.errors.len() != manifests.errors.len() {
        let message = reparsed.errors.iter().find(|e| !manifests.errors.iter().any(|o| o.message == e.message));
        return Err(FixError::Unverified {
            message: message.map_or_else(|| "the number of unreadable documents changed".into(), |e| e.to_string()),
        });
    }
    if reparsed.objects.len() != manifests.objects.len() {
        return Err(FixError::Unverified {
            message: format!("{} objects instead of {}", reparsed.objects.len(), manifests.objects.len()),
        });
    }
    for (i, object) in reparsed.objects.iter().enumerate() {
        let want = expected.value(i);
        if &object.value != want {
            return Err(FixError::Unverified {
                message: format!("object {i} reads back as {} instead of {want}", object.value),
            });
        }
    }
    Ok(())
}
