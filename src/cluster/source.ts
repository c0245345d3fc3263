// `wharf source`: the event source for clusters without Knative Eventing. It watches the objects
// wharf reads and posts each change to the handler tier as a CloudEvent (io.wharf.resource.*, data:
// the whole object). Unlike Knative's ApiServerSource it sends an `add` for every object that exists
// when it starts, and it sends every object again as an `update` at each periodic resync (the
// handler ignores what is not newer than what it holds), so a handler that lost events converges.
// Delivery is the EventSender's: one request in flight per object (per-object order), newest state
// wins while queued, retries with backoff and jitter for as long as the handler is away.
import type { Logger } from '../log.ts';
import type { ApiAbsence } from './api-presence.ts';
import type { EventSender } from './event-sender.ts';
import type { KubeClients } from './kubernetes-client.ts';
import { streamsFor, type StreamSpec, type WatchScope } from './kubernetes-resources.ts';
import { StreamWatcher, type StreamEvent, type StreamWatcherOptions } from './kubernetes-watch.ts';
import { API_VERSIONS, compareVersions, keyOf, withoutBookkeeping, type ChangeAction, type KubeObject } from './view.ts';

/** The CloudEvent type of each action (the handler's io.wharf.resource.* family). */
export const SOURCE_EVENT_TYPES: Record<ChangeAction, string> = {
  add: 'io.wharf.resource.add',
  update: 'io.wharf.resource.update',
  delete: 'io.wharf.resource.delete',
};

/** `Ingress/default/cafe`, `IngressClass/wharf`: the event's subject and the sender's per-object key. */
export function subjectOf(object: KubeObject): string {
  const key = keyOf(object);
  return key.namespace ? `${key.kind}/${key.namespace}/${key.name}` : `${key.kind}/${key.name}`;
}

export interface KubernetesEventSourceOptions {
  clients: KubeClients;
  sender: Pick<EventSender, 'send' | 'idle' | 'close'>;
  log: Logger;
  scope?: WatchScope;
  /** Every object is sent again as an update this often (default 10 minutes; 0: never). */
  resyncMs?: number;
  watch?: Pick<StreamWatcherOptions, 'backoff' | 'watchTimeoutSeconds' | 'pageSize' | 'notServedRetryMs'>;
}

export class KubernetesEventSource {
  readonly watchers: StreamWatcher[];
  /** Events queued for delivery, by action; `older` counts list entries skipped as older than what was already queued. */
  readonly stats = { add: 0, update: 0, delete: 0, older: 0, resyncs: 0 };
  readonly #o: KubernetesEventSourceOptions;
  /** Per stream: the newest resourceVersion queued for each object, so a resync list never sends an older state after a newer one. */
  readonly #latest = new Map<StreamSpec, Map<string, string>>();
  #listed = new Set<StreamSpec>();
  #onStarted!: () => void;
  readonly #started = new Promise<void>((r) => (this.#onStarted = r));
  #timer: NodeJS.Timeout | null = null;

  constructor(options: KubernetesEventSourceOptions) {
    this.#o = options;
    this.watchers = streamsFor(options.scope).map((spec) => {
      this.#latest.set(spec, new Map());
      // Objects deleted while a watch was down are sent as deletes with their last state, as a
      // DELETED event carries it (the handler validates a delete's object like any other).
      return new StreamWatcher({
        ...options.watch,
        clients: options.clients,
        spec,
        log: options.log,
        remember: 'objects',
        onEvent: (e) => this.#onEvent(e),
        onNotServed: (why) => this.#onNotServed(spec, why),
      });
    });
  }

  /** Starts watching; resolves once every existing object has been queued as an `add`. */
  start(): Promise<void> {
    for (const w of this.watchers) w.start();
    const every = this.#o.resyncMs ?? 10 * 60_000;
    if (every > 0) {
      this.#timer = setInterval(() => this.resync(), every);
      this.#timer.unref();
    }
    return this.#started;
  }

  /** Lists every stream again and sends every object as an update (also run periodically). */
  resync(): void {
    this.stats.resyncs++;
    for (const w of this.watchers) w.relist();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    await Promise.all(this.watchers.map((w) => w.stop()));
    this.#o.sender.close();
  }

  #queue(spec: StreamSpec, action: ChangeAction, object: KubeObject, fromList: boolean): void {
    const subject = subjectOf(object);
    const latest = this.#latest.get(spec)!;
    const rv = object.metadata.resourceVersion ?? '';
    const queued = latest.get(subject);
    // A list may be older than a change already queued (it was taken before the change): skip it.
    if (fromList && queued !== undefined && compareVersions(rv, queued) === -1) {
      this.stats.older++;
      return;
    }
    if (action === 'delete') latest.delete(subject);
    else latest.set(subject, rv);
    this.stats[action]++;
    // Without managedFields and kubectl's last-applied copy: smaller events, and the handler drops them anyway.
    this.#o.sender.send({ key: subject, subject, type: SOURCE_EVENT_TYPES[action], data: withoutBookkeeping(object) as unknown as Record<string, unknown> });
  }

  #onEvent(e: StreamEvent): void {
    if (e.type === 'change') return this.#queue(e.spec, e.change.action, e.change.object!, false);
    // The first list is the objects that exist at start: adds. Later lists (resync, 410) are updates.
    for (const object of e.items) this.#queue(e.spec, e.initial ? 'add' : 'update', object, true);
    for (const object of e.gone) this.#queue(e.spec, 'delete', object, true);
    if (e.initial) this.#markListed(e.spec);
  }

  /**
   * The API server does not serve the stream's group/version (or, for an optional stream, RBAC does
   * not grant it: the stream says so itself): there is nothing of it to send, so it does not hold up
   * the start; its objects are sent as adds when the API appears.
   */
  #onNotServed(spec: StreamSpec, why: ApiAbsence): void {
    if (this.#listed.has(spec)) return;
    if (why === 'not served') this.#o.log.warn(`the API server does not serve ${API_VERSIONS[spec.kind]} (${spec.kind}): nothing of it is sent until it appears; asking again periodically`, { kind: spec.kind });
    this.#markListed(spec);
  }

  #markListed(spec: StreamSpec): void {
    if (this.#listed.has(spec)) return;
    this.#listed.add(spec);
    if (this.#listed.size === this.watchers.length) {
      this.#o.log.info('every existing object is queued for the handler', { adds: this.stats.add });
      this.#onStarted();
    }
  }
}
