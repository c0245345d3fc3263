// TCPRoute and UDPRoute in the model: a route on a TCP or UDP listener becomes the listener port's
// stream route (the same model and fragment as a tcp-services entry), with the statuses of the
// Gateway API (Accepted: NotAllowedByListeners, NoMatchingParent; ResolvedRefs: BackendNotFound,
// RefNotPermitted, InvalidKind), the listener's supportedKinds and attachedRoutes, one route per
// listener (the oldest; both Accepted and counted, as the conformance test TCPRouteMultipleRoutes-
// Attachment asks), weights, the ports a tcp-services entry and a listener both want, and the
// admission webhook's answers naming the field and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { defaultControllerSettings, parseObject, stateFromObjects, validateGatewayObject, type ControllerSettings } from '../../src/model/index.ts';
import type { GatewayStatus, RouteStatus } from '../../src/model/gateway-status.ts';
import { renderStreams } from '../../src/render/stream.ts';

const GW = 'gateway.networking.k8s.io/v1';
const gatewayClass = { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'wharf' }, spec: { controllerName: 'wharf.io/gateway-controller' } };
const gateway = (listeners: object[], name = 'gw') => ({ apiVersion: GW, kind: 'Gateway', metadata: { name, namespace: 'default' }, spec: { gatewayClassName: 'wharf', listeners } });
const tcp = { name: 'tcp', port: 9000, protocol: 'TCP' };
const udp = { name: 'dns', port: 5353, protocol: 'UDP' };
const svc = (name: string, namespace = 'default') => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { ports: [{ port: 9000 }, { port: 53, protocol: 'UDP' }] } });
const l4Route = (kind: 'TCPRoute' | 'UDPRoute', name: string, o: { parentRefs?: object[]; backendRefs?: object[]; created?: string; namespace?: string } = {}) => ({
  apiVersion: GW, kind, metadata: { name, namespace: o.namespace ?? 'default', generation: 3, creationTimestamp: o.created ?? '2025-01-01T00:00:00Z' },
  spec: { parentRefs: o.parentRefs ?? [{ name: 'gw', namespace: 'default' }], rules: [{ backendRefs: o.backendRefs ?? [{ name: 'echo', port: kind === 'TCPRoute' ? 9000 : 53 }] }] },
});
const conditions = (s: unknown) => (s as RouteStatus).parents.map((p) => p.conditions.map((c) => `${c.type}=${c.status}:${c.reason}`).join(' '));
const listenersOf = (index: RoutingIndex, name = 'gw') =>
  (index.gatewayStatus('Gateway', 'default', name) as GatewayStatus).listeners.map((l) => ({ name: l.name, kinds: l.supportedKinds.map((k) => k.kind), attached: l.attachedRoutes, conditions: l.conditions.filter((c) => c.status !== (c.type === 'Conflicted' ? 'False' : 'True')).map((c) => `${c.type}=${c.status}:${c.reason}`) }));
const streamsOf = (index: RoutingIndex) => index.streams().map((s) => `${s.protocol} ${s.port} → ${s.upstream} (${s.source.kind} ${s.source.name})`);

function indexOf(objects: object[], settings: ControllerSettings = defaultControllerSettings): RoutingIndex {
  const { state, problems } = stateFromObjects(objects);
  assert.deepEqual(problems, []);
  return new RoutingIndex(settings, state);
}

test('a TCPRoute and a UDPRoute become the stream ports of their listeners, rendered as a tcp-services entry is', () => {
  const index = indexOf([gatewayClass, gateway([tcp, udp, { name: 'web', port: 80, protocol: 'HTTP' }]), svc('echo'), l4Route('TCPRoute', 'echo'), l4Route('UDPRoute', 'dns')]);
  assert.deepEqual(streamsOf(index), ['TCP 9000 → default-echo-9000 (TCPRoute echo)', 'UDP 5353 → default-echo-53 (UDPRoute dns)']);
  assert.deepEqual(conditions(index.gatewayStatus('TCPRoute', 'default', 'echo')), ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual(conditions(index.gatewayStatus('UDPRoute', 'default', 'dns')), ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual((index.gatewayStatus('TCPRoute', 'default', 'echo') as RouteStatus).ref.generation, 3);
  assert.deepEqual(listenersOf(index), [
    { name: 'tcp', kinds: ['TCPRoute'], attached: 1, conditions: [] },
    { name: 'dns', kinds: ['UDPRoute'], attached: 1, conditions: [] },
    { name: 'web', kinds: ['HTTPRoute'], attached: 0, conditions: [] },
  ]);
  // The endpoints reach the upstream as a tcp-services entry's do.
  assert.deepEqual(index.upstreams().map((u) => u.upstream), ['default-echo-53', 'default-echo-9000']);
  const [tcpFragment, udpFragment] = renderStreams(index.streams());
  assert.equal(tcpFragment!.name, '_stream-tcp-9000');
  assert.match(tcpFragment!.config, /include listen-tcp-9000\.conf;\n {4}set \$wharf_stream_upstream "default-echo-9000";/);
  assert.doesNotMatch(tcpFragment!.config, /proxy_responses/);
  assert.equal(udpFragment!.name, '_stream-udp-5353');
  // UDP as udp-services entries: one datagram and its answer per session.
  assert.match(udpFragment!.config, /include listen-udp-5353\.conf;[\s\S]*proxy_requests 1;\n {4}proxy_responses 1;/);
});

test('route statuses: the listener kinds and namespaces, sectionName and port, and the backend references', () => {
  const index = indexOf([
    gatewayClass,
    gateway([tcp, { name: 'web', port: 8080, protocol: 'HTTP' }, { ...tcp, name: 'tcp-all', port: 9001, allowedRoutes: { namespaces: { from: 'All' } } }]),
    svc('echo'), svc('echo', 'other'),
    l4Route('TCPRoute', 'http-listener', { parentRefs: [{ name: 'gw', sectionName: 'web' }] }),
    l4Route('TCPRoute', 'no-section', { parentRefs: [{ name: 'gw', sectionName: 'nope' }] }),
    l4Route('TCPRoute', 'no-port', { parentRefs: [{ name: 'gw', port: 7000 }] }),
    l4Route('TCPRoute', 'by-port', { parentRefs: [{ name: 'gw', port: 9000 }] }),
    l4Route('TCPRoute', 'elsewhere', { namespace: 'other', parentRefs: [{ name: 'gw', namespace: 'default', sectionName: 'tcp' }] }),
    l4Route('TCPRoute', 'missing', { parentRefs: [{ name: 'gw', sectionName: 'tcp-all' }], backendRefs: [{ name: 'nope', port: 9000 }] }),
    l4Route('TCPRoute', 'wrong-port', { parentRefs: [{ name: 'gw', sectionName: 'tcp-all' }], backendRefs: [{ name: 'echo', port: 1234 }] }),
    l4Route('TCPRoute', 'cross', { parentRefs: [{ name: 'gw', sectionName: 'tcp-all' }], backendRefs: [{ name: 'echo', namespace: 'other', port: 9000 }] }),
    l4Route('TCPRoute', 'kind', { parentRefs: [{ name: 'gw', sectionName: 'tcp-all' }], backendRefs: [{ group: 'example.com', kind: 'Bucket', name: 'echo', port: 9000 }] }),
    l4Route('UDPRoute', 'udp-on-tcp', { parentRefs: [{ name: 'gw', sectionName: 'tcp' }] }),
  ]);
  const cases: Record<string, string[]> = {
    'http-listener': ['Accepted=False:NotAllowedByListeners ResolvedRefs=True:ResolvedRefs'],
    'no-section': ['Accepted=False:NoMatchingParent ResolvedRefs=True:ResolvedRefs'],
    'no-port': ['Accepted=False:NoMatchingParent ResolvedRefs=True:ResolvedRefs'],
    'by-port': ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs'],
    missing: ['Accepted=True:Accepted ResolvedRefs=False:BackendNotFound'],
    'wrong-port': ['Accepted=True:Accepted ResolvedRefs=False:BackendNotFound'],
    cross: ['Accepted=True:Accepted ResolvedRefs=False:RefNotPermitted'],
    kind: ['Accepted=True:Accepted ResolvedRefs=False:InvalidKind'],
  };
  for (const [name, want] of Object.entries(cases)) assert.deepEqual(conditions(index.gatewayStatus('TCPRoute', 'default', name)), want, name);
  // allowedRoutes.namespaces (Same, the default) keeps another namespace's route out.
  assert.deepEqual(conditions(index.gatewayStatus('TCPRoute', 'other', 'elsewhere')), ['Accepted=False:NotAllowedByListeners ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual(conditions(index.gatewayStatus('UDPRoute', 'default', 'udp-on-tcp')), ['Accepted=False:NotAllowedByListeners ResolvedRefs=True:ResolvedRefs']);
  assert.match((index.gatewayStatus('TCPRoute', 'default', 'cross') as RouteStatus).parents[0]!.conditions[1]!.message, /^spec\.rules\[0\]\.backendRefs\[0\]: Service other\/echo is in another namespace and no ReferenceGrant allows it$/);
  assert.match((index.gatewayStatus('TCPRoute', 'default', 'wrong-port') as RouteStatus).parents[0]!.conditions[1]!.message, /backendRefs\[0\]\.port: Service default\/echo has no port 1234/);
  // A backend that does not resolve routes nothing: connections to the port are refused (nothing listens).
  assert.deepEqual(streamsOf(index), ['TCP 9000 → default-echo-9000 (TCPRoute by-port)']);
});

test('a Service in another namespace with a ReferenceGrant for TCPRoutes', () => {
  const grant = { apiVersion: GW, kind: 'ReferenceGrant', metadata: { name: 'tcp', namespace: 'other' }, spec: { from: [{ group: 'gateway.networking.k8s.io', kind: 'TCPRoute', namespace: 'default' }], to: [{ group: '', kind: 'Service' }] } };
  const route = l4Route('TCPRoute', 'cross', { backendRefs: [{ name: 'echo', namespace: 'other', port: 9000 }] });
  const index = indexOf([gatewayClass, gateway([tcp]), svc('echo', 'other'), grant, route]);
  assert.deepEqual(conditions(index.gatewayStatus('TCPRoute', 'default', 'cross')), ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual(streamsOf(index), ['TCP 9000 → other-echo-9000 (TCPRoute cross)']);
  // A grant for HTTPRoutes does not let a TCPRoute in.
  const httpOnly = { ...grant, spec: { ...grant.spec, from: [{ group: 'gateway.networking.k8s.io', kind: 'HTTPRoute', namespace: 'default' }] } };
  assert.deepEqual(conditions(indexOf([gatewayClass, gateway([tcp]), svc('echo', 'other'), httpOnly, route]).gatewayStatus('TCPRoute', 'default', 'cross')), ['Accepted=True:Accepted ResolvedRefs=False:RefNotPermitted']);
});

test('weights: one Service per route, the first with a weight; the others get a warning', () => {
  const index = indexOf([gatewayClass, gateway([tcp]), svc('a'), svc('b'), svc('c'),
    l4Route('TCPRoute', 'split', { backendRefs: [{ name: 'a', port: 9000, weight: 0 }, { name: 'b', port: 9000, weight: 70 }, { name: 'c', port: 9000, weight: 30 }] })]);
  assert.deepEqual(streamsOf(index), ['TCP 9000 → default-b-9000 (TCPRoute split)']);
  assert.deepEqual(index.problems().map((p) => `${p.severity} ${p.message}`), [
    'warning spec.rules[0].backendRefs[2]: ignored: a TCPRoute sends its connections to one Service (the first with a weight), default/b',
  ]);
  assert.deepEqual(conditions(index.gatewayStatus('TCPRoute', 'default', 'split')), ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs']);
});

test('one route per listener: both Accepted and counted, the oldest gets the connections, the newer a warning; the newer takes over when the older goes', () => {
  const older = l4Route('TCPRoute', 'older', { created: '2025-01-01T00:00:00Z' });
  const newer = l4Route('TCPRoute', 'newer', { created: '2025-01-02T00:00:00Z', parentRefs: [{ name: 'gw', sectionName: 'tcp' }], backendRefs: [{ name: 'other-echo', port: 9000 }] });
  const index = indexOf([gatewayClass, gateway([tcp]), svc('echo'), svc('other-echo'), newer, older]);
  assert.deepEqual(conditions(index.gatewayStatus('TCPRoute', 'default', 'older')), ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual(conditions(index.gatewayStatus('TCPRoute', 'default', 'newer')), ['Accepted=True:Accepted ResolvedRefs=True:ResolvedRefs']);
  assert.deepEqual(listenersOf(index), [{ name: 'tcp', kinds: ['TCPRoute'], attached: 2, conditions: [] }]);
  assert.deepEqual(streamsOf(index), ['TCP 9000 → default-echo-9000 (TCPRoute older)']);
  assert.deepEqual(index.problems().map((p) => `${p.object.name} ${p.reason} ${p.message}`), [
    'newer RouteConflict spec.parentRefs[0]: TCP listener port 9000 routes its connections to older TCPRoute default/older: a TCP listener takes one route, the oldest, and this one gets none there',
  ]);
  // Admission says so to the newer route (and not to the older one).
  const warnings = (o: object) => validateGatewayObject(o, index, defaultControllerSettings).map((p) => `${p.severity} ${p.message}`);
  assert.deepEqual(warnings({ ...newer, metadata: { name: 'newest', namespace: 'default' } }), ['warning spec.parentRefs[0]: TCP listener port 9000 routes its connections to older TCPRoute default/older: a TCP listener takes one route, the oldest, and this one would get none there']);
  assert.deepEqual(warnings(older), []);

  const affected = index.remove('TCPRoute', 'default', 'older');
  assert.equal(affected.streams, true);
  assert.deepEqual(affected.gatewayObjects, ['Gateway default/gw', 'TCPRoute default/older']);
  assert.deepEqual(streamsOf(index), ['TCP 9000 → default-other-echo-9000 (TCPRoute newer)']);
  assert.deepEqual(listenersOf(index), [{ name: 'tcp', kinds: ['TCPRoute'], attached: 1, conditions: [] }]);
  assert.deepEqual(index.problems(), []);
});

test('TCP and UDP listeners: not on NGINX\'s HTTP ports for TCP, a clash with another protocol on one TCP port, TCP and UDP side by side', () => {
  const index = indexOf([gatewayClass,
    gateway([
      { name: 'on-80', port: 80, protocol: 'TCP' },
      { name: 'udp-443', port: 443, protocol: 'UDP' },
      { name: 'tcp-53', port: 53, protocol: 'TCP' },
      { name: 'udp-53', port: 53, protocol: 'UDP' },
      { name: 'tcp-8000', port: 8000, protocol: 'TCP' },
      { name: 'http-8000', port: 8000, protocol: 'HTTP' },
      { name: 'tcp-7000', port: 7000, protocol: 'TCP' },
      { name: 'tcp-7000-again', port: 7000, protocol: 'TCP' },
    ]),
    gateway([{ name: 'http', port: 9000, protocol: 'HTTP' }], 'older'),
    gateway([tcp], 'newer'),
  ].map((o) => (o.kind === 'Gateway' ? { ...o, metadata: { ...o.metadata, creationTimestamp: o.metadata.name === 'newer' ? '2025-02-01T00:00:00Z' : '2025-01-01T00:00:00Z' } } : o)));
  assert.deepEqual(listenersOf(index).map((l) => `${l.name} ${l.conditions.join(' ') || 'served'}`), [
    'on-80 Accepted=False:PortUnavailable Programmed=False:PortUnavailable',
    'udp-443 served',
    'tcp-53 served',
    'udp-53 served',
    'tcp-8000 Conflicted=True:ProtocolConflict Programmed=False:Invalid',
    'http-8000 Conflicted=True:ProtocolConflict Programmed=False:Invalid',
    'tcp-7000 Conflicted=True:HostnameConflict Programmed=False:Invalid',
    'tcp-7000-again Conflicted=True:HostnameConflict Programmed=False:Invalid',
  ]);
  const clash = (index.gatewayStatus('Gateway', 'default', 'gw') as GatewayStatus).listeners[6]!.conditions.find((c) => c.type === 'Conflicted')!;
  assert.equal(clash.message, 'listener tcp-7000-again uses the same port and protocol (TCP listeners are told apart by port alone)');
  // Another, older Gateway serves 9000 with HTTP: the newer's TCP listener is not served there.
  assert.deepEqual(listenersOf(index, 'newer').map((l) => l.conditions.join(' ')), ['Conflicted=True:ProtocolConflict Programmed=False:Invalid']);
});

test('a port both a tcp-services entry and a Gateway listener want: the listener takes it, the entry is refused (UDP alike), and admission says so to the Gateway', () => {
  const settings = { ...defaultControllerSettings, tcpServicesConfigMap: 'ingress-nginx/tcp-services', udpServicesConfigMap: 'ingress-nginx/udp-services' };
  const cm = (name: string, data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ingress-nginx' }, data });
  const objects = [gatewayClass, gateway([tcp, udp]), svc('echo'), l4Route('TCPRoute', 'echo'), l4Route('UDPRoute', 'dns'),
    cm('tcp-services', { '9000': 'default/echo:9000', '5353': 'default/echo:9000', '7000': 'default/echo:9000' }),
    cm('udp-services', { '5353': 'default/echo:53', '9000': 'default/echo:53' })];
  const index = indexOf(objects, settings);
  assert.deepEqual(streamsOf(index), [
    'TCP 5353 → default-echo-9000 (ConfigMap tcp-services)',
    'TCP 7000 → default-echo-9000 (ConfigMap tcp-services)',
    'TCP 9000 → default-echo-9000 (TCPRoute echo)',
    'UDP 5353 → default-echo-53 (UDPRoute dns)',
    'UDP 9000 → default-echo-53 (ConfigMap udp-services)',
  ]);
  assert.deepEqual(index.streamProblems().map((p) => `${p.object.name} ${p.message}`), [
    'tcp-services data[9000]: Invalid value: "9000": port 9000 is held by Gateway default/gw (listener tcp): choose another port',
    'udp-services data[5353]: Invalid value: "5353": UDP port 5353 is held by Gateway default/gw (listener dns): choose another port',
  ]);
  // A Gateway that would take a port an entry routes is allowed, with a warning naming the entry.
  const taking = gateway([{ name: 'db', port: 7000, protocol: 'TCP' }], 'db');
  assert.deepEqual(validateGatewayObject(taking, index, settings).map((p) => p.message), [
    'spec.listeners[0].port: port 7000 is routed by ConfigMap ingress-nginx/tcp-services (data[7000]); this listener takes it and that entry is no longer served',
  ]);
  // Another controller's Gateway takes no port of NGINX's.
  const theirs = { ...gateway([{ name: 'db', port: 7000, protocol: 'TCP' }], 'theirs'), spec: { gatewayClassName: 'other', listeners: [{ name: 'db', port: 7000, protocol: 'TCP' }] } };
  const otherClass = { apiVersion: GW, kind: 'GatewayClass', metadata: { name: 'other' }, spec: { controllerName: 'example.com/other' } };
  assert.deepEqual(validateGatewayObject(theirs, index, settings), []);
  assert.ok(streamsOf(indexOf([...objects, otherClass, theirs], settings)).includes('TCP 7000 → default-echo-9000 (ConfigMap tcp-services)'));
});

test('admission: what the schema refuses names the field and the reason; the rest of a route\'s problems are warnings', () => {
  const index = indexOf([gatewayClass, gateway([tcp]), svc('echo')]);
  const messages = (o: object) => validateGatewayObject(o, index, defaultControllerSettings).map((p) => `${p.severity} ${p.message}`);
  const base = l4Route('TCPRoute', 'x');
  const cases: Record<string, { spec: object; want: RegExp }> = {
    'no rules': { spec: { parentRefs: [{ name: 'gw' }], rules: [] }, want: /^error spec\.rules: .*/ },
    'two rules': { spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'echo', port: 9000 }] }, { backendRefs: [{ name: 'echo', port: 9000 }] }] }, want: /^error spec\.rules: .*/ },
    'a port out of range': { spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'echo', port: 70000 }] }] }, want: /^error spec\.rules\[0\]\.backendRefs\[0\]\.port: .*65535/ },
    'a bad sectionName': { spec: { parentRefs: [{ name: 'gw', sectionName: 'Not_A_Listener' }], rules: [{ backendRefs: [{ name: 'echo', port: 9000 }] }] }, want: /^error spec\.parentRefs\[0\]\.sectionName: .*RFC 1123 subdomain/ },
    'no backendRefs': { spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [] }] }, want: /^error spec\.rules\[0\]\.backendRefs: / },
    'a Service that is not there': { spec: { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'nope', port: 9000 }] }] }, want: /^warning spec\.parentRefs\[0\]: BackendNotFound: spec\.rules\[0\]\.backendRefs\[0\]: Service default\/nope not found$/ },
    'a listener that does not take it': { spec: { parentRefs: [{ name: 'gw', sectionName: 'other' }], rules: [{ backendRefs: [{ name: 'echo', port: 9000 }] }] }, want: /^warning spec\.parentRefs\[0\]: not accepted by Gateway default\/gw \(other\): NoMatchingParent/ },
  };
  for (const [name, c] of Object.entries(cases)) {
    const got = messages({ ...base, spec: c.spec });
    assert.equal(got.length, 1, `${name}: ${got.join('\n')}`);
    assert.match(got[0]!, c.want, name);
  }
  assert.deepEqual(messages(base), []);
  // The UDPRoute kind reads the same way, and v1alpha2 is read too.
  assert.equal(parseObject({ ...l4Route('UDPRoute', 'y'), apiVersion: 'gateway.networking.k8s.io/v1alpha2' }).ok, true);
});
