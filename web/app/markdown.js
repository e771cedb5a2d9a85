// Rule documentation is Markdown (the rules' doc comments). Raw HTML in it is shown as text and
// links open in a new tab.
import { Marked } from 'marked';

const escapeHtml = (text) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    link({ href, title, tokens }) {
      const safe = /^(https?:|#)/i.test(href) ? href : '#';
      const label = this.parser.parseInline(tokens);
      return `<a href="${escapeHtml(safe)}" target="_blank" rel="noopener noreferrer"${title ? ` title="${escapeHtml(title)}"` : ''}>${label}</a>`;
    },
  },
});

export function renderMarkdown(markdown) {
  return marked.parse(markdown);
}

export { escapeHtml };
