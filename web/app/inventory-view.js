// The Inventory tab: the ServiceAccount table and graph of the adapter's `inventory` output, and
// its downloads. Everything shown is the core's; this module only lays it out and wires events.
import { LABEL_FONT, graphSvg, layoutGraph } from './inventory.js';

const TABLE_COLUMNS = ['account', 'automount', 'workloads', 'token', 'roles', 'risk'];

/** A label's width in pixels in the graph's font, measured by a canvas once per text. */
function textMeasurer() {
  const context = document.createElement('canvas').getContext('2d');
  const cache = new Map();
  return (text) => {
    if (!context) return text.length * 7;
    if (!cache.has(text)) {
      context.font = LABEL_FONT;
      cache.set(text, context.measureText(text).width);
    }
    return cache.get(text);
  };
}

export class InventoryView {
  /**
   * @param {{status: HTMLElement, tableBody: HTMLElement, graph: HTMLElement}} elements
   * @param {{select: (objectIndex: number, span: object) => void}} actions `select` shows an
   *   object of the text in the editor.
   */
  constructor(elements, { select }) {
    this.elements = elements;
    this.select = select;
    this.measure = textMeasurer();
    /** The output shown, and its SVG (for the download). */
    this.output = null;
    this.svg = '';
    const activate = (target) => {
      const node = target.closest?.('[data-object-index]');
      if (!node || !this.output) return false;
      const index = Number(node.dataset.objectIndex);
      const span = this.output.spans[index];
      if (!span) return false;
      this.markSelected(index);
      this.select(index, span);
      return true;
    };
    elements.graph.addEventListener('click', (event) => activate(event.target));
    elements.graph.addEventListener('keydown', (event) => {
      if ((event.key === 'Enter' || event.key === ' ') && activate(event.target)) event.preventDefault();
    });
    elements.tableBody.addEventListener('click', (event) => activate(event.target));
  }

  /** Shows an adapter output (`inventory`): its input error, or its table and graph. */
  render(output) {
    this.output = output;
    const { status, tableBody, graph } = this.elements;
    tableBody.replaceChildren();
    graph.replaceChildren();
    this.svg = '';
    if (output.inputError) {
      status.textContent = output.inputError;
      status.dataset.kind = 'error';
      return;
    }
    const notes = [];
    if (output.parseErrors.length) notes.push(`${output.parseErrors.length} YAML error${output.parseErrors.length === 1 ? '' : 's'}: those documents are left out`);
    if (output.settingsError) notes.push('settings not applied (the defaults are used)');
    const count = output.rows.length;
    status.textContent = count
      ? `${count} ServiceAccount${count === 1 ? '' : 's'}${notes.length ? ` · ${notes.join(' · ')}` : ''}`
      : `No ServiceAccount in these manifests${notes.length ? ` · ${notes.join(' · ')}` : ''}.`;
    status.dataset.kind = notes.length ? 'warn' : '';

    for (const row of output.rows) {
      const tr = document.createElement('tr');
      tr.dataset.node = row.node;
      for (const column of TABLE_COLUMNS) {
        const cell = document.createElement(column === 'account' ? 'th' : 'td');
        const text = row.cells[column];
        if (column === 'account') {
          cell.scope = 'row';
          if (row.objectIndex !== null && output.spans[row.objectIndex]) {
            const button = document.createElement('button');
            button.type = 'button';
            button.className = 'link';
            button.dataset.objectIndex = String(row.objectIndex);
            button.textContent = text;
            button.setAttribute('aria-label', `${text}: select it in the editor`);
            cell.append(button);
          } else {
            cell.textContent = text;
          }
        } else {
          cell.textContent = text;
        }
        cell.dataset.column = column;
        if (column === 'risk' && text !== '-') cell.className = `risk risk-${text}`;
        tr.append(cell);
      }
      tableBody.append(tr);
    }
    if (!output.graph.nodes.length) return;
    const layout = layoutGraph(output.graph, output.columns, this.measure);
    this.svg = graphSvg(layout, output.legend);
    graph.innerHTML = this.svg;
  }

  /** Marks the nodes of object `index` as the one selected (until the next update). */
  markSelected(index) {
    for (const node of this.elements.graph.querySelectorAll('.node.selected')) node.classList.remove('selected');
    for (const node of this.elements.graph.querySelectorAll(`.node[data-object-index="${index}"]`)) node.classList.add('selected');
  }
}
