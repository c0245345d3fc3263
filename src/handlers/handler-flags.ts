// `wharf handler`'s command line: flags in, HandlerOptions out (src/handlers/serve.ts runs them).
// Every problem is a UsageError naming the flag and what to fix; the Kubernetes credentials are
// loaded here, so a handler without them stops at once with a message instead of listing nothing.
import { parseDefaultCertificateFlag } from '../model/default-certificate.ts';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type * as k8s from '@kubernetes/client-node';
import type { KubeClients } from '../cluster/kubernetes-client.ts';
import { KubernetesReader } from '../cluster/kubernetes-reader.ts';
import type { WatchScope } from '../cluster/kubernetes-resources.ts';
import { parsePublishAddresses } from '../cluster/status-address.ts';
import type { PublishSource } from '../cluster/status-writer.ts';
import type { ClusterReader } from '../cluster/view.ts';
import type { Logger } from '../log.ts';
import { brotliModule, headersMoreModule } from '../agent/nginx-install.ts';
import { CONTROLLER_NAME, defaultObjectLimits, LIMIT_FLAGS, type ControllerSettings, type ObjectLimits } from '../model/index.ts';
import { parseAgentService, type AgentService } from './agent-discovery.ts';
import { httpAgentClient } from './agent-client.ts';
import { describeProblem, readServingPair, type ServingCertFiles } from './serving-cert.ts';
import { parseDuration, parseNamespacedName, readTokenFile, UsageError } from '../cli-flags.ts';
import { streamConfigMapFlags } from '../stream-flags.ts';

export const usage = `usage: wharf handler --agent-token-file FILE [options]

Serves the admission webhook (POST /admission), the CloudEvents receiver (POST /events), the agents'
snapshot (GET /snapshot), /healthz, /readyz and /metrics. Lists and watches the cluster, pushes the
configuration to every agent, and writes Ingress status and Events.

  --listen HOST:PORT            address to serve on (default 127.0.0.1:7070); with --events-listen only
                                the admission webhook (and the probes) is served here
  --events-listen HOST:PORT     serve POST /events, GET /snapshot and /metrics on this address instead,
                                so that a NetworkPolicy can admit the API server and the event source separately
  --tls-cert FILE, --tls-key FILE
                                serve HTTPS with this certificate (the API server calls webhooks over HTTPS);
                                the files are read again every --tls-reload-interval and a renewed, valid
                                pair is served to new connections without a restart
  --tls-reload-interval DUR     how often the certificate files are checked for a renewal (default 10s)
  --agent URL                   an agent's API, e.g. http://10.0.0.5:7071; repeatable
  --agent-service NS/NAME       find the agents through the EndpointSlices of their Service
  --agent-port N                the agents' API port with --agent-service (default 7071)
  --agent-token-file FILE       the token to call agents with; GET /snapshot requires it too (required)
  --events-token-file FILE      the token POST /events requires; without it /events is open (restrict it by NetworkPolicy)
  --event-ack-wait DUR          answer POST /events once the healthy agents hold its changes, waiting at most
                                this long, e.g. 200ms (default 0: once its pushes are written to them)
  --ingress-class NAME          the IngressClass wharf serves (default wharf)
  --watch-ingress-without-class also handle Ingresses that name no class
  --snippets off|safe           configuration-, server- and auth-snippet annotations: safe (default) accepts
                                the directives of wharf's allowlist, off denies every Ingress with a snippet
                                (the ConfigMap's allow-snippet-annotations: "false" turns them off too)
  --default-backend-service NS/NAME
                                the Service (its first port) that answers requests no rule matches, locations
                                whose Service has no ready endpoint, and the ConfigMap's custom-http-errors
  --max-rules-per-ingress N     refuse an Ingress with more rules (default 10000)
  --max-paths-per-ingress N     refuse an Ingress with more paths, all rules together (default 20000)
  --max-hosts-per-ingress N     refuse an Ingress naming more distinct hosts in its rules and TLS (default 10000)
  --nginx-ports HTTP,HTTPS      the agents' own HTTP and HTTPS ports (default 80,443): a Gateway listener on
                                a port P other than 80 and 443 is served on P + (HTTP - 80), and one with
                                no such port is not programmed (PortUnavailable)
  --enable-ssl-passthrough      honour the ssl-passthrough annotation (ingress-nginx's flag): the agents
                                route its hosts' TLS by SNI to their Services; the agents need it too

Cluster (credentials: --kubeconfig, else KUBECONFIG, ~/.kube/config, or the Pod's service account):
  --kubeconfig FILE             the kubeconfig to use
  --namespace NS                read one namespace only (default: all)
  --configmap NS/NAME           the global settings ConfigMap (others are ignored)
  --tcp-services-configmap NS/NAME  ingress-nginx's TCP services: "PORT": "ns/service:port[:PROXY[:PROXY]]"
  --udp-services-configmap NS/NAME  ingress-nginx's UDP services: "PORT": "ns/service:port"
  --default-ssl-certificate NS/NAME
                                the kubernetes.io/tls Secret the default server presents, and TLS hosts
                                without a usable certificate of their own (no secretName, or a Secret
                                that is missing or refused)
  --auth-secret-selector SEL    label selector of the Opaque Secrets holding htpasswd files (default: every Opaque Secret)
  --no-auth-secrets             read no Opaque Secrets (no basic auth)
  --no-gateway-api              read no Gateway API kinds nor Namespaces (default: read them where the CRDs are installed)
  --relist-interval DUR         full list of the cluster this often, e.g. 5m, 90s (default 5m)
  --no-watch                    do not watch the API server: list, relist and CloudEvents only (every
                                replica then knows only the events it received until its next relist)
  --no-list                     no cluster at all: an empty view fed by events only (tests, local use)
  --missing-api-retry-interval DUR
                                how often an API group/version the API server does not serve (404) is
                                asked for again; its stream starts when it appears (default 30s)

Ingress status and Events (written only with one of the two publish flags):
  --publish-service NS/NAME     publish the address of this Service (its load balancer, external or cluster IP)
  --publish-address LIST        publish these IPs and DNS names (comma-separated) instead
  --status-renew-interval DUR   how often each replica renews its Lease for status ownership (default 5s;
                                a replica writes 3 intervals after joining, and is taken as gone after 4)

Memory: unless NODE_OPTIONS (or node's own flags) bound the heap, \`wharf handler\` restarts itself
once with --max-semi-space-size=8 and --max-old-space-size=<half the container's memory limit, 256
without a limit>; WHARF_HEAP_DEFAULTS=0 turns that off.`;

export { parseDuration, UsageError };

/** Ingress status: where the address comes from and how replicas share the writes. */
export interface StatusOptions {
  clients: KubeClients;
  publish: PublishSource;
  /** Where this replica's Lease lives: the handler's own namespace. */
  leaseNamespace: string;
  /** Only Ingresses of this namespace (--namespace); default all. */
  namespace?: string;
  /** Write the status of the Gateway API kinds too (default true; --no-gateway-api: false). */
  gatewayApi?: boolean;
  /** This replica's name (default: POD_NAME, else the host name). */
  identity?: string;
  renewIntervalMs?: number;
  leaseDurationMs?: number;
  /** How often the agents are asked for quarantined fragments (default 10 s). */
  quarantinePollMs?: number;
  /** Delay before a failed status write is tried again (default 5 s). */
  retryMs?: number;
}

/** Watching the API server (the handler's own view kept current, not only through events). */
export interface WatchOptions {
  clients: KubeClients;
  scope: WatchScope;
  /** Backoff of the watchers after failures (tests shorten it). */
  backoff?: { baseMs?: number; maxMs?: number };
  /** How often a group/version the API server does not serve is asked for again (default 30 s). */
  notServedRetryMs?: number;
}

export interface HandlerOptions {
  host: string;
  port: number;
  /** A second listener for events, the snapshot and metrics (--events-listen); null: one port serves all. */
  eventsListen?: { host: string; port: number } | null;
  /**
   * HTTPS: the pair served at start; with `files`, the pair is re-read from them every
   * `reloadIntervalMs` (default 10 s) and a renewed one served without a restart.
   */
  tls: { cert: string; key: string; files?: ServingCertFiles; reloadIntervalMs?: number } | null;
  agents: string[];
  agentService: AgentService | null;
  agentToken: string;
  eventsToken: string | null;
  relistIntervalMs: number;
  controller: ControllerSettings;
  /** Lists and reads the cluster; null: an empty start, fed by events only. */
  reader: ClusterReader | null;
  /** Watches the cluster (needs `reader` for the periodic relist); null or absent: no watches. */
  watch?: WatchOptions | null;
  /** Writes Ingress status and Events; null or absent: none. */
  status?: StatusOptions | null;
  /** How long POST /events waits at most for healthy agents' acknowledgements (--event-ack-wait; absent or 0: not at all). */
  eventAckWaitMs?: number;
  log?: Logger;
}

function parseListen(value: string, flag = '--listen'): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:]+)\]|([^:]+)):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected HOST:PORT, e.g. 0.0.0.0:8443`);
  return { host: m[1] ?? m[2]!, port };
}

/** A positive whole number of things (a limit). */
function parseCount(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected a whole number of at least 1`);
  return n;
}

const NAMESPACE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The handler's own namespace, where its status Leases live: POD_NAMESPACE (the chart sets it),
 * else the service account's namespace file (in a Pod), else the kubeconfig context's, else default.
 */
export function ownNamespace(kubeConfig: k8s.KubeConfig, env: NodeJS.ProcessEnv = process.env, saFile = SERVICE_ACCOUNT_NAMESPACE): string {
  if (env.POD_NAMESPACE) return env.POD_NAMESPACE;
  try {
    const fromFile = readFileSync(saFile, 'utf8').trim();
    if (fromFile) return fromFile;
  } catch {
    // not in a Pod
  }
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace || 'default';
}


/** Parses `wharf handler` flags; throws UsageError with the flag and what to fix. Null: --help. */
export async function parseHandlerArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<HandlerOptions | null> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        listen: { type: 'string', default: '127.0.0.1:7070' },
        'events-listen': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-reload-interval': { type: 'string' },
        agent: { type: 'string', multiple: true, default: [] },
        'agent-service': { type: 'string' },
        'agent-port': { type: 'string', default: '7071' },
        'agent-token-file': { type: 'string' },
        'events-token-file': { type: 'string' },
        'event-ack-wait': { type: 'string', default: '0' },
        'relist-interval': { type: 'string', default: '5m' },
        'ingress-class': { type: 'string', default: 'wharf' },
        'watch-ingress-without-class': { type: 'boolean', default: false },
        snippets: { type: 'string', default: 'safe' },
        'default-backend-service': { type: 'string' },
        'max-rules-per-ingress': { type: 'string' },
        'max-paths-per-ingress': { type: 'string' },
        'max-hosts-per-ingress': { type: 'string' },
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        configmap: { type: 'string' },
        'tcp-services-configmap': { type: 'string' },
        'udp-services-configmap': { type: 'string' },
        'default-ssl-certificate': { type: 'string' },
        'auth-secret-selector': { type: 'string' },
        'no-auth-secrets': { type: 'boolean', default: false },
        'no-gateway-api': { type: 'boolean', default: false },
        'no-watch': { type: 'boolean', default: false },
        'no-list': { type: 'boolean', default: false },
        'missing-api-retry-interval': { type: 'string', default: '30s' },
        'publish-service': { type: 'string' },
        'publish-address': { type: 'string' },
        'status-renew-interval': { type: 'string', default: '5s' },
        'nginx-ports': { type: 'string', default: '80,443' },
        'enable-ssl-passthrough': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return null;
  const { host, port } = parseListen(values.listen);
  const snippets = values.snippets;
  if (snippets !== 'off' && snippets !== 'safe') throw new UsageError(`--snippets: Unsupported value: ${JSON.stringify(snippets)}: supported values: "off", "safe"`);
  const portsMatch = /^(\d{1,5}),(\d{1,5})$/.exec(values['nginx-ports']);
  const nginxPorts = portsMatch ? { httpPort: Number(portsMatch[1]), httpsPort: Number(portsMatch[2]) } : null;
  if (!nginxPorts || [nginxPorts.httpPort, nginxPorts.httpsPort].some((p) => p < 1 || p > 65535)) {
    throw new UsageError(`--nginx-ports: Invalid value: ${JSON.stringify(values['nginx-ports'])}: expected HTTP,HTTPS (the agents' --http-listen and --https-listen ports, e.g. 8080,8443)`);
  }
  const eventsListen = values['events-listen'] !== undefined ? parseListen(values['events-listen'], '--events-listen') : null;
  if (eventsListen && eventsListen.port === port && eventsListen.port !== 0) throw new UsageError(`--events-listen: Invalid value: ${JSON.stringify(values['events-listen'])}: must be another port than --listen`);
  if (Boolean(values['tls-cert']) !== Boolean(values['tls-key'])) throw new UsageError('--tls-cert and --tls-key: Required value: give both or neither');
  let tls: HandlerOptions['tls'] = null;
  if (values['tls-cert'] && values['tls-key']) {
    // The same check as every later reload: a pair that would be refused then is refused now.
    const files = { cert: values['tls-cert'], key: values['tls-key'] };
    const read = await readServingPair(files);
    if (!read.ok) throw new UsageError(describeProblem(files, read.problem));
    const reloadIntervalMs = parseDuration('--tls-reload-interval', values['tls-reload-interval'] ?? '10s');
    if (reloadIntervalMs < 100) throw new UsageError('--tls-reload-interval: Invalid value: at least 100ms');
    tls = { ...read.pair, files, reloadIntervalMs };
  } else if (values['tls-reload-interval'] !== undefined) {
    throw new UsageError('--tls-reload-interval: needs --tls-cert and --tls-key');
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
  const scope: WatchScope = {};
  if (values.configmap) scope.configMap = parseNamespacedName('--configmap', values.configmap);
  const streamConfigMaps = streamConfigMapFlags(values['tcp-services-configmap'], values['udp-services-configmap']);
  if (streamConfigMaps.refs.length) scope.streamConfigMaps = streamConfigMaps.refs;
  if (values.namespace !== undefined) {
    if (!NAMESPACE.test(values.namespace)) throw new UsageError(`--namespace: Invalid value: ${JSON.stringify(values.namespace)}: expected a namespace name`);
    scope.namespace = values.namespace;
    // The agents are found through EndpointSlices the view holds, and the view holds one namespace.
    if (agentService && agentService.namespace !== values.namespace) {
      throw new UsageError(
        `--agent-service: Invalid value: "${agentService.namespace}/${agentService.name}": the handler reads only namespace ${values.namespace} (--namespace), so it cannot see the agents' EndpointSlices in ${agentService.namespace}; run the agents in ${values.namespace}, or name them with --agent URL`,
      );
    }
  }
  let defaultSslCertificate: string | undefined;
  if (values['default-ssl-certificate'] !== undefined) {
    const key = parseDefaultCertificateFlag(values['default-ssl-certificate']);
    if (key === null) throw new UsageError(`--default-ssl-certificate: Invalid value: ${JSON.stringify(values['default-ssl-certificate'])}: expected NAMESPACE/NAME of a kubernetes.io/tls Secret`);
    // The view holds one namespace with --namespace: a Secret elsewhere would never be seen.
    if (scope.namespace !== undefined && !key.startsWith(`${scope.namespace}/`)) {
      throw new UsageError(`--default-ssl-certificate: Invalid value: ${JSON.stringify(key)}: the handler reads only namespace ${scope.namespace} (--namespace); put the Secret there`);
    }
    defaultSslCertificate = key;
  }
  const defaultBackend = values['default-backend-service'];
  if (defaultBackend !== undefined) {
    const ref = parseNamespacedName('--default-backend-service', defaultBackend);
    if (scope.namespace !== undefined && ref.namespace !== scope.namespace) {
      throw new UsageError(`--default-backend-service: Invalid value: ${JSON.stringify(defaultBackend)}: the handler reads only namespace ${scope.namespace} (--namespace), so it cannot see this Service`);
    }
  }
  if (values['no-auth-secrets'] && values['auth-secret-selector']) throw new UsageError('--auth-secret-selector and --no-auth-secrets: give one or neither');
  if (values['no-auth-secrets']) scope.authSecrets = false;
  else if (values['auth-secret-selector']) scope.authSecrets = { labelSelector: values['auth-secret-selector'] };
  if (values['no-gateway-api']) scope.gatewayApi = false;
  if (values['publish-service'] && values['publish-address']) throw new UsageError('--publish-service and --publish-address: give one or neither');
  const limits: ObjectLimits = { ...defaultObjectLimits };
  for (const key of Object.keys(LIMIT_FLAGS) as (keyof ObjectLimits)[]) {
    const flag = LIMIT_FLAGS[key];
    const value = values[flag.slice(2) as 'max-rules-per-ingress'];
    if (value !== undefined) limits[key] = parseCount(flag, value);
  }
  const eventAckWaitMs = parseDuration('--event-ack-wait', values['event-ack-wait']);
  if (eventAckWaitMs > 30_000) throw new UsageError('--event-ack-wait: Invalid value: at most 30s (an event source waits for the answer)');
  const relistIntervalMs = parseDuration('--relist-interval', values['relist-interval']);
  if (relistIntervalMs < 1000) throw new UsageError('--relist-interval: Invalid value: at least 1s');
  const notServedRetryMs = parseDuration('--missing-api-retry-interval', values['missing-api-retry-interval']);
  if (notServedRetryMs < 100) throw new UsageError('--missing-api-retry-interval: Invalid value: at least 100ms');
  const renewIntervalMs = parseDuration('--status-renew-interval', values['status-renew-interval']);
  if (renewIntervalMs < 100) throw new UsageError('--status-renew-interval: Invalid value: at least 100ms');

  let reader: ClusterReader | null = null;
  let watch: WatchOptions | null = null;
  let status: StatusOptions | null = null;
  if (values['no-list']) {
    const clusterFlags = ['kubeconfig', 'namespace', 'auth-secret-selector', 'publish-service', 'publish-address'] as const;
    const given = clusterFlags.filter((f) => values[f] !== undefined);
    if (given.length) throw new UsageError(`--${given[0]}: needs the cluster, and --no-list runs without it`);
  } else {
    let clients: KubeClients;
    let kubeConfig: k8s.KubeConfig;
    // Loaded here, not at the top: the client is 868 modules, and `wharf local` and --no-list never use it.
    const { loadKubeConfig, makeClients } = await import('../cluster/kubernetes-client.ts');
    try {
      kubeConfig = loadKubeConfig(values.kubeconfig);
      clients = makeClients(kubeConfig);
    } catch (e) {
      throw new UsageError(`${(e as Error).message}; or pass --no-list to run fed by events only`);
    }
    reader = new KubernetesReader(clients, scope);
    if (!values['no-watch']) watch = { clients, scope, notServedRetryMs };
    let publish: PublishSource | null = null;
    if (values['publish-service']) publish = { service: parseNamespacedName('--publish-service', values['publish-service']) };
    else if (values['publish-address']) {
      try {
        publish = { addresses: parsePublishAddresses(values['publish-address']) };
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (publish) {
      status = { clients, publish, leaseNamespace: ownNamespace(kubeConfig, env), renewIntervalMs, leaseDurationMs: 4 * renewIntervalMs };
      if (env.POD_NAME) status.identity = env.POD_NAME;
      if (scope.namespace) status.namespace = scope.namespace;
      if (scope.gatewayApi === false) status.gatewayApi = false;
    }
  }
  return {
    host,
    port,
    eventsListen,
    tls,
    agents: values.agent,
    agentService,
    agentToken: await readTokenFile('--agent-token-file', values['agent-token-file']),
    eventsToken: values['events-token-file'] ? await readTokenFile('--events-token-file', values['events-token-file']) : null,
    relistIntervalMs,
    ...(eventAckWaitMs > 0 ? { eventAckWaitMs } : {}),
    controller: {
      controllerName: CONTROLLER_NAME,
      ingressClassName: values['ingress-class'],
      watchIngressWithoutClass: values['watch-ingress-without-class'],
      snippets,
      // more_* snippet directives need the module the agents load; the same image runs both.
      headersMore: headersMoreModule() !== null,
      brotli: brotliModule() !== null,
      ...(values.configmap ? { configMap: values.configmap } : {}),
      ...streamConfigMaps.settings,
      ...(defaultSslCertificate ? { defaultSslCertificate } : {}),
      ...(defaultBackend !== undefined ? { defaultBackendService: defaultBackend } : {}),
      limits,
      nginxPorts,
      ...(values['enable-ssl-passthrough'] ? { sslPassthrough: true } : {}),
    },
    reader,
    watch,
    status,
  };
}
