// The watch side of the fake API server: newline-delimited JSON events on a chunked 200 response,
// replayed from the requested resourceVersion, then live; objects entering or leaving the
// selectors become ADDED or DELETED as the watch cache sends them; BOOKMARKs for watches that allow
// them; 410 Gone (an ERROR event, or HTTP 410) for a version that was compacted away.
import type http from 'node:http';
import { apiVersionOf, ApiError, gone, type ResourceDef } from './kube-apiserver-resources.ts';
import type { LogEntry, Obj, VersionedStore } from './kube-apiserver-store.ts';

interface Watcher {
  def: ResourceDef;
  match: (o: Obj) => boolean;
  res: http.ServerResponse;
  bookmarks: boolean;
  timer?: NodeJS.Timeout;
}

const status = (code: number, reason: string, message: string) => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code });

export class WatchHub {
  readonly #store: VersionedStore;
  readonly #watchers = new Set<Watcher>();

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
    const w: Watcher = { def, match, res, bookmarks: query.get('allowWatchBookmarks') === 'true' };
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
    // No version: the current state as ADDED events first ("get state and start at most recent").
    if (from === null) {
      for (const { object } of store.at(def.plural, store.revision)) if (match(object)) this.#send(w, 'ADDED', object);
    } else {
      for (const entry of store.since(def.plural, from)) this.#deliver(w, entry);
    }
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

  count(kind?: string): number {
    return [...this.#watchers].filter((w) => !kind || w.def.kind === kind).length;
  }

  #end(w: Watcher): void {
    clearTimeout(w.timer);
    this.#watchers.delete(w);
    if (!w.res.writableEnded) w.res.end();
  }

  #send(w: Watcher, type: string, object: Obj): void {
    // A watch at another version than the stored one gets objects at its version (CRDs: strategy None).
    const sent = w.def.version && type !== 'ERROR' ? { ...object, apiVersion: apiVersionOf(w.def) } : object;
    if (!w.res.writableEnded) w.res.write(JSON.stringify({ type, object: sent }) + '\n');
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
