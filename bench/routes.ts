// The Gateway API variant of the render and admission benchmarks: 5,000 HTTPRoutes with header and
// query matches over 1,000 hostnames (five routes per hostname, each with two rules: a Prefix path
// with a header match, and a path shared with the host's other routes under different query
// matches, so every host chooses between routes by maps), their Services and one Gateway.
// Measures the full render, one route's change re-rendering only its hostnames, and one route
// checked as the admission webhook checks it (review() and the model's validator, in-process).
import { RoutingIndex, defaultControllerSettings, parseObject, stateFromObjects, validateGatewayObject } from '../src/model/index.ts';
import { BodyCache, renderHost, renderModel } from '../src/render/index.ts';
import { review } from '../src/handlers/admission.ts';
import { admissionReview } from './admission-reviews.ts';

export const ROUTES = 5_000;
export const ROUTE_HOSTS = 1_000;
const GW = 'gateway.networking.k8s.io/v1';

const host = (h: number) => `route-${h}.team-${h % 50}.bench.test`;

/** HTTPRoute i: hostname i % 1000, two rules with header and query matches, 2 weighted backends on some. */
export function httpRoute(i: number, variant = 0): object {
  const h = i % ROUTE_HOSTS;
  const ns = `ns-${h % 100}`;
  const backends = i % 5 === 0 ? [{ name: `svc-${i % 700}`, port: 80, weight: 90 }, { name: `svc-${(i + 1) % 700}`, port: 80, weight: 10 }] : [{ name: `svc-${i % 700}`, port: 80 }];
  return {
    apiVersion: GW,
    kind: 'HTTPRoute',
    metadata: { name: `route-${i}`, namespace: ns, uid: `r-${i}`, creationTimestamp: new Date(Date.UTC(2025, 0, 1) + i * 1000).toISOString() },
    spec: {
      parentRefs: [{ name: 'gw', namespace: 'infra' }],
      hostnames: [host(h)],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: `/r${i}` }, headers: [{ name: 'x-version', value: `v${(i + variant) % 3}` }] }], backendRefs: backends },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/shared' }, queryParams: [{ name: 'tenant', value: `t${i}` }], headers: [{ name: 'x-env', value: variant ? 'staging' : 'prod' }] }],
          ...(i % 3 === 0 ? { filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Route', value: `route-${i}` }] } }] } : {}),
          backendRefs: backends,
        },
      ],
    },
  };
}

/** The GatewayClass and the Gateway the bench routes attach to. */
export function gatewayObjects(): object[] {
  return [
    { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
    { apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'infra' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP', allowedRoutes: { namespaces: { from: 'All' } } }] } },
  ];
}

/** A Service the bench routes may name (`svc-<s>` in `ns-<n>`). */
export const routeService = (s: number, n: number): object => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${s}`, namespace: `ns-${n}` }, spec: { ports: [{ port: 80 }] } });

function objects(): object[] {
  const out: object[] = gatewayObjects();
  for (let i = 0; i < ROUTES; i++) out.push(httpRoute(i));
  for (let s = 0; s < 700; s++) for (let n = 0; n < 100; n++) out.push(routeService(s, n));
  return out;
}

/** The AdmissionReview of a route, as the API server sends it for an update. */
export function routeReview(k: number, object: object = httpRoute((k * 104729) % (ROUTES + 100), k % 3)): string {
  return admissionReview(`route-${k}`, { group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', resource: 'httproutes' }, 'UPDATE', object as { metadata: { name: string; namespace: string } });
}

/**
 * The floor of a route review over HTTP: a route whose parent is a Gateway of another controller's
 * class, which the webhook parses and passes untouched without checking it against the view.
 */
export function foreignRouteReview(k: number): string {
  const r = httpRoute((k * 104729) % ROUTES, k % 3) as { spec: { parentRefs: object[] } };
  return routeReview(k, { ...r, spec: { ...r.spec, parentRefs: [{ name: 'not-ours', namespace: 'infra' }] } });
}

/**
 * The admission webhook's review of one route at a time (new or changed, a third with another
 * header), with the validator POST /admission gives review() (src/handlers/app.ts), in this process:
 * one step below HTTP (bench/admission.ts measures it over HTTP, the routes in the handler's view).
 */
function admissionOf(index: RoutingIndex): number[] {
  const times: number[] = [];
  const validate = (o: Record<string, unknown>) => validateGatewayObject(o, index, defaultControllerSettings);
  for (let k = 0; k < 2000; k++) {
    const body = { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: `u-${k}`, kind: { group: 'gateway.networking.k8s.io', version: 'v1', kind: 'HTTPRoute' }, operation: 'UPDATE', object: httpRoute((k * 104729) % (ROUTES + 100), k % 3) } };
    const t0 = performance.now();
    const { body: answer } = review(body, validate);
    times.push(performance.now() - t0);
    if (!answer.response.allowed) throw new Error(`bench route denied: ${answer.response.status?.message}`);
  }
  return times;
}

/** bench:admission's in-process route figures: 5,000 HTTPRoutes held, one route reviewed at a time. */
export function routeAdmissionBench(): Record<string, number> {
  const { state } = stateFromObjects(objects());
  const index = new RoutingIndex(defaultControllerSettings, state);
  admissionOf(index); // warm-up
  return { route_admission_in_process_p99_ms: quantile(admissionOf(index), 0.99), route_admission_in_process_p50_ms: quantile(admissionOf(index), 0.5) };
}

const quantile = (xs: number[], q: number) => Number([...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]!.toFixed(3));

/** The route figures, measured in this process. */
export function routeBench(): Record<string, number> {
  const settings = defaultControllerSettings;
  let t = performance.now();
  const { state } = stateFromObjects(objects());
  const index = new RoutingIndex(settings, state);
  const model = index.model();
  const buildMs = performance.now() - t;
  renderModel(model); // warm-up, as the Ingress figures
  const cpu = process.cpuUsage();
  t = performance.now();
  const full = renderModel(model);
  const fullMs = performance.now() - t;
  const used = process.cpuUsage(cpu);
  const fullCpuMs = (used.user + used.system) / 1000;
  if (full.failures.length) throw new Error(`refused fragments: ${full.failures.map((f) => f.error.message).join('; ')}`);
  const routed = model.servers.filter((s) => s.sources.some((o) => o.kind === 'HTTPRoute')).length;

  // One route changes: only its hostname is rendered again (checked: exactly one host each time).
  const cache = new BodyCache();
  renderModel(model, cache);
  const renderTimes: number[] = [];
  let hostsPerChange = 0;
  for (let k = 0; k < 500; k++) {
    const i = (k * 7919) % ROUTES;
    const parsed = parseObject(httpRoute(i, 1 + (k % 2)));
    if (!parsed.ok) throw new Error('bench route does not parse');
    const affected = index.upsert(parsed.value);
    hostsPerChange = Math.max(hostsPerChange, affected.hosts.length);
    for (const h of affected.hosts) {
      const server = index.server(h);
      if (!server) continue;
      const t1 = performance.now();
      renderHost(server, index.global(), cache);
      renderTimes.push(performance.now() - t1);
    }
  }

  const admissionTimes = admissionOf(index);

  return {
    httproutes: ROUTES,
    route_hosts: routed,
    route_build_model_ms: Math.round(buildMs),
    route_full_render_ms: Math.round(fullMs),
    route_full_render_cpu_ms: Math.round(fullCpuMs),
    route_fragment_render_ms_p99: quantile(renderTimes, 0.99),
    route_hosts_per_change_max: hostsPerChange,
    route_admission_in_process_p99_ms: quantile(admissionTimes, 0.99),
    route_config_mb: Number((full.fragments.reduce((n, f) => n + f.config.length, 0) / 1e6).toFixed(1)),
  };
}
