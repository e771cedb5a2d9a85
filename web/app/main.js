// The playground page: wires the editor, the linter worker, the findings list, the settings panel,
// examples, share links and reports together. Nothing leaves the browser (see the CSP in index.html).
import { ChangeSet } from '@codemirror/state';

import { LinterClient } from './client.js';
import { applyTextDiff, createEditor, replaceDocument, revealPosition, selectLines, showDiagnostics } from './editor.js';
import { InventoryView } from './inventory-view.js';
import { parsedLint } from './lint-output.js';
import { escapeHtml, renderMarkdown } from './markdown.js';
import { jsonReport, sarifReport } from './report.js';
import { SettingsPanel } from './settings.js';
import { decodeState, encodeState } from './share.js';

/* global __EXAMPLES__, __DOCS_URL__ */
const EXAMPLES = __EXAMPLES__;
/** The examples as one stream, for the workers to warm up on (see worker.js). */
const WARM_UP_SAMPLE = EXAMPLES.filter((e) => e.id !== 'helm-template')
  .map((e) => `---\n${e.text.trim()}\n`)
  .join('');
const DOCS_URL = __DOCS_URL__;
const DEFAULT_EXAMPLE = 'checkout-api';
/** The findings list shows this many at first; more on request (a 5 MB paste can have thousands). */
const LIST_PAGE = 300;
/**
 * Up to this size (UTF-16 units) each lint also computes every fix as a text edit; above it,
 * "Fix" asks the worker to fix that finding by id, which keeps relinting big pastes fast.
 */
const TEXT_EDITS_UP_TO = 256 * 1024;
/** Chromium opens URLs up to 2 MB; other browsers less. Longer share links are refused. */
const MAX_SHARE_URL = 1_500_000;

const $ = (selector) => document.querySelector(selector);

const state = {
  client: null,
  view: null,
  settingsPanel: null,
  rules: [],
  rulesById: new Map(),
  version: '',
  fileName: 'manifest.yaml',
  /** Increments on every document change. */
  docVersion: 0,
  lintTimer: 0,
  /** Lints in flight, each with the changes made to the document since its text was taken. */
  tracking: new Set(),
  /** Fixes the worker is computing: the page is not idle until their text is in the editor. */
  fixesInFlight: 0,
  /** The newest lint result and what it was computed on. */
  last: null,
  listLimit: LIST_PAGE,
  sharedHashApplied: '',
  /** The Inventory tab's view; its output is computed only while the tab is shown. */
  inventoryView: null,
  /** The newest inventory: `{version, settingsJson, output, changes}` (changes made since its text). */
  inventory: null,
  /** The inventory being computed: `{version, settingsJson, changes}`. */
  inventoryJob: null,
  /** An inventory is being computed; `inventoryAgain`: the text changed meanwhile. */
  inventoryRunning: false,
  inventoryAgain: false,
};

// ------------------------------------------------------------------------------------------------
// Small UI helpers

let toastTimer = 0;
function toast(message, kind = 'info') {
  const node = $('#toast');
  node.textContent = message;
  node.className = `toast visible ${kind}`;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (node.className = 'toast'), 3500);
}

function setStatus(text, kind = '') {
  const node = $('#status');
  node.textContent = text;
  node.dataset.kind = kind;
}

async function copyText(text, what) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Clipboard API refused (permissions, insecure origin): the old way.
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.append(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) {
      toast(`Could not copy ${what}: the browser refused access to the clipboard`, 'error');
      return false;
    }
  }
  toast(`Copied ${what}`);
  return true;
}

function download(name, mime, content) {
  const url = URL.createObjectURL(new Blob([content], { type: mime }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

const plural = (n, word) => `${n} ${word}${n === 1 ? '' : 's'}`;

// ------------------------------------------------------------------------------------------------
// Linting

function lintDelay(length) {
  // Short while typing small manifests; longer for big pastes so keystrokes do not queue lints.
  if (length < 100_000) return 150;
  if (length < 1_000_000) return 300;
  return 600;
}

function onDocChanged(update) {
  state.docVersion += 1;
  for (const job of state.tracking) job.changes = job.changes.compose(update.changes);
  for (const job of [state.inventory, state.inventoryJob]) if (job) job.changes = job.changes.compose(update.changes);
  const isFix = update.transactions.some((tr) => tr.isUserEvent('input.fix'));
  // Once edited, the text is no longer the example the menu names.
  if (update.transactions.some((tr) => ['input', 'delete', 'move', 'undo', 'redo'].some((event) => tr.isUserEvent(event)))) {
    $('#examples').value = '';
  }
  scheduleLint(isFix ? 0 : lintDelay(update.state.doc.length));
}

function scheduleLint(delay) {
  clearTimeout(state.lintTimer);
  state.lintTimer = setTimeout(runLint, delay);
}

async function runLint() {
  state.lintTimer = 0;
  const text = state.view.state.doc.toString();
  const job = { version: state.docVersion, text, changes: ChangeSet.empty(text.length), settingsJson: state.settingsPanel.json };
  state.tracking.add(job);
  setStatus('Linting…', 'busy');
  let response;
  try {
    response = await state.client.lint(text, job.settingsJson, text.length <= TEXT_EDITS_UP_TO);
  } catch (error) {
    state.tracking.delete(job);
    setStatus(`The linter failed: ${error.message}`, 'error');
    return;
  }
  state.tracking.delete(job);
  if (!response) return; // superseded by a newer lint
  state.last = { ...job, result: response.result, ms: response.ms };
  render();
  if (inventoryShown()) updateInventory();
}

function isCurrent() {
  return state.last && state.last.version === state.docVersion && state.last.settingsJson === state.settingsPanel.json;
}

function mapper(job) {
  return job.changes.empty ? null : (pos) => job.changes.mapPos(pos, 1);
}

// ------------------------------------------------------------------------------------------------
// Rendering a result

function render() {
  const { result, ms } = state.last;
  const map = mapper(state.last);
  if (result.inputError) {
    showDiagnostics(state.view, { result: { findings: [], parseErrors: [] }, map, fixAction: fixFinding });
    renderList(result, map);
    setStatus(result.inputError, 'error');
    return;
  }
  showDiagnostics(state.view, { result, map, fixAction: fixFinding });
  renderSummary(result);
  renderList(result, map);
  const docs = new Set(result.objects.map((o) => o.document)).size;
  setStatus(`${plural(result.objects.length, 'object')} in ${plural(docs, 'document')} linted in ${ms.toFixed(1)} ms`, result.parseErrors.length ? 'warn' : 'ok');
  $('#settings-banner').hidden = !result.settingsError;
  $('#settings-banner').textContent = result.settingsError ? `Settings not applied (linted with the defaults): ${result.settingsError}` : '';
  const fixable = result.findings.filter((f) => f.fix).length;
  $('#fix-all').disabled = fixable === 0;
  $('#fix-all').textContent = fixable ? `Fix all (${fixable})` : 'Fix all';
}

function renderSummary(result) {
  const s = result.summary;
  const chips = [
    ['deny', s.deny, 'deny'],
    ['warn', s.warn, 'warn'],
    ['yaml', s.parseErrors, s.parseErrors === 1 ? 'input problem' : 'input problems'],
    ['exempt', s.exempted, 'exempted'],
  ];
  const summary = $('#summary');
  summary.replaceChildren();
  for (const [kind, count, label] of chips) {
    if (kind !== 'deny' && kind !== 'warn' && count === 0) continue;
    const chip = document.createElement('span');
    chip.className = `chip ${kind}${count === 0 ? ' zero' : ''}`;
    chip.textContent = `${count} ${label}`;
    summary.append(chip);
  }
  if (s.deny + s.warn + s.parseErrors === 0 && result.objects.length) {
    const ok = document.createElement('span');
    ok.className = 'chip clean';
    ok.textContent = 'No findings';
    summary.append(ok);
  }
}

function lineOf(span, map) {
  if (!map) return span.line;
  return state.view.state.doc.lineAt(Math.min(map(span.from), state.view.state.doc.length)).number;
}

function renderList(result, map) {
  const list = $('#findings');
  list.replaceChildren();
  const entries = [
    ...result.parseErrors.map((error) => ({ kind: 'yaml', error, from: error.span.from })),
    ...result.findings.map((finding) => ({ kind: 'finding', finding, from: finding.span.from })),
  ].sort((a, b) => a.from - b.from);
  if (result.inputError) {
    list.append(emptyState(result.inputError));
    return;
  }
  if (!entries.length) {
    list.append(emptyState(result.objects.length ? 'Nothing to report: no finding at the current settings.' : 'Paste Kubernetes manifests in the editor, or pick an example.'));
  }
  for (const entry of entries.slice(0, state.listLimit)) {
    list.append(entry.kind === 'yaml' ? yamlErrorItem(entry.error, map) : findingItem(entry.finding, map));
  }
  if (entries.length > state.listLimit) {
    const more = document.createElement('li');
    more.className = 'more';
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary';
    button.textContent = `Show ${Math.min(LIST_PAGE, entries.length - state.listLimit)} more of ${entries.length - state.listLimit} remaining`;
    button.addEventListener('click', () => {
      state.listLimit += LIST_PAGE;
      renderList(result, map);
    });
    more.append(button);
    list.append(more);
  }
  const exemptions = $('#exemptions');
  exemptions.hidden = result.exemptions.length === 0;
  $('#exemptions-count').textContent = plural(result.exemptions.length, 'exempted finding');
  const exemptList = $('#exemptions-list');
  exemptList.replaceChildren();
  for (const exemption of result.exemptions.slice(0, LIST_PAGE)) {
    const item = document.createElement('li');
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'link';
    button.textContent = `line ${lineOf(exemption.span, map)}`;
    button.addEventListener('click', () => revealPosition(state.view, map ? map(exemption.span.from) : exemption.span.from));
    item.append(button, ` ${exemption.ruleId} · ${objectLabel(exemption.object)} — ${exemption.reason}`);
    exemptList.append(item);
  }
}

function emptyState(text) {
  const item = document.createElement('li');
  item.className = 'empty';
  item.textContent = text;
  return item;
}

function objectLabel(object) {
  return `${object.kind} ${object.namespace ? `${object.namespace}/` : ''}${object.name}`;
}

function yamlErrorItem(error, map) {
  const item = document.createElement('li');
  item.className = 'finding level-yaml';
  const jump = document.createElement('button');
  jump.type = 'button';
  jump.className = 'finding-main';
  const line = lineOf(error.span, map);
  jump.setAttribute('aria-label', `YAML syntax error on line ${line}: ${error.message}. Go to line ${line}.`);
  const where = error.document === null ? 'The input could not be read' : `Syntax error in document ${error.document + 1}`;
  jump.innerHTML = `<span class="finding-head"><span class="badge yaml">YAML</span><span class="rule-title">${where}</span><span class="line">line ${line}</span></span><span class="message"></span>`;
  jump.querySelector('.message').textContent = error.message;
  jump.addEventListener('click', () => revealPosition(state.view, map ? map(error.span.from) : error.span.from));
  item.append(jump);
  return item;
}

function findingItem(finding, map) {
  const rule = state.rulesById.get(finding.ruleId);
  const item = document.createElement('li');
  item.className = `finding level-${finding.level}`;
  item.dataset.id = finding.id;
  item.dataset.rule = finding.ruleId;
  const line = lineOf(finding.span, map);
  item.dataset.line = String(line);

  const jump = document.createElement('button');
  jump.type = 'button';
  jump.className = 'finding-main';
  jump.setAttribute('aria-label', `${finding.level} ${finding.ruleId} on line ${line}: ${finding.message}. Go to line ${line}.`);
  jump.innerHTML = `<span class="finding-head"><span class="badge ${finding.level}">${finding.level}</span><span class="rule-id"></span><span class="rule-title"></span><span class="line">line ${line}</span></span><span class="message"></span><span class="where"></span>`;
  jump.querySelector('.rule-id').textContent = finding.ruleId;
  jump.querySelector('.rule-title').textContent = rule?.title ?? finding.title;
  jump.querySelector('.message').textContent = finding.message;
  jump.querySelector('.where').textContent = `${objectLabel(finding.object)} · ${finding.path || '(object)'}`;
  jump.addEventListener('click', () => revealPosition(state.view, map ? map(finding.span.from) : finding.span.from));
  item.append(jump);

  const actions = document.createElement('div');
  actions.className = 'finding-actions';
  if (finding.fix) {
    const fix = document.createElement('button');
    fix.type = 'button';
    fix.className = 'fix';
    fix.textContent = 'Fix';
    fix.title = finding.fix.description;
    fix.setAttribute('aria-label', `Fix ${finding.ruleId} on line ${line}: ${finding.fix.description}`);
    fix.addEventListener('click', () => fixFinding(finding));
    const description = document.createElement('span');
    description.className = 'fix-description';
    description.textContent = finding.fix.description;
    actions.append(fix, description);
  }
  const explainId = `explain-${finding.id.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const why = document.createElement('button');
  why.type = 'button';
  why.className = 'why secondary';
  why.textContent = 'Why?';
  why.setAttribute('aria-expanded', 'false');
  why.setAttribute('aria-controls', explainId);
  const explain = document.createElement('div');
  explain.className = 'explain';
  explain.id = explainId;
  explain.hidden = true;
  why.addEventListener('click', () => {
    const open = explain.hidden;
    if (open && !explain.childElementCount) explain.append(...explanation(finding, rule));
    explain.hidden = !open;
    why.setAttribute('aria-expanded', String(open));
    why.textContent = open ? 'Hide' : 'Why?';
  });
  actions.append(why);
  item.append(actions, explain);
  return item;
}

/** The rule's documentation, from the same metadata as docs/rules.md. */
function explanation(finding, rule) {
  const nodes = [];
  const docs = document.createElement('div');
  docs.className = 'docs';
  docs.innerHTML = renderMarkdown(rule?.documentation ?? finding.remediation);
  nodes.push(docs);
  const remediation = document.createElement('p');
  remediation.className = 'remediation';
  remediation.innerHTML = `<strong>How to fix:</strong> ${escapeHtml(finding.remediation)}`;
  nodes.push(remediation);
  if (rule?.references?.length) {
    const refs = document.createElement('ul');
    refs.className = 'references';
    for (const reference of rule.references) {
      const li = document.createElement('li');
      li.textContent = reference;
      refs.append(li);
    }
    nodes.push(refs);
  }
  if (rule?.peers?.length) {
    const peers = document.createElement('p');
    peers.className = 'peers';
    peers.textContent = `Similar checks elsewhere: ${rule.peers.join(', ')}`;
    nodes.push(peers);
  }
  const link = document.createElement('a');
  link.href = `${DOCS_URL}#${finding.docsAnchor}`;
  link.target = '_blank';
  link.rel = 'noopener noreferrer';
  link.className = 'docs-link';
  link.textContent = `docs/rules.md#${finding.docsAnchor}`;
  const p = document.createElement('p');
  p.append('Full rule documentation: ', link);
  nodes.push(p);
  return nodes;
}

// ------------------------------------------------------------------------------------------------
// Inventory: computed by the worker on the text the last lint read, while the tab is shown

const inventoryShown = () => !$('#inventory-panel').hidden;

function inventoryIsCurrent() {
  return state.inventory && state.inventory.version === state.docVersion && state.inventory.settingsJson === state.settingsPanel.json;
}

/**
 * Computes the inventory of the current text, one at a time: a call meanwhile (the text was
 * linted again) runs it once more when it is done.
 */
async function updateInventory() {
  if (state.inventoryRunning) {
    state.inventoryAgain = true;
    return;
  }
  state.inventoryRunning = true;
  try {
    do {
      state.inventoryAgain = false;
      const text = state.view.state.doc.toString();
      // Changes made while the worker computes are composed onto the job (onDocChanged).
      const job = { version: state.docVersion, settingsJson: state.settingsPanel.json, changes: ChangeSet.empty(text.length) };
      state.inventoryJob = job;
      let output;
      try {
        const { result } = await state.client.request('inventory', { text, settings: job.settingsJson });
        output = JSON.parse(result);
      } catch (error) {
        output = { inputError: `The inventory could not be computed: ${error.message}`, rows: [], graph: { nodes: [], edges: [] }, spans: {} };
      }
      state.inventoryJob = null;
      state.inventory = { ...job, output };
      state.inventoryView.render(output);
    } while (state.inventoryAgain);
  } finally {
    state.inventoryRunning = false;
  }
}

/** Selects object `objectIndex`'s lines in the editor, as they are now. */
function selectInventoryObject(objectIndex, span) {
  const changes = state.inventory?.changes;
  const map = changes && !changes.empty ? (pos) => changes.mapPos(pos, 1) : (pos) => pos;
  selectLines(state.view, map(span.from), map(span.to));
}

function downloadInventory(kind) {
  const output = state.inventory?.output;
  if (!output || output.inputError) {
    toast('There is no inventory to download yet', 'error');
    return;
  }
  if (kind === 'svg') {
    if (!state.inventoryView.svg) return toast('There is no graph: no ServiceAccount in these manifests', 'error');
    download('sa-guard-inventory.svg', 'image/svg+xml', `${state.inventoryView.svg}\n`);
  } else if (kind === 'json') {
    download('sa-guard-inventory.json', 'application/json', output.json);
  } else {
    download('sa-guard-inventory.md', 'text/markdown', output.markdown);
  }
}

/** The Findings | Inventory tabs (WAI-ARIA tabs: arrow keys, Home and End move and select). */
function setUpResultTabs() {
  const tabs = [...document.querySelectorAll('.result-tabs [role="tab"]')];
  const show = (tab, { focus = false } = {}) => {
    for (const other of tabs) {
      const selected = other === tab;
      other.setAttribute('aria-selected', String(selected));
      other.tabIndex = selected ? 0 : -1;
      $(`#${other.getAttribute('aria-controls')}`).hidden = !selected;
    }
    $('.layout').classList.toggle('inventory-open', tab.id === 'tab-inventory');
    if (focus) tab.focus();
    if (tab.id === 'tab-inventory' && !inventoryIsCurrent() && state.last) updateInventory();
  };
  for (const tab of tabs) {
    tab.addEventListener('click', () => show(tab));
    tab.addEventListener('keydown', (event) => {
      const at = tabs.indexOf(tab);
      const next = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[event.key];
      if (next === undefined) return;
      event.preventDefault();
      show(tabs[(next + tabs.length) % tabs.length], { focus: true });
    });
  }
}

// ------------------------------------------------------------------------------------------------
// Fixes

/** Runs a fix that asks the worker for the fixed text, counted in `fixesInFlight` until it is applied. */
async function whileFixing(task) {
  state.fixesInFlight++;
  try {
    return await task();
  } finally {
    state.fixesInFlight--;
  }
}

async function fixFinding(finding) {
  const edit = finding.fix?.edit;
  if (isCurrent() && edit) {
    state.view.dispatch({ changes: { from: edit.from, to: edit.to, insert: edit.insert }, userEvent: 'input.fix', scrollIntoView: true });
    toast(`Fixed ${finding.ruleId}: ${finding.fix.description}`);
    return;
  }
  // The document changed since this finding was computed: fix by id on the current text.
  await whileFixing(async () => {
    const text = state.view.state.doc.toString();
    const { result } = await state.client.request('fix', { text, settings: state.settingsPanel.json, selection: [finding.id] });
    if (result.error) return toast(result.error, 'error');
    if (!result.applied.length) return toast('The manifest changed since this finding; it is being relinted.', 'error');
    applyTextDiff(state.view, result.text);
    toast(`Fixed ${finding.ruleId}: ${finding.fix.description}`);
  });
}

async function fixedText() {
  const text = state.view.state.doc.toString();
  const { result } = await state.client.request('fix', { text, settings: state.settingsPanel.json, selection: 'all' });
  if (result.error) throw new Error(result.error);
  return { text: result.text, applied: result.applied.length };
}

async function fixAll() {
  await whileFixing(async () => {
    try {
      const { text, applied } = await fixedText();
      if (applyTextDiff(state.view, text)) toast(`Applied ${plural(applied, 'fix')}; undo with Ctrl+Z`);
      else toast('Nothing to fix');
    } catch (error) {
      toast(error.message, 'error');
    }
  });
}

async function copyFixed() {
  try {
    const { text, applied } = await fixedText();
    await copyText(text, `the YAML with ${plural(applied, 'fix')} applied`);
  } catch (error) {
    toast(error.message, 'error');
  }
}

// ------------------------------------------------------------------------------------------------
// Share links and reports

async function share() {
  const fragment = await encodeState({ text: state.view.state.doc.toString(), settings: state.settingsPanel.value });
  state.sharedHashApplied = `#${fragment}`;
  history.replaceState(null, '', `${location.pathname}${location.search}#${fragment}`);
  const url = location.href;
  const kb = (url.length / 1024).toFixed(1);
  if (url.length > MAX_SHARE_URL) {
    toast(`The link would be ${kb} KB, too long for browsers to open; download a report or share the file instead.`, 'error');
    return;
  }
  const copied = await copyText(url, `the share link (${kb} KB; the manifest is in the link, nothing is uploaded)`);
  if (!copied) toast(`Share link is in the address bar (${kb} KB)`);
}

async function restoreFromHash() {
  if (!location.hash || location.hash === state.sharedHashApplied) return false;
  try {
    const shared = await decodeState(location.hash);
    if (!shared) return false;
    state.sharedHashApplied = location.hash;
    await state.settingsPanel.set(shared.settings);
    replaceDocument(state.view, shared.text);
    $('#examples').value = '';
    toast('Loaded the shared manifest and settings');
    return true;
  } catch (error) {
    toast(`This share link could not be read: ${error.message}`, 'error');
    return false;
  }
}

/** The newest result, with text edits (large pastes are linted without them while typing). */
async function currentReportInput() {
  if (!state.last) return null;
  let { result, text, settingsJson } = state.last;
  if (result.findings.some((f) => f.fix && !f.fix.edit && !f.fix.editError)) {
    ({ result } = await state.client.lintOnce(text, settingsJson, true));
  }
  return { version: state.version, fileName: state.fileName, settings: JSON.parse(settingsJson), result, text, rules: state.rules, docsUrl: DOCS_URL };
}

async function downloadJson() {
  const input = await currentReportInput();
  if (!input) return;
  download('sa-guard-report.json', 'application/json', `${JSON.stringify(jsonReport(input), null, 2)}\n`);
}

async function downloadSarif() {
  const input = await currentReportInput();
  if (!input) return;
  download('sa-guard.sarif', 'application/sarif+json', `${JSON.stringify(sarifReport(input), null, 2)}\n`);
}

// ------------------------------------------------------------------------------------------------
// Examples and files

function fillExamples() {
  const select = $('#examples');
  const groups = new Map();
  for (const example of EXAMPLES) {
    if (!groups.has(example.group)) {
      const group = document.createElement('optgroup');
      group.label = example.group;
      groups.set(example.group, group);
      select.append(group);
    }
    const option = document.createElement('option');
    option.value = example.id;
    option.textContent = example.title;
    groups.get(example.group).append(option);
  }
  select.addEventListener('change', () => {
    const example = EXAMPLES.find((e) => e.id === select.value);
    if (!example) return;
    loadText(example.text, `${example.id.replace(/^bad\//, '')}.yaml`);
  });
}

function loadText(text, fileName) {
  state.fileName = fileName;
  state.listLimit = LIST_PAGE;
  replaceDocument(state.view, text);
}

function setUpFileInput() {
  const input = $('#file-input');
  $('#open-file').addEventListener('click', () => input.click());
  input.addEventListener('change', async () => {
    const file = input.files?.[0];
    if (!file) return;
    loadText(await file.text(), file.name);
    $('#examples').value = '';
    input.value = '';
  });
}

// ------------------------------------------------------------------------------------------------
// Start

function setUpSettingsToggle() {
  const button = $('#toggle-settings');
  const panel = $('#settings');
  button.addEventListener('click', () => {
    const open = panel.hidden;
    panel.hidden = !open;
    button.setAttribute('aria-expanded', String(open));
    if (open) panel.querySelector('select, input, textarea')?.focus();
  });
  panel.addEventListener('keydown', (event) => {
    if (event.key === 'Escape') {
      panel.hidden = true;
      button.setAttribute('aria-expanded', 'false');
      button.focus();
    }
  });
  panel.addEventListener('copy-settings', (event) => copyText(event.detail, 'the settings JSON'));
}

async function main() {
  fillExamples();
  const initial = EXAMPLES.find((e) => e.id === DEFAULT_EXAMPLE) ?? EXAMPLES[0];
  state.view = createEditor($('#editor'), { text: '', onDocChanged });
  state.client = new LinterClient(new URL('./worker.js', import.meta.url));
  setStatus('Loading the linter…', 'busy');
  let info;
  try {
    ({ result: info } = await state.client.init({ warmUpSample: WARM_UP_SAMPLE }));
  } catch (error) {
    setStatus(`The linter could not be loaded: ${error.message}`, 'error');
    return;
  }
  state.version = info.version;
  state.rules = info.rules;
  state.rulesById = new Map(info.rules.map((rule) => [rule.id, rule]));
  $('#version').textContent = `v${info.version} · ${info.rules.length} rules`;
  state.settingsPanel = new SettingsPanel($('#settings-body'), {
    rules: info.rules,
    defaults: info.defaultSettings,
    validate: async (json) => (await state.client.request('validateSettings', { settings: json })).result,
    onChange: () => scheduleLint(0),
  });
  setUpSettingsToggle();
  setUpFileInput();
  $('#fix-all').addEventListener('click', fixAll);
  $('#copy-fixed').addEventListener('click', copyFixed);
  $('#share').addEventListener('click', share);
  $('#download-json').addEventListener('click', downloadJson);
  $('#download-sarif').addEventListener('click', downloadSarif);
  state.inventoryView = new InventoryView(
    { status: $('#inventory-status'), tableBody: $('#inventory-rows'), graph: $('#inventory-graph') },
    { select: selectInventoryObject },
  );
  setUpResultTabs();
  $('#inventory-svg').addEventListener('click', () => downloadInventory('svg'));
  $('#inventory-json').addEventListener('click', () => downloadInventory('json'));
  $('#inventory-markdown').addEventListener('click', () => downloadInventory('markdown'));
  window.addEventListener('hashchange', restoreFromHash);

  if (!(await restoreFromHash()) && initial) {
    $('#examples').value = initial.id;
    loadText(initial.text, `${initial.id}.yaml`);
  }
  scheduleLint(0);
}

// For the browser tests and the benchmark: a read-only view of the page's state.
window.saGuard = {
  get view() {
    return state.view;
  },
  get result() {
    return state.last?.result ?? null;
  },
  idle: () =>
    Boolean(
      state.client &&
        !state.lintTimer &&
        state.tracking.size === 0 &&
        state.fixesInFlight === 0 &&
        isCurrent() &&
        (!inventoryShown() || (!state.inventoryRunning && inventoryIsCurrent())),
    ),
  // `parts`: how many workers to lint in (undefined: as the page does; 1: one worker alone).
  bench: (text, runs, textEdits = true, parts = undefined) => state.client.request('bench', { text, settings: state.settingsPanel.json, runs, textEdits, parts }),
  // Any worker operation (the tests send an unknown one to fail the worker and see it replaced).
  request: (op, args) => state.client.request(op, args).then(({ result }) => result),
  // The lint's result as JSON, the parts' outputs joined here as every lint's are, and how many
  // workers read it.
  lintJson: async (text, parts) => {
    const { outputs, workers } = (await state.client.request('lintJson', { text, settings: state.settingsPanel.json, parts })).result;
    return { json: JSON.stringify(parsedLint(outputs)), workers };
  },
  lintRoundTrip: async (text, textEdits = true) => {
    const started = performance.now();
    const response = await state.client.lintOnce(text, state.settingsPanel.json, textEdits);
    return { ms: performance.now() - started, workerMs: response.ms, findings: response.result.findings.length };
  },
};

main();
