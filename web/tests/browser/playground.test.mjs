// The playground in headless Chromium, used as a person would: paste, read the findings, click.
import assert from 'node:assert/strict';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { EXAMPLES, editorText, launch, openPlayground, pasteIntoEditor, serveDist, waitIdle } from './harness.mjs';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const checkoutApi = await readFile(join(EXAMPLES, 'checkout-api.yaml'), 'utf8');

/** 1-based number of the first line of `text` that equals `content` (trimmed), after `fromLine`. */
function lineOf(text, content, fromLine = 1) {
  const lines = text.split('\n');
  for (let i = fromLine - 1; i < lines.length; i++) if (lines[i].trim() === content) return i + 1;
  throw new Error(`no line "${content}"`);
}

/** The editor's line (1-based) where the cursor is. */
const cursorLine = (page) => page.evaluate(() => window.saGuard.view.state.doc.lineAt(window.saGuard.view.state.selection.main.head).number);

/** Line numbers (1-based) that carry a lint gutter marker of `severity`. */
async function gutterMarkerLines(page, severity) {
  return page.evaluate((kind) => {
    const view = window.saGuard.view;
    const lines = [];
    for (const marker of document.querySelectorAll(`.cm-gutter-lint .cm-lint-marker-${kind}`)) {
      const element = marker.closest('.cm-gutterElement');
      const block = view.lineBlockAtHeight(element.getBoundingClientRect().top - view.documentTop + 1);
      lines.push(view.state.doc.lineAt(block.from).number);
    }
    return lines;
  }, severity);
}

/** About `bytes` of the lesson's examples, repeated with unique names (a large `helm template`). */
async function largePaste(bytes) {
  const examples = (await readdir(EXAMPLES)).filter((f) => f.endsWith('.yaml')).sort();
  const sources = await Promise.all(examples.map((f) => readFile(join(EXAMPLES, f), 'utf8')));
  const parts = [];
  for (let size = 0, copy = 0; size < bytes; copy++) {
    for (const source of sources) {
      const part = `---\n${source.replace(/\bname: ([a-z0-9-]+)/g, (all, name) => (name === 'default' ? all : `name: ${name}-${copy}`))}\n`;
      parts.push(part);
      size += part.length;
    }
  }
  return parts.join('');
}

let server;
let browser;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  server = await serveDist();
  browser = await launch();
  await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url.replace(/\/$/, '') });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('the playground', () => {
  test('loads offline from the static files alone, with the lesson example linted', async () => {
    const { page, errors } = await openPlayground(browser.context, server.url);
    const served = new Set(server.requests);
    for (const path of served) assert.match(path, /^\/(index\.html|main\.js|worker\.js|style\.css|favicon\.svg|sa_guard_web_bg\.wasm)?$/, `unexpected request ${path}`);
    assert.ok(served.has('/sa_guard_web_bg.wasm'));
    assert.equal(await editorText(page), checkoutApi);
    assert.equal(await page.locator('#examples').inputValue(), 'checkout-api');
    assert.ok((await page.locator('#findings li.finding').count()) > 0, 'the checkout-api example has findings');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('paste checkout-api: SAG001 on the ServiceAccount line, Fix removes it', async () => {
    const { page, errors } = await openPlayground(browser.context, server.url);
    await pasteIntoEditor(page, '');
    await waitIdle(page);
    assert.equal(await page.locator('#findings li.finding').count(), 0);
    await pasteIntoEditor(page, checkoutApi);
    await waitIdle(page);

    const expectedLine = lineOf(checkoutApi, 'apiVersion: v1');
    const item = page.locator('#findings li.finding[data-rule="SAG001"]');
    assert.equal(await item.count(), 1);
    assert.equal(await item.getAttribute('data-line'), String(expectedLine));
    assert.match(await item.locator('.message').innerText(), /^the default ServiceAccount does not set automountServiceAccountToken, so every Pod in namespace production/);
    assert.ok((await gutterMarkerLines(page, 'error')).includes(expectedLine), 'a gutter mark on the line');
    assert.ok(await page.locator('.cm-lintRange-error').count() > 0, 'an underline in the text');

    // Clicking the entry moves the cursor to the line.
    await page.evaluate(() => window.saGuard.view.dispatch({ selection: { anchor: window.saGuard.view.state.doc.length } }));
    await item.locator('.finding-main').click();
    assert.equal(await cursorLine(page), expectedLine);

    // The explanation comes from the rule's metadata and links to docs/rules.md.
    await item.locator('button.why').click();
    const explain = item.locator('.explain');
    assert.match(await explain.innerText(), /Every namespace has a default ServiceAccount/);
    assert.match(await explain.locator('a.docs-link').getAttribute('href'), /docs\/rules\.md#sag001-default-sa-automount$/);
    assert.match(await explain.locator('.remediation').innerText(), /^How to fix: Set automountServiceAccountToken: false on the default ServiceAccount/);

    await item.locator('button.fix').click();
    await waitIdle(page);
    assert.equal(await page.locator('#findings li.finding[data-rule="SAG001"]').count(), 0);
    const fixed = await editorText(page);
    assert.match(fixed, /automountServiceAccountToken: false/);
    // Comments of the example survive the fix.
    assert.match(fixed, /# Created automatically in every namespace/);
    // Undo brings the finding back.
    await page.click('.cm-content');
    await page.keyboard.press('ControlOrMeta+z');
    await waitIdle(page);
    assert.equal(await editorText(page), checkoutApi);
    assert.equal(await page.locator('#findings li.finding[data-rule="SAG001"]').count(), 1);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('Fix all leaves no fixable finding and copy gives the fixed YAML', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    await page.selectOption('#examples', 'helm-template');
    await waitIdle(page);
    assert.ok(await page.locator('#fix-all').isEnabled());
    await page.click('#fix-all');
    await waitIdle(page);
    assert.equal(await page.locator('#findings button.fix').count(), 0);
    assert.ok(await page.locator('#fix-all').isDisabled());
    await page.click('#copy-fixed');
    // The copy is asynchronous (the worker computes the fixed text first): wait for its toast.
    await page.waitForFunction(() => document.querySelector('#toast').textContent.startsWith('Copied the YAML'));
    const clipboard = await page.evaluate(() => navigator.clipboard.readText());
    assert.equal(clipboard, await editorText(page));
    await page.close();
  });

  test('a settings change turns a deny into a warning, and bad settings get the policy message', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    const item = page.locator('#findings li.finding[data-rule="SAG001"]');
    assert.equal(await item.getAttribute('class'), 'finding level-deny');
    await page.click('#toggle-settings');
    assert.equal(await page.getAttribute('#toggle-settings', 'aria-expanded'), 'true');
    await page.selectOption('#level-SAG001', 'warn');
    await waitIdle(page);
    assert.equal(await item.getAttribute('class'), 'finding level-warn');
    assert.equal(await item.locator('.badge').innerText(), 'WARN');
    assert.equal(JSON.parse(await page.inputValue('#settings-json')).rules.SAG001, 'warn');

    await page.fill('#set-max-expiry', '300');
    await page.waitForSelector('.settings-message.error');
    assert.equal(await page.locator('.settings-message').innerText(), 'invalid settings: max_token_expiration_seconds: 300 is below the Kubernetes minimum of 600');
    assert.equal(await page.getAttribute('#set-max-expiry', 'aria-invalid'), 'true');
    await waitIdle(page);
    assert.match(await page.locator('#settings-banner').innerText(), /linted with the defaults/);

    await page.fill('#settings-json', '{"exempt_namespace": ["kube-system"]}');
    await page.waitForFunction(() => document.querySelector('.settings-message').textContent.includes('unknown field `exempt_namespace`'));
    await page.fill('#settings-json', '{}');
    await page.waitForSelector('.settings-message.ok');
    await waitIdle(page);
    assert.equal(await item.getAttribute('class'), 'finding level-deny');
    assert.ok(await page.locator('#settings-banner').isHidden());
    await page.close();
  });

  test('share link round trip restores the manifest and the settings', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    const text = `${checkoutApi}# shared with ünïcödé and 🚀\n`;
    await pasteIntoEditor(page, text);
    await page.click('#toggle-settings');
    await page.selectOption('#level-SAG001', 'off');
    await waitIdle(page);
    await page.click('#share');
    await page.waitForFunction(() => location.hash.startsWith('#s='));
    await page.waitForFunction(() => document.querySelector('#toast').textContent.startsWith('Copied the share link'));
    const url = await page.evaluate(() => location.href);
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), url);
    assert.ok(!url.includes('checkout'), 'the manifest is compressed, not readable in the link');
    await page.close();

    const { page: restored } = await openPlayground(browser.context, url);
    assert.equal(await editorText(restored), text);
    assert.equal(await restored.inputValue('#level-SAG001'), 'off');
    assert.equal(await restored.locator('#findings li.finding[data-rule="SAG001"]').count(), 0);
    await restored.close();
  });

  test('a YAML syntax error is shown on its line and the other documents are still linted', async () => {
    const { page, errors } = await openPlayground(browser.context, server.url);
    const broken = `${checkoutApi}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: broken\ndata:\n  key: [unclosed\n`;
    await pasteIntoEditor(page, broken);
    await waitIdle(page);
    const yamlItem = page.locator('#findings li.level-yaml');
    assert.equal(await yamlItem.count(), 1);
    const line = Number((await yamlItem.locator('.line').innerText()).replace('line ', ''));
    const keyLine = lineOf(broken, 'key: [unclosed');
    assert.ok(line >= keyLine && line <= keyLine + 1, `syntax error reported on line ${line}, expected ${keyLine} or the next`);
    assert.ok((await gutterMarkerLines(page, 'error')).includes(line));
    assert.equal(await page.locator('#findings li.finding[data-rule="SAG001"]').count(), 1, 'the first documents are still linted');

    // The page stays usable: fixing the text clears the error.
    await pasteIntoEditor(page, broken.replace('[unclosed', '[closed]'));
    await waitIdle(page);
    assert.equal(await page.locator('#findings li.level-yaml').count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('every example loads, the lesson ones without YAML errors', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    const options = await page.locator('#examples option').evaluateAll((nodes) => nodes.map((n) => n.value).filter(Boolean));
    for (const id of ['checkout-api', 'order-api', 'payment-processor', 'helm-template']) assert.ok(options.includes(id), `example ${id}`);
    assert.ok(options.some((id) => id.startsWith('bad/')), 'bad examples are listed');
    for (const id of options) {
      await page.selectOption('#examples', id);
      await waitIdle(page);
      const result = await page.evaluate(() => window.saGuard.result);
      assert.deepEqual(result.parseErrors, [], `${id} parses`);
      assert.ok(result.objects.length > 0, `${id} has objects`);
      if (id.startsWith('bad/')) assert.ok(result.findings.length > 0, `${id} is reported`);
    }
    await page.close();
  });

  test('reports download as JSON and SARIF', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    const result = await page.evaluate(() => window.saGuard.result);
    const [jsonDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-json')]);
    const report = JSON.parse(await readFile(await jsonDownload.path(), 'utf8'));
    assert.equal(jsonDownload.suggestedFilename(), 'sa-guard-report.json');
    assert.deepEqual(report.findings, result.findings);
    // Each finding carries its rule's texts (the adapter gives them once per rule).
    for (const finding of report.findings) {
      assert.ok(finding.title && finding.remediation && finding.docsAnchor && finding.ruleSlug, JSON.stringify(finding));
      assert.ok(finding.docsAnchor.startsWith(finding.ruleId.toLowerCase()), finding.docsAnchor);
    }
    const [sarifDownload] = await Promise.all([page.waitForEvent('download'), page.click('#download-sarif')]);
    const sarif = JSON.parse(await readFile(await sarifDownload.path(), 'utf8'));
    assert.equal(sarif.version, '2.1.0');
    const run = sarif.runs[0];
    assert.equal(run.tool.driver.rules.length, 16);
    assert.equal(run.results.length, result.findings.length);
    const first = run.results.find((r) => r.ruleId === 'SAG001');
    const finding = result.findings.find((f) => f.ruleId === 'SAG001');
    assert.equal(first.level, 'error');
    assert.match(first.properties.remediation, /^Set automountServiceAccountToken: false/);
    assert.equal(first.locations[0].physicalLocation.region.startLine, finding.span.line);
    assert.equal(first.fixes[0].artifactChanges[0].replacements[0].insertedContent.text, finding.fix.edit.insert);
    assert.equal(run.tool.driver.rules[first.ruleIndex].id, 'SAG001');
    await page.close();
  });

  test('keyboard only: Tab into the editor, Esc then Tab out to the findings, Enter moves the cursor', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    const line = Number(await page.locator('#findings li.finding[data-rule="SAG001"]').getAttribute('data-line'));
    await page.evaluate(() => window.saGuard.view.dispatch({ selection: { anchor: window.saGuard.view.state.doc.length } }));
    const focused = () => page.evaluate(() => {
      const active = document.activeElement;
      if (active?.classList.contains('cm-content')) return 'editor';
      const item = active?.closest('li.finding');
      return item ? `${item.dataset.rule}:${active.className}` : active?.id || active?.tagName;
    });
    await page.focus('#toggle-settings');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'editor');
    // Tab indents inside the editor; Escape first lets Tab move on.
    await page.keyboard.press('Escape');
    await page.keyboard.press('Tab');
    // The Findings | Inventory tabs come first (one Tab stop: arrow keys move between them).
    assert.equal(await focused(), 'tab-findings');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'SAG001:finding-main');
    await page.keyboard.press('Enter');
    assert.equal(await cursorLine(page), line);
    assert.equal(await focused(), 'editor', 'focus is in the editor, on the line');

    // The skip link goes straight to the findings.
    await page.reload();
    await waitIdle(page);
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'A');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'SAG001:finding-main');
    await page.keyboard.press('Tab');
    assert.equal(await focused(), 'SAG001:fix');
    await page.keyboard.press('Enter');
    await waitIdle(page);
    assert.equal(await page.locator('#findings li.finding[data-rule="SAG001"]').count(), 0, 'Fix works from the keyboard');
    await page.close();
  });

  test('a 5 MB paste never blocks typing', async (t) => {
    const { page } = await openPlayground(browser.context, server.url);
    const big = [];
    for (let size = 0, i = 0; size < 5 * 1024 * 1024; i++) {
      const part = `---\n${checkoutApi.replace(/checkout-api/g, `checkout-api-${i}`)}`;
      big.push(part);
      size += part.length;
    }
    await pasteIntoEditor(page, big.join(''));
    // Type while the worker lints the paste; each keystroke must reach the editor promptly.
    await page.keyboard.press('ControlOrMeta+Home');
    const latencies = [];
    for (const ch of '# typing') {
      const started = Date.now();
      await page.keyboard.type(ch);
      await page.waitForFunction((c) => window.saGuard.view.state.doc.line(1).text.includes(c), ch);
      latencies.push(Date.now() - started);
    }
    t.diagnostic(`keystroke latencies while the worker lints 5 MB: ${latencies.join(', ')} ms`);
    assert.ok(Math.max(...latencies) < 500, `keystroke latencies ${latencies.join(', ')} ms`);
    await waitIdle(page);
    const result = await page.evaluate(() => window.saGuard.result);
    assert.ok(result.objects.length > 5000, `${result.objects.length} objects linted`);
    assert.equal(await page.locator('#findings li.finding').count(), 300, 'the list shows the first page');
    await page.close();
  });

  test('a large paste linted in parts by several workers lints as by one', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    const text = await largePaste(600 * 1024);
    // A syntax error in the last part is that part's; one in the first part makes the parts
    // read differently from the whole, so the first worker lints it alone.
    const cases = [
      { text, inParts: true },
      { text: `${text}---\nkind: [broken\n`, inParts: true },
      { text: `# é — beyond ASCII\n${text.replaceAll('\n---\n', '\r\n---\r\n')}`, inParts: true },
      { text: text.replaceAll('\n---\n', '\r---\r'), inParts: true },
      { text: `---\nkind: [broken\n${text}`, inParts: false },
    ];
    for (const { text: pasted, inParts } of cases) {
      const one = await page.evaluate((t) => window.saGuard.lintJson(t, 1), pasted);
      assert.equal(one.workers, 1);
      const findings = JSON.parse(one.json).findings.length;
      assert.ok(findings > 100, `${findings} findings`);
      for (const parts of [2, 3]) {
        const several = await page.evaluate(({ t, parts }) => window.saGuard.lintJson(t, parts), { t: pasted, parts });
        assert.equal(several.workers, inParts ? parts : 1, `workers asked for ${parts} parts`);
        assert.ok(several.json === one.json, `the same JSON from ${several.workers} workers and from one`);
      }
    }
    // As the page lints while you type: in as many parts as there are cores (here two).
    const typed = await page.evaluate((t) => window.saGuard.lintJson(t), text);
    assert.equal(typed.workers, 2);
    await page.close();
  });

  /**
   * Lints a large text in two parts, runs `fail` (which must fail a worker), and checks that a
   * new worker was started and the text is again linted in two parts, with the same result.
   */
  async function lintsInPartsAgainAfter(fail) {
    const { page } = await openPlayground(browser.context, server.url);
    let workersStarted = 0;
    page.on('worker', () => workersStarted++);
    const text = await largePaste(600 * 1024);
    const before = await page.evaluate((t) => window.saGuard.lintJson(t), text);
    assert.equal(before.workers, 2);
    const startedBefore = workersStarted;
    await fail(page);
    const after = await page.evaluate((t) => window.saGuard.lintJson(t), text);
    assert.ok(workersStarted > startedBefore, 'a new worker was started');
    assert.equal(after.workers, 2, 'the text is linted in two parts again');
    assert.ok(after.json === before.json, 'the same lint as before the failure');
    return page;
  }

  test('a worker replaced after a failure lints in parts again', async () => {
    // An answered error is how a wasm panic reaches the page: the worker is replaced, and only
    // if the new one is sent init again does it have its helper.
    const page = await lintsInPartsAgainAfter(async (page) => {
      const failure = await page.evaluate(() => window.saGuard.request('no-such-operation').then(() => 'answered', (error) => error.message));
      assert.equal(failure, 'unknown operation no-such-operation');
    });
    await waitIdle(page);
    assert.ok((await page.locator('#findings li.finding').count()) > 0, 'the page still lints what is in the editor');
    await page.close();
  });

  test('a helper replaced after a failure lints its part again', async () => {
    const page = await lintsInPartsAgainAfter(async (page) => {
      const failure = await page.evaluate(() => window.saGuard.request('helperRequest', { op: 'no-such-operation' }));
      assert.deepEqual(failure, { error: 'unknown operation no-such-operation' });
    });
    await page.close();
  });

  test('screenshot of the page for a look', async () => {
    const { page } = await openPlayground(browser.context, server.url);
    await page.click('#findings li.finding[data-rule="SAG001"] button.why');
    await page.screenshot({ path: join(ARTIFACTS, 'playground.png') });
    await page.click('#toggle-settings');
    await page.screenshot({ path: join(ARTIFACTS, 'playground-settings.png') });
    await page.close();
  });
});
