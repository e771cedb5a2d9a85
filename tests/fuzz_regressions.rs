//! Inputs the fuzz targets (fuzz/, scripts/fuzz.sh) once failed on, kept as tests. The same
//! inputs are seeds of the corpora (fuzz/corpus/<target>/seed-regression-*) once they pass.

use sa_guard::admission::validate_settings;
use sa_guard::engine::{evaluate, Options};
use sa_guard::manifest::{self, Limits};
use sa_guard::Settings;

/// Target `settings`: the CLI's and the playground's reading (`Settings::from_json`) and
/// policy-server's (`validate_settings`) must agree.
#[test]
fn both_settings_readings_agree_on_arrays_and_odd_whitespace() {
    for input in ["\n[]\n", "[{}, [], true]", "\u{b}null", "\u{3000}{\"mutate\": true}\u{b}", "{} {}"] {
        let policy_server = validate_settings(input.as_bytes()).valid;
        let cli = Settings::from_json(input).is_ok();
        assert_eq!(policy_server, cli, "{input:?}");
    }
}

/// Target `manifest_lint`: a fix applied after a document with a YAML syntax error. The fixer
/// re-reads only the edited document (`documents_read_back`), but where saphyr stops on the
/// earlier syntax error — and so where the next document starts — depends on the text after it:
/// the fixed text once read back as no object at all, and `apply_fixes` still returned it.
#[test]
fn a_fix_after_a_syntax_error_reads_back_or_is_refused() {
    let text = " [\n---\nkind: Deployment\nspec:\n template:\n  spec:\n    t: u,h\n";
    let manifests = manifest::parse(text, &Limits::default());
    assert_eq!(manifests.objects.len(), 1);
    let report = evaluate(&manifests.values(), &Settings::default(), &Options::default());
    let finding = report.findings.iter().find(|f| f.rule_id == "SAG002").expect("SAG002 fires");
    if let Ok(fixed) = manifest::apply_fixes(text, &manifests, &[(finding.object_index, finding.fix.as_ref().unwrap())])
    {
        let again = manifest::parse(&fixed, &Limits::default());
        assert_eq!(again.objects.len(), 1, "the fixed text lost the object:\n{fixed}");
    }
}
