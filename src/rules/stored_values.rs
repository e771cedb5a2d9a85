//! The values stored in Secrets and ConfigMaps, as the rules that read them (SAG013 static cloud
//! credentials, SAG014 insecure kubeconfigs) decode them, and which of a ConfigMap's values those
//! rules read at all (see [`crate::projection`], which leaves the others out of admitted objects).

use std::borrow::Cow;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::{alphabet, Engine};
use serde_json::Value;

use crate::bundle::Obj;
use crate::k8s;
use crate::rules::{insecure_kubeconfig, static_cloud_credentials};

/// Base64 as the API server decodes Secret data (Go's `StdEncoding`, which accepts non-zero
/// trailing bits); line breaks are removed first, as Go's decoder skips them.
const SECRET_DATA: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// One value stored in a Secret or ConfigMap, decoded.
pub(crate) struct StoredValue<'a> {
    /// `data`, `stringData` or `binaryData`.
    pub field: &'static str,
    pub key: &'a str,
    pub bytes: Cow<'a, [u8]>,
}

impl StoredValue<'_> {
    /// `/data/<key>`, `/stringData/<key>` or `/binaryData/<key>`, the key escaped; built only
    /// for a finding, as a ConfigMap can hold thousands of keys.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.field, k8s::escape_pointer_token(self.key))
    }

    /// Whether the value is empty or only whitespace: nothing stored.
    pub fn is_blank(&self) -> bool {
        self.bytes.iter().all(u8::is_ascii_whitespace)
    }
}

/// The fields of a Secret or ConfigMap that hold values, each with whether it is base64.
fn value_fields(kind: &str) -> &'static [(&'static str, bool)] {
    match kind {
        "Secret" => &[("data", true), ("stringData", false)],
        "ConfigMap" => &[("data", false), ("binaryData", true)],
        _ => &[],
    }
}

/// The values of a Secret (`data` base64, `stringData` plain) or a ConfigMap (`data` plain,
/// `binaryData` base64). Values that are not strings or not valid base64 are left out: the API
/// server rejects them, and there is nothing to read.
pub(crate) fn stored_values<'a>(obj: &Obj<'a>) -> impl Iterator<Item = StoredValue<'a>> {
    let value = obj.value;
    value_fields(obj.kind).iter().flat_map(move |&(field, base64)| {
        let map = value.get(field).and_then(Value::as_object);
        map.into_iter()
            .flatten()
            .filter_map(move |(key, value)| Some(StoredValue { field, key, bytes: decoded(value, base64)? }))
    })
}

/// The values of the Secret's or ConfigMap's `fields` whose keys pass `wanted`: [`stored_values`]
/// of those fields, decoding only the values of the keys wanted.
#[cfg(feature = "manifest")]
pub(crate) fn stored_values_of_keys<'a, 'w>(
    obj: &Obj<'a>,
    fields: &'w [&str],
    mut wanted: impl FnMut(&str) -> bool + 'w,
) -> impl Iterator<Item = StoredValue<'a>> + 'w
where
    'a: 'w,
{
    let value = obj.value;
    let fields = value_fields(obj.kind).iter().filter(move |(field, _)| fields.contains(field));
    fields
        .flat_map(move |&(field, base64)| {
            let map = value.get(field).and_then(Value::as_object);
            map.into_iter().flatten().map(move |(key, value)| (field, base64, key, value))
        })
        .filter(move |(_, _, key, _)| wanted(key))
        .filter_map(|(field, base64, key, value)| Some(StoredValue { field, key, bytes: decoded(value, base64)? }))
}

/// A stored value's bytes: its text, base64-decoded in a base64 field; `None` for a value that
/// is not a string or not valid base64.
fn decoded(value: &Value, base64: bool) -> Option<Cow<'_, [u8]>> {
    let text = value.as_str()?;
    Some(if base64 {
        let compact: Vec<u8> = text.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
        Cow::Owned(SECRET_DATA.decode(compact).ok()?)
    } else {
        Cow::Borrowed(text.as_bytes())
    })
}

/// Whether any rule reads the ConfigMap `data` value under `key` written as the JSON text `json`
/// (quotes and escapes included), judged without decoding it. Each rule that reads ConfigMap
/// values answers for itself; a rule that starts reading them must be asked here too.
pub(crate) fn config_map_value_is_read(key: &str, json: &str) -> bool {
    insecure_kubeconfig::reads_config_map_value(json) || static_cloud_credentials::reads_config_map_value(key, json)
}
