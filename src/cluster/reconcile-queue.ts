// The status writers' work queue (Ingress status and Events, Gateway API status): keys to reconcile,
// each run at most once at a time, a key queued again while it runs is run once more after it (a
// burst of changes to one object is one or two writes, not one per change), at most `concurrency`
// keys at once, and a key whose run failed is queued again after `retryMs`.

export interface ReconcileQueueOptions {
  /** Brings one key's object in line with what is wanted (reads what it needs itself). */
  reconcile: (key: string) => Promise<void>;
  /** Told of a failed run; the key is retried after `retryMs`. */
  onFailure: (key: string, error: Error) => void;
  /** Keys reconciled at once (each is one or two API calls). Default 4. */
  concurrency?: number;
  /** Delay before a failed key is tried again. Default 5 s. */
  retryMs?: number;
}

export class ReconcileQueue {
  readonly #o: ReconcileQueueOptions;
  readonly #dirty = new Set<string>();
  readonly #active = new Set<string>();
  readonly #retries = new Set<NodeJS.Timeout>();
  #idle: (() => void)[] = [];
  #stopped = false;

  constructor(options: ReconcileQueueOptions) {
    this.#o = options;
  }

  /** Reconciles `key` soon (once, however often it is added before its turn). */
  add(key: string): void {
    if (this.#stopped) return;
    this.#dirty.add(key);
    this.#pump();
  }

  /** Resolves when nothing is queued or running (failed keys waiting for a retry excepted). */
  idle(): Promise<void> {
    if (this.#dirty.size === 0 && this.#active.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idle.push(r));
  }

  /** Takes no more keys, drops the queued ones and the retries; resolves when the running ones end. */
  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#retries) clearTimeout(t);
    this.#retries.clear();
    this.#dirty.clear();
    await this.idle();
  }

  #pump(): void {
    const limit = this.#o.concurrency ?? 4;
    for (const key of this.#dirty) {
      if (this.#active.size >= limit) break;
      if (this.#active.has(key)) continue;
      this.#dirty.delete(key);
      this.#active.add(key);
      void this.#o
        .reconcile(key)
        .catch((e) => {
          this.#o.onFailure(key, e as Error);
          this.#retryLater(key);
        })
        .finally(() => {
          this.#active.delete(key);
          this.#pump();
          if (this.#dirty.size === 0 && this.#active.size === 0) for (const r of this.#idle.splice(0)) r();
        });
    }
  }

  #retryLater(key: string): void {
    if (this.#stopped) return;
    const t = setTimeout(() => {
      this.#retries.delete(t);
      this.add(key);
    }, this.#o.retryMs ?? 5000);
    t.unref();
    this.#retries.add(t);
  }
}
