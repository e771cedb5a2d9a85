//! `sa-guard fix`: apply the findings' fixes to the text of each file (comments and untouched
//! lines stay as they are) and show a unified diff, or write the files with `--write`.

use sa_guard::manifest;
use sa_guard::{Finding, Fix};
use similar::TextDiff;

use crate::input::{self, Inputs, Source};
use crate::lint::{evaluate_inputs, write_stdout};
use crate::{InputArgs, EXIT_FINDINGS, EXIT_INPUT_ERROR};

/// One fix to apply: the object's index in its file, the fix, the finding it comes from.
type Planned<'a> = (usize, &'a Fix, &'a Finding);

pub fn run(args: &InputArgs, write: bool) -> u8 {
    let reads_stdin = input::effective_paths(&args.paths).is_ok_and(|paths| paths.iter().any(|p| p == "-"));
    if write && reads_stdin {
        eprintln!("sa-guard: --write cannot write to stdin; drop --write to get a diff");
        return EXIT_INPUT_ERROR;
    }
    let mut evaluation = match evaluate_inputs(args) {
        Ok(evaluation) => evaluation,
        Err(message) => {
            eprintln!("sa-guard: {message}");
            return EXIT_INPUT_ERROR;
        }
    };
    // apply_fixes patches the values the manifests hold; the evaluation had borrowed them.
    evaluation.inputs.restore_values();
    let inputs = &evaluation.inputs;
    let mut input_error = !inputs.errors.is_empty();
    for error in &inputs.errors {
        eprintln!("{error}");
    }

    let mut per_source: Vec<Vec<Planned<'_>>> = vec![Vec::new(); inputs.sources.len()];
    let mut without_fix = 0;
    for finding in &evaluation.findings {
        match &finding.fix {
            Some(fix) => {
                let (source_index, local) = inputs.owners[finding.object_index];
                per_source[source_index].push((local, fix, finding));
            }
            None => without_fix += 1,
        }
    }

    let mut diff = String::new();
    let (mut fixed_findings, mut fixed_files, mut not_applied) = (0, 0, 0);
    for (source, planned) in inputs.sources.iter().zip(&per_source) {
        if planned.is_empty() {
            continue;
        }
        let (fixed, applied) = apply(inputs, source, planned);
        not_applied += planned.len() - applied;
        if fixed == source.manifests.text() {
            continue;
        }
        fixed_findings += applied;
        fixed_files += 1;
        match (&source.path, write) {
            (Some(path), true) => {
                if let Err(e) = std::fs::write(path, &fixed) {
                    eprintln!("{}: error: cannot write: {e}", source.label);
                    input_error = true;
                }
            }
            _ => {
                // git's a/ b/ prefixes for relative paths (`git apply`, `patch -p1`), none for absolute ones.
                let (old, new) = if source.label.starts_with('/') {
                    (source.label.clone(), source.label.clone())
                } else {
                    (format!("a/{}", source.label), format!("b/{}", source.label))
                };
                // similar marks a missing final newline itself (`\ No newline at end of file`).
                let unified = TextDiff::from_lines(source.manifests.text(), &fixed)
                    .unified_diff()
                    .context_radius(3)
                    .header(&old, &new)
                    .to_string();
                diff.push_str(&unified);
            }
        }
    }
    if let Err(e) = write_stdout(&diff) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            eprintln!("sa-guard: cannot write the diff: {e}");
        }
        return EXIT_INPUT_ERROR;
    }
    eprintln!("{}", summary(write, fixed_findings, fixed_files, not_applied, without_fix));
    if input_error {
        EXIT_INPUT_ERROR
    } else if not_applied > 0 {
        EXIT_FINDINGS
    } else {
        0
    }
}

/// The file's text with as many fixes as apply; returns it and how many were applied. All at
/// once first; when that fails, one by one, so one fix that cannot be written (a field from a
/// YAML alias, two fixes on one line) does not hold back the others.
fn apply(inputs: &Inputs, source: &Source, planned: &[Planned<'_>]) -> (String, usize) {
    let text = source.manifests.text();
    let all: Vec<(usize, &Fix)> = planned.iter().map(|&(local, fix, _)| (local, fix)).collect();
    if let Ok(fixed) = manifest::apply_fixes(text, &source.manifests, &all) {
        return (fixed, planned.len());
    }
    let mut accepted: Vec<(usize, &Fix)> = Vec::new();
    let mut fixed = text.to_string();
    for &(local, fix, finding) in planned {
        accepted.push((local, fix));
        match manifest::apply_fixes(text, &source.manifests, &accepted) {
            Ok(text) => fixed = text,
            Err(error) => {
                accepted.pop();
                let (_, span) = inputs.locate(finding.object_index, &finding.path);
                eprintln!(
                    "{}:{}:{}: {} fix not applied ({}): {error}",
                    source.label, span.line, span.column, finding.rule_id, fix.description
                );
            }
        }
    }
    (fixed, accepted.len())
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn summary(write: bool, fixed: usize, files: usize, not_applied: usize, without_fix: usize) -> String {
    let verb = if write { "fixed" } else { "would fix" };
    let mut line =
        format!("sa-guard: {verb} {} in {}", plural(fixed, "finding", "findings"), plural(files, "file", "files"));
    if not_applied > 0 {
        line.push_str(&format!("; {} could not be applied (see above)", plural(not_applied, "fix", "fixes")));
    }
    if without_fix > 0 {
        line.push_str(&format!(
            "; {} without an automatic fix (see sa-guard lint)",
            plural(without_fix, "finding", "findings")
        ));
    }
    if fixed > 0 && !write {
        line.push_str("; run with --write to apply");
    }
    line
}
