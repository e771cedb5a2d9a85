use serde_json::Value;

use crate::bundle::Obj;
use crate::byte_words::{each_byte, first_hit, word_at, zero_bytes};
use crate::declare_rule;
use crate::engine::{Cx, Emitter};
use crate::finding::Level;
use crate::k8s;
use crate::meta::{Category, Scope};
#[cfg(feature = "manifest")]
use crate::rules::stored_values::stored_values_of_keys;
use crate::rules::stored_values::{stored_values, StoredValue};

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
    /// Credential settings, as each provider's CLI, SDKs or Terraform provider documents them
    /// (those that hold or locate a secret, and AWS's access key id, the other half of its key
    /// pair; none that names a region, project, tenant or account), and what each finding
    /// advises instead:
    ///
    /// | Provider | Settings | Instead |
    /// |---|---|---|
    /// | AWS | `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_SECURITY_TOKEN`, `AWS_ACCESS_KEY`, `AWS_SECRET_KEY`, `AWS_CONTAINER_AUTHORIZATION_TOKEN`, `AWS_SHARED_CREDENTIALS_FILE` | IRSA (`eks.amazonaws.com/role-arn` on the workload's own ServiceAccount) or EKS Pod Identity |
    /// | GCP | `GOOGLE_APPLICATION_CREDENTIALS`, `GOOGLE_CREDENTIALS`, `GOOGLE_CLOUD_KEYFILE_JSON`, `GCLOUD_KEYFILE_JSON`, `GOOGLE_OAUTH_ACCESS_TOKEN`, `CLOUDSDK_AUTH_ACCESS_TOKEN`, `CLOUDSDK_AUTH_ACCESS_TOKEN_FILE`, `CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE` | GKE Workload Identity Federation (`iam.gke.io/gcp-service-account`, or IAM roles granted to the ServiceAccount's principal) |
    /// | Azure | `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PASSWORD`, `AZURE_CLIENT_CERTIFICATE_PATH`, `AZURE_PASSWORD`, `AZURE_STORAGE_KEY`, `AZURE_STORAGE_CONNECTION_STRING`, `AZURE_STORAGE_SAS_TOKEN`, `AZURE_BATCH_ACCESS_KEY`, `ARM_CLIENT_SECRET`, `ARM_CLIENT_CERTIFICATE_PASSWORD`, `ARM_ACCESS_KEY` | Azure Workload Identity (`azure.workload.identity/client-id` and the `azure.workload.identity/use` Pod label) |
    /// | Oracle OCI | `OCI_CLI_KEY_FILE`, `OCI_CLI_KEY_CONTENT`, `OCI_CLI_PASSPHRASE`, `OCI_CLI_SECURITY_TOKEN_FILE` | OCI Workload Identity on OKE (an IAM policy naming the namespace and ServiceAccount) |
    /// | Alibaba Cloud | `ALIBABA_CLOUD_ACCESS_KEY_SECRET`, `ALIBABA_CLOUD_SECURITY_TOKEN`, `ALICLOUD_SECRET_KEY`, `ALICLOUD_SECURITY_TOKEN` | RRSA on ACK (`pod-identity.alibabacloud.com/role-name`) |
    /// | DigitalOcean | `DIGITALOCEAN_ACCESS_TOKEN`, `DIGITALOCEAN_TOKEN`, `SPACES_SECRET_ACCESS_KEY` | no workload identity: short-lived, narrowly scoped tokens from a secrets manager |
    /// | IBM Cloud | `IBMCLOUD_API_KEY`, `IC_API_KEY`, `IAAS_CLASSIC_API_KEY` | a trusted profile with a compute resource identity for the IKS cluster, namespace and ServiceAccount |
    ///
    /// A name counts ignoring case, with `-` for `_`, alone or after a prefix ending in `_` or `-`
    /// (`BACKUP_AWS_SECRET_ACCESS_KEY`).
    ///
    /// Fires on:
    ///
    /// * an environment variable of any container (containers, initContainers,
    ///   ephemeralContainers) named like a credential, with a non-empty inline `value` or a
    ///   `valueFrom` (Secret, ConfigMap or file): path `<container>/env/<i>`;
    /// * an `envFrom` entry of any container that loads a ConfigMap (its `data`) or a Secret (its
    ///   `data` and `stringData`) with a non-empty value under a key that, with the entry's
    ///   `prefix` in front, is a credential's name; the message names the variables and the
    ///   object: path `<container>/envFrom/<i>`. The ConfigMap or Secret must be in the evaluated
    ///   manifests (the CLI, the playground). At admission the policy sees one object, does not
    ///   look ConfigMaps up, and looks Secrets up (with `lookup_secrets`) without their data, so
    ///   an `envFrom` is not judged there; the ConfigMap or Secret is judged when it is admitted;
    /// * a Secret key (`data`, base64-decoded, or `stringData`) or a ConfigMap key (`data`, or
    ///   `binaryData` base64-decoded) named like a credential (`aws_secret_access_key` included),
    ///   or whose content is an AWS credentials or dotenv file with such a setting
    ///   (`aws_secret_access_key = …`), a GCP service-account key (JSON with `"type":
    ///   "service_account"` and a `private_key`), or an Azure service principal secret (JSON with
    ///   `clientId` and `clientSecret`, as `az ad sp create-for-rbac --sdk-auth` writes): path
    ///   `/data/<key>`, `/stringData/<key>` or `/binaryData/<key>`. For a ConfigMap the message
    ///   adds that ConfigMaps are not even access-controlled like Secrets;
    /// * a workload identity annotation on a ServiceAccount named `default` —
    ///   `eks.amazonaws.com/role-arn`, `iam.gke.io/gcp-service-account`,
    ///   `azure.workload.identity/client-id`: path `/metadata/annotations/<key>` (with `/`
    ///   written `~1`).
    ///
    /// Does not fire on: region, project, tenant and account settings, and the other providers'
    /// key ids (`AWS_REGION`, `GOOGLE_CLOUD_PROJECT`, `AZURE_TENANT_ID`, `OCI_CLI_FINGERPRINT`,
    /// `SPACES_ACCESS_KEY_ID`, `ALIBABA_CLOUD_ACCESS_KEY_ID`);
    /// the variables workload identity itself sets (`AWS_WEB_IDENTITY_TOKEN_FILE`,
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`, `AZURE_FEDERATED_TOKEN_FILE`,
    /// `ALIBABA_CLOUD_OIDC_TOKEN_FILE`); an empty `value`; `fieldRef` and `resourceFieldRef`
    /// values; stored values that are empty, not valid base64 or not a recognised credential
    /// format; an `envFrom` whose ConfigMap or Secret is not in the manifests, or whose
    /// credential-named keys are empty (a ConfigMap's `binaryData` never reaches the
    /// environment); a GCP `external_account` credential configuration (that is workload
    /// identity federation); workload identity annotations on dedicated ServiceAccounts, which
    /// is the fix. `GOOGLE_APPLICATION_CREDENTIALS` or `CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE`
    /// pointing at a federation configuration rather than a key file is reported anyway: exempt
    /// that workload with `sa-guard.io/exempt` and a reason.
    ///
    /// Fix: delete the keys, give the workload its own ServiceAccount and the provider's
    /// workload identity (see the table), grant the cloud role to that identity only, and revoke
    /// the old keys in the cloud — they may already have been copied. Where the provider has no
    /// workload identity (DigitalOcean), keep tokens short-lived, scoped to what the workload
    /// needs, and delivered by a secrets manager that rotates them.
    ///
    /// Peers (Polaris, Kubescape, kube-linter, Checkov) flag secret-looking environment variables
    /// in general and point to Secrets; this rule covers cloud credentials only, in Secrets,
    /// ConfigMaps and `envFrom` too, and points to workload identity. None of them checks the
    /// annotations on `default`.
    pub static RULE = {
        id: "SAG013",
        slug: "static-cloud-credentials",
        title: "Static cloud credentials instead of workload identity",
        category: Category::Credentials,
        default_level: Level::Deny,
        scope: Scope::Object,
        fixable: false,
        remediation: "Remove the static keys, use the cloud's workload identity on the workload's own ServiceAccount \
            (never the default one; on DigitalOcean, short-lived scoped tokens from a secrets manager), then revoke \
            the old keys.",
        references: &[
            "Lesson 39, Teacher's Note: workload identity — the SA token is the credential; no long-lived cloud keys \
             stored in Secrets",
            "Lesson 39, hardening checklist item 4: audience-bound projected tokens rather than long-lived static \
             credentials",
            "AWS documentation: IAM roles for service accounts (IRSA) and EKS Pod Identity; AWS CLI and SDK \
             environment variables",
            "Google Cloud documentation: GKE Workload Identity Federation; gcloud CLI authentication",
            "Microsoft documentation: Microsoft Entra Workload ID on AKS",
            "Oracle documentation: OKE workload identity; OCI CLI environment variables",
            "Alibaba Cloud documentation: RRSA for ACK; Alibaba Cloud CLI environment variables",
            "DigitalOcean documentation: Terraform provider and doctl authentication",
            "IBM Cloud documentation: trusted profiles for compute resources; ibmcloud CLI environment variables",
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

/// A cloud whose long-lived credentials this rule finds, and what it advises instead.
struct Provider {
    name: &'static str,
    /// Settings that hold (or locate) a long-lived credential, as the provider documents them
    /// for its CLI, SDKs or Terraform provider. Upper case with `_`, each with at least one `_`
    /// (see [`FIRST_WORDS`]); names are compared ignoring case and `-`/`_`.
    variables: &'static [&'static str],
    /// The provider's workload identity for Kubernetes, as every finding's message advises it
    /// (see [`Provider::advice`]); `None` where there is none.
    workload_identity: Option<&'static str>,
}

impl Provider {
    /// What every finding of this provider's credentials advises instead: its workload identity,
    /// or short-lived scoped tokens where it has none.
    fn advice(&self) -> String {
        match self.workload_identity {
            Some(identity) => format!(
                "use workload identity instead ({identity}), so the projected ServiceAccount token is the only credential"
            ),
            None => format!(
                "{} has no workload identity for Kubernetes: use short-lived tokens scoped to what the workload needs, \
                 from a secrets manager that rotates them",
                self.name
            ),
        }
    }
}

/// The one table of providers, credential settings and workload identities. The rule's
/// documentation lists the same (`the_documentation_lists_every_provider_and_variable` keeps
/// them together).
const PROVIDERS: &[Provider] = &[
    Provider {
        name: "AWS",
        variables: &[
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            // boto's older name for the session token, still read by botocore
            "AWS_SECURITY_TOKEN",
            // the AWS SDK for Java's older spellings
            "AWS_ACCESS_KEY",
            "AWS_SECRET_KEY",
            // the container credential provider's token given inline (its `_FILE` form is what
            // EKS Pod Identity sets, pointing at a projected token: not reported)
            "AWS_CONTAINER_AUTHORIZATION_TOKEN",
            "AWS_SHARED_CREDENTIALS_FILE",
        ],
        workload_identity: Some(
            "IRSA's eks.amazonaws.com/role-arn annotation or an EKS Pod Identity association, on the workload's own \
             ServiceAccount",
        ),
    },
    Provider {
        name: "GCP",
        variables: &[
            "GOOGLE_APPLICATION_CREDENTIALS",
            "GOOGLE_CREDENTIALS",
            "GOOGLE_CLOUD_KEYFILE_JSON",
            "GCLOUD_KEYFILE_JSON",
            "GOOGLE_OAUTH_ACCESS_TOKEN",
            "CLOUDSDK_AUTH_ACCESS_TOKEN",
            "CLOUDSDK_AUTH_ACCESS_TOKEN_FILE",
            "CLOUDSDK_AUTH_CREDENTIAL_FILE_OVERRIDE",
        ],
        workload_identity: Some(
            "GKE Workload Identity Federation, an iam.gke.io/gcp-service-account annotation or IAM roles for the \
             workload's own ServiceAccount",
        ),
    },
    Provider {
        name: "Azure",
        variables: &[
            "AZURE_CLIENT_SECRET",
            "AZURE_CLIENT_CERTIFICATE_PASSWORD",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "AZURE_PASSWORD",
            "AZURE_STORAGE_KEY",
            "AZURE_STORAGE_CONNECTION_STRING",
            "AZURE_STORAGE_SAS_TOKEN",
            "AZURE_BATCH_ACCESS_KEY",
            "ARM_CLIENT_SECRET",
            "ARM_CLIENT_CERTIFICATE_PASSWORD",
            "ARM_ACCESS_KEY",
        ],
        workload_identity: Some(
            "Azure Workload Identity, an azure.workload.identity/client-id annotation on the workload's own \
             ServiceAccount and the azure.workload.identity/use: \"true\" Pod label",
        ),
    },
    Provider {
        name: "Oracle OCI",
        variables: &["OCI_CLI_KEY_FILE", "OCI_CLI_KEY_CONTENT", "OCI_CLI_PASSPHRASE", "OCI_CLI_SECURITY_TOKEN_FILE"],
        workload_identity: Some(
            "OCI Workload Identity on OKE, an IAM policy for the workload's namespace and own ServiceAccount",
        ),
    },
    Provider {
        name: "Alibaba Cloud",
        variables: &[
            "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
            "ALIBABA_CLOUD_SECURITY_TOKEN",
            "ALICLOUD_SECRET_KEY",
            "ALICLOUD_SECURITY_TOKEN",
        ],
        workload_identity: Some(
            "RRSA on ACK, a pod-identity.alibabacloud.com/role-name annotation on the workload's own ServiceAccount",
        ),
    },
    Provider {
        name: "DigitalOcean",
        variables: &["DIGITALOCEAN_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN", "SPACES_SECRET_ACCESS_KEY"],
        workload_identity: None,
    },
    Provider {
        name: "IBM Cloud",
        variables: &["IBMCLOUD_API_KEY", "IC_API_KEY", "IAAS_CLASSIC_API_KEY"],
        workload_identity: Some(
            "an IBM Cloud trusted profile for the IKS cluster, namespace and workload's own ServiceAccount",
        ),
    },
];

/// The providers whose credential files [`credential_file`] recognises by their content.
const GCP: &Provider = &PROVIDERS[1];
const AZURE: &Provider = &PROVIDERS[2];

/// Workload identity annotations: on `default`, every Pod of the namespace gets the identity.
const WORKLOAD_IDENTITY_ANNOTATIONS: &[(&str, &str)] = &[
    ("eks.amazonaws.com/role-arn", "the AWS IAM role"),
    ("iam.gke.io/gcp-service-account", "the GCP service account"),
    ("azure.workload.identity/client-id", "the Azure identity"),
];

/// The most variables an `envFrom` finding names; the rest are counted.
#[cfg(feature = "manifest")]
const NAMED_IN_A_MESSAGE: usize = 5;

fn check(cx: &Cx<'_>, out: &mut Emitter<'_>) {
    for obj in cx.bundle.subjects() {
        match obj.kind {
            "Secret" | "ConfigMap" => check_stored_values(obj, out),
            "ServiceAccount" if obj.name == "default" => check_default_service_account(obj, out),
            _ => {}
        }
        if let Some(spec) = obj.pod_spec() {
            for (pointer, container) in spec.containers() {
                check_env(obj, &pointer, container, out);
                // At admission the object is judged alone: no ConfigMap or Secret to load with it.
                #[cfg(feature = "manifest")]
                check_env_from(cx, obj, &pointer, container, out);
            }
        }
    }
}

/// "container app", for a finding's message.
fn container_name(container: &Value) -> String {
    match container.get("name").and_then(Value::as_str) {
        Some(name) => format!("container {name}"),
        None => "a container".to_string(),
    }
}

fn check_env(obj: &Obj<'_>, container_pointer: &str, container: &Value, out: &mut Emitter<'_>) {
    let Some(env) = container.get("env").and_then(Value::as_array) else { return };
    for (i, var) in env.iter().enumerate() {
        let Some(name) = var.get("name").and_then(Value::as_str) else { continue };
        let Some(provider) = credential_provider(name) else { continue };
        let how = match (var.get("value").and_then(Value::as_str), var.get("valueFrom")) {
            (Some(value), _) if !value.is_empty() => {
                format!("sets {name} inline, putting a static {} credential in the manifest", provider.name)
            }
            (_, Some(from)) if from.is_object() => match source_of(from) {
                Some(source) => format!("reads {name} from {source}, a static {} credential", provider.name),
                None => continue,
            },
            _ => continue,
        };
        out.report(
            obj,
            format!("{container_pointer}/env/{i}"),
            format!("{} {how}; {}", container_name(container), provider.advice()),
        );
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

/// `envFrom` entries that load credentials into the environment: every non-empty key of the
/// ConfigMap's `data` (the kubelet ignores `binaryData` here) or the Secret's `data` and
/// `stringData` becomes a variable named `<prefix><key>`. Only objects in the bundle are read:
/// at admission a Secret is looked up without its data and ConfigMaps are not looked up at all,
/// so this is compiled for manifests only (it would never fire in policy.wasm, and its size is
/// over the module's budget).
#[cfg(feature = "manifest")]
fn check_env_from(cx: &Cx<'_>, obj: &Obj<'_>, container_pointer: &str, container: &Value, out: &mut Emitter<'_>) {
    let Some(sources) = container.get("envFrom").and_then(Value::as_array) else { return };
    for (i, source) in sources.iter().enumerate() {
        let named = |reference: &str| k8s::str_at(source, &[reference, "name"]).filter(|name| !name.is_empty());
        let (loaded, fields): (_, &[&str]) = if let Some(name) = named("configMapRef") {
            (cx.bundle.config_map(obj.namespace, name), &["data"])
        } else if let Some(name) = named("secretRef") {
            (cx.bundle.secret(obj.namespace, name), &["data", "stringData"])
        } else {
            continue;
        };
        let Some(loaded) = loaded else { continue };
        let prefix = source.get("prefix").and_then(Value::as_str).unwrap_or("");
        let variable = |key: &str| format!("{prefix}{key}");
        // (variable, provider) in the object's order; a key in both `data` and `stringData` once.
        // Only the values of keys that make a credential's name are decoded.
        let mut credentials: Vec<(String, &Provider)> = Vec::new();
        let named_like_a_credential = |key: &str| match prefix {
            "" => is_credential_name(key),
            _ => is_credential_name(&variable(key)),
        };
        for value in stored_values_of_keys(loaded, fields, named_like_a_credential) {
            let variable = variable(value.key);
            let Some(provider) = credential_provider(&variable).filter(|_| !value.is_blank()) else { continue };
            if !credentials.iter().any(|(known, _)| *known == variable) {
                credentials.push((variable, provider));
            }
        }
        if credentials.is_empty() {
            continue;
        }
        let with_prefix = if prefix.is_empty() { String::new() } else { format!(" with prefix {prefix}") };
        let message = format!(
            "{} loads {} {}{with_prefix} into its environment (envFrom), setting {}; {}",
            container_name(container),
            loaded.kind,
            loaded.name,
            credentials_named(&credentials),
            advice_for(credentials.iter().map(|(_, provider)| *provider)),
        );
        out.report(obj, format!("{container_pointer}/envFrom/{i}"), message);
    }
}

/// "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, static AWS credentials", naming at most
/// [`NAMED_IN_A_MESSAGE`] variables.
#[cfg(feature = "manifest")]
fn credentials_named(credentials: &[(String, &Provider)]) -> String {
    let shown: Vec<&str> = credentials.iter().take(NAMED_IN_A_MESSAGE).map(|(name, _)| name.as_str()).collect();
    let listed = match (credentials.len() - shown.len(), shown.split_last()) {
        (_, None) => String::new(),
        (0, Some((last, []))) => last.to_string(),
        (0, Some((last, rest))) => format!("{} and {last}", rest.join(", ")),
        (more, _) => format!("{} and {more} more", shown.join(", ")),
    };
    let mut providers: Vec<&str> = Vec::new();
    for (_, provider) in credentials {
        if !providers.contains(&provider.name) {
            providers.push(provider.name);
        }
    }
    match credentials.len() {
        1 => format!("{listed}, a static {} credential", provider_names(&providers)),
        _ => format!("{listed}, static {} credentials", provider_names(&providers)),
    }
}

#[cfg(feature = "manifest")]
fn provider_names(names: &[&str]) -> String {
    match names.split_last() {
        Some((last, [])) => last.to_string(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
        None => String::new(),
    }
}

/// Each provider's advice once, in the order the providers come.
#[cfg(feature = "manifest")]
fn advice_for<'p>(providers: impl Iterator<Item = &'p Provider>) -> String {
    let mut named: Vec<&str> = Vec::new();
    let mut advice: Vec<String> = Vec::new();
    for provider in providers {
        if !named.contains(&provider.name) {
            named.push(provider.name);
            advice.push(provider.advice());
        }
    }
    advice.join("; ")
}

fn check_stored_values(obj: &Obj<'_>, out: &mut Emitter<'_>) {
    for value in stored_values(obj) {
        if value.is_blank() {
            continue;
        }
        let Some((provider, what)) = credential_stored(&value) else { continue };
        let unguarded = match obj.kind {
            "ConfigMap" => {
                ", and a ConfigMap is not even access-controlled like a Secret: anyone who can read ConfigMaps in \
                 the namespace can take it"
            }
            _ => "",
        };
        let message = format!("{} key {} holds {what}{unguarded}; {}", obj.kind, value.key, provider.advice());
        out.report(obj, value.path(), message);
    }
}

/// The provider and a description of the credential `value` holds, by its key's name or its
/// content.
fn credential_stored(value: &StoredValue<'_>) -> Option<(&'static Provider, String)> {
    if let Some(provider) = credential_provider(value.key) {
        return Some((provider, format!("a static {} credential", provider.name)));
    }
    let (provider, content) = credential_in_content(&value.bytes)?;
    Some((provider, format!("{content}, a static {} credential", provider.name)))
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

/// Whether this rule reads an environment variable of this name (see [`crate::projection`],
/// which leaves the other variables out of admitted objects).
pub(crate) fn is_credential_name(name: &str) -> bool {
    credential_provider(name).is_some()
}

/// Whether this rule reads the ConfigMap `data` value under `key` written as the JSON text
/// `json`, judged without decoding it (see [`crate::projection`]): one under a credential's
/// name, anything but a string, or a string that [`may_hold_a_credential`] on its JSON text. A
/// string's text holds the words that test looks for exactly when the decoded value does,
/// unless a `\u` escape writes them, which it takes as a mention itself; the boundaries before
/// the words it accepts include what JSON escapes (`\"`, `\n`, `\t`).
pub(crate) fn reads_config_map_value(key: &str, json: &str) -> bool {
    is_credential_name(key) || !json.starts_with('"') || may_hold_a_credential(json.as_bytes())
}

/// Whether a ConfigMap `data` key may, with an `envFrom` prefix in front, name a credential: it
/// is a credential's name (see [`credential_provider`]) or the end of one (`SECRET_ACCESS_KEY`
/// after the prefix `AWS_`). What other parts of a bundle see of a ConfigMap
/// ([`crate::bundle::seen_from_other_parts`]).
#[cfg(feature = "manifest")]
pub(crate) fn may_name_a_credential_with_a_prefix(key: &str) -> bool {
    is_credential_name(key)
        || PROVIDERS.iter().flat_map(|provider| provider.variables.iter()).any(|variable| {
            key.len() < variable.len() && same_name(key.as_bytes(), &variable.as_bytes()[variable.len() - key.len()..])
        })
}

/// Whether `name` is `credential` (upper case with `_`), ignoring case and `-` for `_`.
fn same_name(name: &[u8], credential: &[u8]) -> bool {
    name.len() == credential.len()
        && name.iter().zip(credential).all(|(&b, &c)| if b == b'-' { c == b'_' } else { b.to_ascii_uppercase() == c })
}

/// The letters that end a credential setting: bit `c - b'A'` for each letter `c`.
const ENDS_A_CREDENTIAL_NAME: u32 = {
    let mut ends = 0;
    let mut p = 0;
    while p < PROVIDERS.len() {
        let mut v = 0;
        while v < PROVIDERS[p].variables.len() {
            let name = PROVIDERS[p].variables[v].as_bytes();
            ends |= letter_bit(name[name.len() - 1]);
            v += 1;
        }
        p += 1;
    }
    ends
};

/// The bit of an upper-case letter in a set of letters.
const fn letter_bit(letter: u8) -> u32 {
    assert!(letter.is_ascii_uppercase(), "credential settings are upper case and end in a letter");
    1 << (letter - b'A')
}

/// Whether `byte`, upper-cased, is one of the `letters`.
fn is_one_of(letters: u32, byte: u8) -> bool {
    let upper = byte.to_ascii_uppercase();
    upper.is_ascii_uppercase() && letters & (1 << (upper - b'A')) != 0
}

/// The provider whose credential `name` holds: one of its variables, ignoring case and `-`/`_`,
/// alone or after a prefix ending in `_` or `-` (`BACKUP_AWS_SECRET_ACCESS_KEY`). Inline, so the
/// last letter, which rules out nearly every name at once, is read before any call (the
/// admission decoder asks this of every variable of a Pod).
#[inline]
fn credential_provider(name: &str) -> Option<&'static Provider> {
    let last = *name.as_bytes().last()?;
    is_one_of(ENDS_A_CREDENTIAL_NAME, last)
        .then(|| provider_of_credential(name.as_bytes(), last.to_ascii_uppercase()))?
}

/// [`credential_provider`] for a name whose uppercased last letter, `last`, ends a credential
/// name. Compared in place: a Pod can carry tens of thousands of variables.
fn provider_of_credential(name: &[u8], last: u8) -> Option<&'static Provider> {
    PROVIDERS.iter().find(|provider| {
        provider.variables.iter().any(|credential| {
            let credential = credential.as_bytes();
            credential.last() == Some(&last)
                && name.len() >= credential.len()
                && same_name(&name[name.len() - credential.len()..], credential)
                && (name.len() == credential.len() || matches!(name[name.len() - credential.len() - 1], b'_' | b'-'))
        })
    })
}

/// The distinct first words of the credential settings (`AWS`, `GOOGLE`, `OCI`, ...), and
/// `PRIVATE` (a GCP key's `private_key`), at most `N` of them, and how many there are. Every
/// setting has a `_` after its first word: checked here, as [`may_hold_a_credential`] finds
/// names by it.
const fn first_words<const N: usize>() -> ([&'static [u8]; N], usize) {
    let mut words: [&[u8]; N] = [b""; N];
    words[0] = b"PRIVATE";
    let mut count = 1;
    let mut p = 0;
    while p < PROVIDERS.len() {
        let mut v = 0;
        while v < PROVIDERS[p].variables.len() {
            let name = PROVIDERS[p].variables[v].as_bytes();
            let mut at = 1;
            while at < name.len() && name[at] != b'_' {
                at += 1;
            }
            assert!(at < name.len(), "every credential setting has a `_` after its first word");
            let (word, _) = name.split_at(at);
            let mut known = false;
            let mut w = 0;
            while w < count && !known {
                known = same_bytes(words[w], word);
                w += 1;
            }
            if !known {
                words[count] = word;
                count += 1;
            }
            v += 1;
        }
        p += 1;
    }
    (words, count)
}

const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// See [`first_words`]: exactly as many as there are.
const FIRST_WORDS: [&[u8]; first_words::<32>().1] = {
    let (all, _) = first_words::<32>();
    let mut words = [b"" as &[u8]; first_words::<32>().1];
    let mut w = 0;
    while w < words.len() {
        words[w] = all[w];
        w += 1;
    }
    words
};

/// The last letters of [`FIRST_WORDS`] (see [`letter_bit`]).
const FIRST_WORDS_END: u32 = {
    let mut ends = 0;
    let mut w = 0;
    while w < FIRST_WORDS.len() {
        ends |= letter_bit(FIRST_WORDS[w][FIRST_WORDS[w].len() - 1]);
        w += 1;
    }
    ends
};

/// Whether `text` (a stored value, or its JSON text) may hold a credential that
/// [`credential_in_content`] recognises, scanning its bytes once: a credential setting's first
/// word (or `private`) at the start of a word and followed by `_` or `-`, `clientSecret`, or a
/// `\u` escape (which can write any of those in JSON). Most stored values (certificates,
/// configuration, dashboards) mention none, and are neither parsed nor read line by line.
fn may_hold_a_credential(text: &[u8]) -> bool {
    const CLIENT_SECRET: &[u8] = b"clientSecret";
    let found = |at: usize| match text[at] {
        b'\\' => text.get(at + 1) == Some(&b'u'),
        // the `S` of `clientSecret`
        b'S' => at >= 6 && text.get(at - 6..at + 6) == Some(CLIENT_SECRET),
        _ => at > 0 && starts_a_credential_name(text, at),
    };
    // Eight bytes at a time (see [`crate::byte_words`]): configuration text has a `_`, `-` or
    // escape on most lines, too many stops for memchr.
    let mut at = 0;
    while at + 8 <= text.len() {
        let word = word_at(text, at);
        let mut hits = zero_bytes(word ^ each_byte(b'_'))
            | zero_bytes(word ^ each_byte(b'-'))
            | zero_bytes(word ^ each_byte(b'\\'))
            | zero_bytes(word ^ each_byte(b'S'));
        while hits != 0 {
            if found(at + first_hit(hits)) {
                return true;
            }
            hits &= hits - 1;
        }
        at += 8;
    }
    (at..text.len()).any(|at| matches!(text[at], b'_' | b'-' | b'\\' | b'S') && found(at))
}

/// Whether a credential setting's first word (or `private`) ends just before `text[at]`, at the
/// start of a word: at the start of the text, after a JSON escape (`\n`, `\t`, `\r`, `\f`), or
/// after any byte but an ASCII letter or digit (the `_` or `-` of a prefix, whitespace, a quote,
/// the first byte of Unicode whitespace).
fn starts_a_credential_name(text: &[u8], at: usize) -> bool {
    if !is_one_of(FIRST_WORDS_END, text[at - 1]) {
        return false;
    }
    let ends_here = |word: &[u8]| {
        let Some(start) = at.checked_sub(word.len()) else { return false };
        text[start..at].eq_ignore_ascii_case(word)
            && match start.checked_sub(1).map(|before| text[before]) {
                Some(b'n' | b't' | b'r' | b'f') => start >= 2 && text[start - 2] == b'\\',
                Some(before) => !before.is_ascii_alphanumeric(),
                None => true,
            }
    };
    FIRST_WORDS.iter().any(|word| ends_here(word))
}

/// A credential file stored as a value: a GCP service-account key or Azure service principal
/// JSON, or INI / dotenv lines setting a credential (`aws_secret_access_key = ...`).
fn credential_in_content(bytes: &[u8]) -> Option<(&'static Provider, String)> {
    if !may_hold_a_credential(bytes) {
        return None;
    }
    credential_file(bytes)
}

/// [`credential_in_content`] without the quick test that rules most values out.
fn credential_file(bytes: &[u8]) -> Option<(&'static Provider, String)> {
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        // Invalid JSON (or nesting beyond serde_json's limit) is an error, not a panic.
        let json: Value = serde_json::from_str(trimmed).ok()?;
        let non_empty = |field: &str| json.get(field).and_then(Value::as_str).is_some_and(|v| !v.trim().is_empty());
        if json.get("type").and_then(Value::as_str) == Some("service_account") && non_empty("private_key") {
            return Some((GCP, "a GCP service-account key (\"type\": \"service_account\" with a private_key)".into()));
        }
        if non_empty("clientId") && non_empty("clientSecret") {
            return Some((AZURE, "an Azure service principal secret (clientId and clientSecret)".into()));
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
        if let Some(provider) = credential_provider(key) {
            return Some((provider, format!("a credentials file setting {key} (line {})", number + 1)));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{
        credential_file, credential_provider, may_hold_a_credential, may_name_a_credential_with_a_prefix, PROVIDERS,
    };
    use crate::finding::{Finding, Level};
    use crate::rules::testing::{admit_without_cluster, in_every_pod_bearing_kind, lint, located};

    const AWS_HINT: &str = "use workload identity instead (IRSA's eks.amazonaws.com/role-arn annotation or an EKS \
        Pod Identity association, on the workload's own ServiceAccount), so the projected ServiceAccount token is the \
        only credential";
    const GCP_HINT: &str = "use workload identity instead (GKE Workload Identity Federation, an \
        iam.gke.io/gcp-service-account annotation or IAM roles for the workload's own ServiceAccount), so the \
        projected ServiceAccount token is the only credential";
    const AZURE_HINT: &str = "use workload identity instead (Azure Workload Identity, an \
        azure.workload.identity/client-id annotation on the workload's own ServiceAccount and the \
        azure.workload.identity/use: \"true\" Pod label), so the projected ServiceAccount token is the only \
        credential";
    const OCI_HINT: &str = "use workload identity instead (OCI Workload Identity on OKE, an IAM policy for the \
        workload's namespace and own ServiceAccount), so the projected ServiceAccount token is the only credential";
    const ALIBABA_HINT: &str = "use workload identity instead (RRSA on ACK, a pod-identity.alibabacloud.com/role-name \
        annotation on the workload's own ServiceAccount), so the projected ServiceAccount token is the only credential";
    const DIGITALOCEAN_HINT: &str = "DigitalOcean has no workload identity for Kubernetes: use short-lived tokens \
        scoped to what the workload needs, from a secrets manager that rotates them";
    const IBM_HINT: &str = "use workload identity instead (an IBM Cloud trusted profile for the IKS cluster, \
        namespace and workload's own ServiceAccount), so the projected ServiceAccount token is the only credential";

    fn secret(field: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cloud", "namespace": "analytics"}, field: data})
    }

    fn config_map(name: &str, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "analytics"}, "data": data})
    }

    fn b64(text: &str) -> String {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    /// `located`, after checking that every finding is at the rule's default level.
    fn denied(findings: &[Finding]) -> Vec<(&str, &str)> {
        assert!(findings.iter().all(|f| f.level == Level::Deny), "{findings:#?}");
        located(findings)
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
            denied(&findings),
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

    /// One documented setting of each provider fires with that provider's advice; its region,
    /// project, account or key-id settings, and what its workload identity sets, do not.
    #[test]
    fn every_provider_has_its_settings_and_its_advice() {
        let cases: [(&str, &str, &str, &[&str]); 7] = [
            (
                "AWS",
                "AWS_SECURITY_TOKEN",
                AWS_HINT,
                &[
                    "AWS_REGION",
                    "AWS_PROFILE",
                    "AWS_WEB_IDENTITY_TOKEN_FILE",
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                ],
            ),
            ("GCP", "CLOUDSDK_AUTH_ACCESS_TOKEN", GCP_HINT, &["GOOGLE_CLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"]),
            (
                "Azure",
                "AZURE_STORAGE_SAS_TOKEN",
                AZURE_HINT,
                &["AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_STORAGE_ACCOUNT", "AZURE_FEDERATED_TOKEN_FILE"],
            ),
            (
                "Oracle OCI",
                "OCI_CLI_KEY_CONTENT",
                OCI_HINT,
                &["OCI_CLI_FINGERPRINT", "OCI_CLI_TENANCY", "OCI_CLI_REGION"],
            ),
            (
                "Alibaba Cloud",
                "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
                ALIBABA_HINT,
                &[
                    "ALIBABA_CLOUD_ACCESS_KEY_ID",
                    "ALIBABA_CLOUD_REGION_ID",
                    "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
                    "ALIBABA_CLOUD_ROLE_ARN",
                ],
            ),
            (
                "DigitalOcean",
                "DIGITALOCEAN_ACCESS_TOKEN",
                DIGITALOCEAN_HINT,
                &["SPACES_ACCESS_KEY_ID", "DIGITALOCEAN_API_URL"],
            ),
            ("IBM Cloud", "IC_API_KEY", IBM_HINT, &["IBMCLOUD_REGION", "IAAS_CLASSIC_USERNAME", "IBMCLOUD_CR_TOKEN"]),
        ];
        for (provider, credential, hint, not_credentials) in cases {
            let env: Vec<Value> = std::iter::once(credential)
                .chain(not_credentials.iter().copied())
                .map(|name| json!({"name": name, "value": "x"}))
                .collect();
            let pod = json!({"kind": "Pod", "metadata": {"name": "p", "namespace": "analytics"},
                "spec": {"containers": [{"name": "app", "env": env}]}});
            let findings = lint("SAG013", &[pod]);
            let expected = format!(
                "container app sets {credential} inline, putting a static {provider} credential in the manifest; {hint}"
            );
            assert_eq!(denied(&findings), [("/spec/containers/0/env/0", &*expected)], "{provider}");
        }
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
            denied(&findings),
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
            denied(&findings),
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
                    "not-json": b64("{\"type\": \"service_account\", \"private_key\": "),
                    "deep": b64(&"[".repeat(100_000)),
                    "nested": b64(&format!("{}{}", "{\"private_key\":".repeat(1000), "}".repeat(1000))),
                    "binary": "//79/A==",
                    "empty-aws": b64("aws_secret_access_key =\n"),
                    "commented": b64("# AWS_SECRET_ACCESS_KEY=abc\n"),
                    "number": 7,
                    "AWS_SECRET_ACCESS_KEY": "",
                })
            )]
        )
        .is_empty());
    }

    const CONFIG_MAP_WARNING: &str = "a ConfigMap is not even access-controlled like a Secret: anyone who can read \
        ConfigMaps in the namespace can take it";

    #[test]
    fn fires_on_config_map_keys_named_like_credentials() {
        let mut object = config_map(
            "legacy-settings",
            json!({"aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG", "aws_region": "eu-west-1", "IC_API_KEY": " "}),
        );
        object["binaryData"] = json!({"DIGITALOCEAN_TOKEN": b64("dop_v1_abc"), "logo.png": "iVBORw0KGgo="});
        assert_eq!(
            denied(&lint("SAG013", &[object])),
            [
                (
                    "/binaryData/DIGITALOCEAN_TOKEN",
                    &*format!(
                        "ConfigMap key DIGITALOCEAN_TOKEN holds a static DigitalOcean credential, and \
                         {CONFIG_MAP_WARNING}; {DIGITALOCEAN_HINT}"
                    )
                ),
                (
                    "/data/aws_secret_access_key",
                    &*format!(
                        "ConfigMap key aws_secret_access_key holds a static AWS credential, and \
                         {CONFIG_MAP_WARNING}; {AWS_HINT}"
                    )
                ),
            ]
        );
    }

    #[test]
    fn fires_on_credential_files_in_config_maps() {
        let gcp_key = r#"{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\n"}"#;
        // the same key's fields written with JSON escapes
        let escaped_key = r#"{"type": "service\u005faccount", "private\u005fkey": "-----BEGIN PRIVATE KEY-----"}"#;
        let federation = r#"{"type": "external_account", "audience": "//iam.googleapis.com/x"}"#;
        let object = config_map(
            "app-config",
            json!({
                "key.json": gcp_key,
                "escaped.json": escaped_key,
                "oci.env": "OCI_CLI_REGION=eu-frankfurt-1\nOCI_CLI_PASSPHRASE=hunter2\n",
                "federation.json": federation,
                "app.env": "LOG_LEVEL=debug\nAWS_REGION=eu-west-1\n",
            }),
        );
        assert_eq!(
            denied(&lint("SAG013", &[object])),
            [
                (
                    "/data/escaped.json",
                    &*format!(
                        "ConfigMap key escaped.json holds a GCP service-account key (\"type\": \"service_account\" \
                         with a private_key), a static GCP credential, and {CONFIG_MAP_WARNING}; {GCP_HINT}"
                    )
                ),
                (
                    "/data/key.json",
                    &*format!(
                        "ConfigMap key key.json holds a GCP service-account key (\"type\": \"service_account\" with \
                         a private_key), a static GCP credential, and {CONFIG_MAP_WARNING}; {GCP_HINT}"
                    )
                ),
                (
                    "/data/oci.env",
                    &*format!(
                        "ConfigMap key oci.env holds a credentials file setting OCI_CLI_PASSPHRASE (line 2), a \
                         static Oracle OCI credential, and {CONFIG_MAP_WARNING}; {OCI_HINT}"
                    )
                ),
            ]
        );
        // no credential: nothing, at admission too
        let plain = config_map("c", json!({"region": "eu-west-1", "app.yaml": "aws_region: eu-west-1\n"}));
        assert!(lint("SAG013", &[plain.clone()]).is_empty());
        assert!(admit_without_cluster("SAG013", plain).is_empty());
    }

    fn loads(env_from: Value) -> Value {
        json!({"kind": "Pod", "metadata": {"name": "exporter", "namespace": "analytics"},
            "spec": {"containers": [{"name": "app", "envFrom": env_from}]}})
    }

    #[test]
    fn fires_on_env_from_a_config_map_whose_keys_with_the_prefix_name_credentials() {
        let keys = config_map(
            "legacy-keys",
            json!({"SECRET_ACCESS_KEY": "wJalrXUtnFEMI", "ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "REGION": "eu-west-1"}),
        );
        let findings = lint(
            "SAG013",
            &[
                keys.clone(),
                loads(json!([
                    {"configMapRef": {"name": "legacy-keys"}, "prefix": "AWS_"},
                    // BACKUP_SECRET_ACCESS_KEY, BACKUP_ACCESS_KEY_ID: no provider's names
                    {"configMapRef": {"name": "legacy-keys"}, "prefix": "BACKUP_"},
                    {"configMapRef": {"name": "legacy-keys"}},
                ])),
            ],
        );
        assert_eq!(
            denied(&findings),
            [(
                "/spec/containers/0/envFrom/0",
                &*format!(
                    "container app loads ConfigMap legacy-keys with prefix AWS_ into its environment (envFrom), \
                     setting AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, static AWS credentials; {AWS_HINT}"
                )
            )]
        );
    }

    #[test]
    fn fires_on_env_from_in_every_container_group_of_every_pod_bearing_kind() {
        let mut tokens = secret("stringData", json!({"DIGITALOCEAN_TOKEN": "dop_v1_abc", "PORT": "8080"}));
        tokens["data"] = json!({"IBMCLOUD_API_KEY": b64("key"), "DIGITALOCEAN_TOKEN": b64("dop_v1_abc")});
        for list in ["containers", "initContainers", "ephemeralContainers"] {
            let mut spec = json!({});
            spec[list] = json!([{"name": "app", "envFrom": [{"secretRef": {"name": "cloud"}}]}]);
            for (mut workload, spec_pointer) in in_every_pod_bearing_kind(&spec) {
                workload["metadata"]["namespace"] = json!("analytics");
                let findings = lint("SAG013", &[tokens.clone(), workload]);
                let expected = format!(
                    "container app loads Secret cloud into its environment (envFrom), setting DIGITALOCEAN_TOKEN and \
                     IBMCLOUD_API_KEY, static DigitalOcean and IBM Cloud credentials; {DIGITALOCEAN_HINT}; {IBM_HINT}"
                );
                let path = format!("{spec_pointer}/{list}/0/envFrom/0");
                let workload_findings: Vec<Finding> = findings.into_iter().filter(|f| f.object_index == 1).collect();
                assert_eq!(denied(&workload_findings), [(&*path, &*expected)], "{path}");
            }
        }
    }

    #[test]
    fn env_from_without_credentials_or_without_the_object_passes() {
        let mut keys = config_map("keys", json!({"AWS_SECRET_ACCESS_KEY": "", "AWS_REGION": "eu-west-1"}));
        // `binaryData` never reaches the environment
        keys["binaryData"] = json!({"AWS_SESSION_TOKEN": b64("token")});
        let elsewhere = json!({"kind": "ConfigMap", "metadata": {"name": "other", "namespace": "prod"},
            "data": {"AWS_SECRET_ACCESS_KEY": "s"}});
        let pod = loads(json!([
            {"configMapRef": {"name": "keys"}},
            {"configMapRef": {"name": "other"}},
            {"configMapRef": {"name": "absent", "optional": true}},
            {"secretRef": {"name": "absent"}},
            {"configMapRef": {"name": ""}},
            {"prefix": "AWS_"},
            "not an object",
            {"configMapRef": "keys"},
        ]));
        let findings = lint("SAG013", &[keys, elsewhere, pod.clone()]);
        assert!(findings.iter().all(|f| f.object_index != 2), "{findings:#?}");
        // at admission the workload is judged alone: its envFrom names objects it cannot read
        assert!(admit_without_cluster("SAG013", pod).is_empty());
    }

    #[test]
    fn an_env_from_message_names_at_most_five_variables() {
        let data: serde_json::Map<String, Value> = ["A", "B", "C", "D", "E", "F", "G"]
            .iter()
            .map(|k| (format!("{k}_AWS_SESSION_TOKEN"), json!("t")))
            .collect();
        let findings = lint(
            "SAG013",
            &[config_map("many", Value::Object(data)), loads(json!([{"configMapRef": {"name": "many"}}]))],
        );
        let workload: Vec<&Finding> = findings.iter().filter(|f| f.object_index == 1).collect();
        assert_eq!(workload.len(), 1);
        assert_eq!(
            workload[0].message,
            format!(
                "container app loads ConfigMap many into its environment (envFrom), setting A_AWS_SESSION_TOKEN, \
                 B_AWS_SESSION_TOKEN, C_AWS_SESSION_TOKEN, D_AWS_SESSION_TOKEN, E_AWS_SESSION_TOKEN and 2 more, static \
                 AWS credentials; {AWS_HINT}"
            )
        );
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
        assert_eq!(denied(&findings), [(
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
        let provider = |name: &str| credential_provider(name).map(|p| p.name);
        assert_eq!(provider("AWS_SECRET_ACCESS_KEY"), Some("AWS"));
        assert_eq!(provider("aws-secret-access-key"), Some("AWS"));
        assert_eq!(provider("S3_AWS_ACCESS_KEY_ID"), Some("AWS"));
        assert_eq!(provider("azure_client_certificate_password"), Some("Azure"));
        assert_eq!(provider("XAWS_SECRET_ACCESS_KEY"), None);
        assert_eq!(provider("AWS_SECRET_ACCESS_KEY_FILE_PATH_X"), None);
        assert_eq!(provider("AWS_REGION"), None);
        assert_eq!(provider("AZURE_TENANT_ID"), None);
        assert_eq!(provider(""), None);
        assert_eq!(provider("_"), None);
        assert_eq!(provider("backup-gcloud-keyfile-json"), Some("GCP"), "a prefix ending in -");
        assert_eq!(provider("AWS_SECRET_ACCESS-KEY"), Some("AWS"), "- and _ mixed");
        assert_eq!(provider("AWS_SECRET_ACCESS.KEY"), None);
        assert_eq!(provider("\u{e9}_AWS_SECRET_ACCESS_KEY"), Some("AWS"), "non-ASCII prefix");
        assert_eq!(provider("AWS_SECRET_ACCESS_KE\u{e9}"), None);
        // a shorter name at the end of a longer word is not that name
        assert_eq!(provider("PUBLIC_API_KEY"), None);
        assert_eq!(provider("MY_IC_API_KEY"), Some("IBM Cloud"));
        assert_eq!(provider("spaces-secret-access-key"), Some("DigitalOcean"));
    }

    #[test]
    fn every_setting_names_its_own_provider_and_no_other() {
        for provider in PROVIDERS {
            for variable in provider.variables {
                assert_eq!(credential_provider(variable).map(|p| p.name), Some(provider.name), "{variable}");
                assert!(variable.contains('_') && !variable.starts_with('_'), "{variable}");
                // as the end of a longer name after a prefix
                let prefixed = format!("TEAM_{variable}");
                assert_eq!(credential_provider(&prefixed).map(|p| p.name), Some(provider.name), "{prefixed}");
            }
        }
    }

    #[test]
    fn the_documentation_lists_every_provider_and_variable() {
        let docs = super::RULE.meta.documentation();
        for provider in PROVIDERS {
            assert!(docs.contains(&format!("| {} | ", provider.name)), "{}", provider.name);
            for variable in provider.variables {
                assert!(docs.contains(&format!("`{variable}`")), "{variable}");
            }
        }
    }

    #[test]
    fn the_providers_named_for_credential_files_are_theirs() {
        assert_eq!((super::GCP.name, super::AZURE.name), ("GCP", "Azure"));
    }

    #[test]
    fn the_quick_test_looks_for_every_first_word_once() {
        let words: Vec<&str> = super::FIRST_WORDS.iter().map(|w| std::str::from_utf8(w).unwrap()).collect();
        assert_eq!(
            words,
            [
                "PRIVATE",
                "AWS",
                "GOOGLE",
                "GCLOUD",
                "CLOUDSDK",
                "AZURE",
                "ARM",
                "OCI",
                "ALIBABA",
                "ALICLOUD",
                "DIGITALOCEAN",
                "SPACES",
                "IBMCLOUD",
                "IC",
                "IAAS"
            ]
        );
    }

    #[test]
    fn keys_that_may_name_a_credential_after_a_prefix() {
        for key in ["SECRET_ACCESS_KEY", "secret-access-key", "KEY", "Y", "AWS_SECRET_ACCESS_KEY", "TEAM_IC_API_KEY"] {
            assert!(may_name_a_credential_with_a_prefix(key), "{key}");
        }
        for key in ["REGION", "AWS_REGION", "PORT", "SECRET_ACCESS_KEY_X", "KEYS"] {
            assert!(!may_name_a_credential_with_a_prefix(key), "{key}");
        }
    }

    /// Texts the content test reads, and what they are.
    fn contents() -> Vec<(&'static str, bool)> {
        vec![
            ("[default]\naws_secret_access_key = k\n", true),
            ("\taws_secret_access_key=k", true),
            ("export AWS_SESSION_TOKEN=t", true),
            ("\"ALICLOUD_SECRET_KEY\": \"k\"", true),
            ("'IC_API_KEY' = k", true),
            ("BACKUP-AZURE-CLIENT-SECRET: s", true),
            ("\u{a0}OCI_CLI_KEY_CONTENT=k", true),
            ("x\r\nDIGITALOCEAN_TOKEN=t", true),
            ("\u{b}IBMCLOUD_API_KEY=k", true),
            ("\u{c}ARM_ACCESS_KEY=k", true),
            (r#"{"type": "service_account", "private_key": "k"}"#, true),
            ("{\n  \"type\": \"service_account\",\n  \"private_key\": \"k\"\n}", true),
            (r#"{"type": "service_account", "private\u005fkey": "k"}"#, true),
            (r#"{"clientId": "i", "clientSecret": "s"}"#, true),
            (r#"{"clientId": "i", "client\u0053ecret": "s"}"#, true),
            ("metric_name: aws_region\npublic_key: x\nlogic-app: y\n", false),
            ("AWS_REGION=eu-west-1\n", false),
            ("topic_ic_api_key_x = 1", false),
            (r#"{"type": "external_account"}"#, false),
            ("", false),
        ]
    }

    #[test]
    fn the_quick_test_lets_every_credential_file_through() {
        for (text, holds) in contents() {
            assert_eq!(credential_file(text.as_bytes()).is_some(), holds, "{text:?}");
            if holds {
                assert!(may_hold_a_credential(text.as_bytes()), "{text:?}");
            }
        }
        // most configuration is ruled out without reading it line by line
        assert!(!may_hold_a_credential(b"metric_name: requests_total\nbasic-auth: off\npublic_key: x\n"));
    }

    #[test]
    fn the_quick_test_finds_what_it_looks_for_at_every_position() {
        for mention in [" AWS_", "\nic-", "\\u0041", "\"clientSecret\"", "\"private_"] {
            for before in 0..20 {
                for after in [0, 1, 7, 8, 9] {
                    let text = format!("{}{mention}{}", ".".repeat(before), ".".repeat(after));
                    assert!(may_hold_a_credential(text.as_bytes()), "{text:?}");
                }
            }
        }
        for text in ["", ".", "AWS", "clientSecre", "\\", "x_", ".".repeat(40).as_str(), "cloudSecret"] {
            assert!(!may_hold_a_credential(text.as_bytes()), "{text:?}");
        }
    }

    #[test]
    fn the_quick_test_on_json_text_lets_through_what_it_lets_through_decoded() {
        // What the admission decoder asks (on a ConfigMap value's JSON text) must let through
        // what the rule asks of the decoded value.
        let more = ["say \"IC_API_KEY\"=k", "back\\nIC_API_KEY=k", "tab\tAWS_SESSION_TOKEN", "\u{1}AWS_SECRET_KEY"];
        for text in contents().into_iter().map(|(text, _)| text).chain(more) {
            let json = Value::String(text.to_string()).to_string();
            if may_hold_a_credential(text.as_bytes()) {
                assert!(may_hold_a_credential(json.as_bytes()), "{json}");
                assert!(super::reads_config_map_value("k", &json), "{json}");
            }
        }
        assert!(super::reads_config_map_value("aws-secret-access-key", "\"\""), "a credential's name");
        assert!(super::reads_config_map_value("k", "7"), "not a string");
        assert!(!super::reads_config_map_value("k", r#""metric_name: x\npublic_key: y""#));
    }
}
