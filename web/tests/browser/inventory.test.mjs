// The Inventory tab in headless Chromium: the lesson's ServiceAccounts as a table and a graph,
// reached and used from the keyboard, downloaded, and following the text as it changes.
import assert from 'node:assert/strict';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { EXAMPLES, launch, openPlayground, pasteIntoEditor, serveDist, waitIdle } from './harness.mjs';

const ARTIFACTS = fileURLToPath(new URL('../artifacts/', import.meta.url));
const read = (file) => readFile(join(EXAMPLES, file), 'utf8');
/** The lesson's three manifests as one text, as `helm template` would print them. */
const LESSON = (await Promise.all(['checkout-api.yaml', 'order-api.yaml', 'payment-processor.yaml'].map(read))).map((text) => `---\n${text}\n`).join('');
const CLUSTER_ADMIN = await read('bad/cluster-admin-binding.yaml');
const DEFAULT_SA_EDIT = await read('bad/default-sa-edit.yaml');

const LESSON_ROWS = [
  ['payments/payment-processor-sa', 'false', 'Deployment/payment-processor', 'no (2 audience-bound)', '-', '-'],
  ['production/default', '<unset>', 'Deployment/checkout-api', 'yes', '-', '-'],
  ['production/order-api-sa', '<unset>', 'Deployment/order-api', 'yes', 'Role order-api-role', '-'],
];
const LESSON_NODES = [
  'rb:RoleBinding:production/order-api-binding',
  'role:production/Role order-api-role',
  'sa:payments/payment-processor-sa',
  'sa:production/default',
  'sa:production/order-api-sa',
  'wl:payments/Deployment/payment-processor',
  'wl:production/Deployment/checkout-api',
  'wl:production/Deployment/order-api',
];
const LESSON_EDGES = [
  'rb:RoleBinding:production/order-api-binding→role:production/Role order-api-role',
  'sa:production/order-api-sa→rb:RoleBinding:production/order-api-binding',
  'wl:payments/Deployment/payment-processor→sa:payments/payment-processor-sa',
  'wl:production/Deployment/checkout-api→sa:production/default',
  'wl:production/Deployment/order-api→sa:production/order-api-sa',
];

const tableRows = (page) => page.$$eval('#inventory-rows tr', (rows) => rows.map((row) => [...row.cells].map((cell) => cell.textContent)));
const nodeIds = (page) => page.$$eval('#inventory-graph [data-node-id]', (nodes) => nodes.map((n) => n.dataset.nodeId).sort());
const edges = (page) =>
  page.$$eval('#inventory-graph [data-edge]', (paths) => paths.map((p) => ({ edge: p.dataset.edge, risk: p.getAttribute('class'), stroke: p.getAttribute('stroke') })));
/** The editor's selected text. */
const selection = (page) =>
  page.evaluate(() => {
    const { state } = window.saGuard.view;
    return state.sliceDoc(state.selection.main.from, state.selection.main.to);
  });

/** Opens the playground with `text` in the editor, and the Inventory tab from the keyboard. */
async function openInventory(text) {
  const opened = await openPlayground(browser.context, server.url);
  const { page } = opened;
  await pasteIntoEditor(page, text);
  await waitIdle(page);
  await page.focus('#tab-findings');
  await page.keyboard.press('ArrowRight');
  await waitIdle(page);
  return opened;
}

let server;
let browser;

before(async () => {
  await mkdir(ARTIFACTS, { recursive: true });
  server = await serveDist();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.close();
});

describe('the Inventory tab', () => {
  test('is an ARIA tab beside Findings, moved to with the arrow keys', async () => {
    const { page, errors } = await openPlayground(browser.context, server.url);
    const selected = () => page.$$eval('[role="tab"]', (tabs) => tabs.map((t) => [t.id, t.getAttribute('aria-selected'), t.tabIndex]));
    assert.deepEqual(await selected(), [['tab-findings', 'true', 0], ['tab-inventory', 'false', -1]]);
    assert.equal(await page.locator('#inventory-panel').isHidden(), true);
    await page.focus('#tab-findings');
    await page.keyboard.press('ArrowRight');
    assert.deepEqual(await selected(), [['tab-findings', 'false', -1], ['tab-inventory', 'true', 0]]);
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-inventory');
    assert.equal(await page.locator('#findings-panel').isHidden(), true);
    assert.equal(await page.locator('#inventory-panel').isVisible(), true);
    await waitIdle(page);
    // The page's own example, checkout-api, is inventoried as soon as the tab shows.
    assert.deepEqual(await tableRows(page), [['production/default', '<unset>', 'Deployment/checkout-api', 'yes', '-', '-']]);
    await page.keyboard.press('End');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-inventory');
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-findings', 'wraps around');
    assert.equal(await page.locator('#findings-panel').isVisible(), true);
    await page.keyboard.press('ArrowLeft');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-inventory');
    await page.keyboard.press('Home');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'tab-findings');
    assert.deepEqual(errors, []);
    await page.close();
  });

  test("the lesson's manifests: rows, nodes and edges, and a screenshot", async () => {
    const { page, errors } = await openInventory(LESSON);
    assert.deepEqual(await tableRows(page), LESSON_ROWS);
    assert.equal(await page.locator('#inventory-status').textContent(), '3 ServiceAccounts');
    assert.deepEqual(await nodeIds(page), LESSON_NODES);
    const drawn = await edges(page);
    assert.deepEqual(drawn.map((e) => e.edge).sort(), LESSON_EDGES);
    for (const e of drawn) assert.deepEqual([e.risk, e.stroke], ['edge risk-none', '#607d8b'], e.edge);
    // Every edge ends on the nodes it names.
    const ends = await page.$$eval('#inventory-graph [data-edge]', (paths) =>
      paths.map((p) => {
        const box = (id) => document.querySelector(`[data-node-id="${CSS.escape(id)}"] rect`).getBBox();
        const { x, y } = p.getPointAtLength(0);
        const end = p.getPointAtLength(p.getTotalLength());
        const [from, to] = [box(p.dataset.from), box(p.dataset.to)];
        return [x === from.x + from.width && y === from.y + from.height / 2, end.x === to.x && end.y === to.y + to.height / 2];
      }),
    );
    assert.deepEqual(ends, ends.map(() => [true, true]));
    const legend = await page.$$eval('#inventory-graph .legend-entry', (entries) => entries.map((e) => e.textContent));
    assert.deepEqual(legend, ['critical', 'high', 'medium', 'no risk']);
    await page.locator('#inventory-graph').screenshot({ path: join(ARTIFACTS, 'inventory-graph.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'inventory.png') });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('a ServiceAccount bound to cluster-admin: critical edges and row', async () => {
    const { page, errors } = await openInventory(CLUSTER_ADMIN);
    assert.deepEqual(await tableRows(page), [['ci/deploy-bot', 'false', '-', '-', 'ClusterRole cluster-admin', 'critical']]);
    assert.deepEqual(await edges(page), [
      { edge: 'sa:ci/deploy-bot→rb:ClusterRoleBinding:deploy-bot-cluster-admin', risk: 'edge risk-critical', stroke: '#b00020' },
      { edge: 'rb:ClusterRoleBinding:deploy-bot-cluster-admin→role:ClusterRole cluster-admin', risk: 'edge risk-critical', stroke: '#b00020' },
    ]);
    // cluster-admin is built in: drawn, but not selectable.
    const role = page.locator('[data-node-id="role:ClusterRole cluster-admin"]');
    assert.equal(await role.getAttribute('tabindex'), null);
    assert.match(await role.getAttribute('class'), /risk-critical/);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('risky bindings among the lesson: edges coloured by severity (the screenshot in docs/img)', async () => {
    const { page, errors } = await openInventory(`${LESSON}---\n${DEFAULT_SA_EDIT}\n---\n${CLUSTER_ADMIN}\n`);
    const drawn = await edges(page);
    const bySeverity = (risk) => drawn.filter((e) => e.risk === `edge risk-${risk}`).map((e) => e.edge).sort();
    assert.deepEqual(bySeverity('critical'), [
      'rb:ClusterRoleBinding:deploy-bot-cluster-admin→role:ClusterRole cluster-admin',
      'sa:ci/deploy-bot→rb:ClusterRoleBinding:deploy-bot-cluster-admin',
    ]);
    assert.deepEqual(bySeverity('high'), ['rb:RoleBinding:production/default-edit→role:production/ClusterRole edit', 'sa:production/default→rb:RoleBinding:production/default-edit']);
    assert.deepEqual(await page.$$eval('#inventory-rows tr', (rows) => rows.map((row) => row.cells[5].textContent)), ['critical', '-', 'high', '-']);
    // The panel down to the graph's end (the panel itself fills the page's height).
    const panel = await page.locator('#inventory-panel').boundingBox();
    const graph = await page.locator('#inventory-graph').boundingBox();
    const clip = { x: panel.x, y: panel.y, width: panel.width, height: graph.y + graph.height + 14 - panel.y };
    await page.screenshot({ path: join(ARTIFACTS, 'inventory-risky.png'), clip });
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('Tab reaches the nodes; Enter and a click select their object in the editor', async () => {
    const { page, errors } = await openInventory(LESSON);
    // From the last control before the graph, Tab goes to the graph's first selectable node.
    await page.locator('#inventory-rows button').last().focus();
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement.dataset.nodeId);
    const first = await page.$eval('#inventory-graph [data-node-id][tabindex="0"]', (n) => n.dataset.nodeId);
    assert.equal(focused, first);
    assert.match(focused, /^wl:/, 'workloads come first');
    await page.keyboard.press('Enter');
    // The object's lines: from its first line to the line of its last value.
    const name = focused.split('/').pop();
    const object = LESSON.slice(LESSON.indexOf(`apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}`)).split(/\n\n?---/)[0];
    assert.equal(await selection(page), object.trimEnd());
    assert.equal(await page.evaluate(() => document.activeElement.dataset.nodeId), focused, 'the focus stays on the node');
    assert.match(await page.locator(`[data-node-id="${focused}"]`).getAttribute('class'), /selected/);
    // The next Tab reaches the next node; Space selects as Enter does.
    await page.keyboard.press('Tab');
    assert.ok(await page.evaluate(() => document.activeElement.dataset.nodeId !== undefined));
    await page.keyboard.press(' ');
    assert.match(await selection(page), /^apiVersion: /);

    await page.locator('[data-node-id="role:production/Role order-api-role"]').click();
    const role = await selection(page);
    assert.match(role, /^apiVersion: rbac\.authorization\.k8s\.io\/v1\nkind: Role\nmetadata:\n  name: order-api-role\n/);
    assert.match(role, /\n {4}verbs: \["get", "list", "watch"\] {2}# Read-only on ConfigMaps only$/);
    // The table's ServiceAccount cell selects the ServiceAccount.
    await page.locator('#inventory-rows button', { hasText: 'production/order-api-sa' }).click();
    assert.match(await selection(page), /^apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: order-api-sa /);
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('downloads: the graph as SVG, the inventory as JSON and Markdown', async () => {
    const { page, errors } = await openInventory(LESSON);
    const downloaded = async (button) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      return { name: download.suggestedFilename(), text: await readFile(await download.path(), 'utf8') };
    };
    const svg = await downloaded('#inventory-svg');
    assert.equal(svg.name, 'sa-guard-inventory.svg');
    assert.match(svg.text, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.deepEqual([...svg.text.matchAll(/data-node-id="([^"]*)"/g)].map((m) => m[1]).sort(), LESSON_NODES);
    assert.equal([...svg.text.matchAll(/data-edge=/g)].length, LESSON_EDGES.length);
    assert.ok(!svg.text.includes('selected'), 'the page state is not in the file');

    const json = await downloaded('#inventory-json');
    assert.equal(json.name, 'sa-guard-inventory.json');
    const inventory = JSON.parse(json.text);
    assert.equal(inventory.schemaVersion, 1);
    assert.deepEqual(inventory.serviceAccounts.map((row) => `${row.namespace}/${row.name}`), LESSON_ROWS.map((row) => row[0]));
    assert.deepEqual(inventory.serviceAccounts[0].workloads[0].projectedTokens.map((t) => t.audience), ['fraud-detection-api', 'payment-gateway-prod']);

    const markdown = await downloaded('#inventory-markdown');
    assert.equal(markdown.name, 'sa-guard-inventory.md');
    assert.equal(
      markdown.text,
      '| ServiceAccount | automount | workloads | token | roles | highest risk | findings |\n' +
        '|---|---|---|---|---|---|---|\n' +
        '| `payments/payment-processor-sa` | false | Deployment/payment-processor | no (2 audience-bound) | - | - | - |\n' +
        '| `production/default` | <unset> | Deployment/checkout-api | yes | - | - | SAG001,SAG002,SAG003 |\n' +
        '| `production/order-api-sa` | <unset> | Deployment/order-api | yes | Role order-api-role | - | - |\n',
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  test('follows the text as it changes, and says what is wrong with bad input', async () => {
    const { page, errors } = await openInventory(LESSON);
    // order-api moves to a ServiceAccount the manifests do not define.
    await page.evaluate(() => {
      const { view } = window.saGuard;
      const text = view.state.doc.toString();
      const at = text.indexOf('serviceAccountName: order-api-sa') + 'serviceAccountName: '.length;
      view.dispatch({ changes: { from: at, to: at + 'order-api-sa'.length, insert: 'orders' }, userEvent: 'input.type' });
    });
    await waitIdle(page);
    assert.deepEqual(await tableRows(page), [
      LESSON_ROWS[0],
      LESSON_ROWS[1],
      ['production/order-api-sa', '<unset>', '-', '-', 'Role order-api-role', '-'],
      ['production/orders', '<undefined>', 'Deployment/order-api', 'yes', '-', '-'],
    ]);
    assert.ok((await edges(page)).some((e) => e.edge === 'wl:production/Deployment/order-api→sa:production/orders'));
    const orders = page.locator('[data-node-id="sa:production/orders"]');
    assert.equal(await orders.getAttribute('role'), 'img', 'not in the text: nothing to select');
    // After an edit above it, a node still selects its object where it now is.
    await page.evaluate(() => window.saGuard.view.dispatch({ changes: { from: 0, insert: '# a comment\n' } }));
    await page.locator('[data-node-id="role:production/Role order-api-role"]').click();
    assert.match(await selection(page), /^apiVersion: rbac\.authorization\.k8s\.io\/v1\nkind: Role\n/);
    await waitIdle(page);

    await pasteIntoEditor(page, `${CLUSTER_ADMIN}\n---\nkind: [\n`);
    await waitIdle(page);
    assert.deepEqual(await tableRows(page), [['ci/deploy-bot', 'false', '-', '-', 'ClusterRole cluster-admin', 'critical']]);
    assert.equal(await page.locator('#inventory-status').textContent(), '1 ServiceAccount · 1 YAML error: those documents are left out');

    await pasteIntoEditor(page, 'just: text\n');
    await waitIdle(page);
    assert.deepEqual(await tableRows(page), []);
    assert.equal(await page.locator('#inventory-status').textContent(), 'No ServiceAccount in these manifests.');
    assert.equal(await page.locator('#inventory-graph svg').count(), 0);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
