// A route is served only on the listeners it attached to (the specification: a route attaches to a
// listener, by its port and protocol), against a real NGINX: a route of an HTTPS listener does not
// answer plain HTTP on its host, where another route of the HTTP listener redirects to HTTPS; a route
// of both listeners answers on both; a route of the HTTP listener does not answer over HTTPS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { loadFragments, selfSigned, tlsSecretObject } from '../render/helpers.ts';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel } from '../../src/render/index.ts';

const GW = 'gateway.networking.k8s.io/v1';
const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 8080 }] } });
const route = (name: string, sectionName: string | undefined, hostnames: string[], rules: object[]) => ({
  apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { parentRefs: [{ name: 'gw', ...(sectionName ? { sectionName } : {}) }], hostnames, rules },
});
const to = (name: string) => [{ name, port: 8080 }];

let nginx: TestNginx;
const backends: Record<string, Backend> = {};
const pair = selfSigned('cafe.example.com', ['both.example.com', 'plain.example.com']);
const objects = [
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  {
    apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' },
    spec: {
      gatewayClassName: 'wharf',
      listeners: [
        { name: 'http', port: 80, protocol: 'HTTP', hostname: '*.example.com' },
        { name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
      ],
    },
  },
  tlsSecretObject('cert', pair),
  svc('tea'),
  svc('coffee'),
  // cafe: /tea over HTTPS only; plain HTTP is redirected (as examples/gateway).
  route('cafe', 'https', ['cafe.example.com'], [{ matches: [{ path: { type: 'PathPrefix', value: '/tea' } }], backendRefs: to('tea') }]),
  route('cafe-redirect', 'http', ['cafe.example.com'], [{ filters: [{ type: 'RequestRedirect', requestRedirect: { scheme: 'https', statusCode: 301 } }] }]),
  // both: one route on both listeners.
  route('both', undefined, ['both.example.com'], [{ backendRefs: to('coffee') }]),
  // plain: HTTP only, on a host that has a certificate through another route's HTTPS listener.
  route('plain', 'http', ['plain.example.com'], [{ matches: [{ path: { type: 'PathPrefix', value: '/plain' } }], backendRefs: to('tea') }]),
  route('plain-tls', 'https', ['plain.example.com'], [{ matches: [{ path: { type: 'PathPrefix', value: '/secure' } }], backendRefs: to('coffee') }]),
];

before(async () => {
  for (const name of ['tea', 'coffee']) backends[name] = await startBackend(name);
  nginx = await startNginx();
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  const model = buildModel(new RoutingIndex(defaultControllerSettings, state), defaultControllerSettings);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [backends[u.service]!.address]);
});
after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const who = (body: string) => (JSON.parse(body) as { backend: string }).backend;
const plain = (host: string, path: string) => request({ port: nginx.httpPort, host, path });
const secure = (host: string, path: string) => request({ port: nginx.httpsPort, host, path, tls: true });

test('a route of the HTTPS listener does not answer plain HTTP: the HTTP listener\'s redirect does', async () => {
  const r = await plain('cafe.example.com', '/tea');
  assert.equal(r.status, 301);
  assert.equal(r.headers.location, 'https://cafe.example.com/tea');
  const s = await secure('cafe.example.com', '/tea');
  assert.equal(s.status, 200);
  assert.equal(who(s.body), 'tea');
  // The redirect route is the HTTP listener's only: over HTTPS, what cafe does not serve is a 404.
  assert.equal((await secure('cafe.example.com', '/other')).status, 404);
  assert.equal((await plain('cafe.example.com', '/other')).status, 301);
});

test('a route of both listeners answers on both', async () => {
  for (const r of [await plain('both.example.com', '/x'), await secure('both.example.com', '/x')]) {
    assert.equal(r.status, 200);
    assert.equal(who(r.body), 'coffee');
  }
});

test('on a host with a certificate, a route of the HTTP listener answers plain HTTP only, and one of the HTTPS listener HTTPS only', async () => {
  const p = await plain('plain.example.com', '/plain');
  assert.equal(p.status, 200);
  assert.equal(who(p.body), 'tea');
  assert.equal((await secure('plain.example.com', '/plain')).status, 404);
  const s = await secure('plain.example.com', '/secure');
  assert.equal(s.status, 200);
  assert.equal(who(s.body), 'coffee');
  assert.equal((await plain('plain.example.com', '/secure')).status, 404);
});

test('an older Ingress on a path holds it against a newer route of the HTTPS listener only, with a warning for the route', () => {
  const ingress = {
    apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'old', namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { ingressClassName: 'wharf', rules: [{ host: 'cafe.example.com', http: { paths: [{ path: '/tea', pathType: 'Prefix', backend: { service: { name: 'coffee', port: { number: 8080 } } } }] } }] },
  };
  const { state, problems } = stateFromObjects([...objects, ingress]);
  assert.deepEqual(problems, []);
  const index = new RoutingIndex(defaultControllerSettings, state);
  assert.deepEqual(index.problemsOf('HTTPRoute default/cafe').map((p) => [p.reason, p.message]), [
    ['HostPathConflict', 'spec.rules[0].matches[0]: Invalid value: "/tea": host cafe.example.com path is already served by older Ingress default/old'],
  ]);
  const tea = buildModel(index, defaultControllerSettings).servers.find((s) => s.host === 'cafe.example.com')!.locations.filter((l) => l.path === '/tea');
  assert.deepEqual(tea.map((l) => l.source.kind), ['Ingress']);
});
