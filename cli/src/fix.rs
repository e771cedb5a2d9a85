//! `sa-guard fix`: apply the findings' fixes to the text of each file (comments and untouched
//! lines stay as they are) and show a unified diff, or write the files with `--write`.

use sa_guard::manifest;
use sa_guard::Fix;
use similar::TextDiff;

use crate::lint::{evaluate_inputs, write_stdout};
use crate::{InputArgs, EXIT_INPUT_ERROR};

pub fn run(args: &InputArgs, write: bool) -> u8 {
    if write && args.paths.iter().any(|p| p == "-") {
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
    evaluation.inputs.restore_values();
    let inputs = &evaluation.inputs;
    let mut failed = !inputs.errors.is_empty();
    for error in &inputs.errors {
        eprintln!("{error}");
    }

    // Fixes grouped by file, as (object index in that file, fix).
    let mut per_source: Vec<Vec<(usize, &Fix)>> = vec![Vec::new(); inputs.sources.len()];
    let mut without_fix = 0;
    for finding in &evaluation.findings {
        match &finding.fix {
            Some(fix) => {
                let (source_index, local) = inputs.owners[finding.object_index];
                per_source[source_index].push((local, fix));
            }
            None => without_fix += 1,
        }
    }

    let mut diff = String::new();
    let (mut fixed_findings, mut fixed_files) = (0, 0);
    for (source, fixes) in inputs.sources.iter().zip(&per_source) {
        if fixes.is_empty() {
            continue;
        }
        let fixed = match manifest::apply_fixes(source.manifests.text(), &source.manifests, fixes) {
            Ok(fixed) => fixed,
            Err(error) => {
                eprintln!("{}: error: cannot apply fixes: {error:?}", source.label);
                failed = true;
                continue;
            }
        };
        if fixed == source.manifests.text() {
            continue;
        }
        fixed_findings += fixes.len();
        fixed_files += 1;
        match (&source.path, write) {
            (Some(path), true) => {
                if let Err(e) = std::fs::write(path, &fixed) {
                    eprintln!("{}: error: cannot write: {e}", source.label);
                    failed = true;
                }
            }
            _ => {
                let text_diff = TextDiff::from_lines(source.manifests.text(), &fixed);
                let unified = text_diff
                    .unified_diff()
                    .context_radius(3)
                    .header(&format!("a/{}", source.label), &format!("b/{}", source.label))
                    .to_string();
                // similar marks a missing final newline itself (`\ No newline at end of file`).
                diff.push_str(&unified);
            }
        }
    }
    if !diff.is_empty() {
        if let Err(e) = write_stdout(&diff) {
            if e.kind() != std::io::ErrorKind::BrokenPipe {
                eprintln!("sa-guard: cannot write the diff: {e}");
            }
            return EXIT_INPUT_ERROR;
        }
    }
    let verb = if write { "fixed" } else { "would fix" };
    let mut summary = format!(
        "sa-guard: {verb} {fixed_findings} finding{} in {fixed_files} file{}",
        if fixed_findings == 1 { "" } else { "s" },
        if fixed_files == 1 { "" } else { "s" }
    );
    if without_fix > 0 {
        summary.push_str(&format!(
            "; {without_fix} finding{} without an automatic fix (see sa-guard lint)",
            if without_fix == 1 { "" } else { "s" }
        ));
    }
    eprintln!("{summary}");
    if failed {
        EXIT_INPUT_ERROR
    } else {
        0
    }
}
