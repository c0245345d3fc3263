// The watch side of the fake API server: newline-delimited JSON events on a chunked 200 response,
// replayed from the requested resourceVersion, then live; objects entering or leaving the
// selectors become ADDED or DELETED as the watch cache sends them; BOOKMARKs for watches that allow
// them; 410 Gone (an ERROR event, or HTTP 410) for a version that was compacted away. Watches can be
// cut as real ones are (`cut`: after N events or N seconds, by a reset or a clean end).
import type http from 'node:http';
import { apiVersionOf, ApiError, gone, type ResourceDef } from './kube-apiserver-resources.ts';
import type { LogEntry, Obj, VersionedStore } from './kube-apiserver-store.ts';

interface Watcher {
  def: ResourceDef;
  match: (o: Obj) => boolean;
  res: http.ServerResponse;
  bookmarks: boolean;
  timer?: NodeJS.Timeout;
  /** Object events (ADDED, MODIFIED, DELETED) sent so far. */
  sent: number;
  ended: boolean;
  /** The cut rules armed on this watch: the event count they start from, their timer. */
  cuts: Map<CutRule, { base: number; timer?: NodeJS.Timeout }>;
}

/** How the test API server cuts watches (see `FakeApiServer.cutWatches`). */
export interface WatchCut {
  /** Only watches of this kind (default: every kind). */
  kind?: string;
  /** Cut each watch once it has sent this many object events more (bookmarks do not count). */
  afterEvents?: number;
  /** Cut each watch once it has been open this long, counted from the cut's start or the watch's. */
  afterSeconds?: number;
  /**
   * `reset` (default): the TCP connection is reset, the client sees an error (a load balancer, a
   * network, a server that dies); `end`: the stream ends cleanly, as a server closing it.
   */
  how?: 'reset' | 'end';
  /** Stop after cutting this many watches (default: no limit). */
  times?: number;
}

/** A cut in force: `cuts` counts the watches it cut; `cancel` stops it. */
export interface WatchCutHandle {
  readonly cuts: number;
  cancel(): void;
}

interface CutRule {
  options: WatchCut;
  cuts: number;
}

/** How long a reset waits behind the last event written (client-node drops data read with a reset). */
const RESET_GRACE_MS = 20;

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

export class WatchHub {
  readonly #store: VersionedStore;
  readonly #watchers = new Set<Watcher>();
  #rules = new Set<CutRule>();

  constructor(store: VersionedStore) {
    this.#store = store;
    store.onWrite((e) => {
      for (const w of this.#watchers) if (w.def.plural === e.plural) this.#deliver(w, e);
    });
  }

  /** Serves one watch request (`match`: its namespace and selectors). */
  serve(res: http.ServerResponse, def: ResourceDef, match: (o: Obj) => boolean, query: URLSearchParams, goneAsHttp: boolean): void {
    const store = this.#store;
    const asked = query.get('resourceVersion') ?? '';
    const from = asked && asked !== '0' ? Number(asked) : null;
    if (from !== null && !Number.isInteger(from)) throw new ApiError(400, 'BadRequest', `invalid resource version: ${asked}`);
    if (from !== null && from < store.compactedAt && goneAsHttp) throw gone(from, store.compactedAt);
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private' });
    res.flushHeaders();
    const w: Watcher = { def, match, res, bookmarks: query.get('allowWatchBookmarks') === 'true', sent: 0, ended: false, cuts: new Map() };
    if (from !== null && from < store.compactedAt) {
      const err = gone(from, store.compactedAt);
      this.#send(w, 'ERROR', status(410, err.reason, err.message));
      res.end();
      return;
    }
    if (from !== null && from > store.revision) {
      this.#send(w, 'ERROR', status(504, 'Timeout', `Too large resource version: ${from}, current: ${store.revision}`));
      res.end();
      return;
    }
    // The cuts in force count this watch's events from here, its replay included.
    for (const rule of this.#rules) this.#arm(rule, w);
    // No version: the current state as ADDED events first ("get state and start at most recent").
    if (from === null) {
      for (const { object } of store.at(def.plural, store.revision)) if (match(object)) this.#send(w, 'ADDED', object);
    } else {
      for (const entry of store.since(def.plural, from)) this.#deliver(w, entry);
    }
    if (w.ended) return; // cut during the replay
    this.#watchers.add(w);
    const timeout = Number(query.get('timeoutSeconds') ?? 0);
    if (timeout > 0) w.timer = setTimeout(() => this.#end(w), timeout * 1000);
    res.on('close', () => this.#end(w));
  }

  /** A BOOKMARK with the current revision to every watch that allows bookmarks. */
  bookmark(): void {
    for (const w of this.#watchers) {
      if (w.bookmarks) this.#send(w, 'BOOKMARK', { kind: w.def.kind, apiVersion: apiVersionOf(w.def), metadata: { resourceVersion: String(this.#store.revision) } });
    }
  }

  /** Ends every open watch from the server side. */
  dropAll(): void {
    for (const w of [...this.#watchers]) this.#end(w);
  }

  /** Ends the open watches of one kind (its API withdrawn). */
  dropKind(kind: string): void {
    for (const w of [...this.#watchers]) if (w.def.kind === kind) this.#end(w);
  }

  /** Ends the open watches made at one group/version (`gateway.networking.k8s.io/v1`: withdrawn). */
  dropApi(groupVersion: string): void {
    for (const w of [...this.#watchers]) if (apiVersionOf(w.def) === groupVersion) this.#end(w);
  }

  /**
   * Cuts watches: with `afterEvents` or `afterSeconds`, every matching watch open now or opened
   * later, once it reaches that point (until `times` watches were cut or `cancel()`); with neither,
   * every matching watch open now, at once.
   */
  cut(options: WatchCut): WatchCutHandle {
    const rule: CutRule = { options, cuts: 0 };
    const handle = { get cuts() { return rule.cuts; }, cancel: () => this.#disarm(rule) };
    if (options.afterEvents === undefined && options.afterSeconds === undefined) {
      for (const w of [...this.#watchers]) if (this.#matches(rule, w)) this.#cutNow(rule, w);
      return handle;
    }
    this.#rules.add(rule);
    for (const w of [...this.#watchers]) this.#arm(rule, w);
    return handle;
  }

  count(kind?: string): number {
    return [...this.#watchers].filter((w) => !kind || w.def.kind === kind).length;
  }

  #end(w: Watcher): void {
    this.#forget(w);
    if (!w.res.writableEnded && !w.res.destroyed) w.res.end();
  }

  #forget(w: Watcher): void {
    w.ended = true;
    clearTimeout(w.timer);
    for (const { timer } of w.cuts.values()) clearTimeout(timer);
    w.cuts.clear();
    this.#watchers.delete(w);
  }

  #send(w: Watcher, type: string, object: Obj): void {
    if (w.ended || w.res.writableEnded || w.res.destroyed) return;
    // A watch at another version than the stored one gets objects at its version (CRDs: strategy None).
    const sent = w.def.version && type !== 'ERROR' ? { ...object, apiVersion: apiVersionOf(w.def) } : object;
    w.res.write(JSON.stringify({ type, object: sent }) + '\n');
    if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
      w.sent++;
      for (const [rule, armed] of w.cuts) {
        if (rule.options.afterEvents !== undefined && w.sent - armed.base >= rule.options.afterEvents) return this.#cutNow(rule, w);
      }
    }
  }

  #matches(rule: CutRule, w: Watcher): boolean {
    return !rule.options.kind || w.def.kind === rule.options.kind;
  }

  #arm(rule: CutRule, w: Watcher): void {
    if (!this.#matches(rule, w) || w.ended) return;
    const { afterEvents, afterSeconds } = rule.options;
    const armed: { base: number; timer?: NodeJS.Timeout } = { base: w.sent };
    w.cuts.set(rule, armed);
    if (afterEvents === 0 || afterSeconds === 0) return this.#cutNow(rule, w);
    if (afterSeconds !== undefined) armed.timer = setTimeout(() => this.#cutNow(rule, w), afterSeconds * 1000);
  }

  #disarm(rule: CutRule): void {
    this.#rules.delete(rule);
    for (const w of this.#watchers) {
      clearTimeout(w.cuts.get(rule)?.timer);
      w.cuts.delete(rule);
    }
  }

  #cutNow(rule: CutRule, w: Watcher): void {
    if (w.ended) return;
    rule.cuts++;
    if (rule.options.times !== undefined && rule.cuts >= rule.options.times) this.#disarm(rule);
    if ((rule.options.how ?? 'reset') === 'end') return this.#end(w);
    // A reset: nothing more is written, and once what was written has had a moment to reach the
    // client (a reset right behind data makes the client drop it), the connection is reset: the
    // client reads an error, not the end of the stream.
    this.#forget(w);
    const reset = () => setTimeout(() => (w.res.socket ? w.res.socket.resetAndDestroy() : w.res.destroy()), RESET_GRACE_MS);
    if (w.res.destroyed || !w.res.headersSent) reset();
    else w.res.write('', reset);
  }

  /** One write as a watcher sees it through its selectors (entering or leaving them included). */
  #deliver(w: Watcher, e: LogEntry): void {
    if (e.deleted) {
      if (w.match(e.object)) this.#send(w, 'DELETED', e.object);
      return;
    }
    const before = e.previous !== null && w.match(e.previous);
    const now = w.match(e.object);
    if (before && now) this.#send(w, 'MODIFIED', e.object);
    else if (now) this.#send(w, 'ADDED', e.object);
    // Leaving the selectors: the previous content, stamped with this write's version.
    else if (before) this.#send(w, 'DELETED', { ...e.previous, metadata: { ...e.previous!.metadata, resourceVersion: String(e.rv) } });
  }
}
