// The linter runs here, off the main thread, so that linting a large paste never blocks typing.
// Protocol: {id, op, args} in; {id, result, ms} or {id, error} out. Results are parsed here too,
// so the main thread receives ready objects.
import init, { default_settings, fix, lint, rules, validate_settings, version } from '../pkg/sa_guard_web.js';

const ready = init({ module_or_path: new URL('./sa_guard_web_bg.wasm', import.meta.url) });

const OPS = {
  init: () => ({ version: version(), rules: JSON.parse(rules()), defaultSettings: JSON.parse(default_settings()) }),
  lint: ({ text, settings }) => JSON.parse(lint(text, settings)),
  fix: ({ text, settings, selection }) => JSON.parse(fix(text, settings, JSON.stringify(selection))),
  validateSettings: ({ settings }) => JSON.parse(validate_settings(settings)),
  // For scripts/bench-web.sh: lint `runs` times and report each run's time inside the worker.
  bench: ({ text, settings, runs }) => {
    const times = [];
    let output = '';
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      output = lint(text, settings);
      times.push(performance.now() - started);
    }
    const parsed = JSON.parse(output);
    return { times, findings: parsed.findings.length, objects: parsed.objects.length, parseErrors: parsed.parseErrors.length };
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
  } catch (error) {
    // A panic in the wasm (which must not happen) or a bug here: report, keep the page usable.
    self.postMessage({ id, error: String(error?.message ?? error) });
  }
};
