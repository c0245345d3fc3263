// TLSRoute at the model level: TLS listeners (Passthrough, on 443, with --enable-ssl-passthrough),
// hostname intersection with the listener, statuses as for HTTPRoute, and the passthrough host it
// makes (the same one an Ingress with ssl-passthrough makes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { defaultControllerSettings, stateFromObjects, validateGatewayObject, type ControllerSettings } from '../../src/model/index.ts';
import type { GatewayStatus, RouteStatus } from '../../src/model/gateway-status.ts';
import { CERT, KEY } from './tls-fixture.ts';

const GW = 'gateway.networking.k8s.io/v1';
const ON = { ...defaultControllerSettings, sslPassthrough: true };
const gatewayClass = { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } };
const gateway = (listeners: object[]) => ({ apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners } });
const tlsListener = (o: object = {}) => ({ name: 'tls', port: 443, protocol: 'TLS', hostname: '*.example.com', tls: { mode: 'Passthrough' }, allowedRoutes: { kinds: [{ kind: 'TLSRoute' }] }, ...o });
const svc = (name: string) => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec: { ports: [{ port: 443 }] } });
const tlsRoute = (name: string, hostnames: string[], backend = 'tls-backend', extra: object = {}) => ({
  apiVersion: GW, kind: 'TLSRoute', metadata: { name, namespace: 'default', generation: 2, creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { parentRefs: [{ name: 'gw' }], hostnames, rules: [{ backendRefs: [{ name: backend, port: 443 }] }], ...extra },
});
const conditions = (s: unknown) => (s as RouteStatus).parents.map((p) => p.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`).join(' '));

function indexOf(objects: object[], settings: ControllerSettings = ON): RoutingIndex {
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  return new RoutingIndex(settings, state);
}

test('a TLSRoute on a Passthrough listener: its hostnames intersected with the listener\'s are passed through to its Service', () => {
  const index = indexOf([gatewayClass, gateway([tlsListener()]), svc('tls-backend'), tlsRoute('abc', ['abc.example.com', 'abc.example.org', '*.example.com'])]);
  const model = index.model();
  assert.deepEqual(model.servers.map((s) => [s.host, s.locations.length, s.passthrough?.backend.upstream, s.passthrough?.source.kind]), [
    ['*.example.com', 0, 'default-tls-backend-443', 'TLSRoute'],
    ['abc.example.com', 0, 'default-tls-backend-443', 'TLSRoute'],
  ]);
  assert.deepEqual(conditions(index.gatewayStatus('TLSRoute', 'default', 'abc')), ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs']);
  const gw = index.gatewayStatus('Gateway', 'default', 'gw') as GatewayStatus;
  assert.deepEqual(gw.listeners.map((l) => [l.name, l.attachedRoutes, l.supportedKinds.map((k) => k.kind), l.conditions.map((c) => `${c.type}=${c.status}`).join(' ')]), [
    ['tls', 1, ['TLSRoute'], 'Accepted=True ResolvedRefs=True Conflicted=False Programmed=True'],
  ]);
});

test('statuses as for HTTPRoute: no matching hostname, a missing Service, a Service in another namespace without a ReferenceGrant', () => {
  const index = indexOf([
    gatewayClass, gateway([tlsListener()]), svc('tls-backend'),
    tlsRoute('elsewhere', ['abc.example.org']),
    tlsRoute('missing', ['missing.example.com'], 'nope'),
    { ...tlsRoute('cross', ['cross.example.com']), spec: { parentRefs: [{ name: 'gw' }], hostnames: ['cross.example.com'], rules: [{ backendRefs: [{ name: 'tls-backend', namespace: 'other', port: 443 }] }] } },
  ]);
  assert.deepEqual(conditions(index.gatewayStatus('TLSRoute', 'default', 'elsewhere')), ['Accepted=False:NoMatchingListenerHostname ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual(conditions(index.gatewayStatus('TLSRoute', 'default', 'missing')), ['Accepted=True:Accepted ResolvedRefs=False:BackendNotFound']);
  assert.deepEqual(conditions(index.gatewayStatus('TLSRoute', 'default', 'cross')), ['Accepted=True:Accepted ResolvedRefs=False:RefNotPermitted']);
  // Nothing to pass their connections to: no passthrough host (the handshake gets the default server's answer).
  assert.deepEqual(index.model().servers.map((s) => s.host), []);
});

test('TLS listeners: served with --enable-ssl-passthrough, in Passthrough mode, on 443 only; HTTPRoutes do not attach to them', () => {
  const listeners = [tlsListener(), tlsListener({ name: 'terminate', hostname: 'x.example.com', tls: { mode: 'Terminate', certificateRefs: [{ name: 'cert' }] } }), tlsListener({ name: 'other-port', port: 8443, hostname: 'y.example.com' })];
  const objects = [gatewayClass, gateway(listeners), svc('tls-backend'), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cert', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(CERT).toString('base64'), 'tls.key': Buffer.from(KEY).toString('base64') } }];
  const on = indexOf(objects).gatewayStatus('Gateway', 'default', 'gw') as GatewayStatus;
  assert.deepEqual(on.listeners.map((l) => `${l.name} ${l.conditions.find((c) => c.type === 'Accepted')!.reason}`), ['tls Accepted', 'terminate UnsupportedValue', 'other-port PortUnavailable']);
  const off = indexOf(objects, defaultControllerSettings).gatewayStatus('Gateway', 'default', 'gw') as GatewayStatus;
  const first = off.listeners[0]!.conditions.find((c) => c.type === 'Accepted')!;
  assert.equal(first.reason, 'UnsupportedProtocol');
  assert.match(first.message, /--enable-ssl-passthrough/);

  const http = { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'web', namespace: 'default' }, spec: { parentRefs: [{ name: 'gw', sectionName: 'tls' }], rules: [{ backendRefs: [{ name: 'tls-backend', port: 443 }] }] } };
  assert.deepEqual(conditions(indexOf([...objects, http]).gatewayStatus('HTTPRoute', 'default', 'web')), ['Accepted=False:NotAllowedByListeners ResolvedRefs=True:ResolvedRefs']);
});

test('admission refuses a TLSRoute host that an HTTPS listener\'s route terminates, and says so with the field', () => {
  const objects = [
    gatewayClass,
    gateway([tlsListener(), { name: 'https', port: 443, protocol: 'HTTPS', hostname: 'web.example.com', tls: { certificateRefs: [{ name: 'cert' }] } }]),
    svc('tls-backend'),
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'cert', namespace: 'default' }, type: 'kubernetes.io/tls', data: { 'tls.crt': Buffer.from(CERT).toString('base64'), 'tls.key': Buffer.from(KEY).toString('base64') } },
    { apiVersion: GW, kind: 'HTTPRoute', metadata: { name: 'web', namespace: 'default', creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { parentRefs: [{ name: 'gw', sectionName: 'https' }], hostnames: ['web.example.com'], rules: [{ backendRefs: [{ name: 'tls-backend', port: 443 }] }] } },
  ];
  const index = indexOf(objects);
  const problems = validateGatewayObject(tlsRoute('late', ['web.example.com']), index, ON);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.field}: ${p.reason}`), ['error spec.hostnames: PassthroughConflict']);
});
