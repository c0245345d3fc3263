// Host semantics in a real NGINX: the Kubernetes wildcard table (one DNS label), exact hosts over
// wildcards, hosts case-insensitive, rules without a host (catch-all), spec.defaultBackend and the
// 404 for what nothing matches, TLS by SNI and the HTTP→HTTPS redirect. Ingress objects →
// buildModel → render → NGINX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, type Backend } from '../support/backend.ts';
import { request, type Reply } from '../support/http.ts';
import {
  ingressObject, loadFragments, peerCertificateCN, renderObjects, routeUpstreams, selfSigned, tlsSecretObject, type IngressSpec,
} from './helpers.ts';

let nginx: TestNginx;
const backends: Record<string, Backend> = {};
/** The longest host a DNS name can be: 253 characters, labels of 63. */
const LONGEST = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(56), 'test'].join('.');
const certs = { wild: selfSigned('*.tls.test'), secure: selfSigned('secure.test'), plain: selfSigned('noredirect.test') };

const ingresses: IngressSpec[] = [
  { name: 'wildcard', rules: [{ host: '*.foo.test', paths: [{ pathType: 'Prefix', path: '/', service: 'wild' }] }] },
  { name: 'exact', rules: [{ host: 'exact.foo.test', paths: [{ pathType: 'Prefix', path: '/', service: 'exact' }] }] },
  { name: 'deeper-wildcard', rules: [{ host: '*.bar.foo.test', paths: [{ pathType: 'Prefix', path: '/', service: 'deep' }] }] },
  { name: 'catch-all', rules: [{ paths: [{ pathType: 'Prefix', path: '/catch', service: 'catch' }] }] },
  { name: 'longest', rules: [{ host: LONGEST, paths: [{ pathType: 'Prefix', path: '/', service: 'exact' }] }] },
  { name: 'default-backend', defaultBackend: 'fallback', created: '2025-01-02T00:00:00Z' },
  {
    name: 'secure',
    tls: [{ hosts: ['secure.test'], secretName: 'secure-tls' }, { hosts: ['*.tls.test'], secretName: 'wild-tls' }],
    rules: [
      { host: 'secure.test', paths: [{ pathType: 'Prefix', path: '/', service: 'secure' }] },
      { host: '*.tls.test', paths: [{ pathType: 'Prefix', path: '/', service: 'wildtls' }] },
    ],
  },
  {
    name: 'no-redirect',
    annotations: { 'ssl-redirect': 'false' },
    tls: [{ hosts: ['noredirect.test'], secretName: 'plain-tls' }],
    rules: [{ host: 'noredirect.test', paths: [{ pathType: 'Prefix', path: '/', service: 'plain' }] }],
  },
];

function objects(specs: IngressSpec[]): object[] {
  return [
    ...specs.map(ingressObject),
    tlsSecretObject('secure-tls', certs.secure),
    tlsSecretObject('wild-tls', certs.wild),
    tlsSecretObject('plain-tls', certs.plain),
  ];
}

async function load(specs: IngressSpec[]): Promise<void> {
  const { model, fragments, certificates } = renderObjects(objects(specs));
  await loadFragments(nginx, fragments, certificates);
  await routeUpstreams(nginx, model, backends);
}

before(async () => {
  for (const name of ['wild', 'exact', 'deep', 'catch', 'fallback', 'secure', 'wildtls', 'plain']) backends[name] = await startBackend(name);
  nginx = await startNginx();
  await load(ingresses);
});

after(async () => {
  await nginx?.stop();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const get = (host: string, path = '/', tls = false): Promise<Reply> =>
  request({ port: tls ? nginx.httpsPort : nginx.httpPort, host, path, tls });
const answeredBy = (r: Reply): string => (r.status === 200 ? (JSON.parse(r.body) as { backend: string }).backend : `status ${r.status}`);

const hostTable: { host: string; want: string; why: string }[] = [
  { host: 'bar.foo.test', want: 'wild', why: '*.foo.test matches bar.foo.test (shared suffix)' },
  { host: 'baz.bar.foo.test', want: 'deep', why: '*.foo.test does not cover two labels; *.bar.foo.test does' },
  { host: 'baz.qux.foo.test', want: 'fallback', why: 'no wildcard covers two labels: the default backend answers' },
  { host: 'foo.test', want: 'fallback', why: '*.foo.test does not match foo.test itself' },
  { host: 'exact.foo.test', want: 'exact', why: 'an exact host wins over a wildcard' },
  { host: 'BAR.Foo.TEST', want: 'wild', why: 'hosts are case-insensitive' },
  { host: 'bar.foo.test:8080', want: 'wild', why: 'the port in Host is ignored' },
  { host: 'unknown.test', want: 'fallback', why: 'a host no rule names goes to the default backend' },
  { host: LONGEST, want: 'exact', why: 'the longest host DNS allows (253 characters) is served' },
];

for (const row of hostTable) {
  test(`host ${row.host}: ${row.why}`, async () => {
    assert.equal(answeredBy(await get(row.host, '/x')), row.want);
  });
}

test('rules without a host catch every host that no server claims; the rest goes to the default backend', async () => {
  assert.equal(answeredBy(await get('unknown.test', '/catch/me')), 'catch');
  assert.equal(answeredBy(await get('unknown.test', '/catch')), 'catch');
  assert.equal(answeredBy(await get('unknown.test', '/catcher')), 'fallback');
  assert.equal(answeredBy(await get('', '/catch')), 'catch', 'a request without a Host header');
});

test('without spec.defaultBackend, what nothing matches gets 404 from the default server', async (t) => {
  await load(ingresses.filter((i) => i.name !== 'default-backend'));
  t.after(() => load(ingresses));
  assert.equal((await get('unknown.test', '/x')).status, 404);
  assert.equal((await get('foo.test', '/')).status, 404);
  assert.equal(answeredBy(await get('unknown.test', '/catch')), 'catch');
});

test('TLS: each host presents its own certificate by SNI; unknown names are refused', async () => {
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'secure.test'), 'secure.test');
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'a.tls.test'), '*.tls.test');
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'noredirect.test'), 'noredirect.test');
  assert.match(await peerCertificateCN(nginx.httpsPort, 'unknown.test'), /^error/);
  assert.match(await peerCertificateCN(nginx.httpsPort, 'a.b.tls.test'), /^error/, 'the wildcard covers one label only');
  assert.equal(answeredBy(await get('secure.test', '/x', true)), 'secure');
  assert.equal(answeredBy(await get('a.tls.test', '/x', true)), 'wildtls');
});

test('TLS hosts redirect plain HTTP to HTTPS with 308, except ACME challenges', async () => {
  const r = await get('secure.test', '/a/b?c=d');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, 'https://secure.test/a/b?c=d');
  const w = await get('x.tls.test', '/p');
  assert.equal(w.status, 308);
  assert.equal(w.headers.location, 'https://x.tls.test/p');
  assert.equal(answeredBy(await get('secure.test', '/.well-known/acme-challenge/token')), 'secure', 'HTTP-01 challenges are served over HTTP');
});

test('HSTS is sent by TLS hosts (global hsts)', async () => {
  const r = await get('secure.test', '/', true);
  assert.match(String(r.headers['strict-transport-security']), /max-age=\d+/);
  assert.equal((await get('bar.foo.test', '/')).headers['strict-transport-security'], undefined);
});

test('ssl-redirect: "false" serves plain HTTP on a TLS host', async () => {
  assert.equal(answeredBy(await get('noredirect.test', '/x')), 'plain');
  assert.equal(answeredBy(await get('noredirect.test', '/x', true)), 'plain');
});

test('a host without TLS is not served on the HTTPS port', async () => {
  assert.match(await peerCertificateCN(nginx.httpsPort, 'bar.foo.test'), /^error/);
});
