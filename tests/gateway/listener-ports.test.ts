// Gateway listeners on ports other than 80 and 443, against a real NGINX: each is served on its own
// port (P + (NGINX's HTTP port − 80): src/model/listener-ports.ts) by servers of its own, with the
// agent's listen and default-server files for the port (src/render/listener-ports.ts). A route of
// such a listener answers there only; a host no route names there gets 404 (the port's default
// server), or, over HTTPS, the handshake is refused; a route without a hostname answers every host
// on its port, over HTTPS with its listener's certificate. A port whose place would not be a port,
// HTTP on 443, and a port an older Gateway serves with the other protocol are not programmed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { loadFragments, peerCertificateCN, selfSigned, tlsSecretObject } from '../render/helpers.ts';
import { buildModel, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel } from '../../src/render/index.ts';
import { agentFiles, declaredPort, settings } from './listener-port-setup.ts';
import type { GatewayStatus, ListenerStatus, RouteStatus } from '../../src/model/gateway-status.ts';

const GW = 'gateway.networking.k8s.io/v1';

const route = (name: string, sectionName: string, hostnames: string[], service: string) => ({
  apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { parentRefs: [{ name: 'gw', sectionName }], hostnames, rules: [{ backendRefs: [{ name: service, port: 8080 }] }] },
});
const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 8080 }] } });
const gateway = (name: string, created: string, listeners: object[]) => ({
  apiVersion: GW, kind: 'Gateway', metadata: { name, namespace: 'default', generation: 1, creationTimestamp: created },
  spec: { gatewayClassName: 'wharf', listeners },
});

let nginx: TestNginx;
const backends: Record<string, Backend> = {};
let index: RoutingIndex;
/** Declared listener ports whose NGINX port (+ 8000) is free here. */
let alt = 0, any = 0, secure = 0, named = 0;
const pair = selfSigned('secure.example.com');

before(async () => {
  for (const name of ['main', 'alt', 'any', 'secure']) backends[name] = await startBackend(name);
  [alt, any, secure, named] = [await declaredPort(), await declaredPort(), await declaredPort(), await declaredPort()];
  nginx = await startNginx();
  const objects = [
    { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
    gateway('gw', '2025-01-01T00:00:00Z', [
      { name: 'http', port: 80, protocol: 'HTTP' },
      { name: 'alt', port: alt, protocol: 'HTTP' },
      { name: 'any', port: any, protocol: 'HTTP' },
      { name: 'secure', port: secure, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } },
      { name: 'named', port: named, protocol: 'HTTPS', hostname: 'secure.example.com', tls: { certificateRefs: [{ name: 'cert' }] } },
      { name: 'beyond', port: 65000, protocol: 'HTTP' },
      { name: 'http-on-443', port: 443, protocol: 'HTTP' },
    ]),
    // Newer, and HTTPS on the port gw serves with HTTP.
    gateway('later', '2025-02-01T00:00:00Z', [{ name: 'clash', port: alt, protocol: 'HTTPS', tls: { certificateRefs: [{ name: 'cert' }] } }]),
    tlsSecretObject('cert', pair),
    ...['main', 'alt', 'any', 'secure'].map(svc),
    route('main', 'http', ['main.example.com'], 'main'),
    route('alt', 'alt', ['alt.example.com'], 'alt'),
    route('any', 'any', [], 'any'),
    route('secure', 'secure', [], 'secure'),
    route('named', 'named', [], 'secure'),
  ];
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  index = new RoutingIndex(settings, state);
  const model = buildModel(index, settings);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, certificates, agentFiles(fragments));
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [backends[u.service]!.address]);
});
after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const who = (body: string) => (JSON.parse(body) as { backend: string }).backend;
const listenerOf = (gw: string, name: string): ListenerStatus => (index.gatewayStatus('Gateway', 'default', gw) as GatewayStatus).listeners.find((l) => l.name === name)!;
const conditions = (l: ListenerStatus) => Object.fromEntries(l.conditions.map((c) => [c.type, [c.status, c.reason, c.message]]));

test('listeners on ports of their own are programmed, with their routes attached', () => {
  for (const name of ['alt', 'any', 'secure', 'named']) {
    assert.deepEqual(conditions(listenerOf('gw', name)).Programmed, ['True', 'Programmed', 'served by NGINX'], name);
    assert.equal(listenerOf('gw', name).attachedRoutes, 1, name);
  }
  const r = index.gatewayStatus('HTTPRoute', 'default', 'alt') as RouteStatus;
  assert.equal(r.parents[0]!.conditions[0]!.status, 'True');
});

test('a route of a listener on its own port answers there, and not on port 80', async () => {
  const r = await request({ port: alt + 8000, host: 'alt.example.com', path: '/x' });
  assert.equal(r.status, 200);
  assert.equal(who(r.body), 'alt');
  assert.equal((await request({ port: nginx.httpPort, host: 'alt.example.com', path: '/x' })).status, 404);
  // And a route of port 80 does not answer on the other port.
  assert.equal(who((await request({ port: nginx.httpPort, host: 'main.example.com', path: '/' })).body), 'main');
  assert.equal((await request({ port: alt + 8000, host: 'main.example.com', path: '/' })).status, 404);
});

test('a route without a hostname answers every host on its port only', async () => {
  for (const host of ['a.example.com', 'main.example.com', 'alt.example.com']) {
    const r = await request({ port: any + 8000, host, path: '/' });
    assert.equal(r.status, 200, host);
    assert.equal(who(r.body), 'any');
  }
  assert.equal((await request({ port: nginx.httpPort, host: 'a.example.com', path: '/' })).status, 404);
});

test('an HTTPS listener on its own port: a route without a hostname answers any name with the listener\'s certificate', async () => {
  for (const host of ['secure.example.com', 'unknown.example.org']) {
    const r = await request({ port: secure + 8000, host, path: '/', tls: true });
    assert.equal(r.status, 200, host);
    assert.equal(who(r.body), 'secure');
  }
  assert.equal(await peerCertificateCN(secure + 8000, 'unknown.example.org'), 'secure.example.com');
  // Plain HTTP on the HTTPS port is not served.
  assert.equal((await request({ port: secure + 8000, host: 'secure.example.com', path: '/' })).status, 400);
});

test('a port whose NGINX port would not be a port, and HTTP on 443, are not programmed (PortUnavailable)', () => {
  const beyond = conditions(listenerOf('gw', 'beyond'));
  assert.deepEqual(beyond.Accepted, ['False', 'PortUnavailable', 'NGINX serves port 65000 on 65000 + (8080 - 80) = 73000, which is not a port']);
  assert.equal(beyond.Programmed![1], 'PortUnavailable');
  assert.deepEqual(conditions(listenerOf('gw', 'http-on-443')).Accepted, ['False', 'PortUnavailable', 'port 443 is wharf\'s HTTPS port']);
});

test('a newer Gateway\'s listener on a port an older Gateway serves with the other protocol conflicts, and is not served', async () => {
  const clash = conditions(listenerOf('later', 'clash'));
  assert.deepEqual(clash.Conflicted, ['True', 'ProtocolConflict', `port ${alt} is served with HTTP for the older Gateway default/gw`]);
  assert.equal(clash.Programmed![0], 'False');
  assert.deepEqual(conditions(listenerOf('gw', 'alt')).Conflicted, ['False', 'NoConflicts', 'no conflicts']);
  // The port stays plain HTTP.
  assert.equal((await request({ port: alt + 8000, host: 'alt.example.com', path: '/' })).status, 200);
});

test('a host no route names on a listener\'s own port gets 404 from the port\'s default server; over HTTPS without a catch-all the handshake is refused', async () => {
  assert.equal((await request({ port: alt + 8000, host: 'nobody.example.com', path: '/' })).status, 404);
  assert.equal(who((await request({ port: named + 8000, host: 'secure.example.com', path: '/', tls: true })).body), 'secure');
  assert.match(await peerCertificateCN(named + 8000, 'unknown.example.org'), /^error: .*alert/);
});
