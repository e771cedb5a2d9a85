//! `sa-guard lint`: one evaluation over every object of every input, then each finding mapped
//! back to its file and line.

use sa_guard::bundle::Bundle;
use sa_guard::engine::{evaluate_bundle, Exemption, Mode, Options};
use sa_guard::{Finding, Level, NoCluster, Settings};

use crate::input::{self, InputError, Inputs, Span};
use crate::{output, Format, InputArgs, EXIT_FINDINGS, EXIT_INPUT_ERROR};

/// A finding with the place it points at.
pub struct Located<'a> {
    pub finding: &'a Finding,
    pub file: &'a str,
    pub span: Span,
}

pub struct LocatedExemption<'a> {
    pub exemption: &'a Exemption,
    pub file: &'a str,
    pub span: Span,
}

/// Everything the output formats need.
pub struct Outcome<'a> {
    pub findings: Vec<Located<'a>>,
    pub exemptions: Vec<LocatedExemption<'a>>,
    pub errors: &'a [InputError],
    /// Notes that are not findings: objects defined more than once, workloads whose Pod spec is
    /// not a mapping (file, place, text).
    pub notes: Vec<(String, Span, String)>,
    pub files: usize,
    pub objects: usize,
}

impl Outcome<'_> {
    pub fn count(&self, level: Level) -> usize {
        self.findings.iter().filter(|f| f.finding.level == level).count()
    }

    pub fn fixable(&self) -> usize {
        self.findings.iter().filter(|f| f.finding.fix.is_some()).count()
    }
}

/// Read the inputs and settings, and evaluate them as one bundle.
pub struct Evaluation {
    pub inputs: Inputs,
    pub findings: Vec<Finding>,
    pub exemptions: Vec<Exemption>,
    /// Objects defined more than once: each one's name and the indices of its definitions, in
    /// order (the last counts).
    pub duplicates: Vec<(String, Vec<usize>)>,
    /// `--namespace`: the namespace of objects that set none.
    pub namespace: Option<String>,
}

/// Settings first (a bad settings file is a usage error), then every path.
pub fn evaluate_inputs(args: &InputArgs) -> Result<Evaluation, String> {
    let settings = input::load_settings(args.settings.as_deref())?;
    let paths = input::effective_paths(&args.paths)?;
    Ok(evaluate_paths(&paths, &settings, args.namespace.as_deref(), args.jobs()))
}

pub fn evaluate_paths(paths: &[String], settings: &Settings, namespace: Option<&str>, jobs: usize) -> Evaluation {
    let inputs = input::load(paths, jobs);
    let options = Options { mode: Mode::Manifest, default_namespace: namespace, lookup: &NoCluster };
    // One bundle for the rules and the duplicate notes.
    let bundle = Bundle::new(&inputs.objects, namespace);
    let report = evaluate_bundle(&bundle, settings, &options);
    let duplicates = bundle
        .duplicates()
        .iter()
        .map(|group| (group[0].object_ref().to_string(), group.iter().map(|obj| obj.index).collect()))
        .collect();
    let namespace = namespace.map(String::from);
    Evaluation { inputs, findings: report.findings, exemptions: report.exemptions, duplicates, namespace }
}

/// One note per workload whose Pod spec is not a mapping (`spec: "..."`, `template: [...]`): no
/// rule can read its Pods, so it must not pass silently. At the field that is not a mapping.
pub fn pod_spec_notes(inputs: &Inputs, namespace: Option<&str>) -> Vec<(String, Span, String)> {
    inputs
        .objects
        .iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let (pointer, _) = sa_guard::k8s::pod_spec_not_a_mapping(value)?;
            let message = sa_guard::k8s::pod_spec_shape_message(value, namespace)?;
            let (source, span) = inputs.locate(index, pointer);
            Some((source.label.clone(), span, message))
        })
        .collect()
}

/// How many places a note names before it counts the rest ("and 1 495 more").
pub const PLACES_SHOWN: usize = 5;

/// `shown` (the first of `total` things) joined, then "and N more" for those not shown.
pub fn first_few(shown: &[String], total: usize) -> String {
    match total.saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

impl Evaluation {
    /// One note per object defined more than once, at its last (counting) definition.
    pub fn duplicate_notes(&self) -> Vec<(String, Span, String)> {
        self.duplicates
            .iter()
            .map(|(object, group)| {
                let place = |index: usize| {
                    let (source, span) = self.inputs.locate(index, "");
                    (source.label.clone(), span)
                };
                let (last, earlier) = group.split_last().expect("groups have two or more objects");
                let (file, span) = place(*last);
                // A dump can define one object hundreds of times: the first few places and a count.
                let earlier: Vec<String> = earlier
                    .iter()
                    .take(PLACES_SHOWN)
                    .map(|&i| place(i))
                    .map(|(file, span)| format!("{file}:{}", span.line))
                    .collect();
                let message = format!(
                    "{object} is defined {} times; only this last definition is checked, as `kubectl apply` would \
                     keep it (also at {})",
                    group.len(),
                    first_few(&earlier, group.len() - 1)
                );
                (file, span, message)
            })
            .collect()
    }

    pub fn outcome(&self) -> Outcome<'_> {
        let mut findings: Vec<Located<'_>> = self
            .findings
            .iter()
            .map(|finding| {
                let (source, span) = self.inputs.locate(finding.object_index, &finding.path);
                Located { finding, file: &source.label, span }
            })
            .collect();
        // Reading order: file (input order), then line and column; the rule breaks ties.
        findings.sort_by(|a, b| {
            let key =
                |l: &Located<'_>| (self.inputs.owners[l.finding.object_index].0, l.span, l.finding.rule_id.clone());
            key(a).cmp(&key(b))
        });
        let exemptions = self
            .exemptions
            .iter()
            .map(|exemption| {
                let (source, span) = self.inputs.locate(exemption.object_index, &exemption.path);
                LocatedExemption { exemption, file: &source.label, span }
            })
            .collect();
        Outcome {
            findings,
            exemptions,
            errors: &self.inputs.errors,
            notes: self
                .duplicate_notes()
                .into_iter()
                .chain(pod_spec_notes(&self.inputs, self.namespace.as_deref()))
                .collect(),
            files: self.inputs.sources.len() + self.inputs.unreadable,
            objects: self.inputs.objects.len(),
        }
    }
}

pub fn run(args: &InputArgs, fail_on: Level, format: Format) -> u8 {
    let evaluation = match evaluate_inputs(args) {
        Ok(evaluation) => evaluation,
        Err(message) => {
            eprintln!("sa-guard: {message}");
            return EXIT_INPUT_ERROR;
        }
    };
    let outcome = evaluation.outcome();
    // Humans see input errors on stderr whatever the format; json and sarif also carry them.
    if format != Format::Github {
        for error in outcome.errors {
            eprintln!("{error}");
        }
        for (file, span, message) in &outcome.notes {
            eprintln!("{file}:{}:{}: note: {message}", span.line, span.column);
        }
    }
    let text = match format {
        Format::Text => output::text(&outcome),
        Format::Json => output::json(&outcome),
        Format::Sarif => output::sarif(&outcome),
        Format::Github => output::github(&outcome),
    };
    if let Err(e) = write_stdout(&text) {
        // A closed pipe (`| head`) is not worth a panic.
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("sa-guard: cannot write the report: {e}");
        }
        return EXIT_INPUT_ERROR;
    }
    let code = exit_code(&outcome, fail_on);
    // The process ends right after: freeing a large bundle node by node would only cost time.
    std::mem::forget(outcome);
    std::mem::forget(evaluation);
    code
}

pub fn exit_code(outcome: &Outcome<'_>, fail_on: Level) -> u8 {
    if !outcome.errors.is_empty() {
        EXIT_INPUT_ERROR
    } else if outcome.findings.iter().any(|f| f.finding.level >= fail_on) {
        EXIT_FINDINGS
    } else {
        0
    }
}

/// Writes an answer (`can-i`, `who-can`, `inventory`) and exits with `code`: a closed pipe
/// (`| head`) still answers `code`, another write failure is an input error naming `what`.
pub fn print_answer(text: &str, code: u8, what: &str) -> u8 {
    match write_stdout(text) {
        Ok(()) => code,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => code,
        Err(e) => {
            eprintln!("sa-guard: cannot write the {what}: {e}");
            EXIT_INPUT_ERROR
        }
    }
}

pub fn write_stdout(text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()
}
