//! Writes the custom section `io.kubewarden.metadata` that `kwctl annotate -m METADATA -u USAGE`
//! writes, so `make annotated` and the release need no kwctl (which is in no package registry).
//!
//! What kwctl 1.31 writes (tests/fixtures/kwctl-annotate/ holds a module it annotated):
//! compact JSON with the keys protocolVersion, rules, annotations, mutating, backgroundAudit,
//! executionMode, policyType, contextAwareResources in that order; annotations sorted by key, with
//! `io.kubewarden.policy.usage` set to the usage file's text and `io.kubewarden.kwctl` set to
//! kwctl's version; contextAwareResources sorted by apiVersion, then kind. This tool writes the
//! same, except `io.kubewarden.kwctl`: it is not kwctl, and that annotation says which kwctl
//! release annotated the module, so it is left out rather than faked.
//!
//! `protocolVersion`: kwctl calls the module's waPC function `protocol_version`. This tool reads
//! the module instead of running it (no wasm engine in a build step): it checks that the module is
//! a waPC guest (exports `wapc_init` and `__guest_call`) that registers a function named
//! `protocol_version`, and writes "v1", the only protocol Kubewarden defines
//! (`kubewarden_policy_sdk::metadata::ProtocolVersion`). The e2e suite calls that function on
//! wasmtime (`protocol_version_is_v1`), so a policy that answered otherwise fails there.

use std::collections::BTreeMap;
use std::fmt;

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde::Serialize;
use wasm_encoder::{CustomSection, RawSection};
use wasmparser::{Parser, Payload, Validator};

/// The custom section kwctl, policy-server and `kwctl inspect` read.
pub const SECTION_NAME: &str = "io.kubewarden.metadata";
/// What [`SECTION_NAME`]'s `protocolVersion` says; see the crate documentation.
pub const PROTOCOL_VERSION: &str = "v1";
/// The annotation kwctl fills with the `-u` file's text.
pub const USAGE_ANNOTATION: &str = "io.kubewarden.policy.usage";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

fn error(message: impl Into<String>) -> Error {
    Error(message.into())
}

impl From<wasmparser::BinaryReaderError> for Error {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        error(format!("not a valid WebAssembly module: {e}"))
    }
}

/// The section's JSON, field for field in kwctl's order (serde writes struct fields in order).
#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Metadata {
    protocol_version: &'static str,
    rules: Vec<Rule>,
    annotations: BTreeMap<String, String>,
    mutating: bool,
    background_audit: bool,
    execution_mode: String,
    policy_type: String,
    context_aware_resources: Vec<ContextAwareResource>,
}

#[derive(Serialize, Debug)]
#[serde(rename_all = "camelCase")]
struct Rule {
    api_groups: Vec<String>,
    api_versions: Vec<String>,
    resources: Vec<String>,
    operations: Vec<String>,
}

/// Field order gives the sort order kwctl uses: apiVersion, then kind.
#[derive(Serialize, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[serde(rename_all = "camelCase")]
struct ContextAwareResource {
    api_version: String,
    kind: String,
}

/// The section's payload for a metadata file and a usage text (the README), as `kwctl annotate`
/// writes it (without `io.kubewarden.kwctl`).
pub fn metadata_payload(metadata_yaml: &str, usage: &str) -> Result<Vec<u8>, Error> {
    let docs = Yaml::load_from_str(metadata_yaml).map_err(|e| error(format!("metadata: {e}")))?;
    let [document] = docs.as_slice() else {
        return Err(error(format!("metadata: expected one YAML document, found {}", docs.len())));
    };
    let fields = mapping(document, "metadata")?;

    // Only the fields the reference pins; anything else would be written in a place kwctl's
    // order does not tell, so it is refused rather than guessed.
    const KNOWN: [&str; 7] =
        ["rules", "annotations", "mutating", "backgroundAudit", "executionMode", "policyType", "contextAwareResources"];
    if let Some(unknown) = fields.keys().find(|key| !KNOWN.contains(key)) {
        return Err(error(format!("metadata: field `{unknown}` is not supported (known: {})", KNOWN.join(", "))));
    }
    let field = |name: &str| fields.get(name).copied().ok_or_else(|| error(format!("metadata: no `{name}`")));

    let rules = sequence(field("rules")?, "rules")?
        .iter()
        .enumerate()
        .map(|(i, rule)| rule_of(rule, &format!("rules[{i}]")))
        .collect::<Result<_, _>>()?;

    let mut annotations = BTreeMap::new();
    for (key, value) in mapping(field("annotations")?, "annotations")? {
        annotations.insert(key.to_string(), string(value, &format!("annotations.{key}"))?.to_string());
    }
    annotations.insert(USAGE_ANNOTATION.to_string(), usage.to_string());

    let mut context_aware_resources = sequence(field("contextAwareResources")?, "contextAwareResources")?
        .iter()
        .enumerate()
        .map(|(i, resource)| {
            let what = format!("contextAwareResources[{i}]");
            let resource = mapping(resource, &what)?;
            let get = |name: &str| {
                resource.get(name).ok_or_else(|| error(format!("{what}: no `{name}`"))).and_then(|v| string(v, &what))
            };
            Ok(ContextAwareResource { api_version: get("apiVersion")?.to_string(), kind: get("kind")?.to_string() })
        })
        .collect::<Result<Vec<_>, Error>>()?;
    context_aware_resources.sort();
    context_aware_resources.dedup();

    let metadata = Metadata {
        protocol_version: PROTOCOL_VERSION,
        rules,
        annotations,
        mutating: boolean(field("mutating")?, "mutating")?,
        // kwctl's default when the file leaves it out.
        background_audit: match fields.get("backgroundAudit") {
            Some(value) => boolean(value, "backgroundAudit")?,
            None => true,
        },
        execution_mode: string(field("executionMode")?, "executionMode")?.to_string(),
        policy_type: string(field("policyType")?, "policyType")?.to_string(),
        context_aware_resources,
    };
    Ok(serde_json::to_vec(&metadata).expect("strings and booleans serialize"))
}

fn rule_of(rule: &Yaml, what: &str) -> Result<Rule, Error> {
    let fields = mapping(rule, what)?;
    const KNOWN: [&str; 4] = ["apiGroups", "apiVersions", "resources", "operations"];
    if let Some(unknown) = fields.keys().find(|key| !KNOWN.contains(key)) {
        return Err(error(format!("{what}: field `{unknown}` is not supported (known: {})", KNOWN.join(", "))));
    }
    let list = |name: &str| -> Result<Vec<String>, Error> {
        let value = fields.get(name).ok_or_else(|| error(format!("{what}: no `{name}`")))?;
        sequence(value, &format!("{what}.{name}"))?
            .iter()
            .map(|item| string(item, &format!("{what}.{name}")).map(str::to_string))
            .collect()
    };
    Ok(Rule {
        api_groups: list("apiGroups")?,
        api_versions: list("apiVersions")?,
        resources: list("resources")?,
        operations: list("operations")?,
    })
}

fn untagged<'a>(yaml: &'a Yaml<'a>) -> &'a Yaml<'a> {
    match yaml {
        Yaml::Tagged(_, inner) => untagged(inner),
        other => other,
    }
}

fn mapping<'a>(yaml: &'a Yaml<'a>, what: &str) -> Result<BTreeMap<&'a str, &'a Yaml<'a>>, Error> {
    let Yaml::Mapping(map) = untagged(yaml) else {
        return Err(error(format!("{what}: expected a mapping")));
    };
    map.iter()
        .map(|(key, value)| match untagged(key) {
            Yaml::Value(Scalar::String(key)) => Ok((key.as_ref(), value)),
            other => Err(error(format!("{what}: key {other:?} is not a string"))),
        })
        .collect()
}

fn sequence<'a>(yaml: &'a Yaml<'a>, what: &str) -> Result<&'a [Yaml<'a>], Error> {
    match untagged(yaml) {
        Yaml::Sequence(items) => Ok(items),
        _ => Err(error(format!("{what}: expected a list"))),
    }
}

/// A string, as kwctl's serde reading wants it: `version: 1.0` (a float) is refused there too.
fn string<'a>(yaml: &'a Yaml<'a>, what: &str) -> Result<&'a str, Error> {
    match untagged(yaml) {
        Yaml::Value(Scalar::String(s)) => Ok(s.as_ref()),
        other => Err(error(format!("{what}: expected a string, found {other:?}"))),
    }
}

fn boolean(yaml: &Yaml, what: &str) -> Result<bool, Error> {
    match untagged(yaml) {
        Yaml::Value(Scalar::Boolean(b)) => Ok(*b),
        other => Err(error(format!("{what}: expected true or false, found {other:?}"))),
    }
}

/// Checks that `module` is a valid waPC guest that registers `protocol_version` (see the crate
/// documentation: what stands in for calling it).
pub fn check_wapc_guest(module: &[u8]) -> Result<(), Error> {
    Validator::new().validate_all(module)?;
    let mut exports = Vec::new();
    let mut registers_protocol_version = false;
    for payload in Parser::new(0).parse_all(module) {
        match payload? {
            Payload::ExportSection(reader) => {
                for export in reader {
                    exports.push(export?.name.to_string());
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    registers_protocol_version |= data?.data.windows(16).any(|w| w == b"protocol_version");
                }
            }
            _ => {}
        }
    }
    for required in ["wapc_init", "__guest_call"] {
        if !exports.iter().any(|e| e == required) {
            return Err(error(format!("the module does not export `{required}`: not a waPC policy")));
        }
    }
    if !registers_protocol_version {
        return Err(error("the module registers no `protocol_version` function: not a Kubewarden policy"));
    }
    Ok(())
}

/// `module` with `payload` as its [`SECTION_NAME`] section: every other section is kept as it
/// is, in its place; an earlier metadata section is replaced, so annotating twice gives one.
pub fn annotate(module: &[u8], payload: &[u8]) -> Result<Vec<u8>, Error> {
    let mut annotated = wasm_encoder::Module::new();
    for item in Parser::new(0).parse_all(module) {
        let item = item?;
        if let Payload::CustomSection(reader) = &item {
            if reader.name() == SECTION_NAME {
                continue;
            }
        }
        if let Some((id, range)) = item.as_section() {
            let range = usize::try_from(range.start).unwrap()..usize::try_from(range.end).unwrap();
            annotated.section(&RawSection { id, data: &module[range] });
        }
    }
    annotated.section(&CustomSection { name: SECTION_NAME.into(), data: payload.into() });
    let bytes = annotated.finish();
    Validator::new().validate_all(&bytes)?;
    Ok(bytes)
}

/// The payload of the module's [`SECTION_NAME`] section, as `kwctl inspect` and policy-server
/// read it; `None` when there is none.
pub fn read_metadata_section(module: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let mut found = None;
    for item in Parser::new(0).parse_all(module) {
        if let Payload::CustomSection(reader) = item? {
            if reader.name() == SECTION_NAME {
                if found.is_some() {
                    return Err(error(format!("the module has two `{SECTION_NAME}` sections")));
                }
                found = Some(reader.data().to_vec());
            }
        }
    }
    Ok(found)
}
