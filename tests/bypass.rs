//! The bypass corpus: `tests/bypass/*.yaml`, one scenario per file, each a way a manifest could
//! slip a token or a grant past a naive check. Every file is parsed with the YAML front-end
//! (`manifest`, as the CLI and the playground read it) and evaluated in manifest mode.
//!
//! A file's leading comment block says what must happen:
//!
//! ```text
//! # Bypass: ... / # Why: ...            (prose, for people)
//! # settings: {"exempt_namespaces": []}  (optional, JSON)
//! # namespace: shop                      (optional, the CLI's --namespace)
//! # checks: SAG002 SAG003                the rules under test
//! # expect: SAG002 0 /spec/...           one line per finding: rule, object index, JSON pointer
//! ```
//!
//! The findings of the `checks` rules must be exactly the `expect` lines: a missing finding is
//! a bypass, an extra one a false alarm. Other rules' findings are not looked at here.
//!
//! `# known-bypass: <what is wrong, where>` marks a scenario the rules still get wrong: the test
//! then requires it to fail (and prints it), so fixing the rule makes the marker fail until it
//! is removed. Every marker is an open bug, not a pass.

use std::path::{Path, PathBuf};

use sa_guard::engine::{evaluate, Mode, Options};
use sa_guard::manifest::{self, Limits};
use sa_guard::{NoCluster, Settings};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/bypass")
}

#[derive(Debug, Default)]
struct Scenario {
    file: String,
    text: String,
    settings: Settings,
    namespace: Option<String>,
    checks: Vec<String>,
    /// (rule, object index, path), sorted.
    expected: Vec<(String, usize, String)>,
    has_why: bool,
    known_bypass: Option<String>,
}

fn load(path: &Path) -> Result<Scenario, String> {
    let text = std::fs::read_to_string(path).map_err(|e| e.to_string())?;
    let mut scenario =
        Scenario { file: path.file_name().unwrap().to_string_lossy().into_owned(), ..Scenario::default() };
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        let line = line.trim_start_matches('#').trim();
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match key {
            "settings" => scenario.settings = Settings::from_json(value)?,
            "namespace" => scenario.namespace = Some(value.to_string()),
            "checks" => scenario.checks = value.split_whitespace().map(String::from).collect(),
            "expect" => {
                let parts: Vec<&str> = value.split_whitespace().collect();
                let [rule, index, path] = parts[..] else { return Err(format!("bad expect line: {line}")) };
                let index = index.parse().map_err(|_| format!("bad object index in: {line}"))?;
                scenario.expected.push((rule.to_string(), index, path.to_string()));
            }
            "Why" => scenario.has_why = true,
            "known-bypass" => scenario.known_bypass = Some(value.to_string()),
            _ => {}
        }
    }
    if scenario.checks.is_empty() {
        return Err("no `# checks:` line".into());
    }
    if !scenario.has_why {
        return Err("no `# Why:` line saying why the rules must fire (or stay silent)".into());
    }
    for (rule, _, _) in &scenario.expected {
        if !scenario.checks.contains(rule) {
            return Err(format!("expects {rule}, which is not in `checks`"));
        }
    }
    for rule in &scenario.checks {
        if sa_guard::rules::find(rule).is_none() {
            return Err(format!("checks unknown rule {rule}"));
        }
    }
    scenario.expected.sort();
    scenario.text = text;
    Ok(scenario)
}

fn scenarios() -> Vec<Scenario> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/bypass")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().map(|path| load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).collect()
}

/// `(rule, object index, path)` of the findings of the rules under test, sorted, and every
/// finding as a readable line for failure messages.
fn run(scenario: &Scenario) -> (Vec<(String, usize, String)>, Vec<String>) {
    let manifests = manifest::parse(&scenario.text, &Limits::default());
    assert!(manifests.errors.is_empty(), "{}: parse errors: {:?}", scenario.file, manifests.errors);
    let options =
        Options { mode: Mode::Manifest, default_namespace: scenario.namespace.as_deref(), lookup: &NoCluster };
    let report = evaluate(&manifests.values(), &scenario.settings, &options);
    let lines = report.findings.iter().map(|f| format!("{} ({})", f.one_line(), f.level)).collect();
    let mut found: Vec<(String, usize, String)> = report
        .findings
        .iter()
        .filter(|f| scenario.checks.contains(&f.rule_id))
        .map(|f| (f.rule_id.clone(), f.object_index, f.path.clone()))
        .collect();
    found.sort();
    (found, lines)
}

#[test]
fn every_scenario_reports_exactly_the_expected_findings() {
    let mut failures = Vec::new();
    let scenarios = scenarios();
    for scenario in &scenarios {
        let (found, lines) = run(scenario);
        match (&scenario.known_bypass, found == scenario.expected) {
            (None, true) => continue,
            (Some(bug), false) => {
                eprintln!("known bypass, still open: {}: {bug}", scenario.file);
                continue;
            }
            (Some(_), true) => {
                failures.push(format!("{}: passes now; remove its `# known-bypass:` line", scenario.file));
                continue;
            }
            (None, false) => {}
        }
        let show = |list: &[(String, usize, String)]| {
            list.iter().map(|(r, i, p)| format!("    {r} {i} {p}")).collect::<Vec<_>>().join("\n")
        };
        failures.push(format!(
            "{} (checks {}):\n  expected:\n{}\n  found:\n{}\n  all findings:\n    {}",
            scenario.file,
            scenario.checks.join(" "),
            show(&scenario.expected),
            show(&found),
            lines.join("\n    ")
        ));
    }
    assert!(
        failures.is_empty(),
        "{} of {} bypass scenarios failed:\n\n{}",
        failures.len(),
        scenarios.len(),
        failures.join("\n\n")
    );
}

/// The corpus covers what the task says it must: every pod-bearing kind, and a must-fire
/// scenario for every object-scoped rule the corpus knows scenarios for.
#[test]
fn the_corpus_covers_every_pod_bearing_kind_and_rule() {
    let scenarios = scenarios();
    for kind in sa_guard::k8s::POD_BEARING_KINDS {
        let covered = scenarios.iter().any(|s| {
            let manifests = manifest::parse(&s.text, &Limits::default());
            manifests.objects.iter().any(|o| sa_guard::k8s::kind(&o.value) == *kind)
                && s.expected.iter().any(|(rule, _, _)| rule == "SAG002")
        });
        assert!(covered, "no scenario with a {kind} that SAG002 must report");
    }
    let fired: std::collections::BTreeSet<&str> =
        scenarios.iter().flat_map(|s| s.expected.iter().map(|(rule, _, _)| rule.as_str())).collect();
    let missing: Vec<&str> = sa_guard::rules::all()
        .iter()
        .map(|r| r.meta.id)
        .filter(|id| !fired.contains(id) && !RULES_WITHOUT_SCENARIOS.contains(id))
        .collect();
    assert!(missing.is_empty(), "rules with no must-fire scenario: {missing:?}");
}

/// Rules whose bypass scenarios are not written yet (their checks were still being written when
/// the corpus was): each entry is a gap to close, not a pass.
const RULES_WITHOUT_SCENARIOS: &[&str] = &["SAG011", "SAG012", "SAG014"];
