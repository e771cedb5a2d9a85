//! The position-aware tree the parser builds: JSON-like values whose nodes remember their byte
//! range in the source, and mapping entries that remember their key's range.

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    /// Byte range in the source. An alias's copy spans the `*name` text; the nodes inside it
    /// keep the anchor's ranges, where their text is.
    pub start: usize,
    pub end: usize,
    pub kind: Kind,
    /// The node is a copy made by an alias (`*name`): its text is elsewhere and shared.
    pub aliased: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Kind {
    /// `value` is moved into the object's value after parsing (see [`Node::take_value`]).
    Scalar {
        value: Value,
        merge_key: bool,
    },
    Seq {
        items: Vec<Node>,
        flow: bool,
    },
    /// `first_key`: where the first key (merge keys included) is written, which gives the
    /// indentation of new entries.
    Map {
        entries: Vec<Entry>,
        flow: bool,
        first_key: Option<usize>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    /// The key; moved into the object's value by [`Node::take_value`] when `key_as_written`
    /// (read it with [`Entry::key_text`]).
    pub key: String,
    /// The key reads exactly as its text, `source[key_start..key_end]` (a plain key: nearly all).
    pub key_as_written: bool,
    pub key_start: usize,
    pub key_end: usize,
    /// Just after the `:` (or `key_end` when there is none, as in `{a}`).
    pub colon_end: usize,
    pub value: Node,
    /// The entry comes from a merge key (`<<: *base`): its text belongs to another mapping.
    pub merged: bool,
}

impl Entry {
    /// The key, from `text` (the source) when it is written there as is.
    pub fn key_text<'a>(&'a self, text: &'a str) -> &'a str {
        match text.get(self.key_start..self.key_end) {
            Some(written) if self.key_as_written => written,
            _ => &self.key,
        }
    }
}

impl Node {
    /// The JSON value, moving the scalars out (they are left null): once an object's value is
    /// built, its tree only serves positions and fixes, which need ranges and keys.
    pub fn take_value(&mut self) -> Value {
        match &mut self.kind {
            Kind::Scalar { value, .. } => std::mem::take(value),
            Kind::Seq { items, .. } => Value::Array(items.iter_mut().map(Node::take_value).collect()),
            // Keys are unique (the parser refuses duplicates), so collecting is inserting, and
            // builds the map in one pass rather than a search per key.
            Kind::Map { entries, .. } => Value::Object(
                entries
                    .iter_mut()
                    .map(|entry| {
                        // A key written as is stays readable from the source: move it, do not copy it.
                        let key = if entry.key_as_written { std::mem::take(&mut entry.key) } else { entry.key.clone() };
                        (key, entry.value.take_value())
                    })
                    .collect::<Map<String, Value>>(),
            ),
        }
    }

    /// The entry of `key`, before [`Node::take_value`] (which moves keys out).
    pub fn entry(&self, key: &str) -> Option<&Entry> {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().find(|e| e.key == key),
            _ => None,
        }
    }

    /// The entry of `key`, after [`Node::take_value`] too (`text`: the source).
    pub fn entry_written(&self, text: &str, key: &str) -> Option<&Entry> {
        match &self.kind {
            Kind::Map { entries, .. } => entries.iter().find(|e| e.key_text(text) == key),
            _ => None,
        }
    }

    /// Node count and height of the subtree, stopping (with `None`) once `budget` is exceeded.
    pub fn measure(&self, budget: usize) -> Option<(usize, usize)> {
        let mut count = 0;
        let height = self.measure_into(&mut count, budget)?;
        Some((count, height))
    }

    fn measure_into(&self, count: &mut usize, budget: usize) -> Option<usize> {
        *count += 1;
        if *count > budget {
            return None;
        }
        let mut deepest = 0;
        match &self.kind {
            // A mapping already made its value (`Trees::OnDemand`) counts as the tree it was:
            // alias copies of it cost as much.
            Kind::Scalar { value: value @ (Value::Object(_) | Value::Array(_)), .. } => {
                *count -= 1;
                return measure_value(value, count, budget);
            }
            Kind::Scalar { .. } => {}
            Kind::Seq { items, .. } => {
                for item in items {
                    deepest = deepest.max(item.measure_into(count, budget)?);
                }
            }
            Kind::Map { entries, .. } => {
                for entry in entries {
                    *count += 1; // the key
                    deepest = deepest.max(entry.value.measure_into(count, budget)?);
                }
            }
        }
        Some(deepest + usize::from(!matches!(self.kind, Kind::Scalar { .. })))
    }
}

/// [`Node::measure_into`] for a value: its nodes (keys counted, as a tree's entries are) are
/// added to `count`, and its height returned; `None` past `budget`.
fn measure_value(value: &Value, count: &mut usize, budget: usize) -> Option<usize> {
    *count += 1;
    if *count > budget {
        return None;
    }
    let mut deepest = 0;
    match value {
        Value::Array(items) => {
            for item in items {
                deepest = deepest.max(measure_value(item, count, budget)?);
            }
        }
        Value::Object(map) => {
            for item in map.values() {
                *count += 1; // the key
                deepest = deepest.max(measure_value(item, count, budget)?);
            }
        }
        _ => return Some(0),
    }
    Some(deepest + 1)
}
