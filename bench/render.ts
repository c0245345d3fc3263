// Render benchmark: 10,000 Ingresses over 2,000 hosts (TLS on a quarter of the hosts, a realistic
// mix of annotations). Measures the full render of the model, re-rendering one host after one
// Ingress changed, and one Ingress through the model as the admission webhook does it; then the
// Gateway API variant (bench/routes.ts: 5,000 HTTPRoutes with header and query matches over 1,000
// hostnames), whose full render the issue wants within the Ingresses' measured in the same run
// (`route_vs_ingress_render`: the ratio of the two). The floor of the full render is NGINX's own
// parse of its output: `nginx -t` of the same fragments in a `wharf agent`'s prefix (its skeleton,
// its NGINX), alternating with the render, three times each (`full_render_over_nginx_parse`: what
// producing the configuration costs against reading it). Prints one JSON object as the last line.
// Wall-clock figures (`*_ms`) depend on what else runs on the machine;
// `*_cpu_ms` are this process's CPU time for the same work, which a busy machine inflates less
// (a process waiting for a core shows in wall time only).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../tests/support/backend.ts';
import { writeFragments } from '../src/check/render.ts';
import { findNginx } from '../src/agent/nginx-install.ts';
import { runRecord } from './machine.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultControllerSettings, parseIngress, RoutingIndex, stateFromObjects, validateIngress } from '../src/model/index.ts';
import { BodyCache, renderHost, renderModel } from '../src/render/index.ts';
import { routeBench } from './routes.ts';

// `--ingresses N` (10,000): the size; hosts are a fifth of it, as at 10,000 (bench:scale runs 30,000).
const sizeAt = process.argv.indexOf('--ingresses');
const INGRESSES = sizeAt > 0 ? Number(process.argv[sizeAt + 1]) : 10_000;
if (!Number.isInteger(INGRESSES) || INGRESSES < 10) throw new Error(`--ingresses: Invalid value: ${JSON.stringify(process.argv[sizeAt + 1])}: expected a whole number of at least 10`);
const HOSTS = Math.floor(INGRESSES / 5);
const A = 'nginx.ingress.kubernetes.io/';

function selfSigned(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-'));
  try {
    const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=bench.test',
      '-keyout', join(dir, 'k'), '-out', join(dir, 'c')], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl: ${r.stderr}`);
    return { cert: readFileSync(join(dir, 'c'), 'utf8'), key: readFileSync(join(dir, 'k'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const host = (h: number) => `app-${h}.team-${h % 50}.bench.test`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Ingress i: host i % 2000, two paths, annotations on some. */
function ingress(i: number, variant = 0): object {
  const h = i % HOSTS;
  const annotations: Record<string, string> = {};
  if (i % 7 === 0) Object.assign(annotations, { [`${A}use-regex`]: 'true', [`${A}rewrite-target`]: '/$2' });
  if (i % 11 === 0) Object.assign(annotations, { [`${A}enable-cors`]: 'true', [`${A}cors-allow-origin`]: 'https://a.test, https://*.b.test' });
  if (i % 13 === 0) annotations[`${A}limit-rps`] = '20';
  if (i % 17 === 0) annotations[`${A}whitelist-source-range`] = '10.0.0.0/8, 192.168.0.0/16';
  if (i % 19 === 0) Object.assign(annotations, { [`${A}affinity`]: 'cookie', [`${A}session-cookie-name`]: 'route' });
  if (i % 23 === 0) annotations[`${A}proxy-body-size`] = '16m';
  if (variant) annotations[`${A}proxy-read-timeout`] = String(60 + variant);
  const regex = i % 7 === 0;
  const svc = `svc-${i % 3000}`;
  const paths = regex
    ? [{ path: `/r${i}(/|$)(.*)`, pathType: 'ImplementationSpecific' }]
    : [{ path: `/p${i}`, pathType: 'Prefix' }, { path: `/p${i}/exact`, pathType: 'Exact' }];
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: `ing-${i}`, namespace: `ns-${h % 100}`, uid: `uid-${i}`, creationTimestamp: '2025-01-01T00:00:00Z', annotations },
    spec: {
      ingressClassName: 'wharf',
      ...(h % 4 === 0 && i < HOSTS ? { tls: [{ hosts: [host(h)], secretName: `tls-${h}` }] } : {}),
      rules: [{ host: host(h), http: { paths: paths.map((p) => ({ ...p, backend: { service: { name: svc, port: { number: 80 } } } })) } }],
    },
  };
}

/** A `wharf agent` (and its NGINX) in a temporary prefix, to parse rendered fragments with the
 * agent's own skeleton; `nginxTest` writes the fragments there and times `nginx -t` of the whole. */
async function agentPrefix(): Promise<{ nginxTest(fragments: Parameters<typeof writeFragments>[1]): Promise<number>; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-bench-render-'));
  const prefix = join(dir, 'nginx');
  writeFileSync(join(dir, 'token'), randomBytes(24).toString('hex'));
  const [apiPort, httpPort, httpsPort] = [await freePort(), await freePort(), await freePort()];
  const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
  const child = spawn(process.execPath, [cli, 'agent', '--prefix', prefix, '--token-file', join(dir, 'token'), '--listen', `127.0.0.1:${apiPort}`,
    '--http-listen', `127.0.0.1:${httpPort}`, '--https-listen', `127.0.0.1:${httpsPort}`, '--worker-processes', '1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-20_000); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  for (let i = 0; !(await fetch(`http://127.0.0.1:${apiPort}/healthz`).then((r) => r.ok, () => false)); i++) {
    if (i > 300) throw new Error(`the agent did not become ready:\n${log}`);
    await sleep(50);
  }
  const bin = findNginx().bin;
  return {
    async nginxTest(fragments) {
      await writeFragments(prefix, fragments);
      if (!existsSync(join(prefix, 'nginx.conf'))) throw new Error('the agent wrote no nginx.conf');
      const t0 = performance.now();
      const r = spawnSync(bin, ['-p', prefix, '-c', join(prefix, 'nginx.conf'), '-t', '-q', '-e', 'stderr'], { encoding: 'utf8' });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`nginx -t refused the rendered configuration: ${r.stderr.slice(0, 2000)}`);
      return ms;
    },
    async stop() {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(15_000)]);
      if (child.exitCode === null) child.kill('SIGKILL');
      // BENCH_KEEP_PREFIX=1 keeps the prefix, to look into what NGINX spends its parse on.
      if (process.env.BENCH_KEEP_PREFIX) process.stderr.write(`bench: the rendered configuration is in ${prefix}\n`);
      else rmSync(dir, { recursive: true, force: true });
    },
  };
}

const record = runRecord();
const pair = selfSigned();
const objects: object[] = [];
for (let i = 0; i < INGRESSES; i++) objects.push(ingress(i));
for (let h = 0; h < HOSTS; h += 4) {
  objects.push({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: `tls-${h}`, namespace: `ns-${h % 100}`, uid: `s-${h}` }, data: { 'tls.crt': b64(pair.cert), 'tls.key': b64(pair.key) } });
}
for (let s = 0; s < 3000; s++) {
  for (let n = 0; n < 100; n += 37) objects.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${s}`, namespace: `ns-${n}`, uid: `svc-${s}-${n}` }, spec: { ports: [{ port: 80 }] } });
}

const settings = defaultControllerSettings;
let t = performance.now();
const { state } = stateFromObjects(objects);
const index = new RoutingIndex(settings, state);
const model = index.model();
const buildModelMs = performance.now() - t;

// Full render (warm-up first: the first render compiles the partials and the JIT warms up),
// alternating with NGINX's parse of the result.
renderModel(model);
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const renders: { ms: number; cpuMs: number }[] = [];
const parses: number[] = [];
const nginx = await agentPrefix();
let full!: ReturnType<typeof renderModel>;
try {
  for (let k = 0; k < 3; k++) {
    const cpu = process.cpuUsage();
    t = performance.now();
    full = renderModel(model);
    renders.push({ ms: performance.now() - t, cpuMs: cpuMs(process.cpuUsage(cpu)) });
    if (full.failures.length) throw new Error(`refused fragments: ${full.failures.map((f) => f.error.message).join('; ')}`);
    parses.push(await nginx.nginxTest(full.fragments));
  }
} finally {
  await nginx.stop();
}
const fullRenderMs = median(renders.map((r) => r.ms));
const fullRenderCpuMs = median(renders.map((r) => r.cpuMs));
const nginxParseMs = median(parses);
const tlsHosts = model.servers.filter((s) => s.tls).length;

const quantile = (xs: number[], q: number) => Number([...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!.toFixed(3));
const p99 = (xs: number[]) => quantile(xs, 0.99);

// One Ingress changes: the handler tier updates the index and re-renders the hosts it affects,
// with the BodyCache it keeps (filled by a full render, as at the handler's start).
const cache = new BodyCache();
renderModel(model, cache);
const renderTimes: number[] = [];
const renderCpuTimes: number[] = [];
const incrementalTimes: number[] = [];
for (let k = 0; k < 1000; k++) {
  const i = (k * 7919) % INGRESSES;
  const parsed = parseIngress(ingress(i, 1 + (k % 5)));
  if (!parsed.ok) throw new Error('bench Ingress does not parse');
  const t0 = performance.now();
  const affected = index.upsert(parsed.value);
  for (const h of affected.hosts) {
    const server = index.server(h);
    if (!server) continue;
    const c1 = process.cpuUsage();
    const t1 = performance.now();
    renderHost(server, index.global(), cache);
    renderTimes.push(performance.now() - t1);
    renderCpuTimes.push(cpuMs(process.cpuUsage(c1)));
  }
  incrementalTimes.push(performance.now() - t0);
}

// The admission webhook: one Ingress (new or changed) checked against the index.
const validateTimes: number[] = [];
const validateCpuTimes: number[] = [];
for (let k = 0; k < 2000; k++) {
  const raw = ingress((k * 104729) % (INGRESSES + 500), k % 3);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  validateIngress(raw, index, settings);
  validateTimes.push(performance.now() - t0);
  validateCpuTimes.push(cpuMs(process.cpuUsage(c0)));
}

const routes = routeBench();
console.log(`${model.servers.length} hosts (${tlsHosts} with TLS), ${full.fragments.length} fragments; build_model_ms is src/model's part`);
console.log(JSON.stringify({
  ingresses: INGRESSES,
  hosts: model.servers.length,
  tls_hosts: tlsHosts,
  build_model_ms: Math.round(buildModelMs),
  full_render_ms: Math.round(fullRenderMs),
  full_render_ms_per_1000: Number(((fullRenderMs / INGRESSES) * 1000).toFixed(1)),
  full_render_cpu_ms: Math.round(fullRenderCpuMs),
  full_render_cpu_ms_per_1000: Number(((fullRenderCpuMs / INGRESSES) * 1000).toFixed(1)),
  nginx_parse_ms: Math.round(nginxParseMs),
  full_render_over_nginx_parse: Number((fullRenderMs / nginxParseMs).toFixed(2)),
  fragment_render_ms_p99: p99(renderTimes),
  fragment_render_ms_p50: quantile(renderTimes, 0.5),
  fragment_render_cpu_ms_p99: p99(renderCpuTimes),
  incremental_update_ms_p99: p99(incrementalTimes),
  validate_ms_p99: p99(validateTimes),
  validate_cpu_ms_p99: p99(validateCpuTimes),
  config_mb: Number((full.fragments.reduce((n, f) => n + f.config.length, 0) / 1e6).toFixed(1)),
  rss_mb: Math.round(process.memoryUsage().rss / 2 ** 20),
  ...routes,
  route_vs_ingress_render: Number((routes.route_full_render_ms! / fullRenderMs).toFixed(2)),
  route_vs_ingress_render_cpu: Number((routes.route_full_render_cpu_ms! / fullRenderCpuMs).toFixed(2)),
  ...record.end(),
}));
