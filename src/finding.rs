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
