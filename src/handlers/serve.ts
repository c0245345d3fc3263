// `wharf handler`: the handler tier under Node. Reads its flags and tokens, lists the cluster, serves
// the Hono app over HTTP or HTTPS (the API server calls webhooks over HTTPS only), relists
// periodically, and pushes to a static list of agents or to those found through their Service.
import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import { serve } from '@hono/node-server';
import { collectDefaultMetrics } from 'prom-client';
import { MemoryView } from '../cluster/view-memory.ts';
import type { ClusterReader, KindList, KubeObject } from '../cluster/view.ts';
import { createLogger, type Logger } from '../log.ts';
import { CONTROLLER_NAME, type ControllerSettings } from '../model/index.ts';
import { agentsFromView, parseAgentService, type AgentService } from './agent-discovery.ts';
import { httpAgentClient } from './agent-client.ts';
import { createApp, type HandlerApp } from './app.ts';
import { AgentFanout } from './fanout.ts';
import { createHandlerMetrics } from './metrics.ts';
import { relevantTo } from './relevance.ts';

export const usage = `usage: wharf handler --agent-token-file FILE [options]

Serves the admission webhook (POST /admission), the CloudEvents receiver (POST /events), the agents'
snapshot (GET /snapshot), /healthz, /readyz and /metrics.

  --listen HOST:PORT            address to serve on (default 127.0.0.1:7070)
  --tls-cert FILE, --tls-key FILE
                                serve HTTPS with this certificate (the API server calls webhooks over HTTPS)
  --agent URL                   an agent's API, e.g. http://10.0.0.5:7071; repeatable
  --agent-service NS/NAME       find the agents through the EndpointSlices of their Service
  --agent-port N                the agents' API port with --agent-service (default 7071)
  --agent-token-file FILE       the token to call agents with; GET /snapshot requires it too (required)
  --events-token-file FILE      the token POST /events requires; without it /events is open (restrict it by NetworkPolicy)
  --relist-interval DUR         full list of the cluster this often, e.g. 5m, 90s (default 5m)
  --ingress-class NAME          the IngressClass wharf serves (default wharf)
  --watch-ingress-without-class also handle Ingresses that name no class
  --configmap NS/NAME           the global settings ConfigMap (others are ignored)
  --no-list                     start with an empty view fed by events only (no cluster reader: tests, local use)
  --publish-service NS/NAME     accepted for the chart; Ingress status is not written yet`;

export class UsageError extends Error {}

export interface HandlerOptions {
  host: string;
  port: number;
  tls: { cert: string; key: string } | null;
  agents: string[];
  agentService: AgentService | null;
  agentToken: string;
  eventsToken: string | null;
  relistIntervalMs: number;
  controller: ControllerSettings;
  /** Lists and reads the cluster; null: an empty start, fed by events only. */
  reader: ClusterReader | null;
  log?: Logger;
}

export interface RunningHandler {
  /** Base URL, e.g. http://127.0.0.1:7070 */
  url: string;
  handler: HandlerApp;
  fanout: AgentFanout;
  close(): Promise<void>;
}

/** "5m", "90s", "250ms", "1h" or plain seconds → milliseconds. */
export function parseDuration(flag: string, value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected a duration such as 90s, 5m or 1h`);
  const n = Number(m[1]);
  return Math.round(n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h']);
}

function parseListen(value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`--listen: Invalid value: ${JSON.stringify(value)}: expected HOST:PORT, e.g. 0.0.0.0:8443`);
  return { host: m[1] ?? m[2]!, port };
}

async function readToken(flag: string, path: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag}: cannot read ${path}: ${(e as Error).message}`);
  }
  const token = text.trim();
  if (token.length < 16) throw new UsageError(`${flag}: the token in ${path} is ${token.length} characters; use at least 16 (e.g. openssl rand -hex 32)`);
  return token;
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
  });

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
  discover();

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
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${o.tls ? 'https' : 'http'}://${host}:${address.port}`;
  log.info('handler listening', { url, agents: fanout.status().map((a) => a.agent), eventsAuthenticated: o.eventsToken !== null });
  if (!o.eventsToken) log.warn('POST /events accepts events without a token: only the event source may be able to reach it (NetworkPolicy)');

  return {
    url,
    handler,
    fanout,
    async close() {
      if (relistTimer) clearInterval(relistTimer);
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeIdleConnections?.();
      });
      await fanout.close();
    },
  };
}

/** Parses `wharf handler` flags; throws UsageError with the flag and what to fix. */
export async function parseHandlerArgs(argv: string[]): Promise<HandlerOptions | null> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        listen: { type: 'string', default: '127.0.0.1:7070' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        agent: { type: 'string', multiple: true, default: [] },
        'agent-service': { type: 'string' },
        'agent-port': { type: 'string', default: '7071' },
        'agent-token-file': { type: 'string' },
        'events-token-file': { type: 'string' },
        'relist-interval': { type: 'string', default: '5m' },
        'ingress-class': { type: 'string', default: 'wharf' },
        'watch-ingress-without-class': { type: 'boolean', default: false },
        configmap: { type: 'string' },
        'no-list': { type: 'boolean', default: false },
        'publish-service': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return null;
  const { host, port } = parseListen(values.listen);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new UsageError('--tls-cert and --tls-key: Required value: give both or neither');
  let tls: HandlerOptions['tls'] = null;
  if (values['tls-cert'] && values['tls-key']) {
    try {
      tls = { cert: await readFile(values['tls-cert'], 'utf8'), key: await readFile(values['tls-key'], 'utf8') };
    } catch (e) {
      throw new UsageError(`--tls-cert/--tls-key: ${(e as Error).message}`);
    }
  }
  if (!values['agent-token-file']) throw new UsageError('--agent-token-file: Required value: the token the agents require (GET /snapshot requires it too)');
  for (const a of values.agent) {
    try {
      httpAgentClient({ url: a, token: 'x' });
    } catch (e) {
      throw new UsageError(`--agent: ${(e as Error).message}`);
    }
  }
  let agentService: AgentService | null = null;
  if (values['agent-service']) {
    try {
      agentService = parseAgentService(values['agent-service'], Number(values['agent-port']));
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  if (values.configmap && !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(values.configmap)) {
    throw new UsageError(`--configmap: Invalid value: ${JSON.stringify(values.configmap)}: expected namespace/name`);
  }
  if (!values['no-list']) {
    throw new UsageError('listing the cluster needs the Kubernetes reader, which this build does not have yet; pass --no-list to run fed by events only');
  }
  const relistIntervalMs = parseDuration('--relist-interval', values['relist-interval']);
  if (relistIntervalMs < 1000) throw new UsageError('--relist-interval: Invalid value: at least 1s');
  return {
    host,
    port,
    tls,
    agents: values.agent,
    agentService,
    agentToken: await readToken('--agent-token-file', values['agent-token-file']),
    eventsToken: values['events-token-file'] ? await readToken('--events-token-file', values['events-token-file']) : null,
    relistIntervalMs,
    controller: {
      controllerName: CONTROLLER_NAME,
      ingressClassName: values['ingress-class'],
      watchIngressWithoutClass: values['watch-ingress-without-class'],
      ...(values.configmap ? { configMap: values.configmap } : {}),
    },
    reader: null,
  };
}

/** The `wharf handler` command. */
export async function main(argv: string[]): Promise<void> {
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
