//! The admitted object as the rules read it, decoded in one pass from the request's JSON.
//!
//! A Pod can carry tens of thousands of environment variables (up to the API server's 3 MB);
//! building a map for each one costs several times what the rules spend on them. Only two rules
//! read an environment variable: SAG013 (static cloud credentials) the ones named like a cloud
//! credential, SAG007 (legacy token Secrets) the ones with a `valueFrom`. Every other variable of
//! a container in a Pod spec is left out: `null` where it keeps the index of a variable after it,
//! dropped after the last one kept, so paths and findings are those of the whole object. A 3 MB
//! ConfigMap is mostly escaped text that only two rules read, each only a few of its values:
//! SAG014 those that mention `insecure-skip-tls-verify`, SAG013 those under a cloud credential's
//! name or that may hold a credential file. Its other `data` entries are left out (a map has no
//! indices to keep). Everything else is decoded as it is.
//!
//! What is left out is judged on its JSON text, which serde_json has already checked, without
//! being decoded: an `env` entry written `{"name":"…","value":"…"}` (as the API server writes
//! it) by its name, a ConfigMap value by its key and text (see
//! [`crate::rules::stored_values::config_map_value_is_read`]). Entries of any other shape are
//! decoded and judged as values.
//!
//! The tree is for judging only: a caller that returns the object (a mutation) decodes it whole,
//! which [`ObjectForRules::left_out`] says it must.

use std::borrow::Cow;
use std::cell::Cell;
use std::fmt;

use serde::de::value::{MapAccessDeserializer, SeqAccessDeserializer};
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::byte_words::find_either;
use crate::rules::static_cloud_credentials::is_credential_name;
use crate::rules::stored_values::config_map_value_is_read;

/// Where Pod specs sit, as keys from the object's root (see [`crate::k8s::pod_spec_location`]).
const POD_SPEC_PATHS: &[&[&str]] = &[
    &["spec"],
    &["spec", "template", "spec"],
    &["spec", "jobTemplate", "spec", "template", "spec"],
    &["template", "spec"],
];

const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// An object decoded for the rules.
#[derive(Debug)]
pub struct ObjectForRules {
    pub object: Value,
    /// Whether values were left out, so `object` is not the object as sent.
    pub left_out: bool,
}

/// Decode one JSON object for the rules.
pub fn read_object(json: &str) -> Result<ObjectForRules, serde_json::Error> {
    serde_json::from_str(json).or_else(|_: serde_json::Error| {
        // Whatever the one-pass reading does not take is read whole, or named as `Value` names it.
        Ok(ObjectForRules { object: serde_json::from_str(json)?, left_out: false })
    })
}

/// Reads any JSON value, exactly as `Value` reads it apart from the variables left out; callers
/// check that it is an object.
impl<'de> Deserialize<'de> for ObjectForRules {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let left_out = Cell::new(false);
        let object = Reading { place: Place::TowardsPodSpec(&[]), left_out: &left_out }.deserialize(deserializer)?;
        Ok(ObjectForRules { object, left_out: left_out.get() })
    }
}

/// Where in the object a value is.
#[derive(Clone, Copy)]
enum Place<'t> {
    /// On the way from the root to a Pod spec, after these keys (at the root when empty).
    TowardsPodSpec(&'t [&'static str]),
    /// A Pod spec's `containers`, `initContainers` or `ephemeralContainers`.
    ContainerList,
    Container,
}

/// Reads the value at `place`: like `Value` does, except for the variables left out.
struct Reading<'t, 'c> {
    place: Place<'t>,
    left_out: &'c Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for Reading<'_, '_> {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Reading<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let left_out = self.left_out;
        let mut object = Map::new();
        match self.place {
            Place::TowardsPodSpec(trail) => {
                let at_pod_spec = POD_SPEC_PATHS.contains(&trail);
                // The root's `data`: its values delimited but not decoded until the kind is known
                // (it may come after them), see [`read_data`]. The last one counts, as for `Value`.
                let mut data: Option<RawEntries<'de>> = None;
                while let Some(key) = map.next_key::<String>()? {
                    if trail.is_empty() && key == "data" {
                        data = Some(map.next_value()?);
                        continue;
                    }
                    let value = if at_pod_spec && CONTAINER_LISTS.contains(&key.as_str()) {
                        map.next_value_seed(Reading { place: Place::ContainerList, left_out })?
                    } else if let Some(step) = next_step(trail, &key) {
                        let trail = [trail, &[step]].concat();
                        map.next_value_seed(Reading { place: Place::TowardsPodSpec(&trail), left_out })?
                    } else {
                        map.next_value()?
                    };
                    object.insert(key, value);
                }
                if let Some(data) = data {
                    let config_map = object.get("kind").and_then(Value::as_str) == Some("ConfigMap");
                    let data = read_data(data, config_map, left_out).map_err(serde::de::Error::custom)?;
                    object.insert("data".to_string(), data);
                }
            }
            Place::Container => {
                while let Some(key) = map.next_key::<String>()? {
                    let value = if key == "env" {
                        let list: &'de RawValue = map.next_value()?;
                        read_env_list(list.get(), left_out).map_err(serde::de::Error::custom)?
                    } else {
                        map.next_value()?
                    };
                    object.insert(key, value);
                }
            }
            Place::ContainerList => return Value::deserialize(MapAccessDeserializer::new(map)),
        }
        Ok(Value::Object(object))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let element = match self.place {
            Place::ContainerList => Place::Container,
            _ => return Value::deserialize(SeqAccessDeserializer::new(seq)),
        };
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(value) = seq.next_element_seed(Reading { place: element, left_out: self.left_out })? {
            list.push(value);
        }
        Ok(Value::Array(list))
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
}

/// `key` as the next step towards a Pod spec after `trail`, if it is one.
fn next_step(trail: &[&'static str], key: &str) -> Option<&'static str> {
    POD_SPEC_PATHS.iter().find_map(|path| {
        let step = *path.get(trail.len())?;
        (path.starts_with(trail) && step == key).then_some(step)
    })
}

/// A container's `env` list, given as its JSON text (which serde_json has checked, delimiting
/// it whole). Each entry written as the API server writes it, `{"name":"…","value":"…"}`, is
/// judged by its name on the text: one with a name no rule reads (and no escapes) is left out,
/// without any decoding. Entries of any other shape, or named like a credential, are decoded
/// by serde_json and judged as values (see [`EnvVar`]). Entries left out are `null` before one
/// that is kept, keeping its index; after the last one kept they are dropped.
fn read_env_list(list: &str, left_out: &Cell<bool>) -> Result<Value, serde_json::Error> {
    let Some(mut rest) = list.strip_prefix('[') else {
        // Not a list (the API server would not send it): read as it is.
        return serde_json::from_str(list);
    };
    let mut entries = Vec::new();
    // Entries left out since the last one kept: `null`s once another is kept, else dropped.
    let mut left_out_since = 0;
    rest = without_whitespace(rest);
    if rest.starts_with(']') {
        return Ok(Value::Array(entries));
    }
    loop {
        let after = match compact_entry(rest) {
            Some((name, after)) if !is_credential_name(name) => {
                left_out.set(true);
                left_out_since += 1;
                after
            }
            _ => {
                let mut decoded = serde_json::Deserializer::from_str(rest).into_iter::<EnvVar>();
                let EnvVar(entry) =
                    decoded.next().ok_or_else(|| serde::de::Error::custom("an env entry is missing"))??;
                if entry.is_null() {
                    // left out, or `null` as sent (which no rule reads either)
                    left_out.set(true);
                    left_out_since += 1;
                } else {
                    entries.extend(std::iter::repeat_n(Value::Null, left_out_since));
                    left_out_since = 0;
                    entries.push(entry);
                }
                &rest[decoded.byte_offset()..]
            }
        };
        rest = without_whitespace(after);
        match rest.as_bytes().first() {
            Some(b',') => rest = without_whitespace(&rest[1..]),
            Some(b']') => return Ok(Value::Array(entries)),
            // serde_json checked the list, so this is not reached; read the object the ordinary way.
            _ => return Err(serde::de::Error::custom("an env list ends early")),
        }
    }
}

/// One `env` entry, decoded whole (a stream of these says where each ends) and then judged:
/// `null` unless a rule reads it. SAG013 reads a variable named like a cloud credential, SAG007
/// one with a `valueFrom`; any field besides `name` and `value`, or a name that is not a string,
/// keeps it too. An entry that is not an object is kept as it is. Repeated fields end as `Value`
/// ends them, so the last one counts.
struct EnvVar(Value);

impl<'de> Deserialize<'de> for EnvVar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let entry = Value::deserialize(deserializer)?;
        let read_by_a_rule = match &entry {
            Value::Object(fields) => {
                fields.keys().any(|field| field != "name" && field != "value")
                    || fields.get("name").is_some_and(|name| name.as_str().is_none_or(is_credential_name))
            }
            _ => true,
        };
        Ok(EnvVar(if read_by_a_rule { entry } else { Value::Null }))
    }
}

/// `text` without the JSON whitespace it starts with (none in compact text).
fn without_whitespace(text: &str) -> &str {
    let blank = text.bytes().take_while(|b| matches!(b, b' ' | b'\n' | b'\r' | b'\t')).count();
    &text[blank..]
}

/// The name of the `env` entry `text` starts with, when it is written exactly
/// `{"name":"<name>","value":"<value>"}` or `{"name":"<name>"}` (compact, those fields in that
/// order, a name without escapes), and the text after the entry. `None` for any other text.
/// `text` is known to be JSON: a string ends at the first quote that is not escaped.
fn compact_entry(text: &str) -> Option<(&str, &str)> {
    let rest = text.strip_prefix(r#"{"name":""#)?;
    let end = find_either(rest.as_bytes(), b'"', b'\\')?;
    let (name, rest) = rest.split_at(end);
    let rest = rest.strip_prefix('"')?;
    if let Some(after) = rest.strip_prefix('}') {
        return Some((name, after));
    }
    let value = rest.strip_prefix(r#","value":""#)?;
    let mut at = 0;
    loop {
        at += find_either(value.as_bytes().get(at..)?, b'"', b'\\')?;
        match value.as_bytes()[at] {
            // `at` is an ASCII quote, so a character boundary.
            b'"' => return Some((name, value[at + 1..].strip_prefix('}')?)),
            _ => at += 2,
        }
    }
}

/// An object's `data`. In a ConfigMap, the values no rule reads (see
/// [`config_map_value_is_read`]) are left out of the map, judged on their key and JSON text
/// without decoding or copying them (a 3 MB ConfigMap is mostly escaped text). No rule reads an
/// admitted ConfigMap's keys without their values, and a map has no indices to keep. In
/// any other object (a Secret's base64 values) every value is decoded. A `data` that is not a
/// JSON object stops this reading, and the object is read the ordinary way.
fn read_data(
    RawEntries(entries): RawEntries,
    config_map: bool,
    left_out: &Cell<bool>,
) -> Result<Value, serde_json::Error> {
    let mut data = Map::new();
    // In the order sent, so a repeated key ends as `Value` would end it: the last one wins.
    for (key, value) in entries {
        if !config_map || config_map_value_is_read(&key, value.get()) {
            data.insert(key.into_owned(), serde_json::from_str(value.get())?);
        } else {
            left_out.set(true);
            data.remove(&*key);
        }
    }
    Ok(Value::Object(data))
}

/// A JSON object's entries in the order sent, each key borrowed from the text where it can be
/// and each value delimited but not decoded.
struct RawEntries<'de>(Vec<(Cow<'de, str>, &'de RawValue)>);

impl<'de> Deserialize<'de> for RawEntries<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct EntriesVisitor;
        impl<'de> Visitor<'de> for EntriesVisitor {
            type Value = RawEntries<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEntries<'de>, A::Error> {
                let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((Key(key), value)) = map.next_entry()? {
                    entries.push((key, value));
                }
                Ok(RawEntries(entries))
            }
        }
        deserializer.deserialize_map(EntriesVisitor)
    }
}

/// A map key, borrowed from the text when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }

            fn visit_str<E>(self, v: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }

            fn visit_string<E>(self, v: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::rules::testing::in_every_pod_bearing_kind;

    fn read(object: &Value) -> ObjectForRules {
        read_object(&object.to_string()).unwrap()
    }

    /// Every shape a variable can take, and what the rules get of it.
    fn variables() -> (Value, Value) {
        let sent = json!([
            {"name": "PORT", "value": "8080"},
            {"name": "AWS_SECRET_ACCESS_KEY", "value": "s3cr3t"},
            {"name": "backup-azure-client-secret"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "build-robot-token", "key": "token"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": 7, "value": "x"},
            {"name": null},
            {"value": "nameless"},
            {"name": "LOG_LEVEL", "value": {"odd": true}, "extra": 1},
            {"name": "DEBUG", "value": 1},
            "not an object",
            {},
        ]);
        let for_rules = json!([
            null,
            {"name": "AWS_SECRET_ACCESS_KEY", "value": "s3cr3t"},
            {"name": "backup-azure-client-secret"},
            {"name": "TOKEN", "valueFrom": {"secretKeyRef": {"name": "build-robot-token", "key": "token"}}},
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": 7, "value": "x"},
            {"name": null},
            null,
            {"name": "LOG_LEVEL", "value": {"odd": true}, "extra": 1},
            null,
            "not an object",
            // `{}`: left out, after the last entry kept, so dropped
        ]);
        (sent, for_rules)
    }

    #[test]
    fn variables_no_rule_reads_are_left_out_in_place_in_every_pod_spec() {
        let (sent, for_rules) = variables();
        for list in CONTAINER_LISTS {
            let spec_with = |env: &Value| {
                let mut spec = json!({"serviceAccountName": "app"});
                spec[*list] = json!([{"name": "app", "image": "a", "env": env}, {"name": "quiet"}]);
                in_every_pod_bearing_kind(&spec)
            };
            for ((object, spec_pointer), (expected, _)) in spec_with(&sent).into_iter().zip(spec_with(&for_rules)) {
                let read = read(&object);
                assert_eq!(read.object, expected, "{spec_pointer} {list}");
                assert!(read.left_out);
            }
        }
    }

    #[test]
    fn the_pod_spec_paths_are_those_of_every_pod_bearing_kind() {
        let mut of_kinds: Vec<Vec<&str>> = crate::k8s::POD_BEARING_KINDS
            .iter()
            .map(|kind| crate::k8s::pod_spec_location(kind).unwrap().spec.split('/').skip(1).collect())
            .collect();
        of_kinds.sort();
        of_kinds.dedup();
        let mut here: Vec<Vec<&str>> = POD_SPEC_PATHS.iter().map(|path| path.to_vec()).collect();
        here.sort();
        assert_eq!(here, of_kinds);
    }

    #[test]
    fn objects_are_read_whole_outside_pod_spec_containers() {
        let (sent, _) = variables();
        let whole = [
            // `env` lists elsewhere: not a container's
            json!({"kind": "Pod", "spec": {"env": sent, "containers": [{"name": "a"}]}, "env": sent}),
            json!({"kind": "Deployment", "spec": {"template": {"env": sent, "metadata": {"env": sent}}}}),
            json!({"kind": "Widget", "data": {"spec": {"containers": [{"env": "not a list"}]}}}),
            // odd shapes on the way to the containers
            json!({"spec": {"containers": {"env": sent}}}),
            json!({"spec": {"containers": [[{"env": sent}], "x", 1, null, true, 2.5, -3]}}),
            json!({"spec": {"template": [1, {"spec": {"containers": [{"env": sent}]}}]}}),
            json!({"spec": {"containers": [{"env": {"name": "PORT"}}]}}),
            json!({"spec": {"containers": [{"env": []}, {"env": null}, {"env": "PORT"}]}}),
            json!({"spec": null, "template": "x", "kind": 1.5, "apiVersion": -1, "n": 18446744073709551615u64}),
            json!({"spec": {"containers": [{"name": "esc\"aped\n", "env": [{"name": "AWS_ACCESS_KEY_ID", "value": "a\u{1F600}\\"}]}]}}),
        ];
        for object in whole {
            let read = read(&object);
            assert_eq!(read.object, object);
            assert!(!read.left_out, "{object}");
        }
        assert_eq!(read(&json!([1, {"spec": {}}])).object, json!([1, {"spec": {}}]), "any JSON value is read");
    }

    #[test]
    fn names_with_escapes_are_judged_on_their_decoded_text() {
        let text = r#"{"kind": "Pod", "spec": {"containers": [{"env": [
            {"name": "AWS_SECRET_\u0041CCESS_KEY", "value": "k"}, {"n\u0061me": "PORT", "value": "1"}]}]}}"#;
        let read = read_object(text).unwrap();
        assert_eq!(
            read.object["spec"]["containers"][0]["env"],
            json!([{"name": "AWS_SECRET_ACCESS_KEY", "value": "k"}])
        );
    }

    #[test]
    fn a_repeated_field_reads_as_value_reads_it() {
        // serde_json's `Value` keeps the last of repeated fields; the rules see the same.
        for (text, left_out) in [
            (r#"{"name": "AWS_SECRET_ACCESS_KEY", "name": "PORT", "value": "1"}"#, true),
            (r#"{"name": "PORT", "name": "AWS_SECRET_ACCESS_KEY", "value": "1"}"#, false),
            (r#"{"name": "TOKEN", "valueFrom": {"a": 1}, "valueFrom": {"b": 2}}"#, false),
            (r#"{"value": "1", "name": "PORT", "value": "2"}"#, true),
            (r#"{"value": "1", "name": "AWS_SECRET_ACCESS_KEY", "value": "2"}"#, false),
            // named like a credential after its value: kept whole
            (r#"{"name": "PORT", "value": "1", "name": "AWS_SECRET_ACCESS_KEY"}"#, false),
            (r#"{"name": "PORT", "value": "1", "valueFrom": {"secretKeyRef": {"name": "s"}}}"#, false),
        ] {
            let object = format!(r#"{{"spec": {{"containers": [{{"env": [{text}]}}]}}}}"#);
            let whole: Value = serde_json::from_str(&object).unwrap();
            let read = read_object(&object).unwrap();
            let var = &read.object["spec"]["containers"][0]["env"][0];
            let expected = if left_out { &Value::Null } else { &whole["spec"]["containers"][0]["env"][0] };
            assert_eq!(var, expected, "{text}");
            assert_eq!(read.left_out, left_out, "{text}");
        }
    }

    #[test]
    fn variables_read_the_same_from_compact_and_spaced_text() {
        // Compact text is judged entry by entry on the text; spaced text goes through serde.
        let (sent, for_rules) = variables();
        let more = json!([
            {"name": "QUOTED", "value": "say \"hi\" \\ \n \u{e9}"},
            {"name": "EMPTY", "value": ""},
            {"name": ""},
            {"name": "AWS_ACCESS_KEY_ID"},
            {"name": "GITHUB_TOKEN", "value": "\"}"},
            {"value": "1", "name": "PORT"},
            {"name": "PORT", "value": "1", "extra": "2"},
            {"name": "PORT", "value": null},
        ]);
        let more_for_rules = json!([
            null, null, null, {"name": "AWS_ACCESS_KEY_ID"}, null, null,
            {"name": "PORT", "value": "1", "extra": "2"},
        ]);
        // none kept: nothing to keep an index for
        let plain = json!([{"name": "PORT", "value": "1"}, {"name": "HOST"}, null, {"value": "x"}]);
        for (sent, expected) in [(sent, for_rules), (more, more_for_rules), (plain, json!([]))] {
            let pod = json!({"kind": "Pod", "spec": {"containers": [{"name": "app", "env": sent}]}});
            for text in [pod.to_string(), serde_json::to_string_pretty(&pod).unwrap()] {
                let read = read_object(&text).unwrap();
                assert_eq!(read.object["spec"]["containers"][0]["env"], expected, "{text}");
                assert!(read.left_out, "{text}");
            }
        }
        assert_eq!(compact_entry(r#"{"name":"PORT","value":"8080"},{"#), Some(("PORT", ",{")));
        assert_eq!(compact_entry(r#"{"name":"PORT"}]"#), Some(("PORT", "]")));
        assert_eq!(compact_entry(r#"{"name":"A","value":"\"}\\"},"#), Some(("A", ",")));
        assert_eq!(compact_entry(r#"{"name":"A","value":"\u00e9"}"#), Some(("A", "")));
        assert_eq!(compact_entry(r#"{"name":"P\u004fRT"}"#), None);
        assert_eq!(compact_entry(r#"{"name":"PORT","value":"a","b":"c"}"#), None);
        assert_eq!(compact_entry(r#"{"name":"PORT","value":1}"#), None);
        assert_eq!(compact_entry(r#"{"name": "PORT"}"#), None);
        assert_eq!(compact_entry(r#"{"name":"PORT","value":"1" }"#), None);
        // whitespace between entries, around them and in an empty list
        for (env, expected) in [
            (r#"[ ]"#, json!([])),
            ("[ {\"name\":\"A\"} ,{\"name\":\"AWS_ACCESS_KEY_ID\"}\t]", json!([null, {"name": "AWS_ACCESS_KEY_ID"}])),
            (
                "[\n{\"name\":\"AWS_ACCESS_KEY_ID\"}\r\n,\n{\"name\":\"A\",\"value\":\"1\"}\n]",
                json!([{"name": "AWS_ACCESS_KEY_ID"}]),
            ),
        ] {
            let text = format!(r#"{{"spec": {{"containers": [{{"env": {env}}}]}}}}"#);
            assert_eq!(read_object(&text).unwrap().object["spec"]["containers"][0]["env"], expected, "{env}");
        }
    }

    fn config_map(data: Value) -> Value {
        json!({"apiVersion": "v1", "data": data, "kind": "ConfigMap", "metadata": {"name": "c"}})
    }

    #[test]
    fn config_map_values_no_rule_reads_are_left_out() {
        let data = json!({
            "app.yaml": "listen: 8080\nlog: info\n",
            "kubeconfig": "clusters:\n- cluster:\n    insecure-skip-tls-verify: true\n",
            "shouting": "INSECURE-SKIP-TLS-VERIFY: TRUE",
            "quote": "\"insecure-skip-tls-verify\": true",
            "number": 7,
            "nested": {"insecure-skip-tls-verify": true},
            "empty": "",
            // SAG013: a credential's name, a credentials file, a key file; and configuration
            "AWS_SECRET_ACCESS_KEY": "",
            "credentials": "[default]\naws_secret_access_key = k\n",
            "key.json": "{\"type\": \"service_account\", \"private_key\": \"k\"}",
            "metrics.yaml": "metric_name: requests_total\npublic_key: x\n",
        });
        let for_rules = json!({
            "kubeconfig": "clusters:\n- cluster:\n    insecure-skip-tls-verify: true\n",
            "shouting": "INSECURE-SKIP-TLS-VERIFY: TRUE",
            "quote": "\"insecure-skip-tls-verify\": true",
            "number": 7,
            "nested": {"insecure-skip-tls-verify": true},
            "AWS_SECRET_ACCESS_KEY": "",
            "credentials": "[default]\naws_secret_access_key = k\n",
            "key.json": "{\"type\": \"service_account\", \"private_key\": \"k\"}",
        });
        let object = config_map(data.clone());
        // the kind before or after the data, compact or spaced
        let kind_first = format!(r#"{{"kind": "ConfigMap", "data": {data}}}"#);
        for text in [object.to_string(), serde_json::to_string_pretty(&object).unwrap(), kind_first] {
            let read = read_object(&text).unwrap();
            assert_eq!(read.object["data"], for_rules, "{text}");
            assert!(read.left_out);
        }
        // escapes that write the key's letters (`\u002d` is `-`) are decoded before judging
        let text = r#"{"kind": "ConfigMap", "data": {"a": "insecure\u002dskip-tls-verify: true", "b": "\u0041"}}"#;
        let read = read_object(text).unwrap();
        assert_eq!(read.object["data"], json!({"a": "insecure-skip-tls-verify: true", "b": "A"}));
        assert!(!read.left_out);
    }

    #[test]
    fn data_is_read_whole_outside_config_maps() {
        let data = json!({"app.yaml": "listen: 8080\n", "token": "dG9rZW4="});
        for object in [
            json!({"kind": "Secret", "data": data, "stringData": data}),
            json!({"data": data}),
            json!({"kind": "configmap", "data": data}),
            json!({"kind": "Pod", "spec": {"data": data}}),
            json!({"kind": "ConfigMap", "binaryData": data}),
            config_map(json!("not a map")),
            config_map(json!([{"a": "b"}])),
            config_map(json!(null)),
            config_map(json!({})),
        ] {
            let read = read(&object);
            assert_eq!(read.object, object);
            assert!(!read.left_out, "{object}");
        }
        // a repeated `data` ends as for `Value`: the last one counts
        let text = r#"{"kind": "ConfigMap", "data": {"a": "insecure-skip-tls-verify: true"}, "data": {"b": "x", "b": "insecure-skip-tls-verify: 1"}}"#;
        assert_eq!(read_object(text).unwrap().object["data"], json!({"b": "insecure-skip-tls-verify: 1"}));
        // and so does a repeated key: a value left out after one kept leaves the key out
        let text = r#"{"kind": "ConfigMap", "data": {"a": "insecure-skip-tls-verify: true", "b": "x", "a": "x"}}"#;
        assert_eq!(read_object(text).unwrap().object["data"], json!({}));
    }

    #[test]
    fn malformed_text_is_an_error_as_for_value() {
        for text in [r#"{"spec": {"containers": [{"env": [{"name": "A"]}]}}"#, r#"{"spec": "#, "{} x", ""] {
            let expected = serde_json::from_str::<Value>(text).unwrap_err().to_string();
            assert_eq!(read_object(text).unwrap_err().to_string(), expected, "{text}");
        }
    }
}
