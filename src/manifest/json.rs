//! The JSON fast path of [`super::parse`]: a text that is one JSON object (`kubectl get -o json`,
//! a `.json` manifest) is decoded by serde_json into the objects' values directly, without the
//! YAML events and the position-aware tree. A `List` is split into its items as the YAML path
//! does, and each item remembers its byte range so that its tree (positions, fixes) is built from
//! that range alone when it is asked for ([`super::Manifests::node`]).
//!
//! The values are those the YAML path gives: numbers as Kubernetes' YAML decoder reads them
//! (integral floats become integers), strings and keys as written. Whatever the two could read
//! differently, or the YAML path reports as an error, is left to it: duplicate keys, an integer
//! beyond i64, nesting near the depth limit, a text over the size limit, a root or a List item
//! that is not an object, anything serde_json refuses (`None`: the caller parses as YAML).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use super::{Limits, SourceObject};

/// The objects of `text` when it is a single JSON object (or a List of them) that reads exactly
/// as the YAML path would read it, with each object's byte range; `None` otherwise.
pub(super) fn read(text: &str, limits: &Limits) -> Option<(Vec<SourceObject>, Vec<(usize, usize)>)> {
    let body = text.trim_start_matches([' ', '\t', '\r', '\n']);
    if !body.starts_with('{') || text.len() > limits.max_bytes || limits.max_depth < 4 {
        return None;
    }
    let max_depth = limits.max_depth - 2;
    // The root's entries, each kept as its text: the items of a List are decoded one by one.
    let mut de = serde_json::Deserializer::from_str(text);
    let (root, raw_items) = RawEntries.deserialize(&mut de).ok()?;
    de.end().ok()?;
    let offset = |raw: &RawValue| raw.get().as_ptr() as usize - text.as_ptr() as usize;
    let kind = root.iter().find(|(key, _)| key == "kind").map(|(_, raw)| raw.get());
    let has_items = root.iter().any(|(key, _)| key == "items");
    let is_list =
        kind.and_then(|k| serde_json::from_str::<String>(k).ok()).is_some_and(|k| k.ends_with("List")) && has_items;
    let mut objects = Vec::new();
    let mut ranges = Vec::new();
    if is_list {
        // Every entry must read (a duplicate key in the List's metadata fails it on the YAML path).
        for (key, raw) in &root {
            if key != "items" {
                Strict { depth: 1, max_depth }.deserialize(&mut serde_json::Deserializer::from_str(raw.get())).ok()?;
            }
        }
        if let Some(raw_items) = raw_items {
            for (i, raw) in raw_items.into_iter().enumerate() {
                let value = Strict { depth: 2, max_depth }
                    .deserialize(&mut serde_json::Deserializer::from_str(raw.get()))
                    .ok()?;
                if !value.is_object() {
                    return None;
                }
                let start = offset(raw);
                ranges.push((start, start + raw.get().len()));
                objects.push(SourceObject { value, document: 0, base_pointer: format!("/items/{i}") });
            }
        }
    } else {
        let value = Strict { depth: 0, max_depth }.deserialize(&mut serde_json::Deserializer::from_str(text)).ok()?;
        let start = text.len() - body.len();
        ranges.push((start, text.trim_end_matches([' ', '\t', '\r', '\n']).len()));
        objects.push(SourceObject { value, document: 0, base_pointer: String::new() });
    }
    Some((objects, ranges))
}

/// The root object's entries, in order, as raw JSON texts (a duplicate key fails), and when its
/// `items` is a sequence, each item's raw text, read in the same pass.
struct RawEntries;

type Root<'de> = (Vec<(String, &'de RawValue)>, Option<Vec<&'de RawValue>>);

impl<'de> DeserializeSeed<'de> for RawEntries {
    type Value = Root<'de>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RawEntries {
    type Value = Root<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut entries: Vec<(String, &'de RawValue)> = Vec::new();
        let mut items = None;
        while let Some(key) = map.next_key::<String>()? {
            if entries.iter().any(|(k, _)| *k == key) {
                return Err(de::Error::custom("duplicate key"));
            }
            if key == "items" {
                // A sequence (what a List has) or null; anything else fails, for the YAML path.
                let raw: Option<Vec<&'de RawValue>> = map.next_value()?;
                // Kept in `entries` too, by its place: the whole sequence's text is not needed.
                entries.push((key, RawValue::NULL));
                items = raw;
                continue;
            }
            entries.push((key, map.next_value()?));
        }
        Ok((entries, items))
    }
}

/// A `Value` as the YAML path reads the same JSON, or an error where it might not.
#[derive(Clone, Copy)]
struct Strict {
    /// Collections around this value.
    depth: usize,
    max_depth: usize,
}

impl<'de> DeserializeSeed<'de> for Strict {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Strict {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        // Beyond i64 the YAML path's reading may differ: leave it to it.
        i64::try_from(v).map(|v| Value::Number(v.into())).map_err(|_| E::custom("integer beyond i64"))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        super::scalar::float_as_json(v).map(Value::Number).ok_or_else(|| E::custom("not a finite number"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(item) = seq.next_element_seed(inner)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let inner = self.deeper()?;
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(inner)?;
            if out.insert(key, value).is_some() {
                return Err(de::Error::custom("duplicate key"));
            }
        }
        Ok(Value::Object(out))
    }
}

impl Strict {
    fn deeper<E: de::Error>(self) -> Result<Strict, E> {
        if self.depth + 1 >= self.max_depth {
            return Err(E::custom("nested too deep"));
        }
        Ok(Strict { depth: self.depth + 1, ..self })
    }
}
