//! YAML to JSON the way `kubectl` does it before anything reaches the API server.
//!
//! kubectl converts manifests with `sigs.k8s.io/yaml`, which resolves plain scalars by YAML 1.1
//! rules: `yes`/`no`/`on`/`off` are booleans and `0644` is the octal number 420. The policy then
//! sees JSON. This module reproduces that resolution on top of saphyr's parser (which resolves by
//! YAML 1.2 rules, so scalars are kept unresolved and resolved here), keeps the line of every
//! object for reports, and expands `kind: List` like kubectl.

use saphyr::{MarkedYaml, ScalarStyle, Tag, YamlData, YamlLoader};
use serde_json::{Map, Number, Value};

/// One Kubernetes object of a manifest, with where it starts (1-based line).
#[derive(Debug, Clone, PartialEq)]
pub struct Located {
    pub line: usize,
    pub value: Value,
}

/// How unquoted scalars are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Schema {
    /// YAML 1.1, as kubectl (`sigs.k8s.io/yaml`): `yes`/`off` are booleans, `0644` is octal.
    Kubectl,
    /// YAML 1.2 core schema, as kwctl reads settings and replay files (serde_yaml): only
    /// `true`/`false` are booleans, `0644` is 644.
    Core,
}

fn load(text: &str) -> Result<Vec<MarkedYaml<'_>>, String> {
    let mut parser = saphyr_parser::Parser::new_from_str(text);
    let mut loader: YamlLoader<'_, MarkedYaml<'_>> = YamlLoader::default();
    // Keep scalars as written: they are resolved here, by the schema the reader uses.
    loader.early_parse(false);
    parser.load(&mut loader, true).map_err(|e| format!("invalid YAML: {e}"))?;
    if let Some(e) = loader.error() {
        return Err(format!("invalid YAML: {e}"));
    }
    Ok(loader.into_documents())
}

/// Every document of `text` as JSON, empty documents left out.
pub fn documents(text: &str, schema: Schema) -> Result<Vec<Located>, String> {
    let mut out = Vec::new();
    for doc in load(text)? {
        let value = to_json(&doc, schema)?;
        if !value.is_null() {
            out.push(Located { line: doc.span.start.line(), value });
        }
    }
    Ok(out)
}

/// The single document of `text` (null when empty) and the local tag on its root node, e.g.
/// `KubernetesGetResource` for `!KubernetesGetResource` (how serde_yaml writes an enum variant).
pub fn tagged_document(text: &str, schema: Schema) -> Result<(Option<String>, Value), String> {
    let docs = load(text)?;
    let Some(doc) = docs.first() else { return Ok((None, Value::Null)) };
    if docs.len() > 1 {
        return Err(format!("expected one YAML document, found {}", docs.len()));
    }
    let tag = match &doc.data {
        YamlData::Tagged(tag, _) if tag.handle == "!" => Some(tag.suffix.clone()),
        _ => None,
    };
    Ok((tag, to_json(doc, schema)?))
}

/// The Kubernetes objects of a manifest, read as kubectl reads them: every non-empty document,
/// `List` kinds expanded into their items. A document that is not a mapping is an error.
pub fn objects(text: &str) -> Result<Vec<Located>, String> {
    let mut out = Vec::new();
    for doc in load(text)? {
        let line = doc.span.start.line();
        let value = to_json(&doc, Schema::Kubectl)?;
        match value {
            Value::Null => {}
            Value::Object(ref map) if is_list(map) => {
                let items = list_items(&doc);
                for (index, item) in map["items"].as_array().into_iter().flatten().enumerate() {
                    let item_line = items.get(index).copied().unwrap_or(line);
                    if !item.is_object() {
                        return Err(format!("line {item_line}: a List item must be a mapping (a Kubernetes object)"));
                    }
                    out.push(Located { line: item_line, value: item.clone() });
                }
            }
            Value::Object(_) => out.push(Located { line, value }),
            other => {
                return Err(format!(
                    "line {line}: a document must be a mapping (a Kubernetes object), found {}",
                    describe(&other)
                ))
            }
        }
    }
    Ok(out)
}

fn is_list(map: &Map<String, Value>) -> bool {
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    kind.ends_with("List") && map.get("items").is_some_and(Value::is_array)
}

/// Lines of the items of a `List` document.
fn list_items(doc: &MarkedYaml<'_>) -> Vec<usize> {
    let YamlData::Mapping(map) = &doc.data else { return Vec::new() };
    map.iter()
        .find(|(k, _)| scalar_text(k) == Some("items"))
        .and_then(|(_, v)| match &v.data {
            YamlData::Sequence(items) => Some(items.iter().map(|i| i.span.start.line()).collect()),
            _ => None,
        })
        .unwrap_or_default()
}

fn scalar_text<'a>(node: &'a MarkedYaml<'_>) -> Option<&'a str> {
    match &node.data {
        YamlData::Representation(text, _, _) => Some(text),
        _ => None,
    }
}

fn describe(value: &Value) -> &'static str {
    match value {
        Value::Null => "nothing",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a sequence",
        Value::Object(_) => "a mapping",
    }
}

fn to_json(node: &MarkedYaml<'_>, schema: Schema) -> Result<Value, String> {
    match &node.data {
        YamlData::Representation(text, style, tag) => Ok(scalar(text, *style, tag.as_deref(), schema)),
        // Only produced with early parsing, which is off; kept total for safety.
        YamlData::Value(v) => Ok(match v {
            saphyr::Scalar::Null => Value::Null,
            saphyr::Scalar::Boolean(b) => Value::Bool(*b),
            saphyr::Scalar::Integer(i) => Value::from(*i),
            saphyr::Scalar::FloatingPoint(f) => {
                Number::from_f64(f.into_inner()).map(Value::Number).unwrap_or(Value::Null)
            }
            saphyr::Scalar::String(s) => Value::String(s.to_string()),
        }),
        YamlData::Sequence(items) => {
            items.iter().map(|i| to_json(i, schema)).collect::<Result<Vec<_>, _>>().map(Value::Array)
        }
        YamlData::Mapping(map) => {
            let mut out = Map::new();
            for (key, value) in map.iter() {
                let key_text = match to_json(key, schema)? {
                    Value::String(s) => s,
                    Value::Null => "null".to_string(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    _ => {
                        return Err(format!(
                            "line {}: mapping keys must be scalars (JSON has only string keys)",
                            key.span.start.line()
                        ))
                    }
                };
                if key_text == "<<" {
                    return Err(format!("line {}: YAML merge keys (<<) are not supported", key.span.start.line()));
                }
                out.insert(key_text, to_json(value, schema)?);
            }
            Ok(Value::Object(out))
        }
        YamlData::Tagged(tag, inner) => match &inner.data {
            YamlData::Representation(text, style, _) => Ok(scalar(text, *style, Some(tag), schema)),
            _ => to_json(inner, schema),
        },
        YamlData::Alias(_) => Err(format!("line {}: unresolved YAML alias", node.span.start.line())),
        YamlData::BadValue => Err(format!("line {}: invalid YAML value", node.span.start.line())),
    }
}

/// `str`, `int`... for the `!!` core tags.
fn core_tag(tag: &Tag) -> Option<&str> {
    (tag.handle == "tag:yaml.org,2002:" || tag.handle == "!!").then_some(tag.suffix.as_str())
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, schema: Schema) -> Value {
    match tag.and_then(core_tag) {
        Some("str") | Some("binary") | Some("timestamp") => return Value::String(text.to_string()),
        Some("null") => return Value::Null,
        Some("bool") => return bool_of(text).map(Value::Bool).unwrap_or_else(|| Value::String(text.into())),
        Some("int") => return int_of(text).map(Value::from).unwrap_or_else(|| Value::String(text.into())),
        Some("float") => {
            return float_of(text)
                .or_else(|| int_of(text).map(|i| i as f64))
                .and_then(Number::from_f64)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(text.into()))
        }
        _ => {}
    }
    match (style, schema) {
        (ScalarStyle::Plain, Schema::Kubectl) => resolve_plain(text),
        (ScalarStyle::Plain, Schema::Core) => resolve_core(text),
        _ => Value::String(text.to_string()),
    }
}

/// YAML 1.2 core schema resolution of an unquoted scalar.
pub fn resolve_core(text: &str) -> Value {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let integer = if let Some(octal) = text.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok()
    } else if let Some(hex) = text.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) {
        text.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = integer {
        return Value::from(i);
    }
    if let Some(n) = float_of(text).and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

/// YAML 1.1 resolution of an unquoted scalar, as `sigs.k8s.io/yaml` (go-yaml v2) does it.
pub fn resolve_plain(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(b) = bool_of(text) {
        return Value::Bool(b);
    }
    if let Some(i) = int_of(text) {
        return Value::from(i);
    }
    if let Some(n) = float_of(text).and_then(Number::from_f64) {
        return Value::Number(n);
    }
    Value::String(text.to_string())
}

fn bool_of(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => Some(true),
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => Some(false),
        _ => None,
    }
}

/// Decimal, `0x` hex, `0b` binary and leading-zero octal, with `_` separators.
fn int_of(text: &str) -> Option<i64> {
    let (negative, digits) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() || digits.starts_with('_') {
        return None;
    }
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    let (radix, body) = if let Some(hex) = clean.strip_prefix("0x") {
        (16, hex.to_string())
    } else if let Some(bin) = clean.strip_prefix("0b") {
        (2, bin.to_string())
    } else if clean.len() > 1 && clean.starts_with('0') {
        (8, clean[1..].to_string())
    } else {
        (10, clean)
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i64::from_str_radix(&body, radix).ok()?;
    Some(if negative { -magnitude } else { magnitude })
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`; `.inf` and `.nan` have no JSON form and
/// stay strings.
fn float_of(text: &str) -> Option<f64> {
    let body = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (mantissa, exponent) = match body.find(['e', 'E']) {
        Some(i) => (&body[..i], Some(&body[i + 1..])),
        None => (body, None),
    };
    let (int_part, frac_part) = match mantissa.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (mantissa, None),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let mantissa_ok = match frac_part {
        Some(f) if int_part.is_empty() => !f.is_empty() && digits(f),
        Some(f) => !int_part.is_empty() && digits(int_part) && digits(f),
        None => !int_part.is_empty() && digits(int_part) && exponent.is_some(),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    if !(mantissa_ok && exponent_ok) {
        return None;
    }
    text.parse::<f64>().ok().filter(|f| f.is_finite())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn kubectl_scalar_resolution() {
        // YAML 1.1 as go-yaml v2: even the key `n` is the boolean false (so JSON gets "false").
        let docs = documents(
            "a: yes\nb: \"yes\"\nc: off\nd: 0644\ne: 0x1F\nf: 1_000\ng: 1.5\nh: ~\ni:\nj: '010'\nk: 1e3\nl: .inf\nm: !!str 12\nneg: -7\no: 12abc\nn: 1\n",
            Schema::Kubectl,
        )
        .unwrap();
        assert_eq!(
            docs[0].value,
            json!({"a": true, "b": "yes", "c": false, "d": 420, "e": 31, "f": 1000, "g": 1.5, "h": null, "i": null,
                   "j": "010", "k": 1000.0, "l": ".inf", "m": "12", "neg": -7, "o": "12abc", "false": 1})
        );
    }

    #[test]
    fn documents_keep_their_line_and_empty_ones_are_skipped() {
        let text = "# comment\n---\nkind: A\n---\n---\n# only a comment\n---\nkind: B\nmetadata:\n  name: b\n";
        let objs = objects(text).unwrap();
        assert_eq!(objs.iter().map(|o| o.line).collect::<Vec<_>>(), vec![3, 8]);
        assert_eq!(objs[1].value, json!({"kind": "B", "metadata": {"name": "b"}}));
    }

    #[test]
    fn lists_are_expanded_with_item_lines() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: A\n- kind: B\n";
        let objs = objects(text).unwrap();
        assert_eq!(
            objs,
            vec![Located { line: 4, value: json!({"kind": "A"}) }, Located { line: 5, value: json!({"kind": "B"}) },]
        );
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(
            objects("kind: A\n---\n- 1\n").unwrap_err(),
            "line 3: a document must be a mapping (a Kubernetes object), found a sequence"
        );
        let err = objects("a: [1\n").unwrap_err();
        assert!(err.starts_with("invalid YAML: "), "{err}");
        assert!(
            objects("a: 1\na: 2\n").unwrap_err().starts_with("invalid YAML"),
            "duplicate keys are rejected like kubectl"
        );
        assert_eq!(
            objects("? [1]\n: x\n").unwrap_err(),
            "line 1: mapping keys must be scalars (JSON has only string keys)"
        );
    }

    #[test]
    fn tags_and_numeric_keys() {
        let docs = documents("!!map\n1: !!int \"5\"\ntrue: !!bool yes\nx: !custom {a: 1}\n", Schema::Kubectl).unwrap();
        assert_eq!(docs[0].value, json!({"1": 5, "true": true, "x": {"a": 1}}));
    }

    #[test]
    fn core_schema_as_serde_yaml_reads_settings() {
        let docs = documents("a: yes\nb: 0644\nc: 0o17\nd: true\ne: ~\nf: 2.5\n", Schema::Core).unwrap();
        assert_eq!(docs[0].value, json!({"a": "yes", "b": 644, "c": 15, "d": true, "e": null, "f": 2.5}));
    }

    #[test]
    fn root_tag_of_a_serde_yaml_enum() {
        let (tag, value) =
            tagged_document("!KubernetesGetResource\napi_version: v1\nnamespace: null\n", Schema::Core).unwrap();
        assert_eq!(tag.as_deref(), Some("KubernetesGetResource"));
        assert_eq!(value, json!({"api_version": "v1", "namespace": null}));
    }
}
