// `wharf local`: local mode from the command line (what `npm start` runs).
import module from 'node:module';
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stat } from 'node:fs/promises';
import type { LocalMode } from './local-mode.ts';
import { ExitGuard } from './exit-guard.ts';
import { applyLocalHeapDefaults } from './heap.ts';
import { parseDefaultCertificateFlag } from '../src/model/default-certificate.ts';
import { parseNamespacedName } from '../src/cli-flags.ts';
import { streamConfigMapFlags } from '../src/stream-flags.ts';

const exampleDir = fileURLToPath(new URL('../examples/cafe/', import.meta.url));
/** The Gateway API cafe: the same backends. */
const gatewayExampleDir = fileURLToPath(new URL('../examples/gateway/', import.meta.url));
/** The cafe's Services as TCP services: the same backends. */
const streamsExampleDir = fileURLToPath(new URL('../examples/streams/', import.meta.url));

export const usage = `usage: wharf local [options]

Runs wharf on this machine from a folder of Kubernetes manifests: a handler, an agent with a real
NGINX, and a watcher that turns every file change into CloudEvents. No cluster needed.

  --manifests DIR       folder of YAML manifests (default: the cafe example, whose backends it starts,
                        as for examples/gateway)
  --http-port N         NGINX's HTTP port (default 8080)
  --https-port N        NGINX's HTTPS port (default 8443)
  --address IP          address NGINX listens on (default 127.0.0.1)
  --handler-port N      the handler's port (default 7070)
  --agent-port N        the agent's API port (default 7071)
  --work-dir DIR        NGINX's files and the full log (default .wharf/local)
  --no-backends         do not start the cafe example's echo servers
  --default-ssl-certificate NS/NAME
                        the kubernetes.io/tls Secret of the folder that the default server presents,
                        and TLS hosts without a usable certificate of their own
  --default-backend-service NS/NAME
                        the Service of the manifests that answers what no rule matches, Services
                        without endpoints and the ConfigMap's custom-http-errors
  --enable-ssl-passthrough
                        route TLS on the HTTPS port by SNI: hosts with the ssl-passthrough
                        annotation get their TLS unterminated (docs/ssl-passthrough.md)
  --tcp-services-configmap NS/NAME
                        the ConfigMap of TCP services, "PORT": "ns/service:port[:PROXY[:PROXY]]"
                        (default default/tcp-services); a port P is served on P + (--http-port - 80)
  --udp-services-configmap NS/NAME
                        the ConfigMap of UDP services (default default/udp-services)`;

function port(flag: string, value: string): number {
  const n = Number(value);
  if (!/^\d{1,5}$/.test(value) || n > 65535) throw new Error(`${flag}: Invalid value: ${JSON.stringify(value)}: expected a port number`);
  return n;
}

export async function main(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      manifests: { type: 'string' },
      'http-port': { type: 'string', default: '8080' },
      'https-port': { type: 'string', default: '8443' },
      address: { type: 'string', default: '127.0.0.1' },
      'handler-port': { type: 'string', default: '7070' },
      'agent-port': { type: 'string', default: '7071' },
      'work-dir': { type: 'string', default: '.wharf/local' },
      'default-ssl-certificate': { type: 'string' },
      'no-backends': { type: 'boolean', default: false },
      'default-backend-service': { type: 'string' },
      'enable-ssl-passthrough': { type: 'boolean', default: false },
      'tcp-services-configmap': { type: 'string', default: 'default/tcp-services' },
      'udp-services-configmap': { type: 'string', default: 'default/udp-services' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(usage);
    return;
  }
  // Before the rest of local mode is loaded: the process may be replaced with the heap flags.
  applyLocalHeapDefaults();
  // Node's compile cache spares most of compiling local mode's ~1,500 modules again at every start:
  // about 0.5 s of CPU. It is where Node keeps it (NODE_COMPILE_CACHE, or the system's temporary
  // folder), not in the work dir, so that a new --work-dir starts warm too (bench:local's, every
  // test's). NODE_DISABLE_COMPILE_CACHE turns it off.
  module.enableCompileCache?.();
  // The threads that parse the folder's YAML start first: they load their modules while this one
  // loads local mode's.
  const { ParseWorkers } = await import('./parse-workers.ts');
  const parseWorkers = new ParseWorkers();
  const [{ startLocal }, { cafeBackends }] = await Promise.all([import('./local-mode.ts'), import('./echo-servers.ts')]);
  const manifests = resolve(values.manifests ?? exampleDir);
  const isExample = manifests === resolve(exampleDir);
  if (!(await stat(manifests).catch(() => null))?.isDirectory()) throw new Error(`--manifests: ${manifests} is not a folder`);
  let defaultSslCertificate: string | undefined;
  if (values['default-ssl-certificate'] !== undefined) {
    const key = parseDefaultCertificateFlag(values['default-ssl-certificate']);
    if (key === null) throw new Error(`--default-ssl-certificate: Invalid value: ${JSON.stringify(values['default-ssl-certificate'])}: expected NAMESPACE/NAME of a kubernetes.io/tls Secret`);
    defaultSslCertificate = key;
  }
  const defaultBackend = values['default-backend-service'];
  if (defaultBackend !== undefined) parseNamespacedName('--default-backend-service', defaultBackend);
  const streams = streamConfigMapFlags(values['tcp-services-configmap'], values['udp-services-configmap']).settings;
  const httpPort = port('--http-port', values['http-port']);
  const httpsPort = port('--https-port', values['https-port']);
  const out = (line: string) => process.stdout.write(`${line}\n`);

  out(`wharf local: ${manifests}`);
  const workDir = resolve(values['work-dir']);
  const guard = new ExitGuard({ nginxPrefix: join(workDir, 'nginx'), out });
  const banner = (local: LocalMode) => {
    out('');
    out(`NGINX on http://${values.address}:${httpPort} and https://${values.address}:${httpsPort}; handler ${local.handlerUrl}; agent ${local.agentUrl}`);
    out(`Full log: ${local.terminal.logPath}. Edit ${manifests} and watch the changes apply. Ctrl-C stops everything.`);
    if (isExample) {
      const resolveArg = (p: number) => `--resolve cafe.example.com:${p}:${values.address}`;
      out('');
      out('Try:');
      out(`  curl -k ${resolveArg(httpsPort)} https://cafe.example.com:${httpsPort}/tea`);
      out(`  curl -k ${resolveArg(httpsPort)} https://cafe.example.com:${httpsPort}/coffee`);
      out(`  curl -k ${resolveArg(httpsPort)} https://cafe.example.com:${httpsPort}/menu/specials`);
      out(`  curl -i ${resolveArg(httpPort)} http://cafe.example.com:${httpPort}/tea`);
      out(`  curl -i -H 'Host: old.cafe.example.com' http://${values.address}:${httpPort}/`);
    }
  };
  let local: LocalMode;
  try {
    local = await startLocal({
      manifests,
      workDir,
      address: values.address,
      httpPort,
      httpsPort,
      handlerPort: port('--handler-port', values['handler-port']),
      agentPort: port('--agent-port', values['agent-port']),
      ...(defaultSslCertificate ? { defaultSslCertificate } : {}),
      backends: (isExample || manifests === resolve(gatewayExampleDir) || manifests === resolve(streamsExampleDir)) && !values['no-backends'] ? cafeBackends : [],
      out,
      signal: guard.signal,
      ...(defaultBackend !== undefined ? { defaultBackendService: defaultBackend } : {}),
      ...(values['enable-ssl-passthrough'] ? { sslPassthrough: true } : {}),
      parseWorkers,
      streams,
    });
  } catch (e) {
    guard.finish();
    if (guard.signal.aborted) {
      out('stopped');
      exitSoon();
      return;
    }
    const message = (e as Error).message;
    const hint = /Address already in use|EADDRINUSE|port is in use/.test(message) ? ' (another program has that port: choose others with --http-port, --https-port, --handler-port, --agent-port)' : '';
    out(`wharf local could not start: ${message}${hint}`);
    process.exitCode = 1;
    return;
  }
  await Promise.race([local.settled(), guard.stopped()]);
  if (!guard.signal.aborted) banner(local);
  await guard.stopped();
  await local.close().catch((e: unknown) => out(`stop failed: ${(e as Error).message}`));
  guard.finish();
  out('stopped');
  exitSoon();
}

/**
 * Once everything is stopped (NGINX killed if anything of it was left), the process ends by itself;
 * should something still hold the event loop, it ends anyway a second later. Seen under load: a
 * stop while NGINX started left two MessagePorts (the YAML parse workers') holding the process 20 s
 * and more after "stopped".
 */
function exitSoon(): void {
  setTimeout(() => process.exit(), 1000).unref();
}
