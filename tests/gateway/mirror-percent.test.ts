// RequestMirror's `percent` and `fraction` against a real NGINX, restating the conformance test
// HTTPRouteRequestPercentageMirror (kubernetes-sigs/gateway-api conformance/tests/
// httproute-request-percentage-mirror.go; its manifest is not in ../shared, so the routes are here):
// a share of the requests, chosen at random per request (split_clients on the request id), is
// copied to the mirror; every request still reaches the route's own backend; 0 copies none.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { loadFragments } from '../render/helpers.ts';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel, type Fragment } from '../../src/render/index.ts';
import type { RouteStatus } from '../../src/model/gateway-status.ts';

const GW = 'gateway.networking.k8s.io/v1';
const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 8080 }] } });
const mirrored = (path: string, mirror: object) => ({
  matches: [{ path: { type: 'PathPrefix', value: path } }],
  filters: [{ type: 'RequestMirror', requestMirror: mirror }],
  backendRefs: [{ name: 'web', port: 8080 }],
});
const base = [
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  { apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
  ...['web', 'twenty', 'half', 'none'].map(svc),
];
const routeOf = (rules: object[]) => ({
  apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'mirror', namespace: 'default', generation: 1 },
  spec: { parentRefs: [{ name: 'gw' }], hostnames: ['mirror.example.com'], rules },
});

let nginx: TestNginx;
const backends: Record<string, Backend> = {};
let fragments: Fragment[];

before(async () => {
  for (const name of ['web', 'twenty', 'half', 'none']) backends[name] = await startBackend(name);
  nginx = await startNginx();
  const { state, problems } = stateFromObjects([
    ...base,
    routeOf([
      mirrored('/percent', { backendRef: { name: 'twenty', port: 8080 }, percent: 20 }),
      mirrored('/fraction', { backendRef: { name: 'half', port: 8080 }, fraction: { numerator: 1, denominator: 2 } }),
      mirrored('/zero', { backendRef: { name: 'none', port: 8080 }, percent: 0 }),
    ]),
  ]);
  assert.deepEqual(problems, []);
  const model = buildModel(new RoutingIndex(defaultControllerSettings, state), defaultControllerSettings);
  const rendered = renderModel(model);
  assert.deepEqual(rendered.failures, []);
  fragments = rendered.fragments;
  await loadFragments(nginx, fragments, rendered.certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [backends[u.service]!.address]);
});
after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

/** Sends `n` requests to `path`; every one must reach the route's backend. Returns the copies `mirror` got. */
async function copies(path: string, mirror: string, n: number): Promise<number> {
  const before = backends[mirror]!.requests.length;
  for (let i = 0; i < n; i++) {
    const r = await request({ port: nginx.httpPort, host: 'mirror.example.com', path: `${path}/${i}` });
    assert.equal(r.status, 200);
    assert.equal((JSON.parse(r.body) as { backend: string }).backend, 'web');
  }
  await sleep(300); // the copies run beside the requests; their answers are not waited for
  return backends[mirror]!.requests.length - before;
}

test('HTTPRouteRequestPercentageMirror: percent 20 copies about a fifth of the requests', async () => {
  // 400 requests at p = 0.2: 80 expected, σ = 8; the bounds are 5σ away.
  const got = await copies('/percent', 'twenty', 400);
  assert.ok(got >= 40 && got <= 120, `${got} of 400 mirrored`);
});

test('HTTPRouteRequestPercentageMirror: fraction 1/2 copies about half of the requests', async () => {
  const got = await copies('/fraction', 'half', 400);
  assert.ok(got >= 150 && got <= 250, `${got} of 400 mirrored`);
});

test('percent 0 copies nothing: the filter leaves no mirror in the configuration', async () => {
  assert.equal(await copies('/zero', 'none', 50), 0);
  const config = fragments.find((f) => f.name === 'mirror.example.com')!.config;
  // A PathPrefix path is two location blocks with one body: the two sampled rules' four, not /zero's.
  assert.equal(config.match(/^\s+mirror /gm)?.length, 4, 'the two sampled rules mirror, the zero one does not');
  assert.match(config, /split_clients "\$\{request_id\}mirror" \$wharf_m_[0-9a-f]+ \{\n\s+20\.00% 1;\n\s+\* 0;\n\}/);
  assert.match(config, /split_clients "\$\{request_id\}mirror" \$wharf_m_[0-9a-f]+ \{\n\s+50\.00% 1;\n\s+\* 0;\n\}/);
});

test('a fraction above one is refused with the field', () => {
  const { state } = stateFromObjects([...base, routeOf([mirrored('/', { backendRef: { name: 'half', port: 8080 }, fraction: { numerator: 3, denominator: 2 } })])]);
  const status = new RoutingIndex(defaultControllerSettings, state).gatewayStatus('HTTPRoute', 'default', 'mirror') as RouteStatus;
  assert.equal(status.parents[0]!.conditions[0]!.message, 'spec.rules[0].filters[0].requestMirror.fraction.numerator: Invalid value: 3: must not be above the denominator (2)');
});
