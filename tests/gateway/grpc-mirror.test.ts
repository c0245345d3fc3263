// GRPCRoute and RequestMirror against a real NGINX, from the Gateway API objects through the model
// and the renderer. The GRPCRoute rows restate the GATEWAY-GRPC conformance tests named below with
// manifests written here (../shared has the HTTP ones only), over a real HTTP/2 client on the HTTPS
// listener to HTTP/2 cleartext backends; RequestMirror restates HTTPRouteRequestMirror.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { eventually } from '../support/http.ts';
import { request } from '../support/http.ts';
import { loadFragments, selfSigned, tlsSecretObject } from '../render/helpers.ts';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel } from '../../src/render/index.ts';
import type { RouteStatus } from '../../src/model/gateway-status.ts';
import { call, startGrpcBackend, type H2Backend } from './grpc.ts';

const GW = 'gateway.networking.k8s.io/v1';
const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 8080 }] } });
const grpcRoute = (name: string, rules: object[]) => ({ apiVersion: GW, kind: 'GRPCRoute', metadata: { name, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' }, spec: { parentRefs: [{ name: 'gw', sectionName: 'https' }], hostnames: ['grpc.example.com'], rules } });
const to = (...names: [string, number?][]) => names.map(([name, weight]) => ({ name, port: 8080, ...(weight !== undefined ? { weight } : {}) }));

let nginx: TestNginx;
const grpc: Record<string, H2Backend> = {};
const http: Record<string, Backend> = {};
const pair = selfSigned('grpc.example.com', ['mirror.example.com']);
const base = [
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  {
    apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
    spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } }] },
  },
  tlsSecretObject('cert', pair),
  ...['grpc-v1', 'grpc-v2', 'grpc-v3', 'web-v1', 'web-v2'].map(svc),
];

before(async () => {
  for (const name of ['grpc-v1', 'grpc-v2', 'grpc-v3']) grpc[name] = await startGrpcBackend(name);
  for (const name of ['web-v1', 'web-v2']) http[name] = await startBackend(name);
  nginx = await startNginx();
});
after(async () => {
  await nginx?.stop();
  await Promise.all([...Object.values(grpc), ...Object.values(http)].map((b) => b.close()));
});

async function serve(objects: object[]): Promise<RoutingIndex> {
  const { state, problems } = stateFromObjects([...base, ...objects]);
  assert.deepEqual(problems, []);
  const index = new RoutingIndex(defaultControllerSettings, state);
  const model = buildModel(index, defaultControllerSettings);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [(grpc[u.service] ?? http[u.service])!.address]);
  return index;
}

test('GRPCExactMethodMatching (conformance/tests/grpcroute-exact-method-matching.go): service and method, service only, method only, by regex', async () => {
  const index = await serve([
    grpcRoute('exact', [
      { matches: [{ method: { service: 'main.Service', method: 'Method' } }], backendRefs: to(['grpc-v1']) },
      { matches: [{ method: { service: 'other.Service' } }], backendRefs: to(['grpc-v2']) },
      { matches: [{ method: { method: 'Only' } }], backendRefs: to(['grpc-v3']) },
      { matches: [{ method: { type: 'RegularExpression', service: 'regex\\.[A-Z][a-z]+', method: 'Get.*' } }], backendRefs: to(['grpc-v2']) },
    ]),
  ]);
  assert.deepEqual((index.gatewayStatus('GRPCRoute', 'default', 'exact') as RouteStatus).parents[0]!.conditions.map((c) => c.reason), ['Accepted', 'ResolvedRefs']);
  const rows: [string, string | number][] = [
    ['/main.Service/Method', 'grpc-v1'],
    ['/other.Service/Anything', 'grpc-v2'],
    ['/any.Service/Only', 'grpc-v3'],
    ['/regex.Users/GetUser', 'grpc-v2'],
    ['/main.Service/Other', 404],
    ['/regex.users/GetUser', 404],
  ];
  for (const [path, want] of rows) {
    const r = await call(nginx.httpsPort, path);
    if (typeof want === 'number') assert.equal(r.status, want, path);
    else {
      assert.equal(r.status, 200, path);
      assert.equal(r.backend, want, path);
      assert.equal(r.path, path, 'the backend sees the method path unchanged');
      assert.equal(r.grpcStatus, '0', 'trailers reach the client');
    }
  }
});

test('GRPCRouteHeaderMatching (conformance/tests/grpcroute-header-matching.go), weights and header changes', async () => {
  await serve([
    grpcRoute('headers', [
      { matches: [{ method: { service: 'h.Service', method: 'M' }, headers: [{ name: 'version', value: 'two' }] }], backendRefs: to(['grpc-v2']) },
      { matches: [{ method: { service: 'h.Service', method: 'M' } }], backendRefs: to(['grpc-v1']) },
      {
        matches: [{ method: { service: 'w.Service' } }],
        filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-Tenant', value: 'blue' }] } }],
        backendRefs: to(['grpc-v1', 1], ['grpc-v3', 1], ['grpc-v2', 0]),
      },
    ]),
  ]);
  assert.equal((await call(nginx.httpsPort, '/h.Service/M', { version: 'two' })).backend, 'grpc-v2');
  assert.equal((await call(nginx.httpsPort, '/h.Service/M', { version: 'one' })).backend, 'grpc-v1');
  const seen = new Set<string>();
  for (let i = 0; i < 30; i++) {
    const r = await call(nginx.httpsPort, '/w.Service/Any');
    seen.add(r.backend);
    assert.equal(r.tenant, 'blue', 'grpc_set_header reaches the backend');
  }
  assert.deepEqual([...seen].sort(), ['grpc-v1', 'grpc-v3']);
});

test('a GRPCRoute on an HTTP listener is not accepted (no cleartext HTTP/2 there): NotAllowedByListeners', async () => {
  const { state } = stateFromObjects([...base, { ...grpcRoute('plain', [{ backendRefs: to(['grpc-v1']) }]), spec: { parentRefs: [{ name: 'gw', sectionName: 'http' }], rules: [{ backendRefs: to(['grpc-v1']) }] } }]);
  const index = new RoutingIndex(defaultControllerSettings, state);
  assert.deepEqual((index.gatewayStatus('GRPCRoute', 'default', 'plain') as RouteStatus).parents[0]!.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`), ['Accepted=False:NotAllowedByListeners', 'ResolvedRefs=True:ResolvedRefs']);
});

test('HTTPRouteRequestMirror (conformance/tests/httproute-request-mirror.go): the backend answers, the mirror gets a copy', async () => {
  await serve([
    {
      apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'mirror', namespace: 'default' },
      spec: {
        parentRefs: [{ name: 'gw', sectionName: 'http' }], hostnames: ['mirror.example.com'],
        rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/mirror' } }], filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'web-v2', port: 8080 } } }], backendRefs: to(['web-v1']) }],
      },
    },
  ]);
  const before = http['web-v2']!.requests.length;
  const r = await request({ port: nginx.httpPort, host: 'mirror.example.com', path: '/mirror/x?q=1', method: 'POST', body: 'copy me', headers: { 'content-type': 'text/plain' } });
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as { backend: string }).backend, 'web-v1');
  const copy = await eventually(() => http['web-v2']!.requests.slice(before).find((q) => q.url === '/mirror/x?q=1'));
  assert.ok(copy, 'the mirror backend got the request');
  assert.equal(copy.method, 'POST');
  assert.equal(copy.headers.host, 'mirror.example.com');
});
