// The linter runs here, off the main thread, so that linting a large paste never blocks typing.
// Protocol: {id, op, args} in; {id, result, ms} or {id, error} out. A lint's result is its JSON
// as the adapter wrote it (a string per part), which the page parses (./lint-output.js): a
// string is posted at the cost of a copy, while objects would be cloned here and rebuilt there.
//
// A large text is linted in parts by several workers at once: this script also runs as a
// helper, which lints the part it is given (ops `partBegin`, `partFinish`). Workers share no
// memory, so each reads its part and they exchange, as JSON, what their rules need of each
// other's objects; this worker plans the cut (./plan.js), relays, and joins the parts' results
// (see "A lint in parts" in ../src/lib.rs). The result is always the lint of the whole text by
// one worker.
import init, {
  default_settings,
  fix,
  inventory,
  lint,
  lint_with_options,
  part_begin,
  part_context,
  part_finish,
  parts_agree,
  release,
  rules,
  validate_settings,
  version,
  warm_up,
  yaml_events,
} from '../pkg/sa_guard_web.js';
import { WorkerChannel } from './channel.js';
import { parsedLint } from './lint-output.js';
import { planParts } from './plan.js';

const ready = init({ module_or_path: new URL('./sa_guard_web_bg.wasm', import.meta.url) });

// A small manifest linted once at start-up: the engine compiles wasm functions on first call,
// and that should not be charged to the user's first lint.
const WARM_UP = 'apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: default\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n    - name: c\n      image: i\n';

/**
 * The engine first runs wasm functions with its baseline compiler and optimizes those that keep
 * running, in the background: on a fresh page the first 1 MB lint took three to four times as
 * long as later ones (196-264 ms here). So each worker lints a sample (the page's examples,
 * repeated to this length) this many times when idle after start-up, about 1.3 MB of linting in
 * 10-20 ms tasks (a helper also reads its parts of the rounds in parts below: 1.7 MB); its first
 * large lint then runs mostly optimized code (74-137 ms here before the rounds in parts; 64 KB
 * six times left it at 91-142 ms, twice this was a little better, at twice the start-up work).
 */
const WARM_UP_BYTES = 128 * 1024;
const WARM_UP_ROUNDS = 10;

/**
 * A lint in parts runs code a whole lint does not (the cut, each part's wasm functions here and
 * in a helper, the messages): every third round is one, of twice the sample, in two
 * parts, once this worker has a helper. Taking turns on fresh pages with whole rounds only, the
 * first 1 MB lint took a median 74 ms against 92 (faster on 11 of 12 pages); a round in parts
 * every second round gained nothing more (69 against 67).
 */
const WARM_UP_IN_PARTS_EVERY = 3;

/** The warm-up rounds, one task each: a request that arrives meanwhile waits for one round at most. */
async function warmUpInBackground(sample) {
  if (!sample) return;
  const text = sample.repeat(Math.ceil(WARM_UP_BYTES / sample.length));
  for (let round = 0; round < WARM_UP_ROUNDS; round++) {
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (round % WARM_UP_IN_PARTS_EVERY === WARM_UP_IN_PARTS_EVERY - 1 && helpers.length > 0) {
      await oneAtATime(() => warmUpInParts(text.repeat(2)));
    } else {
      // Touches no worker state, so it may run between the steps of a lint in parts.
      warm_up(text, JSON.stringify({ textEdits: round % 2 === 1 }));
    }
  }
}

/** A lint in two parts whose result is thrown away (`lastLintWorkers` is the page's lints' only). */
async function warmUpInParts(text) {
  const plan = planParts(text, 2);
  if (plan.length !== 2) return;
  await lintInParts(text, '', JSON.stringify({ textEdits: false }), plan).catch(() => null);
  release();
}

/** The page's sample for warming up helpers started later. */
let warmUpSample = '';

/** The first lint now (it compiles the wasm functions), the rest of the warm-up when idle. */
function warmUp(sample) {
  lint(WARM_UP, '');
  warmUpInBackground(sample);
}

/** Texts from this length (UTF-16 units) are linted in parts; below, messages cost more than they save. */
const SPLIT_FROM = 256 * 1024;
/** Each part at least this long: a part is worth a worker only when its reading outweighs the messages. */
const PART_AT_LEAST = 128 * 1024;
/** At most this many parts (one worker each), however many cores there are. */
const MOST_PARTS = 4;
/** A helper that has not answered by then is given up on, and the text linted here. */
const HELPER_TIMEOUT_MS = 10_000;

/** The helper workers, started at init: one per core beyond the first. */
const helpers = [];
/** How many helpers were asked for, so that one that fails can be replaced. */
let helpersWanted = 0;
/**
 * Helpers replaced after a failure, at most this many per page: one that fails again and again
 * (it cannot load, say) is not started forever; the text is then linted by fewer workers.
 */
const MOST_HELPER_REPLACEMENTS = 3;
let helperReplacements = 0;

/** Starts helpers until there are `count` (fewer when this browser has no nested workers). */
function ensureHelpers(count) {
  helpersWanted = Math.max(helpersWanted, count);
  while (helpers.length < count) {
    let helper;
    try {
      helper = new WorkerChannel(
        () => new Worker(new URL(import.meta.url), { type: 'module' }),
        () => {
          // A helper that failed may be inconsistent: dropped (the lint that met the failure is
          // linted here alone) and replaced by a fresh one, which warms up before the next lint.
          helper.terminate();
          const at = helpers.indexOf(helper);
          if (at === -1) return;
          helpers.splice(at, 1);
          if (helperReplacements < MOST_HELPER_REPLACEMENTS) {
            helperReplacements++;
            ensureHelpers(helpersWanted);
          }
        },
      );
    } catch {
      return; // No nested workers here: one worker lints everything.
    }
    helpers.push(helper);
    // Its first lints compile and optimize the wasm functions: not on a user's lint.
    helper.request('warmUp', { sample: warmUpSample }).catch(() => {});
  }
}

/** How many parts to lint a text of `length` UTF-16 units in, with helpers for all but one. */
function partsFor(length, wanted = Math.min(self.navigator?.hardwareConcurrency ?? 1, MOST_PARTS)) {
  if (length < SPLIT_FROM) return 1;
  return Math.max(1, Math.min(wanted, Math.floor(length / PART_AT_LEAST), helpers.length + 1));
}

/**
 * Lints one after the other: a lint in parts waits for the helpers, and other messages are
 * handled meanwhile.
 */
let lintQueue = Promise.resolve();
function oneAtATime(task) {
  const run = lintQueue.then(task);
  lintQueue = run.catch(() => {});
  return run;
}

/** How many workers read the last lint. */
let lastLintWorkers = 1;

/**
 * The lint's JSON: one string when this worker linted the text alone, one per part when the
 * text was large enough to be linted in parts by this worker and helpers (joined by
 * `joinOutputs` in ./lint-output.js).
 */
async function lintJson(text, settings, textEdits, parts = partsFor(text.length)) {
  const options = JSON.stringify({ textEdits });
  const plan = parts > 1 ? planParts(text, parts) : [];
  if (plan.length > 1 && plan.length <= helpers.length + 1) {
    const outputs = await lintInParts(text, settings, options, plan).catch(() => null);
    if (outputs !== null) {
      lastLintWorkers = plan.length;
      return outputs;
    }
  }
  lastLintWorkers = 1;
  return [lint_with_options(text, settings, options)];
}

/**
 * The outputs of `text`'s parts, linted by this worker and a helper per further part of `plan`;
 * null when the parts would not read as the whole text, so that it is linted here instead.
 * Contexts are relayed as the strings they came in.
 */
async function lintInParts(text, settings, options, plan) {
  const [own, ...rest] = plan;
  const partHelpers = helpers.slice(0, rest.length);
  // Posted first, so the helpers read while this worker does.
  const begun = rest.map((place, k) =>
    partHelpers[k].request(
      'partBegin',
      { text: text.slice(place.from, place.to), firstLine: place.firstLine, utf16Start: place.from, settings, options },
      { timeoutMs: HELPER_TIMEOUT_MS },
    ),
  );
  const summary = part_begin(text.slice(own.from, own.to), own.firstLine, own.from, settings, options);
  const context = part_context();
  const read = (await Promise.all(begun)).map(({ result }) => result);
  const summaries = `[${[summary, ...read.map((part) => part.summary)].join(',')}]`;
  if (!parts_agree(summaries)) return null;
  const contexts = [context, ...read.map((part) => part.context)];
  const others = (index) => `[${contexts.flatMap((c, j) => (j === index ? [] : [`{"part":${j},"context":${c}}`])).join(',')}]`;
  const finished = partHelpers.map((helper, k) =>
    helper.request('partFinish', { summaries, index: k + 1, others: others(k + 1) }, { timeoutMs: HELPER_TIMEOUT_MS }),
  );
  const outputs = [part_finish(summaries, 0, others(0)), ...(await Promise.all(finished)).map(({ result }) => result)];
  return outputs.some((output) => output.startsWith('{"error"')) ? null : outputs;
}

const OPS = {
  init: ({ warmUpSample: sample = '' }) => {
    warmUpSample = sample;
    ensureHelpers(Math.min(self.navigator?.hardwareConcurrency ?? 1, MOST_PARTS) - 1);
    warmUp(sample);
    return { version: version(), rules: JSON.parse(rules()), defaultSettings: JSON.parse(default_settings()) };
  },
  // The outputs, to be read with `lintResult` (./lint-output.js).
  lint: ({ text, settings, textEdits = true }) => oneAtATime(() => lintJson(text, settings, textEdits)),
  fix: ({ text, settings, selection }) => JSON.parse(fix(text, settings, JSON.stringify(selection))),
  // The ServiceAccount inventory, as the adapter's JSON (the page parses it). In the lint queue:
  // the result's release() must not free a lint in parts that is waiting for its helpers.
  inventory: ({ text, settings }) => oneAtATime(() => inventory(text, settings)),
  validateSettings: ({ settings }) => JSON.parse(validate_settings(settings)),
  // A helper's share of a lint in parts.
  warmUp: ({ sample }) => {
    warmUp(sample);
    return true;
  },
  partBegin: ({ text, firstLine, utf16Start, settings, options }) => ({ summary: part_begin(text, firstLine, utf16Start, settings, options), context: part_context() }),
  partFinish: ({ summaries, index, others }) => part_finish(summaries, index, others),
  bench: (args) => oneAtATime(() => bench(args)),
  // For the browser tests: an operation sent to the first helper (an unknown one fails it), and
  // its error as the result, so that this worker is not taken to have failed.
  helperRequest: ({ op }) => helpers[0].request(op).then(({ result }) => ({ result }), (error) => ({ error: error.message })),
  // For the browser tests: the lint's outputs, and how many workers read it (`parts`: how many
  // to ask for, helpers started as needed; 1: this one alone).
  lintJson: ({ text, settings, textEdits = false, parts }) =>
    oneAtATime(async () => {
      if (parts) ensureHelpers(parts - 1);
      const outputs = await lintJson(text, settings, textEdits, parts && partsFor(text.length, parts));
      return { outputs, workers: lastLintWorkers };
    }),
};

// For scripts/bench-web.sh: lint `runs` times and report each run's time inside the worker (in
// `parts` parts, by default as many as the page would use; 1: this worker alone), next to the
// time the YAML parser alone takes on the same text in this worker (the floor), in turns.
async function bench({ text, settings, runs, textEdits = true, parts }) {
  if (parts) ensureHelpers(parts - 1);
  const times = [];
  const parserTimes = [];
  let output = [];
  let events = 0;
  for (let i = 0; i < runs; i++) {
    let started = performance.now();
    output = await lintJson(text, settings, textEdits, parts && partsFor(text.length, parts));
    times.push(performance.now() - started);
    // As after a real lint: freed once the result would be on its way to the page.
    release();
    started = performance.now();
    events = yaml_events(text);
    parserTimes.push(performance.now() - started);
  }
  const parsed = parsedLint(output);
  return {
    times,
    parserTimes,
    events,
    workers: lastLintWorkers,
    findings: parsed.findings.length,
    fixable: parsed.summary.fixable,
    objects: parsed.objects.length,
    parseErrors: parsed.parseErrors.length,
    outputBytes: output.reduce((bytes, json) => bytes + json.length, 0),
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
    self.postMessage({ id, result, ms: performance.now() - started });
    // What the lint built is freed after the result is posted: the page need not wait for it.
    release();
  } catch (error) {
    // A panic in the wasm (which must not happen) or a bug here: report, keep the page usable.
    self.postMessage({ id, error: String(error?.message ?? error) });
  }
};
