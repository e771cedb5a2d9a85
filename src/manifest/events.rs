//! saphyr's event stream written down as bytes and read back. The playground reads the events of
//! the second part of a large paste in a second Web Worker, which shares no memory with the first
//! and can only send it bytes; the first worker builds the tree from those bytes exactly as from
//! the events it reads itself (see [`super::SplitParse`]).
//!
//! Little-endian. First the length and a fingerprint of the text that was read (a log replayed
//! against another text is refused). Then per event: a kind byte, the start and end of its span as byte offsets (`u32`)
//! into the text that was read, then the kind's fields. A scalar's text is a length and either
//! nothing more, when the text is written as is at the span's start (most plain scalars), or the
//! bytes. A syntax error is marked as the last entry. Anything unexpected when reading back
//! (a truncated or foreign log) ends the replay as [`Step::Unreadable`], never a panic.

use std::borrow::Cow;

use saphyr_parser::{Event, Parser, ScalarStyle, ScanError, Tag};

use super::source::CharCursor;

/// saphyr's events of `text`, with spans as byte offsets (saphyr counts characters); a syntax
/// error ends them, with the byte offset where it was found.
pub(super) fn read(text: &str) -> impl Iterator<Item = Result<(Event<'_>, usize, usize), (ScanError, usize)>> {
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

const STREAM_START: u8 = 0;
const STREAM_END: u8 = 1;
const DOCUMENT_START_IMPLICIT: u8 = 2;
const DOCUMENT_START_EXPLICIT: u8 = 3;
const DOCUMENT_END: u8 = 4;
const ALIAS: u8 = 5;
const SCALAR: u8 = 6;
const SEQUENCE_START: u8 = 7;
const SEQUENCE_END: u8 = 8;
const MAPPING_START: u8 = 9;
const MAPPING_END: u8 = 10;
const NOTHING: u8 = 11;
const SYNTAX_ERROR: u8 = 255;

/// Scalar text: written at the span's start as is, or inline.
const TEXT_AT_SPAN: u8 = 0;
const TEXT_INLINE: u8 = 1;

/// The events saphyr reads in `text`, as bytes for [`replay`].
pub fn record(text: &str) -> Vec<u8> {
    // About one event per 16 bytes of manifest, 10 to 20 bytes each.
    let mut log = Log(Vec::with_capacity(text.len()));
    log.offset(text.len());
    log.0.extend_from_slice(&fingerprint(text).to_le_bytes());
    for next in read(text) {
        match next {
            Ok((event, start, end)) => log.event(text, &event, start, end),
            Err(_) => {
                // The reader parses the text itself then, and reports the error as it does.
                log.byte(SYNTAX_ERROR);
                break;
            }
        }
    }
    log.0
}

/// A hash of `text`, eight bytes at a time: tells a log of another text apart (by accident, not
/// against an adversary, who could as well send wrong events).
fn fingerprint(text: &str) -> u64 {
    let bytes = text.as_bytes();
    let mix = |hash: u64, word: u64| (hash ^ word).wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(29);
    let mut words = bytes.chunks_exact(8);
    let mut hash = words
        .by_ref()
        .fold(bytes.len() as u64, |hash, word| mix(hash, u64::from_le_bytes(word.try_into().expect("eight bytes"))));
    for &byte in words.remainder() {
        hash = mix(hash, u64::from(byte));
    }
    hash
}

struct Log(Vec<u8>);

impl Log {
    fn byte(&mut self, byte: u8) {
        self.0.push(byte);
    }

    fn offset(&mut self, value: usize) {
        // Texts are far below 4 GiB (the playground takes 16 MiB); saturating keeps a log of a
        // larger one readable, and its wrong offsets only ever make a span wrong.
        self.0.extend_from_slice(&u32::try_from(value).unwrap_or(u32::MAX).to_le_bytes());
    }

    fn string(&mut self, text: &str) {
        self.offset(text.len());
        self.0.extend_from_slice(text.as_bytes());
    }

    fn tag(&mut self, tag: Option<&Cow<'_, Tag>>) {
        match tag {
            None => self.byte(0),
            Some(tag) => {
                self.byte(1);
                self.string(&tag.handle);
                self.string(&tag.suffix);
            }
        }
    }

    fn event(&mut self, text: &str, event: &Event<'_>, start: usize, end: usize) {
        let kind = match event {
            Event::Nothing => NOTHING,
            Event::StreamStart => STREAM_START,
            Event::StreamEnd => STREAM_END,
            Event::DocumentStart(false) => DOCUMENT_START_IMPLICIT,
            Event::DocumentStart(true) => DOCUMENT_START_EXPLICIT,
            Event::DocumentEnd => DOCUMENT_END,
            Event::Alias(_) => ALIAS,
            Event::Scalar(..) => SCALAR,
            Event::SequenceStart(..) => SEQUENCE_START,
            Event::SequenceEnd => SEQUENCE_END,
            Event::MappingStart(..) => MAPPING_START,
            Event::MappingEnd => MAPPING_END,
        };
        self.byte(kind);
        self.offset(start);
        self.offset(end);
        match event {
            Event::Alias(id) => self.offset(*id),
            Event::Scalar(value, style, anchor, tag) => {
                self.byte(match style {
                    ScalarStyle::Plain => 0,
                    ScalarStyle::SingleQuoted => 1,
                    ScalarStyle::DoubleQuoted => 2,
                    ScalarStyle::Literal => 3,
                    ScalarStyle::Folded => 4,
                });
                self.offset(*anchor);
                self.tag(tag.as_ref());
                if text.get(start..).is_some_and(|rest| rest.starts_with(value.as_ref())) {
                    self.byte(TEXT_AT_SPAN);
                    self.offset(value.len());
                } else {
                    self.byte(TEXT_INLINE);
                    self.string(value);
                }
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                self.offset(*anchor);
                self.tag(tag.as_ref());
            }
            _ => {}
        }
    }
}

/// One entry of a log read back.
pub(super) enum Step<'a> {
    /// An event and its span (byte offsets into the text that was read).
    Event(Event<'a>, usize, usize),
    /// saphyr stopped at a syntax error.
    SyntaxError,
    /// The log is not one [`record`] wrote for this text.
    Unreadable,
}

/// The entries of `log`, which [`record`] wrote for `text`; scalar texts are borrowed from both.
pub(super) fn replay<'a>(log: &'a [u8], text: &'a str) -> Replay<'a> {
    let mut replay = Replay { log, text, at: 0, done: false };
    let header = replay.offset().zip(replay.bytes(8));
    let for_this_text =
        header.is_some_and(|(len, hash)| len == text.len() && hash == fingerprint(text).to_le_bytes().as_slice());
    if !for_this_text {
        replay.at = usize::MAX; // every read fails: the first entry is `Unreadable`
    }
    replay
}

pub(super) struct Replay<'a> {
    log: &'a [u8],
    text: &'a str,
    at: usize,
    done: bool,
}

impl<'a> Replay<'a> {
    fn byte(&mut self) -> Option<u8> {
        let byte = *self.log.get(self.at)?;
        self.at += 1;
        Some(byte)
    }

    fn offset(&mut self) -> Option<usize> {
        let bytes = self.log.get(self.at..self.at.checked_add(4)?)?;
        self.at += 4;
        Some(u32::from_le_bytes(bytes.try_into().ok()?) as usize)
    }

    fn bytes(&mut self, len: usize) -> Option<&'a [u8]> {
        let bytes = self.log.get(self.at..self.at.checked_add(len)?)?;
        self.at += len;
        Some(bytes)
    }

    fn string(&mut self) -> Option<&'a str> {
        let len = self.offset()?;
        std::str::from_utf8(self.bytes(len)?).ok()
    }

    fn tag(&mut self) -> Option<Option<Cow<'a, Tag>>> {
        Some(match self.byte()? {
            0 => None,
            1 => {
                let handle = self.string()?.to_string();
                let suffix = self.string()?.to_string();
                Some(Cow::Owned(Tag { handle, suffix }))
            }
            _ => return None,
        })
    }

    fn step(&mut self) -> Option<Step<'a>> {
        let kind = self.byte()?;
        if kind == SYNTAX_ERROR {
            return Some(Step::SyntaxError);
        }
        let start = self.offset()?;
        let end = self.offset()?;
        let event = match kind {
            NOTHING => Event::Nothing,
            STREAM_START => Event::StreamStart,
            STREAM_END => Event::StreamEnd,
            DOCUMENT_START_IMPLICIT => Event::DocumentStart(false),
            DOCUMENT_START_EXPLICIT => Event::DocumentStart(true),
            DOCUMENT_END => Event::DocumentEnd,
            ALIAS => Event::Alias(self.offset()?),
            SCALAR => {
                let style = match self.byte()? {
                    0 => ScalarStyle::Plain,
                    1 => ScalarStyle::SingleQuoted,
                    2 => ScalarStyle::DoubleQuoted,
                    3 => ScalarStyle::Literal,
                    4 => ScalarStyle::Folded,
                    _ => return None,
                };
                let anchor = self.offset()?;
                let tag = self.tag()?;
                let text = match self.byte()? {
                    TEXT_AT_SPAN => {
                        let len = self.offset()?;
                        self.text.get(start..start.checked_add(len)?)?
                    }
                    TEXT_INLINE => self.string()?,
                    _ => return None,
                };
                Event::Scalar(Cow::Borrowed(text), style, anchor, tag)
            }
            SEQUENCE_START => Event::SequenceStart(self.offset()?, self.tag()?),
            SEQUENCE_END => Event::SequenceEnd,
            MAPPING_START => Event::MappingStart(self.offset()?, self.tag()?),
            MAPPING_END => Event::MappingEnd,
            _ => return None,
        };
        (start <= end && end <= self.text.len()).then_some(Step::Event(event, start, end))
    }
}

impl<'a> Iterator for Replay<'a> {
    type Item = Step<'a>;

    fn next(&mut self) -> Option<Step<'a>> {
        if self.done || self.at == self.log.len() {
            // (A refused log has `at` past its end: its first entry is `Unreadable`.)
            return None;
        }
        let step = self.step().unwrap_or(Step::Unreadable);
        self.done = !matches!(step, Step::Event(..));
        Some(step)
    }
}

#[cfg(test)]
mod tests {
    use super::{record, replay, Step};
    use saphyr_parser::Event;

    /// What the builder reads in `text` itself: what a replay must give back.
    fn read(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for next in super::read(text) {
            match next {
                Ok((event, start, end)) => out.push(format!("{event:?} {start}..{end}")),
                Err(_) => {
                    out.push("syntax error".into());
                    break;
                }
            }
        }
        out
    }

    fn replayed(text: &str) -> Vec<String> {
        let log = record(text);
        replay(&log, text)
            .map(|step| match step {
                Step::Event(event, start, end) => format!("{event:?} {start}..{end}"),
                Step::SyntaxError => "syntax error".into(),
                Step::Unreadable => "unreadable".into(),
            })
            .collect()
    }

    #[test]
    fn a_replay_gives_the_events_saphyr_reads() {
        for text in [
            "",
            "kind: Pod\nmetadata:\n  name: p # comment\n",
            "--- # one\na: 'single ''quoted'''\nb: \"double \\u00e9 \\\"q\\\"\"\n...\n---\nc: |\n  literal\n  text\nd: >-\n  folded\n  text\n",
            "base: &b {x: 1, y: [a, b]}\nuse: *b\n<<: *b\n",
            "!!map {!!str a: !custom b, ? c : d}\n%YAML 1.2\n---\ne: f\n",
            "ünïcödé: 🚀 — ←\r\nkey: 'é'\r\n",
            "a: [1, 2\nb: c\n",
            "key: value\n  bad: indentation\n",
        ] {
            assert_eq!(replayed(text), read(text), "{text:?}");
        }
    }

    #[test]
    fn plain_scalars_point_into_the_text() {
        let text = "kind: ServiceAccount\nmetadata:\n  name: default\n";
        let log = record(text);
        assert!(!log.windows(7).any(|w| w == b"default"), "no scalar text is copied into the log");
        let quoted = record("name: \"default\"\n");
        assert!(quoted.windows(7).any(|w| w == b"default"), "a quoted scalar's text is inline");
    }

    #[test]
    fn a_damaged_log_is_unreadable_not_a_panic() {
        let text = "kind: Pod\nmetadata: {name: p, labels: {a: 'b'}}\nspec: [&y x, *y]\n";
        let log = record(text);
        for cut in 0..log.len() {
            let steps: Vec<Step<'_>> = replay(&log[..cut], text).collect();
            assert!(steps.iter().all(|s| !matches!(s, Step::SyntaxError)), "cut at {cut}");
        }
        let mut foreign = log.clone();
        for byte in foreign.iter_mut().step_by(3) {
            *byte = byte.wrapping_add(97);
        }
        let _ = replay(&foreign, text).count();
        // A log of another text, shorter or of the same length.
        assert!(matches!(replay(&log, "k").next(), Some(Step::Unreadable)));
        let same_length = text.replace("Pod", "Job");
        assert!(matches!(replay(&log, &same_length).next(), Some(Step::Unreadable)));
        assert!(matches!(
            replay(&record(&same_length), &same_length).next(),
            Some(Step::Event(Event::StreamStart, ..))
        ));
        assert!(matches!(replay(&[SCALAR_BYTE], text).next(), Some(Step::Unreadable)));
        assert!(matches!(replay(&log, text).last(), Some(Step::Event(Event::StreamEnd, ..))));
    }

    const SCALAR_BYTE: u8 = super::SCALAR;
}
