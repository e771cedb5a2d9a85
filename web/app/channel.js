// Requests to a Web Worker as promises: `{id, op, args}` out, `{id, result, ms}` or `{id, error}`
// back (the protocol of worker.js). The page's LinterClient and the first worker's helpers both
// speak it; what each does when a worker fails is its own.

export class WorkerChannel {
  /**
   * @param {() => Worker} create starts the worker (again after `restart`).
   * @param {(kind: 'answer' | 'stopped' | 'timeout') => void} onFailure called when a request
   *   is answered with an error (`answer`: the worker runs, but the wasm may be inconsistent),
   *   when the worker stops, or when a request gets no answer in time; in the last two cases
   *   every pending request has been rejected first.
   */
  constructor(create, onFailure = () => {}) {
    this.create = create;
    this.onFailure = onFailure;
    this.nextId = 1;
    this.pending = new Map();
    this.start();
  }

  start() {
    this.worker = this.create();
    this.worker.onmessage = ({ data }) => this.receive(data);
    this.worker.onerror = (event) => {
      event.preventDefault?.();
      this.rejectAll(new Error(`the worker stopped: ${event.message ?? 'unknown error'}`));
      this.onFailure('stopped');
    };
  }

  rejectAll(error) {
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const request of pending) request.reject(error);
  }

  /** A fresh worker; what was pending is rejected. */
  restart() {
    this.worker.terminate();
    this.rejectAll(new Error('the worker was restarted'));
    this.start();
  }

  terminate() {
    this.worker.terminate();
    this.rejectAll(new Error('the worker was stopped'));
  }

  receive({ id, result, error, ms }) {
    const request = this.pending.get(id);
    if (!request) return;
    this.pending.delete(id);
    if (error) {
      request.reject(new Error(error));
      this.onFailure('answer');
    } else {
      request.resolve({ result, ms });
    }
  }

  /** `op` in the worker; with `timeoutMs`, a request that gets no answer by then fails the worker. */
  request(op, args, { timeoutMs } = {}) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer =
        timeoutMs &&
        setTimeout(() => {
          this.rejectAll(new Error(`the worker did not answer ${op} in ${timeoutMs} ms`));
          this.onFailure('timeout');
        }, timeoutMs);
      const settle = (fn) => (value) => {
        clearTimeout(timer);
        fn(value);
      };
      this.pending.set(id, { resolve: settle(resolve), reject: settle(reject) });
      this.worker.postMessage({ id, op, args });
    });
  }
}
