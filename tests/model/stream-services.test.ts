// ingress-nginx's tcp-services and udp-services ConfigMaps in the model: every entry's form, the
// PROXY fields (third: from clients, fourth: to the backend, as ingress-nginx), ports the HTTP side
// holds, the upstream names shared with Ingresses, and the admission webhook's answers naming the
// key and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingIndex, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { parseStreamConfigMap } from '../../src/model/stream-services.ts';
import { validateServicesConfigMap } from '../../src/model/stream-admission.ts';
import type { ConfigMap } from '../../src/model/schemas.ts';
import { review } from '../../src/handlers/admission.ts';
import { admissionReview } from '../handlers/fixtures.ts';

const settings = { ...defaultControllerSettings, tcpServicesConfigMap: 'ingress-nginx/tcp-services', udpServicesConfigMap: 'ingress-nginx/udp-services' };
const configMap = (name: string, data: Record<string, string>): ConfigMap =>
  ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'ingress-nginx', annotations: {}, labels: {} }, data }) as unknown as ConfigMap;
const httpPorts = new Map([[80, "NGINX's HTTP port"], [443, "NGINX's HTTPS port"], [8000, 'Gateway default/gw (listener board)']]);

const cases: Record<string, { protocol?: 'TCP' | 'UDP'; value: string; key?: string; route?: object; problem?: RegExp; warning?: RegExp }> = {
  'a Service port by number': { value: 'default/echo:9000', route: { backend: { namespace: 'default', service: 'echo', port: 9000 }, proxyProtocol: { fromClient: false, toBackend: false } } },
  'a Service port by name': { value: 'db/postgres:pg', route: { backend: { namespace: 'db', service: 'postgres', port: 'pg' } } },
  'PROXY from clients (third field)': { value: 'default/echo:9000:PROXY', route: { proxyProtocol: { fromClient: true, toBackend: false } } },
  'PROXY to the backend (fourth field)': { value: 'default/echo:9000::PROXY', route: { proxyProtocol: { fromClient: false, toBackend: true } } },
  'PROXY both ways, any case': { value: 'default/echo:9000:proxy:PROXY', route: { proxyProtocol: { fromClient: true, toBackend: true } } },
  'a key that is not a port': { key: 'ssh', value: 'default/echo:22', problem: /^data\[ssh\]: Invalid value: "ssh": the key must be the port clients connect to \(1-65535\)$/ },
  'a port above 65535': { key: '70000', value: 'default/echo:22', problem: /^data\[70000\]: Invalid value: "70000": the key must be the port/ },
  'no namespace': { value: 'echo:9000', problem: /^data\[\d+\]: Invalid value: "echo:9000": expected namespace\/service:port\[:PROXY\[:PROXY\]\]/ },
  'no port': { value: 'default/echo', problem: /expected namespace\/service:port/ },
  'an upper-case Service name': { value: 'default/Echo:9000', problem: /lowercase DNS labels/ },
  'a value that would end an NGINX line': { value: 'default/echo;deny:9000', problem: /expected namespace\/service:port/ },
  'a Service port out of range': { value: 'default/echo:0', problem: /the Service port 0 is not a port/ },
  'a third field other than PROXY': { value: 'default/echo:9000:SSL', problem: /the third and fourth fields may only be PROXY or empty, not "SSL"/ },
  'too many fields': { value: 'default/echo:9000:PROXY:PROXY:PROXY', problem: /expected namespace\/service:port/ },
  'TCP on NGINX\'s HTTPS port': { key: '443', value: 'default/echo:9000', problem: /^data\[443\]: Invalid value: "443": port 443 is held by NGINX's HTTPS port: choose another port$/ },
  'TCP on a Gateway listener\'s port': { key: '8000', value: 'default/echo:9000', problem: /port 8000 is held by Gateway default\/gw \(listener board\)/ },
  'UDP may share port 443 (no HTTP/3)': { protocol: 'UDP', key: '443', value: 'default/dns:53', route: { protocol: 'UDP', port: 443 } },
  'PROXY on UDP is ignored with a warning': { protocol: 'UDP', value: 'default/dns:53:PROXY', route: { proxyProtocol: { fromClient: false, toBackend: false } }, warning: /the PROXY protocol is for TCP services only: ignored/ },
};

for (const [name, c] of Object.entries(cases)) {
  test(`services ConfigMap: ${name}`, () => {
    const key = c.key ?? '9000';
    const r = parseStreamConfigMap(configMap('tcp-services', { [key]: c.value }), c.protocol ?? 'TCP', httpPorts);
    const errors = r.problems.filter((p) => p.severity === 'error').map((p) => p.message);
    const warnings = r.problems.filter((p) => p.severity === 'warning').map((p) => p.message);
    if (c.problem) {
      assert.equal(r.routes.length, 0);
      assert.equal(errors.length, 1, errors.join('\n'));
      assert.match(errors[0]!, c.problem);
      return;
    }
    assert.deepEqual(errors, []);
    if (c.warning) assert.match(warnings.join('\n'), c.warning);
    else assert.deepEqual(warnings, []);
    assert.equal(r.routes.length, 1);
    assert.partialDeepStrictEqual(r.routes[0], c.route);
  });
}

test('the routes share upstream names with Ingresses and carry the ConfigMaps; other ConfigMaps are not the global one', () => {
  const { state } = stateFromObjects([
    { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default' }, spec: { ports: [{ name: 'main', port: 9000 }] } },
    configMap('tcp-services', { '9000': 'default/echo:9000', '22': 'default/echo:9000:PROXY' }),
    configMap('udp-services', { '53': 'default/echo:9000' }),
  ]);
  const index = new RoutingIndex(settings, state);
  const model = index.model();
  assert.deepEqual(
    model.streams?.map((s) => `${s.protocol} ${s.port} ${s.upstream} ${s.proxyProtocol.fromClient}`),
    ['TCP 22 default-echo-9000 true', 'TCP 9000 default-echo-9000 false', 'UDP 53 default-echo-9000 false'],
  );
  assert.ok(model.upstreams.some((u) => u.upstream === 'default-echo-9000'), 'its endpoint set is sent like an Ingress upstream');
  assert.deepEqual(model.problems, [], 'no "unsupported key" from the global settings');
  // A change of the ConfigMap says the streams changed, and which endpoint sets came or went.
  const affected = index.upsert(configMap('tcp-services', { '9000': 'default/other:80' }));
  assert.equal(affected.streams, true);
  assert.deepEqual(affected.upstreams, ['default-other-80']);
});

test('the admission webhook denies a bad services ConfigMap naming the key and the reason, and ignores other ConfigMaps', () => {
  const index = new RoutingIndex(settings, stateFromObjects([]).state);
  const send = (cm: ConfigMap) =>
    review(admissionReview(cm, { kind: { group: '', version: 'v1', kind: 'ConfigMap' } }), (o) => validateServicesConfigMap(o, index, settings)).body.response;
  const denied = send(configMap('tcp-services', { '9000': 'default/echo:9000', '80': 'default/web:80', ssh: 'default/ssh:22' }));
  assert.equal(denied.allowed, false);
  assert.equal(denied.status?.code, 403);
  assert.equal(
    denied.status?.message,
    'data[80]: Invalid value: "80": port 80 is held by NGINX\'s HTTP port: choose another port; data[ssh]: Invalid value: "ssh": the key must be the port clients connect to (1-65535)',
  );
  assert.equal(send(configMap('tcp-services', { '9000': 'default/echo:9000' })).allowed, true);
  assert.equal(send(configMap('udp-services', { '53': 'kube-system/kube-dns:53:PROXY' })).warnings?.[0], 'data[53]: Invalid value: "kube-system/kube-dns:53:PROXY": the PROXY protocol is for TCP services only: ignored');
  assert.equal(send(configMap('unrelated', { '80': 'not a service' })).allowed, true, 'any other ConfigMap is allowed untouched');
});
