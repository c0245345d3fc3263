// Render benchmark: 10,000 Ingresses over 2,000 hosts (TLS on a quarter of the hosts, a realistic
// mix of annotations). Measures the full render of the model, re-rendering one host after one
// Ingress changed, and one Ingress through the model as the admission webhook does it; then the
// Gateway API variant (bench/routes.ts: 5,000 HTTPRoutes with header and query matches over 1,000
// hostnames), whose full render the issue wants within the Ingresses' measured in the same run
// (`route_vs_ingress_render`: the ratio of the two). Prints one JSON object as the last line. Wall-clock figures (`*_ms`) depend on what else runs on the machine;
// `*_cpu_ms` are this process's CPU time for the same work, which a busy machine inflates less
// (a process waiting for a core shows in wall time only).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultControllerSettings, parseIngress, RoutingIndex, stateFromObjects, validateIngress } from '../src/model/index.ts';
import { BodyCache, renderHost, renderModel } from '../src/render/index.ts';
import { routeBench } from './routes.ts';

const INGRESSES = 10_000;
const HOSTS = 2_000;
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

// Full render (warm-up first: the first render compiles the partials and the JIT warms up).
renderModel(model);
const cpuMs = (c: NodeJS.CpuUsage) => (c.user + c.system) / 1000;
let cpu = process.cpuUsage();
t = performance.now();
const full = renderModel(model);
const fullRenderMs = performance.now() - t;
const fullRenderCpuMs = cpuMs(process.cpuUsage(cpu));
if (full.failures.length) throw new Error(`refused fragments: ${full.failures.map((f) => f.error.message).join('; ')}`);
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
  full_render_cpu_ms: Math.round(fullRenderCpuMs),
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
}));
