// The Gateway API from the API server to the objects' status, as `wharf handler` runs it: the
// handler lists and watches the Gateway API kinds, the model concludes about each object, and the
// status writer publishes those conclusions where kubectl shows them (GatewayClass and Gateway
// conditions, the route's parent entry with wharf's controllerName, TCPRoutes' and UDPRoutes' too), and
// follows a change.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeApiServer } from '../support/kube-apiserver.ts';
import { startHandlerAgainst } from '../support/handler-against-api.ts';
import { service } from '../support/kube-apiserver-fixtures.ts';
import { gateway, gatewayClass, httpRoute } from '../support/gateway-fixtures.ts';
import { eventually } from '../support/http.ts';
import { GATEWAY_CONTROLLER_NAME } from '../../src/model/gateway-status.ts';

type Cond = { type: string; status: string; reason: string; observedGeneration?: number };
const condition = (conds: Cond[] | undefined, type: string) => conds?.find((c) => c.type === type);

test('the handler publishes what the model concludes about GatewayClass, Gateway and HTTPRoutes, and follows a change', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put({ ...service('wharf-nginx', 'wharf', { type: 'LoadBalancer' }), status: { loadBalancer: { ingress: [{ ip: '192.0.2.7' }] } } });
  api.put(gatewayClass('wharf'));
  api.put(gateway('gw', 'shop'));
  api.put(service('cafe', 'shop'));
  api.put(httpRoute('cafe', 'shop'));
  api.put(httpRoute('nowhere', 'shop', [{ name: 'gw' }], ['nowhere.example.com']));
  const running = await startHandlerAgainst(api, { identity: 'wharf-0' });
  t.after(() => running.close());

  const parentOf = (name: string) => (api.get('HTTPRoute', 'shop', name)?.status?.parents as { controllerName: string; conditions: Cond[] }[] | undefined)?.[0];
  const published = () =>
    condition(api.get('GatewayClass', '', 'wharf')?.status?.conditions, 'Accepted')?.status === 'True' &&
    condition(api.get('Gateway', 'shop', 'gw')?.status?.conditions, 'Programmed') !== undefined &&
    parentOf('cafe') !== undefined &&
    parentOf('nowhere') !== undefined;
  assert.ok(await eventually(published, 15_000), 'GatewayClass, Gateway and both routes got a status');

  const gw = api.get('Gateway', 'shop', 'gw')!.status;
  assert.equal(condition(gw.conditions, 'Accepted')?.status, 'True');
  assert.deepEqual(gw.addresses, [{ type: 'IPAddress', value: '192.0.2.7' }], 'the Gateway carries the published address');
  assert.equal(gw.listeners?.[0]?.attachedRoutes, 2, 'both routes attach to the HTTP listener');

  const cafe = parentOf('cafe')!;
  assert.equal(cafe.controllerName, GATEWAY_CONTROLLER_NAME);
  assert.equal(condition(cafe.conditions, 'Accepted')?.status, 'True');
  assert.equal(condition(cafe.conditions, 'ResolvedRefs')?.status, 'True');
  assert.equal(condition(cafe.conditions, 'Accepted')?.observedGeneration, api.get('HTTPRoute', 'shop', 'cafe')!.metadata.generation);
  // A backend Service that does not exist: accepted, but its references do not resolve.
  const nowhere = parentOf('nowhere')!;
  assert.equal(condition(nowhere.conditions, 'ResolvedRefs')?.status, 'False');
  assert.equal(condition(nowhere.conditions, 'ResolvedRefs')?.reason, 'BackendNotFound');

  // The Service goes away: the watch tells the model, and the route's status follows.
  api.remove('Service', 'shop', 'cafe');
  assert.ok(
    await eventually(() => condition(parentOf('cafe')?.conditions, 'ResolvedRefs')?.reason === 'BackendNotFound', 10_000),
    `cafe's ResolvedRefs after its Service was deleted: ${JSON.stringify(condition(parentOf('cafe')?.conditions, 'ResolvedRefs'))}`,
  );
});

test('TCPRoutes and UDPRoutes from the API server: their parent entries, the listeners\' supportedKinds and attachedRoutes, and a Service that goes', async (t) => {
  const api = await FakeApiServer.start();
  t.after(() => api.close());
  api.put(gatewayClass('wharf'));
  api.put(gateway('l4', 'shop', [{ name: 'db', port: 5432, protocol: 'TCP' }, { name: 'dns', port: 5353, protocol: 'UDP' }]));
  api.put({ ...service('db', 'shop'), spec: { ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] } });
  const l4 = (kind: string, sectionName: string, port: number) => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind, metadata: { name: 'db', namespace: 'shop' }, spec: { parentRefs: [{ name: 'l4', sectionName }], rules: [{ backendRefs: [{ name: 'db', port }] }] } });
  api.put(l4('TCPRoute', 'db', 5432));
  api.put(l4('UDPRoute', 'dns', 53));
  const running = await startHandlerAgainst(api, { identity: 'wharf-0' });
  t.after(() => running.close());

  const parentOf = (kind: string) => (api.get(kind, 'shop', 'db')?.status?.parents as { controllerName: string; conditions: Cond[] }[] | undefined)?.[0];
  const listeners = () => api.get('Gateway', 'shop', 'l4')?.status?.listeners as { name: string; attachedRoutes: number; supportedKinds: { kind: string }[] }[] | undefined;
  assert.ok(await eventually(() => parentOf('TCPRoute') !== undefined && parentOf('UDPRoute') !== undefined && listeners()?.every((l) => l.attachedRoutes === 1), 15_000), 'both routes and the Gateway got their status');
  for (const kind of ['TCPRoute', 'UDPRoute']) {
    const p = parentOf(kind)!;
    assert.equal(p.controllerName, GATEWAY_CONTROLLER_NAME);
    assert.deepEqual(p.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`), ['Accepted=True:Accepted', 'ResolvedRefs=True:ResolvedRefs'], kind);
  }
  assert.deepEqual(listeners()!.map((l) => `${l.name} ${l.supportedKinds.map((k) => k.kind).join(',')} ${l.attachedRoutes}`), ['db TCPRoute 1', 'dns UDPRoute 1']);

  api.remove('Service', 'shop', 'db');
  assert.ok(await eventually(() => condition(parentOf('TCPRoute')?.conditions, 'ResolvedRefs')?.reason === 'BackendNotFound' && condition(parentOf('UDPRoute')?.conditions, 'ResolvedRefs')?.reason === 'BackendNotFound', 10_000), 'the routes\' ResolvedRefs follow the Service');
});
