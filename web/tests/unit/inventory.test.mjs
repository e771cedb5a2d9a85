// The inventory graph's layout and SVG (web/app/inventory.js), without a browser, on graphs shaped
// as the adapter gives them: columns left to right, nodes of a column apart and each drawn once,
// edges from the right side of one node to the left side of the next, crossings removed where
// an order without them exists, and the SVG's data attributes and escaping.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { LAYOUT, fitText, graphSvg, layoutGraph, orderColumns } from '../../app/inventory.js';

const COLUMNS = [
  { kind: 'workload', title: 'Workloads' },
  { kind: 'sa', title: 'ServiceAccounts' },
  { kind: 'binding', title: 'Bindings' },
  { kind: 'role', title: 'Roles' },
];
const LEGEND = [
  { severity: 'critical', label: 'critical', colour: '#b00020' },
  { severity: 'high', label: 'high', colour: '#e65100' },
  { severity: 'medium', label: 'medium', colour: '#f9a825' },
  { severity: null, label: 'no risk', colour: '#607d8b' },
];
/** Seven pixels a character: what a monospace font of about 12 px measures. */
const measure = (text) => 7 * text.length;

const node = (id, kind, objectIndex = null, severity = null) => ({ id, kind, label: id.replace(/^\w+:/, ''), objectIndex, severity });
const edge = (from, to, severity = null) => ({ from, to, severity, colour: LEGEND.find((l) => l.severity === severity).colour });

/** Two ServiceAccounts whose workloads are listed in the other order: a crossing until reordered. */
const crossed = {
  nodes: [
    node('sa:a/one', 'sa', 0),
    node('sa:a/two', 'sa', 1),
    node('wl:a/Deployment/second', 'workload', 2),
    node('wl:a/Deployment/first', 'workload', 3),
    node('rb:ClusterRoleBinding:admin', 'binding', 4, 'critical'),
    node('role:ClusterRole cluster-admin', 'role', null, 'critical'),
  ],
  edges: [
    edge('wl:a/Deployment/second', 'sa:a/two'),
    edge('wl:a/Deployment/first', 'sa:a/one'),
    edge('sa:a/two', 'rb:ClusterRoleBinding:admin', 'critical'),
    edge('rb:ClusterRoleBinding:admin', 'role:ClusterRole cluster-admin', 'critical'),
  ],
};

test('columns are ordered so that edges do not cross when they need not', () => {
  const order = orderColumns(crossed, COLUMNS.map((c) => c.kind));
  const position = new Map(order.flatMap((column) => column.map((id, i) => [id, i])));
  for (const a of crossed.edges) {
    for (const b of crossed.edges) {
      assert.ok((position.get(a.from) - position.get(b.from)) * (position.get(a.to) - position.get(b.to)) >= 0, `${a.from} and ${b.from} cross`);
    }
  }
});

test('the layout puts each kind in its column, apart, and joins edges to node sides', () => {
  const layout = layoutGraph(crossed, COLUMNS, measure);
  assert.deepEqual(layout.columns.map((c) => c.kind), ['workload', 'sa', 'binding', 'role']);
  for (let c = 1; c < layout.columns.length; c++) {
    const before = layout.columns[c - 1];
    assert.equal(layout.columns[c].x, before.x + before.width + LAYOUT.columnGap);
  }
  assert.equal(layout.nodes.length, crossed.nodes.length);
  for (const n of layout.nodes) {
    const column = layout.columns.find((c) => c.kind === n.kind);
    assert.equal(n.x, column.x, n.id);
    assert.ok(n.y >= LAYOUT.padding + LAYOUT.header && n.y + n.height <= layout.height - LAYOUT.footer, n.id);
  }
  for (const column of layout.columns) {
    const ys = layout.nodes.filter((n) => n.kind === column.kind).map((n) => n.y).sort((a, b) => a - b);
    for (let i = 1; i < ys.length; i++) assert.ok(ys[i] - ys[i - 1] >= LAYOUT.nodeHeight + LAYOUT.rowGap - 1e-9, `${column.kind} nodes overlap`);
  }
  const byId = new Map(layout.nodes.map((n) => [n.id, n]));
  for (const e of layout.edges) {
    const [start, end] = [e.path.match(/^M([\d.]+),([\d.]+)/), e.path.match(/ ([\d.]+),([\d.]+)$/)];
    const [from, to] = [byId.get(e.from), byId.get(e.to)];
    assert.deepEqual([Number(start[1]), Number(start[2])], [from.x + from.width, from.y + from.height / 2]);
    assert.deepEqual([Number(end[1]), Number(end[2])], [to.x, to.y + to.height / 2]);
  }
  // A ServiceAccount level with its one workload.
  assert.equal(byId.get('sa:a/one').y, byId.get('wl:a/Deployment/first').y);
});

test('labels too long for the widest column are cut with an ellipsis', () => {
  assert.equal(fitText('short', 100, measure), 'short');
  const cut = fitText('x'.repeat(60), 100, measure);
  assert.ok(cut.endsWith('…') && measure(cut) <= 100 && cut.length === 14, cut);
  const long = { nodes: [node(`sa:ns/${'very-long-name-'.repeat(6)}`, 'sa', 0)], edges: [] };
  const [placed] = layoutGraph(long, COLUMNS, measure).nodes;
  assert.equal(placed.width, LAYOUT.maxNodeWidth);
  assert.ok(placed.text.endsWith('…') && measure(placed.text) <= LAYOUT.maxNodeWidth - 2 * LAYOUT.textInset);
  assert.equal(placed.label, long.nodes[0].label, 'the full label is kept');
});

test('the SVG carries the nodes and edges as data attributes, escaped, with a legend', () => {
  const graph = {
    nodes: [...crossed.nodes, node('sa:x/<b>"&\'', 'sa', 9)],
    edges: crossed.edges,
  };
  const svg = graphSvg(layoutGraph(graph, COLUMNS, measure), LEGEND);
  assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  const nodeIds = [...svg.matchAll(/data-node-id="([^"]*)"/g)].map((m) => m[1]);
  assert.equal(nodeIds.length, graph.nodes.length);
  assert.ok(nodeIds.includes('sa:x/&lt;b&gt;&quot;&amp;&#39;'), 'ids are escaped');
  assert.ok(!svg.includes('<b>'), 'labels are escaped');
  assert.match(svg, /<path class="edge risk-critical" data-edge="sa:a\/two→rb:ClusterRoleBinding:admin"[^>]* stroke="#b00020"/);
  assert.match(svg, /<path class="edge risk-none" data-edge="wl:a\/Deployment\/first→sa:a\/one"[^>]* stroke="#607d8b"/);
  // Nodes whose object is in the text are focusable buttons; a built-in role is not.
  assert.match(svg, /data-node-id="sa:a\/one" data-kind="sa" tabindex="0" role="button" data-object-index="0"/);
  assert.match(svg, /data-node-id="role:ClusterRole cluster-admin" data-kind="role" role="img"/);
  assert.deepEqual([...svg.matchAll(/class="legend-entry [^"]*">.*?<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]), ['critical', 'high', 'medium', 'no risk']);
});

test('an empty graph lays out without nodes', () => {
  const layout = layoutGraph({ nodes: [], edges: [] }, COLUMNS, measure);
  assert.deepEqual([layout.nodes, layout.edges], [[], []]);
});
