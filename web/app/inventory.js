// The inventory graph drawn without the DOM: a layered left-to-right layout of the graph the core
// computes (workload → ServiceAccount → binding → role, `sa_guard::inventory::graph`, through the
// adapter's `inventory`), and the SVG of it. The nodes, edges, labels and colours are the core's;
// this only places and draws them.

export const LAYOUT = {
  nodeHeight: 34,
  rowGap: 12,
  columnGap: 48,
  padding: 16,
  /** Column titles above the nodes. */
  header: 28,
  /** Room for the legend below them. */
  footer: 36,
  minNodeWidth: 120,
  maxNodeWidth: 260,
  /** Room left and right of a node's text. */
  textInset: 10,
};

/** The font of node labels; `measure` is asked about it (and the SVG uses it). */
export const LABEL_FONT = '12px sans-serif';

/** Edge crossings between columns, given each node's position in its column. */
function crossings(edges, position) {
  let count = 0;
  for (let i = 0; i < edges.length; i++) {
    for (let j = i + 1; j < edges.length; j++) {
      const a = edges[i];
      const b = edges[j];
      if ((position.get(a.from) - position.get(b.from)) * (position.get(a.to) - position.get(b.to)) < 0) count++;
    }
  }
  return count;
}

/** Above this many edges crossings are not counted (quadratic): one sweep is kept as it is. */
const COUNT_CROSSINGS_UP_TO = 1500;

/** Each node's neighbours, both ways. */
function neighboursOf(graph) {
  const neighbours = new Map(graph.nodes.map((n) => [n.id, []]));
  for (const e of graph.edges) {
    neighbours.get(e.from)?.push(e.to);
    neighbours.get(e.to)?.push(e.from);
  }
  return neighbours;
}

/**
 * The ids of each column's nodes, top to bottom (`kinds`: the columns' node kinds, left to
 * right). Sweeps right then left, each column sorted by the mean position of its neighbours in
 * the column just placed (nodes without any keep their place), keeping the order with the
 * fewest crossings.
 */
export function orderColumns(graph, kinds) {
  const columns = kinds.map((kind) => graph.nodes.filter((n) => n.kind === kind).map((n) => n.id));
  const columnOf = new Map(graph.nodes.map((n) => [n.id, kinds.indexOf(n.kind)]));
  const neighbours = neighboursOf(graph);
  const positions = () => {
    const position = new Map();
    for (const column of columns) column.forEach((id, i) => position.set(id, i));
    return position;
  };
  const sortBy = (c, reference) => {
    const position = positions();
    const key = (id) => {
      const near = neighbours.get(id).filter((n) => columnOf.get(n) === reference);
      return near.length ? near.reduce((sum, n) => sum + position.get(n), 0) / near.length : position.get(id);
    };
    const keys = new Map(columns[c].map((id) => [id, key(id)]));
    columns[c] = [...columns[c]].sort((a, b) => keys.get(a) - keys.get(b) || position.get(a) - position.get(b));
  };
  if (graph.edges.length > COUNT_CROSSINGS_UP_TO) {
    for (let c = 1; c < columns.length; c++) sortBy(c, c - 1);
    return columns;
  }
  let best = columns.map((c) => [...c]);
  let fewest = crossings(graph.edges, positions());
  for (let sweep = 0; sweep < 4 && fewest > 0; sweep++) {
    if (sweep % 2 === 0) for (let c = 1; c < columns.length; c++) sortBy(c, c - 1);
    else for (let c = columns.length - 2; c >= 0; c--) sortBy(c, c + 1);
    const count = crossings(graph.edges, positions());
    if (count < fewest) {
      fewest = count;
      best = columns.map((column) => [...column]);
    }
  }
  return best;
}

/** The values nearest to `wishes` (least squares, by `weights`) that do not decrease: pool adjacent violators. */
function nondecreasing(wishes, weights) {
  const blocks = [];
  wishes.forEach((wish, i) => {
    blocks.push({ mean: wish, weight: weights[i], count: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2].mean > blocks[blocks.length - 1].mean) {
      const last = blocks.pop();
      const before = blocks[blocks.length - 1];
      const weight = before.weight + last.weight;
      before.mean = (before.mean * before.weight + last.mean * last.weight) / weight;
      before.weight = weight;
      before.count += last.count;
    }
  });
  return blocks.flatMap((block) => Array(block.count).fill(block.mean));
}

/**
 * Tops of the nodes (0 = the highest): each column's nodes in their order, `step` apart at
 * least, and as level with their neighbours in the next columns as that allows.
 */
function placeRows(columns, neighbours, columnOf, step) {
  const top = new Map();
  columns.forEach((column) => column.forEach((id, i) => top.set(id, i * step)));
  const wishOf = (id, refs) => {
    const near = neighbours.get(id).filter((n) => refs.includes(columnOf.get(n)));
    return near.length ? near.reduce((sum, n) => sum + top.get(n), 0) / near.length : null;
  };
  // Least squares with y[i + 1] - y[i] >= step: with z[i] = y[i] - i * step, z must not
  // decrease. A node without neighbours there barely pulls (it keeps its place if it can).
  const pack = (c, refs) => {
    const wishes = columns[c].map((id) => wishOf(id, refs));
    const z = nondecreasing(
      columns[c].map((id, i) => (wishes[i] ?? top.get(id)) - i * step),
      wishes.map((wish) => (wish === null ? 0.01 : 1)),
    );
    columns[c].forEach((id, i) => top.set(id, z[i] + i * step));
  };
  const last = columns.length - 1;
  const neighbourColumns = (c) => [c - 1, c + 1].filter((r) => r >= 0 && r <= last);
  for (let round = 0; round < 4; round++) for (let c = 0; c <= last; c++) pack(c, neighbourColumns(c));
  let highest = Infinity;
  for (const y of top.values()) highest = Math.min(highest, y);
  for (const [id, y] of top) top.set(id, y - highest);
  return top;
}

/** `text` cut with "…" to fit `width` pixels by `measure`. */
export function fitText(text, width, measure) {
  if (measure(text) <= width) return text;
  let cut = text;
  while (cut.length > 1 && measure(`${cut}…`) > width) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * Where to draw the graph: `{width, height, columns: [{kind, title, x, width}], nodes: [{...node,
 * x, y, width, height, text}], edges: [{...edge, path}]}`, `text` being the label cut to fit.
 * `columns` are the adapter's (`{kind, title}`, left to right); `measure(text)` gives a label's
 * width in pixels in {@link LABEL_FONT}.
 */
export function layoutGraph(graph, columns, measure) {
  const L = LAYOUT;
  const kinds = columns.map((c) => c.kind);
  const order = orderColumns(graph, kinds);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const columnOf = new Map(graph.nodes.map((n) => [n.id, kinds.indexOf(n.kind)]));
  const tops = placeRows(order, neighboursOf(graph), columnOf, L.nodeHeight + L.rowGap);

  let x = L.padding;
  const placedColumns = order.map((ids, c) => {
    const widest = ids.reduce((most, id) => Math.max(most, measure(byId.get(id).label)), measure(columns[c].title));
    const width = Math.min(L.maxNodeWidth, Math.max(L.minNodeWidth, Math.ceil(widest) + 2 * L.textInset));
    const placed = { ...columns[c], x, width };
    x += width + L.columnGap;
    return placed;
  });
  const width = x - L.columnGap + L.padding;
  const nodes = order.flatMap((ids, c) =>
    ids.map((id) => {
      const node = byId.get(id);
      const column = placedColumns[c];
      return {
        ...node,
        text: fitText(node.label, column.width - 2 * L.textInset, measure),
        x: column.x,
        y: L.padding + L.header + tops.get(id),
        width: column.width,
        height: L.nodeHeight,
      };
    }),
  );
  const placed = new Map(nodes.map((n) => [n.id, n]));
  const edges = graph.edges
    .filter((edge) => placed.has(edge.from) && placed.has(edge.to))
    .map((edge) => {
      const a = placed.get(edge.from);
      const b = placed.get(edge.to);
      const [x1, y1, x2, y2] = [a.x + a.width, a.y + a.height / 2, b.x, b.y + b.height / 2];
      const bend = (x2 - x1) / 2;
      return { ...edge, path: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}` };
    });
  const bottom = nodes.reduce((lowest, n) => Math.max(lowest, n.y + n.height), L.padding + L.header);
  return { width, height: bottom + L.footer + L.padding, columns: placedColumns, nodes, edges };
}

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const escapeXml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

/** The severity's CSS class suffix: `none` for no risk. */
export const riskClass = (severity) => `risk-${severity ?? 'none'}`;

/** Fill and stroke of each kind of node (the download is a standalone file: no stylesheet). */
const NODE_STYLE = {
  workload: { fill: '#ffffff', stroke: '#90a4ae', radius: 3 },
  sa: { fill: '#e8eaf6', stroke: '#3949ab', radius: 17 },
  binding: { fill: '#fffde7', stroke: '#a1887f', radius: 3 },
  role: { fill: '#f3e5f5', stroke: '#8e24aa', radius: 8 },
};

/**
 * The SVG of a layout, standalone (attributes, no stylesheet), with `legend` (the adapter's
 * `{severity, label, colour}`) below the nodes. Nodes carry `data-node-id`, `data-kind`,
 * `data-object-index` (when the text defines their object) and a risk class; edges
 * `data-edge="from→to"` and the risk class of the severity they carry. A node whose object is in
 * the text is focusable (`tabindex`) and a button for assistive technology.
 */
export function graphSvg(layout, legend) {
  const L = LAYOUT;
  const out = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" class="inventory-svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" role="group" aria-label="ServiceAccount graph: workloads, ServiceAccounts, bindings and roles" font-family="sans-serif" font-size="12">`,
  );
  out.push(`<rect width="${layout.width}" height="${layout.height}" fill="#ffffff"/>`);
  for (const column of layout.columns) {
    out.push(`<text class="column-title" x="${column.x}" y="${L.padding + 14}" font-weight="600" fill="#626a7a">${escapeXml(column.title)}</text>`);
  }
  out.push('<g class="edges" fill="none">');
  for (const edge of layout.edges) {
    const width = edge.severity ? 2.5 : 1.5;
    out.push(
      `<path class="edge ${riskClass(edge.severity)}" data-edge="${escapeXml(`${edge.from}→${edge.to}`)}" data-from="${escapeXml(edge.from)}" data-to="${escapeXml(edge.to)}"${edge.severity ? ` data-severity="${edge.severity}"` : ''} d="${edge.path}" stroke="${escapeXml(edge.colour)}" stroke-width="${width}"/>`,
    );
  }
  out.push('</g><g class="nodes">');
  for (const node of layout.nodes) {
    const style = NODE_STYLE[node.kind] ?? NODE_STYLE.workload;
    const selectable = node.objectIndex !== null && node.objectIndex !== undefined;
    const where = selectable ? 'select it in the editor' : 'not defined in these manifests';
    const risk = node.severity ? `, ${node.severity} risk` : '';
    const attributes = selectable ? ` tabindex="0" role="button" data-object-index="${node.objectIndex}"` : ' role="img"';
    const stroke = node.severity ? colourOf(legend, node.severity) : style.stroke;
    out.push(
      `<g class="node kind-${node.kind} ${riskClass(node.severity)}${selectable ? ' selectable' : ''}" data-node-id="${escapeXml(node.id)}" data-kind="${node.kind}"${attributes} aria-label="${escapeXml(`${node.label}${risk}: ${where}`)}">`,
      `<title>${escapeXml(node.label)}${selectable ? '' : ' (not in these manifests)'}</title>`,
      `<rect x="${node.x}" y="${node.y}" width="${node.width}" height="${node.height}" rx="${style.radius}" fill="${style.fill}" stroke="${stroke}" stroke-width="${node.severity ? 2 : 1.2}"${selectable ? '' : ' stroke-dasharray="4 3"'}/>`,
      `<text x="${node.x + L.textInset}" y="${node.y + node.height / 2 + 4}" fill="#1f2330">${escapeXml(node.text)}</text>`,
      '</g>',
    );
  }
  out.push('</g>');
  // The legend: what each edge colour means.
  let x = L.padding;
  const y = layout.height - L.padding - 8;
  out.push('<g class="legend">');
  for (const entry of legend) {
    out.push(
      `<g class="legend-entry ${riskClass(entry.severity)}"><line x1="${x}" y1="${y - 4}" x2="${x + 24}" y2="${y - 4}" stroke="${escapeXml(entry.colour)}" stroke-width="${entry.severity ? 2.5 : 1.5}"/><text x="${x + 30}" y="${y}" fill="#626a7a">${escapeXml(entry.label)}</text></g>`,
    );
    x += 30 + 8 * entry.label.length + 18;
  }
  out.push('</g></svg>');
  return out.join('');
}

function colourOf(legend, severity) {
  return legend.find((entry) => entry.severity === severity)?.colour ?? '#607d8b';
}
