// The Gateway API translation at the model level: statuses (conditions and reasons), what an
// update says it affects, and values refused before they could reach NGINX.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { conformanceModel, gatewayClass, INFRA, manifests } from '../gateway/conformance.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { defaultControllerSettings, parseObject, stateFromObjects } from '../../src/model/index.ts';
import type { GatewayStatus, RouteStatus } from '../../src/model/gateway-status.ts';
import { CERT, KEY, OTHER_KEY } from './tls-fixture.ts';

const route = (name: string, namespace: string, spec: object) => ({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'HTTPRoute', metadata: { name, namespace, generation: 3, creationTimestamp: '2025-01-01T00:00:00Z' }, spec });
const reasons = (s: RouteStatus | null) => s?.parents.map((p) => p.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`).join(' '));

test('a Gateway of wharf\'s class is Accepted and Programmed, and counts the routes attached to each listener', () => {
  const { index } = conformanceModel('httproute-simple-same-namespace');
  const gw = index.gatewayStatus('Gateway', INFRA, 'same-namespace') as GatewayStatus;
  assert.deepEqual(gw.conditions.map((c) => [c.type, c.status]), [['Accepted', 'True'], ['Programmed', 'True']]);
  assert.deepEqual(gw.listeners.map((l) => [l.name, l.attachedRoutes, l.conditions.map((c) => `${c.type}=${c.status}`).join(' ')]), [
    ['http', 1, 'Accepted=True ResolvedRefs=True Conflicted=False Programmed=True'],
  ]);
  assert.deepEqual((index.gatewayStatus('GatewayClass', '', 'wharf') as GatewayStatus).conditions.map((c) => c.reason), ['Accepted']);
});

test('route parents: NotAllowedByListeners, NoMatchingParent and NoMatchingListenerHostname, with the generation', () => {
  const { index } = conformanceModel('httproute-simple-same-namespace', [
    route('other-ns', 'gateway-conformance-web-backend', { parentRefs: [{ name: 'same-namespace', namespace: INFRA }], rules: [{ backendRefs: [{ name: 'web-backend', port: 8080 }] }] }),
    route('no-section', INFRA, { parentRefs: [{ name: 'same-namespace', sectionName: 'nope' }], rules: [{}] }),
    route('no-host', INFRA, { parentRefs: [{ name: 'same-namespace-with-https-listener', sectionName: 'https-with-hostname' }], hostnames: ['other.example.org'], rules: [{}] }),
  ]);
  assert.deepEqual(reasons(index.gatewayStatus('HTTPRoute', 'gateway-conformance-web-backend', 'other-ns') as RouteStatus), ['Accepted=False:NotAllowedByListeners ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual(reasons(index.gatewayStatus('HTTPRoute', INFRA, 'no-section') as RouteStatus), ['Accepted=False:NoMatchingParent ResolvedRefs=True:ResolvedRefs']);
  assert.match(reasons(index.gatewayStatus('HTTPRoute', INFRA, 'no-host') as RouteStatus)![0]!, /^Accepted=False:(NoMatchingListenerHostname|NotAllowedByListeners)/);
  assert.equal(index.gatewayStatus('HTTPRoute', INFRA, 'no-section')!.ref.generation, 3);
});

test('an update says which Gateway API objects\' status changed, and which hosts to render again', () => {
  const index = new RoutingIndex(defaultControllerSettings);
  const up = (o: object) => {
    const p = parseObject(o);
    assert.ok(p.ok, JSON.stringify(!p.ok && p.problems));
    return index.upsert(p.value);
  };
  up(gatewayClass);
  up({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } });
  up({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
  const a = up(route('r', 'default', { parentRefs: [{ name: 'gw' }], hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] }));
  assert.deepEqual(a.hosts, ['a.example.com']);
  assert.deepEqual(a.gatewayObjects, ['Gateway default/gw', 'HTTPRoute default/r']);
  assert.deepEqual(a.ingresses, []);
  assert.equal(index.server('a.example.com')?.locations[0]?.backends?.[0]?.backend?.upstream, 'default-svc-80');
  const b = index.remove('HTTPRoute', 'default', 'r');
  assert.deepEqual(b.hosts, ['a.example.com']);
  assert.equal(index.server('a.example.com'), null);
});

test('values NGINX would read as syntax are refused with the field and the reason, and nothing of the route is served', () => {
  const { index } = conformanceModel('httproute-simple-same-namespace', [
    route('inject', INFRA, {
      parentRefs: [{ name: 'same-namespace' }],
      hostnames: ['inject.example.com'],
      rules: [{ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-A', value: 'v"; return 200 "pwned' }] } }], backendRefs: [{ name: 'infra-backend-v1', port: 8080 }] }],
    }),
  ]);
  assert.equal(index.server('inject.example.com'), null);
  const p = index.problemsOf('HTTPRoute gateway-conformance-infra/inject');
  assert.match(p[0]!.message, /^spec\.rules\[0\]\.filters\[0\]\.requestHeaderModifier\.set\[0\]\.value: Invalid value: .*character """ is not allowed/);
  assert.deepEqual(reasons(index.gatewayStatus('HTTPRoute', INFRA, 'inject') as RouteStatus), ['Accepted=False:UnsupportedValue ResolvedRefs=True:ResolvedRefs']);
});

test('HTTPRouteHostnameIntersection\'s statuses: a route with no common hostname is NoMatchingListenerHostname and attaches nowhere', () => {
  const { index } = conformanceModel('httproute-hostname-intersection');
  assert.deepEqual(reasons(index.gatewayStatus('HTTPRoute', INFRA, 'no-intersecting-hosts') as RouteStatus), ['Accepted=False:NoMatchingListenerHostname ResolvedRefs=True:ResolvedRefs']);
  const gw = index.gatewayStatus('Gateway', INFRA, 'httproute-hostname-intersection') as GatewayStatus;
  assert.deepEqual(gw.listeners.map((l) => [l.name, l.attachedRoutes, l.supportedKinds]), [
    ['listener-1', 2, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]],
    ['listener-2', 1, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]],
    ['listener-3', 1, [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute' }]],
  ]);
});

test('a batch (a relist) translates the Gateway API objects once, at its end, and says what they all affected', () => {
  const index = new RoutingIndex(defaultControllerSettings);
  const objects = [
    gatewayClass,
    { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] } },
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'default' }, spec: { ports: [{ port: 80 }] } },
    route('r1', 'default', { parentRefs: [{ name: 'gw' }], hostnames: ['a.example.com'], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] }),
    route('r2', 'default', { parentRefs: [{ name: 'gw' }], hostnames: ['b.example.com'], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] }),
  ].map((o) => {
    const p = parseObject(o);
    assert.ok(p.ok);
    return p.value;
  });
  let inside: string[] = [];
  const all = index.batch((i) => {
    const each = objects.map((o) => i.upsert(o));
    // Inside the batch nothing of the routes is translated yet.
    inside = each.flatMap((a) => a.hosts);
    return each;
  });
  assert.deepEqual(inside, []);
  assert.deepEqual(all.hosts, ['a.example.com', 'b.example.com']);
  assert.deepEqual(all.gatewayObjects, ['Gateway default/gw', 'GatewayClass /wharf', 'HTTPRoute default/r1', 'HTTPRoute default/r2']);
  assert.deepEqual(all.upstreams, ['default-svc-80']);
  assert.ok(index.server('b.example.com'));
});

test('routes changed one at a time (translated alone) give the same model and statuses as all translated at once', () => {
  const objects = [gatewayClass, ...manifests('base/manifests.yaml'), ...manifests('tests/httproute-hostname-intersection.yaml'), ...manifests('tests/httproute-matching-across-routes.yaml'), ...manifests('tests/httproute-reference-grant.yaml')];
  const parsed = objects.map((o) => {
    const p = parseObject(o);
    assert.ok(p.ok);
    return p.value;
  });
  const { state } = stateFromObjects(objects);
  const whole = new RoutingIndex(defaultControllerSettings, state);
  const stepwise = new RoutingIndex(defaultControllerSettings);
  const isRoute = (o: { kind: string }) => o.kind === 'HTTPRoute';
  for (const o of parsed.filter((o) => !isRoute(o))) stepwise.upsert(o);
  for (const o of parsed.filter(isRoute)) stepwise.upsert(o);
  // One removed and put back, one Service removed and put back: each of these translates only the routes concerned.
  const r = parsed.find((o) => isRoute(o) && o.metadata.name === 'matching-part1')!;
  stepwise.remove('HTTPRoute', r.metadata.namespace, r.metadata.name);
  stepwise.upsert(r);
  const svc = parsed.find((o) => o.kind === 'Service' && o.metadata.name === 'web-backend')!;
  const gone = stepwise.remove('Service', svc.metadata.namespace, svc.metadata.name);
  assert.deepEqual(gone.gatewayObjects, ['HTTPRoute gateway-conformance-infra/reference-grant']);
  stepwise.upsert(svc);
  assert.deepEqual(JSON.stringify(stepwise.model()), JSON.stringify(whole.model()));
  assert.deepEqual(JSON.stringify(stepwise.gatewayStatusList()), JSON.stringify(whole.gatewayStatusList()));
});

test('an HTTPS listener whose Secret is changed into one that is refused keeps its previous certificate, and its status says why', () => {
  const index = new RoutingIndex(defaultControllerSettings);
  const up = (o: object) => {
    const p = parseObject(o);
    assert.ok(p.ok, JSON.stringify(!p.ok && p.problems));
    return index.upsert(p.value);
  };
  const secret = (key: string) => ({ apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls', metadata: { name: 'gw-tls', namespace: 'default' }, data: { 'tls.crt': Buffer.from(CERT).toString('base64'), 'tls.key': Buffer.from(key).toString('base64') } });
  up(gatewayClass);
  up(secret(KEY));
  up({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'Gateway', metadata: { name: 'gw', namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners: [{ name: 'https', port: 443, protocol: 'HTTPS', hostname: 'example.com', tls: { mode: 'Terminate', certificateRefs: [{ name: 'gw-tls' }] } }] } });
  up({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'svc', namespace: 'default' }, spec: { ports: [{ port: 80 }] } });
  up(route('r', 'default', { parentRefs: [{ name: 'gw' }], hostnames: ['example.com'], rules: [{ backendRefs: [{ name: 'svc', port: 80 }] }] }));
  assert.equal(index.server('example.com')?.tls?.key, KEY.trim() + '\n');
  up(secret(OTHER_KEY));
  assert.equal(index.server('example.com')?.tls?.key, KEY.trim() + '\n', 'the previous key, which matches');
  const listener = (index.gatewayStatus('Gateway', 'default', 'gw') as GatewayStatus).listeners[0]!;
  const resolved = listener.conditions.find((c) => c.type === 'ResolvedRefs')!;
  assert.equal(resolved.status, 'True');
  assert.equal(resolved.message, 'Secret default/gw-tls: tls.key does not match the certificate in tls.crt; its previous certificate keeps serving');
});
