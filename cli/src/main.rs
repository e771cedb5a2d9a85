//! `sa-guard`: lint and fix Kubernetes manifests for ServiceAccount hardening, list and explain
//! the rules, and turn manifests into admission requests for `kwctl run`.
//!
//! Exit codes: 0 clean, 1 findings at or above `--fail-on`, 2 usage or input error.

mod access;
mod admission_requests;
mod docs;
mod fix;
mod input;
mod inventory;
mod lint;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use sa_guard::Level;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Exit status for usage and input errors (clap uses the same for bad arguments).
pub const EXIT_INPUT_ERROR: u8 = 2;
pub const EXIT_FINDINGS: u8 = 1;

#[derive(Parser)]
#[command(
    name = "sa-guard",
    version,
    about = "Kubernetes ServiceAccount hardening: lint and fix manifests",
    long_about = "Kubernetes ServiceAccount hardening: lint and fix manifests.\n\n\
        The same rules run in the sa-guard Kubewarden policy and in the browser playground.",
    after_help = "Examples:\n  \
        sa-guard lint k8s/\n  \
        helm template . | sa-guard lint -\n  \
        sa-guard lint --format sarif manifests/ > sa-guard.sarif\n  \
        sa-guard fix k8s/ --write\n  \
        sa-guard explain SAG002\n  \
        sa-guard can-i get secrets --as system:serviceaccount:production:order-api-sa k8s/\n\n\
        Exit codes: 0 clean, 1 findings at or above --fail-on, 2 usage or input error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check manifests (files, directories, or - for stdin) analysed together as one bundle.
    #[command(after_help = "Examples:\n  \
        sa-guard lint deploy.yaml rbac.yaml\n  \
        sa-guard lint k8s/                       # .yaml, .yml and .json files, recursively\n  \
        helm template . | sa-guard lint -\n  \
        sa-guard lint --namespace production --fail-on warn k8s/\n  \
        sa-guard lint --format github k8s/       # annotations in GitHub Actions\n  \
        sa-guard lint --format sarif k8s/ > results.sarif\n  \
        sa-guard lint --settings sa-guard.yaml k8s/")]
    Lint {
        #[command(flatten)]
        input: InputArgs,
        /// Exit with 1 when a finding is at this level or above.
        #[arg(long, value_enum, default_value_t = FailOn::Deny)]
        fail_on: FailOn,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Apply the machine-applicable fixes; print a unified diff unless --write.
    #[command(after_help = "Examples:\n  \
        sa-guard fix k8s/             # show what would change\n  \
        sa-guard fix k8s/ --write     # change the files in place\n  \
        sa-guard fix - < app.yaml     # diff for stdin\n\n\
        Comments and the formatting of untouched lines are kept.\n\
        Exit codes: 0 done, 1 a fix could not be applied, 2 usage or input error.")]
    Fix {
        #[command(flatten)]
        input: InputArgs,
        /// Write the fixed files instead of printing a diff.
        #[arg(long)]
        write: bool,
    },
    /// List the rules (table), or print docs/rules.md (markdown) or the metadata (json).
    #[command(after_help = "Examples:\n  \
        sa-guard rules\n  \
        sa-guard rules --format markdown > docs/rules.md\n  \
        sa-guard rules --format json | jq '.[].id'")]
    Rules {
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
    },
    /// Print one rule's full documentation.
    #[command(after_help = "Examples:\n  sa-guard explain SAG002\n  sa-guard explain implicit-token-automount")]
    Explain {
        /// Rule id (SAG002) or slug (implicit-token-automount).
        rule: String,
    },
    /// Can this identity make this request? `kubectl auth can-i --as`, answered from manifests.
    #[command(
        name = "can-i",
        after_help = "Examples (the lesson's checks):\n  \
        sa-guard can-i list configmaps --as system:serviceaccount:production:order-api-sa -n production k8s/\n  \
        sa-guard can-i get secrets --as system:serviceaccount:production:order-api-sa -n production k8s/\n  \
        sa-guard can-i create pods/exec --as system:serviceaccount:ci:deployer k8s/ --format json\n  \
        sa-guard can-i get secrets --name db-password --as system:serviceaccount:shop:api k8s/\n\n\
        RESOURCE is pods, pods/exec (a subresource), deployments.apps (a group). Without -n, a ServiceAccount asks in \
        its own namespace. Built-in ClusterRoles (cluster-admin, admin, edit, view) are judged by Kubernetes' own \
        definitions; roles not in the manifests grant nothing here.\n\
        Exit codes: 0 yes, 1 no, 2 usage or input error."
    )]
    CanI {
        /// get, list, watch, create, update, patch, delete, deletecollection, impersonate, bind, escalate, ...
        verb: String,
        /// RESOURCE[.GROUP][/SUBRESOURCE]
        resource: String,
        /// The object's name (for a grant restricted by resourceNames).
        #[arg(long)]
        name: Option<String>,
        /// The identity asking: system:serviceaccount:NAMESPACE:NAME, or a user name.
        #[arg(long = "as", value_name = "USER")]
        as_user: String,
        /// Groups of the identity beyond those Kubernetes gives it (repeatable).
        #[arg(long = "as-group", value_name = "GROUP")]
        as_groups: Vec<String>,
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = access::AccessFormat::Text)]
        format: access::AccessFormat,
    },
    /// Who can make this request? Every subject of the manifests' bindings that may, ServiceAccounts first.
    #[command(
        name = "who-can",
        after_help = "Examples:\n  \
        sa-guard who-can get secrets -n production k8s/\n  \
        sa-guard who-can create pods/exec -n ci k8s/ --format json\n\n\
        Exit codes: 0 somebody can, 1 nobody, 2 usage or input error."
    )]
    WhoCan {
        verb: String,
        /// RESOURCE[.GROUP][/SUBRESOURCE]
        resource: String,
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        input: InputArgs,
        #[arg(long, value_enum, default_value_t = access::AccessFormat::Text)]
        format: access::AccessFormat,
    },
    /// The ServiceAccount audit: who runs as each ServiceAccount, whether their Pods get a token,
    /// what its bindings let it do, and which are unused.
    #[command(after_help = "Examples:\n  \
        sa-guard inventory k8s/\n  \
        sa-guard inventory --risky --format markdown k8s/\n  \
        sa-guard inventory --format dot k8s/ | dot -Tsvg > serviceaccounts.svg\n  \
        kubectl get serviceaccounts,pods,deployments,replicasets,statefulsets,daemonsets,jobs,cronjobs,\\\n    \
        replicationcontrollers,secrets,roles,rolebindings,clusterroles,clusterrolebindings -A -o json \\\n    \
        | sa-guard inventory -\n\n\
        With --namespace, only that namespace's ServiceAccounts are listed (objects without a namespace take it). \
        System namespaces (kube-system, kube-public, kube-node-lease) and Kubernetes' bootstrap bindings are left \
        out unless --system.\n\
        Exit codes: 0 done, 2 usage or input error.")]
    Inventory {
        #[command(flatten)]
        input: InputArgs,
        /// Only ServiceAccounts whose Pods get an API token and whose bindings carry a high or critical risk.
        #[arg(long)]
        risky: bool,
        /// Include system namespaces and Kubernetes' bootstrap bindings.
        #[arg(long)]
        system: bool,
        #[arg(long, value_enum, default_value_t = inventory::InventoryFormat::Text)]
        format: inventory::InventoryFormat,
    },
    /// Write one AdmissionReview (operation CREATE) per object, for `kwctl run -r FILE policy.wasm`.
    #[command(after_help = "Examples:\n  \
        sa-guard admission-requests examples/ --out requests/\n  \
        kwctl run -r requests/002-deployment-production-checkout-api.json policy.wasm")]
    AdmissionRequests {
        #[command(flatten)]
        input: InputArgs,
        /// Directory to write the requests to (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

#[derive(Args)]
pub struct InputArgs {
    /// Files or directories (.yaml, .yml, .json, recursively); - reads stdin, as does no path
    /// when stdin is a pipe.
    #[arg(value_name = "PATHS")]
    pub paths: Vec<String>,
    /// Settings file (YAML or JSON), the same format as the policy's settings.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
    /// Namespace for objects that set none (what `kubectl apply -n NS` would use).
    #[arg(short, long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Files parsed in parallel [default: the CPUs this process may use]. The output does not
    /// depend on it.
    #[arg(short, long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

impl InputArgs {
    /// `--jobs`, or the CPUs available to this process (its affinity mask and cgroup quota).
    pub fn jobs(&self) -> usize {
        self.jobs.map_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()), usize::from)
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum FailOn {
    Deny,
    Warn,
}

impl FailOn {
    fn level(self) -> Level {
        match self {
            FailOn::Deny => Level::Deny,
            FailOn::Warn => Level::Warn,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// file:line:col: RULE level message, with the remediation below.
    Text,
    /// Findings with file, line, column and rule metadata.
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub Actions workflow annotations (::error file=…).
    Github,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RulesFormat {
    /// id, slug, level, category, fixable, title.
    Table,
    /// The full docs/rules.md.
    Markdown,
    /// Only the index table (the README's rules section).
    MarkdownIndex,
    /// Only the settings table (docs/policy.md's settings section).
    MarkdownSettings,
    /// Rule metadata with documentation.
    Json,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Lint { input, fail_on, format } => lint::run(&input, fail_on.level(), format),
        Command::Fix { input, write } => fix::run(&input, write),
        Command::Rules { format } => {
            let text = match format {
                RulesFormat::Table => docs::rules_table(),
                RulesFormat::Markdown => docs::rules_markdown(),
                RulesFormat::MarkdownIndex => docs::rules_index_markdown(),
                RulesFormat::MarkdownSettings => docs::settings_table(),
                RulesFormat::Json => docs::rules_json(),
            };
            print!("{text}");
            0
        }
        Command::Explain { rule } => match sa_guard::rules::find(&rule) {
            Some(rule) => {
                print!("{}", docs::rule_section(&rule.meta, 1));
                0
            }
            None => {
                eprintln!("sa-guard: unknown rule `{rule}` (known: {})", docs::known_rules());
                EXIT_INPUT_ERROR
            }
        },
        Command::AdmissionRequests { input, out } => admission_requests::run(&input, &out),
        Command::Inventory { input, risky, system, format } => {
            let filters = inventory::Filters { namespace: input.namespace.clone(), risky, system };
            inventory::run(&input, &filters, format)
        }
        Command::CanI { verb, resource, name, as_user, as_groups, input, format } => {
            let question = access::Question { verb, resource, name, namespace: input.namespace.clone() };
            access::can_i(&question, &as_user, &as_groups, &input, format)
        }
        Command::WhoCan { verb, resource, name, input, format } => {
            let question = access::Question { verb, resource, name, namespace: input.namespace.clone() };
            access::who_can(&question, &input, format)
        }
    };
    ExitCode::from(code)
}
