// Callers waiting for their changes to be applied (?wait=1, readiness on a complete batch). After
// every reload run each waiter whose changes are settled is released; when a run failed in a way
// only a later run can fix (a full disk, a confirmation timeout), the waiters whose changes it took
// are released at once with the reason, instead of at the end of their wait.

/** Why the run that took a waiter's changes did not apply them; the agent retries after `retryInMs`. */
export interface RunFailure {
  error: string;
  retryInMs: number;
}

interface Waiter {
  done: () => boolean;
  resolve: (failure?: RunFailure) => void;
  /** Runs started before this waiter: a run that fails after it was registered took its changes. */
  since: number;
}

/** The waiting callers, and the runs they wait for. */
export class ChangeWaiters {
  private waiters: Waiter[] = [];
  /** Runs started (noop runs included). */
  private runs = 0;

  /** Waits until `done()`, a run fails with its changes (the failure), or `timeoutMs` (undefined). */
  wait(done: () => boolean, timeoutMs: number): Promise<RunFailure | undefined> {
    return new Promise((resolve) => {
      const waiter: Waiter = { done, resolve, since: this.runs };
      this.waiters.push(waiter);
      if (Number.isFinite(timeoutMs)) {
        setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          resolve(undefined);
        }, timeoutMs).unref();
      }
    });
  }

  /** A run starts; returns its number for `ended`. */
  started(): number {
    return ++this.runs;
  }

  /** Run `run` ended: release the waiters it settled, or failed. */
  ended(run: number, failure?: RunFailure): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) {
      if (w.done()) w.resolve();
      else if (failure && w.since < run) w.resolve(failure);
      else this.waiters.push(w);
    }
  }

  /** Releases everyone (the agent stops). */
  releaseAll(): void {
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }
}
