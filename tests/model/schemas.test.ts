// Schemas: what does not parse becomes Problems with Kubernetes' field paths and messages; unknown
// fields are accepted (and dropped).
import { defaultClientAddressSettings } from '../../src/model/client-address.ts';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  defaultControllerSettings,
  parseConfigMap,
  parseEndpointSlice,
  parseIngress,
  parseIngressClass,
  parseObject,
  parseSecret,
  parseService,
  stateFromObjects,
  validateIngress,
  parseGlobalSettings,
} from '../../src/model/index.ts';
import { ingress, messages, path, rule } from './fixtures.ts';

const valid = () => ingress('web', [rule('a.com', path('/'))]);
function withPath(mutate: (o: any) => void) {
  const o = valid() as any;
  mutate(o);
  return o;
}

describe('Ingress schema errors', () => {
  const cases: Record<string, { obj: unknown; want: string[] }> = {
    'unknown pathType': {
      obj: withPath((o) => (o.spec.rules[0].http.paths[0].pathType = 'Foo')),
      want: ['spec.rules[0].http.paths[0].pathType: Invalid value: "Foo": must be one of Exact, Prefix, ImplementationSpecific'],
    },
    'missing pathType': { obj: withPath((o) => delete o.spec.rules[0].http.paths[0].pathType), want: ['spec.rules[0].http.paths[0].pathType: Required value: must be set'] },
    'port number out of range': {
      obj: withPath((o) => (o.spec.rules[0].http.paths[0].backend.service.port.number = 70000)),
      want: ['spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: 70000: must be between 1 and 65535'],
    },
    'port number as a string': {
      obj: withPath((o) => (o.spec.rules[0].http.paths[0].backend.service.port.number = '80')),
      want: ['spec.rules[0].http.paths[0].backend.service.port.number: Invalid value: "80": must be of type number, not string'],
    },
    'both port number and name': {
      obj: withPath((o) => (o.spec.rules[0].http.paths[0].backend.service.port = { number: 80, name: 'http' })),
      want: ['spec.rules[0].http.paths[0].backend.service.port: Invalid value: {"number":80,"name":"http"}: set exactly one of number and name'],
    },
    'Service name with uppercase': {
      obj: withPath((o) => (o.spec.rules[0].http.paths[0].backend.service.name = 'Web')),
      want: ['spec.rules[0].http.paths[0].backend.service.name: Invalid value: "Web": must be a Service name (a lowercase RFC 1035 label)'],
    },
    'port name too long': {
      obj: withPath((o) => (o.spec.rules[0].http.paths[0].backend.service.port = { name: 'a-very-long-port-name' })),
      want: ['spec.rules[0].http.paths[0].backend.service.port.name: Invalid value: "a-very-long-port-name": must be an IANA service name (at most 15 of a-z, 0-9, "-", with a letter)'],
    },
    'backend with neither service nor resource': {
      obj: withPath((o) => (o.spec.rules[0].http.paths[0].backend = {})),
      want: ['spec.rules[0].http.paths[0].backend: Invalid value: {}: set exactly one of service and resource'],
    },
    'paths not a list': { obj: withPath((o) => (o.spec.rules[0].http.paths = 'x')), want: ['spec.rules[0].http.paths: Invalid value: "x": must be of type array, not string'] },
    'empty paths': { obj: withPath((o) => (o.spec.rules[0].http.paths = [])), want: ['spec.rules[0].http.paths: Invalid value: []: must have at least one path'] },
    'annotation value not a string': {
      obj: withPath((o) => (o.metadata.annotations = { 'nginx.ingress.kubernetes.io/limit-rps': 5 })),
      want: ['metadata.annotations[nginx.ingress.kubernetes.io/limit-rps]: Invalid value: 5: must be of type string, not number'],
    },
    'name not a DNS subdomain': { obj: withPath((o) => (o.metadata.name = 'Web_1')), want: ['metadata.name: Invalid value: "Web_1": must be a lowercase RFC 1123 subdomain (a-z, 0-9, "-", ".")'] },
    'missing metadata': { obj: withPath((o) => delete o.metadata), want: ['metadata: Required value: must be set'] },
    'wrong apiVersion': { obj: withPath((o) => (o.apiVersion = 'extensions/v1beta1')), want: ['apiVersion: Invalid value: "extensions/v1beta1": must be networking.k8s.io/v1'] },
    'secretName invalid': { obj: withPath((o) => (o.spec.tls = [{ hosts: ['a.com'], secretName: 'A B' }])), want: ['spec.tls[0].secretName: Invalid value: "A B": must be a lowercase RFC 1123 subdomain (a-z, 0-9, "-", ".")'] },
    'not an object': { obj: 'apiVersion: v1', want: ['<object>: Invalid value: string: must be a Ingress object'] },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const r = parseIngress(c.obj);
      assert.equal(r.ok, false);
      assert.deepEqual(messages(!r.ok ? r.problems : []), c.want);
      if (!r.ok) for (const p of r.problems) assert.deepEqual([p.severity, p.reason, p.message.startsWith(`${p.field}: `)], ['error', 'InvalidObject', true]);
    });
  }

  it('unknown fields are accepted and dropped; namespace defaults to "default"', () => {
    const o = withPath((x) => {
      x.status = { loadBalancer: {} };
      x.spec.rules[0].http.paths[0].extra = 1;
      x.metadata.managedFields = [{}];
      delete x.metadata.namespace;
    });
    const r = parseIngress(o);
    assert.ok(r.ok);
    assert.equal(r.value.metadata.namespace, 'default');
    assert.equal((r.value as any).status, undefined);
  });

  it('the admission check reports schema errors too', () => {
    const { state } = stateFromObjects([]);
    const problems = validateIngress(withPath((o) => (o.spec.rules[0].http.paths[0].pathType = 'Foo')), state, defaultControllerSettings);
    assert.deepEqual(messages(problems), ['spec.rules[0].http.paths[0].pathType: Invalid value: "Foo": must be one of Exact, Prefix, ImplementationSpecific']);
  });
});

describe('other kinds', () => {
  it('Service ports', () => {
    const r = parseService({ kind: 'Service', metadata: { name: 'web' }, spec: { ports: [{ name: 'HTTP', port: 0 }] } });
    assert.deepEqual(messages(!r.ok ? r.problems : []), [
      'spec.ports[0].name: Invalid value: "HTTP": must be an IANA service name (at most 15 of a-z, 0-9, "-", with a letter)',
      'spec.ports[0].port: Invalid value: 0: must be between 1 and 65535',
    ]);
  });
  it('EndpointSlice addressType', () => {
    const r = parseEndpointSlice({ kind: 'EndpointSlice', metadata: { name: 'x' }, addressType: 'IPv5', endpoints: [] });
    assert.deepEqual(messages(!r.ok ? r.problems : []), ['addressType: Invalid value: "IPv5": must be one of IPv4, IPv6, FQDN']);
  });
  it('EndpointSlice with null endpoints and ports (as the API sends them)', () => {
    const r = parseEndpointSlice({ kind: 'EndpointSlice', metadata: { name: 'x' }, addressType: 'IPv4', endpoints: null, ports: null });
    assert.ok(r.ok);
  });
  it('Secret data must be base64', () => {
    const r = parseSecret({ kind: 'Secret', metadata: { name: 's' }, type: 'kubernetes.io/tls', data: { 'tls.crt': 'not base64!' } });
    assert.deepEqual(messages(!r.ok ? r.problems : []), ['data[tls.crt]: Invalid value: "not base64!": must be base64']);
  });
  it('ConfigMap data must be strings', () => {
    const r = parseConfigMap({ kind: 'ConfigMap', metadata: { name: 'c' }, data: { 'ssl-redirect': false } });
    assert.deepEqual(messages(!r.ok ? r.problems : []), ['data[ssl-redirect]: Invalid value: false: must be of type string, not boolean']);
  });
  it('IngressClass is cluster-scoped', () => {
    const r = parseIngressClass({ kind: 'IngressClass', metadata: { name: 'wharf', namespace: 'x' }, spec: { controller: 'wharf.io/ingress-controller' } });
    assert.ok(r.ok);
    assert.equal(r.value.metadata.namespace, '');
  });
  it('parseObject dispatches on kind and refuses others', () => {
    assert.equal(parseObject({ kind: 'Service', metadata: { name: 'a' }, spec: {} }).ok, true);
    const r = parseObject({ kind: 'Deployment', metadata: { name: 'a' } });
    assert.deepEqual(messages(!r.ok ? r.problems : []), ['kind: Invalid value: "Deployment": must be one of Ingress, IngressClass, Service, EndpointSlice, Secret, ConfigMap, GatewayClass, Gateway, HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute, ReferenceGrant, Namespace']);
  });
});

describe('global settings from the ConfigMap', () => {
  it('reads the keys, warns on unknown ones, keeps defaults for invalid values', () => {
    const r = parseConfigMap({ kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data: { 'proxy-body-size': '10M', 'proxy-read-timeout': '120', hsts: 'false', 'proxy-connect-timeout': '5s', 'use-geoip2': 'true' } });
    assert.ok(r.ok);
    const { settings, problems } = parseGlobalSettings(r.value);
    assert.deepEqual(settings, { proxyBodySize: '10m', proxyConnectTimeout: 5, proxyReadTimeout: 60 * 2, proxySendTimeout: 60, sslRedirect: true, hsts: false, ...defaultClientAddressSettings });
    assert.deepEqual(
      problems.map((p) => [p.severity, p.message]),
      [
        ['error', 'data[proxy-connect-timeout]: Invalid value: "5s": must be a whole number of seconds between 1 and 86400; the default is used'],
        ['warning', 'data[use-geoip2]: Unsupported key: wharf does not read it; it is ignored'],
      ],
    );
  });
  it('defaults without a ConfigMap', () => {
    assert.deepEqual(parseGlobalSettings(null), { settings: { proxyBodySize: '1m', proxyConnectTimeout: 5, proxyReadTimeout: 60, proxySendTimeout: 60, sslRedirect: true, hsts: true, ...defaultClientAddressSettings }, problems: [] });
  });
});
