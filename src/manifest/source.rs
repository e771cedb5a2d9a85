//! The source text with a line index: byte offsets to 1-based line/column positions, and the
//! small text scans that saphyr's spans leave to the caller (where a quoted scalar really ends,
//! where a block scalar's header is).

use super::Position;
use crate::byte_words::{each_byte, word_at};

#[derive(Debug, Clone, Default)]
pub(super) struct Source {
    pub text: String,
    /// Byte offset of the start of each line. Line breaks are `\n`, `\r\n` and a lone `\r`, as
    /// in YAML (and saphyr's line numbers). Built when a position is first asked for: reading a
    /// cluster's dump for its values may ask none (it is 8 bytes a line).
    line_starts: std::sync::OnceLock<Vec<usize>>,
    /// Lines before the text, when it is a part of a larger one: positions count from there.
    first_line: usize,
}

impl PartialEq for Source {
    /// The line index is derived from the text, built or not.
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text && self.first_line == other.first_line
    }
}

/// Byte offset of the start of each line: 0, then after each `\n`, `\r\n` and lone `\r` (YAML's
/// line breaks, and CodeMirror's).
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    let mut starts = Vec::with_capacity(bytes.len() / 32 + 1);
    starts.push(0);
    if memchr::memchr(b'\r', bytes).is_none() {
        // The usual text: memchr jumps from one `\n` to the next (megabytes are pasted).
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|at| at + 1));
        return starts;
    }
    for (i, &byte) in bytes.iter().enumerate() {
        if byte == b'\n' || (byte == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
    }
    starts
}

impl Source {
    /// `text`, whose first line is line `first_line + 1` of the text it is a part of.
    pub fn new(text: impl Into<String>, first_line: usize) -> Source {
        Source { line_starts: std::sync::OnceLock::new(), text: text.into(), first_line }
    }

    /// Lines before the text (see [`Source::new`]).
    pub fn first_line(&self) -> usize {
        self.first_line
    }

    pub fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| line_starts(&self.text))
    }

    /// 0-based line index of a byte offset.
    pub fn line_of(&self, byte: usize) -> usize {
        self.line_starts().partition_point(|&start| start <= byte).saturating_sub(1)
    }

    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts().get(line).copied().unwrap_or(self.text.len())
    }

    /// 1-based (line, column), lines counted from [`Source::first_line`]; columns count
    /// characters, a byte-order mark does not count.
    pub fn line_col(&self, byte: usize) -> (usize, usize) {
        let byte = floor_char_boundary(&self.text, byte.min(self.text.len()));
        let line = self.line_of(byte);
        let start = self.line_starts()[line];
        let column = self.text[start..byte].chars().filter(|&c| c != '\u{FEFF}').count();
        (self.first_line + line + 1, column + 1)
    }

    pub fn position(&self, start: usize, end: usize) -> Position {
        let (line, column) = self.line_col(start);
        let (end_line, end_column) = self.line_col(end.max(start));
        Position { line, column, end_line, end_column }
    }

    /// Byte offset of the line break ending the line that contains `byte` (or the text's end).
    pub fn line_end(&self, byte: usize) -> usize {
        let line = self.line_of(byte);
        match self.line_starts().get(line + 1) {
            Some(&next) => {
                let bytes = self.text.as_bytes();
                let mut end = next;
                while end > self.line_starts()[line] && matches!(bytes[end - 1], b'\n' | b'\r') {
                    end -= 1;
                }
                end
            }
            None => self.text.len(),
        }
    }

    /// Start of the next line after the one containing `byte` (or the text's end).
    pub fn next_line_start(&self, byte: usize) -> usize {
        self.line_start(self.line_of(byte) + 1)
    }

    /// Whether only blanks precede `byte` on its line.
    pub fn starts_line(&self, byte: usize) -> bool {
        let start = self.line_starts()[self.line_of(byte)];
        self.text[start..byte].bytes().all(|b| b == b' ' || b == b'\t')
    }

    /// Spaces up to the column of `byte`: the indentation of something written there. (A tab
    /// or `- ` before it counts as one column per character, as saphyr counts columns.)
    pub fn indent_before(&self, byte: usize) -> String {
        let start = self.line_starts()[self.line_of(byte)];
        " ".repeat(self.text[start..byte].chars().filter(|&c| c != '\u{FEFF}').count())
    }

    /// The text's line break: CRLF when it uses CRLF anywhere, else LF.
    pub fn newline(&self) -> &'static str {
        if self.text.contains("\r\n") {
            "\r\n"
        } else {
            "\n"
        }
    }

    /// `end` moved back over blanks and line breaks (never before `start`).
    pub fn trim_back(&self, start: usize, mut end: usize) -> usize {
        let bytes = self.text.as_bytes();
        while end > start && matches!(bytes[end - 1], b' ' | b'\t' | b'\n' | b'\r') {
            end -= 1;
        }
        end
    }

    /// Skips node properties (`&anchor`, `!tag`) and blanks from `at`.
    pub fn skip_properties(&self, mut at: usize) -> usize {
        let bytes = self.text.as_bytes();
        loop {
            while at < bytes.len() && matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r') {
                at += 1;
            }
            if at < bytes.len() && (bytes[at] == b'&' || bytes[at] == b'!') {
                while at < bytes.len()
                    && !matches!(bytes[at], b' ' | b'\t' | b'\n' | b'\r' | b',' | b'[' | b']' | b'{' | b'}')
                {
                    at += 1;
                }
            } else {
                return at;
            }
        }
    }

    /// End (after the closing quote) of the quoted scalar whose properties or quote start at `at`.
    /// saphyr's span for a quoted scalar runs on over trailing blanks and comments.
    pub fn quoted_end(&self, at: usize, fallback: usize) -> usize {
        let bytes = self.text.as_bytes();
        let open = self.skip_properties(at);
        let Some(&quote) = bytes.get(open) else { return fallback };
        if quote != b'"' && quote != b'\'' {
            return fallback;
        }
        let mut i = open + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if quote == b'"' => i += 2,
                b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                c if c == quote => return i + 1,
                _ => i += 1,
            }
        }
        fallback
    }

    /// The start of each continuation line of the quoted scalar whose opening quote is at `open`,
    /// and the scalar's end (after its closing quote). `None` when it is not closed before `end`,
    /// or a document marker line (`---` or `...` at column 0) comes first: that ends the text of
    /// a quoted scalar with an error, in libyaml too.
    pub fn quoted_continuation_lines(&self, open: usize, end: usize) -> Option<(Vec<usize>, usize)> {
        let bytes = &self.text.as_bytes()[..end];
        let quote = *bytes.get(open).filter(|&&b| b == b'"' || b == b'\'')?;
        let mut lines = Vec::new();
        let mut i = open + 1;
        while i < bytes.len() {
            match bytes[i] {
                // An escaped line break (`\` at the end of a line) is a line break all the same.
                b'\\' if quote == b'"' && !matches!(bytes.get(i + 1), Some(b'\n' | b'\r')) => i += 2,
                b'\'' if quote == b'\'' && bytes.get(i + 1) == Some(&b'\'') => i += 2,
                c if c == quote => return Some((lines, i + 1)),
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => i += 1,
                b'\n' | b'\r' => {
                    i += 1;
                    if is_document_indicator(bytes, i) {
                        return None;
                    }
                    lines.push(i);
                }
                _ => i += 1,
            }
        }
        None
    }

    /// Where a block scalar's header (`|`, `>-`, `|2+` ...) is, given where its content starts:
    /// the last indicator on the nearest non-blank line before the content, outside a comment.
    pub fn block_scalar_header(&self, content_start: usize) -> Option<usize> {
        let header_end = self.trim_back(0, content_start);
        let line_start = self.line_start(self.line_of(header_end.saturating_sub(1)));
        let line = &self.text[line_start..header_end];
        let bytes = line.as_bytes();
        let comment = (0..bytes.len()).find(|&i| bytes[i] == b'#' && (i == 0 || matches!(bytes[i - 1], b' ' | b'\t')));
        let code = &bytes[..comment.unwrap_or(bytes.len())];
        (0..code.len())
            .rev()
            .find(|&i| {
                let indicator = code[i] == b'|' || code[i] == b'>';
                let before_ok = i == 0 || matches!(code[i - 1], b' ' | b'\t' | b':' | b'-');
                let rest = &code[i + 1..];
                let header_len = rest.iter().take_while(|b| b.is_ascii_digit() || **b == b'+' || **b == b'-').count();
                let after_ok = rest[header_len..].iter().all(|b| *b == b' ' || *b == b'\t');
                indicator && before_ok && after_ok
            })
            .map(|i| line_start + i)
    }

    /// End of a block scalar's last content line. saphyr's span ends at the next token, past
    /// blank lines and less-indented comment lines that are not part of the scalar.
    pub fn block_scalar_end(&self, content_start: usize, span_end: usize) -> usize {
        let content_indent = {
            let line_start = self.line_start(self.line_of(content_start));
            self.text[line_start..content_start].chars().count()
        };
        let mut end = self.trim_back(content_start, span_end);
        loop {
            let line = self.line_of(end.saturating_sub(1).max(content_start));
            let start = self.line_start(line);
            if start <= content_start {
                return end;
            }
            let text = &self.text[start..end];
            let indent = text.len() - text.trim_start_matches([' ', '\t']).len();
            if text.trim_start().starts_with('#') && indent < content_indent {
                end = self.trim_back(content_start, start);
            } else {
                return end;
            }
        }
    }

    /// The `:` after a mapping key (which may be on a later line for `? key`), else `key_end`.
    pub fn colon_end(&self, key_end: usize, value_start: usize) -> usize {
        let bytes = self.text.as_bytes();
        let mut i = key_end;
        let limit = value_start.max(key_end).min(bytes.len());
        while i < limit {
            match bytes[i] {
                b':' => return i + 1,
                b' ' | b'\t' | b'\n' | b'\r' => i += 1,
                b'#' => i = self.line_end(i),
                _ => break,
            }
        }
        key_end
    }

    /// The `-` of a block sequence item, searching back from the item's start.
    pub fn dash_before(&self, item_start: usize) -> Option<usize> {
        let at = self.trim_back(0, item_start);
        (at > 0 && self.text.as_bytes()[at - 1] == b'-').then(|| at - 1)
    }

    /// End of the first line of a node, without a trailing comment; used to report a node by its
    /// first line.
    pub fn head_end(&self, start: usize, end: usize) -> usize {
        let line_end = self.line_end(start).min(end.max(start));
        let text = &self.text[start..line_end];
        let bytes = text.as_bytes();
        let code_end =
            (1..bytes.len()).find(|&i| bytes[i] == b'#' && matches!(bytes[i - 1], b' ' | b'\t')).unwrap_or(bytes.len());
        self.trim_back(start, start + code_end)
    }
}

/// Whether the line starting at `at` is a document marker, `---` or `...`, alone or before a blank.
fn is_document_indicator(bytes: &[u8], at: usize) -> bool {
    let marker = bytes.get(at..at + 3);
    (marker == Some(b"---") || marker == Some(b"..."))
        && bytes.get(at + 3).is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn floor_char_boundary(text: &str, mut at: usize) -> usize {
    while at > 0 && !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Converts saphyr's character indices into byte offsets. Markers mostly arrive in increasing
/// order, so a cursor that walks from the last answer keeps this linear even on one-line JSON.
pub(super) struct CharCursor<'a> {
    bytes: &'a [u8],
    chars: usize,
    byte: usize,
    /// Every character is one byte: a character index is a byte offset (most manifests).
    ascii: bool,
}

impl<'a> CharCursor<'a> {
    pub fn new(text: &'a str) -> Self {
        CharCursor { bytes: text.as_bytes(), chars: 0, byte: 0, ascii: text.is_ascii() }
    }

    pub fn byte_of(&mut self, char_index: usize) -> usize {
        if self.ascii {
            return char_index.min(self.bytes.len());
        }
        // Eight ASCII characters at a time: manifests are mostly ASCII, with the odd dash or
        // accent in a comment.
        while self.chars + 8 <= char_index
            && self.byte + 8 <= self.bytes.len()
            && word_at(self.bytes, self.byte) & each_byte(0x80) == 0
        {
            self.byte += 8;
            self.chars += 8;
        }
        while self.chars < char_index && self.byte < self.bytes.len() {
            self.byte += 1;
            while self.byte < self.bytes.len() && self.bytes[self.byte] & 0xC0 == 0x80 {
                self.byte += 1;
            }
            self.chars += 1;
        }
        while self.chars > char_index && self.byte > 0 {
            self.byte -= 1;
            while self.byte > 0 && self.bytes[self.byte] & 0xC0 == 0x80 {
                self.byte -= 1;
            }
            self.chars -= 1;
        }
        self.byte
    }
}

#[cfg(test)]
mod tests {
    use super::{line_starts, CharCursor};

    /// Every character index, walked forwards, backwards and in jumps, against `char_indices`:
    /// ASCII runs longer than a word, multi-byte characters at and across word boundaries.
    #[test]
    fn char_cursor_agrees_with_char_indices() {
        let text =
            "name: checkout-api # — the lesson's example ← here\nkey: ünïcödé 🚀 value with a long ascii tail\n€";
        let expected: Vec<usize> = text.char_indices().map(|(at, _)| at).chain([text.len()]).collect();
        let mut cursor = CharCursor::new(text);
        for (index, &byte) in expected.iter().enumerate() {
            assert_eq!(cursor.byte_of(index), byte, "forwards, character {index}");
        }
        for (index, &byte) in expected.iter().enumerate().rev() {
            assert_eq!(cursor.byte_of(index), byte, "backwards, character {index}");
        }
        for step in [3, 7, 8, 9, 17] {
            let mut cursor = CharCursor::new(text);
            for index in (0..expected.len()).step_by(step) {
                assert_eq!(cursor.byte_of(index), expected[index], "steps of {step}, character {index}");
            }
        }
        assert_eq!(CharCursor::new(text).byte_of(expected.len() + 5), text.len(), "past the end");
        let ascii = "kind: Pod\nmetadata: {name: p}\n";
        let mut cursor = CharCursor::new(ascii);
        for index in [0, 5, 3, ascii.len()] {
            assert_eq!(cursor.byte_of(index), index, "ASCII: the character index is the byte offset");
        }
        assert_eq!(cursor.byte_of(ascii.len() + 5), ascii.len(), "ASCII, past the end");
    }

    #[test]
    fn line_starts_after_every_kind_of_line_break() {
        assert_eq!(line_starts(""), [0]);
        assert_eq!(line_starts("a\nb\n"), [0, 2, 4]);
        assert_eq!(line_starts("a\r\nb\rc\n\rd"), [0, 3, 5, 7, 8]);
        assert_eq!(line_starts("\r\n\r\n"), [0, 2, 4]);
    }
}
