// An HTTPS listener on 443 without a hostname takes every name, so the default server presents its
// certificate to names no host has, instead of refusing the handshake: a request for an unknown
// host gets 404 over HTTPS (as the conformance suite's unmatched-host cases expect), and a route
// attached to that listener without a hostname answers every host over HTTPS. A route of the HTTP
// listener without a hostname still answers plain HTTP only. Without such a listener, the default
// server refuses unknown names' handshakes, as before. Against a real NGINX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { loadFragments, peerCertificateCN, selfSigned, tlsSecretObject } from '../render/helpers.ts';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel } from '../../src/render/index.ts';

const GW = 'gateway.networking.k8s.io/v1';
const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 8080 }] } });
const route = (name: string, sectionName: string, hostnames: string[], path: string, service: string) => ({
  apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { parentRefs: [{ name: 'gw', sectionName }], hostnames, rules: [{ matches: [{ path: { type: 'PathPrefix', value: path } }], backendRefs: [{ name: service, port: 8080 }] }] },
});
const pair = selfSigned('any.example.com');
const named = selfSigned('named.example.com');
const gateway = (listeners: object[]) => ({ apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners } });
const objects = (https: object) => [
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  gateway([{ name: 'http', port: 80, protocol: 'HTTP' }, https]),
  tlsSecretObject('cert', pair),
  tlsSecretObject('named', named),
  svc('secure'),
  svc('plain'),
  svc('host'),
  route('secure-any', 'https', [], '/secure', 'secure'),
  route('plain-any', 'http', [], '/plain', 'plain'),
  route('host', 'https', ['named.example.com'], '/', 'host'),
];

let nginx: TestNginx;
const backends: Record<string, Backend> = {};

async function serve(https: object): Promise<void> {
  const { state, problems } = stateFromObjects(objects(https));
  assert.deepEqual(problems, []);
  const model = buildModel(new RoutingIndex(defaultControllerSettings, state), defaultControllerSettings);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [backends[u.service]!.address]);
}

before(async () => {
  for (const name of ['secure', 'plain', 'host']) backends[name] = await startBackend(name);
  nginx = await startNginx();
});
after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const who = (body: string) => (JSON.parse(body) as { backend: string }).backend;
const secure = (host: string, path: string) => request({ port: nginx.httpsPort, host, path, tls: true });
const plain = (host: string, path: string) => request({ port: nginx.httpPort, host, path });

test('an HTTPS listener on 443 without a hostname: unknown names get its certificate, then 404 or its catch-all route', async () => {
  await serve({ name: 'https', port: 443, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } });
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'unknown.example.org'), 'any.example.com');
  assert.equal((await secure('unknown.example.org', '/nothing')).status, 404);
  const r = await secure('unknown.example.org', '/secure/x');
  assert.deepEqual([r.status, who(r.body)], [200, 'secure']);
  // A host of its own keeps its route (and, through SNI, the certificate its listener chose).
  assert.equal(who((await secure('named.example.com', '/')).body), 'host');
  // The HTTP listener's catch-all route answers plain HTTP only; the HTTPS one's HTTPS only.
  assert.equal(who((await plain('unknown.example.org', '/plain/x')).body), 'plain');
  assert.equal((await secure('unknown.example.org', '/plain/x')).status, 404);
  assert.equal((await plain('unknown.example.org', '/secure/x')).status, 404);
});

test('an HTTPS listener on 443 with a hostname only: unknown names\' handshakes are refused, as before', async () => {
  await serve({ name: 'https', port: 443, protocol: 'HTTPS', hostname: 'named.example.com', tls: { certificateRefs: [{ name: 'named' }] } });
  assert.match(await peerCertificateCN(nginx.httpsPort, 'unknown.example.org'), /^error: .*alert/);
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'named.example.com'), 'named.example.com');
  assert.equal(who((await plain('unknown.example.org', '/plain/x')).body), 'plain');
});
