//! What the CLI and the playground do with a YAML bundle: parse (positions, Kubernetes' YAML 1.1
//! reading, merge keys, aliases, `List`s), evaluate every rule in manifest mode, locate each
//! finding, and apply its fix to the text. Invariants: never a panic; every finding has a
//! position; a fix that is applied yields text that parses to as many objects as before and
//! no longer shows the finding; parsing in parallel pieces gives what parsing gives, and so do
//! the playground's parts (each parsed alone, evaluated with what the other shows of its
//! objects) whenever they say they read as the whole.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sa_guard::bundle::seen_from_other_parts;
use sa_guard::engine::{evaluate, evaluate_part, Options};
use sa_guard::manifest::{self, Limits};
use sa_guard::Settings;

/// Applying every fix re-parses and re-evaluates the whole bundle; a few per input keep the
/// fuzzer fast.
const FIXES_PER_INPUT: usize = 4;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let limits = Limits::default();
    let manifests = manifest::parse(text, &limits);
    for jobs in [2, 3] {
        assert!(manifest::parse_in_parallel(text, &limits, jobs) == manifests, "{jobs} jobs read it differently");
    }
    // The playground's lint in parts (one Web Worker per part): each part parsed alone, and
    // evaluated with what the other part shows of its objects, reads and reports as the whole.
    if manifest::can_cut(text, &limits) {
        let starts = manifest::part_starts(text, 2);
        if let [_, split] = starts[..] {
            let first_line = manifest::line_starts(&text[..split]).len() - 1;
            let parts =
                [manifest::parse(&text[..split], &limits), manifest::parse_part(&text[split..], &limits, first_line)];
            let shapes = [parts[0].part_shape(), parts[1].part_shape()];
            if manifest::parts_read_as_whole(&shapes, &limits) {
                let whole_values = manifests.values();
                let in_parts: Vec<_> = parts[0].values().into_iter().chain(parts[1].values()).collect();
                assert!(in_parts == whole_values, "the parts read other objects");
                let documents: Vec<usize> = parts[0]
                    .objects
                    .iter()
                    .map(|o| o.document)
                    .chain(parts[1].objects.iter().map(|o| o.document + shapes[0].documents))
                    .collect();
                assert!(documents == manifests.objects.iter().map(|o| o.document).collect::<Vec<_>>(), "documents");
                let cut = parts[0].objects.len();
                for i in 0..whole_values.len() {
                    let (part, local) = if i < cut { (&parts[0], i) } else { (&parts[1], i - cut) };
                    assert_eq!(part.position(local, "/metadata"), manifests.position(i, "/metadata"), "object {i}");
                }
                let mut findings = Vec::new();
                for subjects in [0..cut, cut..whole_values.len()] {
                    let seen: Vec<_> = whole_values
                        .iter()
                        .enumerate()
                        .map(|(i, value)| match subjects.contains(&i) {
                            true => value.clone(),
                            false => seen_from_other_parts(value).map(|seen| seen.into_owned()).unwrap_or_default(),
                        })
                        .collect();
                    findings.extend(evaluate_part(&seen, subjects, &Settings::default(), &Options::default()).findings);
                }
                let whole = evaluate(&whole_values, &Settings::default(), &Options::default());
                assert!(findings == whole.findings, "the parts report other findings");
            }
        }
    }
    let values = manifests.values();
    let report = evaluate(&values, &Settings::default(), &Options::default());
    for finding in &report.findings {
        assert!(finding.object_index < values.len(), "{}", finding.one_line());
        let position = manifests.position(finding.object_index, &finding.path);
        assert!(position.line >= 1 && position.column >= 1, "{position:?}");
    }
    for finding in report.findings.iter().filter(|f| f.fix.is_some()).take(FIXES_PER_INPUT) {
        let fix = finding.fix.as_ref().unwrap();
        // A refused edit (alias, merge key, flow style the fixer does not write) is an answer.
        let Ok(fixed) = manifest::apply_fixes(text, &manifests, &[(finding.object_index, fix)]) else { continue };
        let again = manifest::parse(&fixed, &limits);
        assert_eq!(
            again.objects.len(),
            manifests.objects.len(),
            "the fix of {} changed the object count",
            finding.one_line()
        );
        let after = evaluate(&again.values(), &Settings::default(), &Options::default());
        assert!(
            !after.findings.iter().any(|f| f.object_index == finding.object_index
                && f.rule_id == finding.rule_id
                && f.path == finding.path),
            "{} is still reported after its fix ({})\n--- text\n{text}\n--- fixed\n{fixed}",
            finding.one_line(),
            fix.description
        );
    }
});
