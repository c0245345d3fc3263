// The Gateway API status writer as `wharf handler` runs it (startHandler, two replicas with their own
// credentials, their Leases deciding who writes what): both replicas are told every route's status,
// as every replica's model concludes it, and each route is written by one replica only, the work
// shared between them, with the publish Service's address on the Gateway.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { startHandlerAgainst } from '../support/handler-against-api.ts';
import { service } from '../support/kube-apiserver-fixtures.ts';
import { gateway, httpRoute } from '../support/gateway-fixtures.ts';
import { eventually } from '../support/http.ts';
import { type RunningHandler } from '../../src/handlers/serve.ts';
import type { RouteStatus } from '../../src/model/gateway-status.ts';

const ROUTES = Array.from({ length: 12 }, (_, i) => `route-${i}`);
type Hooks = { after: (fn: () => Promise<unknown> | void) => void };

async function replica(t: Hooks, api: FakeApiServer, identity: string): Promise<RunningHandler> {
  const running = await startHandlerAgainst(api, { identity });
  t.after(() => running.close());
  return running;
}

const accepted = (name: string, generation = 1): RouteStatus => ({
  ref: { kind: 'HTTPRoute', namespace: 'shop', name, generation },
  parents: [{ parentRef: { group: 'gateway.networking.k8s.io', kind: 'Gateway', namespace: 'shop', name: 'gw' }, conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }] }],
});

test('two handler replicas: every route\'s status written by one replica only, the Gateway with the published address', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put({ ...service('wharf-nginx', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip: '192.0.2.9' }] } } });
  api.put(gateway('gw', 'shop'));
  for (const name of ROUTES) api.put(httpRoute(name, 'shop'));
  const [a, b] = await Promise.all([replica(t, api, 'wharf-a'), replica(t, api, 'wharf-b')]);
  await eventually(() => a.status!.membership.members().length === 2 && b.status!.membership.members().length === 2, 5000);
  // Told before they may write (3 renew intervals after joining): each writes its share once it may.
  for (const h of [a, b]) {
    h.status!.gateway!.set({ ref: { kind: 'Gateway', namespace: 'shop', name: 'gw', generation: 1 }, conditions: [{ type: 'Programmed', status: 'True', reason: 'Programmed', message: '' }], listeners: [] });
    for (const name of ROUTES) h.status!.gateway!.set(accepted(name));
  }
  const done = () => ROUTES.every((n) => api.get('HTTPRoute', 'shop', n)!.status?.parents?.length === 1) && api.get('Gateway', 'shop', 'gw')!.status.addresses?.length === 1;
  assert.ok(await eventually(done, 10_000), 'every route and the Gateway got their status');
  assert.deepEqual(api.get('Gateway', 'shop', 'gw')!.status.addresses, [{ type: 'IPAddress', value: '192.0.2.9' }]);
  const writers = new Map<string, Set<string>>();
  for (const r of api.requests) {
    if (r.method !== 'PATCH' || !r.path.includes('/httproutes/')) continue;
    const name = r.path.split('/').at(-2)!;
    writers.set(name, (writers.get(name) ?? new Set()).add(r.user));
  }
  for (const name of ROUTES) assert.equal(writers.get(name)?.size, 1, `${name} written by ${[...(writers.get(name) ?? [])].join(', ')}`);
  assert.deepEqual(new Set([...writers.values()].flatMap((s) => [...s])), new Set(['wharf-a', 'wharf-b']), 'both replicas write a share');
  assert.equal(api.statusWrites.filter((w) => w.kind === 'HTTPRoute').length, ROUTES.length, 'one write per route');
});
