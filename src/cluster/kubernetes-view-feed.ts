// Feeds a handler replica's view straight from the API server (no event source in between): one
// StreamWatcher per stream; once every stream has listed, their lists replace the view's state in
// one step (the view is then synced); from then on every watched change is applied, and a stream's
// later list (after 410 Gone, or a periodic relist) is applied as updates plus deletes of what
// vanished. The view's own version rules drop what is not newer, so overlaps are harmless.
//
// The sink is a ClusterView itself, or whatever wraps one to recompute after each change (the
// handler parses objects for the model and re-renders what a change affects).
import type { Logger } from '../log.ts';
import type { KubeClients } from './kubernetes-client.ts';
import { oldestVersion } from './kubernetes-reader.ts';
import { isGatewayApiKind, streamsFor, type WatchScope } from './kubernetes-resources.ts';
import { StreamWatcher, type StreamEvent, type StreamWatcherOptions } from './kubernetes-watch.ts';
import { KINDS, keyOf, type Change, type Kind, type KindList } from './view.ts';

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
  watch?: Pick<StreamWatcherOptions, 'backoff' | 'watchTimeoutSeconds' | 'pageSize' | 'remember' | 'notServedRetryMs'>;
}

export class KubernetesViewFeed {
  readonly watchers: StreamWatcher[];
  readonly #o: KubernetesViewFeedOptions;
  #initial = new Map<StreamWatcher['spec'], Extract<StreamEvent, { type: 'listed' }>>();
  #buffer: StreamEvent[] = [];
  #synced = false;
  #onSynced!: () => void;
  readonly #syncedPromise = new Promise<void>((r) => (this.#onSynced = r));

  constructor(options: KubernetesViewFeedOptions) {
    this.#o = options;
    this.watchers = streamsFor(options.scope).map(
      (spec) => new StreamWatcher({ ...options.watch, clients: options.clients, spec, log: options.log, onEvent: (e) => this.#onEvent(e) }),
    );
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

  #onEvent(e: StreamEvent): void {
    if (this.#synced) return this.#consume(e);
    if (e.type === 'listed' && e.initial) {
      this.#initial.set(e.spec, e);
      if (this.#initial.size === this.watchers.length) this.#sync();
    } else this.#buffer.push(e);
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
    this.#o.log.info('view synced from the API server', { objects: Object.fromEntries(Object.entries(replacement).map(([k, l]) => [k, l.items.length])) });
    const optional = this.watchers.filter((w) => isGatewayApiKind(w.spec.kind));
    const absent = optional.filter((w) => w.notServed).map((w) => w.spec.kind);
    if (absent.length && absent.length === optional.length) this.#o.log.info('the Gateway API is not installed in this cluster: serving Ingress only until it is');
    else if (absent.length) this.#o.log.info('some Gateway API kinds are not served by this cluster: reading the others', { absent });
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
