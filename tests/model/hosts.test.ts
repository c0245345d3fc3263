// Hosts: RFC 1123 validation, wildcards (one label), rules without a host and spec.defaultBackend
// on the default server, and which server a request reaches.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routeRequest } from '../../src/model/index.ts';
import { backend, build, ingress, messages, path, routes, rule } from './fixtures.ts';

describe('host validation', () => {
  const cases: Record<string, { host: string; error?: string }> = {
    'simple name': { host: 'foo.com' },
    'single label': { host: 'localhost' },
    'digits and hyphens': { host: 'a-1.b2.example' },
    wildcard: { host: '*.foo.com' },
    uppercase: { host: 'Foo.com', error: 'spec.rules[0].host: Invalid value: "Foo.com": must be lowercase' },
    'with a port': { host: 'foo.com:80', error: 'must be a DNS name without a port' },
    'IP address': { host: '10.0.0.1', error: 'must be a DNS name, not an IP address' },
    'wildcard inside a label': { host: 'f*.foo.com', error: 'a wildcard is only allowed as the whole first label ("*.example.com")' },
    'wildcard not first': { host: 'foo.*.com', error: 'a wildcard is only allowed as the whole first label' },
    'double wildcard': { host: '*.*.foo.com', error: 'a wildcard is only allowed as the whole first label' },
    'bare wildcard': { host: '*', error: 'a wildcard is only allowed as the whole first label' },
    'leading hyphen': { host: '-foo.com', error: 'must be a lowercase RFC 1123 subdomain' },
    'empty label': { host: 'foo..com', error: 'must be a lowercase RFC 1123 subdomain' },
    underscore: { host: 'foo_bar.com', error: 'must be a lowercase RFC 1123 subdomain' },
    'label longer than 63': { host: `${'a'.repeat(64)}.com`, error: 'must be a lowercase RFC 1123 subdomain' },
    'injection: server block': { host: 'foo.com; } server { listen 80', error: 'must be a lowercase RFC 1123 subdomain' },
    'injection: newline': { host: 'foo.com\ninclude /etc/passwd', error: 'must be a lowercase RFC 1123 subdomain' },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(name, () => {
      const model = build([ingress('i', [rule(c.host, path('/'))])]);
      if (c.error) {
        assert.ok(messages(model.problems).some((m) => m.includes(c.error!) && m.startsWith('spec.rules[0].host: Invalid value: ')), JSON.stringify(messages(model.problems)));
        assert.deepEqual(model.servers, []);
      } else {
        assert.deepEqual(model.servers.map((s) => s.host), [c.host]);
      }
    });
  }
});

describe('which server a request reaches', () => {
  const model = build([
    ingress('exact', [rule('foo.com', path('/', 'Prefix', 'exact'))]),
    ingress('wild', [rule('*.foo.com', path('/', 'Prefix', 'wild'))]),
    ingress('bar', [rule('bar.foo.com', path('/', 'Prefix', 'bar'))]),
    ingress('nohost', [rule(undefined, path('/catch', 'Prefix', 'nohost'))]),
  ]);
  const cases: [string, string, string | null][] = [
    ['foo.com', '/', 'exact'],
    ['FOO.com:8080', '/', 'exact'],
    ['baz.foo.com', '/', 'wild'],
    ['bar.foo.com', '/', 'bar'],
    ['baz.bar.foo.com', '/catch', 'nohost'],
    ['baz.bar.foo.com', '/', null],
    ['other.com', '/catch/x', 'nohost'],
    ['foo.com', '/catch', 'exact'],
  ];
  for (const [host, p, want] of cases) {
    it(`${host}${p} → ${want ?? '404'}`, () => assert.equal(routeRequest(model, host, p)?.backend?.service ?? null, want));
  }
  it('wildcard *.foo.com does not match foo.com itself', () => {
    const only = build([ingress('wild', [rule('*.foo.com', path('/', 'Prefix', 'wild'))])]);
    assert.equal(routeRequest(only, 'foo.com', '/'), null);
    assert.equal(routeRequest(only, 'a.foo.com', '/')?.backend?.service, 'wild');
  });
});

describe('default server: rules without a host and spec.defaultBackend', () => {
  it('rules without a host go to the default server, merged across Ingresses', () => {
    const model = build([ingress('a', [rule(undefined, path('/a', 'Prefix', 'a'))]), ingress('b', [rule(undefined, path('/b', 'Exact', 'b'))], { created: '2024-02-01T00:00:00Z' })]);
    assert.deepEqual(routes(model, ''), ['Exact /b -> b', 'Prefix /a -> a']);
    assert.deepEqual(model.defaultServer.sources.map((s) => s.name), ['a', 'b']);
    assert.deepEqual(model.servers, []);
  });
  it('spec.defaultBackend serves "/" on the default server, from the oldest Ingress that has one', () => {
    const model = build([
      ingress('young', [], { defaultBackend: backend('young'), created: '2024-03-01T00:00:00Z' }),
      ingress('old', [], { defaultBackend: backend('old'), created: '2024-01-01T00:00:00Z' }),
    ]);
    assert.deepEqual(routes(model, ''), ['Prefix / -> old']);
    assert.deepEqual(model.problems.filter((p) => p.severity === 'error'), []);
  });
  it('a rule claiming "/" on the default server beats any spec.defaultBackend', () => {
    const model = build([ingress('db', [], { defaultBackend: backend('db') }), ingress('root', [rule(undefined, path('/', 'Prefix', 'root'))], { created: '2025-01-01T00:00:00Z' })]);
    assert.deepEqual(routes(model, ''), ['Prefix / -> root']);
  });
  it("spec.defaultBackend also serves the Ingress's own hosts where no path matches", () => {
    const model = build([ingress('i', [rule('foo.com', path('/api', 'Prefix', 'api'))], { defaultBackend: backend('fallback') })]);
    assert.deepEqual(routes(model, 'foo.com'), ['Prefix /api -> api', 'Prefix / -> fallback']);
    assert.equal(routeRequest(model, 'foo.com', '/other')?.backend?.service, 'fallback');
    assert.equal(routeRequest(model, 'unknown.com', '/other')?.backend?.service, 'fallback');
  });
  it('a host without paths and without defaultBackend gets a warning and no server', () => {
    const i = ingress('i', [{ host: 'foo.com' }]);
    const model = build([i]);
    assert.deepEqual(model.servers, []);
    assert.deepEqual(messages(model.problems.filter((p) => p.reason === 'NoPaths')), ['spec.rules[0].http: Required value: no paths and no spec.defaultBackend: nothing is routed for this rule']);
  });
  it('a request no rule matches gets no location (404 from the default server)', () => {
    const model = build([ingress('i', [rule('foo.com', path('/api', 'Prefix', 'api'))])]);
    assert.equal(routeRequest(model, 'foo.com', '/'), null);
    assert.equal(routeRequest(model, 'other.com', '/api'), null);
  });
});
