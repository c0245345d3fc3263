// `wharf handler`: the handler tier under Node. Lists the cluster, keeps the view current through
// watches of the API server (and CloudEvents, the fast trigger and Knative's path), serves the Hono
// app over HTTP or HTTPS (the API server calls webhooks over HTTPS only), relists periodically,
// pushes to a static list of agents or to those found through their Service, and writes Ingress
// status and Events (one replica per Ingress). Flags: handler-flags.ts.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import { serve } from '@hono/node-server';
import { collectDefaultMetrics } from 'prom-client';
import { GatewayStatusWriter } from '../cluster/gateway-status-writer.ts';
import { KubernetesViewFeed, type ChangeSink } from '../cluster/kubernetes-view-feed.ts';
import { ReplicaMembership } from '../cluster/status-members.ts';
import { IngressStatusWriter } from '../cluster/status-writer.ts';
import { MemoryView } from '../cluster/view-memory.ts';
import { numericVersion, type Change, type ClusterReader, type Kind, type KindList, type KubeObject } from '../cluster/view.ts';
import { createLogger, type Logger } from '../log.ts';
import { agentsFromView } from './agent-discovery.ts';
import { httpAgentClient } from './agent-client.ts';
import { createApp, type HandlerApp } from './app.ts';
import { AgentFanout } from './fanout.ts';
import { parseHandlerArgs, usage, UsageError, type HandlerOptions } from './handler-flags.ts';
import { applyHeapDefaults } from './heap-defaults.ts';
import { IngressVerdicts } from './ingress-verdicts.ts';
import { createHandlerMetrics, type HandlerMetrics } from './metrics.ts';
import { QuarantineWatch } from './quarantine.ts';
import { relevantTo } from './relevance.ts';
import { certificateFields, checkServingPair, ServingCertWatch, type ServingCertificate } from './serving-cert.ts';

export { parseDuration, parseHandlerArgs, usage, UsageError, type HandlerOptions, type StatusOptions, type WatchOptions } from './handler-flags.ts';

export interface RunningHandler {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  url: string;
  handler: HandlerApp;
  fanout: AgentFanout;
  /** The watches keeping the view current (null with --no-watch or without a cluster). */
  feed: KubernetesViewFeed | null;
  /**
   * Ingress status and Events (null without a publish flag), and the Gateway API's status (null with
   * --no-gateway-api): the handler gives it the model's conclusions through `gateway.set(status)`.
   */
  status: { membership: ReplicaMembership; writer: IngressStatusWriter; quarantine: QuarantineWatch; gateway: GatewayStatusWriter | null } | null;
  close(): Promise<void>;
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

/** Starts the handler: lists, serves, relists. Resolves once it listens and the first list is done. */
export async function startHandler(o: HandlerOptions): Promise<RunningHandler> {
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
  let feed: KubernetesViewFeed | null = null;
  let sink: HandlerSink | null = null;
  let verdicts: IngressVerdicts | null = null;
  const handler = createApp({
    view,
    reader: o.reader ?? emptyReader,
    agents: fanout,
    settings: { controller: o.controller, agentToken: o.agentToken, eventsToken: o.eventsToken },
    metrics,
    log,
    onChange: (key) => {
      if (o.agentService && key.kind === 'EndpointSlice' && key.namespace === o.agentService.namespace) discover();
    },
    onIngresses: (keys) => verdicts?.affected(keys),
    // The watches have seen every write up to the oldest of their positions (bookmarks included).
    // An optional stream whose API is not served (no Gateway API CRDs) holds nothing and has no position.
    watchedUpTo: () => (feed?.synced && sink?.settled ? Math.min(...feed.watchers.filter((w) => !w.notServed).map((w) => numericVersion(w.resourceVersion))) : 0),
  });

  let status: RunningHandler['status'] = null;
  if (o.status) {
    const s = o.status;
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
            ...(o.watch?.backoff ? { watch: { backoff: o.watch.backoff } } : {}),
          });
    status = { membership, writer, quarantine, gateway };
  }

  if (o.watch && o.reader) {
    // The view follows the API server itself: every replica is current, whichever one an event reached.
    sink = new HandlerSink(handler, log);
    feed = new KubernetesViewFeed({
      clients: o.watch.clients,
      sink,
      log: log.child({ part: 'watch' }),
      scope: o.watch.scope,
      ...(o.watch.backoff ? { watch: { backoff: o.watch.backoff } } : {}),
    });
    await feed.start();
    await sink.replaced();
  }
  if (!view.synced) {
    // The first list, retried until it works: the handler is not ready before it.
    for (let attempt = 1; ; attempt++) {
      try {
        const s = await handler.relist();
        log.info('cluster listed', { ...s });
        break;
      } catch (e) {
        const delay = Math.min(30_000, 500 * 2 ** Math.min(attempt - 1, 6));
        log.warn('cannot list the cluster yet; retrying', { attempt, retryInMs: delay, error: e });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }
  discover();

  if (status) {
    const { membership, writer, quarantine, gateway } = status;
    // Status ownership and the status watches start in the background: they never hold up serving.
    void membership.start().catch((e) => log.error('status ownership could not start', { error: e }));
    void writer.start().catch((e) => log.error('the status writer could not start', { error: e }));
    void gateway?.start().catch((e) => log.error('the Gateway API status writer could not start', { error: e }));
    quarantine.start();
  }

  const relistTimer = o.reader
    ? setInterval(() => {
        handler.relist().then(
          (s) => log.info('relisted', { ...s }),
          (e) => log.warn('relist failed; the next one tries again', { error: e }),
        );
      }, o.relistIntervalMs).unref()
    : null;

  const server = await new Promise<Server>((resolve, reject) => {
    const s = serve(
      {
        fetch: handler.app.fetch,
        hostname: o.host,
        port: o.port,
        ...(o.tls ? { createServer: createHttpsServer, serverOptions: { cert: o.tls.cert, key: o.tls.key } } : {}),
      },
      () => resolve(s as Server),
    ) as Server;
    s.once('error', reject);
  });
  // Slow or stuck clients cannot hold requests open for long; keep-alive outlives the API server's.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  const certWatch = o.tls ? serveCertificate(server, o.tls, metrics, log) : null;
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${o.tls ? 'https' : 'http'}://${host}:${address.port}`;
  log.info('handler listening', {
    url,
    agents: fanout.status().map((a) => a.agent),
    eventsAuthenticated: o.eventsToken !== null,
    watching: feed !== null,
    status: status ? status.membership.identity : false,
    heapLimitMb: Math.round(getHeapStatistics().heap_size_limit / 1048576),
  });
  if (!o.eventsToken) log.warn('POST /events accepts events without a token: only the event source may be able to reach it (NetworkPolicy)');

  return {
    url,
    handler,
    fanout,
    feed,
    status,
    async close() {
      if (relistTimer) clearInterval(relistTimer);
      await certWatch?.stop();
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections?.();
      });
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

/**
 * HTTPS: exports the served certificate's expiry, and, when the pair came from files, re-reads them
 * so that a renewed certificate (cert-manager, the kubelet's Secret volume) is served without a restart.
 */
function serveCertificate(server: Server, tls: NonNullable<HandlerOptions['tls']>, metrics: HandlerMetrics, log: Logger): ServingCertWatch | null {
  metrics.registry.registerMetric(metrics.servingCertExpiry);
  const taken = (c: ServingCertificate) => metrics.servingCertExpiry.set(c.notAfter.getTime() / 1000);
  const check = checkServingPair(tls);
  if (check.ok) {
    taken(check.certificate);
    log.info('serving certificate', { ...certificateFields(check.certificate), reloadIntervalMs: tls.files ? (tls.reloadIntervalMs ?? 10_000) : null });
    if (check.certificate.notAfter.getTime() <= Date.now()) log.warn('the serving certificate has expired: the API server refuses it', certificateFields(check.certificate));
  }
  if (!tls.files) return null;
  const watch = new ServingCertWatch({
    // An https.Server from @hono/node-server's createServer option: a tls.Server underneath.
    server: server as unknown as HttpsServer,
    files: tls.files,
    current: { cert: tls.cert, key: tls.key },
    log: log.child({ part: 'serving-cert' }),
    onCertificate: taken,
    ...(tls.reloadIntervalMs ? { intervalMs: tls.reloadIntervalMs } : {}),
  });
  watch.start();
  return watch;
}

/** The `wharf handler` command. */
export async function main(argv: string[]): Promise<void> {
  if (!argv.includes('--help') && !argv.includes('-h')) applyHeapDefaults();
  const log = createLogger({ component: 'handler' });
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
  const running = await startHandler({ ...options, log });
  const stop = async (signal: string) => {
    log.info('stopping', { signal });
    await running.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}
