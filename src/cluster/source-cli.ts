// The `wharf source` command line: options in, a running KubernetesEventSource out, stopped cleanly
// on SIGTERM/SIGINT. Optional health endpoints (--listen) for the Pod's probes.
import http from 'node:http';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.ts';
import { EventSender } from './event-sender.ts';
import { loadKubeConfig, makeClients } from './kubernetes-client.ts';
import type { WatchScope } from './kubernetes-resources.ts';
import { KubernetesEventSource } from './source.ts';
import { parseDuration, parseNamespacedName, readTokenFile, UsageError } from '../cli-flags.ts';
import { streamConfigMapFlags } from '../stream-flags.ts';

export const SOURCE_USAGE = `usage: wharf source --handler-url URL [options]

Watches the objects wharf reads and posts every change to the handler tier as a CloudEvent
(io.wharf.resource.add/update/delete): an add for every object that exists at start, then every
change, and every object again at each resync. For clusters without Knative Eventing.

  --handler-url URL          the handler Service's events endpoint, e.g. http://wharf-handler.wharf/events
  --token-file PATH          bearer token for the handler (sent as Authorization: Bearer …)
  --kubeconfig PATH          credentials (default: KUBECONFIG, ~/.kube/config, or the Pod's service account)
  --namespace NS             read one namespace only (default: all)
  --configmap NS/NAME        wharf's global ConfigMap (default: none)
  --tcp-services-configmap NS/NAME  the TCP services ConfigMap (default: none)
  --udp-services-configmap NS/NAME  the UDP services ConfigMap (default: none)
  --auth-secret-selector SEL label selector for the Opaque Secrets holding htpasswd files (default: all Opaque Secrets)
  --no-auth-secrets          read no Opaque Secrets (no basic auth)
  --no-gateway-api           read no Gateway API kinds nor Namespaces (default: read them where the CRDs are installed)
  --resync DURATION          send every object again this often (default 10m; 0 = never)
  --source NAME              CloudEvents source attribute (default wharf/source/<hostname>)
  --listen HOST:PORT         serve /healthz and /readyz (default: off)`;


function listenAddress(text: string): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(text);
  if (!m) throw new UsageError(`--listen: Invalid value: ${JSON.stringify(text)}: use host:port`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

/** Runs `wharf source` until SIGTERM or SIGINT; a bad flag prints the usage and exits with 2. */
export async function runSourceCommand(argv: string[]): Promise<void> {
  try {
    await run(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`wharf source: ${e.message}\n\n${SOURCE_USAGE}`);
    process.exitCode = 2;
  }
}

const OPTIONS = {
  'handler-url': { type: 'string' },
  'token-file': { type: 'string' },
  kubeconfig: { type: 'string' },
  namespace: { type: 'string' },
  configmap: { type: 'string' },
  'tcp-services-configmap': { type: 'string' },
  'udp-services-configmap': { type: 'string' },
  'auth-secret-selector': { type: 'string' },
  'no-auth-secrets': { type: 'boolean' },
  'no-gateway-api': { type: 'boolean' },
  resync: { type: 'string', default: '10m' },
  source: { type: 'string' },
  listen: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function flags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, strict: true }).values;
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}


async function run(argv: string[]): Promise<void> {
  const values = flags(argv);
  if (values.help) {
    console.log(SOURCE_USAGE);
    return;
  }
  const url = values['handler-url'];
  if (!url) throw new UsageError('--handler-url: Required value: where to post the events');
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--handler-url: Invalid value: ${JSON.stringify(url)}: must be an http or https URL`);
  const scope: WatchScope = {};
  if (values.namespace) scope.namespace = values.namespace;
  if (values.configmap) scope.configMap = parseNamespacedName('--configmap', values.configmap);
  const streamConfigMaps = streamConfigMapFlags(values['tcp-services-configmap'], values['udp-services-configmap']).refs;
  if (streamConfigMaps.length) scope.streamConfigMaps = streamConfigMaps;
  if (values['no-auth-secrets']) scope.authSecrets = false;
  else if (values['auth-secret-selector']) scope.authSecrets = { labelSelector: values['auth-secret-selector'] };
  if (values['no-gateway-api']) scope.gatewayApi = false;
  const resyncMs = parseDuration('--resync', values.resync!);
  const token = values['token-file'] ? await readTokenFile('--token-file', values['token-file']) : undefined;
  const log = createLogger({ component: 'source' });
  const clients = makeClients(loadKubeConfig(values.kubeconfig));

  const sender = new EventSender({ url, source: values.source ?? `wharf/source/${hostname()}`, token, log, maxAttempts: Number.POSITIVE_INFINITY, maxDelayMs: 10_000 });
  const source = new KubernetesEventSource({ clients, sender, log, scope, resyncMs });
  let ready = false;
  let health: http.Server | null = null;
  if (values.listen) {
    const { host, port } = listenAddress(values.listen);
    health = http.createServer((req, res) => {
      const ok = req.url === '/healthz' || (req.url === '/readyz' && ready);
      res.writeHead(ok ? 200 : req.url === '/readyz' ? 503 : 404, { 'content-type': 'text/plain' });
      res.end(ok ? 'ok\n' : req.url === '/readyz' ? 'listing\n' : 'not found\n');
    });
    await new Promise<void>((resolve, reject) => health!.once('error', reject).listen(port, host, resolve));
  }
  log.info('starting', { handler: url, scope, resyncMs });
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  void source.start().then(() => (ready = true));
  const signal = await stopped;
  log.info('stopping', { signal, queued: source.stats, delivery: sender.stats });
  await source.stop();
  await new Promise<void>((r) => (health ? health.close(() => r()) : r()));
  // A delivery still waiting for its next retry would hold the process for up to 10 s: nothing is lost
  // by not waiting (the handler relists, and the next source sends every object again).
  process.exit(0);
}
