// One list+watch stream, as client-go's reflector runs it: list (paged), then watch from the list's
// resourceVersion; bookmarks move that version forward without any object changing; a watch that
// ends is resumed from the last version seen; 410 Gone (the version was compacted away, as an ERROR
// event or as HTTP 410) means events were lost, so the stream lists again and reports what vanished
// in between; any other failure is retried with exponential backoff and jitter, except an API that
// is not there (api-presence.ts: 404, the API server does not serve the kind's group/version, e.g.
// a CRD not installed; or 403 on an optional stream, RBAC of a release that does not grant it yet),
// which is asked again slowly (`notServedRetryMs`). A watch that was healthy (it delivered events,
// or stayed connected for a while) clears the backoff: when it is cut, the first retry goes out at
// once (with a little jitter), not after the delay an earlier outage had run up. The backoff is each
// stream's own. A kind whose own version is not served but an older one is (ReferenceGrant v1beta1)
// is listed and watched there and handed on at its own version. Consumers get every list (with the
// objects that disappeared since the previous one) and every change, in order.
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../log.ts';
import { apiAbsence, type ApiAbsence } from './api-presence.ts';
import { apiFailure, describeApiError, type KubeClients } from './kubernetes-client.ts';
import { listServed, type PrepareListed } from './kubernetes-reader.ts';
import { apiOf, streamName, watchPath, type StreamSpec } from './kubernetes-resources.ts';
import { API_VERSIONS, CLUSTER_SCOPED, keyOf, type Change, type Kind, type KubeObject } from './view.ts';

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
  /**
   * Retry delays after failures: base doubling up to max, each drawn in [d/2, d]. A watch that
   * delivered an event (bookmarks included) or stayed connected for `healthyAfterMs` (default 1 s)
   * was healthy: the count starts again, and the retry after it is drawn in [0, base/2].
   */
  backoff?: { baseMs?: number; maxMs?: number; healthyAfterMs?: number };
  /** Server-side watch timeout; each watch draws it in [t, 2t] (client-go: 5–10 minutes). */
  watchTimeoutSeconds?: number;
  /**
   * What is kept of each object to report it gone after a relist: its metadata (default), or the
   * whole object (for consumers that must send a deleted object's last state, as `wharf source` does).
   */
  remember?: 'metadata' | 'objects';
  /**
   * Told each time a list or watch finds the API not there (`why`: 'not served', a 404 for the kind's
   * group/version; 'forbidden', a 403 on an optional stream); what the stream had is then reported
   * gone in an empty list.
   */
  onNotServed?: (why: ApiAbsence) => void;
  /** How often an API that is not there is asked for again (default 30 s). */
  notServedRetryMs?: number;
  /**
   * What the consumer keeps of each listed object (its kind and identity unchanged), applied to each
   * page as it arrives: a large first list's raw pages then never live all at once. Watch events
   * and `gone` are handed on as they are.
   */
  prepare?: PrepareListed;
}

/** How one watch ended; `healthy`: it delivered events or stayed connected for a while. */
type WatchOutcome = { kind: 'gone' } | { kind: 'aborted' } | { kind: 'closed'; healthy: boolean } | { kind: 'failed'; error: Error; healthy: boolean };

const ACTIONS: Record<string, Change['action']> = { ADDED: 'add', MODIFIED: 'update', DELETED: 'delete' };

/** An object's identity in its stream; a cluster-scoped kind's has no namespace, whatever a prepared object says. */
const idOf = (o: KubeObject) => `${CLUSTER_SCOPED.has(o.kind as Kind) ? '' : (o.metadata.namespace ?? '')}/${o.metadata.name}`;

/**
 * What a stream remembers of each object to report it gone after a relist: the whole object
 * (`remember: 'objects'`), or only its uid (the rest of what identifies it is its id): a stub
 * object per object was about 200 B an Ingress, 20 MB at 100,000.
 */
type Memo = KubeObject | string;

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
  #known = new Map<string, Memo>();
  #stopped = false;
  #relistRequested = false;
  #abort: AbortController | null = null;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;
  #failures = 0;
  #lastError: string | null = null;
  #absence: ApiAbsence | null = null;
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

  start(): void {
    this.#loop ??= this.#run();
  }

  /** Why the stream is not listing or watching right now (the last failure), null while it works. */
  get lastError(): string | null {
    return this.#lastError;
  }

  /**
   * True while the stream's API is not there: the API server does not serve its group/version (its
   * last answer was 404), or, for an optional stream, RBAC does not grant it (403). It holds nothing.
   */
  get notServed(): boolean {
    return this.#absence !== null;
  }

  /** Why the stream's API is not there (see `notServed`), null while it is read. */
  get absence(): ApiAbsence | null {
    return this.#absence;
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
        const absence = outcome.kind === 'failed' ? apiAbsence(this.spec, outcome.error) : null;
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
          if (outcome.healthy) this.#failures = 0;
          else await this.#sleep(this.#delay());
        } else if (outcome.kind === 'failed' && absence) {
          // The group/version went away while watched (a CRD deleted): as when a list finds it missing.
          needList = true;
          this.#whileNotServed(outcome.error.message, absence);
          await this.#sleep(this.#o.notServedRetryMs ?? 30_000);
        } else if (outcome.kind === 'failed') {
          this.#lastError = outcome.error.message;
          // A healthy watch that is cut (a load balancer, a blip, the server going away) is retried at
          // once: the failures before it are history, and every second waited is a second of stale
          // routing. One that failed without delivering anything backs off further.
          this.stats.errors++;
          if (outcome.healthy) this.#failures = 0;
          const delay = outcome.healthy ? this.#jitter() : this.#delay();
          const fields = { error: outcome.error.message, retryInMs: Math.round(delay), resourceVersion: this.#resourceVersion };
          if (outcome.healthy) this.#log.info('watch cut: resuming', fields);
          else this.#log.warn('watch failed: retrying', fields);
          await this.#sleep(delay);
        }
      } catch (e) {
        if (this.#stopped) break;
        if (apiFailure(e).code === 410) {
          this.stats.gone++;
          needList = true;
          continue;
        }
        const absence = apiAbsence(this.spec, e);
        if (absence) {
          needList = true;
          this.#whileNotServed((e as Error).message, absence);
          await this.#sleep(this.#o.notServedRetryMs ?? 30_000);
          continue;
        }
        this.#lastError = (e as Error).message;
        this.stats.errors++;
        const delay = this.#delay();
        this.#log.warn('list failed: retrying', { error: (e as Error).message, retryInMs: Math.round(delay), resourceVersion: this.#resourceVersion });
        await this.#sleep(delay);
      }
    }
  }

  /** The API is not there: what the stream had is gone (an empty list), and the consumer is told. */
  #whileNotServed(message: string, why: ApiAbsence): void {
    this.#lastError = message;
    if (this.#absence !== why) {
      this.#absence = why;
      const fields = { api: apiOf(this.spec.kind), error: message, retryInMs: this.#o.notServedRetryMs ?? 30_000 };
      // A consumer that is told (the handler's feed) logs a missing API by name with what wharf does
      // without it. RBAC is this stream's own: said here, once per stream.
      if (why === 'forbidden') this.#log.warn('not allowed to list this API: reading none of it until RBAC grants get, list and watch', fields);
      else if (!this.#o.onNotServed) this.#log.warn('the API server does not serve this kind: asking again periodically', fields);
      if (this.#known.size) {
        const gone = [...this.#known].map(([id, memo]) => this.#goneAt(id, memo, this.#resourceVersion));
        this.#known = new Map();
        this.#emit({ type: 'listed', spec: this.spec, items: [], resourceVersion: this.#resourceVersion, initial: false, gone });
      }
    }
    try {
      this.#o.onNotServed?.(why);
    } catch (e) {
      this.#log.error('a consumer of the stream failed', { error: e });
    }
  }

  /** The retry right after a healthy watch: at once, spread a little so that replicas do not all reconnect in the same millisecond. */
  #jitter(): number {
    return Math.random() * ((this.#o.backoff?.baseMs ?? 200) / 2);
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

  #memo(o: KubeObject): Memo {
    return this.#o.remember === 'objects' ? o : (o.metadata.uid ?? '');
  }

  /** An object reported deleted at `resourceVersion`: its last state, or the metadata that identifies it. */
  #goneAt(id: string, memo: Memo, resourceVersion: string): KubeObject {
    if (typeof memo !== 'string') return deletedAt(memo, resourceVersion);
    const slash = id.indexOf('/');
    const metadata: KubeObject['metadata'] = { name: id.slice(slash + 1) };
    if (slash > 0) metadata.namespace = id.slice(0, slash);
    if (memo) metadata.uid = memo;
    metadata.resourceVersion = resourceVersion;
    return { apiVersion: API_VERSIONS[this.spec.kind], kind: this.spec.kind, metadata };
  }

  #emit(event: StreamEvent): void {
    try {
      this.#o.onEvent(event);
    } catch (e) {
      this.#log.error('a consumer of the stream failed', { error: e });
    }
  }

  async #list(initial: boolean): Promise<void> {
    const list = await listServed(this.#o.clients, this.spec, this.#o.pageSize, this.#o.prepare);
    this.stats.lists++;
    if (list.version !== this.#servedVersion) {
      this.#servedVersion = list.version;
      if (list.version) this.#log.info('reading an older version of the API, which this cluster serves instead', { api: apiOf(this.spec.kind), version: list.version });
    }
    // A missing API's return is said by whoever said it was missing (the feed's presence, or here).
    if (this.#absence === 'forbidden' || (this.#absence && !this.#o.onNotServed)) this.#log.info('the API can be read now: reading it', { api: apiOf(this.spec.kind) });
    this.#lastError = null;
    this.#absence = null;
    const before = this.#known;
    this.#known = new Map(list.items.map((o) => [idOf(o), this.#memo(o)]));
    const gone: KubeObject[] = [];
    for (const [id, memo] of before) if (!this.#known.has(id)) gone.push(this.#goneAt(id, memo, list.resourceVersion));
    this.#resourceVersion = list.resourceVersion;
    this.#emit({ type: 'listed', spec: this.spec, items: list.items, resourceVersion: list.resourceVersion, initial, gone });
  }

  /** Applies one watch event; false when it was not an object change (ignored). */
  #onWatchEvent(type: string, raw: unknown): boolean {
    const action = ACTIONS[type];
    const object = raw as KubeObject;
    if (!action || !object?.metadata?.name) return false;
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
    return true;
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
    const healthyAfterMs = this.#o.backoff?.healthyAfterMs ?? 1000;
    let connectedAt: number | null = null;
    let delivered = 0;
    const healthy = () => delivered > 0 || (connectedAt !== null && Date.now() - connectedAt >= healthyAfterMs);
    return new Promise<WatchOutcome>((resolve) => {
      let gone = false;
      let failure: Error | null = null;
      let finished = false;
      const onEvent = (type: string, object: unknown) => {
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
          delivered++;
          return;
        }
        if (this.#onWatchEvent(type, object)) delivered++;
      };
      const onDone = (err: unknown) => {
        if (finished) return;
        finished = true;
        this.#abort = null;
        if (this.#stopped || this.#relistRequested) resolve({ kind: 'aborted' });
        else if (gone) resolve({ kind: 'gone' });
        else if (failure) resolve({ kind: 'failed', error: failure, healthy: healthy() });
        else if (err && (err as Error).name === 'TimeoutError') resolve({ kind: 'closed', healthy: healthy() });
        else if (err) {
          if (apiFailure(err).code === 410) resolve({ kind: 'gone' });
          else {
            const error = new Error(`watching ${streamName(spec)} from resourceVersion ${this.#resourceVersion}: ${describeApiError(err)}`, { cause: err });
            resolve({ kind: 'failed', error, healthy: healthy() });
          }
        } else resolve({ kind: 'closed', healthy: healthy() });
      };
      watch.watch(watchPath(this.#servedVersion ? { ...spec, version: this.#servedVersion } : spec), params, onEvent, onDone).then(
        (controller) => {
          if (finished) return;
          // client-node hands the controller over once the server answered 200: connected.
          connectedAt = Date.now();
          this.#abort = controller;
          if (this.#stopped || this.#relistRequested) controller.abort();
        },
        (e) => onDone(e),
      );
    });
  }
}
