//! `sa-guard-e2e`: run sa-guard's policy.wasm the way kwctl and policy-server do.

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use serde_json::Value;

use sa_guard_e2e::cluster::Declared;
use sa_guard_e2e::host::{Capabilities, NoCapabilities, Policy};
use sa_guard_e2e::replay::{Replay, Session};
use sa_guard_e2e::{apiserver, policy_metadata, review, verdicts, yaml};

#[derive(Parser)]
#[command(
    name = "sa-guard-e2e",
    version,
    about = "Run sa-guard's policy.wasm on the waPC/wasmtime engine kwctl and policy-server use"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate one admission request, like `kwctl run`; prints the AdmissionResponse.
    Run(RunArgs),
    /// Apply manifests through the policy as CREATE requests and print a verdict per object.
    Verdicts(VerdictsArgs),
    /// Print the AdmissionReview the API server would send for one object.
    Review(ReviewArgs),
}

#[derive(Args)]
struct PolicyArgs {
    /// The policy module (default: policy.wasm at the repository root, or $SA_GUARD_POLICY).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Settings as JSON.
    #[arg(long, value_name = "JSON", conflicts_with = "settings_path")]
    settings_json: Option<String>,
    /// Settings file (YAML or JSON).
    #[arg(long, value_name = "FILE")]
    settings_path: Option<PathBuf>,
}

#[derive(Args)]
struct RunArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// AdmissionReview or AdmissionRequest (JSON); `-` reads stdin.
    #[arg(short = 'r', long = "request-path", value_name = "REQUEST", default_value = "-")]
    request: String,
    /// Answer host capability calls from a session recorded by kwctl.
    #[arg(long = "replay-host-capabilities-interactions", visible_alias = "replay", value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Let the policy call the Kubernetes capabilities (as kwctl; answered from --replay).
    #[arg(long)]
    allow_context_aware: bool,
}

#[derive(Args)]
struct VerdictsArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// Namespace of objects that have none (kubectl's current namespace).
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// Answer look-ups from a recorded kwctl session instead of the objects applied so far.
    #[arg(long = "replay-host-capabilities-interactions", visible_alias = "replay", value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Manifest files or directories (YAML or JSON).
    #[arg(required = true, value_name = "PATHS")]
    paths: Vec<PathBuf>,
}

#[derive(Args)]
struct ReviewArgs {
    /// CREATE, UPDATE or DELETE.
    #[arg(long, default_value = "CREATE")]
    operation: String,
    /// The object before the change (UPDATE).
    #[arg(long, value_name = "FILE")]
    old: Option<PathBuf>,
    #[arg(short, long, default_value = "default")]
    namespace: String,
    /// The request uid (default: derived from the object).
    #[arg(long)]
    uid: Option<String>,
    /// A manifest holding one object.
    file: PathBuf,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(args),
        Command::Verdicts(args) => verdicts_command(args),
        Command::Review(args) => review_command(args),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sa-guard-e2e: {message}");
            ExitCode::from(2)
        }
    }
}

fn load_policy(args: &PolicyArgs) -> Result<(Policy, PathBuf), String> {
    let path = args.policy.clone().unwrap_or_else(sa_guard_e2e::default_policy_path);
    if !path.exists() {
        return Err(format!(
            "{} does not exist: build it with `make policy` (scripts/build-policy.sh)",
            path.display()
        ));
    }
    Ok((Policy::load(&path)?, path))
}

fn settings(args: &PolicyArgs) -> Result<Value, String> {
    if let Some(json) = &args.settings_json {
        return serde_json::from_str(json).map_err(|e| format!("--settings-json is not JSON: {e}"));
    }
    if let Some(path) = &args.settings_path {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        // kwctl reads settings files with serde_yaml: YAML 1.2 core schema.
        let docs = yaml::documents(&text, yaml::Schema::Core).map_err(|e| format!("{}: {e}", path.display()))?;
        return Ok(docs.into_iter().next().map(|d| d.value).unwrap_or_else(|| serde_json::json!({})));
    }
    Ok(serde_json::json!({}))
}

fn read_input(source: &str) -> Result<String, String> {
    if source == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text).map_err(|e| format!("cannot read stdin: {e}"))?;
        Ok(text)
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("cannot read {source}: {e}"))
    }
}

fn with_declared_resources(policy_path: &Path, inner: Arc<dyn Capabilities>) -> Result<Arc<dyn Capabilities>, String> {
    Ok(match policy_metadata(policy_path)? {
        Some(metadata) => Arc::new(Declared { metadata, inner }),
        None => inner,
    })
}

fn run(args: RunArgs) -> Result<ExitCode, String> {
    let (policy, path) = load_policy(&args.policy)?;
    let settings = settings(&args.policy)?;
    let input: Value =
        serde_json::from_str(&read_input(&args.request)?).map_err(|e| format!("the request is not JSON: {e}"))?;
    let request = review::admission_request(&input)?;

    let capabilities: Arc<dyn Capabilities> = match (&args.replay, args.allow_context_aware) {
        (Some(file), true) => with_declared_resources(&path, Arc::new(Replay::new(Session::load(file)?)))?,
        (Some(_), false) => {
            eprintln!("sa-guard-e2e: --replay-host-capabilities-interactions without --allow-context-aware: Kubernetes look-ups are refused");
            Arc::new(NoCapabilities)
        }
        (None, _) => Arc::new(NoCapabilities),
    };
    let evaluator = policy.instantiate(capabilities)?;
    let check = evaluator.validate_settings(&settings).map_err(|e| format!("validate_settings: {e}"))?;
    if !check.valid {
        eprintln!("sa-guard-e2e: Provided settings are not valid: {}", check.message.unwrap_or_default());
        return Ok(ExitCode::FAILURE);
    }
    let response = evaluator.validate(&request, &settings);
    println!("{}", serde_json::to_string(&response).expect("responses serialize"));
    Ok(ExitCode::SUCCESS)
}

fn verdicts_command(args: VerdictsArgs) -> Result<ExitCode, String> {
    let (policy, path) = load_policy(&args.policy)?;
    let settings = settings(&args.policy)?;
    let mut objects = Vec::new();
    for file in verdicts::manifest_files(&args.paths)? {
        objects.extend(verdicts::read_manifest(&file)?);
    }
    let capabilities = match &args.replay {
        Some(file) => Some(Arc::new(Replay::new(Session::load(file)?)) as Arc<dyn Capabilities>),
        None => None,
    };
    let setup = verdicts::Setup {
        policy: &policy,
        settings,
        metadata: policy_metadata(&path)?,
        namespace: args.namespace,
        capabilities,
    };
    let results = verdicts::run(&setup, &objects)?;
    print!("{}", verdicts::render(&results));
    // An evaluation that failed (trap, timeout) is a defect of the policy, not a verdict.
    let failed = results.iter().any(|v| {
        matches!(&v.outcome, verdicts::Outcome::Evaluated(r) if r.status.as_ref().and_then(|s| s.code) == Some(500))
    });
    Ok(if failed { ExitCode::from(3) } else { ExitCode::SUCCESS })
}

fn single_object(path: &Path) -> Result<Value, String> {
    let mut objects = verdicts::read_manifest(path)?;
    match objects.len() {
        1 => Ok(objects.remove(0).value),
        n => Err(format!("{}: expected one object, found {n}", path.display())),
    }
}

fn review_command(args: ReviewArgs) -> Result<ExitCode, String> {
    let operation = args.operation.to_ascii_uppercase();
    let object = single_object(&args.file)?;
    let old = args.old.as_deref().map(single_object).transpose()?;
    let uid = args.uid.unwrap_or_else(|| apiserver::request_uid(&format!("{operation}:{object}")));
    // Stable across machines and checkouts: derived from the object, not from the file's path.
    let identity = |o: &Value, field: &str| o.pointer(field).and_then(Value::as_str).unwrap_or("").to_string();
    let suffix = apiserver::name_suffix(&format!(
        "{}/{}/{}",
        identity(&object, "/kind"),
        identity(&object, "/metadata/namespace"),
        identity(&object, "/metadata/name")
    ));
    let as_admitted = |mut o: Value| {
        if o.get("kind").and_then(Value::as_str) == Some("Pod") {
            // Stored Pods went through the plugin when they were created.
            apiserver::admit_pod(&mut o, None, &suffix);
        } else {
            apiserver::convert_pod_specs(&mut o);
        }
        o
    };
    let request = match operation.as_str() {
        "CREATE" => apiserver::admission_request(&uid, "CREATE", Some(&as_admitted(object)), None, &args.namespace),
        "UPDATE" => {
            let old = old.ok_or("UPDATE needs --old FILE (the object before the change)")?;
            apiserver::admission_request(
                &uid,
                "UPDATE",
                Some(&as_admitted(object)),
                Some(&as_admitted(old)),
                &args.namespace,
            )
        }
        "DELETE" => apiserver::admission_request(&uid, "DELETE", None, Some(&as_admitted(object)), &args.namespace),
        other => return Err(format!("--operation {other}: expected CREATE, UPDATE or DELETE")),
    };
    println!("{}", serde_json::to_string_pretty(&review::admission_review(request)).expect("serializes"));
    Ok(ExitCode::SUCCESS)
}
