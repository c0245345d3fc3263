// A Kubernetes API server in the test process, speaking the real wire protocol well enough for
// @kubernetes/client-node 2.x: lists with resourceVersion and limit/continue paging from one
// consistent snapshot, chunked watch streams (ADDED/MODIFIED/DELETED/BOOKMARK, replay from a
// resourceVersion, selector transitions), 410 Gone for compacted revisions (as an ERROR event, as
// the watch cache sends it, or as HTTP 410), the status subresource (GET/PUT/PATCH, merge and JSON
// patch, resourceVersion preconditions), Events, Leases, Namespaces, the Gateway API's CRDs
// (kube-apiserver-crds.ts: every served version, validated against their schemas), and discovery of
// the groups it serves (`withdrawApi` and `restoreApi` take a group/version or a whole group away and
// bring it back: kube-apiserver-discovery.ts; `gatewayApi: false` starts without the Gateway API's
// CRDs). It refuses what the real one refuses, so what passes here is what a cluster accepts. Tests
// write objects through its test API (`put`, `remove`, `compact`, `bookmark`, `dropWatches`) and
// read what clients wrote (`requests`, `statusWrites`, `list('Event')`). Tests only: never imported
// from src/. It fails as real ones do (`cutWatches`, `down`/`up`/`outage`, `restart`): see
// kube-apiserver-outage.ts and the cuts in kube-apiserver-watch.ts.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { applyPatch, PatchError } from './kube-apiserver-patch.ts';
import { GATEWAY_API_GROUP, gatewayApiResources } from './kube-apiserver-crds.ts';
import { ApiError, apiVersionOf, conflict, DNS1123_SUBDOMAIN, gone, notFound, qualified, RESOURCES, selectorMatcher, type ResourceDef } from './kube-apiserver-resources.ts';
import { ServedApis } from './kube-apiserver-discovery.ts';
import { keyOf, VersionedStore, type Obj } from './kube-apiserver-store.ts';
import { ServerOutage, type OutageMode } from './kube-apiserver-outage.ts';
import { WatchHub, type WatchCut, type WatchCutHandle } from './kube-apiserver-watch.ts';

/** One request as the server saw it. */
export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  /** The bearer token (tests give each client its own, to tell them apart). */
  user: string;
  contentType: string;
  body: string;
  status: number;
  /** Date.now() when it arrived. */
  at: number;
}

/** One write to an Ingress's (or Service's) status subresource that changed it. */
export interface StatusWrite {
  kind: string;
  namespace: string;
  name: string;
  user: string;
  method: string;
  contentType: string;
  /** The status after the write. */
  status: Obj;
  resourceVersion: string;
  at: number;
}

export interface FakeApiServerOptions {
  /** Accepted bearer tokens; default: any token (still recorded as the request's user). */
  tokens?: string[];
  /** Send a BOOKMARK to watches that allow them this often (default: only when `bookmark()` is called). */
  bookmarkEveryMs?: number;
  /**
   * Serve the Gateway API CRDs (default true; false: a cluster without them, the group answers 404,
   * as after `withdrawApi('gateway.networking.k8s.io')`; `restoreApi` with the same installs them).
   */
  gatewayApi?: boolean;
  /** Serve only these versions of a Gateway API kind, as an older release does (`{ ReferenceGrant: ['v1beta1'] }`: before v1.5). */
  gatewayApiVersions?: Record<string, string[]>;
}

type Fault = { when: (r: { method: string; path: string; query: URLSearchParams; user: string }) => boolean; status: number; times: number; asWatchEvent: boolean };

/** The fake API server and its test API. */
export class FakeApiServer {
  readonly store = new VersionedStore();
  readonly requests: RequestRecord[] = [];
  readonly statusWrites: StatusWrite[] = [];
  /** Answer a watch from a compacted revision with HTTP 410 instead of an ERROR event in a 200 stream. */
  goneAsHttp = false;
  /** Called before each request is served (tests write objects or compact between two pages of a list). */
  onRequest?: (request: RequestRecord) => void;
  url = '';
  #server: http.Server;
  #watches: WatchHub;
  #outage: ServerOutage;
  #faults: Fault[] = [];
  #tokens?: Set<string>;
  #bookmarkTimer?: NodeJS.Timeout;
  /** Every kind it knows: the built-in ones and the Gateway API's (at the versions it serves). */
  #resources: ResourceDef[];
  #apis: ServedApis;

  private constructor(options: FakeApiServerOptions) {
    this.#tokens = options.tokens ? new Set(options.tokens) : undefined;
    const only = options.gatewayApiVersions ?? {};
    const gateway = gatewayApiResources().map((d) => (only[d.kind] ? { ...d, versions: d.versions!.filter((v) => only[d.kind]!.includes(v)) } : d));
    this.#resources = [...RESOURCES, ...gateway];
    this.#apis = new ServedApis(this.#resources);
    if (options.gatewayApi === false) this.#apis.withdraw(GATEWAY_API_GROUP);
    this.#server = http.createServer((req, res) => void this.#handle(req, res));
    this.#watches = new WatchHub(this.store);
    this.#outage = new ServerOutage(this.#server);
    if (options.bookmarkEveryMs) this.#bookmarkTimer = setInterval(() => this.bookmark(), options.bookmarkEveryMs);
  }

  /** Starts a server on 127.0.0.1 and a free port. */
  static async start(options: FakeApiServerOptions = {}): Promise<FakeApiServer> {
    const api = new FakeApiServer(options);
    await new Promise<void>((r) => api.#server.listen(0, '127.0.0.1', r));
    api.url = `http://127.0.0.1:${(api.#server.address() as AddressInfo).port}`;
    return api;
  }

  // ---------------------------------------------------------------------------------------------
  // Test API

  /** The current (last written) resourceVersion. */
  get revision(): number {
    return this.store.revision;
  }

  /** Creates or replaces an object as a client with full rights would (status included). */
  put(object: Obj): Obj {
    const def = this.#servedAt(this.#defOfKind(object.kind), object.apiVersion);
    const namespace = def.namespaced ? (object.metadata?.namespace ?? 'default') : '';
    const current = this.store.current(def.plural, keyOf(namespace, object.metadata.name));
    const stamped = this.#stamp(def, namespace, structuredClone(object), current, 'all');
    return this.store.write(def.plural, keyOf(namespace, object.metadata.name), stamped);
  }

  /** Deletes an object; returns its last state (or null when it did not exist). */
  remove(kind: string, namespace: string, name: string): Obj | null {
    const def = this.#defOfKind(kind);
    const key = keyOf(def.namespaced ? namespace : '', name);
    if (!this.store.current(def.plural, key)) return null;
    return this.store.write(def.plural, key, null);
  }

  get(kind: string, namespace: string, name: string): Obj | null {
    const def = this.#defOfKind(kind);
    return this.store.current(def.plural, keyOf(def.namespaced ? namespace : '', name));
  }

  list(kind: string): Obj[] {
    const def = this.#defOfKind(kind);
    return this.store.at(def.plural, this.store.revision).map((e) => e.object);
  }

  /** Makes every revision before now unreachable, as etcd's compaction does. */
  compact(): void {
    this.store.compact();
  }

  /** Sends a BOOKMARK with the current revision to every watch that allows bookmarks. */
  bookmark(): void {
    this.#watches.bookmark();
  }

  /** Ends every open watch stream from the server side (an API server restart, a load balancer timeout). */
  dropWatches(): void {
    this.#watches.dropAll();
  }

  /**
   * Stops serving a group/version (`discovery.k8s.io/v1`), or every version of a group
   * (`gateway.networking.k8s.io`: its CRDs deleted), as a cluster without it: discovery leaves it
   * out, its resource paths answer 404, its open watches end. The objects it held stay in the store
   * (tests may still `put` them) and are served again after `restoreApi`.
   */
  withdrawApi(api: string): void {
    for (const groupVersion of this.#apis.withdraw(api)) this.#watches.dropApi(groupVersion);
  }

  /** Serves a withdrawn group/version (or group) again, without a restart (a CRD installed, a cluster upgraded). */
  restoreApi(api: string): void {
    this.#apis.restore(api);
  }

  openWatches(kind?: string): number {
    return this.#watches.count(kind);
  }

  /**
   * The next `times` requests that match get `status` (a Status error) instead of an answer; with
   * `asWatchEvent`, a watch gets it as an ERROR event in a 200 stream, as the watch cache sends errors.
   */
  fail(when: Fault['when'], status: number, times = 1, asWatchEvent = false): void {
    this.#faults.push({ when, status, times, asWatchEvent });
  }

  /** Cuts watches as load balancers, networks and dying servers do: now, or after N events or seconds (see WatchCut). */
  cutWatches(cut: WatchCut = {}): WatchCutHandle {
    return this.#watches.cut(cut);
  }

  /**
   * The server goes away: every open connection (watches included) is reset, and until `up()` nothing
   * listens on its port (`refuse`) or every connection is reset at once (`reset`).
   */
  down(mode: OutageMode = 'refuse'): void {
    this.#watches.cut({});
    this.#outage.down(mode);
  }

  /** The server is back, on the same port, with the same objects and versions. */
  up(): Promise<void> {
    return this.#outage.up();
  }

  /** `down(mode)` for `ms`, then `up()`. */
  async outage(ms: number, mode: OutageMode = 'refuse'): Promise<void> {
    this.down(mode);
    await new Promise((r) => setTimeout(r, ms));
    await this.up();
  }

  /**
   * A restart onto a restored or compacted etcd: every connection is reset, the server is away for
   * `downForMs`, and resourceVersions continue from a new base `revisionJump` ahead (etcd's
   * `--bump-revision --mark-compacted`): objects keep their versions, but a watch or a continue token
   * from any version before the restart gets 410 Gone.
   */
  async restart(o: { downForMs?: number; revisionJump?: number } = {}): Promise<void> {
    this.down('refuse');
    this.store.advance(o.revisionJump ?? 1000);
    this.store.compact();
    await new Promise((r) => setTimeout(r, o.downForMs ?? 0));
    await this.up();
  }

  /** A KubeConfig for client-node pointing at this server, authenticating with `token`. */
  kubeConfig(token = 'test'): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'fake', server: this.url, skipTLSVerify: true }],
      users: [{ name: 'user', token }],
      contexts: [{ name: 'fake', cluster: 'fake', user: 'user' }],
      currentContext: 'fake',
    });
    return kc;
  }

  /** The same as a kubeconfig file (for processes started with KUBECONFIG). */
  kubeconfigYaml(token = 'test'): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      `- name: fake\n  cluster:\n    server: ${this.url}\n    insecure-skip-tls-verify: true`,
      'users:',
      `- name: user\n  user:\n    token: ${token}`,
      'contexts:',
      '- name: fake\n  context:\n    cluster: fake\n    user: user',
      'current-context: fake',
      '',
    ].join('\n');
  }

  async close(): Promise<void> {
    this.#outage.dispose();
    clearInterval(this.#bookmarkTimer);
    this.dropWatches();
    await new Promise<void>((r) => {
      this.#server.close(() => r());
      this.#server.closeAllConnections();
    });
  }

  // ---------------------------------------------------------------------------------------------
  // HTTP

  #defOfKind(kind: string): ResourceDef {
    const def = this.#resources.find((d) => d.kind === kind);
    if (!def) throw new Error(`the fake API server does not serve ${kind}`);
    return def;
  }

  /** The def as one request sees it: at the version of `apiVersion` (default: the stored one). */
  #servedAt(def: ResourceDef, apiVersion?: string): ResourceDef {
    if (!apiVersion) return def;
    const version = def.group ? apiVersion.slice(def.group.length + 1) : apiVersion;
    if (!apiVersion.startsWith(def.group ? `${def.group}/` : '') || !(def.versions ?? ['v1']).includes(version)) {
      throw new Error(`${def.kind} is served as ${(def.versions ?? ['v1']).map((v) => apiVersionOf({ ...def, version: v })).join(', ')}, not ${apiVersion}`);
    }
    return { ...def, version };
  }

  /** An object as a request at another version than the stored one gets it (the CRDs convert with strategy None). */
  #out(def: ResourceDef, object: Obj): Obj {
    return def.version ? { ...object, apiVersion: apiVersionOf(def) } : object;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const user = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
    const record: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      user,
      contentType: String(req.headers['content-type'] ?? ''),
      body,
      status: 200,
      at: Date.now(),
    };
    this.requests.push(record);
    try {
      this.onRequest?.(record);
      if (this.#tokens && !this.#tokens.has(user)) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      const fault = this.#faults.find((f) => f.times > 0 && f.when({ method: record.method, path: url.pathname, query: url.searchParams, user }));
      if (fault) {
        fault.times--;
        if (fault.asWatchEvent) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `injected failure (${fault.status})`, reason: 'InternalError', code: fault.status } }) + '\n');
          return;
        }
        throw new ApiError(fault.status, fault.status === 429 ? 'TooManyRequests' : 'InternalError', `injected failure (${fault.status})`);
      }
      await this.#route(req, res, url, body, record);
    } catch (e) {
      const err = e instanceof ApiError ? e : e instanceof PatchError ? new ApiError(e.code, e.code === 422 ? 'Invalid' : 'BadRequest', e.message) : new ApiError(500, 'InternalError', String((e as Error)?.stack ?? e));
      record.status = err.code;
      if (res.headersSent) {
        res.end();
        return;
      }
      this.#json(res, err.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.reason, ...(err.details ? { details: err.details } : {}), code: err.code });
    }
  }

  #json(res: http.ServerResponse, code: number, value: unknown): void {
    const text = JSON.stringify(value);
    res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  }

  async #route(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string, record: RequestRecord): Promise<void> {
    this.#apis.check(url.pathname);
    const discovery = req.method === 'GET' ? this.#apis.answer(url.pathname) : null;
    if (discovery) return this.#json(res, 200, discovery);
    const parts = url.pathname.split('/').filter(Boolean);
    let rest: string[];
    let group: string;
    let version = 'v1';
    if (parts[0] === 'api' && parts[1] === 'v1') {
      group = '';
      rest = parts.slice(2);
    } else if (parts[0] === 'apis' && parts.length >= 3) {
      group = parts[1]!;
      version = parts[2]!;
      rest = parts.slice(3);
    } else throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    let namespace = '';
    // `/api/v1/namespaces/NAME/status` is a Namespace's status, not a resource `status` in NAME.
    if (rest[0] === 'namespaces' && rest.length >= 3 && !(group === '' && rest.length === 3 && rest[2] === 'status')) {
      namespace = decodeURIComponent(rest[1]!);
      rest = rest.slice(2);
    }
    const [plural, rawName, sub, ...extra] = rest;
    const found = this.#resources.find((d) => d.plural === plural && d.group === group && (d.versions ?? ['v1']).includes(version));
    const def = found && found.versions ? { ...found, version } : found;
    if (!def || extra.length || (sub && (sub !== 'status' || !def.status))) {
      throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    }
    if (!def.namespaced && namespace) throw new ApiError(404, 'NotFound', `${def.kind} is not namespaced`);
    const name = rawName ? decodeURIComponent(rawName) : undefined;
    const method = req.method ?? 'GET';
    const ctx = { user: record.user, contentType: record.contentType };

    if (!name) {
      if (method === 'GET') {
        if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') {
          return this.#watches.serve(res, def, selectorMatcher(def, namespace, url.searchParams), url.searchParams, this.goneAsHttp);
        }
        return this.#json(res, 200, this.#list(def, namespace, url.searchParams));
      }
      if (method === 'POST' && (namespace || !def.namespaced)) return this.#json(res, 201, this.#out(def, this.#create(def, namespace, this.#parse(body))));
      throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on ${qualified(def)}`);
    }
    if (def.namespaced && !namespace) throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${url.pathname})`);
    const key = keyOf(namespace, name);
    const current = this.store.current(def.plural, key);
    if (method === 'GET') {
      if (!current) throw notFound(def, name);
      return this.#json(res, 200, this.#out(def, current));
    }
    if (method === 'DELETE') {
      if (!current) throw notFound(def, name);
      const pre = body ? (this.#parse(body).preconditions ?? {}) : {};
      if (pre.resourceVersion && pre.resourceVersion !== current.metadata.resourceVersion) throw conflict(def, name);
      if (pre.uid && pre.uid !== current.metadata.uid) throw conflict(def, name);
      this.store.write(def.plural, key, null);
      return this.#json(res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details: { name, group: def.group, kind: def.plural, uid: current.metadata.uid } });
    }
    if (method === 'PUT' || method === 'PATCH') {
      if (!current) throw notFound(def, name);
      const proposed = method === 'PUT' ? this.#parse(body) : applyPatch(ctx.contentType, current, body);
      if (typeof proposed !== 'object' || proposed === null || Array.isArray(proposed)) throw new ApiError(400, 'BadRequest', 'the object must be a JSON object');
      const result = this.#update(def, namespace, name, current, proposed as Obj, sub === 'status' ? 'status' : 'main', method === 'PUT');
      if (result.written && sub === 'status') {
        this.statusWrites.push({ kind: def.kind, namespace, name, user: ctx.user, method, contentType: ctx.contentType, status: result.object.status ?? {}, resourceVersion: result.object.metadata.resourceVersion, at: Date.now() });
      }
      return this.#json(res, 200, this.#out(def, result.object));
    }
    throw new ApiError(405, 'MethodNotAllowed', `${method} is not supported on ${qualified(def)}`);
  }

  #parse(body: string): Obj {
    try {
      return JSON.parse(body) as Obj;
    } catch (e) {
      throw new ApiError(400, 'BadRequest', `the body is not JSON: ${(e as Error).message}`);
    }
  }

  /** Fills in what the server owns (uid, creationTimestamp, generation) and validates. */
  #stamp(def: ResourceDef, namespace: string, object: Obj, current: Obj | null, part: 'main' | 'status' | 'all'): Obj {
    object.apiVersion = apiVersionOf(def);
    object.kind = def.kind;
    object.metadata ??= {};
    if (def.namespaced) object.metadata.namespace = namespace;
    else delete object.metadata.namespace;
    object.metadata.uid = current?.metadata.uid ?? crypto.randomUUID();
    object.metadata.creationTimestamp = current?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    if ('spec' in object || current?.spec) {
      const changed = !current || !isDeepStrictEqual(current.spec, object.spec);
      object.metadata.generation = current ? (current.metadata.generation ?? 1) + (changed && part !== 'status' ? 1 : 0) : 1;
    }
    delete object.metadata.resourceVersion;
    def.prepare?.(object);
    const problems = def.validate?.(object, namespace) ?? [];
    if (problems.length) {
      throw new ApiError(422, 'Invalid', `${def.kind}${def.group ? `.${def.group}` : ''} "${object.metadata.name}" is invalid: ${problems.join(', ')}`, {
        name: object.metadata.name,
        group: def.group,
        kind: def.kind,
        causes: problems.map((p) => ({ reason: 'FieldValueInvalid', message: p, field: p.split(':')[0] })),
      });
    }
    // Kept at the storage version, whichever version it was written at.
    object.apiVersion = apiVersionOf({ ...def, version: undefined });
    return object;
  }

  #create(def: ResourceDef, namespace: string, object: Obj): Obj {
    object.metadata ??= {};
    if (def.namespaced && object.metadata.namespace && object.metadata.namespace !== namespace) {
      throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
    }
    if (!object.metadata.name && object.metadata.generateName) object.metadata.name = `${object.metadata.generateName}${Math.random().toString(36).slice(2, 7)}`;
    const name = object.metadata.name;
    if (!name || !DNS1123_SUBDOMAIN.test(name)) throw new ApiError(422, 'Invalid', `${def.kind} "${name ?? ''}" is invalid: metadata.name: Invalid value: ${JSON.stringify(name ?? '')}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.'`);
    const key = keyOf(namespace, name);
    if (this.store.current(def.plural, key)) throw new ApiError(409, 'AlreadyExists', `${qualified(def)} "${name}" already exists`, { name, group: def.group, kind: def.plural });
    if (object.metadata.resourceVersion) throw new ApiError(400, 'BadRequest', 'resourceVersion should not be set on objects to be created');
    return this.store.write(def.plural, key, this.#stamp(def, namespace, object, null, 'main'));
  }

  #update(def: ResourceDef, namespace: string, name: string, current: Obj, proposed: Obj, part: 'main' | 'status', put: boolean): { object: Obj; written: boolean } {
    const rv = proposed.metadata?.resourceVersion;
    if (rv !== undefined && rv !== current.metadata.resourceVersion) throw conflict(def, name);
    if (put && proposed.metadata?.name !== undefined && proposed.metadata.name !== name) {
      throw new ApiError(400, 'BadRequest', `the name of the object (${proposed.metadata.name}) does not match the name on the URL (${name})`);
    }
    let next: Obj;
    if (part === 'status') {
      // The status subresource changes status only; everything else in the body is ignored.
      next = structuredClone(current);
      if (proposed.status === undefined) delete next.status;
      else next.status = proposed.status;
    } else {
      next = structuredClone(proposed);
      next.metadata = { ...next.metadata, name };
      if (def.status) next.status = current.status;
    }
    const stamped = this.#stamp(def, namespace, next, current, part);
    const { resourceVersion: _a, ...before } = current.metadata;
    const comparable = { ...current, metadata: before };
    // An update that changes nothing is not written (no new resourceVersion, no watch event).
    if (isDeepStrictEqual(JSON.parse(JSON.stringify(stamped)), comparable)) return { object: current, written: false };
    return { object: this.store.write(def.plural, keyOf(namespace, name), stamped), written: true };
  }

  #list(def: ResourceDef, namespace: string, query: URLSearchParams): Obj {
    const match = selectorMatcher(def, namespace, query);
    const limit = Number(query.get('limit') ?? 0);
    const token = query.get('continue');
    const asked = query.get('resourceVersion') ?? '';
    let rv = this.store.revision;
    let after = '';
    if (token) {
      if (asked) throw new ApiError(400, 'BadRequest', 'specifying resource version is not allowed when using continue');
      let decoded: { rv: number; after: string };
      try {
        decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      } catch {
        throw new ApiError(400, 'BadRequest', 'continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
      }
      if (decoded.rv < this.store.compactedAt) {
        throw new ApiError(410, 'Expired', 'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.');
      }
      rv = decoded.rv;
      after = decoded.after;
    } else if (asked && asked !== '0') {
      const n = Number(asked);
      if (!Number.isInteger(n) || n < 0) throw new ApiError(400, 'BadRequest', `invalid resource version: ${asked}`);
      if (n > this.store.revision) throw new ApiError(504, 'Timeout', `Too large resource version: ${n}, current: ${this.store.revision}`);
      if (query.get('resourceVersionMatch') === 'Exact') {
        if (n < this.store.compactedAt) throw gone(n, this.store.compactedAt);
        rv = n;
      }
    }
    const all = this.store.storedAt(def.plural, rv).filter((e) => e.key > after && match(e.object));
    const page = limit > 0 ? all.slice(0, limit) : all;
    const more = limit > 0 && all.length > limit;
    const metadata: Obj = { resourceVersion: String(rv) };
    if (more) {
      metadata.continue = Buffer.from(JSON.stringify({ rv, after: page[page.length - 1]!.key })).toString('base64url');
      if (!query.get('labelSelector') && !query.get('fieldSelector')) metadata.remainingItemCount = all.length - limit;
    }
    // The real server leaves kind and apiVersion off list items.
    const items = page.map(({ object }) => {
      const { kind: _k, apiVersion: _a, ...rest } = structuredClone(object);
      return rest;
    });
    return { kind: `${def.kind}List`, apiVersion: apiVersionOf(def), metadata, items };
  }

}
