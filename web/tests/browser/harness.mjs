// Shared by the browser tests and the benchmark: serve web/dist on 127.0.0.1 (a random free
// port) and drive Debian's Chromium through playwright-core with a fresh profile.
import { createServer } from 'node:http';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const DIST = fileURLToPath(new URL('../../dist/', import.meta.url));
export const EXAMPLES = fileURLToPath(new URL('../../../examples/', import.meta.url));

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** A static file server for web/dist, like any static host. Records every request path. */
export async function serveDist() {
  const requests = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://localhost').pathname);
    requests.push(path);
    const file = normalize(join(DIST, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(DIST.endsWith(sep) ? DIST : DIST + sep)) {
      res.writeHead(403).end();
      return;
    }
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, requests, close: () => new Promise((resolve) => server.close(resolve)) };
}

/** Chromium with a fresh profile; close() removes the profile. */
export async function launch({ viewport = { width: 1440, height: 900 } } = {}) {
  const profile = await mkdtemp(join(tmpdir(), 'sa-guard-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    viewport,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  return {
    context,
    close: async () => {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}

/** Open the playground and wait until the first lint has been shown. */
export async function openPlayground(context, url) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  await page.goto(url);
  await waitIdle(page);
  return { page, errors };
}

/** Wait until the linter has caught up with the editor and the settings. */
export async function waitIdle(page) {
  await page.waitForFunction(() => window.saGuard?.idle(), null, { timeout: 20_000 });
}

/** Paste `text` into the editor as a user would (select all, then a real paste event). */
export async function pasteIntoEditor(page, text) {
  await page.click('.cm-content');
  await page.keyboard.press('ControlOrMeta+a');
  await page.evaluate((content) => {
    const data = new DataTransfer();
    data.setData('text/plain', content);
    document.querySelector('.cm-content').dispatchEvent(new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, text);
}

export const editorText = (page) => page.evaluate(() => window.saGuard.view.state.doc.toString());
