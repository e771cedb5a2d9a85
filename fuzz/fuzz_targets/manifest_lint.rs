//! What the CLI and the playground do with a YAML bundle: parse (positions, Kubernetes' YAML 1.1
//! reading, merge keys, aliases, `List`s), evaluate every rule in manifest mode, locate each
//! finding, and apply its fix to the text. Invariants: never a panic; every finding has a
//! position; a fix that is applied yields text that parses to as many objects as before and
//! no longer shows the finding; parsing in parallel pieces, and in two workers (the second part
//! from its events as bytes), gives what parsing gives.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sa_guard::engine::{evaluate, Options};
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
    // The playground's parse in two workers: the second part built from its events as bytes.
    let half = text.len() / 2;
    if let Some(split) = text.get(half..).and_then(|rest| rest.find("\n---")).map(|at| half + at + 1) {
        let events = manifest::record_events(&text[split..]);
        let two_workers = manifest::SplitParse::begin(text.to_string(), &limits, split).finish(Some(&events));
        assert!(two_workers == manifests, "the parse in two workers read it differently");
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
