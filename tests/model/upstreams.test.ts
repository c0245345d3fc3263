// Upstream names (`namespace-service-port`, unique), Service ports by number or name, the Service
// warnings, and endpoints from EndpointSlices.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { endpointsFor, parseEndpointSlice, parseService, RoutingIndex, defaultControllerSettings, stateFromObjects } from '../../src/model/index.ts';
import { build, ingress, messages, path, reasons, rule, service, slice } from './fixtures.ts';

describe('upstream names', () => {
  it('namespace-service-port, by number or by name as referenced', () => {
    const model = build([ingress('i', [rule('a.com', path('/n', 'Prefix', 'web', 8080), path('/s', 'Prefix', 'web', 'http'))], { namespace: 'shop' })]);
    assert.deepEqual(model.upstreams.map((u) => u.upstream), ['shop-web-8080', 'shop-web-http']);
    assert.deepEqual(model.servers[0]!.locations.map((l) => l.backend?.upstream), ['shop-web-8080', 'shop-web-http']);
  });
  it('two triples that join to the same name stay distinct', () => {
    const model = build([
      ingress('x', [rule('a.com', path('/x', 'Prefix', 'b-c'))], { namespace: 'a' }),
      ingress('y', [rule('b.com', path('/y', 'Prefix', 'c'))], { namespace: 'a-b' }),
    ]);
    assert.deepEqual(
      model.upstreams.map((u) => `${u.upstream} ${u.namespace}/${u.service}`),
      ['a-b-c-80 a/b-c', 'a-b-c-80.3.1 a-b/c'],
    );
    assert.equal(model.servers.find((s) => s.host === 'b.com')!.locations[0]!.backend?.upstream, 'a-b-c-80.3.1');
  });
  it('the same name is computed whatever the order the Ingresses arrive in', () => {
    const objs = [ingress('y', [rule('b.com', path('/y', 'Prefix', 'c'))], { namespace: 'a-b' }), ingress('x', [rule('a.com', path('/x', 'Prefix', 'b-c'))], { namespace: 'a' })];
    const one = build(objs);
    const two = build([...objs].reverse());
    assert.deepEqual(one, two);
  });
});

describe('Service checks', () => {
  const cases: Record<string, { objects: unknown[]; port?: number | string; want: string[] }> = {
    'Service exists with the port': { objects: [service('web', [{ port: 80 }])], want: [] },
    'named port exists': { objects: [service('web', [{ name: 'http', port: 80 }])], port: 'http', want: [] },
    'Service missing': { objects: [], want: ['spec.rules[0].http.paths[0].backend.service.name: Not found: "web": no such Service in this namespace; requests get 503 until it exists'] },
    'port number missing': { objects: [service('web', [{ port: 81 }])], want: ['spec.rules[0].http.paths[0].backend.service.port.number: Not found: 80: Service web has no such port; requests get 503'] },
    'port name missing': { objects: [service('web', [{ name: 'grpc', port: 80 }])], port: 'http', want: ['spec.rules[0].http.paths[0].backend.service.port.name: Not found: "http": Service web has no such port; requests get 503'] },
    'ExternalName: proxied to by name': {
      objects: [{ kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ExternalName', externalName: 'example.com' } }],
      want: [],
    },
    'ExternalName by a port name it lacks': {
      objects: [{ kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ExternalName', externalName: 'example.com' } }],
      port: 'http',
      want: ['spec.rules[0].http.paths[0].backend.service.port.name: Not found: "http": Service web has no such port; requests get 503'],
    },
    'ExternalName with a name NGINX must not see': {
      objects: [{ kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ExternalName', externalName: 'a.com;' } }],
      want: ['spec.rules[0].http.paths[0].backend.service.name: Invalid value: "a.com;": the ExternalName Service\'s spec.externalName must be a lowercase RFC 1123 subdomain: labels of a-z, 0-9 and \'-\', starting and ending with a letter or digit, joined by \'.\'; requests get 503'],
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const model = build([ingress('i', [rule('a.com', path('/', 'Prefix', 'web', c.port ?? 80))]), ...c.objects]);
      assert.deepEqual(messages(model.problems), c.want);
      assert.ok(model.problems.every((p) => p.severity === 'warning'));
      assert.equal(model.servers.length, 1, 'a Service problem is a warning: the location stays (503 until endpoints exist)');
    });
  }
  it('an ExternalName backend carries its name and port, by number or by the Service port\'s name', () => {
    const ext = { kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ExternalName', externalName: 'API.Example.com.', ports: [{ name: 'https', port: 8443 }] } };
    for (const [port, want] of [[443, 443], ['https', 8443]] as const) {
      const model = build([ingress('i', [rule('a.com', path('/', 'Prefix', 'web', port))]), ext]);
      assert.deepEqual(model.servers[0]!.locations[0]!.backend?.external, { host: 'api.example.com', port: want });
    }
  });
  it('a canary on an ExternalName primary is ignored with a warning (the balancer is not involved)', () => {
    const ext = { kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ExternalName', externalName: 'example.com' } };
    const model = build([
      ingress('main', [rule('a.com', path('/', 'Prefix', 'web'))]),
      ingress('canary', [rule('a.com', path('/', 'Prefix', 'next'))], { annotations: { 'nginx.ingress.kubernetes.io/canary': 'true', 'nginx.ingress.kubernetes.io/canary-weight': '50' }, created: '2030-01-01T00:00:00Z' }),
      ext,
      service('next', [{ port: 80 }]),
    ]);
    assert.equal(model.servers[0]!.locations[0]!.canary, undefined);
    assert.deepEqual(reasons(model.problems), ['warning ExternalNameService canary spec.rules[0].http.paths[0].path']);
  });
  it('a resource backend is an error', () => {
    const i = ingress('i', []);
    (i.spec as Record<string, unknown>).defaultBackend = { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'b' } };
    const model = build([i]);
    assert.deepEqual(reasons(model.problems), ['error UnsupportedBackend i spec.defaultBackend.resource']);
  });
});

describe('endpoints', () => {
  const svc = (ports: { name?: string; port: number }[] = [{ name: 'http', port: 80 }, { name: 'metrics', port: 9090 }]) => {
    const p = parseService(service('web', ports));
    assert.ok(p.ok);
    return p.value;
  };
  const sl = (...args: Parameters<typeof slice>) => {
    const p = parseEndpointSlice(slice(...args));
    assert.ok(p.ok, JSON.stringify(!p.ok && p.problems));
    return p.value;
  };
  const cases: Record<string, { slices: ReturnType<typeof sl>[]; port?: number | string; ports?: { name?: string; port: number }[]; want: string[] }> = {
    'ready endpoints, sorted and de-duplicated across slices': {
      slices: [
        sl('web-1', 'web', [{ addresses: ['10.0.0.2'] }, { addresses: ['10.0.0.1'], ready: true }], [{ name: 'http', port: 8080 }]),
        sl('web-2', 'web', [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.10'] }], [{ name: 'http', port: 8080 }]),
      ],
      want: ['10.0.0.10:8080', '10.0.0.1:8080', '10.0.0.2:8080'], // code-unit order
    },
    'not ready and terminating endpoints are excluded': {
      slices: [sl('web-1', 'web', [{ addresses: ['10.0.0.1'], ready: false }, { addresses: ['10.0.0.2'], ready: false, terminating: true }, { addresses: ['10.0.0.3'], ready: null }], [{ name: 'http', port: 8080 }])],
      want: ['10.0.0.3:8080'],
    },
    'target port by the Service port name': {
      slices: [sl('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'metrics', port: 9100 }, { name: 'http', port: 8080 }])],
      port: 9090,
      want: ['10.0.0.1:9100'],
    },
    'Service port referenced by name': {
      slices: [sl('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'metrics', port: 9100 }, { name: 'http', port: 8080 }])],
      port: 'http',
      want: ['10.0.0.1:8080'],
    },
    'unnamed Service port matches the unnamed slice port': {
      slices: [sl('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ port: 3000 }])],
      ports: [{ port: 80 }],
      want: ['10.0.0.1:3000'],
    },
    'IPv6 written in brackets': {
      slices: [sl('web-1', 'web', [{ addresses: ['FD00::1'] }, { addresses: ['fd00::2'] }], [{ name: 'http', port: 8080 }], { addressType: 'IPv6' })],
      want: ['[fd00::1]:8080', '[fd00::2]:8080'],
    },
    'IPv4 and IPv6 slices together': {
      slices: [sl('v4', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]), sl('v6', 'web', [{ addresses: ['fd00::1'] }], [{ name: 'http', port: 8080 }], { addressType: 'IPv6' })],
      want: ['10.0.0.1:8080', '[fd00::1]:8080'],
    },
    'slices of another Service are ignored': { slices: [sl('other-1', 'other', [{ addresses: ['10.0.0.9'] }], [{ name: 'http', port: 8080 }])], want: [] },
    'FQDN slices and malformed addresses are ignored': {
      slices: [sl('f', 'web', [{ addresses: ['example.com'] }], [{ name: 'http', port: 80 }], { addressType: 'FQDN' }), sl('bad', 'web', [{ addresses: ['10.0.0.300', 'fd00::1'] }], [{ name: 'http', port: 80 }])],
      want: [],
    },
    'unknown Service port': { slices: [sl('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }])], port: 81, want: [] },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => assert.deepEqual(endpointsFor(svc(c.ports), c.port ?? 80, c.slices), c.want));
  }
  it('no endpoints for a missing or ExternalName Service', () => {
    const s = sl('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]);
    assert.deepEqual(endpointsFor(undefined, 80, [s]), []);
    const ext = parseService({ kind: 'Service', metadata: { name: 'web' }, spec: { type: 'ExternalName', externalName: 'x.com', ports: [{ name: 'http', port: 80 }] } });
    assert.ok(ext.ok);
    assert.deepEqual(endpointsFor(ext.value, 80, [s]), []);
  });
  it('RoutingIndex.endpoints resolves an upstream name to its endpoints', () => {
    const { state } = stateFromObjects([
      ingress('i', [rule('a.com', path('/', 'Prefix', 'web', 'http'))]),
      service('web', [{ name: 'http', port: 80 }]),
      slice('web-1', 'web', [{ addresses: ['10.0.0.1'] }], [{ name: 'http', port: 8080 }]),
    ]);
    const index = new RoutingIndex(defaultControllerSettings, state);
    assert.deepEqual(index.endpoints('default-web-http'), ['10.0.0.1:8080']);
    assert.equal(index.endpoints('default-nope-80'), null);
  });
});
