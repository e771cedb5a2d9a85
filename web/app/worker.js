// The linter runs here, off the main thread, so that linting a large paste never blocks typing.
// Protocol: {id, op, args} in; {id, result, ms} or {id, error} out. Results are parsed here too,
// so the main thread receives ready objects.
//
// A large text is read by two workers at once: this script also runs as a helper that reads the
// YAML events of the text's second part (op `readEvents`) while the first worker reads the first
// part. Workers share no memory, so the events come back as bytes, from which the first worker
// builds the second part's tree as if it had read them itself (`lint_begin` / `lint_finish`).
import init, {
  default_settings,
  fix,
  lint,
  lint_begin,
  lint_finish,
  lint_with_options,
  read_events,
  release,
  rules,
  validate_settings,
  version,
  yaml_events,
} from '../pkg/sa_guard_web.js';

const ready = init({ module_or_path: new URL('./sa_guard_web_bg.wasm', import.meta.url) });

// A small manifest linted once at start-up: the engine compiles wasm functions on first call,
// and that should not be charged to the user's first lint.
const WARM_UP = 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: i\n';

/** Texts from this length (UTF-16 units) are read by two workers; below, messages cost more than they save. */
const SPLIT_FROM = 256 * 1024;
/** This worker's share of the reading: it also builds the tree of the helper's part. */
const HEAD_SHARE = 0.47;
/** A helper that has not answered by then is given up on, and its part read here. */
const HELPER_TIMEOUT_MS = 10_000;

/** The helper worker, started at init when the machine has a second core. */
let helper = null;
const helperRequests = new Map();
let helperNextId = 1;

function startHelper() {
  if (helper || (self.navigator?.hardwareConcurrency ?? 1) < 2) return;
  try {
    helper = new Worker(new URL(import.meta.url), { type: 'module' });
  } catch {
    return; // No nested workers here: one worker reads everything.
  }
  helper.onmessage = ({ data: { id, result, error } }) => {
    const request = helperRequests.get(id);
    if (!request) return;
    helperRequests.delete(id);
    if (error) request.reject(new Error(error));
    else request.resolve(result);
  };
  helper.onerror = (event) => {
    event.preventDefault?.();
    for (const request of helperRequests.values()) request.reject(new Error('the helper worker stopped'));
    helperRequests.clear();
    helper?.terminate();
    helper = null;
  };
  // Its first reading compiles the wasm functions: not on a user's lint.
  helperReadEvents(WARM_UP).catch(() => {});
}

/** The YAML events of `text`, read by the helper: bytes for `lint_finish`. */
function helperReadEvents(text) {
  return new Promise((resolve, reject) => {
    const id = helperNextId++;
    const timer = setTimeout(() => {
      helperRequests.delete(id);
      reject(new Error('the helper worker did not answer'));
    }, HELPER_TIMEOUT_MS);
    const settle = (fn) => (value) => {
      clearTimeout(timer);
      fn(value);
    };
    helperRequests.set(id, { resolve: settle(resolve), reject: settle(reject) });
    helper.postMessage({ id, op: 'readEvents', args: { text } });
  });
}

/**
 * Where a document marker line (`---` alone or before a blank) starts at or after `from`, or -1.
 * (A marker after a lone `\r` line break is not looked for: the text is then read by one worker.)
 */
function documentMarkerFrom(text, from) {
  for (let at = text.indexOf('\n---', from); at !== -1; at = text.indexOf('\n---', at + 1)) {
    const next = text[at + 4];
    if (next === undefined || next === ' ' || next === '\t' || next === '\n' || next === '\r') return at + 1;
  }
  return -1;
}

/**
 * Lints one after the other: a lint read by two workers waits for the helper between
 * `lint_begin` and `lint_finish`, and other messages are handled meanwhile.
 */
let lintQueue = Promise.resolve();
function oneAtATime(task) {
  const run = lintQueue.then(task);
  lintQueue = run.catch(() => {});
  return run;
}

/** How the last lint was read: by one worker or two. */
let lastLintWorkers = 1;

/** The lint's JSON, by two workers when the text is large and the helper is there. */
async function lintJson(text, settings, textEdits, twoWorkers = true) {
  const options = JSON.stringify({ textEdits });
  const split = twoWorkers && helper && text.length >= SPLIT_FROM ? documentMarkerFrom(text, Math.floor(text.length * HEAD_SHARE)) : -1;
  if (split <= 0) {
    lastLintWorkers = 1;
    return lint_with_options(text, settings, options);
  }
  lastLintWorkers = 2;
  const tail = text.slice(split);
  // Posted first, so the helper reads while this worker does.
  const tailEvents = helperReadEvents(tail).catch(() => undefined);
  lint_begin(text.slice(0, split), tail);
  // Without the helper's events (it failed), lint_finish reads the second part itself.
  return lint_finish(await tailEvents, settings, options);
}

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
    startHelper();
    return { version: version(), rules: JSON.parse(rules()), defaultSettings: JSON.parse(default_settings()) };
  },
  lint: ({ text, settings, textEdits = true }) => oneAtATime(async () => withRuleTexts(JSON.parse(await lintJson(text, settings, textEdits)))),
  fix: ({ text, settings, selection }) => JSON.parse(fix(text, settings, JSON.stringify(selection))),
  validateSettings: ({ settings }) => JSON.parse(validate_settings(settings)),
  // The helper's part of a large lint.
  readEvents: ({ text }) => read_events(text),
  bench: (args) => oneAtATime(() => bench(args)),
  // For the browser tests: the lint's JSON as it comes from the wasm, and how many workers read it.
  lintJson: ({ text, settings, textEdits = false, twoWorkers = true }) =>
    oneAtATime(async () => ({ json: await lintJson(text, settings, textEdits, twoWorkers), workers: lastLintWorkers })),
};

// For scripts/bench-web.sh: lint `runs` times and report each run's time inside the worker (by
// two workers when `twoWorkers` and the text is large), next to the time the YAML parser alone
// takes on the same text in this worker (the floor), in turns.
async function bench({ text, settings, runs, textEdits = true, twoWorkers = true }) {
  const times = [];
  const parserTimes = [];
  let output = '';
  let events = 0;
  for (let i = 0; i < runs; i++) {
    let started = performance.now();
    output = await lintJson(text, settings, textEdits, twoWorkers);
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
    workers: lastLintWorkers,
    findings: parsed.findings.length,
    fixable: parsed.summary.fixable,
    objects: parsed.objects.length,
    parseErrors: parsed.parseErrors.length,
    outputBytes: output.length,
  };
}

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
    const result = await handler(args ?? {});
    // The helper's events are moved, not copied.
    self.postMessage({ id, result, ms: performance.now() - started }, result instanceof Uint8Array ? [result.buffer] : []);
    // What the lint built is freed after the result is posted: the page need not wait for it.
    release();
  } catch (error) {
    // A panic in the wasm (which must not happen) or a bug here: report, keep the page usable.
    self.postMessage({ id, error: String(error?.message ?? error) });
  }
};
