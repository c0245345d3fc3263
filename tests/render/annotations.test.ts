// Annotations in a real NGINX, each on its own host, one load for the whole file: what a user of
// each annotation sees (rewrites, redirects, source ranges, CORS, basic and external auth, canary,
// rate limits, affinity, body size, timeouts, retries, upstream headers and HTTP version, server
// aliases and www redirects, over HTTPS too). Ingress objects → buildModel → render → NGINX.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { startNginx, type TestNginx } from '../support/nginx.ts';
import { startBackend, startHttpsBackend, type Backend } from '../support/backend.ts';
import { request, type Reply } from '../support/http.ts';
import {
  authSecretObject, caSecretObject, clientCertificates, httpsWithCertificate, ingressObject, loadFragments, peerCertificateCN, proxySslSecretObject, renderObjects, selfSigned, serviceObject,
  tlsSecretObject, type IngressSpec,
} from './helpers.ts';

let nginx: TestNginx;
const backends: Record<string, Backend> = {};
/** An HTTP/2 (h2c) backend, as gRPC servers are: answers with the :authority and Host it was sent. */
let h2: { server: http2.Http2Server; address: string };
const htpasswd = 'alice:$apr1$HeiA5Pzp$UgIyq34pdCCqyRLZGOHfD0\n'; // password "secret"
/** Covers the host, its www twin and an alias; `half` covers its host only. */
const certs = { names: selfSigned('www.names.test', ['names.test', 'alias-tls.test']), half: selfSigned('www.half.test') };

/** Client certificates: `good` is signed by the CA in Secret client-ca, `stranger` by another CA. */
const mtls = { good: clientCertificates('alice'), stranger: clientCertificates('mallory'), server: selfSigned('*.mtls.test') };

/**
 * HTTPS backends: `tlsback` has a self-signed certificate for backend.internal; `mtlsback` also
 * requires a client certificate signed by `proxyClient.ca`. `otherCa` signed neither.
 */
const upstreamTls = { backend: selfSigned('backend.internal'), secure: selfSigned('secure.internal'), otherCa: selfSigned('backend.internal'), proxyClient: clientCertificates('wharf-proxy') };

const site = (name: string, annotations: Record<string, string>, path = '/', service = 'main', pathType: 'Prefix' | 'ImplementationSpecific' = 'Prefix'): IngressSpec => ({
  name,
  annotations,
  rules: [{ host: `${name}.test`, paths: [{ pathType, path, service }] }],
});

before(async () => {
  backends.main = await startBackend('main');
  backends.canary = await startBackend('canary');
  backends.other = await startBackend('other');
  backends.slow = await startBackend('slow', (_req, res) => {
    setTimeout(() => res.end('late'), 3000).unref();
  });
  // Pods that are up but failing: every request gets 502.
  for (const name of ['failing', 'failing2', 'failing3']) {
    backends[name] = await startBackend(name, (req, res) => {
      req.resume();
      res.statusCode = 502;
      res.end('bad gateway');
    });
  }
  backends.version = await startBackend('version', (req, res) => {
    req.resume();
    res.end(JSON.stringify({ httpVersion: req.httpVersion, connection: req.headers.connection ?? null }));
  });
  backends.auth = await startBackend('auth', (req, res) => {
    if (req.headers.authorization === 'Bearer good') {
      res.setHeader('X-User', 'alice');
      res.end('ok');
    } else {
      res.statusCode = 401;
      res.end('no');
    }
  });
  const h2server = http2.createServer((req, res) => {
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ authority: req.headers[':authority'] ?? null, host: req.headers.host ?? null }));
  });
  await new Promise<void>((r) => h2server.listen(0, '127.0.0.1', r));
  h2 = { server: h2server, address: `127.0.0.1:${(h2server.address() as AddressInfo).port}` };
  // An application that answers 404 under /gone, 500 under /boom, and 200 with JSON otherwise.
  backends.app = await startBackend('app', (req, res) => {
    req.resume();
    res.statusCode = req.url?.startsWith('/gone') ? 404 : req.url?.startsWith('/boom') ? 500 : 200;
    res.setHeader('content-type', 'text/plain');
    res.end(`app ${res.statusCode}`);
  });
  // An error-page service as ingress-nginx's example: answers with the status in X-Code (200 without).
  backends.errors = await startBackend('errors', (req, res) => {
    req.resume();
    res.statusCode = Number(req.headers['x-code'] ?? 200);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ backend: 'errors', url: req.url, headers: req.headers }));
  });
  backends.tlsback = await startHttpsBackend('tlsback', upstreamTls.backend);
  backends.mtlsback = await startHttpsBackend('mtlsback', upstreamTls.secure, upstreamTls.proxyClient.ca);
  nginx = await startNginx();
  const specs: IngressSpec[] = [
    site('rewrite', { 'use-regex': 'true', 'rewrite-target': '/$2' }, '/api(/|$)(.*)', 'main', 'ImplementationSpecific'),
    site('moved', { 'permanent-redirect': 'https://new.test/landing' }),
    site('away', { 'temporal-redirect': 'https://tmp.test$request_uri' }),
    site('approot', { 'app-root': '/app1' }),
    site('allowed', { 'whitelist-source-range': '10.0.0.0/8, 127.0.0.1/32' }),
    site('denied', { 'allowlist-source-range': '10.0.0.0/8' }),
    site('cors', { 'enable-cors': 'true', 'cors-allow-origin': 'https://a.test, https://*.b.test', 'cors-allow-methods': 'GET, POST', 'cors-max-age': '60' }),
    site('basic', { 'auth-type': 'basic', 'auth-secret': 'htpasswd', 'auth-realm': 'Staff only' }),
    site('canary', {}),
    { ...site('canary-b', { canary: 'true', 'canary-by-header': 'X-Canary' }, '/', 'canary'), rules: [{ host: 'canary.test', paths: [{ pathType: 'Prefix', path: '/', service: 'canary' }] }] },
    site('weighted', {}),
    { ...site('weighted-b', { canary: 'true', 'canary-weight': '100', 'canary-by-header': 'X-Canary' }, '/', 'canary'), rules: [{ host: 'weighted.test', paths: [{ pathType: 'Prefix', path: '/', service: 'canary' }] }] },
    site('limited', { 'limit-rps': '1' }),
    site('extauth', { 'auth-url': `http://127.0.0.1:${backends.auth.port}/check`, 'auth-signin': 'https://login.test/start', 'auth-response-headers': 'X-User' }),
    site('sticky', { affinity: 'cookie', 'session-cookie-name': 'route' }, '/', 'pair'),
    site('hashed', { 'upstream-hash-by': '$arg_user' }, '/', 'pair'),
    site('small', { 'proxy-body-size': '1k' }),
    site('impatient', { 'proxy-read-timeout': '1' }, '/', 'slow'),
    site('blocked', { 'denylist-source-range': '10.0.0.0/8, 127.0.0.1' }),
    site('notblocked', { 'denylist-source-range': '10.0.0.0/8' }),
    site('denyfirst', { 'denylist-source-range': '127.0.0.1/32', 'allowlist-source-range': '127.0.0.0/8' }),
    site('vhost', { 'upstream-vhost': 'internal.svc.test:8080', 'x-forwarded-prefix': '/shop' }),
    site('retried', { 'proxy-next-upstream': 'error timeout http_502', 'proxy-next-upstream-tries': '2' }, '/', 'flaky'),
    site('unretried', { 'proxy-next-upstream': 'off' }, '/', 'flaky'),
    site('retriedall', { 'proxy-next-upstream': 'http_502', 'proxy-next-upstream-tries': '0' }, '/', 'flaky4'),
    site('retriedtwice', { 'proxy-next-upstream': 'http_502', 'proxy-next-upstream-tries': '2' }, '/', 'flaky4'),
    site('perminute', { 'limit-rpm': '1', 'limit-burst-multiplier': '1' }),
    site('http10', { 'proxy-http-version': '1.0' }, '/', 'version'),
    site('http11', {}, '/', 'version'),
    site('grpcplain', { 'backend-protocol': 'GRPC' }, '/', 'h2'),
    site('grpcvhost', { 'backend-protocol': 'GRPC', 'upstream-vhost': 'api.internal' }, '/', 'h2'),
    site('aliased', { 'server-alias': 'Other-Name.test, *.wild-alias.test' }),
    { ...site('www-bare', { 'from-to-www-redirect': 'true' }), rules: [{ host: 'www.bare.test', paths: [{ pathType: 'Prefix', path: '/', service: 'main' }] }] },
    { ...site('to-bare', { 'from-to-www-redirect': 'true' }), rules: [{ host: 'plain.test', paths: [{ pathType: 'Prefix', path: '/', service: 'main' }] }] },
    {
      ...site('names', { 'from-to-www-redirect': 'true', 'server-alias': 'alias-tls.test' }),
      rules: [{ host: 'www.names.test', paths: [{ pathType: 'Prefix', path: '/', service: 'main' }] }],
      tls: [{ hosts: ['www.names.test'], secretName: 'names-tls' }],
    },
    {
      ...site('half', { 'from-to-www-redirect': 'true' }),
      rules: [{ host: 'www.half.test', paths: [{ pathType: 'Prefix', path: '/', service: 'main' }] }],
      tls: [{ hosts: ['www.half.test'], secretName: 'half-tls' }],
    },
  ];
  // Client-certificate authentication, each on its own TLS host under *.mtls.test.
  const mtlsSite = (name: string, annotations: Record<string, string>, extra: Partial<IngressSpec> = {}): IngressSpec => ({
    name,
    annotations,
    rules: [{ host: `${name}.mtls.test`, paths: [{ pathType: 'Prefix', path: '/', service: 'main' }] }],
    tls: [{ hosts: [`${name}.mtls.test`], secretName: 'mtls-tls' }],
    ...extra,
  });
  specs.push(
    mtlsSite('on', { 'auth-tls-secret': 'default/client-ca', 'auth-tls-pass-certificate-to-upstream': 'true' }),
    // A newer Ingress on the same host without the annotation: its location asks for nothing.
    { ...mtlsSite('on-open', {}), rules: [{ host: 'on.mtls.test', paths: [{ pathType: 'Prefix', path: '/open', service: 'main' }] }], tls: [], created: '2025-01-02T00:00:00Z' },
    mtlsSite('optional', { 'auth-tls-secret': 'client-ca', 'auth-tls-verify-client': 'optional' }),
    mtlsSite('cn', { 'auth-tls-secret': 'client-ca', 'auth-tls-match-cn': 'CN=bob|CN=carol' }),
    mtlsSite('cnok', { 'auth-tls-secret': 'client-ca', 'auth-tls-match-cn': 'CN=alice' }),
    mtlsSite('errpage', { 'auth-tls-secret': 'client-ca', 'auth-tls-error-page': 'https://login.test/certificate' }),
    mtlsSite('missing', { 'auth-tls-secret': 'no-such-secret' }),
    { ...mtlsSite('plain', { 'auth-tls-secret': 'client-ca' }), tls: [] },
  );
  // TLS to HTTPS backends (proxy-ssl-*).
  const https = { 'backend-protocol': 'HTTPS' };
  specs.push(
    site('sslverify', { ...https, 'proxy-ssl-secret': 'backend-ca', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'backend.internal', 'proxy-ssl-server-name': 'on', 'proxy-ssl-protocols': 'TLSv1.2 TLSv1.3' }, '/', 'tlsback'),
    site('sslwrongca', { ...https, 'proxy-ssl-secret': 'wrong-ca', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'backend.internal' }, '/', 'tlsback'),
    site('sslwrongname', { ...https, 'proxy-ssl-secret': 'backend-ca', 'proxy-ssl-verify': 'on', 'proxy-ssl-name': 'other.internal' }, '/', 'tlsback'),
    site('sslnoca', { ...https, 'proxy-ssl-secret': 'proxy-client', 'proxy-ssl-verify': 'on' }, '/', 'tlsback'),
    site('sslunverified', https, '/', 'tlsback'),
    site('sslclient', { ...https, 'proxy-ssl-secret': 'proxy-client', 'proxy-ssl-ciphers': 'HIGH:!aNULL:!MD5' }, '/', 'mtlsback'),
    site('sslnoclient', https, '/', 'mtlsback'),
  );
  specs.push(
    site('errpages', { 'default-backend': 'errors', 'custom-http-errors': '404, 503' }, '/', 'app'),
    site('fallback', { 'default-backend': 'errors' }, '/', 'empty'),
    site('nofallback', {}, '/', 'empty'),
  );
  const { model, fragments, certificates } = renderObjects([
    ...specs.map(ingressObject),
    serviceObject('errors'),
    authSecretObject('htpasswd', htpasswd),
    tlsSecretObject('names-tls', certs.names),
    tlsSecretObject('half-tls', certs.half),
    tlsSecretObject('mtls-tls', mtls.server),
    caSecretObject('client-ca', mtls.good.ca),
    proxySslSecretObject('backend-ca', { ca: upstreamTls.backend.cert }),
    proxySslSecretObject('wrong-ca', { ca: upstreamTls.otherCa.cert }),
    proxySslSecretObject('proxy-client', { cert: upstreamTls.proxyClient.cert, key: upstreamTls.proxyClient.key }, 'kubernetes.io/tls'),
  ]);
  await loadFragments(nginx, fragments, certificates);
  for (const u of model.upstreams) {
    const eps =
      u.service === 'pair' ? [backends.main!.address, backends.other!.address]
      : u.service === 'flaky' ? [backends.failing!.address, backends.main!.address]
      : u.service === 'flaky4' ? ['failing', 'failing2', 'failing3', 'main'].map((n) => backends[n]!.address)
      : u.service === 'h2' ? [h2.address]
      : u.service === 'empty' ? []
      : [backends[u.service]!.address];
    await nginx.setEndpoints(u.upstream, eps);
  }
});

after(async () => {
  await nginx?.stop();
  h2?.server.close();
  await Promise.all(Object.values(backends).map((b) => b.close()));
});

const get = (host: string, path = '/', o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<Reply> =>
  request({ port: nginx.httpPort, host: `${host}.test`, path, ...o });
const json = (r: Reply): { backend: string; url: string; headers: Record<string, string> } => {
  assert.equal(r.status, 200, `expected 200, got ${r.status}: ${r.body}`);
  return JSON.parse(r.body);
};

test('rewrite-target: the backend sees the rewritten path, with the query', async () => {
  assert.equal(json(await get('rewrite', '/api/users/7?x=1')).url, '/users/7?x=1');
  assert.equal(json(await get('rewrite', '/api')).url, '/');
  assert.equal((await get('rewrite', '/other')).status, 404);
});

test('permanent-redirect and temporal-redirect', async () => {
  const p = await get('moved', '/anything');
  assert.equal(p.status, 301);
  assert.equal(p.headers.location, 'https://new.test/landing');
  const t = await get('away', '/x?y=1');
  assert.equal(t.status, 302);
  assert.equal(t.headers.location, 'https://tmp.test/x?y=1');
});

test('app-root redirects / only', async () => {
  const r = await get('approot', '/');
  assert.equal(r.status, 302);
  assert.match(String(r.headers.location), /\/app1$/);
  assert.equal(json(await get('approot', '/app1')).url, '/app1');
});

test('allow-source-range: listed clients pass, others get 403', async () => {
  assert.equal(json(await get('allowed', '/')).backend, 'main');
  assert.equal((await get('denied', '/')).status, 403);
});

test('CORS: preflight gets 204 with the allowed methods; listed origins are echoed, others not', async () => {
  const pre = await get('cors', '/x', { method: 'OPTIONS', headers: { origin: 'https://a.test', 'access-control-request-method': 'POST' } });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers['access-control-allow-origin'], 'https://a.test');
  assert.equal(pre.headers['access-control-allow-methods'], 'GET, POST');
  assert.equal(pre.headers['access-control-max-age'], '60');
  assert.equal(backends.main!.requests.some((r) => r.method === 'OPTIONS'), false, 'the preflight never reaches the backend');
  const wild = await get('cors', '/x', { headers: { origin: 'https://app.b.test' } });
  assert.equal(wild.headers['access-control-allow-origin'], 'https://app.b.test');
  const evil = await get('cors', '/x', { headers: { origin: 'https://evil.test' } });
  assert.equal(evil.status, 200);
  assert.equal(evil.headers['access-control-allow-origin'], undefined);
  const deep = await get('cors', '/x', { headers: { origin: 'https://x.y.b.test' } });
  assert.equal(deep.headers['access-control-allow-origin'], undefined, 'a wildcard origin covers one label');
});

test('basic auth: 401 with the realm without credentials or with wrong ones, 200 with right ones', async () => {
  const none = await get('basic', '/');
  assert.equal(none.status, 401);
  assert.equal(none.headers['www-authenticate'], 'Basic realm="Staff only"');
  const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
  assert.equal((await get('basic', '/', { headers: basic('alice', 'wrong') })).status, 401);
  assert.equal(json(await get('basic', '/', { headers: basic('alice', 'secret') })).backend, 'main');
});

test('canary by header: "always" goes to the canary, "never" and no header to the main backend', async () => {
  assert.equal(json(await get('canary', '/', { headers: { 'x-canary': 'always' } })).backend, 'canary');
  assert.equal(json(await get('canary', '/', { headers: { 'x-canary': 'never' } })).backend, 'main');
  for (let i = 0; i < 5; i++) assert.equal(json(await get('canary', '/')).backend, 'main');
});

test('canary by weight: weight 100 sends everything to the canary, unless the header says never', async () => {
  for (let i = 0; i < 5; i++) assert.equal(json(await get('weighted', '/')).backend, 'canary');
  assert.equal(json(await get('weighted', '/', { headers: { 'x-canary': 'never' } })).backend, 'main');
});

test('limit-rps: requests beyond the rate and its burst get 429', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await get('limited', '/')).status);
  assert.equal(statuses[0], 200);
  assert.ok(statuses.includes(429), `statuses: ${statuses.join(',')}`);
  assert.ok(statuses.every((s) => s === 200 || s === 429), `statuses: ${statuses.join(',')}`);
});

test('external auth: allowed requests carry the auth response headers; refused ones go to auth-signin', async () => {
  const ok = json(await get('extauth', '/p?q=1', { headers: { authorization: 'Bearer good' } }));
  assert.equal(ok.headers['x-user'], 'alice');
  const check = backends.auth!.requests.at(-1)!;
  assert.equal(check.headers['x-original-url'], 'http://extauth.test/p?q=1');
  assert.equal(check.headers['content-length'], undefined, 'the auth request has no body');
  const refused = await get('extauth', '/p?q=1');
  assert.equal(refused.status, 302);
  assert.equal(refused.headers.location, 'https://login.test/start?rd=http://extauth.test/p?q=1');
});

test('cookie affinity: the first answer sets the cookie, and the cookie keeps the client on one endpoint', async () => {
  const first = await get('sticky', '/');
  const cookie = String(first.headers['set-cookie']?.[0] ?? '');
  assert.match(cookie, /^route=[0-9a-f]{32}; Path=\/; HttpOnly$/);
  const value = cookie.split(';')[0]!;
  const seen = new Set<string>();
  for (let i = 0; i < 8; i++) {
    const r = await get('sticky', '/', { headers: { cookie: `other=1; ${value}` } });
    assert.equal(r.headers['set-cookie'], undefined, 'no new cookie once the client has one');
    seen.add(json(r).backend);
  }
  assert.equal(seen.size, 1);
  assert.equal([...seen][0], json(first).backend, 'the same endpoint as the first answer');
});

test('upstream-hash-by: the same key keeps its endpoint; keys spread over endpoints', async () => {
  const byUser = new Map<string, Set<string>>();
  // 32 similar keys: with a well-mixed hash, all of them on one endpoint has odds of 2^-31.
  for (const user of Array.from({ length: 32 }, (_, i) => `u${i + 1}`)) {
    for (let i = 0; i < 3; i++) {
      const b = json(await get('hashed', `/?user=${user}`)).backend;
      byUser.set(user, (byUser.get(user) ?? new Set()).add(b));
    }
  }
  assert.ok([...byUser.values()].every((s) => s.size === 1), 'each user stays on one endpoint');
  assert.equal(new Set([...byUser.values()].map((s) => [...s][0])).size, 2, 'the users spread over both endpoints');
});

test('proxy-body-size: a larger body gets 413', async () => {
  assert.equal((await get('small', '/', { method: 'POST', body: 'x'.repeat(4096) })).status, 413);
  assert.equal(json(await get('small', '/', { method: 'POST', body: 'x'.repeat(512) })).backend, 'main');
});

test('proxy-read-timeout: a backend slower than the timeout gets 504', async () => {
  const started = Date.now();
  assert.equal((await get('impatient', '/')).status, 504);
  assert.ok(Date.now() - started < 2500, 'answered after about one second');
});

test('denylist-source-range: listed clients get 403, others pass; a denied client is denied even when allowlisted', async () => {
  assert.equal((await get('blocked', '/')).status, 403);
  assert.equal(json(await get('notblocked', '/')).backend, 'main');
  assert.equal((await get('denyfirst', '/')).status, 403, 'deny rules come before allow rules, as in ingress-nginx');
});

test('upstream-vhost and x-forwarded-prefix: the backend sees the Host and the X-Forwarded-Prefix header', async () => {
  const seen = json(await get('vhost', '/cart'));
  assert.equal(seen.headers.host, 'internal.svc.test:8080');
  assert.equal(seen.headers['x-forwarded-prefix'], '/shop');
  assert.equal(seen.headers['x-forwarded-host'], 'vhost.test', 'X-Forwarded-Host keeps the host the client asked for');
  assert.equal(json(await get('allowed', '/')).headers['x-forwarded-prefix'], undefined, 'no header without the annotation');
});

test('gRPC backends get the client\'s Host, or upstream-vhost\'s, not the balancer\'s name', async () => {
  const seen = (host: string) => get(host, '/pkg.Service/Method', { method: 'POST', headers: { 'content-type': 'application/grpc' }, body: '' }).then((r) => {
    assert.equal(r.status, 200, r.body);
    return JSON.parse(r.body) as { authority: string | null; host: string | null };
  });
  const plain = await seen('grpcplain');
  assert.equal(plain.authority ?? plain.host, 'grpcplain.test');
  assert.notEqual(plain.authority, 'wharf_balancer');
  const vhost = await seen('grpcvhost');
  assert.equal(vhost.authority ?? vhost.host, 'api.internal');
});

test('proxy-next-upstream http_502 with tries: a failing endpoint is retried on a healthy one; "off" shows its 502s', async () => {
  const before = backends.failing!.requests.length;
  for (let i = 0; i < 6; i++) assert.equal(json(await get('retried', `/r${i}`)).backend, 'main', `request ${i}`);
  assert.ok(backends.failing!.requests.length > before, 'the failing endpoint was tried, and the request went on to the healthy one');
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) statuses.push((await get('unretried', `/u${i}`)).status);
  assert.ok(statuses.includes(502), `statuses: ${statuses.join(',')}`);
  assert.ok(statuses.includes(200), `statuses: ${statuses.join(',')}`);
});

test('proxy-next-upstream-tries counts every attempt, the balancer\'s retries included: 0 tries each endpoint, 2 stops at two', async () => {
  // Three failing endpoints and one healthy one: only a request allowed four attempts always gets through.
  for (let i = 0; i < 8; i++) assert.equal(json(await get('retriedall', `/a${i}`)).backend, 'main', `request ${i}`);
  const failing = () => ['failing', 'failing2', 'failing3'].reduce((n, b) => n + backends[b]!.requests.length, 0);
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    const before = failing() + backends.main!.requests.length;
    statuses.push((await get('retriedtwice', `/t${i}`)).status);
    assert.ok(failing() + backends.main!.requests.length - before <= 2, `request ${i} made at most two attempts`);
  }
  assert.ok(statuses.includes(502), `statuses: ${statuses.join(',')}`);
});

test('limit-rpm: the rate and its burst per minute, then 429 (also a second later: the rate is per minute)', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await get('perminute', '/')).status);
  assert.deepEqual(statuses, [200, 200, 429, 429], 'one request, plus a burst of 1 x 1');
  // A per-second rate would have a new request's worth after one second; a per-minute one not.
  await new Promise((r) => setTimeout(r, 1100));
  assert.equal((await get('perminute', '/')).status, 429);
});

test('proxy-http-version 1.0: the backend is spoken to in HTTP/1.0 (1.1 without the annotation)', async () => {
  const old = JSON.parse((await get('http10', '/')).body);
  assert.equal(old.httpVersion, '1.0');
  const current = JSON.parse((await get('http11', '/')).body);
  assert.equal(current.httpVersion, '1.1');
});

test('server-alias: a request for an alias (any case, or under a wildcard alias) reaches the host\'s backend with its own Host', async () => {
  const seen = json(await request({ port: nginx.httpPort, host: 'OTHER-NAME.test' }));
  assert.equal(seen.backend, 'main');
  assert.equal(seen.headers.host, 'other-name.test');
  assert.equal(json(await request({ port: nginx.httpPort, host: 'x.wild-alias.test', path: '/p' })).url, '/p');
  assert.equal((await request({ port: nginx.httpPort, host: 'x.y.wild-alias.test' })).status, 404, 'a wildcard alias covers one label');
});

test('from-to-www-redirect: the twin answers 308 to the same path and query on the host, both ways, keeping the port the client used', async () => {
  const toWww = await request({ port: nginx.httpPort, host: 'bare.test', path: '/x?y=1' });
  assert.equal(toWww.status, 308);
  assert.equal(toWww.headers.location, 'http://www.bare.test/x?y=1');
  const toBare = await request({ port: nginx.httpPort, host: 'www.plain.test', path: '/a/b/?c=d&e' });
  assert.equal(toBare.status, 308);
  assert.equal(toBare.headers.location, 'http://plain.test/a/b/?c=d&e');
  const withPort = await request({ port: nginx.httpPort, host: `bare.test:${nginx.httpPort}`, path: '/x' });
  assert.equal(withPort.headers.location, `http://www.bare.test:${nginx.httpPort}/x`);
  assert.equal(json(await request({ port: nginx.httpPort, host: 'www.bare.test', path: '/x' })).backend, 'main', 'the host itself is served');
});

test('over HTTPS: an alias and the www twin get the host\'s certificate when it covers them; the redirect keeps https', async () => {
  const https = (host: string, path = '/') => request({ port: nginx.httpsPort, host, path, tls: true });
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'alias-tls.test'), 'www.names.test');
  assert.equal(json(await https('alias-tls.test', '/z')).backend, 'main');
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'names.test'), 'www.names.test');
  const r = await https('names.test', '/x?y=1');
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, 'https://www.names.test/x?y=1');
  const plain = await request({ port: nginx.httpPort, host: 'names.test', path: '/x?y=1' });
  assert.equal(plain.headers.location, 'http://www.names.test/x?y=1', 'plain HTTP keeps its scheme (the host then redirects to HTTPS itself)');
  const alias = await request({ port: nginx.httpPort, host: 'alias-tls.test', path: '/x' });
  assert.equal(alias.status, 308, 'an alias of a TLS host is redirected to HTTPS like the host');
  assert.match(String(alias.headers.location), /^https:\/\/alias-tls\.test(:\d+)?\/x$/);
});

test('over HTTPS, a twin the certificate does not cover is refused at the handshake; plain HTTP still redirects', async () => {
  assert.match(await peerCertificateCN(nginx.httpsPort, 'half.test'), /^error: /);
  assert.equal(await peerCertificateCN(nginx.httpsPort, 'www.half.test'), 'www.half.test');
  const r = await request({ port: nginx.httpPort, host: 'half.test', path: '/q?1' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, 'http://www.half.test/q?1');
});

test('custom-http-errors: a listed code from the backend is answered by the default backend, which gets ingress-nginx\'s headers', async () => {
  const before = backends.errors!.requests.length;
  const r = await get('errpages', '/gone/page?x=1', { headers: { Accept: 'text/html', 'X-Request-ID': 'req-42' } });
  assert.equal(r.status, 404, 'the status is the error backend\'s answer (it echoes X-Code)');
  const body = JSON.parse(r.body) as { backend: string; url: string; headers: Record<string, string> };
  assert.equal(body.backend, 'errors');
  assert.equal(body.url, '/?x=1', 'the error backend is asked for / (the query kept), as ingress-nginx does');
  assert.equal(body.headers['x-code'], '404');
  assert.equal(body.headers['x-original-uri'], '/gone/page?x=1');
  assert.equal(body.headers['x-format'], 'text/html');
  assert.equal(body.headers['x-namespace'], 'default');
  assert.equal(body.headers['x-ingress-name'], 'errpages');
  assert.equal(body.headers['x-service-name'], 'app');
  assert.equal(body.headers['x-service-port'], '80');
  assert.equal(body.headers['x-request-id'], 'req-42');
  assert.equal(body.headers.host, 'errpages.test');
  assert.equal(backends.errors!.requests.length, before + 1);
  const generated = JSON.parse((await get('errpages', '/gone')).body) as { headers: Record<string, string> };
  assert.match(generated.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/, 'without a client id, NGINX\'s request id');
});

test('custom-http-errors: codes not listed and successes pass through unchanged', async () => {
  const before = backends.errors!.requests.length;
  const boom = await get('errpages', '/boom');
  assert.equal(boom.status, 500);
  assert.equal(boom.body, 'app 500');
  const ok = await get('errpages', '/fine');
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'app 200');
  assert.equal(backends.errors!.requests.length, before, 'the error backend was not asked');
});

test('default-backend: a Service without endpoints is answered by the default backend (503 without the annotation)', async () => {
  const r = await get('fallback', '/some/path?q=1');
  assert.equal(r.status, 200);
  const body = JSON.parse(r.body) as { backend: string; url: string; headers: Record<string, string> };
  assert.equal(body.backend, 'errors');
  assert.equal(body.url, '/some/path?q=1', 'the request goes as it came, as to the Service itself');
  assert.equal(body.headers['x-code'], undefined, 'no error headers: this is not an error page');
  assert.equal((await get('nofallback', '/some/path')).status, 503);
});

test('auth-tls: a certificate the CA signed reaches the backend, which gets it escaped in ssl-client-cert; none or a stranger\'s gets 400', async () => {
  const ok = await httpsWithCertificate(nginx.httpsPort, 'on.mtls.test', '/x', mtls.good);
  const body = json({ ...ok, headers: {} } as Reply);
  assert.equal(body.backend, 'main');
  assert.equal(`${decodeURIComponent(body.headers['ssl-client-cert']!).trim()}\n`, mtls.good.cert, 'the PEM, URL-escaped, as ingress-nginx sends it');
  assert.equal(body.headers['ssl-client-verify'], 'SUCCESS');
  assert.match(body.headers['ssl-client-subject-dn']!, /CN=alice/);
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'on.mtls.test', '/x')).status, 400, 'no certificate');
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'on.mtls.test', '/x', mtls.stranger)).status, 400, 'a certificate of another CA');
  assert.equal((await request({ port: nginx.httpPort, host: 'on.mtls.test', path: '/x' })).status, 308, 'plain HTTP is sent to HTTPS first');
});

test('auth-tls: only the locations of the Ingress with the annotation ask; a forged ssl-client-cert header never reaches the backend', async () => {
  const open = await httpsWithCertificate(nginx.httpsPort, 'on.mtls.test', '/open');
  assert.equal(json({ ...open, headers: {} } as Reply).backend, 'main', 'the newer Ingress\'s location needs no certificate');
  const forged = await httpsWithCertificate(nginx.httpsPort, 'optional.mtls.test', '/y', undefined, { 'ssl-client-cert': 'forged' });
  const seen = json({ ...forged, headers: {} } as Reply);
  assert.equal(seen.headers['ssl-client-cert'], undefined, 'cleared without pass-certificate-to-upstream');
  assert.equal(seen.headers['ssl-client-verify'], 'NONE');
});

test('auth-tls-verify-client optional: no certificate passes, a stranger\'s is refused with 400', async () => {
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'optional.mtls.test', '/')).status, 200);
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'optional.mtls.test', '/', mtls.good)).status, 200);
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'optional.mtls.test', '/', mtls.stranger)).status, 400);
});

test('auth-tls-match-cn: a verified certificate with another CN gets 403; the right CN passes', async () => {
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'cn.mtls.test', '/', mtls.good)).status, 403);
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'cnok.mtls.test', '/', mtls.good)).status, 200);
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'cnok.mtls.test', '/')).status, 400, 'no certificate is refused before the CN');
});

test('auth-tls-error-page: a refused certificate is redirected there', async () => {
  const r = await httpsWithCertificate(nginx.httpsPort, 'errpage.mtls.test', '/', mtls.stranger);
  assert.equal(r.status, 302);
  assert.equal(r.headers.location, 'https://login.test/certificate');
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'errpage.mtls.test', '/', mtls.good)).status, 200);
});

test('auth-tls without its CA Secret, or on a host without TLS, answers 403 even with a good certificate', async () => {
  assert.equal((await httpsWithCertificate(nginx.httpsPort, 'missing.mtls.test', '/', mtls.good)).status, 403);
  assert.equal((await request({ port: nginx.httpPort, host: 'plain.mtls.test', path: '/' })).status, 403);
});

test('proxy-ssl-verify on with the backend\'s CA and name: 200, SNI sent; another CA or name: 502 (NGINX refuses the backend)', async () => {
  const ok = json(await get('sslverify'));
  assert.equal(ok.backend, 'tlsback');
  assert.equal((ok as unknown as { servername: string }).servername, 'backend.internal', 'proxy-ssl-server-name sends proxy-ssl-name');
  assert.equal((await get('sslwrongca')).status, 502, 'a certificate another CA signed');
  assert.equal((await get('sslwrongname')).status, 502, 'a certificate for another name');
  assert.equal(json(await get('sslunverified')).backend, 'tlsback', 'without proxy-ssl-verify the certificate is not checked (NGINX\'s default)');
});

test('proxy-ssl-verify on without ca.crt in the Secret: 502 without reaching the backend', async () => {
  const before = backends.tlsback!.requests.length;
  assert.equal((await get('sslnoca')).status, 502);
  assert.equal(backends.tlsback!.requests.length, before);
});

test('proxy-ssl-secret with tls.crt/tls.key: the backend that requires a client certificate gets it; without it, refused (502)', async () => {
  const r = json(await get('sslclient'));
  assert.equal(r.backend, 'mtlsback');
  assert.equal((r as unknown as { client: string }).client, 'wharf-proxy');
  assert.equal((await get('sslnoclient')).status, 502);
});
