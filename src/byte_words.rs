//! Byte searches eight bytes at a time, for text with frequent stops (a JSON string per `env`
//! entry, an escape on every line of configuration text), where memchr's searches (four bytes at
//! a time on wasm32, with set-up on each call) cost more than they save.

const LOW_BITS: u64 = u64::from_ne_bytes([0x7f; 8]);

/// `byte` in each of the eight bytes of a word.
pub(crate) const fn each_byte(byte: u8) -> u64 {
    u64::from_ne_bytes([byte; 8])
}

/// The high bit of every byte of `word` that is zero, and of no other byte (no carries between
/// bytes, so more than one match in a word is told apart).
pub(crate) const fn zero_bytes(word: u64) -> u64 {
    !(((word & LOW_BITS).wrapping_add(LOW_BITS)) | word | LOW_BITS)
}

/// The eight bytes from `at`, the first one in the lowest bits.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(bytes[at..at + 8].try_into().expect("eight bytes"))
}

/// The index in a word of the byte whose high bit is the lowest set in `hits`.
pub(crate) fn first_hit(hits: u64) -> usize {
    hits.trailing_zeros() as usize / 8
}

/// Where `bytes` first has `a` or `b`.
pub(crate) fn find_either(bytes: &[u8], a: u8, b: u8) -> Option<usize> {
    let mut at = 0;
    while at + 8 <= bytes.len() {
        let word = word_at(bytes, at);
        let hits = zero_bytes(word ^ each_byte(a)) | zero_bytes(word ^ each_byte(b));
        if hits != 0 {
            return Some(at + first_hit(hits));
        }
        at += 8;
    }
    bytes[at..].iter().position(|&c| c == a || c == b).map(|found| at + found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_bytes_marks_exactly_the_zero_bytes() {
        for (word, expected) in [
            ([0u8, 1, 0x80, 0xff, 0, 0x7f, 0x01, 0], [true, false, false, false, true, false, false, true]),
            ([0x80, 0, 0x80, 0, 0xff, 0, 0xff, 0], [false, true, false, true, false, true, false, true]),
            ([1; 8], [false; 8]),
            ([0; 8], [true; 8]),
        ] {
            let marks = zero_bytes(u64::from_le_bytes(word)).to_le_bytes().map(|b| b == 0x80);
            assert_eq!(marks, expected, "{word:?}");
        }
    }

    #[test]
    fn find_either_finds_the_first_of_two_bytes_at_any_position() {
        for len in 0..=20 {
            for first in 0..=len {
                for (a, b, other) in [(b'"', b'\\', b'x'), (0, 0xff, 0x80)] {
                    let mut bytes = vec![other; len];
                    for (i, byte) in bytes.iter_mut().enumerate().skip(first) {
                        // from `first` on, `a` and `b` in turn, so both are found in every position
                        *byte = if (i - first) % 2 == 0 { a } else { b };
                    }
                    let expected = (first < len).then_some(first);
                    assert_eq!(find_either(&bytes, a, b), expected, "{bytes:?}");
                    assert_eq!(find_either(&bytes, b, a), expected, "{bytes:?}");
                }
            }
        }
    }
}
