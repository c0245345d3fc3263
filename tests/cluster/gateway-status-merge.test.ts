// The pure half of the Gateway API status writer (src/cluster/gateway-status-merge.ts): which status
// is written from the model's conclusion and the object's current status, and when nothing is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gatewayAddresses, mergeConditions, nextGatewayStatus, nextRouteStatus } from '../../src/cluster/gateway-status-merge.ts';
import { GATEWAY_CONTROLLER_NAME, type Condition, type RouteStatus } from '../../src/model/gateway-status.ts';

const NOW = '2026-12-01T10:00:00Z';
const BEFORE = '2026-11-01T00:00:00Z';
const GROUP = 'gateway.networking.k8s.io';
const accepted = (status: Condition['status'] = 'True'): Condition => ({ type: 'Accepted', status, reason: status === 'True' ? 'Accepted' : 'NotAllowedByListeners', message: '' });
const held = (c: Condition, generation = 1, at = BEFORE) => ({ ...c, observedGeneration: generation, lastTransitionTime: at });
const ref = (name: string) => ({ group: GROUP, kind: 'Gateway', namespace: 'shop', name });
const ours = (name: string, conditions: unknown[]) => ({ parentRef: ref(name), controllerName: GATEWAY_CONTROLLER_NAME, conditions });
const theirs = { parentRef: ref('theirs'), controllerName: 'example.com/other', conditions: [held(accepted())] };
const route = (parents: { name: string; conditions: Condition[] }[], generation = 1): RouteStatus => ({
  ref: { kind: 'HTTPRoute', namespace: 'shop', name: 'r', generation },
  parents: parents.map((p) => ({ parentRef: ref(p.name), conditions: p.conditions })),
});

test('conditions: in the model\'s order, with the generation; the transition time kept while the status stays', () => {
  const current = [held({ type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '' }), held(accepted())];
  const merged = mergeConditions([accepted('False'), { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'x' }], current, 3, NOW);
  assert.deepEqual(merged, [
    { type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners', message: '', observedGeneration: 3, lastTransitionTime: NOW },
    { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'x', observedGeneration: 3, lastTransitionTime: BEFORE },
  ]);
  assert.equal(mergeConditions([accepted()], 'not a list', 1, NOW)[0]!.lastTransitionTime, NOW);
});

const routeCases: Record<string, { current: Record<string, unknown>; desired: RouteStatus; changed: boolean; parents?: unknown[] }> = {
  'the same conclusion again: no write': {
    current: { parents: [theirs, ours('gw', [held(accepted())])] },
    desired: route([{ name: 'gw', conditions: [accepted()] }]),
    changed: false,
  },
  'a parent no longer reported: wharf\'s entry goes, theirs stays': {
    current: { parents: [ours('old', [held(accepted())]), theirs] },
    desired: route([]),
    changed: true,
    parents: [theirs],
  },
  'a route wharf never wrote and has nothing to say about: untouched': {
    current: { parents: [theirs] },
    desired: route([]),
    changed: false,
  },
  'a route without status gets wharf\'s entry': {
    current: {},
    desired: route([{ name: 'gw', conditions: [accepted()] }]),
    changed: true,
    parents: [ours('gw', [held(accepted(), 1, NOW)])],
  },
  'a new generation: written, times kept': {
    current: { parents: [ours('gw', [held(accepted())])] },
    desired: route([{ name: 'gw', conditions: [accepted()] }], 2),
    changed: true,
    parents: [ours('gw', [held(accepted(), 2, BEFORE)])],
  },
  'two parents: each keeps its own times': {
    current: { parents: [ours('a', [held(accepted())]), ours('b', [held(accepted('False'))])] },
    desired: route([{ name: 'a', conditions: [accepted()] }, { name: 'b', conditions: [accepted()] }]),
    changed: true,
    parents: [ours('a', [held(accepted(), 1, BEFORE)]), ours('b', [held(accepted(), 1, NOW)])],
  },
};

for (const [name, c] of Object.entries(routeCases)) {
  test(`route status: ${name}`, () => {
    const next = nextRouteStatus(c.desired, c.current, NOW);
    assert.equal(next.changed, c.changed);
    if (c.parents) assert.deepEqual(next.status.parents, c.parents);
  });
}

test('Gateway status: listeners matched by name; unknown addresses leave the current ones alone', () => {
  const programmed: Condition = { type: 'Programmed', status: 'True', reason: 'Programmed', message: '' };
  const current = {
    conditions: [held(accepted())],
    listeners: [{ name: 'http', supportedKinds: [{ group: GROUP, kind: 'HTTPRoute' }], attachedRoutes: 1, conditions: [held(programmed)] }],
    addresses: [{ type: 'IPAddress', value: '192.0.2.1' }],
  };
  const desired = {
    ref: { kind: 'Gateway' as const, namespace: 'shop', name: 'gw', generation: 1 },
    conditions: [accepted()],
    listeners: [
      { name: 'http', supportedKinds: [{ group: GROUP, kind: 'HTTPRoute' }], attachedRoutes: 2, conditions: [programmed] },
      { name: 'https', supportedKinds: [{ group: GROUP, kind: 'HTTPRoute' }], attachedRoutes: 0, conditions: [programmed] },
    ],
  };
  const next = nextGatewayStatus(desired, current, null, NOW);
  assert.equal(next.changed, true);
  assert.equal('addresses' in next.status, false, 'not written: the publish Service is not known yet');
  const listeners = next.status.listeners as { name: string; conditions: { lastTransitionTime: string }[] }[];
  assert.deepEqual(listeners.map((l) => `${l.name} ${l.conditions[0]!.lastTransitionTime}`), [`http ${BEFORE}`, `https ${NOW}`]);
  const same = nextGatewayStatus({ ...desired, listeners: [desired.listeners[0]!] }, { ...current, listeners: [{ ...current.listeners[0]!, attachedRoutes: 2 }] }, gatewayAddresses([{ ip: '192.0.2.1' }]), NOW);
  assert.equal(same.changed, false);
  assert.deepEqual(gatewayAddresses([{ ip: '192.0.2.1' }, { hostname: 'lb.example.com' }]), [
    { type: 'IPAddress', value: '192.0.2.1' },
    { type: 'Hostname', value: 'lb.example.com' },
  ]);
});
