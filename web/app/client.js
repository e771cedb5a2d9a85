// The page's side of the Web Worker: promise-based requests (channel.js), and lint requests
// coalesced so that at most one lint runs while the user types and only the newest text is
// linted next.

import { WorkerChannel } from './channel.js';
import { lintResult } from './lint-output.js';

export class LinterClient {
  constructor(workerUrl) {
    this.lintRunning = null;
    this.lintQueued = null;
    // What `init` was sent with, to send the same to a replacement worker.
    this.initArgs = null;
    this.reinitializing = false;
    // A worker whose wasm failed (a panic, which must not happen) may be inconsistent: it is
    // replaced once the failed request has been answered. (One that stops is not restarted: a
    // worker that cannot load would only stop again; nor one whose `init` failed after a
    // restart, which would fail again.)
    this.channel = new WorkerChannel(
      () => new Worker(workerUrl, { type: 'module' }),
      (kind) => kind === 'answer' && !this.reinitializing && this.restart(),
    );
  }

  /** Loads the linter; a worker started after a failure is sent the same, first. */
  init(args) {
    this.initArgs = args;
    return this.request('init', args);
  }

  restart() {
    this.lintRunning = null;
    this.lintQueued = null;
    this.channel.restart();
    if (!this.initArgs) return;
    // Posted before any later request, so the new worker has its helpers and warm-up as the
    // first one had (without them it would lint large texts alone).
    this.reinitializing = true;
    this.channel
      .request('init', this.initArgs)
      .catch(() => {})
      .finally(() => {
        this.reinitializing = false;
      });
  }

  request(op, args) {
    return this.channel.request(op, args);
  }

  /** Lint `text` now: `{result, ms}`, the result parsed here from the worker's JSON. */
  async lintOnce(text, settings, textEdits) {
    const { result, ms } = await this.request('lint', { text, settings, textEdits });
    return { result: lintResult(result), ms };
  }

  /**
   * Lint `text`. While a lint runs, newer calls replace each other: only the latest is run next,
   * and the superseded ones resolve to null.
   */
  lint(text, settings, textEdits) {
    return new Promise((resolve, reject) => {
      if (this.lintRunning) {
        if (this.lintQueued) this.lintQueued.resolve(null);
        this.lintQueued = { text, settings, textEdits, resolve, reject };
        return;
      }
      this.runLint({ text, settings, textEdits, resolve, reject });
    });
  }

  runLint(job) {
    this.lintRunning = job;
    this.lintOnce(job.text, job.settings, job.textEdits)
      .then(job.resolve, job.reject)
      .finally(() => {
        this.lintRunning = null;
        const next = this.lintQueued;
        this.lintQueued = null;
        if (next) this.runLint(next);
      });
  }
}
