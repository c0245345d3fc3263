// TLS: spec.tls[] hosts with their kubernetes.io/tls Secret; missing or invalid Secrets are
// warnings and the host is served without TLS; ssl-redirect defaults to true for TLS hosts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AN, build, ingress, messages, path, reasons, rule, tlsSecret } from './fixtures.ts';
import { CERT, KEY, OTHER_KEY } from './tls-fixture.ts';
import { RoutingIndex } from '../../src/model/routing-index.ts';
import { defaultControllerSettings, parseObject } from '../../src/model/index.ts';

const tlsIngress = (o: { secretName?: string; hosts?: string[]; annotations?: Record<string, string>; host?: string } = {}) =>
  ingress('i', [rule(o.host ?? 'example.com', path('/'))], { tls: [{ hosts: o.hosts ?? [o.host ?? 'example.com'], ...(o.secretName === '' ? {} : { secretName: o.secretName ?? 'cert' }) }], annotations: o.annotations ?? {} });

describe('TLS resolution', () => {
  it('resolves the Secret: normalized PEM, ssl-redirect on by default', () => {
    const model = build([tlsIngress(), tlsSecret('cert', CERT, KEY)]);
    const server = model.servers[0]!;
    assert.equal(server.tls?.cert, CERT.trim() + '\n');
    assert.equal(server.tls?.key, KEY.trim() + '\n');
    assert.deepEqual(server.tls?.secret, { kind: 'Secret', namespace: 'default', name: 'cert' });
    assert.equal(server.sslRedirect, true);
    assert.equal(server.locations[0]!.settings.sslRedirect, true);
    assert.deepEqual(model.problems.filter((p) => p.reason !== 'ServiceNotFound'), []);
  });
  it('reads stringData as well as data', () => {
    const model = build([tlsIngress(), tlsSecret('cert', CERT, KEY, { asStringData: true })]);
    assert.equal(model.servers[0]!.tls?.cert, CERT.trim() + '\n');
  });

  const broken: Record<string, { objects: unknown[]; secretName?: string; reason: string; message: string }> = {
    'missing Secret': { objects: [], reason: 'TlsSecretNotFound', message: 'spec.tls[0].secretName: Not found: "cert": these hosts are served without TLS' },
    'no secretName': { objects: [], secretName: '', reason: 'TlsSecretNotFound', message: 'spec.tls[0].secretName: Required value: no Secret: these hosts are served without TLS' },
    'wrong Secret type': {
      objects: [tlsSecret('cert', CERT, KEY, { type: 'Opaque' })],
      reason: 'InvalidTlsSecret',
      message: 'spec.tls[0].secretName: Invalid value: "cert": Secret has type "Opaque", not kubernetes.io/tls; these hosts are served without TLS',
    },
    'key does not match': {
      objects: [tlsSecret('cert', CERT, OTHER_KEY)],
      reason: 'InvalidTlsSecret',
      message: 'spec.tls[0].secretName: Invalid value: "cert": Secret tls.key does not match the certificate in tls.crt; these hosts are served without TLS',
    },
    'certificate is not PEM': {
      objects: [tlsSecret('cert', 'hello', KEY)],
      reason: 'InvalidTlsSecret',
      message: 'spec.tls[0].secretName: Invalid value: "cert": Secret tls.crt is not a PEM certificate chain; these hosts are served without TLS',
    },
    'PEM with extra text (an NGINX directive smuggled in)': {
      objects: [tlsSecret('cert', `${CERT}\nssl_engine /tmp/x.so;`, KEY)],
      reason: 'InvalidTlsSecret',
      message: 'spec.tls[0].secretName: Invalid value: "cert": Secret tls.crt is not a PEM certificate chain; these hosts are served without TLS',
    },
    'corrupt certificate body': {
      objects: [tlsSecret('cert', CERT.replace(/MIIB/, 'AAAA'), KEY)],
      reason: 'InvalidTlsSecret',
      message: 'spec.tls[0].secretName: Invalid value: "cert": Secret cannot be parsed',
    },
  };
  for (const [name, c] of Object.entries(broken)) {
    it(`${name}: warning, served without TLS`, () => {
      const model = build([tlsIngress(c.secretName !== undefined ? { secretName: c.secretName } : {}), ...c.objects]);
      assert.equal(model.servers[0]!.tls, null);
      assert.equal(model.servers[0]!.sslRedirect, false);
      const p = model.problems.filter((x) => x.reason === c.reason);
      assert.equal(p.length, 1, JSON.stringify(messages(model.problems)));
      assert.equal(p[0]!.severity, 'warning');
      assert.ok(p[0]!.message.startsWith(c.message), p[0]!.message);
    });
  }

  it('ssl-redirect "false" turns the redirect off', () => {
    const model = build([tlsIngress({ annotations: { [`${AN}ssl-redirect`]: 'false' } }), tlsSecret('cert', CERT, KEY)]);
    assert.equal(model.servers[0]!.sslRedirect, false);
    assert.equal(model.servers[0]!.locations[0]!.settings.sslRedirect, false);
  });
  it('force-ssl-redirect redirects a host without TLS', () => {
    const model = build([ingress('i', [rule('a.com', path('/'))], { annotations: { [`${AN}force-ssl-redirect`]: 'true' } })]);
    assert.equal(model.servers[0]!.locations[0]!.settings.sslRedirect, true);
  });
  it('the ConfigMap ssl-redirect "false" changes the default', () => {
    const cm = { kind: 'ConfigMap', metadata: { name: 'wharf', namespace: 'wharf' }, data: { 'ssl-redirect': 'false' } };
    const model = build([tlsIngress(), tlsSecret('cert', CERT, KEY), cm]);
    assert.equal(model.servers[0]!.sslRedirect, false);
  });
  it('a wildcard TLS host covers a rule host one label down', () => {
    const model = build([tlsIngress({ host: 'a.example.com', hosts: ['*.example.com'] }), tlsSecret('cert', CERT, KEY)]);
    assert.notEqual(model.servers[0]!.tls, null);
  });
  it('a wildcard TLS host does not cover two labels down', () => {
    const model = build([tlsIngress({ host: 'a.b.example.com', hosts: ['*.example.com'] }), tlsSecret('cert', CERT, KEY)]);
    assert.equal(model.servers[0]!.tls, null);
    assert.deepEqual(reasons(model.problems.filter((p) => p.reason === 'TlsHostWithoutRule')), ['warning TlsHostWithoutRule i spec.tls[0].hosts[0]']);
  });
  it('TLS of one Ingress covers the whole merged host; the older Ingress wins a Secret conflict', () => {
    const model = build([
      ingress('old', [rule('example.com', path('/a', 'Prefix', 'a'))], { tls: [{ hosts: ['example.com'], secretName: 'cert' }] }),
      ingress('new', [rule('example.com', path('/b', 'Prefix', 'b'))], { tls: [{ hosts: ['example.com'], secretName: 'cert2' }], created: '2025-01-01T00:00:00Z' }),
      tlsSecret('cert', CERT, KEY),
      tlsSecret('cert2', CERT, KEY),
    ]);
    assert.equal(model.servers[0]!.tls?.secret.name, 'cert');
    assert.deepEqual(model.servers[0]!.locations.map((l) => l.settings.sslRedirect), [true, true]);
    assert.deepEqual(messages(model.problems.filter((p) => p.reason === 'TlsConflict')), [
      'spec.tls[0].secretName: Invalid value: "cert2": host example.com already uses the Secret of older Ingress default/old',
    ]);
  });
  it('an invalid TLS host is an error', () => {
    const model = build([tlsIngress({ hosts: ['Example.com'] }), tlsSecret('cert', CERT, KEY)]);
    assert.deepEqual(messages(model.problems.filter((p) => p.severity === 'error')), ['spec.tls[0].hosts[0]: Invalid value: "Example.com": must be lowercase']);
    assert.deepEqual(model.servers, []);
  });
});

describe('a TLS Secret changed into one that is refused', () => {
  it('keeps its previous certificate with a warning; deleting the Secret drops TLS', () => {
    const index = new RoutingIndex(defaultControllerSettings);
    const parsed = (o: unknown) => {
      const r = parseObject(o);
      assert.ok(r.ok);
      return r.value;
    };
    index.upsert(parsed(tlsIngress()));
    index.upsert(parsed(tlsSecret('cert', CERT, KEY)));
    assert.equal(index.model().servers[0]!.tls?.key, KEY.trim() + '\n');
    index.upsert(parsed(tlsSecret('cert', CERT, OTHER_KEY)));
    const model = index.model();
    assert.equal(model.servers[0]!.tls?.key, KEY.trim() + '\n', 'the previous key, which matches');
    assert.deepEqual(messages(model.problems).filter((m) => m.includes('Secret')), [
      'spec.tls[0].secretName: Invalid value: "cert": Secret tls.key does not match the certificate in tls.crt; its previous certificate keeps serving',
    ]);
    index.remove('Secret', 'default', 'cert');
    assert.equal(index.model().servers[0]!.tls, null);
    index.upsert(parsed(tlsSecret('cert', CERT, OTHER_KEY)));
    assert.equal(index.model().servers[0]!.tls, null, 'nothing usable seen since: served without TLS');
  });
});
