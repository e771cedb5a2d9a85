//! Kubernetes manifests as YAML text: objects with source positions, and fixes applied to the
//! text (feature `manifest`, used by the CLI and the browser playground).
//!
//! # Design
//!
//! * **Parsing** uses saphyr's event parser (`saphyr-parser`, with spans) and builds its own
//!   small tree (`tree::Node`): JSON values whose nodes remember their byte range, and mapping
//!   entries that remember their key's range. saphyr's loaders were not used because they
//!   resolve scalars with YAML 1.2 (Kubernetes reads `yes`/`on` as booleans), do not apply merge
//!   keys, stop at the first error of the stream, and drop key positions.
//! * **Kubernetes semantics**: scalars resolve as go-yaml v2 does (see `scalar`), merge keys as
//!   go-yaml v2 applies them, non-string keys become strings as sigs.k8s.io/yaml converts them,
//!   duplicate keys are errors (as in strict decoding). `List` kinds (`kind: List`, `*List` with
//!   `items`) become one [`SourceObject`] per item.
//! * **Bounded**: input size, nesting depth (checked before a collection is opened; nothing
//!   recurses deeper than `max_depth`), and the number of nodes alias expansion may create
//!   (billion-laughs documents) are limited by [`Limits`].
//! * **In parallel** ([`parse_in_parallel`], for the CLI): a large text is cut at its `---`
//!   lines, the pieces are parsed at once over the same source and joined; whatever the pieces
//!   might read differently from the whole (an error, a directive, alias copies over the budget)
//!   is parsed again as a whole, so the result is always [`parse`]'s (a test and the
//!   `manifest_lint` fuzz target compare the two).
//! * **In parts** (for the playground's Web Workers, which share no memory): a text cut at its
//!   `---` lines ([`part_starts`]) can be parsed part by part, each part alone ([`parse_part`],
//!   with the whole text's line numbers); [`parts_read_as_whole`] tells from each part's
//!   [`PartShape`] whether the parts read as the whole text does (no directive, no error before
//!   the last part, alias copies within the budget of the whole).
//! * **Values only** ([`read_values`], for the inventory, `can-i` and `who-can`, which ask few
//!   positions of what may be a whole cluster's dump): the same reading, but each object keeps
//!   its value only. The items of a document's top-level `items` become values as soon as each is
//!   read, so a dump (one `List` document) is never whole as a tree; when a position is asked
//!   for, the object's tree is read again, from its own `- ` lines for a List item written as
//!   kubectl writes it, else from its document, and is the tree [`parse`] builds (tests compare
//!   them). A JSON text is always read so (`json`).
//! * **Errors** are per document: a semantic error skips its document; a syntax error stops
//!   saphyr's parser, so parsing resumes at the next `---` line after it (documents before and
//!   after are kept).
//! * **Positions** are 1-based lines and columns counted in characters; `end_column` is the
//!   column just after the last character (exclusive), as editors take ranges.
//! * **Fixes** ([`apply_fixes`]) turn each RFC 6902 operation into a text edit against the
//!   original tree: insert a `key: value` line at the mapping's indentation (or `, key: value`
//!   in flow style), rewrite a value's range, delete an entry's or an item's lines. Edits are
//!   applied in one pass over the sorted edits (the same as bottom-up, so no offset shifts),
//!   and the result is re-parsed and compared with the JSON-patched objects before it is
//!   returned, so a fix never silently produces something else.
//!
//! Builds for `wasm32-unknown-unknown`: no file system, threads or clocks.

mod fix;
mod json;
mod parse;
mod scalar;
mod source;
mod tree;

use std::borrow::Cow;

use serde::Serialize;
use serde_json::Value;

pub use fix::{apply_fixes, FixError};
pub use source::line_starts;

use source::Source;
use tree::{Kind, Node};

/// Whether a reading keeps each object's position-aware tree (positions and fixes need it) or
/// only its value, building the tree again from the text when a position is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Trees {
    /// [`parse`]: every finding needs a position, and `fix` needs the trees.
    Kept,
    /// [`read_values`]: few positions are asked for, and a cluster's dump is large.
    OnDemand,
}

/// Resource bounds for [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest input accepted, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting of mappings and sequences in a document.
    pub max_depth: usize,
    /// Most nodes that alias expansion (`*name`) may create, over the whole input.
    pub max_nodes: usize,
}

impl Default for Limits {
    /// 64 MiB, 256 levels (a Deployment is about 12 deep), one million alias-created nodes:
    /// plenty for real manifests, while a billion-laughs document stops at a million copies.
    fn default() -> Self {
        Limits { max_bytes: 64 << 20, max_depth: 256, max_nodes: 1_000_000 }
    }
}

/// A range of the source: 1-based lines and columns (characters); `end_column` is exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub line: usize,
    pub column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

impl std::fmt::Display for Position {
    /// `line:column`, as compilers print it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// One Kubernetes object found in the text.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceObject {
    pub value: Value,
    /// 0-based index of the YAML document (empty documents count).
    pub document: usize,
    /// Where the object sits in its document: `""`, or `"/items/3"` for an item of a List.
    pub base_pointer: String,
}

/// A document (or the whole input) that could not be read as Kubernetes objects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ParseError {
    /// 0-based document index; `None` when the whole input was refused (too large).
    pub document: Option<usize>,
    pub position: Position,
    pub message: String,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.position, self.message)
    }
}

/// The objects of a text, the errors of the documents that could not be read, and what
/// [`Manifests::position`] and [`apply_fixes`] need.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifests {
    pub objects: Vec<SourceObject>,
    pub errors: Vec<ParseError>,
    /// `nodes[i]` is the tree of `objects[i]`; empty when the text was read as JSON.
    nodes: Vec<Node>,
    /// When the text was read as JSON (`json`): the byte range of each object, whose tree is
    /// built when a position is asked for ([`Manifests::with_tree`]).
    json_ranges: Vec<(usize, usize)>,
    /// Whether the YAML path kept the objects' trees in `nodes`, or builds an object's tree
    /// when a position is asked for: from `item_ranges[i]`, or its document's range.
    trees: Trees,
    /// YAML read with [`Trees::OnDemand`]: for each object, the range its tree is read from
    /// alone when it is a List item that reads alone (see `parse::Written::ListItem`).
    item_ranges: Vec<Option<(usize, usize)>>,
    /// The last tree built on demand, by the byte offset it starts at: a JSON object's, or a
    /// YAML document's (a finding's neighbours are often asked for next).
    tree_cache: TreeCache,
    source: Source,
    limits: Limits,
    /// Byte range of each document read without error, by document index: lets a fix be
    /// verified by re-parsing only the documents it changed.
    documents: Vec<Option<(usize, usize)>>,
    /// Documents begun, empty ones included.
    document_count: usize,
    /// Nodes that alias expansion created.
    alias_nodes: usize,
}

/// The last tree built on demand (a JSON object's, or a YAML document's), as long as it is
/// asked for. Not part of what the manifests are: clones start empty, and it never makes two
/// manifests differ.
#[derive(Default)]
struct TreeCache(std::sync::Mutex<Option<(usize, std::sync::Arc<Node>)>>);

impl Clone for TreeCache {
    fn clone(&self) -> Self {
        TreeCache::default()
    }
}

impl PartialEq for TreeCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for TreeCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TreeCache")
    }
}

/// How a text cut at document markers read as one part of it (see [`parse_part`]): where the
/// next part's documents are counted from, and what [`parts_read_as_whole`] needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PartShape {
    /// Documents begun (empty ones count, as document indices do).
    pub documents: usize,
    /// Nodes that alias expansion created.
    pub alias_nodes: usize,
    /// Documents that could not be read.
    pub errors: usize,
}

/// Whether the parts of a text that [`can_cut`] allowed to cut, each parsed on its own with
/// [`parse_part`], read as the whole text does (their objects and errors, with document indices
/// counted on from the parts before, are the whole's). Not when a part before the last has an
/// error (a quoted scalar or a flow collection left open can run past the cut, which then
/// reads differently), nor when their alias copies together exceed the budget of the whole.
pub fn parts_read_as_whole(parts: &[PartShape], limits: &Limits) -> bool {
    let before_last = &parts[..parts.len().saturating_sub(1)];
    before_last.iter().all(|part| part.errors == 0)
        && parts.iter().map(|part| part.alias_nodes).sum::<usize>() <= limits.max_nodes
}

/// Whether `text` may be cut into parts read on their own: not over the size limit, and no
/// directive (`%YAML`, `%TAG`), which applies to the documents after it.
pub fn can_cut(text: &str, limits: &Limits) -> bool {
    parse::can_cut(text, limits)
}

/// Where the parts of `text` start, for at most `parts` parts of similar size: byte 0, then
/// the first document marker (`---` alone on a line, or before a blank) at or after each equal
/// share of the text.
pub fn part_starts(text: &str, parts: usize) -> Vec<usize> {
    parse::part_starts(text, parts)
}

/// Whether `text` starts with a document marker (`---` alone on its line, or before a blank), as
/// every part after the first of [`part_starts`] does.
pub fn starts_with_document_marker(text: &str) -> bool {
    parse::is_document_marker(text.as_bytes(), 0)
}

/// How many YAML events the parser [`parse`] is built on (saphyr-parser) reads in `text`,
/// doing nothing with them; `None` at a syntax error. For benchmarks: no linter on this parser
/// can be faster (`make bench-web` prints it next to the playground's lint time).
pub fn count_yaml_events(text: &str) -> Option<usize> {
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut events = 0;
    while let Some(event) = parser.next_event() {
        event.ok()?;
        events += 1;
    }
    Some(events)
}

/// Parses multi-document YAML (or JSON) into Kubernetes objects. Never panics and never fails
/// as a whole: problems are reported per document in [`Manifests::errors`].
pub fn parse(text: &str, limits: &Limits) -> Manifests {
    parse::parse(Cow::Borrowed(text), limits, 0, Trees::Kept)
}

/// [`parse`], keeping only the objects' values: an object's position-aware tree is built again
/// from its text (a List item's own lines, or its document) when a position is asked for ([`Manifests::position`], the same
/// positions), and [`apply_fixes`] reads the text again whole. For what asks few positions of a
/// large text (an inventory of a cluster's dump): the trees are most of [`parse`]'s memory and
/// time. The manifests keep `text` itself, not a copy.
pub fn read_values(text: String, limits: &Limits) -> Manifests {
    parse::parse(Cow::Owned(text), limits, 0, Trees::OnDemand)
}

/// [`read_values`] on up to `jobs` threads, as [`parse_in_parallel`].
pub fn read_values_in_parallel(text: String, limits: &Limits, jobs: usize) -> Manifests {
    parse::parse_in_parallel(Cow::Owned(text), limits, jobs, Trees::OnDemand)
}

/// [`parse`] of a part of a larger text (one of [`part_starts`]' parts) that starts at line
/// `first_line + 1`: positions and messages give lines of the whole text; object and document
/// indices count within the part.
pub fn parse_part(text: &str, limits: &Limits, first_line: usize) -> Manifests {
    parse::parse(Cow::Borrowed(text), limits, first_line, Trees::Kept)
}

/// [`parse`] on up to `jobs` threads, for one large text (`helm template` output): the same
/// result, pieces of the text parsed at once. Needs threads: not for the browser.
pub fn parse_in_parallel(text: &str, limits: &Limits, jobs: usize) -> Manifests {
    parse::parse_in_parallel(Cow::Borrowed(text), limits, jobs, Trees::Kept)
}

impl Manifests {
    /// The objects' values, in order: the input of [`crate::evaluate`] (whose findings'
    /// `object_index` then indexes [`Manifests::objects`]).
    pub fn values(&self) -> Vec<Value> {
        self.objects.iter().map(|o| o.value.clone()).collect()
    }

    /// The text that was parsed.
    pub fn text(&self) -> &str {
        &self.source.text
    }

    /// How the text read as one part of a larger one: see [`parts_read_as_whole`].
    pub fn part_shape(&self) -> PartShape {
        PartShape { documents: self.document_count, alias_nodes: self.alias_nodes, errors: self.errors.len() }
    }

    /// Where each line of [`Manifests::text`] starts ([`line_starts`]).
    pub fn line_starts(&self) -> &[usize] {
        self.source.line_starts()
    }

    /// Where the value at JSON pointer `pointer` (relative to `objects[object_index]`, as in a
    /// finding's `path`) is written: from the key to the end of the value for a mapping entry,
    /// the item for a sequence index. When the field is missing, where it belongs: the key of
    /// the nearest existing parent mapping entry (or the first line of the nearest existing
    /// parent item, or of the object). An unknown object gives line 1, column 1.
    pub fn position(&self, object_index: usize, pointer: &str) -> Position {
        self.locate_field(object_index, pointer).0
    }

    /// Where the whole object `object_index` is written: from its first line to the end of its
    /// last value (line 1, column 1 for an unknown object).
    pub fn object_position(&self, object_index: usize) -> Position {
        self.with_tree(object_index, |root| self.source.position(root.start, root.end))
            .unwrap_or_else(|| self.source.position(0, 0))
    }

    /// [`Manifests::position`], and whether the field is there (`false`: the position is where
    /// it belongs). The objects' values are built from the same tree, so this is whether the
    /// pointer resolves in the value.
    pub fn locate_field(&self, object_index: usize, pointer: &str) -> (Position, bool) {
        self.with_tree(object_index, |root| {
            let (start, end, found) = self.locate(root, pointer);
            (self.source.position(start, end), found)
        })
        .unwrap_or_else(|| (self.source.position(0, 0), false))
    }

    /// Manifests read by the JSON fast path, from a JSON object or List.
    fn read_as_json(objects: Vec<SourceObject>, ranges: Vec<(usize, usize)>, source: Source, limits: Limits) -> Self {
        Manifests {
            objects,
            errors: Vec::new(),
            nodes: Vec::new(),
            json_ranges: ranges,
            item_ranges: Vec::new(),
            trees: Trees::OnDemand,
            tree_cache: TreeCache::default(),
            source,
            limits,
            // What the YAML path records of the one document is only needed to verify fixes,
            // which read such a text again with the YAML path (`fix::apply_fixes`).
            documents: Vec::new(),
            document_count: 1,
            alias_nodes: 0,
        }
    }

    /// Whether the text was read by the JSON fast path (its trees are built when asked for).
    fn read_as_json_only(&self) -> bool {
        !self.json_ranges.is_empty()
    }

    /// Whether the objects' trees are built when asked for (read as JSON, or by [`read_values`]).
    fn trees_on_demand(&self) -> bool {
        self.read_as_json_only() || self.trees == Trees::OnDemand
    }

    /// `f` of object `object_index`'s tree: the one parsed with the text, or one built again
    /// from the text: for a text read as JSON, from the object's range; for YAML read by
    /// [`read_values`], from its document's range (anchors and merge keys are per document),
    /// then the List item. The same tree either way: tests compare them.
    fn with_tree<T>(&self, object_index: usize, f: impl FnOnce(&Node) -> T) -> Option<T> {
        if let Some(root) = self.nodes.get(object_index) {
            return Some(f(root));
        }
        let (start, end, item) = match self.json_ranges.get(object_index) {
            Some(&(start, end)) => (start, end, None),
            None if self.trees == Trees::OnDemand => {
                if let Some(&Some((start, end))) = self.item_ranges.get(object_index) {
                    return self.with_tree_cached(start, f, || {
                        parse::tree_at(&self.source, &self.limits, start, end, parse::Written::ListItem)
                    });
                }
                let object = self.objects.get(object_index)?;
                let (start, end) = (*self.documents.get(object.document)?)?;
                // From its line's start: a root written indented reads as it did in the whole text.
                let start = if self.source.starts_line(start) {
                    self.source.line_start(self.source.line_of(start))
                } else {
                    start
                };
                let item = match object.base_pointer.strip_prefix("/items/") {
                    Some(index) => Some(index.parse::<usize>().ok()?),
                    None => None,
                };
                (start, end, item)
            }
            None => return None,
        };
        let build = || parse::tree_at(&self.source, &self.limits, start, end, parse::Written::Object);
        match item {
            None => self.with_tree_cached(start, f, build),
            Some(index) => self.with_tree_cached(
                start,
                |tree| match &tree.entry_written(&self.source.text, "items")?.value.kind {
                    Kind::Seq { items, .. } => Some(f(items.get(index)?)),
                    _ => None,
                },
                build,
            )?,
        }
    }

    /// `f` of the tree built on demand that starts at byte `start`: the cached one, or `build`'s.
    fn with_tree_cached<T>(
        &self,
        start: usize,
        f: impl FnOnce(&Node) -> T,
        build: impl FnOnce() -> Option<Node>,
    ) -> Option<T> {
        let mut cache = self.tree_cache.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let tree = match cache.as_ref() {
            Some((at, tree)) if *at == start => tree.clone(),
            _ => {
                let mut tree = build()?;
                // As in the YAML path: the values live in `objects`, the tree keeps ranges and keys.
                tree.take_value();
                let tree = std::sync::Arc::new(tree);
                *cache = Some((start, tree.clone()));
                tree
            }
        };
        drop(cache);
        Some(f(&tree))
    }

    /// Byte range for [`Manifests::position`], and whether the pointer was found whole.
    fn locate(&self, root: &Node, pointer: &str) -> (usize, usize, bool) {
        /// What a missing next token reports: an entry's key, or the first line of an item.
        enum Parent<'n> {
            Key(usize, usize),
            Head(&'n Node),
        }
        let head = |node: &Node| (node.start, self.source.head_end(node.start, node.end));
        let missing = |parent: Parent<'_>| match parent {
            Parent::Key(start, end) => (start, end, false),
            Parent::Head(node) => {
                let (start, end) = head(node);
                (start, end, false)
            }
        };
        let Some(tokens) = pointer.strip_prefix('/') else {
            let (start, end) = head(root);
            return (start, end, true);
        };
        let mut node = root;
        let mut parent = Parent::Head(root);
        let mut found = (root.start, root.end);
        for token in tokens.split('/') {
            let token = unescape_token(token);
            match &node.kind {
                Kind::Map { entries, .. } => {
                    let Some(entry) = entries.iter().find(|e| e.key_text(&self.source.text) == token) else {
                        return missing(parent);
                    };
                    node = &entry.value;
                    found = (entry.key_start, entry.value.end.max(entry.key_end));
                    parent = Parent::Key(entry.key_start, entry.key_end);
                }
                Kind::Seq { items, .. } => {
                    let Some(item) = token.parse::<usize>().ok().and_then(|i| items.get(i)) else {
                        return missing(parent);
                    };
                    node = item;
                    found = (item.start, item.end);
                    parent = Parent::Head(item);
                }
                Kind::Scalar { .. } => return missing(parent),
            }
        }
        (found.0, found.1, true)
    }
}

/// RFC 6901 token escaping (`~` → `~0`, `/` → `~1`).
fn escape_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn unescape_token(token: &str) -> Cow<'_, str> {
    if token.contains('~') {
        Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
    } else {
        Cow::Borrowed(token)
    }
}

#[cfg(test)]
mod tests;
