//! What a rule returns: typed findings with an object reference, a JSON path and an optional fix.

use serde::{Deserialize, Serialize};

/// How a finding is enforced. Ordered so that `Deny > Warn > Off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Warn,
    Deny,
}

const LEVEL_NAMES: &[&str] = &["off", "warn", "deny"];

/// `"off"`, `"warn"` or `"deny"`; also `false` for `off`: YAML 1.1 readers (kubectl applying a
/// ClusterAdmissionPolicy, Helm, the CLI's manifest reader) turn an unquoted `SAG004: off` into
/// `false`, and nothing else can be meant by it.
impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Level, D::Error> {
        struct LevelVisitor;
        impl serde::de::Visitor<'_> for LevelVisitor {
            type Value = Level;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("one of `off`, `warn`, `deny`")
            }
            fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<Level, E> {
                match value {
                    "off" => Ok(Level::Off),
                    "warn" => Ok(Level::Warn),
                    "deny" => Ok(Level::Deny),
                    other => Err(E::unknown_variant(other, LEVEL_NAMES)),
                }
            }
            fn visit_bool<E: serde::de::Error>(self, value: bool) -> Result<Level, E> {
                match value {
                    false => Ok(Level::Off),
                    true => Err(E::invalid_value(serde::de::Unexpected::Bool(true), &self)),
                }
            }
        }
        deserializer.deserialize_any(LevelVisitor)
    }
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Off => "off",
            Level::Warn => "warn",
            Level::Deny => "deny",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The object a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// A machine-applicable fix: an RFC 6902 JSON patch against the object the finding is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fix {
    /// One line for a button or a diff header, e.g. "set automountServiceAccountToken: false".
    pub description: String,
    pub patch: json_patch::Patch,
}

impl Fix {
    /// A fix from JSON Patch operations written as `{"op", "path", "value"}` objects (`add`,
    /// `replace` and `remove`, all the rules use). Built by hand rather than deserialized: serde's
    /// code for `PatchOperation` is the largest function in policy.wasm (21 KB).
    ///
    /// Panics on another op or an invalid pointer: a bug in a rule, caught by its tests.
    pub fn new(description: impl Into<String>, operations: impl IntoIterator<Item = serde_json::Value>) -> Fix {
        use json_patch::jsonptr::PointerBuf;
        use json_patch::{AddOperation, PatchOperation, RemoveOperation, ReplaceOperation};
        let patch = operations
            .into_iter()
            .map(|mut operation| {
                let pointer = operation.get("path").and_then(serde_json::Value::as_str).unwrap_or_default();
                let path =
                    PointerBuf::parse(pointer).unwrap_or_else(|e| panic!("a rule wrote the pointer {pointer:?}: {e}"));
                let value = operation.get_mut("value").map(serde_json::Value::take);
                match (operation.get("op").and_then(serde_json::Value::as_str), value) {
                    (Some("add"), Some(value)) => PatchOperation::Add(AddOperation { path, value }),
                    (Some("replace"), Some(value)) => PatchOperation::Replace(ReplaceOperation { path, value }),
                    (Some("remove"), None) => PatchOperation::Remove(RemoveOperation { path }),
                    _ => panic!("a rule wrote an operation fixes do not use: {operation}"),
                }
            })
            .collect();
        Fix { description: description.into(), patch: json_patch::Patch(patch) }
    }
}

/// One violation of one rule by one object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub rule_id: String,
    pub rule_slug: String,
    pub level: Level,
    pub object: ObjectRef,
    /// Position of the object in the evaluated list (document order in manifest mode).
    pub object_index: usize,
    /// JSON pointer (RFC 6901) to the offending field, or to where the missing field belongs.
    pub path: String,
    pub message: String,
    pub remediation: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<Fix>,
}

impl Finding {
    /// "SAG002 /spec/automountServiceAccountToken: message" — the line used in admission messages.
    pub fn one_line(&self) -> String {
        format!("[{}] {} {}: {}", self.rule_id, self.object, self.path, self.message)
    }
}
