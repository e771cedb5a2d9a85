use std::borrow::Cow;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::{alphabet, Engine};
use serde_json::Value;

use crate::bundle::Obj;
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::meta::{Category, Scope};

declare_rule! {
    /// Cloud access keys stored in the cluster are long-lived: they do not expire, nobody rotates
    /// them, and anyone who can read the Secret, `kubectl describe` the Pod, or run code in the
    /// container takes them away and uses them from anywhere. The lesson's Teacher's Note names
    /// the alternative: workload identity. AWS IRSA, GKE Workload Identity and Azure Workload
    /// Identity let the cloud's IAM trust the cluster's OIDC issuer, so "a Pod with the right
    /// ServiceAccount and IAM annotation can call AWS S3, Secrets Manager, or SQS without ever
    /// having an AWS access key in the cluster … The SA token is the credential." The lesson
    /// calls migrating "the single highest-impact security improvement available".
    ///
    /// Workload identity has its own trap, which this rule also checks: put the IAM annotation on
    /// the namespace's `default` ServiceAccount and every Pod that names no ServiceAccount gets
    /// the cloud identity.
    ///
    /// Fires on:
    ///
    /// * an environment variable of any container (containers, initContainers,
    ///   ephemeralContainers) named like a cloud credential — AWS: `AWS_ACCESS_KEY_ID`,
    ///   `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ACCESS_KEY`, `AWS_SECRET_KEY`; GCP:
    ///   `GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_CREDENTIALS`, `GOOGLE_CLOUD_KEYFILE_JSON`,
    ///   `GCLOUD_KEYFILE_JSON`; Azure: `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PASSWORD`,
    ///   `AZURE_CLIENT_CERTIFICATE_PATH`, `AZURE_PASSWORD`, `AZURE_STORAGE_KEY`,
    ///   `AZURE_STORAGE_CONNECTION_STRING`, `ARM_CLIENT_SECRET`, `ARM_CLIENT_CERTIFICATE_PASSWORD`,
    ///   `ARM_ACCESS_KEY` — ignoring case, with `-` for `_`, alone or after a prefix ending in `_`
    ///   (`BACKUP_AWS_SECRET_ACCESS_KEY`), with a non-empty inline `value` or a `valueFrom`
    ///   (Secret, ConfigMap or file): path `<container>/env/<i>`;
    /// * a Secret key (`data`, base64-decoded, or `stringData`) named like one of those
    ///   (`aws_access_key_id` included), or whose content is an AWS credentials or dotenv file
    ///   with such a setting (`aws_secret_access_key = …`), a GCP service-account key
    ///   (JSON with `"type": "service_account"` and a `private_key`), or an Azure service
    ///   principal secret (JSON with `clientId` and `clientSecret`, as `az ad sp
    ///   create-for-rbac --sdk-auth` writes): path `/data/<key>` or `/stringData/<key>`;
    /// * a workload identity annotation on a ServiceAccount named `default` —
    ///   `eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`,
    ///   `azure.workload.identity/client-id`: path `/metadata/annotations/<key>` (with `/`
    ///   written `~1`).
    ///
    /// Does not fire on: region, project or tenant settings (`AWS_REGION`,
    /// `GOOGLE_CLOUD_PROJECT`, `AZURE_TENANT_ID`); an empty `value`; `fieldRef` and
    /// `resourceFieldRef` values; Secret values that are not valid base64 or not a recognised
    /// credential format; a GCP `external_account` credential configuration (that is workload
    /// identity federation); workload identity annotations on dedicated ServiceAccounts, which
    /// is the fix. `GOOGLE_APPLICATION_CREDENTIALS` pointing at a federation configuration
    /// rather than a key file is reported anyway: exempt that workload with
    /// `sa-guard.io/exempt` and a reason.
    ///
    /// Fix: delete the keys, give the workload its own ServiceAccount annotated for the cloud's
    /// workload identity (IRSA / EKS Pod Identity, GKE Workload Identity, Azure Workload
    /// Identity), grant the cloud role to that identity only, and revoke the old keys in the
    /// cloud — they may already have been copied.
    ///
    /// Peers (Polaris, Kubescape, kube-linter, Checkov) flag secret-looking environment variables
    /// in general and point to Secrets; this rule covers cloud credentials only, in Secrets too,
    /// and points to workload identity. None of them checks the annotations on `default`.
    pub static RULE = {
        id: "SAG013",
        slug: "static-cloud-credentials",
        title: "Static cloud credentials instead of workload identity",
        category: Category::Credentials,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Remove the static keys and use workload identity: annotate the workload's own ServiceAccount \
            (eks.amazonaws.com/role-arn for AWS IRSA, iam.gke.io/gcp-service-account for GKE, \
            azure.workload.identity/client-id for Azure), never the default one, then revoke the old keys.",
        references: &[
            "Lesson 39, Teacher's Note: workload identity — the SA token is the credential; no long-lived cloud keys \
             stored in Secrets",
            "Lesson 39, hardening checklist item 4: audience-bound projected tokens rather than long-lived static \
             credentials",
            "AWS EKS documentation: IAM roles for service accounts (IRSA)",
            "Google Cloud documentation: GKE Workload Identity Federation",
            "Microsoft documentation: Microsoft Entra Workload ID on AKS",
        ],
        peers: &[
            "Polaris sensitiveContainerEnvVar",
            "Kubescape C-0012",
            "kube-linter env-var-secret",
            "Checkov CKV_K8S_35",
        ],
        check: check,
    };
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cloud {
    Aws,
    Gcp,
    Azure,
}

impl Cloud {
    fn name(self) -> &'static str {
        match self {
            Cloud::Aws => "AWS",
            Cloud::Gcp => "GCP",
            Cloud::Azure => "Azure",
        }
    }

    /// Where the lesson's Teacher's Note points instead.
    fn workload_identity(self) -> &'static str {
        match self {
            Cloud::Aws => "IRSA, an eks.amazonaws.com/role-arn annotation",
            Cloud::Gcp => "GKE Workload Identity, an iam.gke.io/gcp-service-account annotation",
            Cloud::Azure => "Azure Workload Identity, an azure.workload.identity/client-id annotation",
        }
    }
}

/// Settings that hold (or locate) a long-lived cloud credential, as the SDKs and Terraform
/// providers read them. Upper case with `_`; names are compared ignoring case and `-`/`_`.
const CREDENTIAL_NAMES: &[(&str, Cloud)] = &[
    ("AWS_ACCESS_KEY_ID", Cloud::Aws),
    ("AWS_SECRET_ACCESS_KEY", Cloud::Aws),
    ("AWS_SESSION_TOKEN", Cloud::Aws),
    // the AWS SDK for Java's older spellings
    ("AWS_ACCESS_KEY", Cloud::Aws),
    ("AWS_SECRET_KEY", Cloud::Aws),
    ("GOOGLE_APPLICATION_CREDENTIALS", Cloud::Gcp),
    ("GOOGLE_CREDENTIALS", Cloud::Gcp),
    ("GOOGLE_CLOUD_KEYFILE_JSON", Cloud::Gcp),
    ("GCLOUD_KEYFILE_JSON", Cloud::Gcp),
    ("AZURE_CLIENT_SECRET", Cloud::Azure),
    ("AZURE_CLIENT_CERTIFICATE_PASSWORD", Cloud::Azure),
    ("AZURE_CLIENT_CERTIFICATE_PATH", Cloud::Azure),
    ("AZURE_PASSWORD", Cloud::Azure),
    ("AZURE_STORAGE_KEY", Cloud::Azure),
    ("AZURE_STORAGE_CONNECTION_STRING", Cloud::Azure),
    ("ARM_CLIENT_SECRET", Cloud::Azure),
    ("ARM_CLIENT_CERTIFICATE_PASSWORD", Cloud::Azure),
    ("ARM_ACCESS_KEY", Cloud::Azure),
];

/// Workload identity annotations: on `default`, every Pod of the namespace gets the identity.
const WORKLOAD_IDENTITY_ANNOTATIONS: &[(&str, &str)] = &[
    ("eks.amazonaws.com/role-arn", "the AWS IAM role"),
    ("iam.gke.io/gcp-service-account", "the GCP service account"),
    ("azure.workload.identity/client-id", "the Azure identity"),
];

/// Base64 as the API server decodes Secret data (Go's `StdEncoding`, which accepts non-zero
/// trailing bits); line breaks are removed first, as Go's decoder skips them.
const SECRET_DATA: GeneralPurpose =
    GeneralPurpose::new(&alphabet::STANDARD, GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true));

/// One value stored in a Secret or ConfigMap, decoded.
pub(crate) struct StoredValue<'a> {
    /// `data`, `stringData` or `binaryData`.
    field: &'static str,
    pub key: &'a str,
    pub bytes: Cow<'a, [u8]>,
}

impl StoredValue<'_> {
    /// `/data/<key>`, `/stringData/<key>` or `/binaryData/<key>`, the key escaped; built only
    /// for a finding, as a ConfigMap can hold thousands of keys.
    pub fn path(&self) -> String {
        format!("/{}/{}", self.field, k8s::escape_pointer_token(self.key))
    }
}

/// The values of a Secret (`data` base64, `stringData` plain) or a ConfigMap (`data` plain,
/// `binaryData` base64). Values that are not strings or not valid base64 are left out: the API
/// server rejects them, and there is nothing to read.
pub(crate) fn stored_values<'a>(obj: &Obj<'a>) -> impl Iterator<Item = StoredValue<'a>> {
    let fields: &'static [(&'static str, bool)] = match obj.kind {
        "Secret" => &[("data", true), ("stringData", false)],
        "ConfigMap" => &[("data", false), ("binaryData", true)],
        _ => &[],
    };
    let value = obj.value;
    fields.iter().flat_map(move |&(field, base64)| {
        let map = value.get(field).and_then(Value::as_object);
        map.into_iter().flatten().filter_map(move |(key, value)| {
            let text = value.as_str()?;
            let bytes = if base64 {
                let compact: Vec<u8> = text.bytes().filter(|b| *b != b'\n' && *b != b'\r').collect();
                Cow::Owned(SECRET_DATA.decode(compact).ok()?)
            } else {
                Cow::Borrowed(text.as_bytes())
            };
            Some(StoredValue { field, key, bytes })
        })
    })
}

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for obj in cx.bundle.subjects() {
        match obj.kind {
            "Secret" => check_secret(obj, out),
            "ServiceAccount" if obj.name == "default" => check_default_service_account(obj, out),
            _ => {}
        }
        if let Some(spec) = obj.pod_spec() {
            for (pointer, container) in spec.containers() {
                check_env(obj, &pointer, container, out);
            }
        }
    }
}

fn check_env(obj: &Obj<'_>, container_pointer: &str, container: &Value, out: &mut Emitter<'_>) {
    let Some(env) = container.get("env").and_then(Value::as_array) else { return };
    let container_name = match container.get("name").and_then(Value::as_str) {
        Some(name) => format!("container {name}"),
        None => "a container".to_string(),
    };
    for (i, var) in env.iter().enumerate() {
        let Some(name) = var.get("name").and_then(Value::as_str) else { continue };
        let Some(cloud) = credential_cloud(name) else { continue };
        let how = match (var.get("value").and_then(Value::as_str), var.get("valueFrom")) {
            (Some(value), _) if !value.is_empty() => {
                format!("sets {name} inline, putting a static {} credential in the manifest", cloud.name())
            }
            (_, Some(from)) if from.is_object() => match source_of(from) {
                Some(source) => format!("reads {name} from {source}, a static {} credential", cloud.name()),
                None => continue,
            },
            _ => continue,
        };
        let message = format!("{container_name} {how}; {}", use_workload_identity(cloud));
        out.report(obj, format!("{container_pointer}/env/{i}"), message);
    }
}

/// Where a `valueFrom` reads from; `None` for the Pod's own fields, which hold no credential.
fn source_of(value_from: &Value) -> Option<String> {
    let named = |field: &str| value_from.get(field)?.get("name")?.as_str().filter(|n| !n.is_empty());
    if value_from.get("fieldRef").is_some() || value_from.get("resourceFieldRef").is_some() {
        return None;
    }
    Some(if let Some(secret) = named("secretKeyRef") {
        format!("Secret {secret}")
    } else if let Some(config_map) = named("configMapKeyRef") {
        format!("ConfigMap {config_map}")
    } else if value_from.get("fileKeyRef").is_some() {
        "a file".to_string()
    } else {
        "a valueFrom source".to_string()
    })
}

fn check_secret(obj: &Obj<'_>, out: &mut Emitter<'_>) {
    for value in stored_values(obj) {
        if value.bytes.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let (cloud, what) = match credential_cloud(value.key) {
            Some(cloud) => (cloud, format!("Secret key {} holds a static {} credential", value.key, cloud.name())),
            None => match credential_in_content(&value.bytes) {
                Some((cloud, content)) => {
                    (cloud, format!("Secret key {} holds {content}, a static {} credential", value.key, cloud.name()))
                }
                None => continue,
            },
        };
        out.report(obj, value.path(), format!("{what}; {}", use_workload_identity(cloud)));
    }
}

fn check_default_service_account(obj: &Obj<'_>, out: &mut Emitter<'_>) {
    let namespace = obj.namespace.map(|ns| format!("namespace {ns}")).unwrap_or_else(|| "its namespace".into());
    for &(annotation, identity) in WORKLOAD_IDENTITY_ANNOTATIONS {
        let Some(value) = k8s::annotation(obj.value, annotation).map(str::trim).filter(|v| !v.is_empty()) else {
            continue;
        };
        let message = format!(
            "the default ServiceAccount carries {annotation}: {value}, so every Pod in {namespace} that names no \
             ServiceAccount can act as {identity}; annotate a dedicated ServiceAccount of the workload that needs it \
             instead"
        );
        out.report(obj, format!("/metadata/annotations/{}", k8s::escape_pointer_token(annotation)), message);
    }
}

fn use_workload_identity(cloud: Cloud) -> String {
    format!(
        "use workload identity instead ({} on the workload's own ServiceAccount), so the projected ServiceAccount \
         token is the only credential",
        cloud.workload_identity()
    )
}

/// The cloud whose credential `name` holds: one of [`CREDENTIAL_NAMES`], ignoring case and
/// `-`/`_`, alone or after a prefix ending in `_` (`BACKUP_AWS_SECRET_ACCESS_KEY`).
/// Whether this rule reads an environment variable of this name (see
/// [`crate::projection`], which leaves the other variables out of admitted objects).
pub(crate) fn is_credential_name(name: &str) -> bool {
    credential_cloud(name).is_some()
}

/// The last letters of [`CREDENTIAL_NAMES`], by byte.
const ENDS_A_CREDENTIAL_NAME: [bool; 256] = {
    let mut ends = [false; 256];
    let mut i = 0;
    while i < CREDENTIAL_NAMES.len() {
        let name = CREDENTIAL_NAMES[i].0.as_bytes();
        ends[name[name.len() - 1] as usize] = true;
        i += 1;
    }
    ends
};

/// Inline, so the last letter, which rules out nearly every name at once, is read before any
/// call (the admission decoder asks this of every variable of a Pod).
#[inline]
fn credential_cloud(name: &str) -> Option<Cloud> {
    let last = name.as_bytes().last()?.to_ascii_uppercase();
    ENDS_A_CREDENTIAL_NAME[usize::from(last)].then(|| cloud_of_credential(name.as_bytes(), last))?
}

/// [`credential_cloud`] for a name whose uppercased last letter, `last`, ends a credential name.
fn cloud_of_credential(name: &[u8], last: u8) -> Option<Cloud> {
    // Compared in place: a Pod can carry tens of thousands of env names.
    let same = |a: &[u8], credential: &[u8]| {
        a.iter().zip(credential).all(|(&b, &c)| if b == b'-' { c == b'_' } else { b.to_ascii_uppercase() == c })
    };
    CREDENTIAL_NAMES.iter().find_map(|&(credential, cloud)| {
        let credential = credential.as_bytes();
        let matches = credential.last() == Some(&last)
            && ((name.len() == credential.len() && same(name, credential))
                || (name.len() > credential.len()
                    && matches!(name[name.len() - credential.len() - 1], b'_' | b'-')
                    && same(&name[name.len() - credential.len()..], credential)));
        matches.then_some(cloud)
    })
}

/// A credential file stored as a value: a GCP service-account key or Azure service principal
/// JSON, or INI / dotenv lines setting a credential (`aws_secret_access_key = ...`).
fn credential_in_content(bytes: &[u8]) -> Option<(Cloud, String)> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        // Invalid JSON (or nesting beyond serde_json's limit) is an error, not a panic.
        let json: Value = serde_json::from_str(trimmed).ok()?;
        let non_empty = |field: &str| json.get(field).and_then(Value::as_str).is_some_and(|v| !v.trim().is_empty());
        if json.get("type").and_then(Value::as_str) == Some("service_account") && non_empty("private_key") {
            return Some((
                Cloud::Gcp,
                "a GCP service-account key (\"type\": \"service_account\" with a private_key)".into(),
            ));
        }
        if non_empty("clientId") && non_empty("clientSecret") {
            return Some((Cloud::Azure, "an Azure service principal secret (clientId and clientSecret)".into()));
        }
        return None;
    }
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").map(str::trim_start).unwrap_or(line);
        let Some(separator) = line.find(['=', ':']) else { continue };
        let (key, value) = (line[..separator].trim().trim_matches(['"', '\'']), line[separator + 1..].trim());
        if value.is_empty() || value == "\"\"" || value == "''" {
            continue;
        }
        if let Some(cloud) = credential_cloud(key) {
            return Some((cloud, format!("a credentials file setting {key} (line {})", number + 1)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use crate::rules::testing::{admit_without_cluster, lint, located};

    const AWS_HINT: &str = "use workload identity instead (IRSA, an eks.amazonaws.com/role-arn annotation on the \
        workload's own ServiceAccount), so the projected ServiceAccount token is the only credential";
    const GCP_HINT: &str = "use workload identity instead (GKE Workload Identity, an iam.gke.io/gcp-service-account \
        annotation on the workload's own ServiceAccount), so the projected ServiceAccount token is the only credential";
    const AZURE_HINT: &str = "use workload identity instead (Azure Workload Identity, an \
        azure.workload.identity/client-id annotation on the workload's own ServiceAccount), so the projected \
        ServiceAccount token is the only credential";

    fn secret(field: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cloud", "namespace": "analytics"}, field: data})
    }

    fn b64(text: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn fires_on_credential_env_vars_in_every_container_group() {
        let findings = lint(
            "SAG013",
            &[json!({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "report-exporter", "namespace": "analytics"},
                "spec": {"template": {"spec": {
                    "containers": [{"name": "report-exporter", "env": [
                        {"name": "AWS_ACCESS_KEY_ID", "value": "AKIAIOSFODNN7EXAMPLE"},
                        {"name": "AWS_REGION", "value": "eu-west-1"},
                        {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": {"secretKeyRef": {"name": "aws", "key": "secret"}}},
                        {"name": "AWS_SESSION_TOKEN", "value": ""},
                        {"name": "AWS_SECRET_KEY", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                    ]}],
                    "initContainers": [{"name": "fetch", "env": [
                        {"name": "GOOGLE_APPLICATION_CREDENTIALS", "value": "/var/secrets/google/key.json"},
                    ]}],
                    "ephemeralContainers": [{"name": "debug", "env": [
                        {"name": "backup_azure_client_secret", "valueFrom": {"configMapKeyRef": {"name": "oops", "key": "s"}}},
                    ]}],
                }}}
            })],
        );
        assert_eq!(
            located(&findings),
            [
                (
                    "/spec/template/spec/containers/0/env/0",
                    &*format!(
                        "container report-exporter sets AWS_ACCESS_KEY_ID inline, putting a static AWS credential in \
                    the manifest; {AWS_HINT}"
                    )
                ),
                (
                    "/spec/template/spec/containers/0/env/2",
                    &*format!(
                        "container report-exporter reads AWS_SECRET_ACCESS_KEY from Secret aws, a static AWS \
                    credential; {AWS_HINT}"
                    )
                ),
                (
                    "/spec/template/spec/ephemeralContainers/0/env/0",
                    &*format!(
                        "container debug reads backup_azure_client_secret from ConfigMap oops, a static Azure \
                    credential; {AZURE_HINT}"
                    )
                ),
                (
                    "/spec/template/spec/initContainers/0/env/0",
                    &*format!(
                        "container fetch sets GOOGLE_APPLICATION_CREDENTIALS inline, putting a static GCP \
                    credential in the manifest; {GCP_HINT}"
                    )
                ),
            ]
        );
    }

    #[test]
    fn fires_on_secret_keys_named_like_credentials() {
        let findings = lint(
            "SAG013",
            &[
                secret("data", json!({"aws_access_key_id": b64("AKIAIOSFODNN7EXAMPLE"), "region": b64("eu-west-1")})),
                secret("stringData", json!({"ARM_CLIENT_SECRET": "s3cr3t", "team/owner": "data"})),
            ],
        );
        assert_eq!(
            located(&findings),
            [
                (
                    "/data/aws_access_key_id",
                    &*format!("Secret key aws_access_key_id holds a static AWS credential; {AWS_HINT}")
                ),
                (
                    "/stringData/ARM_CLIENT_SECRET",
                    &*format!("Secret key ARM_CLIENT_SECRET holds a static Azure credential; {AZURE_HINT}")
                ),
            ]
        );
    }

    #[test]
    fn fires_on_credential_files_in_secrets() {
        let aws_file = "[default]\n# rotated never\naws_access_key\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n";
        let gcp_key =
            r#"{"type": "service_account", "project_id": "p", "private_key": "-----BEGIN PRIVATE KEY-----\n"}"#;
        let azure = r#"{"clientId": "0000", "clientSecret": "s3cr3t", "tenantId": "t"}"#;
        let findings = lint(
            "SAG013",
            &[secret(
                "data",
                json!({
                    "credentials": b64(aws_file),
                    "key.json": b64(gcp_key),
                    "sdk/auth.json": b64(azure),
                    ".env": b64("export GOOGLE_CREDENTIALS='{}'\n"),
                }),
            )],
        );
        assert_eq!(
            located(&findings),
            [
                (
                    "/data/.env",
                    &*format!(
                        "Secret key .env holds a credentials file setting GOOGLE_CREDENTIALS (line 1), a static GCP \
                    credential; {GCP_HINT}"
                    )
                ),
                (
                    "/data/credentials",
                    &*format!(
                        "Secret key credentials holds a credentials file setting aws_secret_access_key (line 4), a \
                    static AWS credential; {AWS_HINT}"
                    )
                ),
                (
                    "/data/key.json",
                    &*format!(
                        "Secret key key.json holds a GCP service-account key (\"type\": \"service_account\" with a \
                    private_key), a static GCP credential; {GCP_HINT}"
                    )
                ),
                (
                    "/data/sdk~1auth.json",
                    &*format!(
                        "Secret key sdk/auth.json holds an Azure service principal secret (clientId and \
                    clientSecret), a static Azure credential; {AZURE_HINT}"
                    )
                ),
            ]
        );
    }

    #[test]
    fn secrets_without_credentials_or_with_bad_data_pass() {
        let federation = r#"{"type": "external_account", "audience": "//iam.googleapis.com/x"}"#;
        assert!(lint(
            "SAG013",
            &[secret(
                "data",
                json!({
                    "federation.json": b64(federation),
                    "not-base64": "%%%",
                    "not-json": b64("{\"type\": \"service_account\", "),
                    "deep": b64(&"[".repeat(100_000)),
                    "nested": b64(&format!("{}{}", "{\"a\":".repeat(1000), "}".repeat(1000))),
                    "binary": "//79/A==",
                    "empty-aws": b64("aws_secret_access_key =\n"),
                    "commented": b64("# AWS_SECRET_ACCESS_KEY=abc\n"),
                    "number": 7,
                    "AWS_SECRET_ACCESS_KEY": "",
                })
            )]
        )
        .is_empty());
        // a ConfigMap is SAG014's business here, not a Secret
        assert!(lint(
            "SAG013",
            &[json!({"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"region": "eu-west-1"}})]
        )
        .is_empty());
    }

    #[test]
    fn fires_on_workload_identity_annotations_on_the_default_service_account_at_admission() {
        let findings = admit_without_cluster(
            "SAG013",
            json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": "analytics", "annotations": {
                    "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/s3-reader",
                    "iam.gke.io/gcp-service-account": "",
                }}
            }),
        );
        assert_eq!(located(&findings), [(
            "/metadata/annotations/eks.amazonaws.com~1role-arn",
            "the default ServiceAccount carries eks.amazonaws.com/role-arn: arn:aws:iam::111122223333:role/s3-reader, \
             so every Pod in namespace analytics that names no ServiceAccount can act as the AWS IAM role; annotate a \
             dedicated ServiceAccount of the workload that needs it instead"
        )]);
    }

    #[test]
    fn workload_identity_on_a_dedicated_service_account_passes() {
        assert!(lint(
            "SAG013",
            &[json!({
                "apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "report-exporter-sa", "namespace": "analytics", "annotations": {
                    "eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/report-exporter",
                    "azure.workload.identity/client-id": "0000",
                }}
            })]
        )
        .is_empty());
    }

    #[test]
    fn credential_names() {
        use super::{credential_cloud, Cloud};
        assert_eq!(credential_cloud("AWS_SECRET_ACCESS_KEY"), Some(Cloud::Aws));
        assert_eq!(credential_cloud("aws-secret-access-key"), Some(Cloud::Aws));
        assert_eq!(credential_cloud("S3_AWS_ACCESS_KEY_ID"), Some(Cloud::Aws));
        assert_eq!(credential_cloud("azure_client_certificate_password"), Some(Cloud::Azure));
        assert_eq!(credential_cloud("XAWS_SECRET_ACCESS_KEY"), None);
        assert_eq!(credential_cloud("AWS_SECRET_ACCESS_KEY_FILE_PATH_X"), None);
        assert_eq!(credential_cloud("AWS_REGION"), None);
        assert_eq!(credential_cloud("AZURE_TENANT_ID"), None);
        assert_eq!(credential_cloud(""), None);
        assert_eq!(credential_cloud("_"), None);
        assert_eq!(credential_cloud("backup-gcloud-keyfile-json"), Some(Cloud::Gcp), "a prefix ending in -");
        assert_eq!(credential_cloud("AWS_SECRET_ACCESS-KEY"), Some(Cloud::Aws), "- and _ mixed");
        assert_eq!(credential_cloud("AWS_SECRET_ACCESS.KEY"), None);
        assert_eq!(credential_cloud("\u{e9}_AWS_SECRET_ACCESS_KEY"), Some(Cloud::Aws), "non-ASCII prefix");
        assert_eq!(credential_cloud("AWS_SECRET_ACCESS_KE\u{e9}"), None);
    }
}
