// HTTPRoute timeouts against a real NGINX, restating the conformance tests HTTPRouteTimeoutRequest
// and HTTPRouteTimeoutBackendRequest (kubernetes-sigs/gateway-api conformance/tests/
// httproute-timeout-request.go and httproute-timeout-backend-request.go; their manifests are not in
// ../shared, so they are written here as the suite has them): a backend slower than the timeout
// gives 504, a faster one 200, and `0s` turns the timeout off. What NGINX cannot do (a deadline for
// the whole request, body included) is in docs/gateway-api.md; src/model/route-timeouts.ts maps them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { loadFragments } from '../render/helpers.ts';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel, type Fragment } from '../../src/render/index.ts';
import type { RouteStatus } from '../../src/model/gateway-status.ts';

const GW = 'gateway.networking.k8s.io/v1';
const rule = (path: string, timeouts: object) => ({ matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [{ name: 'delay', port: 8080 }], timeouts });
const routeOf = (name: string, rules: object[]) => ({
  apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z', generation: 1 },
  spec: { parentRefs: [{ name: 'gw' }], hostnames: ['timeouts.example.com'], rules },
});
const base = [
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  { apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'delay', namespace: 'default' }, spec: { ports: [{ port: 8080 }] } },
];

let nginx: TestNginx;
let delay: Backend;
let fragments: Fragment[];
let index: RoutingIndex;

before(async () => {
  // Answers after ?delay=<ms>, as the suite's infra-backend-delay does with ?delay=1s.
  delay = await startBackend('delay', (req, res) => {
    const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('delay') ?? 0);
    req.resume();
    setTimeout(() => res.end('delay'), ms);
  });
  nginx = await startNginx();
  const objects = [
    ...base,
    routeOf('request-timeout', [rule('/request-timeout', { request: '500ms' }), rule('/disable-request-timeout', { request: '0s' })]),
    routeOf('backend-request-timeout', [rule('/backend-request-timeout', { request: '10s', backendRequest: '500ms' }), rule('/disable-backend-request-timeout', { request: '0s', backendRequest: '0s' })]),
  ];
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  index = new RoutingIndex(defaultControllerSettings, state);
  const model = buildModel(index, defaultControllerSettings);
  const rendered = renderModel(model);
  assert.deepEqual(rendered.failures, []);
  fragments = rendered.fragments;
  await loadFragments(nginx, fragments, rendered.certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [delay.address]);
});
after(async () => {
  await nginx?.stop();
  await delay?.close();
});

const get = (path: string) => request({ port: nginx.httpPort, host: 'timeouts.example.com', path, timeoutMs: 10_000 });

test('HTTPRouteTimeoutRequest: 200 within timeouts.request, 504 beyond it, 200 with 0s (no timeout)', async () => {
  assert.equal((await get('/request-timeout')).status, 200);
  // The backend would answer 200 after a second: NGINX gave up at 500 ms.
  assert.equal((await get('/request-timeout?delay=1000')).status, 504);
  assert.equal((await get('/disable-request-timeout?delay=1000')).status, 200);
});

test('HTTPRouteTimeoutBackendRequest: 504 when the backend takes longer than timeouts.backendRequest, 200 with 0s', async () => {
  assert.equal((await get('/backend-request-timeout')).status, 200);
  assert.equal((await get('/backend-request-timeout?delay=1000')).status, 504);
  assert.equal((await get('/disable-backend-request-timeout?delay=1000')).status, 200);
});

test('timeouts as NGINX has them: read and send timeouts per wait, retries bounded by the request timeout', () => {
  const config = fragments.find((f) => f.name === 'timeouts.example.com')!.config;
  assert.match(config, /proxy_read_timeout 500ms;\n\s+proxy_send_timeout 500ms;/);
  assert.match(config, /proxy_next_upstream_timeout 500ms;/);
  assert.match(config, /proxy_next_upstream_timeout 10s;/);
});

test('a timeout that is not a Gateway API duration, or a backendRequest longer than the request, is refused with the field', () => {
  const cases: [object, string][] = [
    [{ request: '1.5s' }, 'spec.rules[0].timeouts.request: Invalid value: "1.5s": must be a Gateway API duration'],
    [{ request: '1s', backendRequest: '2s' }, 'spec.rules[0].timeouts.backendRequest: Invalid value: "2s": must not be longer than timeouts.request (1s)'],
    [{ backendRequest: '99999h' }, 'spec.rules[0].timeouts.backendRequest: Invalid value: "99999h": must be at most 2147483 seconds'],
  ];
  for (const [timeouts, message] of cases) {
    const { state } = stateFromObjects([...base, routeOf('bad', [rule('/', timeouts)])]);
    const status = new RoutingIndex(defaultControllerSettings, state).gatewayStatus('HTTPRoute', 'default', 'bad') as RouteStatus;
    const accepted = status.parents[0]!.conditions[0]!;
    assert.equal(accepted.reason, 'UnsupportedValue', JSON.stringify(timeouts));
    assert.ok(accepted.message.startsWith(message), `${accepted.message}\n  should start with\n${message}`);
  }
});
