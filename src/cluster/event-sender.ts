// Delivers resource changes to the handler tier as CloudEvents over HTTP: what local mode's watcher
// and `wharf source` both do. Newest wins per object, one request in flight per object (so the
// handler sees an object's changes in order), retries with backoff and jitter on what is transient.
import { CloudEvent, HTTP } from 'cloudevents';
import type { Logger } from '../log.ts';

/** One change to deliver; `key` identifies the object (e.g. "Ingress/default/cafe"). */
export interface OutgoingEvent {
  key: string;
  type: string;
  subject: string;
  data: Record<string, unknown>;
}

export interface EventSenderOptions {
  /** The handler tier's events URL, e.g. http://127.0.0.1:7070/events */
  url: string;
  /** CloudEvents `source` attribute, e.g. "wharf/local". */
  source: string;
  token?: string;
  log: Logger;
  /** Requests in flight at once, over all objects. */
  concurrency?: number;
  /** Delivery attempts before an event is given up (the next relist repairs what is lost). */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  fetch?: typeof fetch;
}

// Status codes worth another try: the same as Knative's sender, plus 500 (a handler restarting).
const RETRIED = new Set([404, 408, 413, 425, 429, 500, 502, 503, 504]);

/** A queue of CloudEvents to one handler URL. */
export class EventSender {
  private readonly o: Required<Omit<EventSenderOptions, 'token'>> & { token?: string };
  private readonly pending = new Map<string, OutgoingEvent>();
  private readonly inFlight = new Set<string>();
  private idleWaiters: (() => void)[] = [];
  private sequence = 0;
  private closed = false;
  /** Counts for logs and tests. */
  readonly stats = { delivered: 0, retried: 0, dropped: 0 };

  constructor(options: EventSenderOptions) {
    this.o = { concurrency: 8, maxAttempts: 8, baseDelayMs: 50, maxDelayMs: 5000, fetch: globalThis.fetch, ...options };
  }

  /** Queues a change; replaces a not-yet-sent change of the same object. */
  send(event: OutgoingEvent): void {
    if (this.closed) return;
    this.pending.set(event.key, event);
    this.pump();
  }

  /** Resolves when nothing is queued or in flight. */
  idle(): Promise<void> {
    if (this.pending.size === 0 && this.inFlight.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  close(): void {
    this.closed = true;
    this.pending.clear();
  }

  private pump(): void {
    for (const [key, event] of this.pending) {
      if (this.inFlight.size >= this.o.concurrency) break;
      if (this.inFlight.has(key)) continue;
      this.pending.delete(key);
      this.inFlight.add(key);
      void this.deliver(event).finally(() => {
        this.inFlight.delete(key);
        this.pump();
        if (this.pending.size === 0 && this.inFlight.size === 0) {
          for (const w of this.idleWaiters.splice(0)) w();
        }
      });
    }
  }

  private async deliver(event: OutgoingEvent): Promise<void> {
    const ce = new CloudEvent({
      id: `${Date.now().toString(36)}-${(this.sequence++).toString(36)}`,
      source: this.o.source,
      type: event.type,
      subject: event.subject,
      datacontenttype: 'application/json',
      data: event.data,
    });
    const message = HTTP.binary(ce);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(message.headers)) headers[k] = String(v);
    if (this.o.token) headers.authorization = `Bearer ${this.o.token}`;
    for (let attempt = 1; ; attempt++) {
      let outcome: string;
      try {
        const res = await this.o.fetch(this.o.url, { method: 'POST', headers, body: message.body as string });
        const text = await res.text();
        if (res.ok) {
          this.stats.delivered++;
          return;
        }
        if (!RETRIED.has(res.status)) {
          this.stats.dropped++;
          this.o.log.error('event refused by the handler', { subject: event.subject, type: event.type, status: res.status, reason: text.slice(0, 500) });
          return;
        }
        outcome = `${res.status} ${text.slice(0, 200)}`;
      } catch (e) {
        outcome = (e as Error).message;
      }
      // A newer change of the same object supersedes this one: stop retrying the old state.
      if (this.closed || this.pending.has(event.key)) return;
      if (attempt >= this.o.maxAttempts) {
        this.stats.dropped++;
        this.o.log.error('event not delivered, giving up', { subject: event.subject, attempts: attempt, last: outcome });
        return;
      }
      this.stats.retried++;
      const ceiling = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1));
      const delay = ceiling / 2 + Math.random() * (ceiling / 2);
      this.o.log.warn('event delivery failed, retrying', { subject: event.subject, attempt, delayMs: Math.round(delay), last: outcome });
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
