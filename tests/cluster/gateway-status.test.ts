// The Gateway API status writer against the fake API server, which checks every status against the
// v1.6.1 CRD schemas: what it writes for GatewayClasses, Gateways and routes, that another
// controller's route parent entries survive (a concurrent write of theirs included), that nothing
// is written when nothing changed, and that lastTransitionTime moves only when a status does.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { quietLog, service } from '../support/kube-apiserver-fixtures.ts';
import { gateway, gatewayClass, httpRoute } from '../support/gateway-fixtures.ts';
import { eventually } from '../support/http.ts';
import { makeClients } from '../../src/cluster/kubernetes-client.ts';
import { GatewayStatusWriter } from '../../src/cluster/gateway-status-writer.ts';
import type { Ownership } from '../../src/cluster/status-members.ts';
import type { PublishSource } from '../../src/cluster/status-writer.ts';
import { GATEWAY_CONTROLLER_NAME, type Condition, type RouteStatus } from '../../src/model/gateway-status.ts';

const alone: Ownership = { owns: () => true, onChange() {} };
const GROUP = 'gateway.networking.k8s.io';

async function setup(t: { after: (fn: () => Promise<void>) => void }, publish: PublishSource = { addresses: [{ ip: '203.0.113.7' }, { hostname: 'lb.example.com' }] }, ownership = alone) {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  let clock = new Date('2026-12-01T10:00:00Z');
  const writer = new GatewayStatusWriter({ clients: makeClients(api.kubeConfig('wharf')), log: quietLog, publish, ownership, retryMs: 50, now: () => clock, watch: { backoff: { baseMs: 20, maxMs: 200 } } });
  t.after(() => writer.stop());
  return {
    api,
    writer,
    tick: (seconds: number) => (clock = new Date(clock.getTime() + seconds * 1000)),
    /** Waits for the writer to have seen the object at its current version, then for every write to end. */
    settle: async () => {
      await new Promise((r) => setTimeout(r, 30));
      await writer.idle();
    },
  };
}

const accepted = (status: Condition['status'] = 'True', reason = 'Accepted', message = ''): Condition => ({ type: 'Accepted', status, reason, message });
const resolved: Condition = { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '' };

function routeStatus(generation: number, conditions: Condition[] = [accepted(), resolved], namespace = 'shop'): RouteStatus {
  return { ref: { kind: 'HTTPRoute', namespace, name: 'cafe', generation }, parents: [{ parentRef: { group: GROUP, kind: 'Gateway', namespace, name: 'gw' }, conditions }] };
}

const theirs = {
  parentRef: { group: GROUP, kind: 'Gateway', namespace: 'shop', name: 'other-gw' },
  controllerName: 'example.com/other-controller',
  conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: 'theirs', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }],
};

test('a route gets its parent entry (controllerName, observedGeneration, conditions) beside another controller\'s, which stays untouched', async (t) => {
  const { api, writer, settle } = await setup(t);
  const before = api.put({ ...httpRoute('cafe', 'shop'), status: { parents: [theirs] } });
  await writer.start();
  writer.set(routeStatus(1));
  await settle();
  const parents = api.get('HTTPRoute', 'shop', 'cafe')!.status.parents;
  assert.deepEqual(parents[0], theirs, 'the other controller\'s entry, as it was');
  assert.deepEqual(parents[1], {
    parentRef: { group: GROUP, kind: 'Gateway', namespace: 'shop', name: 'gw' },
    controllerName: GATEWAY_CONTROLLER_NAME,
    conditions: [
      { type: 'Accepted', status: 'True', reason: 'Accepted', message: '', observedGeneration: 1, lastTransitionTime: '2026-12-01T10:00:00Z' },
      { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '', observedGeneration: 1, lastTransitionTime: '2026-12-01T10:00:00Z' },
    ],
  });
  assert.equal(api.statusWrites.length, 1);
  const write = api.requests.find((r) => r.method === 'PATCH')!;
  assert.equal(write.contentType, 'application/merge-patch+json');
  assert.equal(JSON.parse(write.body).metadata.resourceVersion, before.metadata.resourceVersion, 'guarded by the version it was computed from');
});

test('nothing is written when nothing changed; lastTransitionTime stays while a condition\'s status does, and moves when it flips', async (t) => {
  const { api, writer, tick, settle } = await setup(t);
  api.put(httpRoute('cafe', 'shop'));
  await writer.start();
  writer.set(routeStatus(1));
  await settle();
  assert.equal(api.statusWrites.length, 1);
  tick(60);
  writer.set(routeStatus(1));
  writer.set(routeStatus(1));
  await settle();
  assert.equal(api.statusWrites.length, 1, 'the same conclusion again: no write');
  assert.ok(writer.stats.unchanged >= 2);

  tick(60);
  writer.set(routeStatus(1, [accepted('True', 'Accepted', 'now with a message'), resolved]));
  await settle();
  assert.equal(api.statusWrites.length, 2);
  let [ours] = api.get('HTTPRoute', 'shop', 'cafe')!.status.parents;
  assert.equal(ours.conditions[0].message, 'now with a message');
  assert.equal(ours.conditions[0].lastTransitionTime, '2026-12-01T10:00:00Z', 'same status: the time of the last transition is kept');

  tick(60);
  writer.set(routeStatus(1, [accepted('False', 'NotAllowedByListeners', 'no listener admits routes from shop'), resolved]));
  await settle();
  [ours] = api.get('HTTPRoute', 'shop', 'cafe')!.status.parents;
  assert.equal(ours.conditions[0].lastTransitionTime, '2026-12-01T10:03:00Z', 'the status flipped now');
  assert.equal(ours.conditions[1].lastTransitionTime, '2026-12-01T10:00:00Z');
});

test('a conclusion about another generation than the object\'s is not written until one about the current generation comes', async (t) => {
  const { api, writer, settle } = await setup(t);
  api.put(httpRoute('cafe', 'shop'));
  await writer.start();
  api.put({ ...httpRoute('cafe', 'shop'), spec: { ...httpRoute('cafe', 'shop').spec, hostnames: ['tea.example.com'] } });
  await eventually(() => api.openWatches('HTTPRoute') > 0);
  writer.set(routeStatus(1));
  await settle();
  assert.equal(api.statusWrites.length, 0);
  writer.set(routeStatus(2));
  await settle();
  assert.equal(api.get('HTTPRoute', 'shop', 'cafe')!.status.parents[0].conditions[0].observedGeneration, 2);
});

test('another controller writing its entry at the same moment: 409, read again, both entries kept', async (t) => {
  const { api, writer, settle } = await setup(t);
  api.put(httpRoute('cafe', 'shop'));
  await writer.start();
  let raced = false;
  api.onRequest = (r) => {
    if (raced || r.method !== 'PATCH') return;
    raced = true;
    // The other controller's write lands between wharf's read and wharf's patch.
    const current = api.get('HTTPRoute', 'shop', 'cafe')!;
    api.put({ ...current, status: { parents: [theirs] } });
  };
  writer.set(routeStatus(1));
  await settle();
  await eventually(() => api.get('HTTPRoute', 'shop', 'cafe')!.status.parents.length === 2);
  const parents = api.get('HTTPRoute', 'shop', 'cafe')!.status.parents;
  assert.deepEqual(parents.map((p: { controllerName: string }) => p.controllerName), ['example.com/other-controller', GATEWAY_CONTROLLER_NAME]);
  assert.equal(writer.stats.conflicts, 1);
});

test('a Gateway gets its conditions, listeners and the published addresses; a GatewayClass its conditions', async (t) => {
  const { api, writer, settle } = await setup(t);
  api.put(gatewayClass('wharf'));
  api.put(gateway('gw', 'shop', [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'https', port: 443, protocol: 'HTTPS', hostname: '*.example.com', tls: { certificateRefs: [{ name: 'cert' }] } }]));
  await writer.start();
  writer.set({ ref: { kind: 'GatewayClass', namespace: '', name: 'wharf', generation: 1 }, conditions: [accepted()] });
  const programmed: Condition = { type: 'Programmed', status: 'True', reason: 'Programmed', message: '' };
  writer.set({
    ref: { kind: 'Gateway', namespace: 'shop', name: 'gw', generation: 1 },
    conditions: [accepted(), programmed],
    listeners: [
      { name: 'http', supportedKinds: [{ group: GROUP, kind: 'HTTPRoute' }, { group: GROUP, kind: 'GRPCRoute' }], attachedRoutes: 2, conditions: [accepted(), resolved, programmed] },
      { name: 'https', supportedKinds: [{ group: GROUP, kind: 'HTTPRoute' }], attachedRoutes: 0, conditions: [accepted(), { type: 'ResolvedRefs', status: 'False', reason: 'InvalidCertificateRef', message: 'Secret shop/cert not found' }] },
    ],
  });
  await settle();
  const gc = api.get('GatewayClass', '', 'wharf')!;
  assert.deepEqual(gc.status.conditions.map((c: Condition) => `${c.type}=${c.status}`), ['Accepted=True']);
  const gw = api.get('Gateway', 'shop', 'gw')!.status;
  assert.deepEqual(gw.addresses, [{ type: 'IPAddress', value: '203.0.113.7' }, { type: 'Hostname', value: 'lb.example.com' }]);
  assert.deepEqual(gw.conditions.map((c: Condition) => `${c.type}=${c.status}`), ['Accepted=True', 'Programmed=True'], 'the CRD\'s Pending defaults are replaced');
  assert.deepEqual(gw.listeners.map((l: { name: string; attachedRoutes: number }) => `${l.name}:${l.attachedRoutes}`), ['http:2', 'https:0']);
  assert.equal(gw.listeners[1].conditions[1].reason, 'InvalidCertificateRef');
  assert.equal(gw.listeners[0].conditions[0].observedGeneration, 1);
  assert.equal(api.statusWrites.length, 2);
});

test('a Gateway\'s addresses follow the publish Service', async (t) => {
  const { api, writer, settle } = await setup(t, { service: { namespace: 'wharf', name: 'wharf-nginx' } });
  api.put(gateway('gw', 'shop'));
  api.put({ ...service('wharf-nginx', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip: '198.51.100.4' }] } } });
  await writer.start();
  writer.set({ ref: { kind: 'Gateway', namespace: 'shop', name: 'gw', generation: 1 }, conditions: [accepted()], listeners: [] });
  await settle();
  assert.deepEqual(api.get('Gateway', 'shop', 'gw')!.status.addresses, [{ type: 'IPAddress', value: '198.51.100.4' }]);
  api.put({ ...service('wharf-nginx', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ hostname: 'lb.example.net' }] } } });
  await eventually(() => JSON.stringify(api.get('Gateway', 'shop', 'gw')!.status.addresses) === JSON.stringify([{ type: 'Hostname', value: 'lb.example.net' }]));
});

test('objects another replica owns are not written; without the CRDs the writer starts and writes nothing', async (t) => {
  const { api, writer, settle } = await setup(t, undefined, { owns: () => false, onChange() {} });
  api.put(httpRoute('cafe', 'shop'));
  await writer.start();
  writer.set(routeStatus(1));
  await settle();
  assert.equal(api.statusWrites.length, 0);

  const bare = await FakeApiServer.start({ gatewayApi: false });
  t.after(() => bare.close());
  const second = new GatewayStatusWriter({ clients: makeClients(bare.kubeConfig()), log: quietLog, publish: { addresses: [{ ip: '203.0.113.7' }] }, ownership: alone });
  t.after(() => second.stop());
  await second.start();
  second.set(routeStatus(1));
  await second.idle();
  assert.equal(bare.requests.filter((r) => r.method !== 'GET').length, 0);
});

test('TCPRoutes and UDPRoutes get their parent entries as HTTPRoutes do, valid against their CRDs', async (t) => {
  const { api, writer, settle } = await setup(t);
  const l4 = (kind: 'TCPRoute' | 'UDPRoute') => ({ apiVersion: `${GROUP}/v1`, kind, metadata: { name: 'db', namespace: 'shop' }, spec: { parentRefs: [{ name: 'gw', sectionName: 'db' }], rules: [{ backendRefs: [{ name: 'db', port: 5432 }] }] } });
  api.put(l4('TCPRoute'));
  api.put(l4('UDPRoute'));
  await writer.start();
  for (const kind of ['TCPRoute', 'UDPRoute'] as const) {
    writer.set({ ref: { kind, namespace: 'shop', name: 'db', generation: 1 }, parents: [{ parentRef: { group: GROUP, kind: 'Gateway', namespace: 'shop', name: 'gw', sectionName: 'db' }, conditions: [accepted('False', 'NotAllowedByListeners'), resolved] }] });
  }
  await settle();
  for (const kind of ['TCPRoute', 'UDPRoute']) {
    const [entry] = api.get(kind, 'shop', 'db')!.status.parents;
    assert.equal(entry.controllerName, GATEWAY_CONTROLLER_NAME, kind);
    assert.deepEqual(entry.conditions.map((c: Condition) => `${c.type}=${c.status}:${c.reason}`), ['Accepted=False:NotAllowedByListeners', 'ResolvedRefs=True:ResolvedRefs'], kind);
  }
});
