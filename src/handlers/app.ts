// The handler tier's HTTP app (Hono, Web-standard Request/Response only): admission webhook,
// CloudEvents receiver, snapshot, health, readiness and metrics. The view of the cluster, the reader
// behind it and the way to reach agents are passed in, so the same app runs under Node
// (src/handlers/serve.ts), in tests through `app.request()`, and in any other Hono runtime.
import { Hono, type MiddlewareHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { RoutingIndex, validateIngress, type ControllerSettings } from '../model/index.ts';
import { createLogger, type Logger } from '../log.ts';
import type { ClusterReader, ClusterView, ObjectKey } from '../cluster/view.ts';
import { relist } from '../cluster/view-relist.ts';
import { MalformedReview, review } from './admission.ts';
import { MalformedEvents, parseEvents, type ReceivedEvent } from './cloudevents.ts';
import { applyEvents, parseListed, resolveEvents } from './changes.ts';
import { DesiredConfig } from './desired-config.ts';
import type { AgentSink } from './fanout.ts';
import { createHandlerMetrics, type HandlerMetrics } from './metrics.ts';
import { bearerToken, limitBody, requireContentType, requireReady } from './middleware.ts';

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
}

export interface RelistSummary {
  changed: number;
  skipped: number;
  resourceVersion: number;
  fragments: number;
  endpoints: number;
}

export interface HandlerApp {
  app: Hono;
  desired: DesiredConfig;
  metrics: HandlerMetrics;
  /** Lists every kind through the reader, replaces the view, recomputes what changed, pushes it. */
  relist(): Promise<RelistSummary>;
}

const JSON_TYPE = /^application\/json\b/i;

export function createApp(deps: AppDeps): HandlerApp {
  const { view, reader, agents, settings } = deps;
  const metrics = deps.metrics ?? createHandlerMetrics();
  const log = deps.log ?? createLogger({ component: 'handler' });
  const index = new RoutingIndex(settings.controller);
  const desired = new DesiredConfig({ index, view, log, metrics, ...(settings.controller.configMap ? { configMap: settings.controller.configMap } : {}) });
  const maxConcurrentEvents = settings.maxConcurrentEvents ?? 16;
  let eventsInFlight = 0;
  let started = false;
  let relisting: Promise<RelistSummary> | null = null;

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
  app.post(
    '/admission',
    limitBody({ maxBytes: settings.maxAdmissionBytes ?? 4 << 20, what: 'AdmissionReview' }),
    requireContentType({ pattern: JSON_TYPE, expected: 'application/json (an AdmissionReview)' }),
    async function admission(c) {
      const text = await c.req.text();
      const started = performance.now();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (e) {
        throw new HTTPException(400, { message: `(body): Invalid value: malformed JSON: ${(e as Error).message}` });
      }
      try {
        const extra = view.synced ? [] : ['wharf has not listed the cluster yet: conflicts with other Ingresses were not checked'];
        const { body, decision } = review(json, (ingress) => validateIngress(ingress, index, settings.controller), extra);
        metrics.admissionDecisions.inc({ decision });
        metrics.admissionSeconds.observe((performance.now() - started) / 1000);
        return c.json(body);
      } catch (e) {
        if (e instanceof MalformedReview) throw new HTTPException(400, { message: e.message });
        throw e;
      }
    },
  );

  // ---- events -------------------------------------------------------------------------------
  const eventAuth: MiddlewareHandler = settings.eventsToken
    ? bearerToken({ token: settings.eventsToken, what: 'events' })
    : async function openEvents(_c, next) {
        await next();
      };
  app.post(
    '/events',
    eventAuth,
    limitBody({ maxBytes: settings.maxEventBytes ?? 8 << 20, what: 'CloudEvents request' }),
    requireReady({ ready: () => view.synced, what: 'POST /events' }),
    async function events(c) {
      if (eventsInFlight >= maxConcurrentEvents) {
        throw new HTTPException(429, { message: `${eventsInFlight} event requests in progress; retry shortly`, res: new Response(null, { headers: { 'retry-after': '1' } }) });
      }
      eventsInFlight++;
      try {
        const text = await c.req.text();
        let received: ReceivedEvent[];
        try {
          received = parseEvents(c.req.raw.headers, text);
        } catch (e) {
          if (!(e instanceof MalformedEvents)) throw e;
          metrics.events.inc({ type: c.req.header('ce-type') ?? 'unknown', result: 'malformed' }, 1);
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
        if (update.fragments.length || update.endpoints.length) agents.publish(update);
        return c.json({ results });
      } finally {
        eventsInFlight--;
      }
    },
  );

  // ---- snapshot, health, metrics ------------------------------------------------------------
  app.get(
    '/snapshot',
    bearerToken({ token: settings.agentToken, what: 'agent' }),
    requireReady({ ready: () => view.synced, what: 'GET /snapshot' }),
    function snapshot(c) {
      return c.json(desired.snapshot());
    },
  );
  app.get('/healthz', (c) => c.text('ok\n'));
  app.get('/readyz', (c) => {
    const body = { ready: view.synced, objects: view.counts(), desired: desired.counts(), agents: agents.status() };
    return c.json(body, view.synced ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    for (const [kind, n] of Object.entries(view.counts())) metrics.viewObjects.set({ kind }, n);
    return c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  // ---- relist -------------------------------------------------------------------------------
  async function doRelist(): Promise<RelistSummary> {
    if (!reader) throw new Error('this handler has no cluster reader: it cannot list the cluster');
    const skipped = { count: 0 };
    const result = await relist(view, reader, parseListed(view, log, skipped));
    const listVersion = result.resourceVersion;
    const update = desired.relisted(result.changed, listVersion);
    for (const c of result.changed) deps.onChange?.(c.key);
    if (!started) {
      started = true;
      agents.start(() => desired.snapshot());
    } else {
      if (update.fragments.length || update.endpoints.length) agents.publish(update);
      // Compare once the relist's own pushes are delivered, so they are not mistaken for gaps.
      await Promise.race([agents.idle(), new Promise((r) => setTimeout(r, 10_000).unref())]);
      await agents.reconcile((state) => desired.reconcile(state, listVersion));
    }
    metrics.relists.inc({ result: 'ok' });
    const counts = desired.counts();
    return { changed: result.changed.length, skipped: skipped.count, resourceVersion: listVersion, fragments: counts.fragments, endpoints: counts.endpoints };
  }

  return {
    app,
    desired,
    metrics,
    relist() {
      relisting ??= doRelist()
        .catch((e) => {
          metrics.relists.inc({ result: 'error' });
          throw e;
        })
        .finally(() => (relisting = null));
      return relisting;
    },
  };
}
