// The admission review of the Gateway API kinds: what `kubectl apply` shows a user for a
// GatewayClass, Gateway, HTTPRoute, GRPCRoute or ReferenceGrant, through the webhook's review() and
// the validator POST /admission gives it (app.ts), against a RoutingIndex holding the cluster. (The
// handler's view takes these kinds once the cluster adapters list and watch them; until then this
// is one step below HTTP.) Denied: what NGINX cannot be given safely, with the field and the reason
// in one line. Allowed with a warning: a parent that does not accept the route, a backend that does
// not resolve, a path an older route holds, a listener wharf cannot serve. Others' objects pass.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KubeObject } from '../../src/cluster/view.ts';
import { RoutingIndex, defaultControllerSettings, stateFromObjects, validateGatewayObject, validateIngress } from '../../src/model/index.ts';
import { review } from '../../src/handlers/admission.ts';
import { admissionReview, service } from './fixtures.ts';

const GW = 'gateway.networking.k8s.io/v1';
const kindOf = (kind: string) => ({ group: 'gateway.networking.k8s.io', version: 'v1', kind });
const gateway = (name: string, className: string, listeners: object[] = [{ name: 'http', port: 80, protocol: 'HTTP' }]): KubeObject => ({
  apiVersion: GW, kind: 'Gateway', metadata: { name, namespace: 'default' }, spec: { gatewayClassName: className, listeners },
});
const route = (name: string, spec: Record<string, unknown>, created = '2025-06-01T00:00:00Z'): KubeObject => ({
  apiVersion: GW, kind: 'HTTPRoute', metadata: { name, namespace: 'default', creationTimestamp: created }, spec: { parentRefs: [{ name: 'gw' }], hostnames: ['app.example.com'], ...spec },
});
const rule = (extra: Record<string, unknown> = {}) => ({ backendRefs: [{ name: 'web', port: 80 }], ...extra });

const { state, problems } = stateFromObjects([
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } },
  { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'other' }, spec: { controllerName: 'example.com/other' } },
  gateway('gw', 'wharf'),
  gateway('theirs', 'other'),
  service('web'),
  route('old', { rules: [rule({ matches: [{ path: { type: 'PathPrefix', value: '/taken' } }] })] }, '2020-01-01T00:00:00Z'),
]);
assert.deepEqual(problems, []);
const index = new RoutingIndex(defaultControllerSettings, state);

const send = async (object: KubeObject, kind = object.kind) => {
  // What POST /admission hands review() (src/handlers/app.ts).
  const { body } = review(admissionReview(object, { kind: kindOf(kind) }), (o, k) =>
    k === 'Ingress' ? validateIngress(o, index, defaultControllerSettings) : validateGatewayObject(o, index, defaultControllerSettings),
  );
  return body.response;
};

test('a valid HTTPRoute is allowed without warnings', async () => {
  const r = await send(route('ok', { rules: [rule({ matches: [{ path: { type: 'PathPrefix', value: '/ok' }, headers: [{ name: 'version', value: 'two' }] }] })] }));
  assert.equal(r.allowed, true);
  assert.equal(r.warnings, undefined);
});

const denied: [string, Record<string, unknown>, RegExp][] = [
  [
    'a request header value that would end an NGINX string',
    { rules: [rule({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X-A', value: 'v"; return 200 "x' }] } }] })] },
    /^spec\.rules\[0\]\.filters\[0\]\.requestHeaderModifier\.set\[0\]\.value: Invalid value: "v\\"; return 200 \\"x": character """ is not allowed/,
  ],
  [
    'a response header value with a variable',
    { rules: [rule({ filters: [{ type: 'ResponseHeaderModifier', responseHeaderModifier: { add: [{ name: 'X-B', value: '$document_root' }] } }] })] },
    /^spec\.rules\[0\]\.filters\[0\]\.responseHeaderModifier\.add\[0\]\.value: Invalid value: "\$document_root": character "\$" is not allowed/,
  ],
  [
    'a header regex with a named group (it would set an NGINX variable)',
    { rules: [rule({ matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: '(?<host>.*)' }] }] })] },
    /^spec\.rules\[0\]\.matches\[0\]\.headers\[0\]\.value: Invalid value: "\(\?<host>\.\*\)": named groups are not allowed/,
  ],
  [
    'a regex that does not compile',
    { rules: [rule({ matches: [{ queryParams: [{ type: 'RegularExpression', name: 'q', value: 'a(b' }] }] })] },
    /^spec\.rules\[0\]\.matches\[0\]\.queryParams\[0\]\.value: Invalid value: "a\(b": is not a valid regular expression/,
  ],
  [
    'a header name NGINX cannot name',
    { rules: [rule({ matches: [{ headers: [{ name: 'x;y', value: 'v' }] }] })] },
    /^spec\.rules\[0\]\.matches\[0\]\.headers\[0\]\.name: Invalid value: "x;y": must be a header name/,
  ],
  [
    'a header wharf sets itself',
    { rules: [rule({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { remove: ['X-Forwarded-For'] } }] })] },
    /^spec\.rules\[0\]\.filters\[0\]\.requestHeaderModifier\.remove\[0\]: Invalid value: "X-Forwarded-For": is set by wharf/,
  ],
  [
    'a path with a space',
    { rules: [rule({ matches: [{ path: { type: 'PathPrefix', value: '/a b' } }] })] },
    /^spec\.rules\[0\]\.matches\[0\]\.path\.value: Invalid value: "\/a b": must contain only/,
  ],
  [
    'a weight out of range (what the schema says)',
    { rules: [{ backendRefs: [{ name: 'web', port: 80, weight: -1 }] }] },
    /^spec\.rules\[0\]\.backendRefs\[0\]\.weight: Invalid value: -1: must be between 0 and 1000000/,
  ],
];

for (const [name, spec, message] of denied) {
  test(`denied with a precise message: ${name}`, async () => {
    const r = await send(route('bad', spec));
    assert.equal(r.allowed, false);
    assert.equal(r.status?.code, 403);
    assert.match(r.status!.message, message);
    assert.doesNotMatch(r.status!.message, /\n/);
  });
}

test('allowed with a warning: a path an older route holds, naming it', async () => {
  const r = await send(route('new', { rules: [rule({ matches: [{ path: { type: 'PathPrefix', value: '/taken' } }] })] }));
  assert.equal(r.allowed, true);
  // Longer than Kubernetes' 120 characters with the value, so the value is left out (shortWarning).
  assert.deepEqual(r.warnings, ['spec.rules[0].matches[0]: Invalid value: host app.example.com path is already served by older HTTPRoute default/old']);
});

test('allowed with a warning: a backend Service that does not exist', async () => {
  const r = await send(route('missing', { rules: [{ backendRefs: [{ name: 'nope', port: 80 }] }] }));
  assert.equal(r.allowed, true);
  assert.deepEqual(r.warnings, ['spec.parentRefs[0]: BackendNotFound: spec.rules[0].backendRefs[0]: Service default/nope not found']);
});

test('allowed with a warning: a parent listener that does not take the route', async () => {
  const r = await send(route('nosection', { parentRefs: [{ name: 'gw', sectionName: 'nope' }], rules: [rule()] }));
  assert.equal(r.allowed, true);
  assert.match(r.warnings?.[0] ?? '', /^spec\.parentRefs\[0\]: not accepted by Gateway default\/gw \(nope\): NoMatchingParent/);
});

test('allowed with a warning: a Gateway listener wharf cannot serve', async () => {
  const r = await send(gateway('sctp', 'wharf', [{ name: 'sctp', port: 5432, protocol: 'example.com/sctp' }]));
  assert.equal(r.allowed, true);
  assert.equal(r.warnings?.length, 1);
  assert.match(r.warnings[0]!, /^spec\.listeners\[0\]: listener sctp is not served: UnsupportedProtocol: protocol example\.com\/sctp is not supported/);
});

test('allowed with a warning: HTTP on 443; listeners on other ports (8000, 65535) are served', async () => {
  const r = await send(gateway('ports', 'wharf', [
    { name: 'http', port: 80, protocol: 'HTTP' },
    { name: 'alt', port: 8000, protocol: 'HTTP' },
    { name: 'far', port: 65535, protocol: 'HTTP' },
    { name: 'plain443', port: 443, protocol: 'HTTP' },
  ]));
  assert.equal(r.allowed, true);
  // The handler here runs with NGINX on 80 and 443 (--nginx-ports): 65535 stays itself.
  assert.deepEqual(r.warnings, ['spec.listeners[3]: listener plain443 is not served: PortUnavailable: port 443 is wharf\'s HTTPS port']);
});

test('another controller\'s objects are allowed untouched, even malformed', async () => {
  const theirs = { ...route('theirs', { parentRefs: [{ name: 'theirs' }], rules: [rule({ filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'X', value: '$x' }] } }] })] }) };
  assert.deepEqual((await send(theirs)).allowed, true);
  assert.equal((await send(route('theirs', { parentRefs: [{ name: 'theirs' }], rules: [{ backendRefs: [{ name: 'web', weight: -1 }] }] }))).allowed, true);
  assert.equal((await send(gateway('x', 'other', [{ name: 'tcp', port: 1, protocol: 'TCP' }]))).warnings, undefined);
});

test('a GatewayClass and a ReferenceGrant are checked against their schemas; a GRPCRoute like an HTTPRoute', async () => {
  const grant = { apiVersion: 'gateway.networking.k8s.io/v1beta1', kind: 'ReferenceGrant', metadata: { name: 'g', namespace: 'default' }, spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'other' }], to: [{ group: '', kind: 'Service' }] } };
  assert.equal((await send(grant as KubeObject)).allowed, true);
  const ours = await send({ apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'mine' }, spec: { controllerName: 'wharf.io/gateway-controller' } });
  assert.equal(ours.allowed, true);
  const grpc = (rules: object[]): KubeObject => ({ apiVersion: GW, kind: 'GRPCRoute', metadata: { name: 'g', namespace: 'default' }, spec: { parentRefs: [{ name: 'gw' }], hostnames: ['grpc.example.com'], rules } });
  // Gateway gw has an HTTP listener only, which does not take GRPCRoutes (no h2c): allowed, with the reason.
  const ok = await send(grpc([{ matches: [{ method: { service: 'helloworld.Greeter', method: 'SayHello' } }], backendRefs: [{ name: 'web', port: 80 }] }]));
  assert.equal(ok.allowed, true);
  assert.deepEqual(ok.warnings, ['spec.parentRefs[0]: not accepted by Gateway default/gw: NotAllowedByListeners: no listener allows routes from this na...']);
  const bad = await send(grpc([{ matches: [{ method: { type: 'RegularExpression', service: 'a"; include x; #' } }], backendRefs: [{ name: 'web', port: 80 }] }]));
  assert.equal(bad.allowed, false);
  assert.match(bad.status!.message, /^spec\.rules\[0\]\.matches\[0\]\.method\.service: Invalid value: /);
  const missing = await send(grpc([{ backendRefs: [{ name: 'nope', port: 80 }] }]));
  assert.ok(missing.warnings?.includes('spec.parentRefs[0]: BackendNotFound: spec.rules[0].backendRefs[0]: Service default/nope not found'), JSON.stringify(missing.warnings));
});

test('TCPRoutes and UDPRoutes are reviewed: a schema error denies with the field, a listener that does not take the route warns', async () => {
  const l4 = (kind: string, rules: object[]): KubeObject => ({ apiVersion: GW, kind, metadata: { name: 'db', namespace: 'default' }, spec: { parentRefs: [{ name: 'gw' }], rules } });
  const bad = await send(l4('TCPRoute', [{ backendRefs: [{ name: 'web', port: 0 }] }]));
  assert.equal(bad.allowed, false);
  assert.equal(bad.status?.code, 403);
  assert.match(bad.status?.message ?? '', /^spec\.rules\[0\]\.backendRefs\[0\]\.port: Invalid value: 0: must be between 1 and 65535/);
  const r = await send(l4('UDPRoute', [{ backendRefs: [{ name: 'web', port: 80 }] }]));
  assert.equal(r.allowed, true);
  assert.match(r.warnings?.[0] ?? '', /^spec\.parentRefs\[0\]: not accepted by Gateway default\/gw: NotAllowedByListeners/);
});
