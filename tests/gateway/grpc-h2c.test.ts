// GRPCRoute over cleartext HTTP/2 (h2c) against a real NGINX. NGINX 1.22 speaks HTTP/2 in cleartext
// only with prior knowledge, on a port that speaks nothing else, so wharf serves an HTTP listener as
// h2c when it is on a port of its own and takes GRPCRoutes only (allowedRoutes.kinds); its GRPCRoutes
// then answer h2c clients, as the GATEWAY-GRPC conformance tests call them over plain listeners
// (kubernetes-sigs/gateway-api conformance/tests/grpcroute-exact-method-matching.go). An HTTP listener
// that takes HTTPRoutes (port 80 among them) stays HTTP/1.1: a GRPCRoute there is
// NotAllowedByListeners. One port has one protocol: another Gateway's HTTP listener on the h2c port
// conflicts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { request } from '../support/http.ts';
import { loadFragments } from '../render/helpers.ts';
import { buildModel, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel } from '../../src/render/index.ts';
import { agentFiles, declaredPort, settings } from './listener-port-setup.ts';
import type { GatewayStatus, RouteStatus } from '../../src/model/gateway-status.ts';
import { call, startGrpcBackend, type H2Backend } from './grpc.ts';

const GW = 'gateway.networking.k8s.io/v1';
const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 8080 }] } });
const grpcRoute = (name: string, sectionName: string, rules: object[], gw = 'gw') => ({
  apiVersion: GW, kind: 'GRPCRoute', metadata: { name, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { parentRefs: [{ name: gw, sectionName }], hostnames: ['grpc.example.com'], rules },
});
const GRPC_ONLY = { kinds: [{ group: 'gateway.networking.k8s.io', kind: 'GRPCRoute' }] };

let nginx: TestNginx;
const grpc: Record<string, H2Backend> = {};
let index: RoutingIndex;
let h2c = 0;
let plain = 0;

before(async () => {
  for (const name of ['grpc-v1', 'grpc-v2']) grpc[name] = await startGrpcBackend(name);
  [h2c, plain] = [await declaredPort(), await declaredPort()];
  nginx = await startNginx();
  const objects = [
    { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
    {
      apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' },
      spec: {
        gatewayClassName: 'wharf',
        listeners: [
          { name: 'grpc', port: h2c, protocol: 'HTTP', allowedRoutes: GRPC_ONLY },
          { name: 'plain', port: plain, protocol: 'HTTP' },
          { name: 'grpc-on-80', port: 80, protocol: 'HTTP', allowedRoutes: GRPC_ONLY },
        ],
      },
    },
    // Newer, HTTP/1.1 on the h2c port.
    { apiVersion: GW, kind: 'Gateway', metadata: { name: 'later', namespace: 'default', creationTimestamp: '2025-02-01T00:00:00Z' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'web', port: h2c, protocol: 'HTTP' }] } },
    svc('grpc-v1'),
    svc('grpc-v2'),
    grpcRoute('exact', 'grpc', [
      { matches: [{ method: { service: 'main.Service', method: 'Method' } }], backendRefs: [{ name: 'grpc-v1', port: 8080 }] },
      { matches: [{ method: { service: 'other.Service' } }], backendRefs: [{ name: 'grpc-v2', port: 8080 }] },
    ]),
    grpcRoute('on-plain', 'plain', [{ backendRefs: [{ name: 'grpc-v1', port: 8080 }] }]),
  ];
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  index = new RoutingIndex(settings, state);
  const model = buildModel(index, settings);
  const { fragments, failures } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, [], agentFiles(fragments));
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [grpc[u.service]!.address]);
});
after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(grpc).map((b) => b.close()));
});

const listener = (gw: string, name: string) => (index.gatewayStatus('Gateway', 'default', gw) as GatewayStatus).listeners.find((l) => l.name === name)!;

test('an HTTP listener for GRPCRoutes only, on a port of its own: programmed, GRPCRoute its only kind', () => {
  const l = listener('gw', 'grpc');
  assert.deepEqual(l.supportedKinds, [{ group: 'gateway.networking.k8s.io', kind: 'GRPCRoute' }]);
  assert.deepEqual(l.conditions.map((c) => `${c.type}=${c.status}`), ['Accepted=True', 'ResolvedRefs=True', 'Conflicted=False', 'Programmed=True']);
  assert.equal(l.attachedRoutes, 1);
});

test('GRPCExactMethodMatching over h2c: service and method, service only; an unknown method 404', async () => {
  const port = h2c + 8000;
  const one = await call(port, '/main.Service/Method', {}, { h2c: true });
  assert.deepEqual([one.status, one.backend, one.grpcStatus], [200, 'grpc-v1', '0']);
  assert.equal((await call(port, '/other.Service/Any', {}, { h2c: true })).backend, 'grpc-v2');
  assert.equal((await call(port, '/main.Service/Other', {}, { h2c: true })).status, 404);
  // An unknown host on the h2c port: the port's default server, over h2c too.
  assert.equal((await call(port, '/main.Service/Method', {}, { h2c: true, authority: 'nobody.example.com' })).status, 404);
});

test('the h2c port speaks HTTP/2 only: an HTTP/1.1 request gets no HTTP/1.1 answer', async () => {
  const r = await request({ port: h2c + 8000, host: 'grpc.example.com', path: '/main.Service/Method', timeoutMs: 2000 }).catch((e: Error) => e);
  assert.ok(r instanceof Error || r.status !== 200, 'not served over HTTP/1.1');
});

test('a GRPCRoute on an HTTP/1.1 listener is NotAllowedByListeners; GRPCRoutes only on port 80 is InvalidRouteKinds', () => {
  assert.deepEqual((index.gatewayStatus('GRPCRoute', 'default', 'on-plain') as RouteStatus).parents[0]!.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`), ['Accepted=False:NotAllowedByListeners', 'ResolvedRefs=True:ResolvedRefs']);
  const on80 = listener('gw', 'grpc-on-80');
  assert.deepEqual(on80.supportedKinds, []);
  assert.equal(on80.conditions.find((c) => c.type === 'ResolvedRefs')!.reason, 'InvalidRouteKinds');
});

test('a newer Gateway\'s HTTP/1.1 listener on the h2c port conflicts', () => {
  const web = listener('later', 'web');
  const conflicted = web.conditions.find((c) => c.type === 'Conflicted')!;
  assert.deepEqual([conflicted.status, conflicted.reason, conflicted.message], ['True', 'ProtocolConflict', `port ${h2c} is served with h2c (HTTP/2 cleartext) for the older Gateway default/gw`]);
});
