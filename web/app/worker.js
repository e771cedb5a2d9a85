// The linter runs here, off the main thread, so that linting a large paste never blocks typing.
// Protocol: {id, op, args} in; {id, result, ms} or {id, error} out. Results are parsed here too,
// so the main thread receives ready objects.
import init, { default_settings, fix, lint, lint_with_options, release, rules, validate_settings, version, yaml_events } from '../pkg/sa_guard_web.js';

const ready = init({ module_or_path: new URL('./sa_guard_web_bg.wasm', import.meta.url) });

// A small manifest linted once at start-up: the engine compiles wasm functions on first call,
// and that should not be charged to the user's first lint.
const WARM_UP = 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: i\n';

/**
 * The adapter gives what all findings of a rule share once per lint (`rules`: slug, title,
 * remediation, docs anchor); the page reads it on each finding. A finding's own remediation,
 * when it has one, is kept.
 */
function withRuleTexts(output) {
  for (const finding of output.findings ?? []) {
    const rule = output.rules?.[finding.ruleId];
    if (!rule) continue;
    finding.ruleSlug = rule.ruleSlug;
    finding.title = rule.title;
    finding.remediation ??= rule.remediation;
    finding.docsAnchor = rule.docsAnchor;
  }
  return output;
}

const OPS = {
  init: () => {
    lint(WARM_UP, '');
    return { version: version(), rules: JSON.parse(rules()), defaultSettings: JSON.parse(default_settings()) };
  },
  lint: ({ text, settings, textEdits = true }) => withRuleTexts(JSON.parse(textEdits ? lint(text, settings) : lint_with_options(text, settings, '{"textEdits":false}'))),
  fix: ({ text, settings, selection }) => JSON.parse(fix(text, settings, JSON.stringify(selection))),
  validateSettings: ({ settings }) => JSON.parse(validate_settings(settings)),
  // For scripts/bench-web.sh: lint `runs` times and report each run's time inside the worker,
  // next to the time the YAML parser alone takes on the same text (the floor), in turns.
  bench: ({ text, settings, runs, textEdits = true }) => {
    const times = [];
    const parserTimes = [];
    let output = '';
    let events = 0;
    const options = JSON.stringify({ textEdits });
    for (let i = 0; i < runs; i++) {
      let started = performance.now();
      output = lint_with_options(text, settings, options);
      times.push(performance.now() - started);
      // As after a real lint: freed once the result would be on its way to the page.
      release();
      started = performance.now();
      events = yaml_events(text);
      parserTimes.push(performance.now() - started);
    }
    const parsed = JSON.parse(output);
    return {
      times,
      parserTimes,
      events,
      findings: parsed.findings.length,
      fixable: parsed.summary.fixable,
      objects: parsed.objects.length,
      parseErrors: parsed.parseErrors.length,
      outputBytes: output.length,
    };
  },
};

self.onmessage = async (event) => {
  const { id, op, args } = event.data;
  try {
    await ready;
  } catch (error) {
    self.postMessage({ id, error: `the linter could not be loaded: ${error?.message ?? error}` });
    return;
  }
  const started = performance.now();
  try {
    const handler = OPS[op];
    if (!handler) throw new Error(`unknown operation ${op}`);
    const result = handler(args ?? {});
    self.postMessage({ id, result, ms: performance.now() - started });
    // What the lint built is freed after the result is posted: the page need not wait for it.
    release();
  } catch (error) {
    // A panic in the wasm (which must not happen) or a bug here: report, keep the page usable.
    self.postMessage({ id, error: String(error?.message ?? error) });
  }
};
