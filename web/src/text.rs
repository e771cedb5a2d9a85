//! Text positions: 1-based line/column (characters) to UTF-16 offsets, and the smallest edit
//! between a text and its fixed version.

use std::borrow::Cow;

/// Line starts of a text ([`sa_guard::manifest::line_starts`]), and where it has characters beyond ASCII (for UTF-16
/// offsets). Lines and columns are counted as `sa_guard::manifest` counts them: line breaks are
/// `\n`, `\r\n` and a lone `\r` (as in YAML, and as CodeMirror splits lines), columns are
/// characters, and a byte-order mark takes no column.
pub struct LineIndex<'t> {
    text: &'t str,
    /// Byte offset of each line's first character.
    starts: Cow<'t, [usize]>,
    /// Each character beyond ASCII: its byte offset, and by how much the UTF-16 offset of what
    /// follows it falls behind the byte offset (a paste is megabytes of mostly ASCII).
    wide: Vec<(usize, usize)>,
}

const BOM: char = '\u{FEFF}';
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

impl<'t> LineIndex<'t> {
    /// (The adapter takes the line starts the parser found: [`LineIndex::with_line_starts`].)
    #[cfg(test)]
    pub fn new(text: &'t str) -> Self {
        LineIndex::with_line_starts(text, Cow::Owned(sa_guard::manifest::line_starts(text)))
    }

    /// The index of `text`, whose line starts the caller has already found.
    pub fn with_line_starts(text: &'t str, starts: Cow<'t, [usize]>) -> Self {
        let bytes = text.as_bytes();
        let mut wide = Vec::new();
        let mut behind = 0;
        let mut at = 0;
        while at < bytes.len() {
            // Eight ASCII bytes at a time.
            if let Some(word) = bytes.get(at..at + 8) {
                if u64::from_le_bytes(word.try_into().expect("eight bytes")) & HIGH_BITS == 0 {
                    at += 8;
                    continue;
                }
            }
            let (len, units) = match bytes[at] {
                0..=0x7F => (1, 1),
                0xF0.. => (4, 2),
                0xE0.. => (3, 1),
                _ => (2, 1),
            };
            if len > 1 {
                behind += len - units;
                wide.push((at, behind));
            }
            at += len;
        }
        LineIndex { text, starts, wide }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset where a 0-based line starts (the text's end past the last line).
    pub fn line_start(&self, index: usize) -> usize {
        self.starts.get(index).copied().unwrap_or(self.text.len())
    }

    /// The text of a line (0-based index) without its line break.
    pub fn line_text(&self, index: usize) -> &'t str {
        let start = self.starts[index];
        let end = self.starts.get(index + 1).copied().unwrap_or(self.text.len());
        let line = &self.text[start..end];
        line.strip_suffix("\r\n")
            .or_else(|| line.strip_suffix('\n'))
            .or_else(|| line.strip_suffix('\r'))
            .unwrap_or(line)
    }

    /// UTF-16 offset of a 1-based line and character column. Past the end of a line means the
    /// end of that line; past the last line means the end of the text.
    pub fn utf16_offset(&self, line: usize, column: usize) -> usize {
        let index = line.max(1) - 1;
        if index >= self.starts.len() {
            return self.text.encode_utf16().count();
        }
        let mut offset = self.utf16_at_byte(self.starts[index]);
        let mut remaining = column.max(1) - 1;
        for c in self.line_text(index).chars() {
            if c != BOM {
                if remaining == 0 {
                    break;
                }
                remaining -= 1;
            }
            offset += c.len_utf16();
        }
        offset
    }

    fn line_of_byte(&self, byte: usize) -> usize {
        self.starts.partition_point(|&start| start <= byte).saturating_sub(1)
    }

    /// UTF-16 offset of a byte offset (which must be on a character boundary).
    pub fn utf16_at_byte(&self, byte: usize) -> usize {
        let before = self.wide.partition_point(|&(at, _)| at < byte);
        byte - before.checked_sub(1).map_or(0, |last| self.wide[last].1)
    }

    /// 1-based line and character column of a byte offset.
    pub fn line_column(&self, byte: usize) -> (usize, usize) {
        let index = self.line_of_byte(byte);
        (index + 1, self.text[self.starts[index]..byte].chars().filter(|&c| c != BOM).count() + 1)
    }
}

/// The single replacement that turns `before` into `after`: `(start, end, insert)` with
/// `before[..start] + insert + before[end..] == after`, on character boundaries.
pub fn minimal_edit<'a>(before: &str, after: &'a str) -> (usize, usize, &'a str) {
    let (b, a) = (before.as_bytes(), after.as_bytes());
    let mut prefix = b.iter().zip(a).take_while(|(x, y)| x == y).count();
    while !before.is_char_boundary(prefix) || !after.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let max_suffix = b.len().min(a.len()) - prefix;
    let mut suffix = b.iter().rev().zip(a.iter().rev()).take(max_suffix).take_while(|(x, y)| x == y).count();
    while !before.is_char_boundary(b.len() - suffix) || !after.is_char_boundary(a.len() - suffix) {
        suffix -= 1;
    }
    (prefix, b.len() - suffix, &after[prefix..a.len() - suffix])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_offsets_count_astral_characters_twice() {
        let text = "a: é\nb: 🚀x\r\nc: 1";
        let lines = LineIndex::new(text);
        assert_eq!(lines.utf16_offset(1, 4), 3);
        assert_eq!(lines.utf16_offset(2, 1), 5);
        // "b: 🚀" is 5 UTF-16 units, so column 5 ("x") is at 5 + 5
        assert_eq!(lines.utf16_offset(2, 5), 10);
        // column past the end stops before "\r\n"
        assert_eq!(lines.utf16_offset(2, 40), 11);
        assert_eq!(lines.utf16_offset(3, 1), 13);
        assert_eq!(lines.utf16_offset(9, 1), 17);
        let x = text.find('x').unwrap();
        assert_eq!(lines.utf16_at_byte(x), 10);
        assert_eq!(lines.line_column(x), (2, 5));
    }

    #[test]
    fn lone_carriage_returns_break_lines_and_a_bom_takes_no_column() {
        let text = "\u{FEFF}a: 1\rb: 2\r\nc: 3";
        let lines = LineIndex::new(text);
        assert_eq!(lines.line_count(), 3);
        assert_eq!(lines.utf16_offset(1, 1), 1);
        assert_eq!(lines.utf16_offset(2, 1), 6);
        assert_eq!(lines.utf16_offset(3, 4), 15);
        assert_eq!(lines.line_text(1), "b: 2");
        assert_eq!(lines.line_column(text.find('a').unwrap()), (1, 1));
    }

    #[test]
    fn line_starts_and_utf16_offsets_match_a_count_by_characters() {
        let long =
            "ascii words long enough for a few eight-byte steps — then é, 🚀 and ß\nmore ascii text here, then 𝄞\n";
        for text in
            ["", "a", "\n", "\r", "\r\n\r", "é\n🚀\r\nx\ry", "\u{FEFF}ß𝄞\u{7FF}\u{800}\u{FFFF}\u{10000}\n\n", long]
        {
            let lines = LineIndex::new(text);
            let (mut starts, mut starts_utf16, mut utf16) = (vec![0], vec![0], 0);
            for (i, c) in text.char_indices() {
                utf16 += c.len_utf16();
                if c == '\n' || (c == '\r' && !text[i + 1..].starts_with('\n')) {
                    starts.push(i + 1);
                    starts_utf16.push(utf16);
                }
            }
            let line_starts_utf16: Vec<usize> = lines.starts.iter().map(|&at| lines.utf16_at_byte(at)).collect();
            assert_eq!((lines.starts.to_vec(), line_starts_utf16), (starts, starts_utf16), "{text:?}");
            for (at, _) in text.char_indices().chain([(text.len(), ' ')]) {
                assert_eq!(lines.utf16_at_byte(at), text[..at].encode_utf16().count(), "{text:?} at {at}");
            }
        }
    }

    #[test]
    fn minimal_edit_is_one_replacement_on_char_boundaries() {
        assert_eq!(minimal_edit("a: 1\nb: 2\n", "a: 1\nb: 3\n"), (8, 9, "3"));
        assert_eq!(minimal_edit("x\n", "x\ny: false\n"), (2, 2, "y: false\n"));
        assert_eq!(minimal_edit("same", "same"), (4, 4, ""));
        // é and è share their first UTF-8 byte: the edit must not split it
        assert_eq!(minimal_edit("é", "è"), (0, 2, "è"));
        // repeated text: prefix and suffix must not overlap
        assert_eq!(minimal_edit("aa", "aaa"), (2, 2, "a"));
    }
}
