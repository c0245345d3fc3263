// Serialized, coalesced reloads: at most one reload in flight and at most one pending. Any number of
// changes requested while a reload runs are taken together by the next one. A burst that is still
// arriving when a reload ends is given a short quiet period (bounded) so it lands in one reload
// instead of many; a change that arrives while the queue is idle starts a reload at once.
import { setTimeout as sleep } from 'node:timers/promises';

export interface ReloadQueueOptions {
  /** A burst counts as over once no change arrived for this long. */
  quietMs?: number;
  /** Longest wait for a burst to end before the next reload starts anyway. */
  maxHoldMs?: number;
  onError?: (e: unknown) => void;
}

/** Runs `run` serialized and coalesced; `request()` says "something changed". */
export class ReloadQueue {
  private readonly run: () => Promise<void>;
  private readonly quietMs: number;
  private readonly maxHoldMs: number;
  private readonly onError: (e: unknown) => void;
  private running = false;
  private pending = false;
  private scheduled = false;
  private stopped = false;
  private lastRequest = 0;
  private idleWaiters: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  /** Runs completed since start. */
  runs = 0;
  /** Requests that joined a run already pending (coalesced into it). */
  coalesced = 0;

  constructor(run: () => Promise<void>, opts: ReloadQueueOptions = {}) {
    this.run = run;
    this.quietMs = opts.quietMs ?? 5;
    this.maxHoldMs = opts.maxHoldMs ?? 500;
    this.onError = opts.onError ?? (() => undefined);
  }

  /** 0 idle, 1 a reload in flight, 2 one in flight and one pending. */
  get depth(): number {
    return (this.running ? 1 : 0) + (this.pending || this.scheduled ? 1 : 0);
  }

  get busy(): boolean {
    return this.running || this.scheduled || this.pending;
  }

  /** Something changed: run (again) as soon as allowed. */
  request(): void {
    this.lastRequest = performance.now();
    if (this.stopped) return;
    if (this.running) {
      if (this.pending) this.coalesced++;
      this.pending = true;
      return;
    }
    if (this.scheduled) {
      this.coalesced++;
      return;
    }
    this.scheduled = true;
    // setImmediate: changes made in the same tick (a batch) go into this run.
    setImmediate(() => void this.loop());
  }

  /** Requests a run after `ms` (a retry after a failed reload). */
  requestAfter(ms: number): void {
    if (this.stopped || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.request();
    }, ms);
  }

  private async loop(): Promise<void> {
    this.scheduled = false;
    this.running = true;
    do {
      this.pending = false;
      if (this.stopped) break;
      try {
        await this.run();
      } catch (e) {
        this.onError(e);
      }
      this.runs++;
      if (this.pending && !this.stopped) await this.holdOff();
    } while (this.pending && !this.stopped);
    this.running = false;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async holdOff(): Promise<void> {
    const until = performance.now() + this.maxHoldMs;
    for (;;) {
      const now = performance.now();
      const quietFor = now - this.lastRequest;
      if (quietFor >= this.quietMs || now >= until) return;
      await sleep(Math.min(this.quietMs - quietFor, until - now) + 0.5);
    }
  }

  /** Resolves when no run is in flight or pending. */
  idle(): Promise<void> {
    if (!this.busy) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** No new runs; resolves when the one in flight ends. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = false;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (this.running || this.scheduled) await new Promise<void>((r) => this.idleWaiters.push(r));
  }
}
