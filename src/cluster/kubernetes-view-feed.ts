// Feeds a handler replica's view straight from the API server (no event source in between): one
// StreamWatcher per stream; once every stream has listed, their lists replace the view's state in
// one step (the view is then synced); from then on every watched change is applied, and a stream's
// later list (after 410 Gone, or a periodic relist) is applied as updates plus deletes of what
// vanished. The view's own version rules drop what is not newer, so overlaps are harmless.
//
// A stream whose group/version the API server does not serve (404: no Gateway API CRDs, no
// discovery.k8s.io/v1) counts as listed and empty, so the other kinds are served; it is reported to
// `presence` (logged once per group/version with what wharf does without it, /readyz, a metric) and
// asks again slowly; when the API appears, its first list is applied like any later list. An
// optional stream RBAC does not grant (403) is read the same way; the stream itself says so.
//
// The sink is a ClusterView itself, or whatever wraps one to recompute after each change (the
// handler parses objects for the model and re-renders what a change affects).
import type { Logger } from '../log.ts';
import { ApiPresence, type ApiAbsence } from './api-presence.ts';
import type { KubeClients } from './kubernetes-client.ts';
import { oldestVersion } from './kubernetes-reader.ts';
import { apiOf, streamName, streamsFor, type WatchScope } from './kubernetes-resources.ts';
import { StreamWatcher, type StreamEvent, type StreamWatcherOptions } from './kubernetes-watch.ts';
import { API_VERSIONS, KINDS, keyOf, type Change, type Kind, type KindList } from './view.ts';

/** Where the feed puts what it reads: a ClusterView satisfies it. */
export interface ChangeSink {
  /** The first full list of every kind (the view is synced after it). */
  replace(lists: Partial<Record<Kind, KindList>>): unknown;
  /** One change; the sink drops it when it is not newer than what it holds. */
  apply(change: Change): unknown;
}

export interface KubernetesViewFeedOptions {
  clients: KubeClients;
  sink: ChangeSink;
  log: Logger;
  scope?: WatchScope;
  /** Tuning for the watchers (backoff, timeouts, page size). */
  watch?: Pick<StreamWatcherOptions, 'backoff' | 'watchTimeoutSeconds' | 'pageSize' | 'remember' | 'notServedRetryMs' | 'prepare'>;
  /**
   * Told which APIs the server does not serve (and when they appear); default: one that logs them
   * (once each, by name, with what wharf does without them).
   */
  presence?: ApiPresence;
}

/** One stream as /readyz shows it. */
export interface StreamState {
  stream: string;
  /** waiting: no list yet; listed: listed (and watching); not-served: the API server does not serve its group/version. */
  state: 'waiting' | 'listed' | 'not-served';
  /** Why it is waiting (the last failure), or what wharf does without it. */
  reason?: string;
  /** not-served: whether wharf needs the API (required) or does without it (optional). */
  required?: boolean;
}

export class KubernetesViewFeed {
  readonly watchers: StreamWatcher[];
  readonly #o: KubernetesViewFeedOptions;
  readonly #presence: ApiPresence;
  #initial = new Map<StreamWatcher['spec'], Extract<StreamEvent, { type: 'listed' }>>();
  /** Streams whose API is not served: they count as listed and empty for the first sync. */
  #notServed = new Set<StreamWatcher['spec']>();
  #listedOnce = new Set<StreamWatcher['spec']>();
  #buffer: StreamEvent[] = [];
  #synced = false;
  #onSynced!: () => void;
  readonly #syncedPromise = new Promise<void>((r) => (this.#onSynced = r));

  constructor(options: KubernetesViewFeedOptions) {
    this.#o = options;
    this.#presence = options.presence ?? new ApiPresence({ log: options.log });
    this.watchers = streamsFor(options.scope).map(
      (spec) =>
        new StreamWatcher({ ...options.watch, clients: options.clients, spec, log: options.log, onEvent: (e) => this.#onEvent(e), onNotServed: (why) => this.#onNotServed(spec, why) }),
    );
  }

  /** Each stream's state, for /readyz: what it waits for and why. */
  streams(): StreamState[] {
    return this.watchers.map((w) => {
      const stream = streamName(w.spec);
      if (w.notServed) {
        const need = this.#presence.needOf(w.spec.kind);
        const why = w.absence === 'forbidden' ? `not allowed to list ${apiOf(w.spec.kind)} (403: RBAC grants no get, list and watch)` : `the API server does not serve ${API_VERSIONS[w.spec.kind]}`;
        return { stream, state: 'not-served', required: need.required, reason: `${why}: ${need.withoutIt}` };
      }
      if (this.#listedOnce.has(w.spec)) return { stream, state: 'listed' };
      return { stream, state: 'waiting', reason: w.lastError ?? 'listing: no answer from the API server yet' };
    });
  }

  /** Starts every watcher; resolves once the view holds a full list of every kind. */
  start(): Promise<void> {
    for (const w of this.watchers) w.start();
    return this.#syncedPromise;
  }

  get synced(): boolean {
    return this.#synced;
  }

  /** Lists every stream again (level-triggered repair; the view ignores what it already holds). */
  relist(): void {
    for (const w of this.watchers) w.relist();
  }

  async stop(): Promise<void> {
    await Promise.all(this.watchers.map((w) => w.stop()));
  }

  #onNotServed(spec: StreamWatcher['spec'], why: ApiAbsence): void {
    // A 403 is this stream's RBAC, said by the stream itself; a missing group/version is the cluster's.
    if (why === 'not served') this.#presence.absent(spec);
    if (this.#synced || this.#notServed.has(spec) || this.#initial.has(spec)) return;
    this.#notServed.add(spec);
    this.#syncWhenComplete();
  }

  #onEvent(e: StreamEvent): void {
    // A real list (not the empty one a stream reports when its API went away) means the API is served.
    if (e.type === 'listed' && !this.#notServedNow(e.spec)) {
      this.#listedOnce.add(e.spec);
      this.#presence.present(e.spec);
    }
    if (this.#synced) return this.#consume(e);
    if (e.type === 'listed' && e.initial) {
      this.#notServed.delete(e.spec);
      this.#initial.set(e.spec, e);
      this.#syncWhenComplete();
    } else this.#buffer.push(e);
  }

  #notServedNow(spec: StreamWatcher['spec']): boolean {
    return this.watchers.find((w) => w.spec === spec)?.notServed ?? false;
  }

  #syncWhenComplete(): void {
    if (this.#initial.size + this.#notServed.size === this.watchers.length) this.#sync();
  }

  #sync(): void {
    const byKind = new Map<Kind, KindList[]>();
    for (const l of this.#initial.values()) {
      const lists = byKind.get(l.spec.kind) ?? [];
      lists.push({ items: l.items, resourceVersion: l.resourceVersion });
      byKind.set(l.spec.kind, lists);
    }
    const replacement: Partial<Record<Kind, KindList>> = {};
    for (const kind of KINDS) {
      const lists = byKind.get(kind) ?? [];
      // A kind wharf reads nothing of (no ConfigMap configured) is known to be empty.
      replacement[kind] = { items: lists.flatMap((l) => l.items), resourceVersion: lists.length ? oldestVersion(lists.map((l) => l.resourceVersion)) : '0' };
    }
    this.#o.sink.replace(replacement);
    this.#synced = true;
    this.#initial.clear();
    this.#notServed.clear();
    this.#o.log.info('view synced from the API server', { objects: Object.fromEntries(Object.entries(replacement).map(([k, l]) => [k, l.items.length])) });
    for (const e of this.#buffer.splice(0)) this.#consume(e);
    this.#onSynced();
  }

  #consume(e: StreamEvent): void {
    if (e.type === 'change') return this.#apply(e.change);
    for (const object of e.items) {
      const change: Change = { action: 'update', key: keyOf(object), object };
      if (object.metadata.resourceVersion) change.resourceVersion = object.metadata.resourceVersion;
      this.#apply(change);
    }
    for (const object of e.gone) this.#apply({ action: 'delete', key: keyOf(object), resourceVersion: e.resourceVersion, object });
  }

  #apply(change: Change): void {
    this.#o.sink.apply(change);
  }
}
