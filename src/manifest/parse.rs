//! Builds the position-aware tree from saphyr's event stream, one document at a time.
//!
//! Events are consumed with an explicit stack (no recursion), so the nesting limit is checked
//! before a collection is opened; alias copies are charged against a node budget before they
//! are made. A semantic problem (duplicate key, bad merge, too deep, alias bomb, bare scalar)
//! poisons only its document. A syntax error stops saphyr's parser for good, so the parse is
//! resumed on a fresh parser at the next `---` line after the error. One syntax error is not
//! one for libyaml (so for `kubectl apply`): a quoted scalar whose continuation lines are
//! indented less than saphyr wants; its document is read again over a copy of its text with
//! those lines moved right ([`Padded`]), positions still in the original text.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError};
use serde_json::Value;

use super::scalar;
use super::source::{CharCursor, Source};
use super::tree::{Entry, Kind, Node};
use super::{parts_read_as_whole, Limits, Manifests, ParseError, PartShape, SourceObject, TreeCache, Trees};

/// A JSON object (or List) is read by serde_json (`super::json`); anything else, and any JSON
/// the two could read differently, by the YAML path. The JSON path always builds trees on
/// demand; `trees` says whether the YAML path keeps them.
///
/// The manifests keep the text: given a `String`, they keep that one rather than a copy (a
/// cluster's dump is large).
pub(super) fn parse(text: Cow<'_, str>, limits: &Limits, first_line: usize, trees: Trees) -> Manifests {
    match super::json::read(&text, limits) {
        Some((objects, ranges)) => {
            Manifests::read_as_json(objects, ranges, Source::new(text.into_owned(), first_line), *limits)
        }
        None => read_yaml(text, limits, first_line, trees),
    }
}

/// What a range read again by [`tree_at`] holds.
#[derive(Clone, Copy)]
pub(super) enum Written {
    /// One object: a JSON object the fast path read, or a YAML document (a `List` whole).
    Object,
    /// One List item with its `- ` line, read as a sequence of that item ([`Builder::item_range`]).
    ListItem,
}

/// The tree of what is written at `source.text[start..end]`, with the whole text's byte offsets:
/// what [`parse_yaml`] builds for that object. `None` when the range does not read as one.
pub(super) fn tree_at(source: &Source, limits: &Limits, start: usize, end: usize, written: Written) -> Option<Node> {
    let mut builder = Builder::new(source, limits, end);
    match written {
        Written::Object => builder.whole_roots = true,
        Written::ListItem => builder.item_root = true,
    }
    builder.run(start).ok()?;
    if !builder.errors.is_empty() || builder.nodes.len() != 1 {
        return None;
    }
    builder.nodes.pop()
}

/// The YAML path: saphyr's events into the position-aware tree and the objects' values.
pub(super) fn parse_yaml(text: &str, limits: &Limits, first_line: usize) -> Manifests {
    read_yaml(Cow::Borrowed(text), limits, first_line, Trees::Kept)
}

/// The YAML path, keeping each object's tree or only its value ([`Trees`]).
fn read_yaml(text: Cow<'_, str>, limits: &Limits, first_line: usize, trees: Trees) -> Manifests {
    let source = Source::new(text.into_owned(), first_line);
    let text = source.text.as_str();
    let mut builder = Builder::new(&source, limits, text.len());
    builder.trees = trees;
    if text.len() > limits.max_bytes {
        builder.errors.push(ParseError {
            document: None,
            position: source.position(0, 0),
            message: format!("the input is {} bytes, more than the limit of {} bytes", text.len(), limits.max_bytes),
        });
    } else {
        builder.run_recovering(0);
    }
    let alias_nodes = builder.alias_nodes();
    let Builder { objects, nodes, item_ranges, errors, documents, next_document, .. } = builder;
    Manifests {
        objects,
        errors,
        nodes,
        json_ranges: Vec::new(),
        item_ranges,
        trees,
        tree_cache: TreeCache::default(),
        source,
        limits: *limits,
        documents,
        document_count: next_document,
        alias_nodes,
    }
}

/// [`parse`] on up to `jobs` threads: the text is cut at document markers (`---` at the start
/// of a line, which ends any document in YAML) into pieces of similar size, each parsed on its
/// own over the same source, and the results joined in order. Anything the pieces might read
/// differently from the whole (a syntax or semantic error, a directive, alias copies beyond the
/// budget of the whole text) is parsed again as a whole, so the result is always [`parse`]'s.
pub(super) fn parse_in_parallel(text: Cow<'_, str>, limits: &Limits, jobs: usize, trees: Trees) -> Manifests {
    let starts = part_starts(&text, jobs);
    if starts.len() < 2 || !can_cut(&text, limits) {
        return parse(text, limits, 0, trees);
    }
    let source = Source::new(text.into_owned(), 0);
    let ends: Vec<usize> = starts.iter().skip(1).copied().chain([source.text.len()]).collect();
    let pieces: Vec<Option<Piece>> = std::thread::scope(|scope| {
        let workers: Vec<_> = starts
            .iter()
            .zip(&ends)
            .map(|(&start, &end)| {
                let source = &source;
                scope.spawn(move || read_piece(source, limits, start, end, trees))
            })
            .collect();
        workers.into_iter().map(|worker| worker.join().expect("the parser does not panic")).collect()
    });
    match pieces.into_iter().collect::<Option<Vec<Piece>>>() {
        Some(pieces) if parts_read_as_whole(&pieces.iter().map(Piece::shape).collect::<Vec<_>>(), limits) => {
            join(source, limits, pieces, trees)
        }
        _ => parse(Cow::Owned(source.text), limits, 0, trees),
    }
}

/// Whether parts of `text` can be parsed on their own: not too large, and no line starting with
/// `%`, a directive (`%YAML`, `%TAG`), which applies to the documents after it.
pub(super) fn can_cut(text: &str, limits: &Limits) -> bool {
    let bytes = text.as_bytes();
    let directive = memchr::memchr_iter(b'%', bytes).any(|at| at == 0 || matches!(bytes[at - 1], b'\n' | b'\r'));
    bytes.len() <= limits.max_bytes && !directive
}

/// What one piece of the text parsed into.
struct Piece {
    /// Nodes that alias expansion created.
    alias_nodes: usize,
    /// Documents begun in the piece (empty ones included).
    document_count: usize,
    /// As [`Manifests`] keeps them, by document index within the piece.
    document_ranges: Vec<Option<(usize, usize)>>,
    objects: Vec<SourceObject>,
    nodes: Vec<Node>,
    item_ranges: Vec<Option<(usize, usize)>>,
}

impl Piece {
    /// A piece has no errors ([`read_piece`] gives none for a piece with an error).
    fn shape(&self) -> PartShape {
        PartShape { documents: self.document_count, alias_nodes: self.alias_nodes, errors: 0 }
    }
}

/// `source.text[start..end]` parsed on its own; `None` when it has an error (which may depend on
/// what comes before it, so the caller parses the whole text).
fn read_piece(source: &Source, limits: &Limits, start: usize, end: usize, trees: Trees) -> Option<Piece> {
    let mut builder = Builder::new(source, limits, end);
    builder.trees = trees;
    builder.run(start).ok()?;
    builder.into_piece()
}

/// The pieces' results in order, as [`parse`] gives them, when they read as the whole
/// ([`parts_read_as_whole`]).
fn join(source: Source, limits: &Limits, pieces: Vec<Piece>, trees: Trees) -> Manifests {
    let mut manifests = Manifests {
        objects: Vec::new(),
        errors: Vec::new(),
        nodes: Vec::new(),
        json_ranges: Vec::new(),
        item_ranges: Vec::new(),
        trees,
        tree_cache: TreeCache::default(),
        source,
        limits: *limits,
        documents: Vec::new(),
        document_count: pieces.iter().map(|p| p.document_count).sum(),
        alias_nodes: pieces.iter().map(|p| p.alias_nodes).sum(),
    };
    let last = pieces.len().saturating_sub(1);
    for (i, mut piece) in pieces.into_iter().enumerate() {
        let first_document = manifests.documents.len();
        for object in &mut piece.objects {
            object.document += first_document;
        }
        manifests.objects.append(&mut piece.objects);
        manifests.nodes.append(&mut piece.nodes);
        manifests.item_ranges.append(&mut piece.item_ranges);
        // Documents after the last one read without error have no range, as in `parse`; a
        // piece followed by another counts all of its documents.
        if i < last {
            piece.document_ranges.resize(piece.document_count, None);
        }
        manifests.documents.append(&mut piece.document_ranges);
    }
    manifests
}

/// Whether a line starting at `at` is a document marker: `---` alone or followed by a blank.
pub(super) fn is_document_marker(bytes: &[u8], at: usize) -> bool {
    (at == 0 || bytes[at - 1] == b'\n' || bytes[at - 1] == b'\r')
        && bytes[at..].starts_with(b"---")
        && bytes.get(at + 3).is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// Where the parts of a text start: 0, then up to `parts - 1` document markers (a line that is
/// `---` alone or followed by a blank), each the first one at or after an equal share of the text.
pub(super) fn part_starts(text: &str, jobs: usize) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for k in 1..jobs.max(1) {
        let from = (text.len() * k / jobs).max(starts[starts.len() - 1] + 1);
        let Some(next) = (from..text.len()).find(|&at| is_document_marker(bytes, at)) else { break };
        starts.push(next);
    }
    starts.dedup();
    starts
}

/// saphyr's events of `text`, with spans as byte offsets (saphyr counts characters); a syntax
/// error ends them, with the byte offset where it was found.
fn events(text: &str) -> impl Iterator<Item = Result<(Event<'_>, usize, usize), (ScanError, usize)>> {
    let mut cursor = CharCursor::new(text);
    Parser::new_from_str(text).map(move |next| match next {
        Ok((event, span)) => {
            let start = cursor.byte_of(span.start.index());
            Ok((event, start, cursor.byte_of(span.end.index())))
        }
        Err(error) => {
            let at = cursor.byte_of(error.marker().index());
            Err((error, at))
        }
    })
}

struct Builder<'s> {
    source: &'s Source,
    /// Where this builder's text ends (the whole text, or a piece of it).
    end: usize,
    limits: &'s Limits,
    /// Nodes that alias expansion may still create, over the whole input.
    alias_budget: usize,
    objects: Vec<SourceObject>,
    nodes: Vec<Node>,
    /// With [`Trees::OnDemand`], for each object: the range [`Written::ListItem`] reads its tree
    /// from, when it is a List item that reads alone; `None`: its document is read again.
    item_ranges: Vec<Option<(usize, usize)>>,
    errors: Vec<ParseError>,
    next_document: usize,
    doc: Option<Document>,
    /// Byte range of each document that was read without error, by document index.
    documents: Vec<Option<(usize, usize)>>,
    /// Each document's root mapping is one object, even a `List` ([`tree_at`]).
    whole_roots: bool,
    /// The document is one List item with its `- ` ([`Written::ListItem`]): the item is the object.
    item_root: bool,
    /// With [`Trees::OnDemand`], only values are kept: each object's tree is dropped once its
    /// value is built, and the items of a document's top-level `items` sequence become values
    /// as soon as each is read, so a cluster's dump (one `List` document) is never whole as a tree.
    trees: Trees,
}

/// The document being built.
struct Document {
    index: usize,
    start: usize,
    /// The builder's alias budget when the document started: given back when it is read again.
    alias_budget: usize,
    stack: Vec<Frame>,
    root: Option<Node>,
    anchors: HashMap<usize, Anchor>,
    /// Set after a semantic error: the rest of the document's events are skipped.
    poisoned: bool,
}

struct Anchor {
    node: Node,
    size: usize,
    height: usize,
}

enum Frame {
    Seq { start: usize, flow: bool, anchor: usize, items: Vec<Node> },
    Map { start: usize, flow: bool, anchor: usize, map: MapInProgress, key: Option<Node> },
}

/// A failure that poisons the current document: byte offset and message.
type Failure = (usize, String);

/// A syntax error: saphyr's, where in the source it was found, and where the reading that ran
/// into it started.
struct SyntaxError {
    error: ScanError,
    at: usize,
    read_from: usize,
}

/// saphyr's message for a quoted scalar's continuation line indented less than its block.
const QUOTED_INDENTATION: &str = "invalid indentation in quoted scalar";

/// The most quoted scalars of one document read over a padded copy: each one costs reading the
/// document again, from its start.
const MAX_PADDED_SCALARS: usize = 256;

/// A copy of a document's text, `source.text[start..end]`, with spaces inserted at the start of
/// the continuation lines of quoted scalars that saphyr refuses (see
/// [`Builder::pad_quoted_scalar`]). Saphyr reads the copy; its offsets are mapped back to the
/// source's, so positions and fixes stay in the original text.
struct Padded {
    document: usize,
    start: usize,
    /// The document's end, or the builder's: after it the source itself is read.
    end: usize,
    /// In source order.
    insertions: Vec<Insertion>,
    /// The opening quotes of the padded scalars.
    quotes: Vec<usize>,
}

struct Insertion {
    /// Where in the source (a line start).
    at: usize,
    spaces: usize,
    /// Where the spaces start in the copy.
    in_copy: usize,
}

impl Padded {
    /// Sets each insertion's place in the copy.
    fn locate_insertions(&mut self) {
        let mut inserted = 0;
        for insertion in &mut self.insertions {
            insertion.in_copy = insertion.at - self.start + inserted;
            inserted += insertion.spaces;
        }
    }

    /// Spaces inserted at source offset `at`.
    fn spaces_at(&self, at: usize) -> usize {
        match self.insertions.binary_search_by_key(&at, |insertion| insertion.at) {
            Ok(i) => self.insertions[i].spaces,
            Err(_) => 0,
        }
    }

    fn copy(&self, source: &str) -> String {
        let spaces: usize = self.insertions.iter().map(|insertion| insertion.spaces).sum();
        let mut copy = String::with_capacity(self.end - self.start + spaces);
        let mut from = self.start;
        for insertion in &self.insertions {
            copy.push_str(&source[from..insertion.at]);
            copy.extend(std::iter::repeat_n(' ', insertion.spaces));
            from = insertion.at;
        }
        copy.push_str(&source[from..self.end]);
        copy
    }

    /// The source offset of byte `at` of the copy; inserted spaces are where they were inserted.
    fn source_offset(&self, at: usize) -> usize {
        let after = self.insertions.partition_point(|insertion| insertion.in_copy <= at);
        match after.checked_sub(1).map(|i| &self.insertions[i]) {
            None => self.start + at,
            Some(insertion) if at < insertion.in_copy + insertion.spaces => insertion.at,
            Some(insertion) => insertion.at + (at - insertion.in_copy - insertion.spaces),
        }
    }
}

impl<'s> Builder<'s> {
    fn new(source: &'s Source, limits: &'s Limits, end: usize) -> Self {
        Builder {
            source,
            end,
            limits,
            alias_budget: limits.max_nodes,
            objects: Vec::new(),
            nodes: Vec::new(),
            item_ranges: Vec::new(),
            errors: Vec::new(),
            next_document: 0,
            doc: None,
            documents: Vec::new(),
            whole_roots: false,
            item_root: false,
            trees: Trees::Kept,
        }
    }

    /// Parses from byte `offset` (a line start) to `self.end`, or to the first syntax error that
    /// libyaml has too: a document with quoted scalars only saphyr refuses is read again over a
    /// padded copy ([`Builder::pad_quoted_scalar`]).
    fn run(&mut self, mut offset: usize) -> Result<(), SyntaxError> {
        let mut padded: Option<Padded> = None;
        loop {
            let read = match &padded {
                // The usual path reads the source itself, without a copy.
                None => self.read(&self.source.text[offset..self.end], |at| offset + at),
                Some(padded) => {
                    let copy = padded.copy(&self.source.text);
                    self.read(&copy, |at| padded.source_offset(at))
                }
            };
            match read {
                Ok(()) => match padded.take() {
                    Some(done) if done.end < self.end => offset = done.end,
                    _ => return Ok(()),
                },
                Err((error, at)) => {
                    let read_from = padded.as_ref().map_or(offset, |padded| padded.start);
                    let error = SyntaxError { error, at, read_from };
                    padded = Some(self.pad_quoted_scalar(&error, padded.take()).ok_or(error)?);
                }
            }
        }
    }

    /// Builds from the events of `text`, whose byte offsets are `to_source`'s in the source.
    fn read(&mut self, text: &str, to_source: impl Fn(usize) -> usize) -> Result<(), (ScanError, usize)> {
        for next in events(text) {
            let (event, start, end) = next.map_err(|(error, at)| (error, to_source(at)))?;
            if let Err((at, message)) = self.on_event(event, to_source(start), to_source(end)) {
                self.poison(at, message);
            }
        }
        Ok(())
    }

    /// When saphyr refused a quoted scalar only for the indentation of its continuation lines
    /// (libyaml reads it: their leading blanks are no part of the value), the document to read
    /// again, over a copy of its text where those lines start right of the opening quote (saphyr
    /// never wants more indentation than that): `previous` with this scalar added when it is a
    /// copy of the same document. The builder forgets what it read of the document. `None` for
    /// another error, a scalar not closed before a document marker (an error in libyaml too),
    /// one that padding did not help, or past [`MAX_PADDED_SCALARS`].
    fn pad_quoted_scalar(&mut self, error: &SyntaxError, previous: Option<Padded>) -> Option<Padded> {
        if error.error.info() != QUOTED_INDENTATION {
            return None;
        }
        let open = error.at; // saphyr marks the opening quote
        let (document, first, alias_budget) = match &self.doc {
            Some(doc) => (doc.index, doc.start, doc.alias_budget),
            // The scalar is the document's first token: saphyr had not started it.
            None => (self.next_document, open, self.alias_budget),
        };
        let mut padded = match previous {
            Some(previous) if previous.document == document => previous,
            _ => Padded {
                document,
                start: self.document_text_start(first, error.read_from),
                end: open,
                insertions: Vec::new(),
                quotes: Vec::new(),
            },
        };
        if padded.quotes.len() >= MAX_PADDED_SCALARS || padded.quotes.contains(&open) {
            return None;
        }
        let (lines, scalar_end) = self.source.quoted_continuation_lines(open, self.end)?;
        let open_line = self.source.line_start(self.source.line_of(open));
        // Its line may be the closing line of a scalar padded before (in a flow collection).
        let column = self.source.text[open_line..open].chars().count() + padded.spaces_at(open_line);
        let bytes = self.source.text.as_bytes();
        let left_of_quote: Vec<usize> = lines
            .into_iter()
            .filter(|&line| bytes[line..].iter().take_while(|&&b| b == b' ' || b == b'\t').count() < column)
            .collect();
        if left_of_quote.is_empty() {
            return None;
        }
        // By the quote's column, so that even a tab among the leading blanks is right of it.
        padded.insertions.extend(left_of_quote.into_iter().map(|at| Insertion { at, spaces: column, in_copy: 0 }));
        padded.insertions.sort_unstable_by_key(|insertion| insertion.at);
        padded.locate_insertions();
        padded.quotes.push(open);
        // The document ends at the next `---` line; the rest is read from the source. Unless a
        // directive (`%`) comes first: the documents after it must be read with it.
        let marker_or_directive = |bytes: &[u8], at: usize| bytes[at] == b'%' || is_document_marker(bytes, at);
        let after = self.source.line_of(scalar_end) + 1;
        let document_end = match self.next_line_where(after, marker_or_directive) {
            Some(at) if self.source.text.as_bytes()[at] != b'%' => at,
            _ => self.end,
        };
        padded.end = padded.end.max(document_end);
        self.doc = None;
        self.next_document = document;
        self.alias_budget = alias_budget;
        while self.errors.last().is_some_and(|last| last.document == Some(document)) {
            self.errors.pop();
        }
        Some(padded)
    }

    /// Nodes that alias expansion created so far.
    fn alias_nodes(&self) -> usize {
        self.limits.max_nodes - self.alias_budget
    }

    /// The builder's result as a piece of a larger text, when it read its piece without error.
    fn into_piece(self) -> Option<Piece> {
        (self.errors.is_empty() && self.doc.is_none()).then(|| Piece {
            alias_nodes: self.alias_nodes(),
            document_count: self.next_document,
            document_ranges: self.documents,
            objects: self.objects,
            nodes: self.nodes,
            item_ranges: self.item_ranges,
        })
    }

    /// Reads from `offset` to the end, past syntax errors, as [`parse`] does.
    fn run_recovering(&mut self, mut offset: usize) {
        while let Err(error) = self.run(offset) {
            let Some(resume) = self.recover(error) else { break };
            offset = resume;
        }
    }

    /// Records a syntax error and returns where to resume: the next line starting a document
    /// (`---`) at or after the error, and after the failed document's first line.
    fn recover(&mut self, SyntaxError { error, at, read_from }: SyntaxError) -> Option<usize> {
        let failed_start = match self.doc.take() {
            Some(doc) => doc.start,
            None => {
                // The error came before any document started: count it as the next one.
                self.next_document += 1;
                read_from
            }
        };
        let document = self.next_document - 1;
        // A document that cannot be read is reported for that alone: what was found wrong in
        // the part read before the syntax error is not repeated beside it.
        if self.errors.last().is_some_and(|last| last.document == Some(document)) {
            self.errors.pop();
        }
        self.errors.push(ParseError {
            document: Some(document),
            position: self.source.position(at, at),
            message: format!("YAML syntax error: {}", error.info()),
        });
        self.next_line_where(self.source.line_of(at).max(self.source.line_of(failed_start) + 1), is_document_marker)
    }

    /// The start of the first line from `line` on, before the builder's end, that `wanted` is
    /// true of (given the text and the line's start).
    fn next_line_where(&self, mut line: usize, wanted: impl Fn(&[u8], usize) -> bool) -> Option<usize> {
        let bytes = self.source.text.as_bytes();
        loop {
            let start = self.source.line_start(line);
            if start >= self.end {
                return None;
            }
            if wanted(bytes, start) {
                return Some(start);
            }
            line += 1;
        }
    }

    /// Where the text of a document whose first event is at `first` starts, to read it on its
    /// own: that line, or the first of the directives (`%TAG`, which its tags may need) written
    /// before it, back to `read_from`.
    fn document_text_start(&self, first: usize, read_from: usize) -> usize {
        let mut line = self.source.line_of(first);
        let mut start = self.source.line_start(line);
        while line > 0 && self.source.line_start(line - 1) >= read_from {
            line -= 1;
            let text = &self.source.text[self.source.line_start(line)..];
            match text.trim_start_matches([' ', '\t']).bytes().next() {
                Some(b'%') if text.starts_with('%') => start = self.source.line_start(line),
                Some(b'#' | b'\r' | b'\n') | None => {}
                _ => break,
            }
        }
        start
    }

    fn poison(&mut self, at: usize, message: String) {
        if let Some(doc) = self.doc.as_mut() {
            doc.poisoned = true;
            doc.stack.clear();
            doc.root = None;
            self.errors.push(ParseError { document: Some(doc.index), position: self.source.position(at, at), message });
        }
    }

    fn on_event(&mut self, event: Event<'_>, start: usize, end: usize) -> Result<(), Failure> {
        match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing => Ok(()),
            Event::DocumentStart(_) => {
                self.doc = Some(Document {
                    index: self.next_document,
                    start,
                    alias_budget: self.alias_budget,
                    stack: Vec::new(),
                    root: None,
                    anchors: HashMap::new(),
                    poisoned: false,
                });
                self.next_document += 1;
                Ok(())
            }
            Event::DocumentEnd => {
                if let Some(doc) = self.doc.take() {
                    if !doc.poisoned {
                        // The end event spans the next `---` or the `...`: the document ends before it.
                        if self.documents.len() <= doc.index {
                            self.documents.resize(doc.index + 1, None);
                        }
                        self.documents[doc.index] = Some((doc.start, start));
                        self.finish_document(doc);
                    }
                }
                Ok(())
            }
            _ if self.doc.as_ref().is_none_or(|doc| doc.poisoned) => Ok(()),
            Event::Scalar(text, style, anchor, tag) => {
                let merge_key = text == "<<"
                    && match scalar::core_tag(tag.as_deref()) {
                        None => style == ScalarStyle::Plain,
                        Some(tag) => tag == "merge",
                    };
                let has_properties = anchor != 0 || tag.is_some();
                let (start, end) = self.scalar_range(&text, style, has_properties, start, end);
                let value = scalar::resolve(text, style, tag.as_deref()).map_err(|message| (start, message))?;
                self.push(Node { start, end, kind: Kind::Scalar { value, merge_key }, aliased: false }, anchor)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                let doc = self.doc.as_mut().expect("checked above");
                if doc.stack.len() >= self.limits.max_depth {
                    return Err((start, format!("the document nests deeper than {} levels", self.limits.max_depth)));
                }
                let is_map = matches!(event, Event::MappingStart(..));
                let opener = if is_map { b'{' } else { b'[' };
                // A flow collection's span covers its opening bracket (and any blanks after it).
                let opening = self.source.skip_properties(start);
                let flow = end > start && opening < end && self.source.text.as_bytes()[opening] == opener;
                let start = if flow { opening } else { start };
                doc.stack.push(if is_map {
                    Frame::Map { start, flow, anchor, map: MapInProgress::default(), key: None }
                } else {
                    Frame::Seq { start, flow, anchor, items: Vec::new() }
                });
                Ok(())
            }
            Event::SequenceEnd => {
                let doc = self.doc.as_mut().expect("checked above");
                let Some(Frame::Seq { start, flow, anchor, items }) = doc.stack.pop() else {
                    return Err((start, "unbalanced sequence end".into()));
                };
                let (start, node_end) = if flow {
                    (start, end)
                } else {
                    let first =
                        items.first().map_or(start, |item| self.source.dash_before(item.start).unwrap_or(item.start));
                    (first.min(start), items.last().map_or(start, |item| item.end))
                };
                self.push(Node { start, end: node_end, kind: Kind::Seq { items, flow }, aliased: false }, anchor)
            }
            Event::MappingEnd => {
                let doc = self.doc.as_mut().expect("checked above");
                let Some(Frame::Map { start, flow, anchor, map, key }) = doc.stack.pop() else {
                    return Err((start, "unbalanced mapping end".into()));
                };
                if let Some(key) = key {
                    return Err((key.start, "a mapping key has no value".into()));
                }
                let MapInProgress { entries, first_key, pairs_end, .. } = map;
                let node_end = if flow { end } else { pairs_end.unwrap_or(start) };
                // `key:` with an empty value ends at its colon.
                let node_end = entries.iter().filter(|e| !e.merged).map(|e| e.colon_end).fold(node_end, usize::max);
                self.push(
                    Node { start, end: node_end, kind: Kind::Map { entries, flow, first_key }, aliased: false },
                    anchor,
                )
            }
            Event::Alias(id) => {
                let doc = self.doc.as_mut().expect("checked above");
                let Some(anchor) = doc.anchors.get(&id) else {
                    return Err((start, "an alias refers to an unknown anchor".into()));
                };
                if anchor.size > self.alias_budget {
                    return Err((
                        start,
                        format!(
                            "alias expansion exceeds the limit of {} nodes (a \"billion laughs\" document?)",
                            self.limits.max_nodes
                        ),
                    ));
                }
                if doc.stack.len() + anchor.height > self.limits.max_depth {
                    return Err((start, format!("the document nests deeper than {} levels", self.limits.max_depth)));
                }
                self.alias_budget -= anchor.size;
                let mut node = anchor.node.clone();
                node.aliased = true;
                (node.start, node.end) = (start, end);
                // The copy keeps the anchor's ranges: that is where its text is.
                self.push(node, 0)
            }
        }
    }

    /// The byte range of a scalar, correcting saphyr's spans: quoted scalars end at the closing
    /// quote, block scalars start at their header and end with their last content line, and an
    /// empty plain scalar (`key:` with no value) is empty.
    fn scalar_range(
        &self,
        text: &str,
        style: ScalarStyle,
        has_properties: bool,
        start: usize,
        end: usize,
    ) -> (usize, usize) {
        match style {
            ScalarStyle::SingleQuoted | ScalarStyle::DoubleQuoted => (start, self.source.quoted_end(start, end)),
            ScalarStyle::Literal | ScalarStyle::Folded => {
                let header = self.source.block_scalar_header(start).unwrap_or(start);
                let content_end = if text.is_empty() { header + 1 } else { self.source.block_scalar_end(start, end) };
                (header.min(start), content_end.max(header + 1))
            }
            // Only its properties (`key: &anchor`) are written.
            ScalarStyle::Plain if text.is_empty() && has_properties => {
                (start, self.source.trim_back(start, self.source.skip_properties(start)))
            }
            // saphyr spans an empty plain scalar up to the next token; the mapping moves it after the colon.
            ScalarStyle::Plain if text.is_empty() => (start, start),
            ScalarStyle::Plain => (start, self.source.trim_back(start, end)),
        }
    }

    fn push(&mut self, mut node: Node, anchor: usize) -> Result<(), Failure> {
        let doc = self.doc.as_mut().expect("events belong to a document");
        if anchor != 0 {
            // Alias copies are bounded by the budget, so measuring may stop early: an anchor
            // bigger than the whole budget can never be used.
            let (size, height) = node.measure(self.alias_budget).unwrap_or((usize::MAX, 0));
            doc.anchors.insert(anchor, Anchor { node: node.clone(), size, height });
        }
        if self.trees == Trees::OnDemand && matches!(node.kind, Kind::Map { .. }) && is_top_level_item(&doc.stack) {
            // Perhaps an object of a List: keep its value only (its range stays, for messages).
            let value = node.take_value();
            node.kind = Kind::Scalar { value, merge_key: false };
        }
        match doc.stack.last_mut() {
            None => doc.root = Some(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { map, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(key) => map.add(self.source, key, node)?,
            },
        }
        Ok(())
    }

    fn finish_document(&mut self, doc: Document) {
        let Some(root) = doc.root else { return };
        let index = doc.index;
        // Anchors make items depend on one another: such a document's items do not read alone.
        let items_read_alone = doc.anchors.is_empty();
        if self.item_root {
            if let Kind::Seq { mut items, .. } = root.kind {
                if items.len() == 1 && matches!(items[0].kind, Kind::Map { .. }) {
                    self.nodes.push(items.remove(0));
                }
            }
            return;
        }
        match &root.kind {
            Kind::Scalar { value: Value::Null, .. } => {} // empty document
            Kind::Map { .. } => self.add_object(index, root, items_read_alone),
            Kind::Scalar { value, .. } => self.errors.push(ParseError {
                document: Some(index),
                position: self.source.position(root.start, root.end),
                message: format!("the document is a {}, not a Kubernetes object (a mapping)", json_kind(value)),
            }),
            Kind::Seq { .. } => self.errors.push(ParseError {
                document: Some(index),
                position: self.source.position(root.start, self.source.head_end(root.start, root.end)),
                message:
                    "the document is a sequence, not a Kubernetes object (a mapping); use `kind: List` with `items`"
                        .into(),
            }),
        }
    }

    /// Adds an object, or one object per item of a `List` / `*List` kind with `items`.
    fn add_object(&mut self, document: usize, root: Node, items_read_alone: bool) {
        let is_list = root
            .entry("kind")
            .and_then(|e| match &e.value.kind {
                Kind::Scalar { value: Value::String(kind), .. } => Some(kind.ends_with("List")),
                _ => None,
            })
            .unwrap_or(false)
            && !self.whole_roots
            && root
                .entry("items")
                .is_some_and(|e| matches!(e.value.kind, Kind::Seq { .. } | Kind::Scalar { value: Value::Null, .. }));
        if !is_list {
            let mut root = root;
            self.objects.push(SourceObject { value: root.take_value(), document, base_pointer: String::new() });
            match self.trees {
                Trees::Kept => self.nodes.push(root),
                Trees::OnDemand => self.item_ranges.push(None),
            }
            return;
        }
        let Kind::Map { entries, .. } = root.kind else { unreachable!("checked above") };
        let Some(items) = entries.into_iter().find(|e| e.key == "items") else { return };
        let Kind::Seq { items, .. } = items.value.kind else { return }; // `items: null`: an empty list
        for (i, mut item) in items.into_iter().enumerate() {
            // With trees on demand, an item that was a mapping is already its value (`push`).
            let is_object = match &item.kind {
                Kind::Map { .. } => true,
                Kind::Scalar { value, .. } => self.trees == Trees::OnDemand && value.is_object(),
                Kind::Seq { .. } => false,
            };
            if is_object {
                self.objects.push(SourceObject {
                    value: item.take_value(),
                    document,
                    base_pointer: format!("/items/{i}"),
                });
                match self.trees {
                    Trees::Kept => self.nodes.push(item),
                    Trees::OnDemand => {
                        let range = self.item_range(&item).filter(|_| items_read_alone);
                        self.item_ranges.push(range);
                    }
                }
            } else {
                self.errors.push(ParseError {
                    document: Some(document),
                    position: self.source.position(item.start, self.source.head_end(item.start, item.end)),
                    message: format!("item {i} of the List is not a Kubernetes object (a mapping)"),
                });
            }
        }
    }
}

impl Builder<'_> {
    /// Where a block sequence's item can be read alone, as a sequence of one item: from the
    /// start of its line, when only blanks and its `- ` come before it there (as `kubectl get
    /// -o yaml` writes a List's items), to its end. A position in a cluster's dump then reads
    /// one object again, not the whole dump.
    fn item_range(&self, item: &Node) -> Option<(usize, usize)> {
        let bytes = self.source.text.as_bytes();
        // Scanned back, not from the line index: reading values builds none.
        let line_start = memchr::memrchr2(b'\n', b'\r', &bytes[..item.start]).map_or(0, |at| at + 1);
        let before = std::str::from_utf8(&bytes[line_start..item.start]).ok()?.trim_start_matches(' ');
        let dash_then_blanks = before.strip_prefix('-')?;
        (!dash_then_blanks.is_empty() && dash_then_blanks.bytes().all(|b| b == b' ')).then_some((line_start, item.end))
    }
}

/// Whether a node pushed now is an item of the sequence under the document's top-level `items`
/// key: an object when the document is a `List`.
fn is_top_level_item(stack: &[Frame]) -> bool {
    match stack {
        [Frame::Map { key: Some(key), .. }, Frame::Seq { .. }] => {
            matches!(&key.kind, Kind::Scalar { value: Value::String(name), merge_key: false } if name == "items")
        }
        _ => false,
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "sequence",
        Value::Object(_) => "mapping",
    }
}

/// A mapping being read: its entries so far, with string keys. Merge keys are resolved as
/// go-yaml v2 does: in document order, a merge (`<<: *a` or `<<: [*a, *b]`, earlier sources
/// winning) sets its keys over those already there, and later keys override merged ones. Two
/// explicit keys with the same name are an error, as in Kubernetes' strict decoding: a linter
/// must not check one value while the API server keeps the other.
#[derive(Default)]
struct MapInProgress {
    entries: Vec<Entry>,
    /// Entry index by key, once the mapping is large enough for a hash to pay off.
    index: Option<HashMap<String, usize>>,
    /// Where the first key (merge keys included) is written.
    first_key: Option<usize>,
    /// The end of the last text of the pairs written here (merge keys included; an empty value
    /// has none): the end of a block mapping.
    pairs_end: Option<usize>,
}

/// Most mappings are small: a hash index only pays off for large ones.
const INDEXED_FROM: usize = 16;

impl MapInProgress {
    fn find(&self, key: &str) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(key).copied(),
            None => self.entries.iter().position(|e| e.key == key),
        }
    }

    fn set(&mut self, entry: Entry) {
        match self.find(&entry.key) {
            Some(i) => self.entries[i] = entry,
            None => {
                if let Some(index) = self.index.as_mut() {
                    index.insert(entry.key.clone(), self.entries.len());
                } else if self.entries.len() == INDEXED_FROM {
                    let mut index: HashMap<String, usize> = HashMap::with_capacity(2 * INDEXED_FROM);
                    index.extend(self.entries.iter().enumerate().map(|(i, e)| (e.key.clone(), i)));
                    index.insert(entry.key.clone(), self.entries.len());
                    self.index = Some(index);
                }
                self.entries.push(entry);
            }
        }
    }

    /// Adds the pair `key: value` as written in the source.
    fn add(&mut self, source: &Source, key: Node, mut value: Node) -> Result<(), Failure> {
        self.first_key.get_or_insert(key.start);
        // An empty value (`key:`) has no text of its own.
        let value_end = if value.start == value.end { 0 } else { value.end };
        self.pairs_end = Some(self.pairs_end.unwrap_or(0).max(key.end.max(value_end)));
        let (key_value, merge_key) = match key.kind {
            Kind::Scalar { value, merge_key } => (value, merge_key),
            _ => {
                return Err((
                    key.start,
                    "a mapping key is a collection; Kubernetes objects only have string keys".into(),
                ))
            }
        };
        if merge_key {
            let sources: Vec<&Node> = match &value.kind {
                Kind::Map { .. } => vec![&value],
                Kind::Seq { items, .. } => items.iter().rev().collect(),
                _ => vec![],
            };
            if sources.is_empty() && !matches!(value.kind, Kind::Seq { .. })
                || sources.iter().any(|s| !matches!(s.kind, Kind::Map { .. }))
            {
                return Err((value.start, "a merge key (<<) needs a mapping or a sequence of mappings".into()));
            }
            for merged in sources {
                let Kind::Map { entries: merged_entries, .. } = &merged.kind else { unreachable!("checked above") };
                for entry in merged_entries {
                    self.set(Entry { merged: true, ..entry.clone() });
                }
            }
            return Ok(());
        }
        let name = scalar::key_string(key_value).map_err(|message| (key.start, message))?;
        if let Some(i) = self.find(&name) {
            if !self.entries[i].merged {
                let (line, _) = source.line_col(self.entries[i].key_start);
                return Err((key.start, format!("duplicate key \"{name}\" (first set on line {line})")));
            }
        }
        let colon_end = source.colon_end(key.end, if value.start > key.end { value.start } else { source.text.len() });
        if value.start == value.end && matches!(value.kind, Kind::Scalar { .. }) {
            // `key:` with nothing after it: the value is empty, right after the colon.
            value.start = colon_end;
            value.end = colon_end;
        }
        let key_as_written = source.text.get(key.start..key.end) == Some(name.as_str());
        self.set(Entry {
            key: name,
            key_as_written,
            key_start: key.start,
            key_end: key.end,
            colon_end,
            value,
            merged: false,
        });
        Ok(())
    }
}
