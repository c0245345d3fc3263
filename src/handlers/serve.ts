// `wharf handler`: the handler tier under Node. Serves the Hono app over HTTP or HTTPS (the API
// server calls webhooks over HTTPS only) at once, then lists the cluster in the background, keeps
// the view current through watches of the API server (and CloudEvents, the fast trigger and
// Knative's path), relists periodically, pushes to a static list of agents or to those found
// through their Service, and writes Ingress status and Events (one replica per Ingress). Flags:
// handler-flags.ts.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer, type RequestListener, type Server } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { serve } from '@hono/node-server';
import { collectDefaultMetrics } from 'prom-client';
import { ApiPresence } from '../cluster/api-presence.ts';
import type { GatewayStatusWriter, GatewayStatusSink } from '../cluster/gateway-status-writer.ts';
import type { RoutingIndex } from '../model/index.ts';
import { KubernetesReader } from '../cluster/kubernetes-reader.ts';
// The cluster's watches and status writers load @kubernetes/client-node (868 modules): they are
// imported where a handler uses a cluster (clusterParts below), so `wharf local` never loads it.
import type { KubernetesViewFeed, ChangeSink } from '../cluster/kubernetes-view-feed.ts';
import type { EventRecorder } from '../cluster/status-events.ts';
import type { ReplicaMembership } from '../cluster/status-members.ts';
import type { IngressStatusWriter } from '../cluster/status-writer.ts';
import { MemoryView } from '../cluster/view-memory.ts';
import { numericVersion, type Change, type ClusterReader, type Kind, type KindList, type KubeObject } from '../cluster/view.ts';
import { createLogger, type Logger } from '../log.ts';
import { agentsFromView } from './agent-discovery.ts';
import { httpAgentClient } from './agent-client.ts';
import { createApp, type HandlerApp } from './app.ts';
import { preparedForModel } from './desired-config.ts';
import { AgentFanout } from './fanout.ts';
import { parseHandlerArgs, usage, UsageError, type HandlerOptions } from './handler-flags.ts';
import { applyHeapDefaults } from './heap-defaults.ts';
import { IngressVerdicts } from './ingress-verdicts.ts';
import { createHandlerMetrics, type HandlerMetrics } from './metrics.ts';
import { ConfigMapProblems } from './config-problems.ts';
import { QuarantineWatch } from './quarantine.ts';
import { readinessReport } from './readiness.ts';
import { eventsRoute } from './events-http.ts';
import { fetchFor, serves, type Listener } from './listeners.ts';
import { rawFirst, type RawRoutes } from './raw-route.ts';
import { relevantTo } from './relevance.ts';
import { certificateFields, checkServingPair, ServingCertWatch, type ServingCertificate } from './serving-cert.ts';

export { parseDuration, parseHandlerArgs, usage, UsageError, type HandlerOptions, type StatusOptions, type WatchOptions } from './handler-flags.ts';

export interface RunningHandler {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  url: string;
  /** Base URL of the events port (--events-listen); `url` when there is one port. */
  eventsUrl: string;
  handler: HandlerApp;
  fanout: AgentFanout;
  /** The watches keeping the view current (null with --no-watch, without a cluster, or before they start). */
  readonly feed: KubernetesViewFeed | null;
  /** Resolves once the view is synced (the first full list of every kind). */
  synced: Promise<void>;
  /**
   * Ingress status and Events (null without a publish flag), and the Gateway API's status (null with
   * --no-gateway-api): the handler gives it the model's conclusions through `gateway.set(status)`.
   */
  status: { membership: ReplicaMembership; writer: IngressStatusWriter; quarantine: QuarantineWatch; gateway: GatewayStatusWriter | null } | null;
  close(): Promise<void>;
}

/** The status writers, loaded only by a handler that writes status (they load the Kubernetes client). */
async function statusParts() {
  const [members, writer, gateway, events] = await Promise.all([
    import('../cluster/status-members.ts'),
    import('../cluster/status-writer.ts'),
    import('../cluster/gateway-status-writer.ts'),
    import('../cluster/status-events.ts'),
  ]);
  return { ReplicaMembership: members.ReplicaMembership, IngressStatusWriter: writer.IngressStatusWriter, GatewayStatusWriter: gateway.GatewayStatusWriter, EventRecorder: events.EventRecorder };
}

/** A reader with nothing in it: the start of a view fed by events only (--no-list). */
const emptyReader: ClusterReader = {
  async list(): Promise<KindList> {
    return { items: [], resourceVersion: '0' };
  },
  async get(): Promise<KubeObject | null> {
    return null;
  },
};

/**
 * The watch feed's sink: its first full list replaces the view (changes read meanwhile wait for
 * it, in order), then every change goes to the handler at once.
 */
class HandlerSink implements ChangeSink {
  readonly #handler: HandlerApp;
  readonly #log: Logger;
  #waiting: Change[] = [];
  #replacing: Promise<void> | null = null;

  constructor(handler: HandlerApp, log: Logger) {
    this.#handler = handler;
    this.#log = log;
  }

  /** True when every change read so far is in the view (nothing waits for a replace). */
  get settled(): boolean {
    return this.#replacing === null;
  }

  /** Resolves once the replace in progress (and the changes that waited for it) is done. */
  async replaced(): Promise<void> {
    await this.#replacing;
  }

  replace(lists: Partial<Record<Kind, KindList>>): void {
    this.#replacing = this.#handler
      .replaceLists(lists)
      .then(
        (s) => this.#log.info('cluster listed', { ...s }),
        (e) => this.#log.error('the watched lists could not replace the view; the periodic relist tries again', { error: e }),
      )
      .then(() => {
        this.#replacing = null;
        const waiting = this.#waiting.splice(0);
        if (waiting.length) this.#handler.applyChanges(waiting);
      });
  }

  apply(change: Change): void {
    if (this.#replacing) this.#waiting.push(change);
    else this.#handler.applyChanges([change]);
  }
}

/** Starts the handler and resolves once the view is synced (in-process users that need a full view at once). */
export async function startHandler(o: HandlerOptions): Promise<RunningHandler> {
  const running = await listenHandler(o);
  await running.synced;
  return running;
}

/**
 * Starts the handler: listens at once (liveness, admission and a /readyz that says what it waits
 * for work from the first second, whatever the API server does), then lists and watches the cluster
 * in the background, pushes to the agents once the view is synced, and relists periodically.
 */
export async function listenHandler(o: HandlerOptions): Promise<RunningHandler> {
  const log = o.log ?? createLogger({ component: 'handler' });
  const metrics = createHandlerMetrics();
  // Process metrics (memory, GC, event loop lag) belong to the process, so only here, not per app.
  collectDefaultMetrics({ register: metrics.registry });
  const view = new MemoryView({ keep: relevantTo(o.controller) });
  const client = (url: string) => httpAgentClient({ url, token: o.agentToken });
  const fanout = new AgentFanout({ clients: o.agents.map(client), log: log.child({ part: 'fanout' }), metrics });
  let discovered = '';
  const discover = () => {
    if (!o.agentService) return;
    const urls = agentsFromView(view, o.agentService);
    const key = [...o.agents, ...urls].join(' ');
    if (key === discovered) return;
    discovered = key;
    log.info('agents', { agents: [...o.agents, ...urls] });
    fanout.setClients([...new Set([...o.agents, ...urls])].map(client));
  };
  // APIs the server does not serve: logged once by name, counted in a metric, shown in /readyz.
  const presence = new ApiPresence({
    log: log.child({ part: 'api' }),
    onChange: (missing, appeared) => {
      for (const m of missing) metrics.apiMissing.set({ group_version: m.groupVersion, required: String(m.required) }, 1);
      for (const m of appeared) metrics.apiMissing.set({ group_version: m.groupVersion, required: String(m.required) }, 0);
    },
  });
  if (o.reader instanceof KubernetesReader) o.reader.presence = presence;
  let feed: KubernetesViewFeed | null = null;
  let sink: HandlerSink | null = null;
  let verdicts: IngressVerdicts | null = null;
  let listError: string | null = null;
  // The ConfigMap's refused and ignored keys: a log line, and a Warning Event once status is written.
  let recorder: EventRecorder | null = null;
  const problemEvents = o.status ? { events: { recorder: { record: (object: KubeObject, event: { reason: string; type: 'Warning'; message: string }) => recorder!.record(object, event) }, owns: (uid: string) => status?.membership.owns(uid) ?? false } } : {};
  const configProblems = new ConfigMapProblems({ log, ...problemEvents });
  // The TCP and UDP services ConfigMaps: each bad entry, by its key, the same way (checked by the app's model).
  let appRef: ReturnType<typeof createApp> | null = null;
  const servicesProblems = new Map(
    [o.controller.tcpServicesConfigMap, o.controller.udpServicesConfigMap]
      .filter((k): k is string => k !== undefined)
      .map((k) => [k, new ConfigMapProblems({ log, ...problemEvents, problemsOf: (cm) => appRef?.desired.index.validateConfigMap(cm) ?? [] })]),
  );
  const handler = createApp({
    view,
    reader: o.reader ?? emptyReader,
    agents: fanout,
    settings: { controller: o.controller, agentToken: o.agentToken, eventsToken: o.eventsToken, ...(o.eventAckWaitMs !== undefined ? { eventAckWaitMs: o.eventAckWaitMs } : {}) },
    metrics,
    log,
    onChange: (key) => {
      if (o.agentService && key.kind === 'EndpointSlice' && key.namespace === o.agentService.namespace) discover();
      // The TCP and UDP services ConfigMaps are not the global one.
      const services = key.kind === 'ConfigMap' ? servicesProblems.get(`${key.namespace}/${key.name}`) : undefined;
      if (services) services.update(view.get(key));
      else if (key.kind === 'ConfigMap') configProblems.update(view.get(key));
    },
    onIngresses: (keys) => verdicts?.affected(keys),
    // The model's new conclusions about Gateway API objects go to their status writer.
    onGatewayObjects: (keys) => {
      const writer = status?.gateway;
      if (writer) for (const key of keys) publishGatewayStatus(writer, handler.desired.index, key);
    },
    // The watches have seen every write up to the oldest of their positions (bookmarks included).
    // A stream whose API is not there (no Gateway API CRDs) holds nothing and has no position.
    watchedUpTo: () => (feed?.synced && sink?.settled ? Math.min(...feed.watchers.filter((w) => !w.notServed).map((w) => numericVersion(w.resourceVersion))) : 0),
    readiness: () => readinessReport({ synced: view.synced, missingApis: presence.missing(), listError, ...(feed ? { streams: feed.streams() } : {}) }),
  });
  appRef = handler;

  let status: RunningHandler['status'] = null;
  if (o.status) {
    const s = o.status;
    const { ReplicaMembership, IngressStatusWriter, GatewayStatusWriter, EventRecorder } = await statusParts();
    const membership = new ReplicaMembership({
      clients: s.clients,
      namespace: s.leaseNamespace,
      log,
      ...(s.identity ? { identity: s.identity } : {}),
      ...(s.renewIntervalMs ? { renewIntervalMs: s.renewIntervalMs } : {}),
      ...(s.leaseDurationMs ? { leaseDurationMs: s.leaseDurationMs } : {}),
    });
    const writer = new IngressStatusWriter({
      clients: s.clients,
      log,
      publish: s.publish,
      ownership: membership,
      instance: membership.identity,
      ...(s.namespace ? { namespace: s.namespace } : {}),
      ...(s.retryMs ? { retryMs: s.retryMs } : {}),
      ...(o.watch?.backoff ? { watch: { backoff: o.watch.backoff } } : {}),
    });
    const ingressVerdicts = new IngressVerdicts(handler.desired.index, writer);
    verdicts = ingressVerdicts;
    const quarantine = new QuarantineWatch({
      agents: () => fanout.status().map((a) => a.agent),
      token: o.agentToken,
      log: log.child({ part: 'quarantine' }),
      onChange: (now, previous) => ingressVerdicts.quarantined(now, previous),
      ...(s.quarantinePollMs ? { intervalMs: s.quarantinePollMs } : {}),
    });
    const gateway =
      s.gatewayApi === false
        ? null
        : new GatewayStatusWriter({
            clients: s.clients,
            log,
            publish: s.publish,
            ownership: membership,
            ...(s.namespace ? { namespace: s.namespace } : {}),
            ...(s.retryMs ? { retryMs: s.retryMs } : {}),
            ...(o.watch?.backoff || o.watch?.notServedRetryMs
              ? { watch: { ...(o.watch.backoff ? { backoff: o.watch.backoff } : {}), ...(o.watch.notServedRetryMs ? { notServedRetryMs: o.watch.notServedRetryMs } : {}) } }
              : {}),
          });
    status = { membership, writer, quarantine, gateway };
    recorder = new EventRecorder(s.clients, membership.identity);
    membership.onChange(() => {
      configProblems.record();
      for (const p of servicesProblems.values()) p.record();
    });
  }

  // Listen first: the API server's webhook calls, the kubelet's probes and the event source reach a
  // handler that is still listing (admission answers, /readyz says what it waits for, /events 503).
  // POST /admission and POST /events are served on node:http ahead of Hono (raw-route.ts), wherever they are served.
  const rawRoutes: RawRoutes = new Map([...handler.rawRoutes, ['POST /events', eventsRoute({ receive: handler.receiveEvents, token: o.eventsToken, ready: () => view.synced, log })]]);
  const listen = (hostname: string, port: number, listener: Listener) =>
    new Promise<Server>((resolve, reject) => {
      const s = serve(
        {
          fetch: fetchFor(listener, handler.app.fetch),
          hostname,
          port,
          // The routes this listener serves that node:http answers itself (POST /admission, POST /events), then Hono.
          ...(o.tls
            ? { createServer: withRawRoutes(createHttpsServer, rawRoutesOf(listener, rawRoutes)), serverOptions: { cert: o.tls.cert, key: o.tls.key } }
            : { createServer: withRawRoutes(createHttpServer, rawRoutesOf(listener, rawRoutes)) }),
        },
        () => resolve(s as Server),
      ) as Server;
      s.once('error', reject);
      // Slow or stuck clients cannot hold requests open for long; keep-alive outlives the API server's.
      s.requestTimeout = 30_000;
      s.headersTimeout = 10_000;
      s.keepAliveTimeout = 65_000;
    });
  const server = await listen(o.host, o.port, o.eventsListen ? 'admission' : 'all');
  const eventsServer = o.eventsListen ? await listen(o.eventsListen.host, o.eventsListen.port, 'events') : null;
  const servers = eventsServer ? [server, eventsServer] : [server];
  const certWatches = o.tls ? serveCertificate(servers, o.tls, metrics, log) : [];
  const urlOf = (srv: Server) => {
    const address = srv.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    return `${o.tls ? 'https' : 'http'}://${host}:${address.port}`;
  };
  const url = urlOf(server);
  const eventsUrl = eventsServer ? urlOf(eventsServer) : url;
  log.info('handler listening', {
    url,
    ...(eventsServer ? { eventsUrl } : {}),
    agents: fanout.status().map((a) => a.agent),
    eventsAuthenticated: o.eventsToken !== null,
    watching: o.watch !== null && o.watch !== undefined && o.reader !== null,
    status: status ? status.membership.identity : false,
    heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1048576),
  });
  if (!o.eventsToken) log.warn('POST /events accepts events without a token: only the event source may be able to reach it (NetworkPolicy)');

  let closed = false;
  let wakeRetry: (() => void) | null = null;
  const pause = (ms: number) =>
    new Promise<void>((r) => {
      const timer = setTimeout(r, ms);
      wakeRetry = () => {
        clearTimeout(timer);
        r();
      };
    });
  const synced = (async () => {
    if (o.watch && o.reader) {
      // The view follows the API server itself: every replica is current, whichever one an event reached.
      sink = new HandlerSink(handler, log);
      const { KubernetesViewFeed } = await import('../cluster/kubernetes-view-feed.ts');
      feed = new KubernetesViewFeed({
        clients: o.watch.clients,
        sink,
        log: log.child({ part: 'watch' }),
        scope: o.watch.scope,
        presence,
        watch: {
          ...(o.watch.backoff ? { backoff: o.watch.backoff } : {}),
          ...(o.watch.notServedRetryMs ? { notServedRetryMs: o.watch.notServedRetryMs } : {}),
          // Listed objects are parsed as each page arrives: the raw pages of a large list never live all at once.
          prepare: preparedForModel,
        },
      });
      const stopped = new Promise<void>((r) => (wakeRetry = r));
      await Promise.race([feed.start().then(() => sink!.replaced()), stopped]);
    }
    // The first list, retried until it works (without watches, or when the feed's lists could not
    // replace the view): the handler is not ready before it.
    for (let attempt = 1; !view.synced && !closed; attempt++) {
      try {
        const s = await handler.relist();
        listError = null;
        log.info('cluster listed', { ...s });
      } catch (e) {
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6));
        listError = (e as Error).message;
        log.warn('cannot list the cluster yet; retrying', { attempt, retryInMs: delay, error: e });
        await pause(delay);
      }
    }
    if (closed) return;
    discover();
    if (status) {
      const { membership, writer, quarantine, gateway } = status;
      // Status ownership and the status watches start in the background: they never hold up serving.
      void membership.start().catch((e) => log.error('status ownership could not start', { error: e }));
      void writer.start().catch((e) => log.error('the status writer could not start', { error: e }));
      void gateway?.start().catch((e) => log.error('the Gateway API status writer could not start', { error: e }));
      quarantine.start();
    }
  })();
  synced.catch((e) => log.error('the handler could not start reading the cluster', { error: e }));

  const relistTimer = o.reader
    ? setInterval(() => {
        handler.relist().then(
          (s) => log.info('relisted', { ...s }),
          (e) => log.warn('relist failed; the next one tries again', { error: e }),
        );
      }, o.relistIntervalMs).unref()
    : null;

  return {
    url,
    eventsUrl,
    handler,
    fanout,
    get feed() {
      return feed;
    },
    status,
    synced,
    async close() {
      closed = true;
      wakeRetry?.();
      if (relistTimer) clearInterval(relistTimer);
      for (const w of certWatches) await w.stop();
      for (const srv of servers) {
        await new Promise<void>((r) => {
          srv.close(() => r());
          srv.closeIdleConnections?.();
        });
      }
      await feed?.stop();
      if (status) {
        await status.quarantine.stop();
        await status.writer.stop();
        await status.gateway?.stop();
        // Releasing the Lease lets the other replicas take this one's Ingresses over at once.
        await status.membership.stop(true);
      }
      await fanout.close();
    },
  };
}

/** The raw routes one listener serves (the events port leaves /admission to Hono's 404). */
function rawRoutesOf(listener: Listener, routes: RawRoutes): RawRoutes {
  return new Map([...routes].filter(([route]) => serves(listener, route.slice(route.indexOf(' ') + 1))));
}

/** @hono/node-server's createServer option: Node's server, its listener answering `routes` before Hono's. */
function withRawRoutes<C extends typeof createHttpServer | typeof createHttpsServer>(create: C, routes: RawRoutes): C {
  return ((options: object, listener: RequestListener) => (create as (o: object, l: RequestListener) => Server)(options, rawFirst(routes, listener))) as C;
}

/**
 * HTTPS: exports the served certificate's expiry, and, when the pair came from files, re-reads them
 * so that a renewed certificate (cert-manager, the kubelet's Secret volume) is served without a restart.
 */
function serveCertificate(servers: Server[], tls: NonNullable<HandlerOptions['tls']>, metrics: HandlerMetrics, log: Logger): ServingCertWatch[] {
  metrics.registry.registerMetric(metrics.servingCertExpiry);
  const taken = (c: ServingCertificate) => metrics.servingCertExpiry.set(c.notAfter.getTime() / 1000);
  const check = checkServingPair(tls);
  if (check.ok) {
    taken(check.certificate);
    log.info('serving certificate', { ...certificateFields(check.certificate), reloadIntervalMs: tls.files ? (tls.reloadIntervalMs ?? 10_000) : null });
    if (check.certificate.notAfter.getTime() <= Date.now()) log.warn('the serving certificate has expired: the API server refuses it', certificateFields(check.certificate));
  }
  const files = tls.files;
  if (!files) return [];
  // One watch per listener (each its own TLS server), the same files.
  return servers.map((server) => {
    const watch = new ServingCertWatch({
      // An https.Server from @hono/node-server's createServer option: a tls.Server underneath.
      server: server as unknown as HttpsServer,
      files,
      current: { cert: tls.cert, key: tls.key },
      log: log.child({ part: 'serving-cert' }),
      onCertificate: taken,
      ...(tls.reloadIntervalMs ? { intervalMs: tls.reloadIntervalMs } : {}),
    });
    watch.start();
    return watch;
  });
}

/** The `wharf handler` command. */
export async function main(argv: string[]): Promise<void> {
  if (!argv.includes('--help') && !argv.includes('-h')) applyHeapDefaults();
  // `wharf handler` talks to a cluster (unless --no-list): its client is loaded here, before the
  // handler starts and is timed, as when it was imported statically (and no longer twice, before
  // the heap defaults' restart too). Local mode starts the handler through listenHandler and never
  // loads it.
  if (!argv.includes('--no-list')) await Promise.all([import('../cluster/kubernetes-client.ts'), import('../cluster/kubernetes-view-feed.ts'), statusParts()]);
  const log = createLogger({ component: 'handler' });
  log.info('handler starting', { pid: process.pid });
  let options: HandlerOptions | null;
  try {
    options = await parseHandlerArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`wharf handler: ${e.message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (!options) {
    console.log(usage);
    return;
  }
  // Listening comes first; the cluster is read in the background (the probes and /readyz say how far).
  const running = await listenHandler({ ...options, log });
  const stop = async (signal: string) => {
    log.info('stopping', { signal });
    await running.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

/**
 * Hands the model's conclusion about one Gateway API object (`Kind namespace/name`, as the index
 * names it) to the status writer; an object the model no longer concludes about is forgotten.
 */
function publishGatewayStatus(writer: GatewayStatusSink, index: Pick<RoutingIndex, 'gatewayStatus'>, key: string): void {
  const m = /^(\S+) ([^/]*)\/(.+)$/.exec(key);
  if (!m) return;
  const [, kind, namespace, name] = m as unknown as [string, string, string, string];
  if (kind !== 'GatewayClass' && kind !== 'Gateway' && kind !== 'HTTPRoute' && kind !== 'GRPCRoute' && kind !== 'TLSRoute' && kind !== 'TCPRoute' && kind !== 'UDPRoute') return;
  const status = index.gatewayStatus(kind, namespace, name);
  if (status) writer.set(status);
  else writer.forget(kind, namespace, name);
}
