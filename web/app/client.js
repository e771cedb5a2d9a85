// The page's side of the Web Worker: promise-based requests, and lint requests coalesced so that
// at most one lint runs while the user types and only the newest text is linted next.

export class LinterClient {
  constructor(workerUrl) {
    this.workerUrl = workerUrl;
    this.nextId = 1;
    this.pending = new Map();
    this.lintRunning = null;
    this.lintQueued = null;
    this.start();
  }

  start() {
    this.worker = new Worker(this.workerUrl, { type: 'module' });
    this.worker.onmessage = (event) => this.receive(event.data);
    this.worker.onerror = (event) => {
      const message = `the linter stopped: ${event.message ?? 'unknown error'}`;
      for (const { reject } of this.pending.values()) reject(new Error(message));
      this.pending.clear();
    };
  }

  /** After a failure inside the wasm its memory may be inconsistent: start a fresh worker. */
  restart() {
    this.worker.terminate();
    for (const { reject } of this.pending.values()) reject(new Error('the linter was restarted'));
    this.pending.clear();
    this.lintRunning = null;
    this.lintQueued = null;
    this.start();
  }

  receive({ id, result, error, ms }) {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    if (error) {
      request.reject(new Error(error));
      this.restart();
    } else {
      request.resolve({ result, ms });
    }
  }

  request(op, args) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args });
    });
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
    this.request('lint', { text: job.text, settings: job.settings, textEdits: job.textEdits })
      .then(job.resolve, job.reject)
      .finally(() => {
        this.lintRunning = null;
        const next = this.lintQueued;
        this.lintQueued = null;
        if (next) this.runLint(next);
      });
  }
}
