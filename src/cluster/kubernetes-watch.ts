// One list+watch stream, as client-go's reflector runs it: list (paged), then watch from the list's
// resourceVersion; bookmarks move that version forward without any object changing; a watch that
// ends is resumed from the last version seen; 410 Gone (the version was compacted away, as an ERROR
// event or as HTTP 410) means events were lost, so the stream lists again and reports what vanished
// in between; any other failure is retried with exponential backoff and jitter. Consumers get every
// list (with the objects that disappeared since the previous one) and every change, in order.
// An optional stream (a Gateway API kind, Namespaces) whose API is not served (404: no CRD) or not
// granted (403) is reported once as an empty list, logged once by name, and listed again every
// `notServedRetryMs` until it can be read.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { apiFailure, describeApiError, type KubeClients } from './kubernetes-client.ts';
import { absentApi, listServed } from './kubernetes-reader.ts';
import { apiOf, streamName, watchPath, type StreamSpec } from './kubernetes-resources.ts';
import { API_VERSIONS, keyOf, type Change, type KubeObject } from './view.ts';

/** What a stream reports, in the order it happened. */
export type StreamEvent =
  | {
      type: 'listed';
      spec: StreamSpec;
      /** Every object of the stream as of `resourceVersion`. */
      items: KubeObject[];
      resourceVersion: string;
      /** The stream's first list (at start); later lists follow a 410 Gone or a `relist()`. */
      initial: boolean;
      /**
       * Objects the previous list or watch had that this list lacks: deleted meanwhile, stamped with
       * the list's version (their last known state with `remember: 'objects'`, else metadata only).
       */
      gone: KubeObject[];
    }
  | { type: 'change'; spec: StreamSpec; change: Change };

export interface StreamWatcherOptions {
  clients: KubeClients;
  spec: StreamSpec;
  /** Called synchronously, in order; an exception is logged and does not stop the stream. */
  onEvent: (event: StreamEvent) => void;
  log: Logger;
  pageSize?: number;
  /** Retry delays after failures: base doubling up to max, each drawn in [d/2, d]. */
  backoff?: { baseMs?: number; maxMs?: number };
  /** Server-side watch timeout; each watch draws it in [t, 2t] (client-go: 5–10 minutes). */
  watchTimeoutSeconds?: number;
  /**
   * What is kept of each object to report it gone after a relist: its metadata (default), or the
   * whole object (for consumers that must send a deleted object's last state, as `wharf source` does).
   */
  remember?: 'metadata' | 'objects';
  /** How often an optional stream whose API is not served is listed again (default 60 s). */
  notServedRetryMs?: number;
  /** Told each time an optional stream finds its API not served or not granted (after its empty list, if any). */
  onNotServed?: () => void;
}

type WatchOutcome = { kind: 'gone' } | { kind: 'aborted' } | { kind: 'closed'; received: number; lastedMs: number };

const ACTIONS: Record<string, Change['action']> = { ADDED: 'add', MODIFIED: 'update', DELETED: 'delete' };

const idOf = (o: KubeObject) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;

/** The metadata that identifies an object, for deletes learnt from a list. */
function stub(o: KubeObject): KubeObject {
  const metadata: KubeObject['metadata'] = { name: o.metadata.name };
  if (o.metadata.namespace) metadata.namespace = o.metadata.namespace;
  if (o.metadata.uid) metadata.uid = o.metadata.uid;
  return { apiVersion: o.apiVersion, kind: o.kind, metadata };
}

/** An object reported deleted at `resourceVersion` (a list's version), as a DELETED event carries it. */
const deletedAt = (o: KubeObject, resourceVersion: string): KubeObject => ({ ...o, metadata: { ...o.metadata, resourceVersion } });

/** Lists and watches one stream until stopped. */
export class StreamWatcher {
  readonly spec: StreamSpec;
  /** Counts for logs, metrics and tests. */
  readonly stats = { lists: 0, watches: 0, gone: 0, errors: 0, bookmarks: 0, changes: 0 };
  readonly #o: StreamWatcherOptions;
  readonly #log: Logger;
  #resourceVersion = '';
  #known = new Map<string, KubeObject>();
  #stopped = false;
  #relistRequested = false;
  #abort: AbortController | null = null;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #failures = 0;
  #notServed = false;
  /** The older version the stream reads at, when the kind's own is not served (see OLDER_VERSIONS). */
  #servedVersion: string | undefined;

  constructor(options: StreamWatcherOptions) {
    this.#o = options;
    this.spec = options.spec;
    this.#log = options.log.child({ stream: streamName(options.spec) });
  }

  /** The version the stream has seen up to (the next watch starts there). */
  get resourceVersion(): string {
    return this.#resourceVersion;
  }

  /** An optional stream whose API the cluster does not serve (or grant) now: it holds nothing. */
  get notServed(): boolean {
    return this.#notServed;
  }

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Lists again now (a periodic resync): the current watch ends and resumes from the new list. */
  relist(): void {
    this.#relistRequested = true;
    this.#abort?.abort();
    this.#wake?.();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#abort?.abort();
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    let needList = true;
    let initial = true;
    while (!this.#stopped) {
      try {
        let listed = false;
        if (needList || this.#relistRequested) {
          this.#relistRequested = false;
          await this.#list(initial);
          initial = false;
          needList = false;
          listed = true;
          this.#failures = 0;
        }
        const outcome = await this.#watchOnce();
        if (outcome.kind === 'gone') {
          this.stats.gone++;
          this.#log.info('watch expired (410 Gone): listing again', { resourceVersion: this.#resourceVersion });
          needList = true;
          // Gone right after a fresh list is not normal (a server serving lists from a stale cache):
          // list again, but not in a tight loop.
          if (listed) await this.#sleep(this.#delay());
        } else if (outcome.kind === 'closed') {
          // A watch that ends on its own (timeoutSeconds) is resumed at once; one that ends before
          // delivering anything is retried with backoff, so a server that closes at once is not hammered.
          if (outcome.received > 0 || outcome.lastedMs >= 1000) this.#failures = 0;
          else await this.#sleep(this.#delay());
        }
      } catch (e) {
        if (this.#stopped) break;
        const absent = absentApi(this.spec, e);
        if (absent) {
          this.#markAbsent(initial, absent);
          initial = false;
          needList = true;
          await this.#sleep(this.#o.notServedRetryMs ?? 60_000);
          continue;
        }
        if (apiFailure(e).code === 410) {
          this.stats.gone++;
          needList = true;
          continue;
        }
        this.stats.errors++;
        const delay = this.#delay();
        this.#log.warn('list or watch failed: retrying', { error: (e as Error).message, retryInMs: Math.round(delay), resourceVersion: this.#resourceVersion });
        await this.#sleep(delay);
      }
    }
  }

  #delay(): number {
    const base = this.#o.backoff?.baseMs ?? 200;
    const max = this.#o.backoff?.maxMs ?? 30_000;
    const ceiling = Math.min(max, base * 2 ** Math.min(this.#failures++, 30));
    return ceiling / 2 + Math.random() * (ceiling / 2);
  }

  /** Waits `ms`, or less when relist() or stop() wakes the stream. */
  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#wake = wake;
    });
  }

  #memo(o: KubeObject): KubeObject {
    return this.#o.remember === 'objects' ? o : stub(o);
  }

  #emit(event: StreamEvent): void {
    try {
      this.#o.onEvent(event);
    } catch (e) {
      this.#log.error('a consumer of the stream failed', { error: e });
    }
  }

  /** The API is not served: an empty list (once, and whenever objects were known), said once. */
  #markAbsent(initial: boolean, why: 'not served' | 'forbidden'): void {
    const gone = [...this.#known.values()].map((o) => deletedAt(o, this.#resourceVersion || '0'));
    this.#known.clear();
    this.#resourceVersion = '';
    const retryInMs = this.#o.notServedRetryMs ?? 60_000;
    if (!this.#notServed && why === 'not served') this.#log.info('this cluster does not serve the API (its CRD is not installed): reading none of it, checking again later', { api: apiOf(this.spec.kind), retryInMs });
    if (!this.#notServed && why === 'forbidden') this.#log.warn('not allowed to list this API: reading none of it until RBAC grants get, list and watch', { api: apiOf(this.spec.kind), retryInMs });
    this.#notServed = true;
    if (initial || gone.length) this.#emit({ type: 'listed', spec: this.spec, items: [], resourceVersion: '0', initial, gone });
    try {
      this.#o.onNotServed?.();
    } catch (e) {
      this.#log.error('a consumer of the stream failed', { error: e });
    }
  }

  async #list(initial: boolean): Promise<void> {
    const list = await listServed(this.#o.clients, this.spec, this.#o.pageSize);
    this.stats.lists++;
    if (list.version !== this.#servedVersion) {
      this.#servedVersion = list.version;
      if (list.version) this.#log.info('reading an older version of the API, which this cluster serves instead', { api: apiOf(this.spec.kind), version: list.version });
    }
    if (this.#notServed) {
      this.#notServed = false;
      this.#log.info('the API is served now: reading it', { api: apiOf(this.spec.kind) });
    }
    const before = this.#known;
    this.#known = new Map(list.items.map((o) => [idOf(o), this.#memo(o)]));
    const gone: KubeObject[] = [];
    for (const [id, o] of before) if (!this.#known.has(id)) gone.push(deletedAt(o, list.resourceVersion));
    this.#resourceVersion = list.resourceVersion;
    this.#emit({ type: 'listed', spec: this.spec, items: list.items, resourceVersion: list.resourceVersion, initial, gone });
  }

  #onWatchEvent(type: string, raw: unknown): void {
    const action = ACTIONS[type];
    const object = raw as KubeObject;
    if (!action || !object?.metadata?.name) return;
    // Read at an older version: handed on as the version wharf reads (the same object).
    if (this.#servedVersion) object.apiVersion = API_VERSIONS[this.spec.kind];
    object.apiVersion ??= API_VERSIONS[this.spec.kind];
    object.kind ??= this.spec.kind;
    const rv = object.metadata.resourceVersion;
    if (rv) this.#resourceVersion = rv;
    if (action === 'delete') this.#known.delete(idOf(object));
    else this.#known.set(idOf(object), this.#memo(object));
    this.stats.changes++;
    const change: Change = { action, key: keyOf(object), object };
    if (rv) change.resourceVersion = rv;
    this.#emit({ type: 'change', spec: this.spec, change });
  }

  #watchOnce(): Promise<WatchOutcome> {
    const { spec } = this;
    // client-node ends a watch that stays silent for 30 s (TimeoutError): on a quiet stream that is a
    // cheap resume from the same version, not a failure.
    const watch = new k8s.Watch(this.#o.clients.kubeConfig);
    const minTimeout = this.#o.watchTimeoutSeconds ?? 300;
    const params: Record<string, string | number | boolean> = {
      allowWatchBookmarks: true,
      resourceVersion: this.#resourceVersion,
      timeoutSeconds: Math.round(minTimeout * (1 + Math.random())),
    };
    if (spec.fieldSelector) params.fieldSelector = spec.fieldSelector;
    if (spec.labelSelector) params.labelSelector = spec.labelSelector;
    this.stats.watches++;
    const started = Date.now();
    return new Promise<WatchOutcome>((resolve, reject) => {
      let gone = false;
      let failure: Error | null = null;
      let received = 0;
      let finished = false;
      const onEvent = (type: string, object: unknown) => {
        received++;
        if (type === 'ERROR') {
          const status = (object ?? {}) as { code?: number; reason?: string; message?: string };
          if (status.code === 410) gone = true;
          else failure = new Error(`watch of ${streamName(spec)} sent an error: ${status.code ?? ''} ${status.reason ?? ''}: ${status.message ?? ''}`);
          return;
        }
        if (type === 'BOOKMARK') {
          const rv = (object as KubeObject | undefined)?.metadata?.resourceVersion;
          if (rv) this.#resourceVersion = rv;
          this.stats.bookmarks++;
          return;
        }
        this.#onWatchEvent(type, object);
      };
      const onDone = (err: unknown) => {
        if (finished) return;
        finished = true;
        this.#abort = null;
        if (this.#stopped || this.#relistRequested) resolve({ kind: 'aborted' });
        else if (gone) resolve({ kind: 'gone' });
        else if (failure) reject(failure);
        else if (err && (err as Error).name === 'TimeoutError') resolve({ kind: 'closed', received, lastedMs: Date.now() - started });
        else if (err) {
          if (apiFailure(err).code === 410) resolve({ kind: 'gone' });
          else reject(new Error(`watching ${streamName(spec)} from resourceVersion ${this.#resourceVersion}: ${describeApiError(err)}`, { cause: err }));
        } else resolve({ kind: 'closed', received, lastedMs: Date.now() - started });
      };
      watch.watch(watchPath(this.#servedVersion ? { ...spec, version: this.#servedVersion } : spec), params, onEvent, onDone).then(
        (controller) => {
          if (finished) return;
          this.#abort = controller;
          if (this.#stopped || this.#relistRequested) controller.abort();
        },
        (e) => onDone(e),
      );
    });
  }
}
