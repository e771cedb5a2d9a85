//! Scalar resolution as Kubernetes reads YAML: sigs.k8s.io/yaml decodes with go-yaml v2, whose
//! resolver is YAML 1.1-flavoured (`yes`/`no`/`on`/`off`/`y`/`n` are booleans, `0x1F` and `017` are
//! integers, `_` separators are ignored, `2024-01-02` is a timestamp), and then converts the
//! result to JSON. Quoted scalars are always strings.

use std::borrow::Cow;

use saphyr_parser::{ScalarStyle, Tag};
use serde_json::{Number, Value};

const CORE_TAG_HANDLE: &str = "tag:yaml.org,2002:";

/// The core-schema tag of a node (`str`, `int`, ...), `Some("")` for a non-core tag (which
/// go-yaml leaves as a string), `None` when untagged.
pub(super) fn core_tag(tag: Option<&Tag>) -> Option<&str> {
    let tag = tag?;
    if tag.handle == CORE_TAG_HANDLE || tag.handle == "!!" {
        Some(tag.suffix.as_str())
    } else {
        Some("")
    }
}

/// Resolves one scalar to its JSON value, or explains why Kubernetes would reject it.
/// Takes the parser's text by value so that strings, the common case, are moved, not copied.
pub(super) fn resolve(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Tag>) -> Result<Value, String> {
    match core_tag(tag) {
        // A non-specific `!` or a custom tag: go-yaml keeps the text.
        Some("") | Some("str") | Some("binary") => Ok(Value::String(exact(text))),
        None if style != ScalarStyle::Plain => Ok(Value::String(exact(text))),
        None => Ok(resolve_plain_typed(&text)?.unwrap_or_else(|| Value::String(exact(text)))),
        Some(wanted @ ("bool" | "int" | "float" | "null" | "timestamp" | "merge")) => {
            let resolved = resolve_plain(&text)?;
            let matches = match (wanted, &resolved) {
                ("bool", Value::Bool(_)) | ("null", Value::Null) => true,
                ("int", Value::Number(n)) => n.is_i64() || n.is_u64(),
                ("float", Value::Number(n)) => {
                    return Ok(Value::Number(float_as_json(n.as_f64().unwrap_or(0.0)).unwrap_or(n.clone())))
                }
                ("timestamp", Value::String(s)) => *s != *text,
                ("merge", Value::String(s)) => s == "<<",
                _ => false,
            };
            if matches {
                Ok(resolved)
            } else {
                Err(format!("cannot decode `{text}` as a !!{wanted}"))
            }
        }
        Some(other) => Err(format!("a scalar cannot have the tag !!{other}")),
    }
}

/// The scalar's text as a string of its own size: saphyr builds most scalars character by
/// character, with up to twice the room they need, and a cluster's dump keeps millions of them.
fn exact(text: Cow<'_, str>) -> String {
    let mut text = text.into_owned();
    text.shrink_to_fit();
    text
}

/// go-yaml v2's `resolve` for an untagged plain scalar, then the JSON conversion.
pub(super) fn resolve_plain(text: &str) -> Result<Value, String> {
    Ok(resolve_plain_typed(text)?.unwrap_or_else(|| Value::String(text.to_owned())))
}

/// [`resolve_plain`], with `None` for a string.
fn resolve_plain_typed(text: &str) -> Result<Option<Value>, String> {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Ok(Some(Value::Null)),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Ok(Some(Value::Bool(true)))
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Ok(Some(Value::Bool(false)))
        }
        ".nan" | ".NaN" | ".NAN" | ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf"
        | "-.INF" => {
            return Err(format!("`{text}` is not a finite number, which JSON (and so Kubernetes) cannot represent"));
        }
        _ => {}
    }
    let first = text.as_bytes()[0];
    if first == b'.' {
        if is_yaml_style_float(text) {
            if let Ok(f) = text.parse::<f64>() {
                return float_value(text, f).map(Some);
            }
        }
        return Ok(None);
    }
    if !(first.is_ascii_digit() || first == b'+' || first == b'-') {
        return Ok(None);
    }
    if let Some(timestamp) = date_only_timestamp(text) {
        return Ok(Some(Value::String(timestamp)));
    }
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(n) = parse_go_int(&plain) {
        return Ok(Some(Value::Number(n)));
    }
    if is_yaml_style_float(&plain) {
        if let Ok(f) = plain.parse::<f64>() {
            return float_value(text, f).map(Some);
        }
    }
    Ok(None)
}

fn float_value(text: &str, f: f64) -> Result<Value, String> {
    float_as_json(f)
        .map(Value::Number)
        .ok_or_else(|| format!("`{text}` is not a finite number, which JSON (and so Kubernetes) cannot represent"))
}

/// Go's JSON encoder writes integral floats without a fraction (`8`, not `8.0`), and Kubernetes
/// then reads them back as integers: do the same so that `3600.0` compares equal to `3600`.
pub(super) fn float_as_json(f: f64) -> Option<Number> {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e21 && f >= i64::MIN as f64 && f <= i64::MAX as f64 {
        return Some(Number::from(f as i64));
    }
    Number::from_f64(f)
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - start
    };
    if i < b.len() && b[i] == b'.' {
        i += 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            digits(&mut i);
        }
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`, plus go-yaml's `0b` forms:
/// optional sign, `0x`/`0o`/`0b` prefixes, and a leading `0` meaning octal.
fn parse_go_int(s: &str) -> Option<Number> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(rest) = unsigned.strip_prefix("0x").or_else(|| unsigned.strip_prefix("0X")) {
        (16, rest)
    } else if let Some(rest) = unsigned.strip_prefix("0o").or_else(|| unsigned.strip_prefix("0O")) {
        (8, rest)
    } else if let Some(rest) = unsigned.strip_prefix("0b").or_else(|| unsigned.strip_prefix("0B")) {
        (2, rest)
    } else if unsigned.len() > 1 && unsigned.starts_with('0') {
        (8, &unsigned[1..])
    } else {
        (10, unsigned)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            Some(Number::from((magnitude as i128).wrapping_neg() as i64))
        } else {
            None
        }
    } else if magnitude <= i64::MAX as u64 {
        Some(Number::from(magnitude as i64))
    } else {
        Some(Number::from(magnitude))
    }
}

/// go-yaml v2 turns `YYYY-M-D` into a `time.Time`, which JSON then renders as RFC 3339
/// (`2024-01-02` → `2024-01-02T00:00:00Z`). Timestamps with a time part are kept as written.
fn date_only_timestamp(s: &str) -> Option<String> {
    let mut parts = s.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || year.len() != 4 || !(1..=2).contains(&month.len()) || !(1..=2).contains(&day.len()) {
        return None;
    }
    if ![year, month, day].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let (y, m, d): (u32, u32, u32) = (year.parse().ok()?, month.parse().ok()?, day.parse().ok()?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&d).then(|| format!("{y:04}-{m:02}-{d:02}T00:00:00Z"))
}

/// A mapping key as a JSON object key, as sigs.k8s.io/yaml converts them.
pub(super) fn key_string(key: Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Null => Err("a mapping key is null; Kubernetes objects only have string keys".into()),
        Value::Array(_) | Value::Object(_) => {
            Err("a mapping key is a collection; Kubernetes objects only have string keys".into())
        }
    }
}

/// Whether `s` can be written as a plain scalar and read back as the same string, by go-yaml v2
/// and by any YAML 1.2 parser. `flow` also forbids the flow indicators.
pub(super) fn plain_is_safe(s: &str, flow: bool) -> bool {
    let Some(first) = s.chars().next() else { return false };
    if "-?:,[]{}#&*!|>'\"%@`".contains(first)
        && !(matches!(first, '-' | '?' | ':') && s.len() > 1 && !s[1..].starts_with([' ', '\t']))
    {
        return false;
    }
    if s.starts_with([' ', '\t'])
        || s.ends_with([' ', '\t', ':'])
        || s.contains(": ")
        || s.contains(" #")
        || s.contains(":\t")
    {
        return false;
    }
    if s.chars().any(|c| c.is_control() || c == '\u{FEFF}' || c == '\u{85}' || c == '\u{2028}' || c == '\u{2029}') {
        return false;
    }
    if flow && s.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    // Must not read back as anything else, under go-yaml v2's rules or YAML 1.2's core schema.
    if resolve_plain(s) != Ok(Value::String(s.to_owned())) {
        return false;
    }
    let lower = s.to_ascii_lowercase();
    !(matches!(lower.as_str(), "true" | "false" | "null" | "~" | ".inf" | ".nan" | "+.inf" | "-.inf")
        || s.parse::<f64>().is_ok())
}

/// A scalar value as YAML text: plain when that reads back identically, else a JSON string
/// (JSON's escapes are a subset of YAML's double-quoted ones).
pub(super) fn render_scalar(value: &Value, flow: bool) -> String {
    match value {
        Value::String(s) if plain_is_safe(s, flow) => s.clone(),
        Value::String(s) => serde_json::to_string(s).expect("strings serialize"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn yaml_1_1_plain_scalars_resolve_as_go_yaml_v2() {
        let cases = [
            ("yes", json!(true)),
            ("Off", json!(false)),
            ("y", json!(true)),
            ("N", json!(false)),
            ("~", json!(null)),
            ("", json!(null)),
            ("0x1F", json!(31)),
            ("017", json!(15)),
            ("0o17", json!(15)),
            ("0b101", json!(5)),
            ("-0b101", json!(-5)),
            ("1_000", json!(1000)),
            ("+12", json!(12)),
            ("08", json!(8)),
            ("1.5", json!(1.5)),
            ("3600.0", json!(3600)),
            ("1e3", json!(1000)),
            (".5", json!(0.5)),
            ("18446744073709551615", json!(18446744073709551615u64)),
            ("-9223372036854775808", json!(i64::MIN)),
            ("2024-01-02", json!("2024-01-02T00:00:00Z")),
            ("2024-02-30", json!("2024-02-30")),
            ("1.2.3", json!("1.2.3")),
            ("yesno", json!("yesno")),
            ("0x", json!("0x")),
            ("-", json!("-")),
            ("<<", json!("<<")),
        ];
        for (text, expected) in cases {
            assert_eq!(resolve_plain(text), Ok(expected), "{text:?}");
        }
        assert_eq!(
            resolve_plain(".inf").unwrap_err(),
            "`.inf` is not a finite number, which JSON (and so Kubernetes) cannot represent"
        );
    }

    #[test]
    fn tags_force_or_reject_a_type() {
        let tag = |suffix: &str| Tag { handle: CORE_TAG_HANDLE.into(), suffix: suffix.into() };
        assert_eq!(resolve("yes".into(), ScalarStyle::Plain, Some(&tag("str"))), Ok(json!("yes")));
        assert_eq!(resolve("5".into(), ScalarStyle::DoubleQuoted, Some(&tag("int"))), Ok(json!(5)));
        assert_eq!(resolve("5".into(), ScalarStyle::Plain, Some(&tag("float"))), Ok(json!(5)));
        assert_eq!(
            resolve("five".into(), ScalarStyle::Plain, Some(&tag("int"))),
            Err("cannot decode `five` as a !!int".into())
        );
        assert_eq!(resolve("yes".into(), ScalarStyle::SingleQuoted, None), Ok(json!("yes")));
        let custom = Tag { handle: "!".into(), suffix: "thing".into() };
        assert_eq!(resolve("12".into(), ScalarStyle::Plain, Some(&custom)), Ok(json!("12")));
    }

    #[test]
    fn rendered_scalars_read_back_as_the_same_value() {
        for s in [
            "plain",
            "yes",
            "",
            "12",
            "a: b",
            "#x",
            "- x",
            "-x",
            "x #y",
            "line\nbreak",
            "tab\tin",
            "1e3",
            "null",
            "a,b",
            "2024-01-02",
        ] {
            let rendered = render_scalar(&json!(s), true);
            let style = if rendered.starts_with('"') { ScalarStyle::DoubleQuoted } else { ScalarStyle::Plain };
            let text: String =
                if style == ScalarStyle::Plain { rendered.clone() } else { serde_json::from_str(&rendered).unwrap() };
            assert_eq!(resolve(text.into(), style, None), Ok(json!(s)), "{s:?} rendered as {rendered}");
        }
        assert_eq!(render_scalar(&json!("order-api-sa"), false), "order-api-sa");
        assert_eq!(render_scalar(&json!("yes"), false), "\"yes\"");
        assert_eq!(render_scalar(&json!(false), false), "false");
    }
}
