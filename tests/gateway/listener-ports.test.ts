// A Gateway listener on a port wharf does not serve (HTTP listeners are served on 80, HTTPS ones on
// 443: the agent's ports behind the NGINX Service) is not served at all, rather than silently on
// 80 or 443: its status says so (Accepted and Programmed False, PortUnavailable), a route attached
// to it only is not accepted, and a real NGINX does not answer for it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request } from '../support/http.ts';
import { loadFragments } from '../render/helpers.ts';
import { buildModel, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { renderModel } from '../../src/render/index.ts';
import type { GatewayStatus, RouteStatus } from '../../src/model/gateway-status.ts';

const GW = 'gateway.networking.k8s.io/v1';
const route = (name: string, sectionName: string, host: string) => ({
  apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: 'default', creationTimestamp: '2025-01-01T00:00:00Z' },
  spec: { parentRefs: [{ name: 'gw', sectionName }], hostnames: [host], rules: [{ backendRefs: [{ name: 'web', port: 8080 }] }] },
});
const objects = [
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  {
    apiVersion: GW, kind: 'Gateway', metadata: { name: 'gw', namespace: 'default', generation: 1 },
    spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }, { name: 'alt', port: 8000, protocol: 'HTTP' }] },
  },
  { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { ports: [{ port: 8080 }] } },
  route('main', 'http', 'main.example.com'),
  route('alt', 'alt', 'alt.example.com'),
];

let nginx: TestNginx;
let web: Backend;
let index: RoutingIndex;
before(async () => {
  web = await startBackend('web');
  nginx = await startNginx();
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  index = new RoutingIndex(defaultControllerSettings, state);
  const model = buildModel(index, defaultControllerSettings);
  const { fragments, failures, certificates } = renderModel(model);
  assert.deepEqual(failures, []);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) await nginx.setEndpoints(u.upstream, [web.address]);
});
after(async () => {
  await nginx?.stop();
  await web?.close();
});

test('a listener on port 8000 is not programmed, and says why', () => {
  const gw = index.gatewayStatus('Gateway', 'default', 'gw') as GatewayStatus;
  const alt = gw.listeners.find((l) => l.name === 'alt')!;
  const byType = Object.fromEntries(alt.conditions.map((c) => [c.type, c]));
  assert.equal(byType.Accepted!.status, 'False');
  assert.equal(byType.Accepted!.reason, 'PortUnavailable');
  assert.equal(byType.Programmed!.status, 'False');
  assert.equal(byType.Programmed!.reason, 'PortUnavailable');
  assert.equal(byType.Programmed!.message, 'not served: port 8000: wharf serves HTTP on 80, HTTPS on 443 only');
  assert.equal(alt.attachedRoutes, 0);
  const http = gw.listeners.find((l) => l.name === 'http')!;
  assert.equal(http.conditions.find((c) => c.type === 'Programmed')!.status, 'True');
  // The Gateway is served (its other listener is), but not every listener is valid.
  assert.deepEqual(gw.conditions.map((c) => [c.type, c.status, c.reason]), [['Accepted', 'True', 'ListenersNotValid'], ['Programmed', 'True', 'Programmed']]);
  const r = index.gatewayStatus('HTTPRoute', 'default', 'alt') as RouteStatus;
  assert.deepEqual(r.parents[0]!.conditions[0], { type: 'Accepted', status: 'False', reason: 'NotAllowedByListeners', message: 'no listener it names is served (the Gateway\'s listener status says why)' });
});

test('a route of the listener on port 8000 is not served on port 80; one of the listener on 80 is', async () => {
  const main = await request({ port: nginx.httpPort, host: 'main.example.com', path: '/' });
  assert.equal(main.status, 200);
  assert.equal((await request({ port: nginx.httpPort, host: 'alt.example.com', path: '/' })).status, 404);
});
