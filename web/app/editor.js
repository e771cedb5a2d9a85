// The CodeMirror 6 editor: YAML highlighting, line numbers, lint gutter and underlines. Findings
// arrive from the worker and are turned into CodeMirror diagnostics here.
import { defaultKeymap, history, historyKeymap, indentWithTab, temporarilySetTabFocusMode } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { bracketMatching, defaultHighlightStyle, foldGutter, foldKeymap, indentOnInput, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, lintKeymap, setDiagnostics } from '@codemirror/lint';
import { highlightSelectionMatches, searchKeymap } from '@codemirror/search';
import { EditorSelection, EditorState } from '@codemirror/state';
import {
  EditorView,
  crosshairCursor,
  drawSelection,
  dropCursor,
  highlightActiveLine,
  highlightActiveLineGutter,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  rectangularSelection,
} from '@codemirror/view';

const theme = EditorView.theme({
  '&': { height: '100%', fontSize: '13px', backgroundColor: 'var(--editor-bg)' },
  '.cm-scroller': { fontFamily: 'var(--mono)', lineHeight: '1.55' },
  '.cm-gutters': { backgroundColor: 'var(--gutter-bg)', borderRight: '1px solid var(--border)', color: 'var(--muted)' },
  '.cm-activeLineGutter': { backgroundColor: 'var(--active-line-gutter)' },
  '.cm-activeLine': { backgroundColor: 'var(--active-line)' },
  '&.cm-focused': { outline: '2px solid var(--focus)', outlineOffset: '-2px' },
  '.cm-lintRange-error': { backgroundImage: 'none', textDecoration: 'underline wavy var(--deny)', textDecorationSkipInk: 'none', textUnderlineOffset: '3px' },
  '.cm-lintRange-warning': { backgroundImage: 'none', textDecoration: 'underline wavy var(--warn)', textDecorationSkipInk: 'none', textUnderlineOffset: '3px' },
  '.cm-lintRange-info': { backgroundImage: 'none', textDecoration: 'underline dotted var(--muted)', textUnderlineOffset: '3px' },
  '.cm-flash-line': { backgroundColor: 'var(--flash)' },
});

/**
 * @param {HTMLElement} parent
 * @param {{text: string, onDocChanged: (update) => void}} options
 */
export function createEditor(parent, { text, onDocChanged }) {
  return new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        highlightSpecialChars(),
        history(),
        foldGutter(),
        drawSelection(),
        dropCursor(),
        EditorState.allowMultipleSelections.of(true),
        indentOnInput(),
        indentUnit.of('  '),
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        bracketMatching(),
        rectangularSelection(),
        crosshairCursor(),
        highlightActiveLine(),
        highlightSelectionMatches(),
        yaml(),
        lintGutter({ hoverTime: 150 }),
        keymap.of([
          ...defaultKeymap,
          // Escape (when there is no selection to simplify) lets the next Tab leave the editor.
          { key: 'Escape', run: temporarilySetTabFocusMode },
          ...searchKeymap,
          ...historyKeymap,
          ...foldKeymap,
          ...lintKeymap,
          indentWithTab,
        ]),
        EditorView.contentAttributes.of({ 'aria-label': 'Kubernetes manifests (YAML)', 'aria-describedby': 'editor-help' }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) onDocChanged(update);
        }),
        theme,
      ],
    }),
  });
}

/** Replace the whole document (an example, a file, a shared link): one undoable change. */
export function replaceDocument(view, text) {
  view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: text }, selection: EditorSelection.cursor(0), scrollIntoView: true });
}

/** Replace the document with `text` through the smallest single change, so undo restores it. */
export function applyTextDiff(view, text) {
  const current = view.state.doc.toString();
  if (current === text) return false;
  let start = 0;
  const max = Math.min(current.length, text.length);
  while (start < max && current.charCodeAt(start) === text.charCodeAt(start)) start++;
  let end = 0;
  while (end < max - start && current.charCodeAt(current.length - 1 - end) === text.charCodeAt(text.length - 1 - end)) end++;
  view.dispatch({ changes: { from: start, to: current.length - end, insert: text.slice(start, text.length - end) }, userEvent: 'input.fix' });
  return true;
}

/** Move the cursor to a position, scroll it to the middle, and flash the line. */
export function revealPosition(view, position, { focus = true } = {}) {
  const pos = Math.min(position, view.state.doc.length);
  view.dispatch({ selection: EditorSelection.cursor(pos), effects: EditorView.scrollIntoView(pos, { y: 'center' }) });
  if (focus) view.focus();
}

/** Select the lines of `from`..`to` (an object of the text) and scroll them into view; the focus stays where it is. */
export function selectLines(view, from, to) {
  const { doc } = view.state;
  const clamp = (pos) => Math.max(0, Math.min(pos, doc.length));
  const anchor = doc.lineAt(clamp(from)).from;
  const head = doc.lineAt(Math.max(clamp(to), anchor)).to;
  view.dispatch({ selection: EditorSelection.range(anchor, head), effects: EditorView.scrollIntoView(anchor, { y: 'start', yMargin: 40 }) });
}

const SEVERITY = { deny: 'error', warn: 'warning' };

/**
 * Diagnostics from a lint result. Offsets in `result` refer to the text that was linted; `map`
 * carries them through edits made since (or is null when there were none).
 */
export function showDiagnostics(view, { result, map, fixAction }) {
  const length = view.state.doc.length;
  const clamp = (pos) => Math.max(0, Math.min(length, map ? map(pos) : pos));
  const diagnostics = [];
  const markRange = (span) => {
    let from = clamp(span.from);
    let to = clamp(span.to);
    // A finding about a missing field points at the enclosing node: underline its first line only.
    const line = view.state.doc.lineAt(from);
    if (to > line.to) to = line.to;
    if (to <= from) {
      // Zero-width: underline the rest of the line's content, so there is something to see.
      const content = line.text.slice(from - line.from).trimEnd();
      to = from + Math.max(content.length, 0);
      if (to === from && line.text.trim()) {
        from = line.from + (line.text.length - line.text.trimStart().length);
        to = line.to;
      }
    }
    return { from, to };
  };
  for (const error of result.parseErrors) {
    diagnostics.push({ ...markRange(error.span), severity: 'error', source: 'YAML', message: error.message, markClass: 'sag-syntax' });
  }
  for (const finding of result.findings) {
    const actions = finding.fix ? [{ name: 'Fix', apply: () => fixAction(finding) }] : [];
    diagnostics.push({
      ...markRange(finding.span),
      severity: SEVERITY[finding.level] ?? 'info',
      source: `${finding.ruleId} ${finding.ruleSlug}`,
      message: finding.message,
      actions,
    });
  }
  diagnostics.sort((a, b) => a.from - b.from || a.to - b.to);
  view.dispatch(setDiagnostics(view.state, diagnostics));
}
