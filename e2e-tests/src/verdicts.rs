//! `sa-guard-e2e verdicts`: apply manifests through the policy as a cluster would. Each object
//! becomes the CREATE AdmissionRequest the API server sends (after its own admission plugins),
//! objects the webhook rules do not cover are not sent, admitted objects become the cluster state
//! later look-ups see, and each verdict is printed in words.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;

use crate::apiserver;
use crate::cluster::{Declared, ObjectCluster};
use crate::host::{Capabilities, Policy};
use crate::metadata::Metadata;
use crate::review::AdmissionResponse;
use crate::yaml;

/// One object of a manifest and where it is.
#[derive(Debug, Clone)]
pub struct ManifestObject {
    pub file: String,
    pub line: usize,
    pub value: Value,
}

/// What happened to one object.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The webhook's rules do not cover the resource: the API server never asks the policy.
    NotSent(String),
    Evaluated(AdmissionResponse),
}

#[derive(Debug, Clone)]
pub struct ObjectVerdict {
    pub file: String,
    pub line: usize,
    /// "Deployment shop/checkout-api"
    pub object: String,
    pub request: Option<Value>,
    pub outcome: Outcome,
}

/// Files under `paths` (directories recursively), YAML and JSON, sorted.
pub fn manifest_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            collect(path, &mut files)?;
        } else if path.exists() {
            files.push(path.clone());
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    Ok(files)
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if entry.is_dir() {
            collect(&entry, out)?;
        } else if entry.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json") {
            out.push(entry);
        }
    }
    Ok(())
}

/// The objects of one manifest file, JSON or YAML.
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestObject>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let file = path.display().to_string();
    let located = if path.extension().is_some_and(|e| e == "json") {
        let value: Value = serde_json::from_str(&text).map_err(|e| format!("{file}: invalid JSON: {e}"))?;
        let is_list = value.get("kind").and_then(Value::as_str).is_some_and(|k| k.ends_with("List"));
        let items = match value {
            Value::Object(mut map) if is_list && map.get("items").is_some_and(Value::is_array) => {
                map.remove("items").and_then(|i| i.as_array().cloned()).unwrap_or_default()
            }
            value @ Value::Object(_) => vec![value],
            _ => return Err(format!("{file}: a JSON manifest must be an object (a Kubernetes object or a List)")),
        };
        if items.iter().any(|i| !i.is_object()) {
            return Err(format!("{file}: a List item must be an object"));
        }
        items.into_iter().map(|value| yaml::Located { line: 1, value }).collect()
    } else {
        yaml::objects(&text).map_err(|e| format!("{file}: {e}"))?
    };
    Ok(located.into_iter().map(|l| ManifestObject { file: file.clone(), line: l.line, value: l.value }).collect())
}

/// How the run is set up.
pub struct Setup<'a> {
    pub policy: &'a Policy,
    pub settings: Value,
    /// The webhook rules and context-aware resources; `None` sends every object.
    pub metadata: Option<Metadata>,
    /// kubectl's namespace for objects without one.
    pub namespace: String,
    /// Answer look-ups from this instead of the objects admitted so far.
    pub capabilities: Option<Arc<dyn Capabilities>>,
}

/// Admit `objects` in order.
pub fn run(setup: &Setup<'_>, objects: &[ManifestObject]) -> Result<Vec<ObjectVerdict>, String> {
    let cluster = Arc::new(ObjectCluster::new());
    let inner: Arc<dyn Capabilities> = setup.capabilities.clone().unwrap_or_else(|| cluster.clone());
    let capabilities: Arc<dyn Capabilities> = match &setup.metadata {
        Some(metadata) => Arc::new(Declared { metadata: metadata.clone(), inner }),
        None => inner,
    };
    let evaluator = setup.policy.instantiate(capabilities)?;
    let settings_check = evaluator.validate_settings(&setup.settings).map_err(|e| format!("validate_settings: {e}"))?;
    if !settings_check.valid {
        return Err(format!("the policy rejects these settings: {}", settings_check.message.unwrap_or_default()));
    }

    let mut verdicts = Vec::new();
    for (index, item) in objects.iter().enumerate() {
        let mut object = item.value.clone();
        let api_version = object.get("apiVersion").and_then(Value::as_str).unwrap_or("").to_string();
        let kind = object.get("kind").and_then(Value::as_str).unwrap_or("").to_string();
        let resource = apiserver::api_resource(&api_version, &kind);
        let name = object.pointer("/metadata/name").and_then(Value::as_str).unwrap_or("").to_string();
        let namespace = resource.namespaced.then(|| {
            object.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(&setup.namespace).to_string()
        });
        let label = match &namespace {
            Some(ns) => format!("{kind} {ns}/{name}"),
            None => format!("{kind} {name}"),
        };

        if kind == "Pod" {
            let sa_name = object
                .pointer("/spec/serviceAccountName")
                .or_else(|| object.pointer("/spec/serviceAccount"))
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .unwrap_or("default")
                .to_string();
            let sa = cluster.get("v1", "ServiceAccount", namespace.as_deref(), &sa_name);
            apiserver::admit_pod(&mut object, sa.as_ref(), &apiserver::name_suffix(&format!("{label}#{index}")));
        } else {
            apiserver::convert_pod_specs(&mut object);
        }

        let covered = setup
            .metadata
            .as_ref()
            .is_none_or(|m| m.matches(&resource.group, &resource.version, &resource.resource, "CREATE"));
        if !covered {
            let gvr =
                format!("{}/{}", if resource.group.is_empty() { "core" } else { &resource.group }, resource.resource);
            let object_for_cluster = with_namespace(object, namespace.as_deref());
            cluster.add(object_for_cluster);
            verdicts.push(ObjectVerdict {
                file: item.file.clone(),
                line: item.line,
                object: label,
                request: None,
                outcome: Outcome::NotSent(format!("the policy's rules do not cover {gvr} CREATE")),
            });
            continue;
        }

        let uid = apiserver::request_uid(&format!("{}:{}:{label}", item.file, item.line));
        let request = apiserver::admission_request(&uid, "CREATE", Some(&object), None, &setup.namespace);
        let response = evaluator.validate(&request, &setup.settings);
        if response.allowed {
            let mut admitted = request["object"].clone();
            if let Ok(Some(patch)) = response.patch_operations() {
                if let Ok(patch) = serde_json::from_value::<json_patch::Patch>(patch) {
                    // A patch that does not apply would be refused by the API server; keep the original then.
                    let mut patched = admitted.clone();
                    if json_patch::patch(&mut patched, &patch).is_ok() {
                        admitted = patched;
                    }
                }
            }
            cluster.add(admitted);
        }
        verdicts.push(ObjectVerdict {
            file: item.file.clone(),
            line: item.line,
            object: label,
            request: Some(request),
            outcome: Outcome::Evaluated(response),
        });
    }
    Ok(verdicts)
}

fn with_namespace(mut object: Value, namespace: Option<&str>) -> Value {
    if let (Some(ns), Some(meta)) = (namespace, object.get_mut("metadata").and_then(Value::as_object_mut)) {
        meta.insert("namespace".into(), Value::String(ns.to_string()));
    }
    object
}

/// The verdicts in words, one block per object, then a summary line.
pub fn render(verdicts: &[ObjectVerdict]) -> String {
    let mut out = String::new();
    let (mut allowed, mut denied, mut warned, mut mutated, mut not_sent) = (0, 0, 0, 0, 0);
    for v in verdicts {
        let _ = writeln!(out, "{}:{}  {}", v.file, v.line, v.object);
        match &v.outcome {
            Outcome::NotSent(reason) => {
                not_sent += 1;
                let _ = writeln!(out, "  NOT SENT  {reason}");
            }
            Outcome::Evaluated(r) => {
                if r.allowed {
                    allowed += 1;
                    let _ = writeln!(out, "  ALLOWED");
                } else {
                    denied += 1;
                    let code = r
                        .status
                        .as_ref()
                        .and_then(|s| s.code)
                        .map(|c| c.to_string())
                        .unwrap_or_else(|| "(no code)".into());
                    let _ = writeln!(out, "  DENIED {code}");
                    let message = r.status.as_ref().and_then(|s| s.message.as_deref()).unwrap_or("");
                    for line in message.lines() {
                        let _ = writeln!(out, "    {line}");
                    }
                }
                if let Some(warnings) = r.warnings.as_ref().filter(|w| !w.is_empty()) {
                    warned += 1;
                    let _ = writeln!(out, "  WARNINGS");
                    for w in warnings {
                        let _ = writeln!(out, "    {w}");
                    }
                }
                match r.patch_operations() {
                    Ok(Some(Value::Array(ops))) => {
                        mutated += 1;
                        let _ = writeln!(out, "  MUTATED ({})", r.patch_type.as_deref().unwrap_or("JSONPatch"));
                        for op in ops {
                            let _ = writeln!(out, "    {}", describe_op(&op));
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let _ = writeln!(out, "  MUTATED (unreadable patch: {e})");
                    }
                }
                // A denial's message already says everything; an acceptance may have been
                // decided by an exemption or a fix that only the audit annotations record.
                if let Some(annotations) = r.audit_annotations.as_ref().filter(|a| r.allowed && !a.is_empty()) {
                    let _ = writeln!(out, "  AUDIT");
                    for (key, value) in annotations {
                        let _ = writeln!(out, "    {key}: {value}");
                    }
                }
            }
        }
    }
    let _ = writeln!(
        out,
        "\n{} objects: {allowed} allowed, {denied} denied, {warned} with warnings, {mutated} mutated, {not_sent} not sent to the policy",
        verdicts.len()
    );
    out
}

/// `add /spec/automountServiceAccountToken = false`
fn describe_op(op: &Value) -> String {
    let field = |name: &str| op.get(name).and_then(Value::as_str).unwrap_or("");
    match field("op") {
        "remove" => format!("remove {}", field("path")),
        "move" | "copy" => format!("{} {} -> {}", field("op"), field("from"), field("path")),
        other => format!("{other} {} = {}", field("path"), op.get("value").map(Value::to_string).unwrap_or_default()),
    }
}
