//! `sa-guard admission-requests`: one AdmissionReview per object, shaped like what the API server
//! sends a validating webhook on CREATE, so `kwctl run -r FILE policy.wasm` evaluates the
//! manifests exactly as the cluster would.

use std::path::Path;

use sa_guard::k8s;
use serde_json::{json, Value};

use crate::input;
use crate::{InputArgs, EXIT_INPUT_ERROR};

/// Kinds that live outside namespaces (the request then carries no namespace).
const CLUSTER_SCOPED: &[&str] = &[
    "APIService",
    "CSIDriver",
    "CSINode",
    "CertificateSigningRequest",
    "ClusterAdmissionPolicy",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "IngressClass",
    "MutatingWebhookConfiguration",
    "Namespace",
    "Node",
    "PersistentVolume",
    "PriorityClass",
    "RuntimeClass",
    "StorageClass",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ValidatingWebhookConfiguration",
    "VolumeAttachment",
];

/// Plurals that the English rule below gets wrong.
const IRREGULAR_RESOURCES: &[(&str, &str)] = &[("Endpoints", "endpoints")];

/// The resource name the API server uses for a kind (`NetworkPolicy` -> `networkpolicies`).
pub fn resource_for_kind(kind: &str) -> String {
    if let Some((_, resource)) = IRREGULAR_RESOURCES.iter().find(|(k, _)| *k == kind) {
        return resource.to_string();
    }
    let lower = kind.to_ascii_lowercase();
    if let Some(stem) = lower.strip_suffix('y').filter(|s| !s.ends_with(['a', 'e', 'i', 'o', 'u'])) {
        format!("{stem}ies")
    } else if lower.ends_with('s') || lower.ends_with('x') || lower.ends_with("ch") || lower.ends_with("sh") {
        format!("{lower}es")
    } else {
        format!("{lower}s")
    }
}

/// `apps/v1` -> ("apps", "v1"); `v1` -> ("", "v1").
fn group_version(api_version: &str) -> (&str, &str) {
    api_version.split_once('/').unwrap_or(("", api_version))
}

/// File names keep to what every file system accepts.
fn file_part(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c.to_ascii_lowercase() } else { '_' })
        .collect();
    if cleaned.is_empty() {
        "_".into()
    } else {
        cleaned
    }
}

/// The AdmissionReview for object number `index` (0-based) of the bundle.
pub fn admission_review(index: usize, object: &Value, default_namespace: &str) -> Value {
    let kind = k8s::kind(object);
    let (group, version) = group_version(k8s::api_version(object));
    let namespace = if CLUSTER_SCOPED.contains(&kind) {
        None
    } else {
        Some(k8s::namespace(object).unwrap_or(default_namespace).to_string())
    };
    let mut object = object.clone();
    // The API server fills metadata.namespace before admission; policies may read it there.
    if let (Some(ns), Some(metadata)) = (&namespace, object.get_mut("metadata").and_then(Value::as_object_mut)) {
        metadata.entry("namespace").or_insert_with(|| json!(ns));
    }
    let gvk = json!({"group": group, "version": version, "kind": kind});
    let gvr = json!({"group": group, "version": version, "resource": resource_for_kind(kind)});
    let mut request = json!({
        // Deterministic, so regenerated requests diff cleanly.
        "uid": format!("00000000-0000-4000-8000-{:012x}", index + 1),
        "kind": gvk,
        "resource": gvr,
        "requestKind": gvk,
        "requestResource": gvr,
        "operation": "CREATE",
        "userInfo": {"username": "sa-guard-cli", "groups": ["system:authenticated"]},
        "object": object,
        "oldObject": null,
        "dryRun": false,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    });
    let name = k8s::name(&request["object"]).to_string();
    if !name.is_empty() {
        request["name"] = json!(name);
    }
    if let Some(ns) = namespace {
        request["namespace"] = json!(ns);
    }
    json!({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request})
}

/// `NNN-kind-namespace-name.json` (`cluster` for cluster-scoped objects), numbered from 001.
pub fn file_name(index: usize, width: usize, review: &Value) -> String {
    let request = &review["request"];
    let kind = request["kind"]["kind"].as_str().unwrap_or("");
    let namespace = request["namespace"].as_str().unwrap_or("cluster");
    let name = request["name"].as_str().unwrap_or("unnamed");
    format!(
        "{:0width$}-{}-{}-{}.json",
        index + 1,
        file_part(if kind.is_empty() { "object" } else { kind }),
        file_part(namespace),
        file_part(name)
    )
}

pub fn run(args: &InputArgs, out: &Path) -> u8 {
    let paths = match input::effective_paths(&args.paths) {
        Ok(paths) => paths,
        Err(message) => {
            eprintln!("sa-guard: {message}");
            return EXIT_INPUT_ERROR;
        }
    };
    let inputs = input::load_values(&paths, args.jobs());
    for error in &inputs.errors {
        eprintln!("{error}");
    }
    if let Err(e) = std::fs::create_dir_all(out) {
        eprintln!("sa-guard: cannot create {}: {e}", out.display());
        return EXIT_INPUT_ERROR;
    }
    let default_namespace = args.namespace.as_deref().unwrap_or("default");
    let width = inputs.objects.len().to_string().len().max(3);
    for (index, object) in inputs.objects.iter().enumerate() {
        let review = admission_review(index, object, default_namespace);
        let path = out.join(file_name(index, width, &review));
        let text = serde_json::to_string_pretty(&review).expect("JSON values serialize") + "\n";
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("sa-guard: cannot write {}: {e}", path.display());
            return EXIT_INPUT_ERROR;
        }
        println!("{}", path.display());
    }
    eprintln!("sa-guard: wrote {} admission request(s) to {}", inputs.objects.len(), out.display());
    if inputs.errors.is_empty() {
        0
    } else {
        EXIT_INPUT_ERROR
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resources_follow_the_api_servers_plurals() {
        for (kind, resource) in [
            ("Pod", "pods"),
            ("ServiceAccount", "serviceaccounts"),
            ("NetworkPolicy", "networkpolicies"),
            ("Ingress", "ingresses"),
            ("Endpoints", "endpoints"),
            ("Gateway", "gateways"),
            ("StorageClass", "storageclasses"),
            ("CronJob", "cronjobs"),
        ] {
            assert_eq!(resource_for_kind(kind), resource, "{kind}");
        }
    }

    #[test]
    fn review_of_a_namespaced_object_without_namespace() {
        let object = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}});
        let review = admission_review(1, &object, "production");
        assert_eq!(review["request"]["uid"], "00000000-0000-4000-8000-000000000002");
        assert_eq!(review["request"]["kind"], json!({"group": "apps", "version": "v1", "kind": "Deployment"}));
        assert_eq!(review["request"]["resource"], json!({"group": "apps", "version": "v1", "resource": "deployments"}));
        assert_eq!(review["request"]["namespace"], "production");
        assert_eq!(review["request"]["object"]["metadata"]["namespace"], "production");
        assert_eq!(file_name(1, 3, &review), "002-deployment-production-web.json");
    }

    #[test]
    fn review_of_a_cluster_scoped_object() {
        let object = json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ci:admin"}});
        let review = admission_review(0, &object, "default");
        assert_eq!(review["request"].get("namespace"), None);
        assert_eq!(review["request"]["resource"]["group"], "rbac.authorization.k8s.io");
        assert_eq!(file_name(0, 3, &review), "001-clusterrolebinding-cluster-ci_admin.json");
    }
}
