// The handler tier's HTTP app (Hono, Web-standard Request/Response only): admission webhook,
// CloudEvents receiver, snapshot, health, readiness and metrics. The view of the cluster, the reader
// behind it and the way to reach agents are passed in, so the same app runs under Node
// (src/handlers/serve.ts), in tests through `app.request()`, and in any other Hono runtime.
//
// Besides the routes, three entry points feed the view without HTTP: `relist()` (through the
// reader), `replaceLists()` (full lists someone else read: a watch feed's first list) and
// `applyChanges()` (changes read straight from the API server's watches). All of them, like
// POST /events, end the same way: the view applied, the desired configuration recomputed, the
// agents told, and `onIngresses` told which Ingresses may have a new verdict (status, Events).
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RoutingIndex, validateGatewayObject, validationSteps, type ControllerSettings } from '../model/index.ts';
import { validateServicesConfigMap } from '../model/stream-admission.ts';
import { objectOnlyProblems } from '../model/view-checks.ts';
import type { Affected } from '../model/routing-index.ts';
import type { KubeKind, KubeObject as ModelObject } from '../model/schemas.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Batch } from '../protocol/agent-api.ts';
import { KINDS, formatKey, numericVersion, type Change, type ClusterReader, type ClusterView, type Kind, type KindList, type ObjectKey, type RelistResult } from '../cluster/view.ts';
import { reviewTarget, type review } from './admission.ts';
import { admissionControlDefaults, type AdmissionControlOptions } from './admission-control.ts';
import { admissionEndpoint, honoReviewCall } from './admission-http.ts';
import { MalformedEvents, parseEvents, type EventHeaders, type ReceivedEvent } from './cloudevents.ts';
import { applyEvents, parseListed, resolveEvents, type EventResult } from './changes.ts';
import { DesiredConfig, parseForModel } from './desired-config.ts';
import { snapshotStream } from './snapshot-stream.ts';
import { isEmptyUpdate, mergeUpdate, type AgentSink, type DesiredUpdate } from './fanout.ts';
import { createHandlerMetrics, type HandlerMetrics } from './metrics.ts';
import { bearerToken, limitBody, requireReady } from './middleware.ts';
import type { RawRoutes } from './raw-route.ts';
import { readinessReport, type ReadinessReport } from './readiness.ts';

/** Said on every admission answer while the view is not synced: what was not checked, and why. */
export const NOT_SYNCED_WARNING = 'wharf has not read the cluster yet: references and conflicts with other Ingresses were not checked';

export interface HandlerSettings {
  controller: ControllerSettings;
  /** Required on GET /snapshot (it carries TLS keys): the token agents hold. */
  agentToken: string;
  /** Required on POST /events when set; null leaves /events open (protect it by network policy). */
  eventsToken: string | null;
  maxAdmissionBytes?: number;
  maxEventBytes?: number;
  /** POST /events requests processed at once; more get 429 (the sender retries). */
  maxConcurrentEvents?: number;
  /**
   * How long POST /events waits at most for the healthy agents to acknowledge its changes before it
   * answers (push-acks.ts). Default 0: it answers once the pushes are written (on a quiet machine
   * that is sooner for the sender to see NGINX route to the change: BENCHMARKS.md).
   */
  eventAckWaitMs?: number;
  /** POST /admission: reviews at once, what is a large review and how large ones share the process. */
  admission?: Partial<AdmissionControlOptions>;
}

export interface AppDeps {
  view: ClusterView;
  /** Lists and reads the cluster: the start-up list, relists, and Knative's reference events. */
  reader: ClusterReader | null;
  agents: AgentSink;
  settings: HandlerSettings;
  metrics?: HandlerMetrics;
  log?: Logger;
  /** Told about every object the view changed (events and relists): e.g. agent discovery. */
  onChange?: (key: ObjectKey) => void;
  /**
   * Told which Ingresses (model keys `namespace/name`) a change may have given a new verdict
   * (handled or not, problems, hosts), or `'all'` after a full list replaced the view: status and Events.
   */
  onIngresses?: (keys: string[] | 'all') => void;
  /**
   * Told which Gateway API objects' status the model now concludes differently (`Kind namespace/name`,
   * GatewayClass with an empty namespace): read each with `desired.index.gatewayStatus(kind,
   * namespace, name)` (null: no longer wharf's) and hand it to the status writer.
   */
  onGatewayObjects?: (keys: string[]) => void;
  /**
   * The resourceVersion up to which this replica's view is complete beyond its lists (its watches of
   * the API server; 0 when unknown). A snapshot stands for the view as of the higher of this and the
   * last full list, and carries that as its revision (see `snapshot()`).
   */
  watchedUpTo?: () => number;
  /** The handler's part of /readyz (streams waiting, APIs missing); default: ready once the view is synced. */
  readiness?: () => ReadinessReport;
}

export interface RelistSummary {
  changed: number;
  skipped: number;
  resourceVersion: number;
  fragments: number;
  endpoints: number;
}

/** What `applyChanges` did with one change. */
export interface ChangeOutcome {
  object: string;
  result: 'applied' | 'duplicate' | 'stale' | 'ignored' | 'invalid';
}

/** A snapshot (GET /snapshot, an agent's reconnect): the whole desired state and the view it stands for. */
export type Snapshot = Batch & {
  /**
   * `complete: true` removes what the batch does not name; the agent removes only what it holds at
   * a revision below this one, i.e. made from a view of the cluster no newer than this replica's.
   * 0 when this replica's view is not known complete as of any version (no list yet, --no-list): such
   * a snapshot removes nothing.
   */
  revision?: number;
};

export interface HandlerApp {
  app: Hono;
  /**
   * Routes a node:http server answers itself before handing a request to `app` (raw-route.ts):
   * POST /admission, the same behaviour as the app's route at a bare server's cost per request.
   */
  rawRoutes: RawRoutes;
  desired: DesiredConfig;
  metrics: HandlerMetrics;
  /** Lists every kind through the reader, replaces the view, recomputes what changed, pushes it. */
  relist(): Promise<RelistSummary>;
  /** The same with lists read elsewhere (a watch feed's first full list); kinds not given are left as they are. */
  replaceLists(lists: Partial<Record<Kind, KindList>>): Promise<RelistSummary>;
  /**
   * Changes read straight from the API server (watches): each object parsed for the model, applied
   * when newer than what the view holds, what it affects recomputed and pushed. As POST /events
   * does for CloudEvents, without HTTP; duplicates of what events already brought are harmless.
   */
  applyChanges(changes: Change[]): ChangeOutcome[];
  /** The snapshot every agent converges to (what GET /snapshot serves). */
  snapshot(): Snapshot;
  /** The resourceVersion this replica's view is known complete up to (0: not known). */
  completeUpTo(): number;
  /**
   * POST /events once its HTTP checks passed (events token, body limit, readiness): reads the body,
   * applies, pushes, and resolves with the per-event results; throws HTTPException (400, 429, 503).
   * For a listener that serves /events without Hono (events-http.ts).
   */
  receiveEvents(headers: EventHeaders, body: () => Promise<string>): Promise<{ results: EventResult[] }>;
}

/** The model's index, remembering which Ingresses each change affected (Affected.ingresses). */
class ObservedIndex extends RoutingIndex {
  readonly touched = new Set<string>();
  readonly touchedGateway = new Set<string>();
  override upsert(obj: ModelObject): Affected {
    return this.#note(super.upsert(obj));
  }
  override remove(kind: KubeKind, namespace: string, name: string): Affected {
    return this.#note(super.remove(kind, namespace, name));
  }
  override batch(changes: (index: this) => Affected[]): Affected {
    return this.#note(super.batch(changes));
  }
  /** The Ingresses touched since the last call. */
  drain(): string[] {
    const keys = [...this.touched];
    this.touched.clear();
    return keys;
  }
  /** The Gateway API objects whose status changed since the last call. */
  drainGateway(): string[] {
    const keys = [...this.touchedGateway];
    this.touchedGateway.clear();
    return keys;
  }
  #note(a: Affected): Affected {
    for (const k of a.ingresses) this.touched.add(k);
    for (const k of a.gatewayObjects) this.touchedGateway.add(k);
    return a;
  }
}

/** The lowest list version among lists that come from a server ('0': a kind nobody lists). */
function lowestListVersion(lists: Partial<Record<Kind, KindList>>): number {
  const versions = Object.values(lists).map((l) => numericVersion(l?.resourceVersion)).filter((v) => v > 0);
  return versions.length ? Math.min(...versions) : 0;
}

export function createApp(deps: AppDeps): HandlerApp {
  const { view, reader, agents, settings } = deps;
  const metrics = deps.metrics ?? createHandlerMetrics();
  const log = deps.log ?? createLogger({ component: 'handler' });
  const index = new ObservedIndex(settings.controller);
  const desired = new DesiredConfig({ index, view, log, metrics, ...(settings.controller.configMap ? { configMap: settings.controller.configMap } : {}) });
  const maxConcurrentEvents = settings.maxConcurrentEvents ?? 16;
  const eventAckWaitMs = settings.eventAckWaitMs ?? 0;
  let eventsInFlight = 0;
  let started = false;
  /** The full replace in progress (relists and a feed's lists run one after the other). */
  let relisting: Promise<RelistSummary> | null = null;
  let readerRelist: Promise<RelistSummary> | null = null;
  /** The lowest list version of the last full replace of every kind: the view is complete as of it. */
  let listedUpTo = 0;

  const completeUpTo = () => Math.max(listedUpTo, deps.watchedUpTo?.() ?? 0);
  const snapshot = (): Snapshot => desired.snapshot(completeUpTo());
  const tellIngresses = (all = false) => {
    const keys = index.drain();
    if (all) deps.onIngresses?.('all');
    else if (keys.length) deps.onIngresses?.(keys);
    const gateway = index.drainGateway();
    if (gateway.length) deps.onGatewayObjects?.(gateway);
  };

  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof HTTPException) {
      const res = c.json({ error: err.message }, err.status as ContentfulStatusCode);
      err.res?.headers.forEach((v, k) => res.headers.set(k, v));
      return res;
    }
    log.error('request failed', { method: c.req.method, path: c.req.path, error: err });
    return c.json({ error: `internal error: ${err.message} (a wharf bug: please report it with the handler's log)` }, 500);
  });
  app.notFound((c) =>
    c.json({ error: `no route ${c.req.method} ${c.req.path}: the handler serves POST /admission, POST /events, GET /snapshot, /healthz, /readyz, /metrics` }, 404),
  );

  // ---- admission ----------------------------------------------------------------------------
  // Small reviews are answered at once; large ones take turns, sliced (admission-control.ts).
  const control = { ...admissionControlDefaults, ...settings.admission };
  /** One review from its body to its answer, in steps (the model's validation steps, and the parse before them). */
  function* reviewSteps(text: string): Generator<void, ReturnType<typeof review>> {
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new HTTPException(400, { message: `(body): Invalid value: malformed JSON: ${(e as Error).message}` });
    }
    yield;
    const target = reviewTarget(json);
    if (target.object === null) return target.answer();
    // Admission answers from the first second: until the view holds the cluster, only the checks of
    // the object itself count (a missing Secret is not known missing), and the answer says so.
    const synced = view.synced;
    const problems =
      target.kind === 'Ingress'
        ? yield* validationSteps(target.object, index, settings.controller)
        : target.kind === 'ConfigMap'
          ? validateServicesConfigMap(target.object, index, settings.controller)
          : validateGatewayObject(target.object, index, settings.controller);
    return synced ? target.answer(problems) : target.answer(objectOnlyProblems(problems), [NOT_SYNCED_WARNING]);
  }
  const admission = admissionEndpoint({ control, maxBytes: settings.maxAdmissionBytes ?? 4 << 20, metrics, log, steps: reviewSteps });
  app.post('/admission', async function admissionRoute(c) {
    const a = await admission.answer(honoReviewCall(c));
    return c.json(a.body, a.status as ContentfulStatusCode, a.headers);
  });

  // ---- events -------------------------------------------------------------------------------
  const eventAuth: MiddlewareHandler = settings.eventsToken
    ? bearerToken({ token: settings.eventsToken, what: 'events' })
    : async function openEvents(_c, next) {
        await next();
      };
  /** POST /events past its HTTP checks (token, body limit, readiness): Hono's route below, and events-http.ts. */
  async function receiveEvents(headers: EventHeaders, body: () => Promise<string>): Promise<{ results: EventResult[] }> {
    if (eventsInFlight >= maxConcurrentEvents) {
      throw new HTTPException(429, { message: `${eventsInFlight} event requests in progress; retry shortly`, res: new Response(null, { headers: { 'retry-after': '1' } }) });
    }
    eventsInFlight++;
    try {
      const text = await body();
      let received: ReceivedEvent[];
      try {
        received = parseEvents(headers, text);
      } catch (e) {
        if (!(e instanceof MalformedEvents)) throw e;
        const type = headers instanceof Headers ? headers.get('ce-type') : headers['ce-type'];
        metrics.events.inc({ type: (Array.isArray(type) ? type[0] : type) ?? 'unknown', result: 'malformed' }, 1);
        throw new HTTPException(400, { message: e.message });
      }
      let resolved;
      try {
        resolved = await resolveEvents(received, reader, log);
      } catch (e) {
        if (!(e instanceof MalformedEvents)) throw e;
        for (const r of received) metrics.events.inc({ type: r.type, result: 'malformed' });
        throw new HTTPException(400, { message: e.message });
      }
      const { results, update } = applyEvents(resolved, { view, desired, metrics, ...(deps.onChange ? { onChange: deps.onChange } : {}) });
      if (isEmptyUpdate(update)) {
        tellIngresses();
        return { results };
      }
      agents.publish(update);
      // Registered before anything can answer: the pushes are written a tick later.
      const acknowledged = eventAckWaitMs > 0 && agents.acknowledged ? agents.acknowledged(update, eventAckWaitMs) : agents.handedOver?.();
      tellIngresses();
      // The change is in the view whatever the agents do: the answer waits, briefly, for the healthy
      // ones to hold it (push-acks.ts), and at least until the push is on the wire.
      await acknowledged;
      return { results };
    } finally {
      eventsInFlight--;
    }
  }
  app.post(
    '/events',
    eventAuth,
    limitBody({ maxBytes: settings.maxEventBytes ?? 8 << 20, what: 'CloudEvents request' }),
    requireReady({ ready: () => view.synced, what: 'POST /events' }),
    async function events(c) {
      return c.json(await receiveEvents(c.req.raw.headers, () => c.req.text()));
    },
  );

  // ---- snapshot, health, metrics ------------------------------------------------------------
  app.get(
    '/snapshot',
    bearerToken({ token: settings.agentToken, what: 'agent' }),
    requireReady({ ready: () => view.synced, what: 'GET /snapshot' }),
    function snapshotRoute() {
      // Streamed: the whole desired state is never one string (snapshot-stream.ts).
      return new Response(snapshotStream(desired.snapshotParts(completeUpTo())), { headers: { 'content-type': 'application/json' } });
    },
  );
  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/readyz', (c) => {
    const report = deps.readiness?.() ?? readinessReport({ synced: view.synced, missingApis: [] });
    const ready = view.synced && report.ready;
    const body = { ...report, ready, objects: view.counts(), desired: desired.counts(), agents: agents.status() };
    return c.json(body, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    for (const [kind, n] of Object.entries(view.counts())) metrics.viewObjects.set({ kind }, n);
    return c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  // ---- relist, watches ----------------------------------------------------------------------
  /** After the view took full lists: recompute, start or update the agents, compare them with us. */
  async function afterReplace(result: RelistResult, lowest: number, skipped: number, complete: boolean): Promise<RelistSummary> {
    const listVersion = result.resourceVersion;
    // Before the agents are started they get the snapshot, not the changes: none are collected.
    const update = desired.relisted(result.changed, listVersion, started);
    for (const c of result.changed) deps.onChange?.(c.key);
    if (complete) listedUpTo = Math.max(listedUpTo, lowest);
    tellIngresses(true);
    if (!started) {
      started = true;
      // In parts: the agent client writes the snapshot as it sends it (agent-client.ts).
      agents.start(() => desired.snapshotParts(completeUpTo()));
    } else {
      if (!isEmptyUpdate(update)) agents.publish(update);
      // Compare once the relist's own pushes are delivered, so they are not mistaken for gaps.
      await Promise.race([agents.idle(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await agents.reconcile((state) => desired.reconcile(state, listVersion));
    }
    metrics.relists.inc({ result: 'ok' });
    const counts = desired.counts();
    return { changed: result.changed.length, skipped, resourceVersion: listVersion, fragments: counts.fragments, endpoints: counts.endpoints };
  }

  async function doRelist(): Promise<RelistSummary> {
    if (!reader) throw new Error('this handler has no cluster reader: it cannot list the cluster');
    // Every kind is listed before anything is replaced: a half-relisted view would mix two moments.
    const lists = await Promise.all(
      KINDS.map(async (kind): Promise<[Kind, KindList]> => {
        try {
          return [kind, await reader.list(kind)];
        } catch (e) {
          throw new Error(`listing ${kind}: ${(e as Error).message}`, { cause: e });
        }
      }),
    );
    return doReplace(Object.fromEntries(lists));
  }

  async function doReplace(lists: Partial<Record<Kind, KindList>>): Promise<RelistSummary> {
    const skipped = { count: 0 };
    const prepare = parseListed(view, log, skipped);
    const prepared: Partial<Record<Kind, KindList>> = {};
    for (const [kind, list] of Object.entries(lists) as [Kind, KindList][]) prepared[kind] = { items: await prepare(kind, list.items), resourceVersion: list.resourceVersion };
    const result = view.replace(prepared);
    return afterReplace(result, lowestListVersion(lists), skipped.count, KINDS.every((k) => lists[k]));
  }

  /** One full replace at a time: a relist and a feed's list never interleave their halves. */
  function serially(run: () => Promise<RelistSummary>): Promise<RelistSummary> {
    const previous = relisting ?? Promise.resolve(null);
    const next: Promise<RelistSummary> = previous
      .catch(() => null)
      .then(run)
      .catch((e) => {
        metrics.relists.inc({ result: 'error' });
        throw e;
      })
      .finally(() => {
        if (relisting === next) relisting = null;
      });
    relisting = next;
    return next;
  }

  function applyChanges(changes: Change[]): ChangeOutcome[] {
    const outcomes: ChangeOutcome[] = [];
    const update: DesiredUpdate = { fragments: [], endpoints: [] };
    for (const change of changes) {
      const object = formatKey(change.key);
      let parsedChange = change;
      if (change.action !== 'delete') {
        const parsed = parseForModel(change.object);
        if (!parsed.ok) {
          log.warn('a watched object does not parse; left out', { object, problems: parsed.problems.slice(0, 3) });
          outcomes.push({ object, result: 'invalid' });
          continue;
        }
        parsedChange = { ...change, object: parsed.value };
      }
      const applied = view.apply(parsedChange);
      outcomes.push({ object, result: applied.outcome });
      if (applied.outcome !== 'applied') continue;
      deps.onChange?.(change.key);
      mergeUpdate(update, desired.applied(change.key, applied.current, view.versionOf(change.key)));
    }
    if (!isEmptyUpdate(update)) agents.publish(update);
    tellIngresses();
    return outcomes;
  }

  return {
    app,
    rawRoutes: new Map([['POST /admission', admission.serve]]),
    desired,
    metrics,
    relist() {
      // Concurrent callers share the relist in progress.
      readerRelist ??= serially(doRelist).finally(() => (readerRelist = null));
      return readerRelist;
    },
    replaceLists: (lists) => serially(() => doReplace(lists)),
    applyChanges,
    snapshot,
    completeUpTo,
    receiveEvents,
  };
}
