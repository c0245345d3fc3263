// `wharf agent`: parses the flags, reads the token files, runs the Agent until SIGTERM/SIGINT, then
// stops NGINX gracefully and exits.
import { isAbsolute, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../log.ts';
import { Agent, type AgentOptions } from './agent.ts';
import { parseDuration, readTokenFile, UsageError } from '../cli-flags.ts';
import { relaunch } from './relaunch.ts';
import { resolverAddress } from './resolvers.ts';

export const usage = `usage: wharf agent --prefix DIR --token-file FILE [options]

Runs NGINX in DIR (which the agent owns and writes nothing outside of) and serves the agent API.

  --prefix DIR                    NGINX prefix: config, fragments, sockets, temp files (required)
  --token-file FILE               bearer token every API call must send (required)
  --listen HOST:PORT              API address (default 127.0.0.1:7071)
  --http-listen ADDR              NGINX plain-HTTP listen address, repeatable (default 80)
  --https-listen ADDR             NGINX TLS listen address, repeatable (default 443; "none" for none)
  --ipv6-listen auto|off          auto: NGINX also listens on [::] beside each 0.0.0.0 (or bare port)
                                  address and on [::1] beside 127.0.0.1, where the host has IPv6;
                                  off: only the addresses given (default auto)
  --public-https-port N           the port clients use for HTTPS, named in redirects to HTTPS unless 443
                                  (default 443: a Service maps it to NGINX's port); backends get it
                                  as X-Forwarded-Port
  --public-http-port N            the port clients use for plain HTTP, sent to backends as
                                  X-Forwarded-Port (default 80)
  --worker-processes N|auto       NGINX worker processes (default auto)
  --worker-shutdown-timeout DUR   how long old workers may drain after a reload (default 60s)
  --worker-user NAME              the user NGINX's workers run as when the agent runs as root; it owns
                                  the secret files (htpasswd) they read (default nobody)
  --resolver ADDR                 DNS server NGINX asks for external auth's host names, repeatable:
                                  IP, IP:PORT or [IPv6]:PORT ("none" for none; default: the
                                  nameservers of /etc/resolv.conf)
  --resolver-valid DUR            how long NGINX keeps a resolved name (ExternalName backends, external
                                  auth) before it asks again (default 30s)
  --reload-timeout DUR            how long a reload may take to serve the new version (default 30s)
  --endpoint-mode auto|lua|reload lua: endpoints through the Lua shared dict; reload: static
                                  upstreams and reloads (default auto: lua when installed)
  --request-metrics on|off        request metrics per Ingress, path, service and status class
                                  (nginx_ingress_controller_requests, ...), counted by NGINX's log
                                  phase; lua endpoint mode only (default on)
  --request-metrics-max-series N  series kept at most; requests of further ones are counted in
                                  wharf_request_metrics_overflow_total only (default 5000)
  --snapshot-url URL              at start, GET the whole desired state from the handler tier
  --snapshot-token-file FILE      bearer token for --snapshot-url
  --certificate-store-size SIZE   memory for TLS certificates served by SNI (the Lua module's shared
                                  dict): bytes, or with Ki, Mi or Gi (default 64Mi, about 10,000
                                  certificates with their keys); a full store refuses new ones (507)
  --max-batch-size SIZE           largest POST /v1/batch accepted: bytes, or with Ki, Mi or Gi
                                  (default 512Mi; a snapshot takes 3-10 KB a host); the snapshot
                                  of --snapshot-url is not held to it
  --access-log                    NGINX access log (JSON lines) on stdout
  --error-log-level LEVEL         NGINX error log level (default warn)
  --enable-ssl-passthrough        route TLS on the HTTPS addresses by SNI (NGINX's stream module):
                                  ssl-passthrough hosts' TLS goes to their Services unterminated,
                                  the rest to NGINX's HTTPS servers; the handler needs it too
  --nginx PATH                    the nginx binary (default: $WHARF_NGINX, PATH, /usr/sbin/nginx)
  -h, --help                      this text

Durations: 500ms, 30s, 2m (a bare number is seconds).

The agent restarts itself once at start (same PID) with V8 flags for a small heap, glibc malloc
settings that give memory back, and Node's compile cache in DIR/node-compile-cache (so that Node's
TypeScript stripper is never loaded); WHARF_AGENT_RELAUNCH=off runs it as started instead.`;

/** Flags after parsing, before files are read. */
export interface AgentArgs {
  options: Omit<AgentOptions, 'token' | 'snapshot' | 'logger'>;
  tokenFile: string;
  snapshot: { url: string; tokenFile: string } | null;
}

export { parseDuration, UsageError };

function parseHostPort(flag: string, value: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected HOST:PORT, e.g. 127.0.0.1:7071 or [::1]:7071`);
  return { host: m[1] ?? m[2]!, port };
}

/** A size in bytes: a number, or one with Ki, Mi or Gi; at least 1 MiB, below 4 GiB. */
function parseSize(flag: string, value: string): number {
  const m = /^(\d{1,10})(Ki|Mi|Gi)?$/.exec(value);
  const bytes = m ? Number(m[1]) * ({ Ki: 1 << 10, Mi: 1 << 20, Gi: 1 << 30 }[m[2] ?? ''] ?? 1) : NaN;
  if (!(bytes >= 1 << 20 && bytes < 2 ** 32)) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected a size from 1Mi to 4Gi, e.g. 128Mi or 134217728`);
  return bytes;
}

/** A TCP port from 1 to 65535. */
function portFlag(flag: string, value: string): number {
  const port = Number(value);
  if (!/^\d{1,5}$/.test(value) || port < 1 || port > 65535) throw new UsageError(`${flag}: Invalid value: ${JSON.stringify(value)}: expected a port number`);
  return port;
}

function absolute(p: string): string {
  return isAbsolute(p) ? p : resolve(p);
}

/** Parses `wharf agent` flags; throws UsageError with the flag and the reason. */
export function parseAgentArgs(argv: string[]): AgentArgs | 'help' {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        prefix: { type: 'string' },
        'token-file': { type: 'string' },
        listen: { type: 'string', default: '127.0.0.1:7071' },
        'http-listen': { type: 'string', multiple: true },
        'https-listen': { type: 'string', multiple: true },
        'ipv6-listen': { type: 'string', default: 'auto' },
        'public-https-port': { type: 'string', default: '443' },
        'public-http-port': { type: 'string', default: '80' },
        'worker-processes': { type: 'string', default: 'auto' },
        'worker-shutdown-timeout': { type: 'string', default: '60s' },
        'worker-user': { type: 'string', default: 'nobody' },
        resolver: { type: 'string', multiple: true },
        'resolver-valid': { type: 'string', default: '30s' },
        'reload-timeout': { type: 'string', default: '30s' },
        'endpoint-mode': { type: 'string', default: 'auto' },
        'request-metrics': { type: 'string', default: 'on' },
        'request-metrics-max-series': { type: 'string', default: '5000' },
        'snapshot-url': { type: 'string' },
        'snapshot-token-file': { type: 'string' },
        'max-batch-size': { type: 'string', default: '512Mi' },
        'certificate-store-size': { type: 'string', default: '64Mi' },
        'access-log': { type: 'boolean', default: false },
        'error-log-level': { type: 'string', default: 'warn' },
        'enable-ssl-passthrough': { type: 'boolean', default: false },
        nginx: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (values.help) return 'help';
  if (!values.prefix) throw new UsageError('--prefix: Required value: the directory NGINX runs in (the agent owns it)');
  if (!values['token-file']) {
    throw new UsageError('--token-file: Required value: the agent refuses to serve its API without a bearer token; put one in a file and pass its path');
  }
  const workers = values['worker-processes'];
  if (workers !== 'auto' && !/^[1-9]\d{0,3}$/.test(workers)) throw new UsageError(`--worker-processes: Invalid value: ${JSON.stringify(workers)}: expected a number or auto`);
  const mode = values['endpoint-mode'];
  if (mode !== 'auto' && mode !== 'lua' && mode !== 'reload') throw new UsageError(`--endpoint-mode: Invalid value: ${JSON.stringify(mode)}: expected auto, lua or reload`);
  const requestMetrics = values['request-metrics'];
  if (requestMetrics !== 'on' && requestMetrics !== 'off') throw new UsageError(`--request-metrics: Invalid value: ${JSON.stringify(requestMetrics)}: expected on or off`);
  const maxSeries = values['request-metrics-max-series'];
  if (!/^[1-9]\d{0,5}$/.test(maxSeries) || Number(maxSeries) > 100_000) {
    throw new UsageError(`--request-metrics-max-series: Invalid value: ${JSON.stringify(maxSeries)}: expected a number from 1 to 100000`);
  }
  const ipv6Listen = values['ipv6-listen'];
  if (ipv6Listen !== 'auto' && ipv6Listen !== 'off') throw new UsageError(`--ipv6-listen: Invalid value: ${JSON.stringify(ipv6Listen)}: expected auto or off`);
  const level = values['error-log-level'];
  if (!['debug', 'info', 'notice', 'warn', 'error'].includes(level)) throw new UsageError(`--error-log-level: Invalid value: ${JSON.stringify(level)}: expected debug, info, notice, warn or error`);
  const shutdownMs = parseDuration('--worker-shutdown-timeout', values['worker-shutdown-timeout']);
  if (shutdownMs < 1000) throw new UsageError('--worker-shutdown-timeout: Invalid value: at least 1s');
  const reloadTimeoutMs = parseDuration('--reload-timeout', values['reload-timeout']);
  if (reloadTimeoutMs < 100) throw new UsageError('--reload-timeout: Invalid value: at least 100ms');
  if (!!values['snapshot-url'] !== !!values['snapshot-token-file']) {
    throw new UsageError('--snapshot-url and --snapshot-token-file: Required value: give both or neither');
  }
  const snapshotUrl = values['snapshot-url'];
  if (snapshotUrl && !/^https?:\/\/\S+$/.test(snapshotUrl)) throw new UsageError(`--snapshot-url: Invalid value: ${JSON.stringify(snapshotUrl)}: expected an http(s) URL`);
  const https = values['https-listen'] ?? ['443'];
  const resolverFlags = values.resolver;
  let resolvers: string[] | undefined;
  if (resolverFlags) {
    resolvers = resolverFlags.length === 1 && resolverFlags[0] === 'none' ? [] : resolverFlags.map((r) => {
      const address = resolverAddress(r);
      if (!address) throw new UsageError(`--resolver: Invalid value: ${JSON.stringify(r)}: expected an IP address with an optional port, e.g. 10.96.0.10, 10.96.0.10:53 or [fd00::a]:53`);
      return address;
    });
  }
  const resolverValidMs = parseDuration('--resolver-valid', values['resolver-valid']);
  if (resolverValidMs < 1000 || resolverValidMs > 86_400_000) throw new UsageError('--resolver-valid: Invalid value: between 1s and 24h');
  const worker = values['worker-user'];
  if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,31}$/.test(worker)) throw new UsageError(`--worker-user: Invalid value: ${JSON.stringify(worker)}: expected a user name`);
  const publicHttpsPort = portFlag('--public-https-port', values['public-https-port']);
  const publicHttpPort = portFlag('--public-http-port', values['public-http-port']);
  const batchBytes = parseSize('--max-batch-size', values['max-batch-size']);
  const certificateStoreMb = Math.ceil(parseSize('--certificate-store-size', values['certificate-store-size']) / (1 << 20));
  return {
    tokenFile: absolute(values['token-file']),
    snapshot: snapshotUrl ? { url: snapshotUrl, tokenFile: absolute(values['snapshot-token-file']!) } : null,
    options: {
      prefix: absolute(values.prefix),
      listen: parseHostPort('--listen', values.listen),
      httpListen: values['http-listen'] ?? ['80'],
      httpsListen: https.length === 1 && https[0] === 'none' ? [] : https,
      ipv6Listen,
      publicHttpsPort,
      publicHttpPort,
      workerProcesses: workers === 'auto' ? 'auto' : Number(workers),
      workerShutdownTimeoutSeconds: Math.ceil(shutdownMs / 1000),
      workerUser: worker,
      ...(resolvers ? { resolvers } : {}),
      resolverValidSeconds: Math.ceil(resolverValidMs / 1000),
      reloadTimeoutMs,
      endpointMode: mode,
      requestMetrics: requestMetrics === 'on',
      requestMetricsMaxSeries: Number(maxSeries),
      accessLog: values['access-log'],
      limits: { batchBytes },
      certificateStoreMb,
      errorLogLevel: level as AgentOptions['errorLogLevel'],
      ...(values.nginx ? { nginxBin: values.nginx } : {}),
      ...(values['enable-ssl-passthrough'] ? { sslPassthrough: true } : {}),
    },
  };
}

/** Entry point of `wharf agent`. Resolves when the agent has stopped. */
export async function main(argv: string[]): Promise<void> {
  const log = createLogger({ component: 'agent' });
  let args: AgentArgs | 'help';
  try {
    args = parseAgentArgs(argv);
    if (args === 'help') {
      console.log(usage);
      return;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`wharf agent: ${e.message}\n\n${usage}`);
    process.exitCode = 2;
    return;
  }
  let agent: Agent;
  try {
    const token = await readTokenFile('--token-file', args.tokenFile);
    const snapshot = args.snapshot ? { url: args.snapshot.url, token: await readTokenFile('--snapshot-token-file', args.snapshot.tokenFile) } : undefined;
    agent = new Agent({ ...args.options, token, snapshot, logger: log });
  } catch (e) {
    console.error(`wharf agent: ${(e as Error).message}`);
    process.exitCode = 2;
    return;
  }
  // The flags are good: start again (same PID) with the agent's V8 flags, malloc settings and a warm
  // compile cache (src/agent/relaunch.ts). In the last stage this returns.
  relaunch(agent.layout.compileCacheDir, (msg, fields) => log.warn(msg, fields));

  let signalled: NodeJS.Signals | null = null;
  const stopped = new Promise<void>((resolveStopped) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        log.warn('second signal: exiting without waiting for NGINX', { signal });
        process.exit(1);
      }
      signalled = signal;
      log.info('stopping: NGINX finishes its requests first', { signal });
      void agent.stop().then(resolveStopped, (e) => {
        log.error('stop failed', { error: e });
        process.exitCode = 1;
        resolveStopped();
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
  try {
    await agent.start();
  } catch (e) {
    log.error('agent did not start', { error: e });
    process.exitCode = 1;
    await agent.stop().catch(() => undefined);
    return;
  }
  await stopped;
}
